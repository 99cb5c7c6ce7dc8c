/*
 * Descriptor tables of the 64-bit guests: a flat GDT with a 64-bit TSS,
 * and an IDT whose 32 exception vectors go to lib/isr.asm. #DF, NMI and
 * #MC run on their own IST stack so a blown stack still gets reported.
 */
#include "lib/guest.h"
#include "lib/start.h"

#define GDT_CODE64          0x08    /* lib/entry.asm loads these two */
#define GDT_DATA            0x10
#define GDT_TSS             0x18    /* 16-byte system descriptor */
#define GDT_CODE64_DESC     0x00af9a000000ffffull   /* P, DPL 0, code, L */
#define GDT_DATA_DESC       0x00cf92000000ffffull   /* P, DPL 0, data, writable */
#define DESC_TSS64_AVAIL    0x89    /* P, DPL 0, type 9: available 64-bit TSS */
#define GATE_INTERRUPT64    0x8e    /* P, DPL 0, type 14: 64-bit interrupt gate */
#define IST_EXCEPTION       1
#define IST_STACK_SIZE      4096
#define EXCEPTION_VECTORS   32

struct desc_ptr {
    u16 limit;
    u64 base;
} __packed;

/* 64-bit TSS (SDM Vol. 3 8.7). */
struct tss64 {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 iomap_base;
} __packed;

/* 64-bit IDT gate (SDM Vol. 3 6.14.1). */
struct idt_gate {
    u16 offset_low;
    u16 selector;
    u8 ist;
    u8 type_attr;
    u16 offset_mid;
    u32 offset_high;
    u32 reserved;
} __packed;

_Static_assert(sizeof(struct desc_ptr) == 10, "GDTR/IDTR image");
_Static_assert(sizeof(struct tss64) == 104, "64-bit TSS");
_Static_assert(__builtin_offsetof(struct tss64, ist) == 36, "TSS IST1 offset");
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate");

static u64 gdt[5] = {
    0,
    GDT_CODE64_DESC,
    GDT_DATA_DESC,
    0, 0,                           /* TSS, filled in by desc_init() */
};

/* Read by lib/entry.asm (lgdt) before desc_init() runs; the 32-bit entry
 * reads only the low 4 bytes of the base, which is below 2 MiB. */
struct desc_ptr gdt_ptr = { sizeof(gdt) - 1, (u64)(uintptr_t)gdt };

static struct tss64 tss;
static struct idt_gate idt[EXCEPTION_VECTORS];
static u8 ist_stack[IST_STACK_SIZE] __attribute__((aligned(16)));

extern const u64 isr_table[EXCEPTION_VECTORS];

void desc_init(void)
{
    u64 base = (u64)(uintptr_t)&tss, limit = sizeof(tss) - 1;

    tss.ist[IST_EXCEPTION - 1] = (u64)(uintptr_t)(ist_stack + sizeof(ist_stack));
    tss.iomap_base = sizeof(tss);               /* no I/O bitmap */
    gdt[GDT_TSS / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 |
                       (u64)DESC_TSS64_AVAIL << 40 | ((limit >> 16) & 0xf) << 48 |
                       ((base >> 24) & 0xff) << 56;
    gdt[GDT_TSS / 8 + 1] = base >> 32;
    __asm__ __volatile__("ltr %w0" :: "r"((u16)GDT_TSS) : "memory");

    for (int v = 0; v < EXCEPTION_VECTORS; v++) {
        u64 a = isr_table[v];
        bool ist = v == X86_DF || v == X86_NMI || v == X86_MC;
        idt[v] = (struct idt_gate){
            .offset_low = (u16)a,
            .selector = GDT_CODE64,
            .ist = ist ? IST_EXCEPTION : 0,
            .type_attr = GATE_INTERRUPT64,
            .offset_mid = (u16)(a >> 16),
            .offset_high = (u32)(a >> 32),
        };
    }
    struct desc_ptr idtr = { sizeof(idt) - 1, (u64)(uintptr_t)idt };
    __asm__ __volatile__("lidt %0" :: "m"(idtr) : "memory");
}
