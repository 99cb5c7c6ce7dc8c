; 32-bit entry from a multiboot2 boot loader, and the switch to long mode.
;
; Contract (Multiboot2 spec 3.3): entered in 32-bit protected mode, paging off,
; EAX = 0x36d76289, EBX = physical address of the boot information. Nothing
; else may be assumed (no valid stack, GDT or IDT).
;
; We check the magic and long-mode support (a message on COM1 and a halt if
; either is wrong), build the boot page tables, enable PAE, EFER.LME (and
; EFER.NXE when the CPU has NX), paging, load a 64-bit GDT and call
;     __noreturn void kmain(u64 mbi_phys, u64 cpu_has_nx);   /* kernel/kmain.h */
; at its higher-half address (RDI = boot information, RSI = 1 if NX, else 0).
;
; Boot address space: the first 4 GiB identity-mapped with 2 MiB pages (the
; kernel's direct map of physical memory, see kernel/paging.h), and the first
; 1 GiB again at KERNEL_VMA, where the kernel is linked (-mcmodel=kernel).

bits 32

KERNEL_VMA          equ 0xffffffff80000000
MB2_BOOT_MAGIC      equ 0x36d76289      ; EAX on entry from a multiboot2 loader
COM1                equ 0x3f8
LSR_THRE            equ 0x20            ; line status: transmit holding empty

CR0_PE              equ (1 << 0)
CR0_WP              equ (1 << 16)
CR0_PG              equ (1 << 31)
CR4_PAE             equ (1 << 5)
MSR_EFER            equ 0xc0000080
EFER_LME            equ (1 << 8)
EFER_NXE            equ (1 << 11)
PTE_P               equ (1 << 0)
PTE_W               equ (1 << 1)
PTE_PS              equ (1 << 7)        ; 2 MiB page in a PD entry
CPUID_EXT_LM        equ (1 << 29)       ; CPUID 0x80000001 EDX: long mode
CPUID_EXT_NX        equ (1 << 20)       ; CPUID 0x80000001 EDX: NX
BOOT_STACK_SIZE     equ 16384

GDT_CODE64          equ 0x08
GDT_DATA            equ 0x10

extern kmain
global _start
global boot_pml4
global boot_stack_top

section .boot.text
_start:
    cli
    cld
    mov esp, boot_stack_top - KERNEL_VMA
    cmp eax, MB2_BOOT_MAGIC
    jne .bad_magic
    mov esi, ebx                        ; keep the boot information pointer

    ; Long mode (and NX) support.
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, CPUID_EXT_LM
    jz .no_long_mode
    xor edi, edi
    test edx, CPUID_EXT_NX
    jz .tables
    mov edi, 1                          ; remember NX for kmain

.tables:
    ; PML4[0] -> pdpt_low (identity), PML4[511] -> pdpt_high (kernel).
    mov eax, boot_pdpt_low - KERNEL_VMA
    or eax, PTE_P | PTE_W
    mov [boot_pml4 - KERNEL_VMA], eax
    mov eax, boot_pdpt_high - KERNEL_VMA
    or eax, PTE_P | PTE_W
    mov [boot_pml4 - KERNEL_VMA + 511 * 8], eax
    ; pdpt_low[0..3] -> the four page directories; pdpt_high[510] -> the first.
    mov ecx, 0
.pdpt:
    mov eax, ecx
    shl eax, 12
    add eax, boot_pd - KERNEL_VMA
    or eax, PTE_P | PTE_W
    mov [boot_pdpt_low - KERNEL_VMA + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jb .pdpt
    mov eax, boot_pd - KERNEL_VMA
    or eax, PTE_P | PTE_W
    mov [boot_pdpt_high - KERNEL_VMA + 510 * 8], eax
    ; 2048 PD entries of 2 MiB: physical 0 .. 4 GiB.
    mov ecx, 0
.pd:
    mov eax, ecx
    shl eax, 21
    or eax, PTE_P | PTE_W | PTE_PS
    mov [boot_pd - KERNEL_VMA + ecx * 8], eax
    mov eax, ecx
    shr eax, 11                         ; bits 32+ of the physical address
    mov [boot_pd - KERNEL_VMA + ecx * 8 + 4], eax
    inc ecx
    cmp ecx, 2048
    jb .pd

    ; PAE, then EFER.LME (+NXE), then paging: IA-32e mode (SDM 10.8.5).
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, boot_pml4 - KERNEL_VMA
    mov cr3, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME
    test edi, edi
    jz .no_nx
    or eax, EFER_NXE
.no_nx:
    wrmsr
    mov eax, cr0
    or eax, CR0_PE | CR0_PG | CR0_WP
    mov cr0, eax

    lgdt [boot_gdt_ptr]                 ; .boot.* is linked at its load address
    jmp GDT_CODE64:.long_mode

.bad_magic:
    mov esi, msg_bad_magic
    jmp .fail
.no_long_mode:
    mov esi, msg_no_long_mode
.fail:
    ; Print the NUL-terminated string at ESI on COM1 (polled), then halt.
    mov dx, COM1 + 5
    in al, dx
    test al, LSR_THRE
    jz .fail
    lodsb
    test al, al
    jz .halt
    mov dx, COM1
    out dx, al
    jmp .fail
.halt:
    cli
    hlt
    jmp .halt

bits 64
.long_mode:
    mov ax, GDT_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax
    ; Move to the higher half: stack and the call to C.
    mov rsp, boot_stack_top
    xor ebp, ebp                        ; ends the backtrace
    xchg edi, esi                       ; rdi = mbi (physical), rsi = NX present
    mov rax, kmain
    call rax
.hang:
    cli
    hlt
    jmp .hang

section .boot.rodata
msg_bad_magic:
    db "turtle: error: not loaded by a multiboot2 boot loader (bad magic)", 13, 10, 0
msg_no_long_mode:
    db "turtle: error: this CPU has no 64-bit long mode", 13, 10, 0

align 8
boot_gdt:
    dq 0                                ; null
    dq 0x00af9a000000ffff               ; 0x08: 64-bit code, DPL 0
    dq 0x00cf92000000ffff               ; 0x10: data, DPL 0
boot_gdt_end:
boot_gdt_ptr:
    dw boot_gdt_end - boot_gdt - 1
    dd boot_gdt

section .bss
align 4096
boot_pml4:      resb 4096
boot_pdpt_low:  resb 4096
boot_pdpt_high: resb 4096
boot_pd:        resb 4096 * 4
boot_stack:     resb BOOT_STACK_SIZE
boot_stack_top:
