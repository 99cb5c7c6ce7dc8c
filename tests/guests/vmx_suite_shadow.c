/*
 * vmx_suite: VMCS shadowing (SDM 25.10, 26.10, VMREAD/VMWRITE in VMX
 * non-root operation). L1 links a shadow VMCS (revision with bit 31) from
 * the test VMCS, with VMREAD/VMWRITE bitmaps that let L2 reach a few
 * fields; L2 then reads and writes them without exits, and a field the
 * bitmap keeps exits to L1 with its VMREAD. Run on bare Bochs (its own
 * VMCS shadowing) and under turtle (which shows the control to L1 when
 * the CPU has it).
 */
#include "vmx_suite.h"

#define RFLAGS_CF           0x1ull
#define RFLAGS_ZF           0x40ull
#define SHADOW_BIT          0x80000000u
#define ES_SEL_VALUE        0x1234
#define FS_SEL_VALUE        0x4321
#define LDTR_BASE_VALUE     0x12345678abcull
#define NO_SUCH_FIELD       0x6c7eu     /* natural-width host field, index 63: no CPU has it */

static u8 *shadow_page, *read_bitmap, *write_bitmap;
static u64 l2_seen[8];

static bool has_shadowing(void)
{
    return vmx_has_proc2(SECONDARY_EXEC_SHADOW_VMCS);
}

static void allow(u8 *bitmap, u32 field)
{
    bitmap[(field & 0x7fff) / 8] &= (u8)~(1u << (field % 8));
}

static u64 flags_after(int status)
{
    return status == VMX_OK ? 0 : status == VMX_FAIL_INVALID ? RFLAGS_CF : RFLAGS_ZF;
}

/* The shadow VMCS with ES selector 0x1234, linked from the test VMCS
 * (current again afterwards), and the bitmaps: L2 may read ES, FS and a
 * field no CPU has, and write FS and the LDTR base. */
static void init_shadow(void)
{
    if (!shadow_page) {
        shadow_page = vmx_alloc_page();
        read_bitmap = vmx_alloc_page();
        write_bitmap = vmx_alloc_page();
    }
    vmx_init_vmcs_region(shadow_page);
    *(u32 *)shadow_page = vmx_caps.revision | SHADOW_BIT;
    vmclear(vmx_pa(shadow_page));
    vmptrld(vmx_pa(shadow_page));
    vmwrite(GUEST_ES_SELECTOR, ES_SEL_VALUE);
    vmwrite(GUEST_FS_SELECTOR, 0);
    vmptrld(vmx_test_vmcs());
    for (u32 i = 0; i < 4096; i++)
        read_bitmap[i] = write_bitmap[i] = 0xff;
    allow(read_bitmap, GUEST_ES_SELECTOR);
    allow(read_bitmap, GUEST_FS_SELECTOR);
    allow(read_bitmap, NO_SUCH_FIELD);
    allow(write_bitmap, GUEST_FS_SELECTOR);
    allow(write_bitmap, GUEST_LDTR_BASE);
    vmcs_set_proc2(SECONDARY_EXEC_SHADOW_VMCS);
    vmcs_write(VMCS_LINK_POINTER, vmx_pa(shadow_page));
    vmcs_write(VMREAD_BITMAP, vmx_pa(read_bitmap));
    vmcs_write(VMWRITE_BITMAP, vmx_pa(write_bitmap));
    for (u32 i = 0; i < 8; i++)
        l2_seen[i] = ~0ull;
}

static void l2_shadow(void)
{
    u64 v = 0;
    int st;

    st = vmread(GUEST_ES_SELECTOR, &v);
    l2_seen[0] = v;
    l2_seen[1] = flags_after(st);
    l2_seen[2] = flags_after(vmwrite(GUEST_FS_SELECTOR, FS_SEL_VALUE));
    l2_seen[3] = flags_after(vmwrite(GUEST_LDTR_BASE, LDTR_BASE_VALUE));
    v = 0;
    st = vmread(GUEST_FS_SELECTOR, &v);
    l2_seen[4] = v;
    l2_seen[5] = flags_after(vmread(NO_SUCH_FIELD, &v));
    vmread(GUEST_GS_SELECTOR, &v);                  /* its bit is 1: an exit to L1 */
}

static enum vmx_action shadow_exit(struct vmx_exit *e)
{
    const char *t = "VMCS shadowing";

    if (e->count == 0) {
        if (!exit_is(t, e, EXIT_REASON_VMREAD))
            return VMX_STOP;
        report(true, "VMCS shadowing: L2's VMREAD of a field whose bitmap bit is 1 exits to L1");
        vmx_skip_instruction(e);
        return VMX_RESUME;
    }
    if (!vmx_is_l2_done(e)) {
        vmx_report_unexpected(t, e);
        return VMX_STOP;
    }
    report(l2_seen[0] == ES_SEL_VALUE && l2_seen[1] == 0,
           "VMCS shadowing: L2's VMREAD reads the shadow VMCS without an exit (%#lx, flags %#lx)",
           (unsigned long)l2_seen[0], (unsigned long)l2_seen[1]);
    report(l2_seen[2] == 0 && l2_seen[3] == 0 && l2_seen[4] == FS_SEL_VALUE,
           "VMCS shadowing: L2's VMWRITE succeeds and L2 reads the value back (%#lx)",
           (unsigned long)l2_seen[4]);
    report(l2_seen[5] == RFLAGS_ZF, "VMCS shadowing: L2's VMREAD of a field no CPU has: VMfailValid (flags %#lx)",
           (unsigned long)l2_seen[5]);
    report(vmcs_read(VM_INSTRUCTION_ERROR) == 12,
           "VMCS shadowing: that VMfailValid's error 12 is in the current (ordinary) VMCS (%lu)",
           (unsigned long)vmcs_read(VM_INSTRUCTION_ERROR));
    /* L1 sees L2's writes in the shadow VMCS. */
    u64 fs = 0, base = 0;
    vmptrld(vmx_pa(shadow_page));
    vmread(GUEST_FS_SELECTOR, &fs);
    vmread(GUEST_LDTR_BASE, &base);
    vmptrld(vmx_test_vmcs());
    report(fs == FS_SEL_VALUE && base == LDTR_BASE_VALUE,
           "VMCS shadowing: L1 reads L2's VMWRITEs in the shadow VMCS (%#lx, %#lx)",
           (unsigned long)fs, (unsigned long)base);
    return VMX_STOP;
}

/* VMLAUNCH with a shadow VMCS current: VMfailInvalid (SDM 25.10, 27.1).
 * Bochs 2.7 checks the controls first (VMfailValid 7 for this one): a
 * Bochs deviation, so the VMLAUNCH is tested under turtle only. */
static void l1_launch_shadow(void)
{
    u8 *page = vmx_alloc_page();
    struct vmx_exit e;

    if (!page) {
        report(false, "VMLAUNCH of a shadow VMCS: a page for it");
        return;
    }
    vmx_init_vmcs_region(page);
    *(u32 *)page = vmx_caps.revision | SHADOW_BIT;
    vmclear(vmx_pa(page));
    int st = vmptrld(vmx_pa(page));
    expect_ok(st, "VMPTRLD of a shadow VMCS (revision bit 31) succeeds when VMCS shadowing is allowed");
    if (on_turtle())
        expect_fail_invalid(vmx_run_l2_mode(&e, VMX_ENTER_LAUNCH), "turtle VMLAUNCH of a shadow VMCS: VMfailInvalid");
    vmclear(vmx_pa(page));
}

/* A link pointer whose shadow indicator does not match the control: a
 * VM-entry failure with qualification 4 (SDM 27.3.1.5). */
static void init_link_not_shadow(void)
{
    init_shadow();
    *(u32 *)shadow_page = vmx_caps.revision;        /* bit 31 clear */
}

static enum vmx_action link_exit(struct vmx_exit *e)
{
    report(e->status == VMX_OK && e->reason == (EXIT_REASON_INVALID_STATE | VMX_EXIT_REASONS_FAILED_VMENTRY) &&
           e->qual == 4,
           "VMCS shadowing with an ordinary VMCS at the link pointer: entry failure, qualification 4 "
           "(reason %#x, qualification %lu)", e->reason, (unsigned long)e->qual);
    return VMX_STOP;
}

static void l2_nothing(void)
{
}

const struct vmx_test shadow_tests[] = {
    { "VMCS shadowing", has_shadowing, NULL, init_shadow, l2_shadow, shadow_exit },
    { "VMLAUNCH of a shadow VMCS", has_shadowing, l1_launch_shadow, NULL, NULL, NULL },
    { "VMCS shadowing link pointer", has_shadowing, NULL, init_link_not_shadow, l2_nothing, link_exit },
};
const size_t n_shadow_tests = ARRAY_SIZE(shadow_tests);
