; Exception entry stubs for vectors 0-31.
;
; Each stub pushes a zero error code when the CPU does not push one, then the
; vector, then jumps to the common path, which saves the general registers to
; build a struct trap_frame (kernel/idt.h, layout pinned there by static
; asserts) and calls
;     void exception_dispatch(struct trap_frame *tf);
; If it returns, the registers are restored and IRETQ resumes the context.

bits 64
section .text

extern exception_dispatch
global isr_stub_table

; Vectors whose exceptions push an error code (SDM Vol. 3 6.13 and Table 6-1).
%define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

%macro ISR 1
isr_%1:
%if HAS_ERROR_CODE(%1) == 0
    push 0
%endif
    push %1
    jmp isr_common
%endmacro

%assign v 0
%rep 32
ISR v
%assign v v + 1
%endrep

isr_common:
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
    call exception_dispatch
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                         ; vector and error code
    iretq

section .rodata
align 8
isr_stub_table:
%assign v 0
%rep 32
    dq isr_ %+ v
%assign v v + 1
%endrep
