/*
 * turtle-snap check: every check turtle's restore makes on a snapshot, and
 * KVM's on the vCPU state and the nested state, one line each with its
 * result. Exit status 1 at the first failure (later checks need the
 * earlier ones to hold: a file that is not sound is not read further).
 */
#include <string.h>

#include "snapshot/nested_check.h"
#include "snapshot/vcpu_check.h"
#include "tools/turtle-snap/snap.h"

static int report(FILE *out, const char *what, const char *err)
{
    fprintf(out, "%-4s %s%s%s\n", err ? "FAIL" : "ok", what, err ? ": " : "", err ? err : "");
    return err ? 1 : 0;
}

int cmd_check(const char *path, FILE *out)
{
    static struct snap_file f;
    int rc;

    if (snap_read_file(path, &f))
        return 1;
    rc = report(out, "integrity (magic, version, header, total_size, CRC-32C, section table, placement,"
                     " types and versions, sizes, required sections)", tsnap_parse(f.data, f.len, &f.view));
    for (u32 i = 0; !rc && i < f.view.machine->n_vcpus; i++) {
        char what[160];
        snprintf(what, sizeof(what), "vCPU %u state (KVM_SET_SREGS/VCPU_EVENTS/DEBUGREGS/MP_STATE rules,"
                                     " nested regions in RAM, CR4.VMXE in VMX operation)", i);
        rc = report(out, what, tsnap_check_vcpu(&f.view, i));
        if (rc || !f.view.vcpu[i].nested)
            continue;
        const struct tsnap_kvm_nested_state_hdr *h = f.view.vcpu[i].nested;
        snprintf(what, sizeof(what), "vCPU %u KVM_SET_NESTED_STATE (G1-G4, V1-V22%s)", i,
                 h->flags & TSNAP_KVM_STATE_NESTED_GUEST_MODE ? ", vmcs12 controls 6.1, host state 6.2,"
                                                               " guest state 6.3" : "");
        rc = report(out, what, nested_check_vcpu(&f.view, i));
    }
    if (!rc)
        fprintf(out, "%s: every check passed\n", path);
    snap_free(&f);
    return rc;
}
