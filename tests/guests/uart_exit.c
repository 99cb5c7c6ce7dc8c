/*
 * uart_exit: the COM1 registers (docs/guests.md "Devices") and the exit
 * status. Programs the divisor latch through LCR.DLAB and reads it back,
 * checks the scratch and modem-control registers read back, LSR shows the
 * transmitter empty, prints a few lines, and exits with status=N from its
 * command line (default 0) so tests can check that turtle's verdict counts
 * a failing guest. A failed test forces status 1.
 *   options: status=N
 */
#include "lib/guest.h"

#define UART_DLL        0
#define UART_IER        1
#define UART_DLM        1
#define UART_IIR        2
#define UART_LCR        3
#define UART_MCR        4
#define UART_LSR        5
#define UART_SCR        7
#define UART_LCR_8N1    0x03
#define UART_LCR_DLAB   0x80
#define UART_LSR_EMPTY  0x60    /* THRE | TEMT */
#define UART_IIR_NO_INT 0x01
#define UART_MCR_DTR_RTS 0x03
#define DIVISOR_9600    12      /* 115200 / 9600 */
#define DIVISOR_115200  1

#define OPEN_BUS_PORT   0x2f0   /* nothing decodes it on Bochs or turtle: reads all ones */

static u8 rd(int reg) { return inb((u16)(COM1_PORT + reg)); }

/* String I/O (INS/OUTS with REP): the register updates the SDM gives, the
 * bytes written to memory, and (on the console) the line sent. */
static void string_io_tests(void)
{
    /* Short enough for the 16-byte transmit FIFO of a real 16550. */
    static const char line[] = "rep outsb ok\n";
    static u8 buf[16];
    u64 rsi = (u64)(uintptr_t)line, rcx = sizeof(line) - 1, rdi, cnt;

    serial_drain();
    __asm__ __volatile__("cld; rep outsb" : "+S"(rsi), "+c"(rcx) : "d"((u16)COM1_PORT) : "memory");
    serial_drain();
    report(rcx == 0 && rsi == (u64)(uintptr_t)line + sizeof(line) - 1,
           "rep outsb to COM1 advances RSI by the count and clears RCX");

    memset(buf, 0x11, sizeof(buf));
    rdi = (u64)(uintptr_t)buf;
    cnt = 8;
    __asm__ __volatile__("cld; rep insb" : "+D"(rdi), "+c"(cnt) : "d"((u16)OPEN_BUS_PORT) : "memory");
    bool all_ff = true;
    for (int i = 0; i < 8; i++)
        all_ff &= buf[i] == 0xff;
    report(all_ff && buf[8] == 0x11 && cnt == 0 && rdi == (u64)(uintptr_t)buf + 8,
           "rep insb from an open-bus port stores 0xff bytes and stops at the count");

    rdi = (u64)(uintptr_t)&buf[15];
    cnt = 1;
    serial_drain();
    __asm__ __volatile__("std; rep insb; cld" : "+D"(rdi), "+c"(cnt) : "d"((u16)(COM1_PORT + UART_LSR)) : "memory");
    report((buf[15] & UART_LSR_EMPTY) == UART_LSR_EMPTY && rdi == (u64)(uintptr_t)&buf[14],
           "insb with DF=1 reads LSR and moves RDI down");

    rcx = 0;
    rsi = (u64)(uintptr_t)line;
    __asm__ __volatile__("cld; rep outsb" : "+S"(rsi), "+c"(rcx) : "d"((u16)COM1_PORT) : "memory");
    report(rsi == (u64)(uintptr_t)line, "rep outsb with RCX=0 does nothing");
}
static void wr(int reg, u8 v) { outb((u16)(COM1_PORT + reg), v); }

void guest_main(const struct boot_params *bp)
{
    u64 status = 0;
    u8 dll, dlm, lcr_dlab, lcr;

    cmdline_u64(bp->cmdline, "status", &status);
    printf("uart_exit: starting, will exit with status %lu\n", (unsigned long)status);

    /* Divisor latch: DLAB = 1 switches ports +0/+1 to DLL/DLM. Nothing
     * is printed while the divisor is changed. */
    wr(UART_LCR, UART_LCR_DLAB | UART_LCR_8N1);
    wr(UART_DLL, DIVISOR_9600);
    wr(UART_DLM, 0);
    lcr_dlab = rd(UART_LCR);
    dll = rd(UART_DLL);
    dlm = rd(UART_DLM);
    wr(UART_DLL, DIVISOR_115200);
    wr(UART_LCR, UART_LCR_8N1);
    lcr = rd(UART_LCR);
    report(lcr_dlab == (UART_LCR_DLAB | UART_LCR_8N1) && lcr == UART_LCR_8N1, "uart LCR reads back (with and without DLAB)");
    report(dll == DIVISOR_9600 && dlm == 0, "uart divisor latch reads back");

    wr(UART_SCR, 0x5a);
    u8 scr1 = rd(UART_SCR);
    wr(UART_SCR, 0xa5);
    u8 scr2 = rd(UART_SCR);
    report(scr1 == 0x5a && scr2 == 0xa5, "uart scratch register reads back");
    wr(UART_MCR, UART_MCR_DTR_RTS);
    report((rd(UART_MCR) & 0x1f) == UART_MCR_DTR_RTS, "uart MCR reads back");
    report(rd(UART_IER) == 0, "uart IER reads 0 (interrupts off)");
    report((rd(UART_IIR) & 0x0f) == UART_IIR_NO_INT, "uart IIR: no interrupt pending");

    serial_drain();
    u8 lsr = rd(UART_LSR);
    report((lsr & UART_LSR_EMPTY) == UART_LSR_EMPTY, "uart LSR has THRE and TEMT set");

    string_io_tests();
    for (int i = 1; i <= 3; i++)
        printf("uart_exit: line %d\n", i);
    printf("uart_exit: exiting with status %lu\n", (unsigned long)status);
    guest_exit(report_summary() ? 1 : (int)status);
}
