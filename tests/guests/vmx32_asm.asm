; The assembly half of the 32-bit VMX guest (vmx32.c): exception stubs and
; catch_fault32(), the VM-entry/VM-exit path of its L1 hypervisor, and the
; code its 32-bit L2 runs. Everything here is 32-bit protected mode.
;
; int catch_fault32(void (*fn)(void *), void *arg, u32 *error);
;   Runs fn(arg). If fn raises an exception, the handler abandons it,
;   reloads the flat data selectors (fn may have changed ES, FS or SS) and
;   the stack of this call, and catch_fault32 returns the vector, with the
;   error code (0 when the vector has none) in *error if error is not NULL.
;   Returns -1 when fn returned normally. Not reentrant.
;
; int vmx32_enter(struct vmx32_gprs *gprs, int resume);
;   Sets HOST_RSP/HOST_RIP of the current VMCS so that a VM exit lands in
;   vmx32_exit_stub on this call's stack, loads L2's registers from *gprs
;   and executes VMLAUNCH (resume = 0) or VMRESUME. Returns 0 after a VM
;   exit with L2's registers stored in *gprs, 1 if the instruction failed
;   with CF = 1 (VMfailInvalid), 2 with ZF = 1 (VMfailValid).

HOST_RSP_ENC        equ 0x6c14          ; vmx/vmcs_fields.h
HOST_RIP_ENC        equ 0x6c16
SEL_DATA            equ 0x10            ; vmx32.h's GDT (vmx32_gdt)
VMX_FAIL_INVALID    equ 1
VMX_FAIL_VALID      equ 2

; struct vmx32_gprs (vmx32.h)
G_EAX   equ 0
G_EBX   equ 4
G_ECX   equ 8
G_EDX   equ 12
G_ESI   equ 16
G_EDI   equ 20
G_EBP   equ 24

; The L2 program's VMCALL codes and its register values (vmx32.c).
L2_CODE_REGS        equ 0x600d
L2_CODE_ECHO        equ 0x600e
L2_EBX              equ 0x2badc0de
L2_EBP              equ 0x0ddba11
L2_ECX              equ 0x12345678

extern vmx32_unexpected
global vmx32_isr_table
global catch_fault32
global vmx32_enter
global vmx32_l2_main
global vmx32_l2_cpuid
global vmx32_l2_vmcall1
global vmx32_l2_vmcall2
global vmx32_l2_echo
global vmx32_l2_esp_seen

section .text
bits 32

; ---- exceptions ----
%macro ISR_NOERR 1
isr%1:
    push 0
    push %1
    jmp isr_common
%endmacro
%macro ISR_ERR 1                        ; the CPU pushed an error code
isr%1:
    push %1
    jmp isr_common
%endmacro

%assign v 0
%rep 32
%if v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17 || v == 21 || v == 29 || v == 30
    ISR_ERR v
%else
    ISR_NOERR v
%endif
%assign v v + 1
%endrep

; [esp] vector, [esp+4] error code, [esp+8] EIP, CS, EFLAGS (no ESP/SS:
; same privilege level). SS is whatever the interrupted code had: a
; catch_fault32() function may have loaded a small-limit one.
isr_common:
    cld
    cmp dword [fault_active], 0
    je .unexpected
    mov eax, [esp]
    mov [fault_vector], eax
    mov eax, [esp + 4]
    mov [fault_error], eax
    mov dword [fault_active], 0
    mov eax, SEL_DATA
    mov ds, eax
    mov es, eax
    mov fs, eax
    mov gs, eax
    mov ss, eax
    mov esp, [fault_esp]
    jmp catch_landing
.unexpected:
    mov eax, SEL_DATA
    mov ds, eax
    mov es, eax
    mov ebx, [esp]                      ; vector
    mov ecx, [esp + 4]                  ; error code
    mov edx, [esp + 8]                  ; EIP
    and esp, ~15
    sub esp, 4
    push edx
    push ecx
    push ebx
    call vmx32_unexpected               ; does not return
.hang:
    cli
    hlt
    jmp .hang

catch_fault32:
    push ebp
    push ebx
    push esi
    push edi
    mov [fault_esp], esp
    mov eax, [esp + 20]                 ; fn
    mov ecx, [esp + 24]                 ; arg
    mov dword [fault_active], 1
    sub esp, 12
    push ecx
    call eax
    add esp, 16
    mov dword [fault_active], 0
    mov eax, -1
    jmp catch_out
catch_landing:                          ; ESP = fault_esp
    mov eax, [fault_vector]
    mov ecx, [esp + 28]                 ; error
    test ecx, ecx
    jz catch_out
    mov edx, [fault_error]
    mov [ecx], edx
catch_out:
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

; ---- VM entry and exit ----
vmx32_enter:
    push ebp
    push ebx
    push esi
    push edi
    mov eax, [esp + 20]                 ; gprs
    push eax                            ; [HOST_RSP] = gprs
    mov edx, HOST_RSP_ENC
    vmwrite edx, esp
    mov edx, HOST_RIP_ENC
    mov ecx, vmx32_exit_stub
    vmwrite edx, ecx
    cmp dword [esp + 28], 0             ; resume (MOV leaves the flags alone)
    mov ebx, [eax + G_EBX]
    mov ecx, [eax + G_ECX]
    mov edx, [eax + G_EDX]
    mov esi, [eax + G_ESI]
    mov edi, [eax + G_EDI]
    mov ebp, [eax + G_EBP]
    mov eax, [eax + G_EAX]
    jne .resume
    vmlaunch
    jmp .failed
.resume:
    vmresume
.failed:
    ; CF = 1: VMfailInvalid, else ZF = 1: VMfailValid.
    mov eax, VMX_FAIL_VALID
    mov ecx, VMX_FAIL_INVALID
    cmovc eax, ecx
    add esp, 4
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

; HOST_RIP. ESP = HOST_RSP: [esp] = gprs, then what vmx32_enter saved.
vmx32_exit_stub:
    push eax
    mov eax, [esp + 4]
    mov [eax + G_EBX], ebx
    mov [eax + G_ECX], ecx
    mov [eax + G_EDX], edx
    mov [eax + G_ESI], esi
    mov [eax + G_EDI], edi
    mov [eax + G_EBP], ebp
    pop ebx                             ; L2's EAX
    mov [eax + G_EAX], ebx
    add esp, 4
    pop edi
    pop esi
    pop ebx
    pop ebp
    cld
    xor eax, eax
    ret

; ---- the L2 program (32-bit protected mode, paging on L1's CR3) ----
; CPUID leaf 0 (L1 answers it), then VMCALL L2_CODE_REGS with known
; registers, ESI/EDI carrying what CPUID returned in EAX/EDX; then stores
; the EBX L1 left into vmx32_l2_echo and its ESP into vmx32_l2_esp_seen,
; and VMCALL L2_CODE_ECHO. It never runs past that (L1 stops there); if it
; were resumed it would repeat the last VMCALL.
vmx32_l2_main:
    xor eax, eax
    xor ecx, ecx
vmx32_l2_cpuid:
    cpuid
    mov esi, eax
    mov edi, edx
    mov ebx, L2_EBX
    mov ecx, L2_ECX
    mov ebp, L2_EBP
    mov edx, esp
    mov eax, L2_CODE_REGS
vmx32_l2_vmcall1:
    vmcall
    mov [vmx32_l2_echo], ebx
    mov [vmx32_l2_esp_seen], esp
vmx32_l2_again:
    mov eax, L2_CODE_ECHO
vmx32_l2_vmcall2:
    vmcall
    jmp vmx32_l2_again

section .rodata
align 4
vmx32_isr_table:
%assign v 0
%rep 32
    dd isr %+ v
%assign v v + 1
%endrep

section .bss
align 4
fault_active:       resd 1
fault_esp:          resd 1
fault_vector:       resd 1
fault_error:        resd 1
vmx32_l2_echo:      resd 1
vmx32_l2_esp_seen:  resd 1
