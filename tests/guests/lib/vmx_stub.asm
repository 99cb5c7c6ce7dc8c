; The VM-entry/VM-exit path of the test guests' L1 hypervisor (lib/vmx.h),
; L2's exception stubs, and the trampoline an L2 function returns into.
;
; int vmx_enter(struct vmx_gprs *gprs, int mode);
;   mode VMX_ENTER_LAUNCH (0): VMLAUNCH, VMX_ENTER_RESUME (1): VMRESUME,
;   VMX_ENTER_LAUNCH_MOV_SS (2): VMLAUNCH right after MOV SS (blocking by
;   MOV SS, SDM 31.3 VMLAUNCH: VMfailValid 26).
;   Sets HOST_RSP/HOST_RIP of the current VMCS so that a VM exit lands in
;   vmx_exit_stub on this call's stack, unless mode has VMX_ENTER_KEEP_HOST
;   (4) or-ed in: then the caller guarantees that the current VMCS already
;   holds them (the same call site, the same stack depth: a benchmark loop). Returns 0 after a VM exit with L2's
;   registers stored in *gprs, VMX_FAIL_INVALID (1) if the instruction
;   failed with CF = 1, VMX_FAIL_VALID (2) with ZF = 1.
;
; The callee-saved registers and the gprs pointer sit on the stack between
; VM entry and VM exit; HOST_RSP points at the gprs pointer.

HOST_RSP_ENC        equ 0x6c14          ; vmx/vmcs_fields.h
HOST_RIP_ENC        equ 0x6c16
VMX_FAIL_INVALID    equ 1
VMX_FAIL_VALID      equ 2
VMX_ENTER_RESUME    equ 1
VMX_ENTER_LAUNCH_MOV_SS equ 2
VMX_ENTER_KEEP_HOST equ 4
VMX_L2_DONE         equ 0x600d          ; lib/vmx.h
VMX_L2_RUNAWAY      equ 0xdead          ; lib/vmx.h
L2_EVENT_RUNAWAY    equ 64              ; events before L2 gives up

; struct vmx_gprs (lib/vmx.h)
G_RAX   equ 0
G_RBX   equ 8
G_RCX   equ 16
G_RDX   equ 24
G_RSI   equ 32
G_RDI   equ 40
G_RBP   equ 48
G_R8    equ 56
G_R9    equ 64
G_R10   equ 72
G_R11   equ 80
G_R12   equ 88
G_R13   equ 96
G_R14   equ 104
G_R15   equ 112

; struct l2_event (lib/vmx.h)
EV_COUNT    equ 0
EV_VECTOR   equ 8
EV_ERROR    equ 16
EV_RIP      equ 24
EV_CR2      equ 32
EV_FIXUP    equ 40

global vmx_enter
global vmx_exit_stub
global vmx_l2_return
global l2_isr_table
global l2_event
global l2_state_guest
global l2_state_guest_vmcall
global l2_state_rbx_after

section .text
bits 64

vmx_enter:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rdi                            ; gprs: [HOST_RSP] in vmx_exit_stub
    test esi, VMX_ENTER_KEEP_HOST
    jnz .host_set
    mov eax, HOST_RSP_ENC
    vmwrite rax, rsp
    lea rdx, [rel vmx_exit_stub]
    mov eax, HOST_RIP_ENC
    vmwrite rax, rdx
.host_set:
    mov r8d, esi
    and r8d, ~VMX_ENTER_KEEP_HOST
    cmp r8d, VMX_ENTER_RESUME
    je .resume
    cmp r8d, VMX_ENTER_LAUNCH_MOV_SS
    je .launch_mov_ss
    call load_l2_gprs
    vmlaunch
    jmp .failed
.resume:
    call load_l2_gprs
    vmresume
    jmp .failed
.launch_mov_ss:
    call load_l2_gprs
    mov ax, ss                          ; (L2's RAX is lost: L2 is not expected to run)
    mov ss, ax                          ; blocks events until after the next instruction
    vmlaunch
.failed:
    ; CF = 1: VMfailInvalid, else ZF = 1: VMfailValid (a VMLAUNCH or
    ; VMRESUME that succeeds never gets here). MOV and CMOV keep the flags.
    mov eax, VMX_FAIL_VALID
    mov ecx, VMX_FAIL_INVALID
    cmovc eax, ecx
    pop rdi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret

; Loads L2's registers from [rdi] (rdi last). Called with RSP 8 below the
; pushed gprs pointer; leaves RSP as it found it, flags untouched.
load_l2_gprs:
    mov rax, [rdi + G_RAX]
    mov rbx, [rdi + G_RBX]
    mov rcx, [rdi + G_RCX]
    mov rdx, [rdi + G_RDX]
    mov rsi, [rdi + G_RSI]
    mov rbp, [rdi + G_RBP]
    mov r8, [rdi + G_R8]
    mov r9, [rdi + G_R9]
    mov r10, [rdi + G_R10]
    mov r11, [rdi + G_R11]
    mov r12, [rdi + G_R12]
    mov r13, [rdi + G_R13]
    mov r14, [rdi + G_R14]
    mov r15, [rdi + G_R15]
    mov rdi, [rdi + G_RDI]
    ret

; HOST_RIP. RSP = HOST_RSP: [rsp] = gprs, then the registers vmx_enter saved.
; RFLAGS is 0x2 (SDM 28.5.3), so IF stays clear as the library wants.
vmx_exit_stub:
    push rax
    mov rax, [rsp + 8]
    mov [rax + G_RBX], rbx
    mov [rax + G_RCX], rcx
    mov [rax + G_RDX], rdx
    mov [rax + G_RSI], rsi
    mov [rax + G_RDI], rdi
    mov [rax + G_RBP], rbp
    mov [rax + G_R8], r8
    mov [rax + G_R9], r9
    mov [rax + G_R10], r10
    mov [rax + G_R11], r11
    mov [rax + G_R12], r12
    mov [rax + G_R13], r13
    mov [rax + G_R14], r14
    mov [rax + G_R15], r15
    pop rbx                             ; L2's RAX
    mov [rax + G_RAX], rbx
    pop rdi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    cld
    xor eax, eax
    ret

; An L2 function returns here (the runner puts this address at the top of
; L2's stack): VMCALL with RAX = VMX_L2_DONE, for ever.
vmx_l2_return:
    mov eax, VMX_L2_DONE
    vmcall
    jmp vmx_l2_return

; ---- L2's interrupt descriptor table stubs (vectors 0-255) ----
%macro L2_ISR_NOERR 1
l2_isr%1:
    push 0
    push %1
    jmp l2_isr_common
%endmacro
%macro L2_ISR_ERR 1                     ; the CPU pushed an error code
l2_isr%1:
    push %1
    jmp l2_isr_common
%endmacro

%assign v 0
%rep 256
%if v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17 || v == 21 || v == 29 || v == 30
    L2_ISR_ERR v
%else
    L2_ISR_NOERR v
%endif
%assign v v + 1
%endrep

; [rsp] vector, [rsp+8] error code, [rsp+16] RIP, CS, RFLAGS, RSP, SS.
; Records the event; resumes at l2_event.fixup_rip if set, else returns to
; the interrupted RIP. After L2_EVENT_RUNAWAY events (a fault that keeps
; recurring) it gives up with VMCALL RAX = VMX_L2_RUNAWAY.
l2_isr_common:
    push rax
    mov rax, [rsp + 8]
    mov [rel l2_event + EV_VECTOR], rax
    mov rax, [rsp + 16]
    mov [rel l2_event + EV_ERROR], rax
    mov rax, [rsp + 24]
    mov [rel l2_event + EV_RIP], rax
    mov rax, cr2
    mov [rel l2_event + EV_CR2], rax
    inc qword [rel l2_event + EV_COUNT]
    cmp qword [rel l2_event + EV_COUNT], L2_EVENT_RUNAWAY
    jb .record_done
.runaway:
    mov eax, VMX_L2_RUNAWAY
    vmcall
    jmp .runaway
.record_done:
    mov rax, [rel l2_event + EV_FIXUP]
    test rax, rax
    jz .return
    mov [rsp + 24], rax
    mov qword [rel l2_event + EV_FIXUP], 0
.return:
    pop rax
    add rsp, 16
    iretq

; ---- L2 functions whose instruction addresses the tests must know ----

; Guest-state round trip: loads known values, then VMCALL at a known RIP
; with CF set (RFLAGS = 0x3) and RSP lowered by 64.
;   RAX = 0x5ca1ab1e (the VMCALL code), RBX..R15 = 0x1111_0000_0000_00NN.
;   After the VMCALL, RBX (as L1 left it) is stored in l2_state_rbx_after.
l2_state_guest:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    sub rsp, 16                         ; RSP at the VMCALL: entry RSP - 64
    mov rbx, 0x1111000000000003
    mov rcx, 0x1111000000000001
    mov rdx, 0x1111000000000002
    mov rsi, 0x1111000000000006
    mov rdi, 0x1111000000000007
    mov rbp, 0x1111000000000005
    mov r8, 0x1111000000000008
    mov r9, 0x1111000000000009
    mov r10, 0x111100000000000a
    mov r11, 0x111100000000000b
    mov r12, 0x111100000000000c
    mov r13, 0x111100000000000d
    mov r14, 0x111100000000000e
    mov r15, 0x111100000000000f
    mov eax, 0x5ca1ab1e
    stc
l2_state_guest_vmcall:
    vmcall
    mov [rel l2_state_rbx_after], rbx   ; what L1 left in RBX
    add rsp, 16
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

section .rodata
align 8
l2_isr_table:
%assign v 0
%rep 256
    dq l2_isr %+ v
%assign v v + 1
%endrep

section .bss
align 16
l2_event:   resq 6
l2_state_rbx_after: resq 1
