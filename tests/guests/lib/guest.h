/*
 * The test-guest library: console, reporting, exit, command-line options,
 * and (64-bit guests only) the boot parameters and fault catching.
 *
 * A 64-bit guest defines guest_main(); the library's entry code gets there
 * from either boot protocol (lib/entry.asm) with a GDT, TSS, IDT and stack
 * of its own and COM1 initialised. Returning from guest_main() is the
 * standard ending: guest_exit(report_summary() ? 1 : 0).
 */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stdarg.h>

#include "lib/x86.h"

/* ---- console (COM1, polled 16550) ---- */
void serial_init(void);
void serial_putc(char c);
void serial_drain(void);            /* waits until the transmitter is empty */

/*
 * printf subset: %c %s %d %i %u %x %X %p %%, length modifiers l, ll, z,
 * flags '-', '0' and '#', and a field width (a number or '*').
 */
int printf(const char *fmt, ...) __printf(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* ---- test reporting ---- */
/* Prints "PASS: <name>" or "FAIL: <name>" and counts it. Returns pass. */
bool report(bool pass, const char *fmt, ...) __printf(2, 3);
/* Prints "SUMMARY: <N> tests, <F> failures"; returns F. */
int report_summary(void);
/*
 * Ends the guest: status to the debug-exit port (turtle, QEMU), then
 * "Shutdown" to Bochs's power-off port, then halts for ever.
 */
__noreturn void guest_exit(int status);

/* ---- strings and command-line options ---- */
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strstr(const char *hay, const char *needle);
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/*
 * Options are space-separated words; "key=value" words give values.
 * cmdline_value() copies the value of the first word starting "key=" into
 * buf (NUL-terminated, truncated to size) and returns buf, or NULL if no
 * such word. cmdline_u64() accepts decimal or 0x-prefixed hex.
 */
bool cmdline_has_word(const char *cmdline, const char *word);
const char *cmdline_value(const char *cmdline, const char *key, char *buf, size_t size);
bool cmdline_u64(const char *cmdline, const char *key, u64 *val);

#ifdef __x86_64__
/* ---- boot parameters (64-bit guests) ---- */
#define MB2_BOOTLOADER_MAGIC    0x36d76289

enum guest_entry {
    GUEST_ENTRY_MB2 = 1,        /* multiboot2: 32-bit entry, paging off */
    GUEST_ENTRY_ELF64 = 2,      /* plain ELF64: 64-bit entry, paging on */
};

#define GUEST_MAX_MODULES   8
#define GUEST_MAX_REGIONS   32
#define GUEST_CMDLINE_MAX   512

struct guest_module {
    u64 start, end;             /* physical, end exclusive */
    const char *cmdline;        /* points into the boot information */
};

struct guest_region {
    u64 base, length;
    u32 type;                   /* 1 = available */
};

struct boot_params {
    u32 magic;                  /* EAX (multiboot2) or RSI (ELF64) at entry */
    enum guest_entry entry;
    u64 info;                   /* physical address of the multiboot2 information */
    u32 info_size;              /* its total_size; 0 if unusable */
    const char *info_error;     /* NULL, or why the information was not parsed */
    const char *cmdline;        /* copied: "" when absent */
    const char *loader_name;    /* copied: "" when absent */
    u64 mem_available;          /* sum of the available memory-map regions */
    u64 mem_top;                /* end of the highest available region */
    u32 n_regions;
    struct guest_region regions[GUEST_MAX_REGIONS];
    u32 n_modules;
    struct guest_module modules[GUEST_MAX_MODULES];
    /* The machine state the loader handed over, read before the library changed it. */
    u64 entry_cr0, entry_cr4, entry_efer, entry_rflags;
    /* Plain ELF64 entry only (0 after multiboot2): the loader's page tables and GDT. */
    u64 entry_cr3, entry_gdt_base;
};

/* Defined by each guest; called once, with interrupts off. */
void guest_main(const struct boot_params *bp);

/* Highest address the guest image occupies (linker symbol). */
extern char __guest_end[];
#define GUEST_IMAGE_START   0x100000

/* ---- fault catching ---- */
/*
 * Runs fn(arg). If it raises an exception, the exception handler abandons
 * fn (restoring this call's stack) and catch_fault returns the vector with
 * the error code (0 when the vector has none) in *error if error is not
 * NULL. Returns -1 if fn returned normally. Not reentrant.
 */
int catch_fault(void (*fn)(void *), void *arg, u64 *error);

/* The following return -1 when the access completed, else the vector. */
int rdmsr_safe(u32 msr, u64 *val);
int wrmsr_safe(u32 msr, u64 val);
int read_u64_safe(u64 addr, u64 *val);
int write_u64_safe(u64 addr, u64 val);
int ud2_safe(void);

/* ---- turtle's paravirtual interface (docs/guests.md) ---- */
#define VMCALL_CONSOLE_WRITE    0
#define VMCALL_YIELD            1
#define VMCALL_EXIT             2
#define VMCALL_READ_TIME        3
#define VMCALL_EXIT_COUNT       4
#define VMCALL_ERR_UNKNOWN      (-1)
#define VMCALL_ERR_BAD_ADDRESS  (-2)

/* CPUID.1:ECX[31] and the "TurtleTurtle" signature at leaf 0x40000000. */
#define CPUID_1_ECX_HYPERVISOR  BIT(31)
bool on_turtle(void);

struct vmcall_regs {
    long rax, rbx, rcx;
};
/* VMCALL with RAX/RBX/RCX in and out; returns RAX. #UD on bare hardware. */
long vmcall_regs(struct vmcall_regs *r);
long vmcall(long nr, long a1, long a2);

/* A busy loop of n iterations the compiler cannot remove. */
void busy_loop(u64 n);
#endif /* __x86_64__ */

#endif
