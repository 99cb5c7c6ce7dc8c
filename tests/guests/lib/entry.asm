; The 64-bit guests' two entry points, both ending in
;     void guest_start(u32 magic, u64 info, enum guest_entry entry);  /* no return */
; (lib/start.c) on the library's stack, GDT, and page tables.
;
; _start32: multiboot2 (spec 3.3): 32-bit protected mode, paging off,
;   EAX = 0x36d76289, EBX = boot information. We check the magic and long
;   mode, then enable PAE, EFER.LME and paging, and far-jump to 64-bit code.
;   On a bad magic or no long mode: a message on COM1 and exit status 3.
; _start64: plain ELF64 as turtle enters it (docs/guests.md): 64-bit mode,
;   paging on with turtle's identity tables over guest RAM, RDI = multiboot2
;   information, RSI = 0x36d76289. No stack is promised. We switch to our
;   own page tables and GDT so both variants run in the same address space.
;
; Address space (both): the first 4 GiB identity-mapped with 2 MiB pages.
; The image is linked at 1 MiB (guest.ld), so 32-bit absolute addresses work.
; Before changing anything each entry records CR0, CR4, EFER and RFLAGS as
; the loader left them (entry_* below) for the tests of the boot contract.

MB2_BOOTLOADER_MAGIC    equ 0x36d76289
GUEST_ENTRY_MB2         equ 1           ; enum guest_entry (lib/guest.h)
GUEST_ENTRY_ELF64       equ 2
EXIT_BAD_BOOT           equ 3           ; exit status when the entry gives up

COM1                    equ 0x3f8
LSR                     equ 5
LSR_THRE                equ 0x20
DEBUG_EXIT_PORT         equ 0xf4
BOCHS_SHUTDOWN_PORT     equ 0x8900

CR0_PE                  equ (1 << 0)
CR0_PG                  equ (1 << 31)
CR4_PAE                 equ (1 << 5)
MSR_EFER                equ 0xc0000080
EFER_LME                equ (1 << 8)
CPUID_EXT_LM            equ (1 << 29)   ; CPUID 0x80000001 EDX: long mode

PTE_P                   equ (1 << 0)
PTE_W                   equ (1 << 1)
PTE_PS                  equ (1 << 7)    ; 2 MiB page in a PD entry
PAGE_2M                 equ 0x200000

GDT_CODE64              equ 0x08        ; lib/desc.c
GDT_DATA                equ 0x10
STACK_SIZE              equ 16384

extern guest_start
extern gdt_ptr
global _start32
global _start64
global entry_cr0, entry_cr3, entry_cr4, entry_efer, entry_rflags, entry_gdtr

section .entry progbits alloc exec nowrite align=16
bits 32
_start32:
    cli
    cld
    mov edi, eax                        ; magic
    mov esi, ebx                        ; boot information
    mov esp, stack_top
    pushfd
    pop dword [entry_rflags]
    mov eax, cr0
    mov [entry_cr0], eax
    mov eax, cr4
    mov [entry_cr4], eax
    cmp edi, MB2_BOOTLOADER_MAGIC
    jne .bad_magic

    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, CPUID_EXT_LM
    jz .no_long_mode

    ; PAE, then EFER.LME, then paging: IA-32e mode (SDM Vol. 3 10.8.5).
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, pml4
    mov cr3, eax
    mov ecx, MSR_EFER
    rdmsr
    mov [entry_efer], eax
    mov [entry_efer + 4], edx
    or eax, EFER_LME
    wrmsr
    mov eax, cr0
    or eax, CR0_PE | CR0_PG
    mov cr0, eax
    lgdt [gdt_ptr]
    jmp GDT_CODE64:.long_mode

.bad_magic:
    mov ebx, msg_bad_magic
    jmp .fail
.no_long_mode:
    mov ebx, msg_no_long_mode
.fail:
    ; Print the NUL-terminated string at EBX on COM1, then exit.
    mov dx, COM1 + LSR
.wait:
    in al, dx
    test al, LSR_THRE
    jz .wait
    mov al, [ebx]
    inc ebx
    test al, al
    jz .exit
    mov dx, COM1
    out dx, al
    mov dx, COM1 + LSR
    jmp .wait
.exit:
    mov al, EXIT_BAD_BOOT
    out DEBUG_EXIT_PORT, al
    mov ebx, msg_shutdown
    mov dx, BOCHS_SHUTDOWN_PORT
.shutdown:
    mov al, [ebx]
    inc ebx
    test al, al
    jz .hang
    out dx, al
    jmp .shutdown
.hang:
    cli
    hlt
    jmp .hang

bits 64
.long_mode:
    mov ax, GDT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov rsp, stack_top
    mov edi, edi                        ; magic (upper halves are undefined
    mov esi, esi                        ; after the mode switch)
    mov edx, GUEST_ENTRY_MB2
    call guest_start
    jmp hang64

_start64:
    cli
    cld
    mov r12, rdi                        ; boot information
    mov r13, rsi                        ; magic
    lea rsp, [rel stack_top]
    pushfq
    pop qword [rel entry_rflags]
    mov rax, cr0
    mov [rel entry_cr0], rax
    mov rax, cr3
    mov [rel entry_cr3], rax
    mov rax, cr4
    mov [rel entry_cr4], rax
    sgdt [rel entry_gdtr]               ; the loader's GDT (limit, base)
    mov ecx, MSR_EFER
    rdmsr
    mov [rel entry_efer], eax
    mov [rel entry_efer + 4], edx
    ; Our tables map the same identity addresses as turtle's, and more.
    lea rax, [rel pml4]
    mov cr3, rax
    lgdt [rel gdt_ptr]
    push GDT_CODE64
    lea rax, [rel .reload_cs]
    push rax
    retfq
.reload_cs:
    mov ax, GDT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    mov edi, r13d
    mov rsi, r12
    mov edx, GUEST_ENTRY_ELF64
    call guest_start
hang64:
    cli
    hlt
    jmp hang64

section .rodata
msg_bad_magic:
    db "guest: error: not entered by a multiboot2 loader (bad EAX magic)", 10, 0
msg_no_long_mode:
    db "guest: error: this CPU has no 64-bit long mode", 10, 0
msg_shutdown:
    db "Shutdown", 0

; Identity map of the first 4 GiB: PML4[0] -> PDPT[0..3] -> 4 PDs of
; 512 entries of 2 MiB each. Built by the assembler: no code to run in
; either entry mode.
section .pagetables progbits alloc noexec write align=4096
pml4:
    dq pdpt + (PTE_P | PTE_W)
    times 511 dq 0
pdpt:
%assign i 0
%rep 4
    dq pd + i * 4096 + (PTE_P | PTE_W)
%assign i i + 1
%endrep
    times 508 dq 0
pd:
%assign i 0
%rep 2048
    dq i * PAGE_2M + (PTE_P | PTE_W | PTE_PS)
%assign i i + 1
%endrep

section .bss
align 16
entry_cr0:      resq 1
entry_cr3:      resq 1                  ; _start64 only (0 after _start32)
entry_cr4:      resq 1
entry_gdtr:     resq 2                  ; _start64 only: 2-byte limit, 8-byte base
entry_efer:     resq 1
entry_rflags:   resq 1
                resq 1                  ; keeps the stack 16-aligned
align 16
stack:          resb STACK_SIZE
stack_top:
