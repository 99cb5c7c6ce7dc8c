/*
 * Host unit test of vmx/dev/uart.c, the 16550A each VM has at COM1, from
 * the side of what turtle's console feeds it (uart_line_receive()): the
 * FIFO in order, LSR data-ready and overrun (the 17th byte lost, OE
 * reported once), IIR's received-data and line-status sources with FIFO
 * bits, IRQ 4 only with IER and OUT2, loopback disconnecting the line, and
 * uart_rx_irq_armed(); and the transmit side's console lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "kernel/printf.h"
#include "vmx/dev/uart.h"

#define RBR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5

static char out[1024];
static size_t out_len;

/* uart.c prints a guest's lines with kprintf(): capture them. */
int kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(out + out_len, sizeof(out) - out_len, fmt, ap);
	va_end(ap);
	out_len += (size_t)n;
	return n;
}

static bool level;
static int edges;

static void line(void *ctx, u32 pin, bool l)
{
	(void)ctx;
	assert_int_equal(pin, 4);
	if (l != level)
		edges++;
	level = l;
}

static struct uart16550 u;

static u8 rd(u32 reg)
{
	u64 v = 0;
	uart_bus_read(&u, reg, 1, &v);
	return (u8)v;
}

static void wr(u32 reg, u8 v)
{
	uart_bus_write(&u, reg, 1, v);
}

static void setup_uart(void)
{
	struct irq_line irq = { line, NULL, 4 };
	level = false;
	edges = 0;
	out_len = 0;
	out[0] = '\0';
	uart_init(&u, "g", &irq);
}

static void test_receive_fifo(void **state)
{
	(void)state;
	setup_uart();
	wr(FCR, 0x07);
	assert_int_equal(rd(LSR) & 0x01, 0);
	assert_int_equal(rd(IIR), 0xc1);                /* FIFO on, nothing pending */
	uart_line_receive(&u, 'h');
	uart_line_receive(&u, 'i');
	assert_int_equal(rd(LSR) & 0x61, 0x61);         /* DR, THR and TSR empty */
	assert_false(level);                            /* IER 0: no interrupt */
	wr(IER, 0x01);
	assert_false(level);                            /* OUT2 low: the line stays low */
	assert_int_equal(rd(IIR), 0xc4);                /* but IIR names the source */
	wr(MCR, 0x0b);                                  /* DTR, RTS, OUT2 */
	assert_true(level);
	assert_int_equal(rd(RBR), 'h');
	assert_true(level);
	assert_int_equal(rd(RBR), 'i');
	assert_false(level);
	assert_int_equal(rd(LSR) & 0x01, 0);
	assert_int_equal(rd(RBR), 0);                   /* empty: reads 0 */
}

static void test_overrun(void **state)
{
	(void)state;
	setup_uart();
	wr(FCR, 0x07);
	for (int i = 0; i < 17; i++)
		uart_line_receive(&u, (u8)('a' + i));
	u8 lsr = rd(LSR);
	assert_int_equal(lsr & 0x03, 0x03);             /* DR and OE */
	assert_int_equal(rd(LSR) & 0x02, 0);            /* OE reported once */
	char got[20] = { 0 };
	for (int i = 0; rd(LSR) & 0x01; i++)
		got[i] = (char)rd(RBR);
	assert_string_equal(got, "abcdefghijklmnop");   /* the 17th was lost */

	/* Line status has priority over received data in IIR. */
	for (int i = 0; i < 17; i++)
		uart_line_receive(&u, 'x');
	wr(IER, 0x05);
	assert_int_equal(rd(IIR) & 0x0f, 0x06);
	(void)rd(LSR);
	assert_int_equal(rd(IIR) & 0x0f, 0x04);
}

static void test_loopback_disconnects_line(void **state)
{
	(void)state;
	setup_uart();
	wr(MCR, 0x18);                                  /* loopback, OUT2 */
	uart_line_receive(&u, 'z');
	assert_int_equal(rd(LSR) & 0x01, 0);            /* lost */
	wr(RBR, 'q');                                   /* transmit: comes back */
	assert_int_equal(rd(LSR) & 0x01, 1);
	assert_int_equal(rd(RBR), 'q');
	assert_int_equal(out_len, 0);                   /* nothing printed */
}

static void test_rx_irq_armed(void **state)
{
	(void)state;
	setup_uart();
	assert_false(uart_rx_irq_armed(&u));
	wr(IER, 0x01);
	assert_false(uart_rx_irq_armed(&u));            /* no OUT2 */
	wr(MCR, 0x08);
	assert_true(uart_rx_irq_armed(&u));
	wr(MCR, 0x18);
	assert_false(uart_rx_irq_armed(&u));            /* loopback */
	wr(MCR, 0x08);
	wr(IER, 0x02);
	assert_false(uart_rx_irq_armed(&u));            /* THRE only */
}

static void test_console_lines(void **state)
{
	(void)state;
	setup_uart();
	const char *s = "hi\x01\r\n\nend";
	for (; *s; s++)
		wr(RBR, (u8)*s);
	uart_flush(&u);
	assert_string_equal(out, "[g] hi.\n[g]\n[g] end\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_receive_fifo),
		cmocka_unit_test(test_overrun),
		cmocka_unit_test(test_loopback_disconnects_line),
		cmocka_unit_test(test_rx_irq_armed),
		cmocka_unit_test(test_console_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
