/*
 * vmx_fuzz (turtle only): a hostile L1 hypervisor. Each iteration builds a
 * valid VMCS for a sandboxed L2, damages 1-8 random control or guest-state
 * fields, and executes VMLAUNCH. Whatever the damage, turtle must answer
 * the way a CPU would: VMfailValid 7 (controls) or 8 (host state), a
 * VM-entry failure exit (guest state, MSR loading), or L2 runs and exits.
 * It must never panic, never stop L1, never let VMLAUNCH fault.
 *
 * Containment. The test is only meaningful if no architecturally correct
 * outcome can hurt L1, so the VMCS keeps L2 and the CPU away from L1's
 * memory whatever the mutations:
 *   - L2 runs on EPT whose only mapping is a 2 MiB sandbox of L1 memory
 *     (L2-GPA 0..2 MiB), holding L2's page tables, GDT, TSS, IDT, stack and
 *     code (`vmcall; hlt; jmp $`, every IDT vector a copy of it). The EPT
 *     pointer is never mutated (but for its accessed/dirty-flags bit,
 *     random where shown, PML with it), and "activate secondary controls" and
 *     "enable EPT" are forced back on after the mutations.
 *   - The VMX-preemption timer is always on (forced back after the
 *     mutations; its value is only ever set below TIMER_MAX), so an L2
 *     that spins or halts comes back. The wait-for-SIPI activity state,
 *     which the timer does not leave (SDM 26.5.1), is replaced by HLT when
 *     the CPU offers it.
 *   - Host state is the library's and never mutated.
 *   - Addresses the CPU writes through (VM-exit MSR-store list, virtual-APIC
 *     page, PML log, posted-interrupt descriptor) and the EPTP list (a way
 *     out of the sandbox through VMFUNC) only ever point into scratch pages
 *     of this image, or carry an address bit above any physical-address
 *     width (so VM entry must refuse them when they matter). The EPTP list
 *     holds only the sandbox's EPTP and EPTPs nothing accepts; where the
 *     CPU shows EPTP switching, one iteration in 4 turns it on and starts
 *     L2 at a VMFUNC of random leaf and index (vmx_fuzz_vmfunc.c), and
 *     every exit must leave the sandbox's EPTP in the VMCS.
 *   - The VM-exit MSR-store list holds only MSRs every CPU can store, and
 *     its count never reaches past the scratch list: a store that fails is
 *     a VMX abort (SDM 28.4), L1 would lose control.
 *   - The VM-exit MSR-load count stays 0: a failed host-MSR load is a VMX
 *     abort too (SDM 28.6). Its address may take any value (unused).
 * Addresses the CPU only reads (I/O and MSR bitmaps, VM-entry MSR-load
 * list, VMREAD/VMWRITE bitmaps, APIC-access page, VMCS link pointer) take
 * any value: turtle must read L1 memory (or refuse) safely.
 *
 * Fields: every writable control and guest-state field of turtle's vmcs12
 * (nested/vmcs12-layout.tsv, encoding type 0 or 2; not the read-only
 * exit-information fields, type 1, nor host state, type 3), minus
 * EPT_POINTER and VM_EXIT_MSR_LOAD_COUNT (above). A 64-bit field is
 * sometimes written through its _HIGH encoding instead.
 * Values: fully random 64-bit, random within the width, small integers,
 * one or two bit flips of the valid value, 0, all ones; for L2 addresses
 * (RIP, RSP, CR3, descriptor-table bases) also addresses in or just past
 * the sandbox, for event injection also well-formed events, so that some
 * entries get as far as L2.
 *
 * Options (after `--` on turtle's module line):
 *   seed=N    PRNG seed (default 1). Iteration K's xorshift64 state is
 *             derived from (seed, K), so `first=K iters=1` replays it.
 *   iters=N   iterations (default 400)
 *   first=K   the first iteration's number (default 0)
 *   verbose   print each iteration's mutations before its VMLAUNCH and its
 *             outcome after (an L1 that never comes back: the last lines
 *             name the culprit)
 *   timer=N   the unmutated VMX-preemption timer value (TIMER_DEFAULT)
 * On bare hardware it does not run (Bochs's own VT-x panics on some of
 * these VMCSs): it prints a line and exits 0.
 *
 * Parts: this file runs the iterations and judges their outcomes;
 * vmx_fuzz_sandbox.c builds the sandbox, its EPT and the scratch memory;
 * vmx_fuzz_mutate.c holds the fields, their values and the containment.
 */
#include "vmx_fuzz.h"

#define DEFAULT_SEED        1
#define DEFAULT_ITERS       400
#define PROGRESS_EVERY      100
#define MAX_MUTATIONS       8
#define PIC1_DATA           0x21
#define PIC2_DATA           0xa1
#define EXIT_REASON_SLOTS   80          /* basic exit reasons counted one by one */
/* The announcement tests/refusals.py knows (cs_dpl_rpl_departure()). */
#define CS_DPL_RPL_DEPARTURE "CS DPL unlike CS RPL with unrestricted guest (rules 43, 44: CPUs that compare them refuse it)"

/* splitmix64 of (seed, iteration): never 0, which xorshift64 cannot leave. */
static u64 iteration_state(u64 seed, u64 iter)
{
    u64 z = seed * 0x9e3779b97f4a7c15ull + iter + 1;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z ? z : 1;
}

/* ---- outcomes ---- */
enum outcome {
    O_FAIL_7, O_FAIL_8, O_FAIL_OTHER, O_FAIL_INVALID,
    O_ENTRY_FAIL_33, O_ENTRY_FAIL_34, O_ENTRY_FAIL_OTHER,
    O_EXIT, O_FAULT, N_OUTCOMES,
};

static const char *const outcome_names[N_OUTCOMES] = {
    "VMfailValid 7", "VMfailValid 8", "VMfailValid other", "VMfailInvalid",
    "entry failure 33", "entry failure 34", "entry failure other",
    "VM exit", "L1 fault",
};

struct iteration {
    u64 number;
    unsigned n;
    struct mutation m[MAX_MUTATIONS];
    enum outcome outcome;
    struct vmx_exit e;
    int vector;                 /* of a fault in L1, else -1 */
    u64 fault_error;
};

static struct {
    u32 outcomes[N_OUTCOMES];
    u32 exit_reasons[EXIT_REASON_SLOTS + 1];    /* the last slot: anything above */
    u32 vmcall_in_isr;                          /* L2 got an event (injected or its own) */
    u32 vmwrite_refused;
    u32 anomalies;                              /* outcomes the SDM rules out */
} stats;

static bool verbose;
u64 timer_default = TIMER_DEFAULT;


/* ---- one iteration ---- */

static void launch(void *arg)
{
    vmx_run_l2_mode(arg, VMX_ENTER_LAUNCH);
}

static void print_mutations(const struct iteration *it)
{
    for (unsigned i = 0; i < it->n; i++) {
        const struct mutation *m = &it->m[i];
        printf("  %s%s (%#x) = %#lx%s\n", m->f->name, m->enc != m->f->enc ? "_HIGH" : "", m->enc,
               (unsigned long)m->val, m->status == VMX_OK ? "" : " (VMWRITE refused)");
    }
}

static void print_outcome(const struct iteration *it)
{
    const struct vmx_exit *e = &it->e;

    printf("vmx_fuzz: iteration %lu: %s", (unsigned long)it->number, outcome_names[it->outcome]);
    if (it->outcome == O_FAULT)
        printf(": vector %d error %#lx", it->vector, (unsigned long)it->fault_error);
    else if (e->status == VMX_FAIL_VALID)
        printf(": error %u", e->error);
    else if (e->status == VMX_OK)
        printf(": reason %#x qualification %#lx rip %#lx", e->reason, (unsigned long)e->qual,
               (unsigned long)e->guest_rip);
    printf("\n");
}

/* An outcome the SDM rules out; printed with what produced it. */
static void anomaly(const struct iteration *it, const char *why)
{
    stats.anomalies++;
    printf("vmx_fuzz: iteration %lu: %s\n", (unsigned long)it->number, why);
    print_outcome(it);
    print_mutations(it);
}

/* Did this iteration damage only guest-state fields? Does it touch field f? */
static bool only_guest_state(const struct iteration *it)
{
    for (unsigned i = 0; i < it->n; i++)
        if (VMCS_FIELD_TYPE(it->m[i].enc) != VMCS_FIELD_TYPE_GUEST)
            return false;
    return true;
}

static bool mutated(const struct iteration *it, u32 f)
{
    for (unsigned i = 0; i < it->n; i++)
        if (it->m[i].f->enc == f)
            return true;
    return false;
}

static void classify(struct iteration *it)
{
    const struct vmx_exit *e = &it->e;

    if (it->vector >= 0) {
        it->outcome = O_FAULT;
    } else if (e->status == VMX_FAIL_INVALID) {
        it->outcome = O_FAIL_INVALID;
    } else if (e->status == VMX_FAIL_VALID) {
        it->outcome = e->error == VMXERR_ENTRY_INVALID_CONTROL_FIELD ? O_FAIL_7 :
                      e->error == VMXERR_ENTRY_INVALID_HOST_STATE_FIELD ? O_FAIL_8 : O_FAIL_OTHER;
    } else if (e->reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
        u32 basic = e->reason & 0xffff;
        it->outcome = basic == EXIT_REASON_INVALID_STATE ? O_ENTRY_FAIL_33 :
                      basic == EXIT_REASON_MSR_LOAD_FAIL ? O_ENTRY_FAIL_34 : O_ENTRY_FAIL_OTHER;
    } else {
        it->outcome = O_EXIT;
        stats.exit_reasons[e->reason < EXIT_REASON_SLOTS ? e->reason : EXIT_REASON_SLOTS]++;
        if (e->reason == EXIT_REASON_VMCALL && e->guest_rip == SB_ISR)
            stats.vmcall_in_isr++;
    }
    stats.outcomes[it->outcome]++;
}

/* What the SDM says about each kind of outcome (SDM 27.1-27.8, 31.3). */
static void check(const struct iteration *it)
{
    const struct vmx_exit *e = &it->e;

    switch (it->outcome) {
    case O_FAULT:
        anomaly(it, "VMLAUNCH in VMX root operation at CPL 0 faulted");
        break;
    case O_FAIL_INVALID:
        anomaly(it, "VMfailInvalid with a current VMCS");
        break;
    case O_FAIL_7:
    case O_FAIL_8:
        /* The controls and the host state are valid unmutated, and no check
         * on them reads a guest-state field while the entry injects nothing
         * (SDM 27.2.1.3: only event injection looks at guest CR0.PE). */
        if (only_guest_state(it))
            anomaly(it, "VMfailValid although only guest-state fields were damaged");
        /* Host-state checks depend on host fields (never mutated) and the
         * VM-exit and VM-entry controls (SDM 27.2.2-27.2.4). */
        else if (it->outcome == O_FAIL_8 && !mutated(it, VM_EXIT_CONTROLS) && !mutated(it, VM_ENTRY_CONTROLS))
            anomaly(it, "VMfailValid 8 with neither the VM-exit nor the VM-entry controls damaged");
        break;
    case O_FAIL_OTHER:
        anomaly(it, "VMLAUNCH of a clear VMCS failed with an error other than 7 or 8");
        break;
    case O_ENTRY_FAIL_OTHER:
        if ((e->reason & 0xffff) != EXIT_REASON_MCE_DURING_VMENTRY)
            anomaly(it, "VM-entry failure with a basic reason other than 33, 34 or 41");
        break;
    case O_ENTRY_FAIL_33:
        /* Qualification 0 (default), 2 (PDPTE), 3 (NMI injection), 4 (link pointer). */
        if (e->qual != 0 && (e->qual < 2 || e->qual > 4))
            anomaly(it, "guest-state entry failure with a reserved exit qualification");
        break;
    case O_ENTRY_FAIL_34: {
        /* The qualification is the failing entry's 1-based index. */
        u64 count = 0;
        vmread(VM_ENTRY_MSR_LOAD_COUNT, &count);
        if (e->qual == 0 || e->qual > count)
            anomaly(it, "MSR-load entry failure naming an entry outside the list");
        break;
    }
    case O_EXIT: {
        u32 basic = e->reason & 0xffff;
        if (basic == EXIT_REASON_INVALID_STATE || basic == EXIT_REASON_MSR_LOAD_FAIL ||
            basic == EXIT_REASON_MCE_DURING_VMENTRY)
            anomaly(it, "an entry-failure reason without bit 31");
        /* Only the sandbox's EPTP is in the EPTP list: a VMFUNC can switch
         * to nothing else. */
        u64 ept = 0;
        vmread(EPT_POINTER, &ept);
        if ((ept & ~(u64)VMX_EPTP_AD_ENABLE_BIT) != eptp)
            anomaly(it, "an EPT pointer after the exit that L1 never gave (VMFUNC?)");
        break;
    }
    default:
        break;
    }
}

static void run_iteration(u64 seed, struct iteration *it)
{
    u64 s = iteration_state(seed, it->number);

    sandbox_reset();
    scratch_reset();
    vmcs_sandbox();
    it->n = 1 + (unsigned)rnd_below(&s, MAX_MUTATIONS);
    /* The sandbox's EPT with accessed/dirty flags on or off (its one
     * harmless variation): L2's accesses then write flags into EPT12, and
     * with PML (its log in a scratch page) their addresses into the log. */
    if ((vmx_caps.ept_vpid & VMX_EPT_AD_BIT) && rnd_below(&s, 2)) {
        vmcs_write(EPT_POINTER, eptp | VMX_EPTP_AD_ENABLE_BIT);
        if (vmx_has_proc2(SECONDARY_EXEC_ENABLE_PML) && rnd_below(&s, 2)) {
            vmcs_set_bits(SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_PML);
            vmcs_write(GUEST_PML_INDEX, rnd_below(&s, 4) ? rnd_below(&s, 512) : rnd_below(&s, 0x10000));
        }
    }
    /* Virtual NMIs (and the NMI window) as a whole, so that the mutations
     * meet them more often than two bit flips would. */
    if (vmx_has_pin(PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS) && rnd_below(&s, 2)) {
        vmcs_set_bits(PIN_BASED_VM_EXEC_CONTROL, PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS);
        if (vmx_has_proc(CPU_BASED_NMI_WINDOW_EXITING) && rnd_below(&s, 2))
            vmcs_set_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_BASED_NMI_WINDOW_EXITING);
    }
    vmfunc_variation(iteration_state(seed ^ VMFUNC_STREAM, it->number));
    for (unsigned i = 0; i < it->n; i++) {
        mutate(&s, &it->m[i]);
        if (it->m[i].status != VMX_OK)
            stats.vmwrite_refused++;
    }
    contain();
    bool departure = cs_dpl_rpl_departure();
    if (verbose) {
        printf("vmx_fuzz: iteration %lu: %u mutations\n", (unsigned long)it->number, it->n);
        print_mutations(it);
    }
    if (departure)
        printf("vmx_fuzz: iteration %lu: " CS_DPL_RPL_DEPARTURE "\n", (unsigned long)it->number);
    memset(&it->e, 0, sizeof(it->e));
    it->fault_error = 0;
    it->vector = catch_fault(launch, &it->e, &it->fault_error);
    classify(it);
    check(it);
    if (verbose || departure)
        print_outcome(it);
    vmx_vmcs_teardown();
}

/* ---- before the fuzzing: the unmutated sandbox works ---- */

static struct vmx_exit launch_unmutated(u64 rip)
{
    struct vmx_exit e = { 0 };

    sandbox_reset();
    scratch_reset();
    vmcs_sandbox();
    vmcs_write(GUEST_RIP, rip);
    vmx_run_l2_mode(&e, VMX_ENTER_LAUNCH);
    vmx_vmcs_teardown();
    return e;
}

static bool baseline(void)
{
    struct vmx_exit e = launch_unmutated(SB_CODE);
    bool ok = report(e.status == VMX_OK && e.reason == EXIT_REASON_VMCALL && e.guest_rip == SB_CODE,
                     "turtle fuzz: the unmutated sandbox VMCS runs L2 to its VMCALL");
    if (!ok)
        printf("  status %d error %u reason %#x qualification %#lx rip %#lx\n", e.status, e.error, e.reason,
               (unsigned long)e.qual, (unsigned long)e.guest_rip);
    e = launch_unmutated(SB_SPIN);
    if (!report(e.status == VMX_OK && e.reason == EXIT_REASON_PREEMPTION_TIMER && e.guest_rip == SB_SPIN,
                "turtle fuzz: the VMX-preemption timer stops a spinning L2"))
        printf("  status %d error %u reason %#x rip %#lx\n", e.status, e.error, e.reason,
               (unsigned long)e.guest_rip);
    return ok;
}

/* ---- the run ---- */

static void print_counts(void)
{
    const u32 *o = stats.outcomes;

    printf("vmx_fuzz: VMLAUNCH failed: VMfailValid 7 %u, VMfailValid 8 %u, other VMfailValid %u, "
           "VMfailInvalid %u, fault %u\n", o[O_FAIL_7], o[O_FAIL_8], o[O_FAIL_OTHER], o[O_FAIL_INVALID], o[O_FAULT]);
    printf("vmx_fuzz: entry failures: reason 33 %u, reason 34 %u, other %u\n", o[O_ENTRY_FAIL_33],
           o[O_ENTRY_FAIL_34], o[O_ENTRY_FAIL_OTHER]);
    printf("vmx_fuzz: VM exits %u (VMCALL in L2's IDT handler: %u), by reason:", o[O_EXIT], stats.vmcall_in_isr);
    for (int r = 0; r <= EXIT_REASON_SLOTS; r++)
        if (stats.exit_reasons[r])
            printf(" %s%d: %u", r == EXIT_REASON_SLOTS ? ">=" : "", r, stats.exit_reasons[r]);
    printf("\nvmx_fuzz: VMWRITEs refused: %u\n", stats.vmwrite_refused);
}

static void fuzz(u64 seed, u64 first, u64 iters)
{
    static struct iteration it;
    u64 done = 0;
    u32 *o = stats.outcomes;

    for (u64 i = 0; i < iters; i++) {
        it.number = first + i;
        run_iteration(seed, &it);
        done++;
        if (done % PROGRESS_EVERY == 0)
            printf("vmx_fuzz: %lu of %lu iterations\n", (unsigned long)done, (unsigned long)iters);
    }
    print_counts();
    report(done == iters, "turtle fuzz: %lu iterations completed", (unsigned long)iters);
    report(o[O_FAIL_OTHER] == 0 && o[O_FAIL_INVALID] == 0, "turtle fuzz: VMfail errors only 7 or 8");
    report(o[O_FAULT] == 0, "turtle fuzz: VMLAUNCH never faults in L1");
    report(stats.anomalies == 0, "turtle fuzz: every outcome is one the SDM allows");
    report(stats.vmwrite_refused == 0, "turtle fuzz: VMWRITE accepts every fuzzed field and value");
    /* Host state is never mutated, so VMfailValid 8 may well not happen. */
    report(o[O_FAIL_7] && (o[O_ENTRY_FAIL_33] + o[O_ENTRY_FAIL_34] + o[O_ENTRY_FAIL_OTHER]) && o[O_EXIT],
           "turtle fuzz: some entries succeeded and some failed each way");
    vmx_report_access_errors("turtle fuzz");
}

void guest_main(const struct boot_params *bp)
{
    u64 seed = DEFAULT_SEED, iters = DEFAULT_ITERS, first = 0;

    if (!on_turtle()) {
        printf("vmx_fuzz: no turtle signature: this guest runs only under turtle (nested); nothing tested\n");
        return;
    }
    cmdline_u64(bp->cmdline, "seed", &seed);
    cmdline_u64(bp->cmdline, "iters", &iters);
    cmdline_u64(bp->cmdline, "first", &first);
    cmdline_u64(bp->cmdline, "timer", &timer_default);
    verbose = cmdline_has_word(bp->cmdline, "verbose");
    printf("vmx_fuzz: seed %lu, iterations %lu from %lu, %zu fields\n", (unsigned long)seed,
           (unsigned long)iters, (unsigned long)first, n_fields);
    /* No interrupt may reach L2 through the PIC while it runs with IF = 1. */
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);

    if (!report(cpuid(1).ecx & BIT(5), "turtle fuzz: CPUID.1:ECX.VMX is set (module option nested)"))
        return;
    if (!vmx_enable() || !report(vmx_on() == VMX_OK, "turtle fuzz: VMXON"))
        return;
    if (!vmx_has_ept() || !vmx_has_pin(PIN_BASED_VMX_PREEMPTION_TIMER)) {
        printf("SKIP: turtle fuzz (needs EPT and the VMX-preemption timer)\n");
        vmxoff();
        return;
    }
    sandbox = find_sandbox(bp);
    if (!report(sandbox != NULL, "turtle fuzz: 2 MiB of RAM for L2's sandbox"))
        return;
    printf("vmx_fuzz: sandbox at %#lx\n", (unsigned long)vmx_pa(sandbox));
    build_ept();
    if (baseline())
        fuzz(seed, first, iters);
    report(vmxoff() == VMX_OK, "turtle fuzz: VMXOFF at the end");
}
