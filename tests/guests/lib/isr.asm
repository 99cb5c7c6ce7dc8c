; Exception entry for the 64-bit guests: one stub per vector 0-31, a common
; path that either resumes a catch_fault() call or reports the exception.
;
; Stack at isr_common (SDM Vol. 3 6.14.2, CPU frame plus our two pushes):
;   [rsp] vector, [rsp+8] error code (0 if none), [rsp+16] RIP, +24 CS,
;   +32 RFLAGS, +40 RSP, +48 SS.

extern exception_unexpected
global isr_table
global catch_fault

FRAME_VECTOR    equ 0
FRAME_ERROR     equ 8
FRAME_RIP       equ 16
FRAME_RSP       equ 40

section .text
bits 64

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

isr_common:
    cmp qword [rel fault_landing], 0
    je .unexpected
    ; A catch_fault() is running: record the fault and resume at its
    ; landing point on its stack, abandoning whatever fn was doing.
    push rax
    mov rax, [rsp + 8 + FRAME_VECTOR]
    mov [rel fault_vector], rax
    mov rax, [rsp + 8 + FRAME_ERROR]
    mov [rel fault_error], rax
    mov rax, [rel fault_landing]
    mov [rsp + 8 + FRAME_RIP], rax
    mov rax, [rel fault_rsp]
    mov [rsp + 8 + FRAME_RSP], rax
    mov qword [rel fault_landing], 0
    pop rax
    add rsp, 16
    iretq

.unexpected:
    ; struct exception_frame (lib/start.c): rax..r15 below the vector.
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    mov rdi, rsp
    cld
    and rsp, -16
    call exception_unexpected           ; does not return
.hang:
    cli
    hlt
    jmp .hang

; int catch_fault(void (*fn)(void *), void *arg, u64 *error);
;   -1 if fn returned, else the vector; *error = the error code (if error).
catch_fault:
    push rbx
    push rbp
    push r12
    push r13
    push r14
    push r15
    mov [rel fault_error_out], rdx
    mov [rel fault_rsp], rsp
    lea rax, [rel .landing]
    mov [rel fault_landing], rax
    mov rax, rdi
    mov rdi, rsi
    sub rsp, 8                          ; 16-byte alignment at the call
    call rax
    add rsp, 8
    mov qword [rel fault_landing], 0
    mov eax, -1
    xor ecx, ecx
    jmp .done
.landing:                               ; from isr_common, RSP = fault_rsp
    mov eax, [rel fault_vector]
    mov rcx, [rel fault_error]
.done:
    mov rdx, [rel fault_error_out]
    test rdx, rdx
    jz .out
    mov [rdx], rcx
.out:
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    ret

section .rodata
align 8
isr_table:
%assign v 0
%rep 32
    dq isr %+ v
%assign v v + 1
%endrep

section .bss
align 8
fault_landing:      resq 1              ; resume RIP, 0 when no catch is active
fault_rsp:          resq 1
fault_vector:       resq 1
fault_error:        resq 1
fault_error_out:    resq 1
