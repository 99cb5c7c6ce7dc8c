; Entry of the 32-bit multiboot1 guest (Multiboot 0.6.96, 3.2): protected
; mode, paging off, EAX = 0x2badb002, EBX = information; GDTR and ESP are
; not to be trusted. We save the entry state (lib/mb1.h), load a flat GDT
; and a stack of our own, initialise COM1 and call
;     void mb1_main(u32 magic, u32 info);       /* no return */
; The C code checks the magic (it can report; this entry only records).

MB1_HEADER_MAGIC    equ 0x1badb002
MB1_PAGE_ALIGN      equ (1 << 0)        ; modules on 4 KiB boundaries
MB1_MEMORY_INFO     equ (1 << 1)        ; mem_* and the memory map wanted
MB1_FLAGS           equ MB1_PAGE_ALIGN | MB1_MEMORY_INFO
GDT_CODE32          equ 0x08
GDT_DATA            equ 0x10
STACK_SIZE          equ 16384

extern serial_init
extern mb1_main
global _start
global mb1_entry_cr0, mb1_entry_eflags, mb1_entry_cs, mb1_entry_push_width

bits 32
section .multiboot1 progbits alloc noexec nowrite align=4
    dd MB1_HEADER_MAGIC
    dd MB1_FLAGS
    dd -(MB1_HEADER_MAGIC + MB1_FLAGS)

section .text
_start:
    cli
    cld
    mov edi, eax
    mov esi, ebx
    mov esp, stack_top
    pushfd
    pop dword [mb1_entry_eflags]
    mov eax, cr0
    mov [mb1_entry_cr0], eax
    mov ax, cs
    movzx eax, ax
    mov [mb1_entry_cs], eax
    mov ecx, esp
    push eax
    sub ecx, esp
    pop eax
    mov [mb1_entry_push_width], ecx

    lgdt [gdt_ptr]
    jmp GDT_CODE32:.flat
.flat:
    mov ax, GDT_DATA
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    call serial_init
    sub esp, 8                          ; 16-byte alignment at the call (i386 SysV)
    push esi
    push edi
    call mb1_main
.hang:
    cli
    hlt
    jmp .hang

section .rodata
align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff               ; 0x08: 32-bit code, DPL 0, 4 GiB
    dq 0x00cf92000000ffff               ; 0x10: data, DPL 0, 4 GiB
gdt_end:
gdt_ptr:
    dw gdt_end - gdt - 1
    dd gdt

section .bss
align 16
mb1_entry_cr0:          resd 1
mb1_entry_eflags:       resd 1
mb1_entry_cs:           resd 1
mb1_entry_push_width:   resd 1
align 16
stack:                  resb STACK_SIZE
stack_top:
