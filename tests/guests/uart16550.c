/*
 * uart16550: COM1 as a 16550A, the way serial drivers probe and use it:
 * scratch register, FIFO detection through IIR, loopback (transmitted
 * bytes come back through RBR in order, the 16-byte receive FIFO, overrun
 * in LSR, modem-status lines following the modem controls, their delta
 * bits), the interrupt identification (THR empty once enabled, cleared by
 * reading IIR; received data until drained), and the THR-empty interrupt
 * on IRQ 4 through the PIC (gated by MCR OUT2). Runs on bare Bochs and
 * under turtle; results must agree. No options.
 *
 * While loopback is on, nothing can be printed (the guest's console is
 * this UART): results are collected first and reported afterwards.
 */
#include "lib/guest.h"

#define COM1            0x3f8
#define RBR             (COM1 + 0)
#define IER             (COM1 + 1)
#define IIR             (COM1 + 2)
#define FCR             (COM1 + 2)
#define LCR             (COM1 + 3)
#define MCR             (COM1 + 4)
#define LSR             (COM1 + 5)
#define MSR             (COM1 + 6)
#define SCR             (COM1 + 7)
#define VEC_MASTER      0x30
#define IRQ_COM1        4

/* ---- IRQ 4 through the PIC: our own IDT with one stub ---- */
struct gate { u16 lo, sel; u8 ist, attr; u16 mid; u32 hi, rsvd; } __attribute__((packed));
struct dtr { u16 limit; u64 base; } __attribute__((packed));
static struct gate idt[256] __attribute__((aligned(16)));
static volatile u32 n_irq;
static volatile u8 iir_in_handler;

extern char com1_stub[];
__asm__(".text\n.align 16\ncom1_stub:\npush %rax\npush %rcx\npush %rdx\npush %rsi\npush %rdi\n"
        "push %r8\npush %r9\npush %r10\npush %r11\ncld\ncall com1_irq\n"
        "pop %r11\npop %r10\npop %r9\npop %r8\npop %rdi\npop %rsi\npop %rdx\n"
        "pop %rcx\npop %rax\niretq\n");

void com1_irq(void);
void com1_irq(void)
{
    iir_in_handler = inb(IIR);          /* identifies, and clears THR empty */
    n_irq++;
    outb(0x20, 0x20);                   /* non-specific EOI */
}

static void idt_init(void)
{
    struct dtr old, nw = { sizeof(idt) - 1, (u64)(uintptr_t)idt };
    u64 a = (u64)(uintptr_t)com1_stub;

    __asm__ __volatile__("sidt %0" : "=m"(old));
    memcpy(idt, (void *)(uintptr_t)old.base, old.limit + 1);
    idt[VEC_MASTER + IRQ_COM1] = idt[0];
    idt[VEC_MASTER + IRQ_COM1].ist = 0;
    idt[VEC_MASTER + IRQ_COM1].lo = (u16)a;
    idt[VEC_MASTER + IRQ_COM1].mid = (u16)(a >> 16);
    idt[VEC_MASTER + IRQ_COM1].hi = (u32)(a >> 32);
    __asm__ __volatile__("lidt %0" :: "m"(nw) : "memory");
    /* 8259A pair as a kernel sets it up: master at 0x30, only IRQ 4 open. */
    outb(0x21, 0xff); outb(0xa1, 0xff);
    outb(0x20, 0x11); outb(0x21, VEC_MASTER); outb(0x21, 0x04); outb(0x21, 0x01);
    outb(0xa0, 0x11); outb(0xa1, VEC_MASTER + 8); outb(0xa1, 0x02); outb(0xa1, 0x01);
    outb(0x21, (u8)~(1u << IRQ_COM1)); outb(0xa1, 0xff);
}

struct results {
    u8 scr, iir_fifo, iir_nofifo, msr_loop, msr_delta, msr_after;
    u8 lsr_empty, lsr_ready, lsr_overrun, lsr_after;
    u8 iir_thre, iir_thre_after, iir_rda, iir_drained;
    u8 got[24];
    u32 n_got;
};

static void loopback_tests(struct results *r)
{
    u8 mcr = inb(MCR);

    outb(SCR, 0x5a);
    r->scr = inb(SCR);
    outb(FCR, 0x07);                    /* FIFO on, both FIFOs cleared */
    r->iir_fifo = inb(IIR) & 0xc0;
    outb(FCR, 0x00);
    r->iir_nofifo = inb(IIR) & 0xc0;
    outb(FCR, 0x07);

    outb(IER, 0x00);
    outb(MCR, 0x10 | 0x02);             /* loopback, RTS */
    r->msr_loop = inb(MSR) & 0xf0;      /* CTS only */
    (void)inb(MSR);
    outb(MCR, 0x10 | 0x02 | 0x01);      /* raise DTR: DSR changes */
    r->msr_delta = inb(MSR);
    r->msr_after = inb(MSR) & 0x0f;     /* read cleared the deltas */

    outb(IER, 0x02);                    /* THR empty enabled while THR is empty */
    r->iir_thre = inb(IIR) & 0x0f;
    r->iir_thre_after = inb(IIR) & 0x0f;   /* the read cleared it */
    outb(IER, 0x01);                    /* received data available */
    r->lsr_empty = inb(LSR);
    for (int i = 0; i < 3; i++)
        outb(RBR, (u8)('a' + i));
    r->lsr_ready = inb(LSR);
    r->iir_rda = inb(IIR) & 0x0f;
    for (int i = 0; i < 3; i++)
        r->got[r->n_got++] = inb(RBR);
    r->iir_drained = inb(IIR) & 0x0f;
    outb(IER, 0x00);

    for (int i = 0; i < 17; i++)        /* one more than the FIFO holds */
        outb(RBR, (u8)('A' + i));
    r->lsr_overrun = inb(LSR);
    r->lsr_after = inb(LSR) & 0x02;
    for (int i = 0; i < 14 && (inb(LSR) & 1); i++)
        r->got[r->n_got++] = inb(RBR);
    while (inb(LSR) & 1)
        r->got[r->n_got < sizeof(r->got) ? r->n_got++ : 16] = inb(RBR);
    outb(MCR, mcr);                     /* loopback off: the console works again */
}

void guest_main(const struct boot_params *bp)
{
    struct results r = { 0 };
    (void)bp;

    loopback_tests(&r);
    report(r.scr == 0x5a, "scratch register reads back");
    report(r.iir_fifo == 0xc0 && r.iir_nofifo == 0x00, "IIR bits 7:6 show the FIFO (16550A)");
    report(r.msr_loop == 0x10, "loopback: CTS follows RTS, nothing else up (%02x)", r.msr_loop);
    report((r.msr_delta & 0x22) == 0x22 && r.msr_after == 0,
           "loopback: DSR follows DTR, delta DSR set until MSR is read (%02x)", r.msr_delta);
    report((r.lsr_empty & 0x61) == 0x60, "LSR: transmitter empty, no data (%02x)", r.lsr_empty);
    report((r.lsr_ready & 0x01) == 0x01, "LSR: data ready after loopback transmit");
    report(r.iir_thre == 0x02 && r.iir_thre_after == 0x01,
           "IIR: THR empty once enabled, cleared by reading IIR (%x %x)", r.iir_thre, r.iir_thre_after);
    report(r.iir_rda == 0x04 && r.iir_drained == 0x01,
           "IIR: received data available until the FIFO is drained (%x %x)", r.iir_rda, r.iir_drained);
    report(r.n_got >= 3 && r.got[0] == 'a' && r.got[1] == 'b' && r.got[2] == 'c',
           "loopback bytes come back in order");
    bool fifo = r.n_got == 19;
    for (u32 i = 0; fifo && i < 16; i++)
        fifo = r.got[3 + i] == 'A' + i;
    report(fifo, "receive FIFO holds 16 bytes in order, the 17th is lost (%u)", r.n_got);
    report((r.lsr_overrun & 0x02) && r.lsr_after == 0, "LSR: overrun, cleared by reading LSR");

    /* THR-empty interrupt on IRQ 4: only with OUT2 (PC boards). */
    idt_init();
    u8 mcr = inb(MCR);
    outb(MCR, (u8)(mcr & ~0x08));
    outb(IER, 0x02);
    __asm__ __volatile__("sti; nop; nop; nop; nop; cli" ::: "memory");
    u32 without_out2 = n_irq;
    outb(IER, 0x00);
    outb(MCR, (u8)(mcr | 0x08));
    outb(IER, 0x02);
    for (volatile int i = 0; i < 200 && !n_irq; i++)
        __asm__ __volatile__("sti; nop; cli" ::: "memory");
    outb(IER, 0x00);
    outb(MCR, mcr);
    report(without_out2 == 0, "no IRQ 4 while OUT2 is low");
    report(n_irq == 1 && (iir_in_handler & 0x0f) == 0x02,
           "THR-empty interrupt on IRQ 4, identified by IIR (%u, %02x)", n_irq, iir_in_handler);
}
