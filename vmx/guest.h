/*
 * An L1 guest: one vCPU, its memory (EPT01), its vmcs01 and its virtual
 * devices. turtle runs up to MAX_GUESTS of them round-robin on one CPU.
 */
#ifndef TURTLE_GUEST_H
#define TURTLE_GUEST_H

#include "kernel/multiboot2.h"
#include "kernel/types.h"
#include "vmx/vmx_arch.h"

#define MAX_GUESTS          8
#define GUEST_NAME_MAX      16
#define GUEST_MEM_DEFAULT   (16ULL << 20)
#define GUEST_MEM_MIN       LARGE_PAGE_SIZE
#define GUEST_MEM_MAX       (1ULL << 30)
#define GUEST_MAX_MODULES   4
#define UART_LINE_MAX       160

/* Guest general registers, saved and loaded by vmx/vmentry.asm. The order
 * is the SDM's register numbering (Table 28-3: 0 = RAX, 1 = RCX, 2 = RDX,
 * 3 = RBX, 4 = RSP, 5 = RBP, 6 = RSI, 7 = RDI, 8-15 = R8-R15), so exit
 * qualifications index it directly. RSP lives in the VMCS; its slot is
 * synced by the exit handlers that need it. */
struct guest_regs {
    u64 gpr[16];
    u64 cr2;
};
#define REG_RAX     0
#define REG_RCX     1
#define REG_RDX     2
#define REG_RBX     3
#define REG_RSP     4
#define REG_RBP     5
#define REG_RSI     6
#define REG_RDI     7

struct vuart {
    u8 ier, lcr, mcr, scr, dll, dlm;
    u32 len;
    char line[UART_LINE_MAX];
};

struct guest_module {
    u64 start, end;             /* host-physical, in turtle's boot modules */
    const char *cmdline;
};

/* Switched by turtle on every guest change: VMX does not load these. */
struct guest_msrs {
    u64 kernel_gs_base, star, lstar, cstar, sfmask, tsc_aux;
    u64 dr[4], dr6;             /* debug registers (DR7 is in the VMCS) */
};

struct nested_vmx;              /* nested/nested.h: VT-x as this guest sees it */

struct guest {
    char name[GUEST_NAME_MAX];
    u32 index;
    u16 vpid;
    bool nested;                /* VT-x shown to this guest (docs/nested.md) */
    u64 mem_size;               /* bytes, a multiple of 4 KiB */
    u64 *chunks;                /* per 2 MiB of RAM: a 2 MiB frame, or a list of 4 KiB frames */
    u64 n_chunks;
    u64 ept_root;               /* EPT01 PML4, host-physical */
    u64 eptp;
    u64 vmcs;                   /* the VMCS this vCPU runs on: vmcs01, or vmcs02 while in L2 */
    bool launched;              /* ... and whether that VMCS is launched */
    struct nested_vmx *nvmx;    /* NULL unless the guest is `nested` */

    struct guest_regs regs;
    u8 fxsave[512] __aligned(16);
    struct guest_msrs msrs;
    u64 cr8;                    /* emulated TPR (CR8 exiting) */

    struct vuart uart;
    const char *cmdline;        /* the guest's own command line */
    u32 n_modules;
    struct guest_module modules[GUEST_MAX_MODULES];

    bool stopped;
    bool yield;
    u64 exit_status;
    bool failed;                /* stopped by turtle, or nonzero exit status */
    char stop_reason[128];

    u64 exits[EXIT_REASON_MAX + 1];
    u64 total_exits;
};

extern struct guest guests[MAX_GUESTS];
extern u32 n_guests;

/* Guest memory (vmx/guest_mem.c). Addresses are guest-physical; every copy
 * is bounds-checked against mem_size and returns false if it does not fit. */
bool guest_mem_alloc(struct guest *g, u64 size);
/* Maps all of the guest's RAM into an EPT (RWX, write-back). */
bool guest_mem_map(struct guest *g, u64 ept_root);
/* Test knob (command line `small_frames`): back guests with 4 KiB frames only. */
extern bool turtle_small_frames;
void guest_mem_free(struct guest *g);
bool guest_copy_to(struct guest *g, u64 gpa, const void *src, u64 len);
bool guest_copy_from(struct guest *g, void *dst, u64 gpa, u64 len);
bool guest_zero(struct guest *g, u64 gpa, u64 len);
/* Host-physical address of gpa, or 0 if outside RAM. */
u64 guest_gpa_to_hpa(const struct guest *g, u64 gpa);

/* Ends the guest: records why, counts it failed; the scheduler skips it. */
void guest_stop(struct guest *g, bool failed, const char *fmt, ...) __printf(3, 4);

#endif

/* vmx/vmentry.asm */
int vmx_enter(struct guest_regs *regs, int launched);
void vmx_exit_entry(void);
_Static_assert(__builtin_offsetof(struct guest_regs, cr2) == 16 * 8, "vmentry.asm REGS_CR2");
_Static_assert(__builtin_offsetof(struct guest_regs, gpr[REG_RDI]) == 7 * 8, "vmentry.asm GPR(RDI)");
