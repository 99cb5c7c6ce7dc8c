/*
 * Command lines: turtle's own (from the multiboot2 cmdline tag) and the
 * per-module ones share one tokenizer. Tokens are `key`, `key=value` or
 * `key="value with spaces"`, separated by blanks; `--` ends the options and
 * the rest of the line is passed on verbatim (a guest's own command line).
 *
 * turtle's options (docs/architecture.md has the same list):
 *   fault=ud|pf|gp|de|bp   raise that exception in turtle after boot (tests the dump)
 *   slice=N                scheduling slice in preemption-timer ticks
 *   small_frames           back guest RAM with 4 KiB frames only (tests EPT01's 4 KiB path)
 *   nested_verify          debug mode of nested VMX's hot path: at each VMRESUME the checks
 *                          it skipped run too and the vmcs02 it patched is compared with a
 *                          complete build; any difference stops that L1 with a message
 *   apicv=on|off           APIC virtualisation where the CPU has it (default on);
 *                          off forces the trap-and-emulate local APIC
 *   guests=NAME,NAME,...   the guests the boot configuration means to load: a
 *                          name with no module (a file GRUB could not load) is
 *                          reported and counted as a failed guest
 *   console=poweroff|stay  when every guest has ended: power off after the
 *                          verdict (the default), or stay at the management
 *                          console (docs/console.md)
 *   snapport=PORT          the 16550 whose port snapshots leave by (default 0x2f8, COM2)
 *   snapself=N             turtle as an L1 of turtle: ask the turtle below (VMCALL 5) for a
 *                          snapshot of this turtle at the Nth exit while its guests run
 */
#ifndef TURTLE_CMDLINE_H
#define TURTLE_CMDLINE_H

#include "kernel/types.h"

#define CMDLINE_MAX_VALUE   128

struct cmdline_token {
    const char *key;
    u32 key_len;
    const char *value;          /* NULL when the token has no '=' */
    u32 value_len;
};

/* Next token at *p; advances *p. Returns false at the end or at `--`; then
 * *rest (if not NULL) points past `--` and its blanks, or at the end. */
bool cmdline_next(const char **p, struct cmdline_token *t, const char **rest);
bool cmdline_key_is(const struct cmdline_token *t, const char *key);
/* Copies the value (NUL-terminated, truncated to size). */
void cmdline_value(const struct cmdline_token *t, char *buf, u32 size);
/* "16M", "2G", "4096", "64K", "0x1000" → bytes. False on junk or overflow. */
bool parse_size(const char *s, u32 len, u64 *out);
bool parse_u64(const char *s, u32 len, u64 *out);

enum turtle_fault {
    FAULT_NONE,
    FAULT_UD,
    FAULT_PF,
    FAULT_GP,
    FAULT_DE,
    FAULT_BP,
};

struct turtle_options {
    enum turtle_fault fault;
    u64 slice;                  /* 0 = default */
    bool small_frames;
    bool nested_verify;
    bool apicv_off;             /* apicv=off: emulate every local APIC access */
    char guests[CMDLINE_MAX_VALUE];     /* guests=a,b,c: names that must be loaded */
    bool console_stay;          /* console=stay: no power-off when every guest has ended */
    u16 snap_port;              /* snapport=PORT: the snapshot stream's 16550 (0: COM2) */
    u64 snap_self;              /* snapself=N: as a guest of turtle, ask it for a snapshot of
                                 * this turtle at its Nth exit while this turtle's guests run */
};

/* Parses turtle's command line. Every bad token is reported through err()
 * with a message naming it; the option keeps its default. Returns the
 * number of bad tokens. */
typedef void (*cmdline_error_fn)(const char *msg);
int turtle_options_parse(const char *s, struct turtle_options *o, cmdline_error_fn err);

#endif
