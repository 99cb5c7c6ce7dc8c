/*
 * What vmx/ offers inside itself and to nested/: bring-up, vmcs01, the
 * exit path helpers and the scheduler.
 */
#ifndef TURTLE_VMX_H
#define TURTLE_VMX_H

#include "kernel/cmdline.h"
#include "kernel/x86.h"
#include "vmx/guest.h"
#include "vmx/vmcs.h"

/* Where and how a guest starts (vmx/loader.c fills it in). */
struct guest_boot_state {
    bool long_mode;             /* 64-bit entry with paging, else 32-bit, paging off */
    u64 rip;
    u64 rax, rbx, rsi, rdi;
    u64 cr3;                    /* long mode: guest-physical PML4 */
    u64 gdt_base;               /* long mode: a GDT turtle built in guest memory */
    u16 gdt_limit;
};

extern struct turtle_options turtle_opts;

/* vmx/bringup.c: CR0/CR4 fixed bits, VMXON. NULL or a reason. */
const char *vmx_on(void);

/* vmx/vmcs01.c */
/* turtle's policy for every guest VMCS: controls, bitmaps (host-physical). */
extern u32 pin_ctls, proc_ctls, proc2_ctls, exit_ctls, entry_ctls;
extern u64 msr_bitmap, io_bitmap_a, io_bitmap_b;
/* The MSRs guests access without exits (everything else exits). */
extern const u32 vmx_passthrough_msrs[];
extern const u32 vmx_passthrough_msr_count;
/* Writes turtle's host state into the current VMCS (vmcs01 and vmcs02). */
void vmcs_write_host_state(void);
bool vmcs01_setup(struct guest *g, const struct guest_boot_state *s);
/* The guest-visible CR0/CR4 (read shadows merged with the real values). */
u64 guest_read_cr0(void);
u64 guest_read_cr4(void);
u64 guest_real_cr0(u64 guest_value);
/* Bits of CR0/CR4 turtle owns (guest/host masks). */
extern u64 vmx_cr0_owned, vmx_cr4_owned;
/* Updates EFER.LMA and the IA-32e-mode entry control after CR0.PG / EFER.LME
 * change (SDM 10.8.5), and the PDPTRs when PAE paging is on outside IA-32e. */
void guest_update_paging_mode(struct guest *g);

/* vmx/exit.c */
void vmx_handle_exit(struct guest *g);
void skip_instruction(void);
/* Re-delivers the event an exit interrupted (IDT-vectoring info valid). */
void requeue_vectoring_event(void);
void inject_exception(u32 vector, bool has_error_code, u32 error_code);
static inline void inject_gp0(void) { inject_exception(13, true, 0); }
static inline void inject_ud(void) { inject_exception(6, false, 0); }
u32 guest_cpl(void);
/* Guest general registers by SDM number (RSP lives in the VMCS). */
u64 guest_reg_read(struct guest *g, u32 reg);
void guest_reg_write(struct guest *g, u32 reg, u64 v);
bool guest_in_long_mode(void);

/* vmx/uart.c: guest console output */
void vuart_putc(struct guest *g, char c);
void vuart_flush(struct guest *g);
bool vuart_io(struct guest *g, u16 port, bool in, u32 size, u32 *val);

/* Hooks nested/ installs (vmx/ knows nothing of vmcs12): the exits of a
 * guest whose L2 is running, and the preemption-timer budget while in L2. */
extern bool (*nested_in_l2_hook)(struct guest *g);
extern void (*nested_l2_exit_hook)(struct guest *g);
extern u64 (*nested_timer_clamp_hook)(struct guest *g, u64 ticks);
extern bool (*nested_vmx_msr_read_hook)(struct guest *g, u32 msr, u64 *v);
extern bool (*nested_in_vmx_operation_hook)(struct guest *g);
extern u64 (*nested_cr_real_hook)(struct guest *g, u32 cr, u64 v);
/* The guest-physical address turtle should read for gpa in the current
 * context (an L2's goes through its L1's EPT12). False: not mapped. */
extern bool (*nested_gpa_hook)(struct guest *g, u64 gpa, u64 *l1_gpa);

/* vmx/sched.c */
void sched_run(void);
extern u64 sched_ticks;

#endif
