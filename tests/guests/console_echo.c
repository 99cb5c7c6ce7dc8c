/*
 * console_echo: a guest that reads its COM1 the way an interrupt-driven
 * serial driver does (FIFO on at trigger level 1, received-data interrupt
 * enabled, IRQ 4 through the 8259A with MCR OUT2 set; the handler drains
 * RBR while LSR says data ready, counting overruns) and answers each line
 * it receives with "ECHO: " and the line in upper case. It sleeps in HLT
 * with no timer armed, so only input wakes it. The line "quit" ends it:
 * the counts, a summary and exit status 0. Runs on bare Bochs (its COM1
 * fed by the harness) and under turtle (attached from turtle's console);
 * the lines must agree.
 *   options: overrun   first, with interrupts off, print "echo: not reading"
 *                      and leave the receiver alone until LSR reports an
 *                      overrun; then drain it: the FIFO must hold the first
 *                      16 bytes typed, the 17th lost (PC16550D: the byte in
 *                      the shift register is overwritten, not transferred)
 */
#include "lib/guest.h"
#include "lib/irq.h"

#define COM1            0x3f8
#define RBR             (COM1 + 0)
#define IER             (COM1 + 1)
#define IIR             (COM1 + 2)
#define FCR             (COM1 + 2)
#define MCR             (COM1 + 4)
#define LSR             (COM1 + 5)
#define LSR_DR          0x01
#define LSR_OE          0x02
#define IER_RDA         0x01
#define MCR_OUT2        0x08
#define FCR_ENABLE_CLEAR 0x07           /* FIFO on, both cleared, trigger level 1 */
#define PIC_BASE        0x30
#define IRQ_COM1        4
#define RING            256
#define UART_FIFO       16
#define LINE_MAX        80

static volatile u8 ring[RING];
static volatile u32 ring_head, ring_tail;
static volatile u32 n_irq, n_overrun, n_dropped;

static void on_irq(u8 vector)
{
    if (vector != PIC_BASE + IRQ_COM1)
        return;
    n_irq++;
    (void)inb(IIR);
    for (int i = 0; i < 64; i++) {
        u8 lsr = inb(LSR);
        if (lsr & LSR_OE)
            n_overrun++;
        if (!(lsr & LSR_DR))
            break;
        u8 c = inb(RBR);
        if (ring_tail - ring_head < RING)
            ring[ring_tail++ % RING] = c;
        else
            n_dropped++;
    }
    outb(0x20, 0x20);                   /* non-specific EOI */
}

static void pic_init(void)
{
    outb(0x21, 0xff); outb(0xa1, 0xff);
    outb(0x20, 0x11); outb(0x21, PIC_BASE); outb(0x21, 0x04); outb(0x21, 0x01);
    outb(0xa0, 0x11); outb(0xa1, PIC_BASE + 8); outb(0xa1, 0x02); outb(0xa1, 0x01);
    outb(0x21, (u8)~(1u << IRQ_COM1)); outb(0xa1, 0xff);
}

/* 17 bytes are typed while nobody reads: 16 stay, the 17th is lost. */
static void overrun_test(void)
{
    char held[UART_FIFO + 2];
    u32 n = 0;

    outb(IER, 0);
    printf("echo: not reading\n");
    while (!(inb(LSR) & LSR_OE))
        ;
    while ((inb(LSR) & LSR_DR) && n < sizeof(held) - 1)
        held[n++] = (char)inb(RBR);
    held[n] = '\0';
    printf("echo: overrun with %u bytes held: %s\n", n, held);
    report(n == UART_FIFO && !strcmp(held, "abcdefghijklmnop"),
           "receiver overrun: the FIFO keeps the first 16 bytes, LSR.OE reports the lost one");
}

void guest_main(const struct boot_params *bp)
{
    char line[LINE_MAX + 1];
    u32 len = 0, lines = 0, bytes = 0;

    irq_init();
    irq_hook = on_irq;
    pic_init();
    outb(FCR, FCR_ENABLE_CLEAR);
    while (inb(LSR) & LSR_DR)           /* nothing stale */
        (void)inb(RBR);
    if (cmdline_has_word(bp->cmdline, "overrun"))
        overrun_test();
    outb(MCR, (u8)(inb(MCR) | MCR_OUT2));
    outb(IER, IER_RDA);
    printf("echo: ready\n");
    for (;;) {
        sti_hlt();                      /* only COM1 can wake us */
        cli();
        while (ring_head != ring_tail) {
            char c = (char)ring[ring_head++ % RING];
            bytes++;
            if (c != '\r' && c != '\n') {
                if (len < LINE_MAX)
                    line[len++] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
                continue;
            }
            if (!len)
                continue;               /* the LF of CR LF, or an empty line */
            line[len] = '\0';
            len = 0;
            lines++;
            if (!strcmp(line, "QUIT")) {
                outb(IER, 0);
                printf("echo: %u lines, %u bytes, overruns %u, dropped %u\n", lines, bytes,
                       n_overrun, n_dropped);
                report(n_irq > 0, "input arrived through IRQ 4");
                report(n_overrun == 0 && n_dropped == 0, "no byte lost");
                guest_exit(report_summary() ? 1 : 0);
            }
            printf("ECHO: %s\n", line);
        }
    }
}
