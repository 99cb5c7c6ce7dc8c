/*
 * Host unit test of kernel/line_editor.c: the console's line editor (what
 * it keeps and exactly what it echoes for printable bytes, Backspace/DEL,
 * Ctrl-U, Ctrl-W, Ctrl-C, CR/LF/CR LF, escape sequences, a full line) and
 * the attach escape (Ctrl-], "~." at line start only, "~~", "~x"). Ends
 * with a fixed-seed fuzz against a model of the screen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "kernel/line_editor.h"

static char screen[4096];
static size_t screen_len;

static void echo(const char *s, u32 n)
{
	assert_true(screen_len + n < sizeof(screen));
	memcpy(screen + screen_len, s, n);
	screen_len += n;
	screen[screen_len] = '\0';
}

static void reset(struct line_editor *e)
{
	memset(e, 0, sizeof(*e));
	line_editor_clear(e);
	screen_len = 0;
	screen[0] = '\0';
}

/* Feeds s; returns the last event. */
static enum line_event feed(struct line_editor *e, const char *s)
{
	enum line_event ev = LINE_NONE;
	for (; *s; s++)
		ev = line_editor_feed(e, (u8)*s, echo);
	return ev;
}

static void test_typing(void **state)
{
	struct line_editor e;

	(void)state;
	reset(&e);
	assert_int_equal(feed(&e, "list"), LINE_NONE);
	assert_string_equal(e.buf, "list");
	assert_string_equal(screen, "list");
	assert_int_equal(feed(&e, "\r"), LINE_DONE);
	assert_string_equal(e.buf, "list");
	assert_string_equal(screen, "list\n");
	/* The LF of CR LF is the same Enter; a second LF is a new (empty) line. */
	line_editor_clear(&e);
	assert_int_equal(line_editor_feed(&e, '\n', echo), LINE_NONE);
	assert_int_equal(line_editor_feed(&e, '\n', echo), LINE_DONE);
	assert_string_equal(e.buf, "");
	/* LF alone ends a line; tab becomes a blank; other controls vanish. */
	reset(&e);
	assert_int_equal(feed(&e, "a\tb\x01\x02\x07" "c\x80\xff\n"), LINE_DONE);
	assert_string_equal(e.buf, "a bc");
	assert_string_equal(screen, "a bc\n");
}

static void test_erase(void **state)
{
	struct line_editor e;

	(void)state;
	reset(&e);
	feed(&e, "pausx\b");
	assert_string_equal(e.buf, "paus");
	assert_string_equal(screen, "pausx\b \b");
	feed(&e, "e\x7f\x7f");
	assert_string_equal(e.buf, "pau");
	/* Backspace on an empty line echoes nothing. */
	reset(&e);
	feed(&e, "\b\x7f");
	assert_int_equal(screen_len, 0);
	/* Ctrl-U: one rubout per character. */
	feed(&e, "kill x");
	screen_len = 0;
	feed(&e, "\x15");
	assert_string_equal(e.buf, "");
	assert_string_equal(screen, "\b \b\b \b\b \b\b \b\b \b\b \b");
	/* Ctrl-W: trailing blanks, then the word. */
	reset(&e);
	feed(&e, "attach beta  ");
	feed(&e, "\x17");
	assert_string_equal(e.buf, "attach ");
	feed(&e, "\x17");
	assert_string_equal(e.buf, "");
	feed(&e, "\x17");
	assert_string_equal(e.buf, "");
	/* Ctrl-C drops the line. */
	reset(&e);
	feed(&e, "resume");
	assert_int_equal(line_editor_feed(&e, 0x03, echo), LINE_CANCEL);
	assert_string_equal(e.buf, "");
	assert_string_equal(screen, "resume^C\n");
}

static void test_escape_sequences(void **state)
{
	struct line_editor e;

	(void)state;
	reset(&e);
	/* Arrows (CSI A-D), Delete (CSI 3 ~), F1 (SS3 P), then a bare ESC x. */
	feed(&e, "ab\x1b[A\x1b[D\x1b[3~\x1bOPc\x1bxd");
	assert_string_equal(e.buf, "abcd");
	assert_string_equal(screen, "abcd");
}

static void test_full_line(void **state)
{
	struct line_editor e;
	char want[LINE_EDITOR_MAX + 1];

	(void)state;
	reset(&e);
	for (int i = 0; i < LINE_EDITOR_MAX + 20; i++)
		line_editor_feed(&e, (u8)('a' + i % 26), echo);
	assert_int_equal(e.len, LINE_EDITOR_MAX);
	assert_int_equal(screen_len, LINE_EDITOR_MAX);
	for (int i = 0; i < LINE_EDITOR_MAX; i++)
		want[i] = (char)('a' + i % 26);
	want[LINE_EDITOR_MAX] = '\0';
	assert_string_equal(e.buf, want);
	/* Room again after a Backspace. */
	feed(&e, "\bZ");
	assert_int_equal(e.buf[LINE_EDITOR_MAX - 1], 'Z');
}

/* ---- attach escape ---- */

/* Feeds s; the bytes passed on go to out (NUL-terminated). Returns the
 * index of the byte that detached, or -1. */
static int route(struct attach_escape *a, const char *s, char *out)
{
	size_t n = 0;
	for (int i = 0; s[i]; i++) {
		u8 b[2];
		int k = attach_escape_feed(a, (u8)s[i], b);
		if (k < 0) {
			out[n] = '\0';
			return i;
		}
		assert_true(k <= 2);
		for (int j = 0; j < k; j++)
			out[n++] = (char)b[j];
	}
	out[n] = '\0';
	return -1;
}

static void test_attach_escape(void **state)
{
	struct attach_escape a;
	char out[64];

	(void)state;
	attach_escape_init(&a);
	assert_int_equal(route(&a, "hello\r", out), -1);
	assert_string_equal(out, "hello\r");
	/* "~." at line start detaches. */
	assert_int_equal(route(&a, "~.", out), 1);
	assert_string_equal(out, "");
	/* ... and at the very start. */
	attach_escape_init(&a);
	assert_int_equal(route(&a, "~.", out), 1);
	/* Not in the middle of a line. */
	attach_escape_init(&a);
	assert_int_equal(route(&a, "a~.b\n", out), -1);
	assert_string_equal(out, "a~.b\n");
	/* "~~" sends one "~"; "~x" sends both; after LF a line starts. */
	assert_int_equal(route(&a, "~~x\n~y\n", out), -1);
	assert_string_equal(out, "~x\n~y\n");
	/* After "~~" the line has started: "~." later is data. */
	assert_int_equal(route(&a, "~~~.\n", out), -1);
	assert_string_equal(out, "~~.\n");
	/* Ctrl-] anywhere. */
	assert_int_equal(route(&a, "abc\x1d" "def", out), 3);
	assert_string_equal(out, "abc");
	attach_escape_init(&a);
	assert_int_equal(route(&a, "~\x1d", out), 1);
	assert_string_equal(out, "");
}

/* ---- fuzz: the editor's buffer always equals the model's line, and the
 * echo, played on a model terminal, shows exactly that line ---- */

static u64 rng = 0x9e3779b97f4a7c15ULL;

static u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_fuzz(void **state)
{
	static const u8 keys[] = { 'a', 'b', ' ', '~', '.', 0x08, 0x7f, 0x15, 0x17, 0x03, 0x1b, '[',
				   'A', 'O', '3', '\r', '\n', '\t', 0x01, 0x1d, 0xff };
	struct line_editor e;

	(void)state;
	reset(&e);
	for (int iter = 0; iter < 200000; iter++) {
		u8 k = keys[rnd() % sizeof(keys)];
		size_t before = screen_len;
		enum line_event ev = line_editor_feed(&e, k, echo);
		assert_int_equal(strlen(e.buf), e.len);
		assert_true(e.len <= LINE_EDITOR_MAX);
		for (u32 i = 0; i < e.len; i++)
			assert_true(e.buf[i] >= 0x20 && e.buf[i] <= 0x7e);
		if (ev != LINE_NONE) {
			assert_int_equal(screen[screen_len - 1], '\n');
			line_editor_clear(&e);
			screen_len = 0;
		}
		/* Play the echo on a one-line terminal: it must show buf. */
		if (ev == LINE_NONE && screen_len != before) {
			char term[LINE_EDITOR_MAX + 8];
			size_t col = 0, len = 0;
			for (size_t i = 0; i < screen_len; i++) {
				char c = screen[i];
				if (c == '\b') {
					assert_true(col > 0);
					col--;
				} else {
					term[col++] = c;
					if (col > len)
						len = col;
				}
			}
			while (len > col && term[len - 1] == ' ')
				len--;
			term[len] = '\0';
			assert_int_equal(col, e.len);
			assert_string_equal(term, e.buf);
		}
		if (screen_len > 2048) {
			reset(&e);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_typing),
		cmocka_unit_test(test_erase),
		cmocka_unit_test(test_escape_sequences),
		cmocka_unit_test(test_full_line),
		cmocka_unit_test(test_attach_escape),
		cmocka_unit_test(test_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
