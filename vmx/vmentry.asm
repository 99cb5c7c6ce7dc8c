; VM entry and the VM-exit entry point.
;
;   int vmx_enter(struct guest_regs *regs, int launched);
;
; Loads the guest's general registers and CR2 from *regs (layout in
; vmx/vcpu.h: gpr[16] in SDM register order, then cr2; pinned there by
; static asserts), then VMLAUNCH (launched == 0) or VMRESUME.
; Returns 0 after a VM exit, with the guest's registers saved back into
; *regs; returns 1 if the instruction failed (VMfailValid or VMfailInvalid:
; the caller reads VM_INSTRUCTION_ERROR). RSP at the exit is HOST_RSP, which
; vmx_enter writes just before entering, so the exit lands on this frame.

bits 64
section .text

VMCS_HOST_RSP       equ 0x6c14
REGS_CR2            equ 16 * 8
%define GPR(n)      ((n) * 8)
IDX_RAX equ 0
IDX_RCX equ 1
IDX_RDX equ 2
IDX_RBX equ 3
IDX_RBP equ 5
IDX_RSI equ 6
IDX_RDI equ 7

global vmx_enter
global vmx_exit_entry

vmx_enter:
    push rbp
    mov rbp, rsp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rdi                            ; regs, found again at the exit
    mov rax, VMCS_HOST_RSP
    vmwrite rax, rsp
    jbe .fail_early

    mov rax, [rdi + REGS_CR2]
    mov cr2, rax
    test esi, esi                       ; launched?
    mov rax, [rdi + GPR(IDX_RAX)]
    mov rcx, [rdi + GPR(IDX_RCX)]
    mov rdx, [rdi + GPR(IDX_RDX)]
    mov rbx, [rdi + GPR(IDX_RBX)]
    mov rbp, [rdi + GPR(IDX_RBP)]
    mov rsi, [rdi + GPR(IDX_RSI)]
    mov r8,  [rdi + GPR(8)]
    mov r9,  [rdi + GPR(9)]
    mov r10, [rdi + GPR(10)]
    mov r11, [rdi + GPR(11)]
    mov r12, [rdi + GPR(12)]
    mov r13, [rdi + GPR(13)]
    mov r14, [rdi + GPR(14)]
    mov r15, [rdi + GPR(15)]
    mov rdi, [rdi + GPR(IDX_RDI)]           ; last: it held regs (flags untouched by mov)
    jnz .resume
    vmlaunch
    jmp .failed
.resume:
    vmresume
.failed:
    ; Fell through: VMfail. Guest registers are in the CPU; nothing to save.
.fail_early:
    pop rdi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    mov eax, 1
    ret

; HOST_RIP. RSP = HOST_RSP: [rsp] = regs pointer pushed by vmx_enter.
vmx_exit_entry:
    push rdi                            ; guest RDI
    mov rdi, [rsp + 8]                  ; regs
    mov [rdi + GPR(IDX_RAX)], rax
    mov [rdi + GPR(IDX_RCX)], rcx
    mov [rdi + GPR(IDX_RDX)], rdx
    mov [rdi + GPR(IDX_RBX)], rbx
    mov [rdi + GPR(IDX_RBP)], rbp
    mov [rdi + GPR(IDX_RSI)], rsi
    mov [rdi + GPR(8)], r8
    mov [rdi + GPR(9)], r9
    mov [rdi + GPR(10)], r10
    mov [rdi + GPR(11)], r11
    mov [rdi + GPR(12)], r12
    mov [rdi + GPR(13)], r13
    mov [rdi + GPR(14)], r14
    mov [rdi + GPR(15)], r15
    pop rax
    mov [rdi + GPR(IDX_RDI)], rax
    mov rax, cr2
    mov [rdi + REGS_CR2], rax
    pop rdi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    xor eax, eax
    ret
