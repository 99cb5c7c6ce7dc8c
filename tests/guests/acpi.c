/*
 * acpi: the ACPI tables the standard way, as an OS finds them: the RSDP
 * in the BIOS area 0xe0000-0xfffff, then the XSDT (ACPI 2.0+, when the
 * RSDP has one) or the RSDT, every table they list with its checksum, the
 * MADT's entries (one enabled local APIC, an IOAPIC, ISA IRQ 0 overridden
 * to GSI 2), the FADT's PM1a control block and DSDT, and the DSDT's \_S5
 * package (the AML bytes: NameOp "_S5_" PackageOp PkgLength NumElements,
 * then SLP_TYPa as a ByteConst, Zero, One or a raw byte). Last, after the
 * summary, it powers off through S5: SLP_TYPa and SLP_EN to PM1a_CNT.
 * Bare Bochs powers off; turtle ends the guest with status 0 ("powered
 * off (ACPI S5)"). Still running after that is a failure (status 1).
 * No options.
 */
#include "lib/guest.h"

#define PM1_SLP_EN      (1u << 13)
#define PM1_SLP_TYP_SHIFT 10
#define AML_NAME_OP     0x08
#define AML_PACKAGE_OP  0x12
#define AML_ZERO_OP     0x00
#define AML_ONE_OP      0x01
#define AML_BYTE_PREFIX 0x0a

static const u8 *ptr(u64 pa) { return (const u8 *)(uintptr_t)pa; }
static u16 rd16(const u8 *p) { return (u16)(p[0] | p[1] << 8); }
static u32 rd32(const u8 *p) { return (u32)rd16(p) | (u32)rd16(p + 2) << 16; }
static u64 rd64(const u8 *p) { return (u64)rd32(p) | (u64)rd32(p + 4) << 32; }
static void outw(u16 port, u16 v) { __asm__ __volatile__("outw %0, %1" :: "a"(v), "Nd"(port)); }

static u8 sum(const u8 *p, u32 len)
{
    u8 s = 0;
    for (u32 i = 0; i < len; i++)
        s += p[i];
    return s;
}

/* A table header that lies in the first 4 GiB with a sane length. */
static bool table_ok(const u8 *t)
{
    u32 len = rd32(t + 4);
    return (uintptr_t)t != 0 && len >= 36 && len < (1u << 20) && sum(t, len) == 0;
}

static const u8 *find_rsdp(void)
{
    for (u64 p = 0xe0000; p < 0x100000; p += 16)
        if (!memcmp(ptr(p), "RSD PTR ", 8) && sum(ptr(p), 20) == 0)
            return ptr(p);
    return NULL;
}

static const u8 *madt, *fadt;

/* Walks the root table (entries of `width` bytes); checks every table. */
static void walk(const u8 *root, u32 width, const char *name)
{
    u32 len = rd32(root + 4), n = 0, bad = 0;

    for (u32 off = 36; off + width <= len; off += width) {
        const u8 *t = ptr(width == 8 ? rd64(root + off) : rd32(root + off));
        n++;
        if (!table_ok(t)) {
            printf("acpi: %s entry %u at %#lx: bad checksum or length\n", name, n - 1, (unsigned long)(uintptr_t)t);
            bad++;
            continue;
        }
        char sig[5] = { (char)t[0], (char)t[1], (char)t[2], (char)t[3], 0 };
        printf("acpi: %s at %#lx, %u bytes, revision %u\n", sig, (unsigned long)(uintptr_t)t, rd32(t + 4), t[8]);
        if (!memcmp(t, "APIC", 4))
            madt = t;
        if (!memcmp(t, "FACP", 4))
            fadt = t;
    }
    report(n >= 2 && bad == 0, "acpi: every table the root lists has a valid checksum (%u tables)", n);
}

static void check_madt(void)
{
    u32 len = rd32(madt + 4), lapics = 0, enabled = 0, ioapics = 0;
    bool override = false, entries_ok = true;
    u32 my_id = cpuid(1).ebx >> 24, ioapic_addr = 0, gsi2_flags = 0;

    report(rd32(madt + 36) == 0xfee00000, "acpi: MADT local APIC address 0xfee00000");
    for (u32 off = 44; off + 2 <= len;) {
        const u8 *e = madt + off;
        if (e[1] < 2 || off + e[1] > len) {
            entries_ok = false;
            break;
        }
        switch (e[0]) {
        case 0:
            lapics++;
            if (rd32(e + 4) & 1)
                enabled++;
            if (rd32(e + 4) & 1 && e[3] != my_id)
                entries_ok = false;
            break;
        case 1:
            ioapics++;
            ioapic_addr = rd32(e + 4);
            break;
        case 2:
            if (e[2] == 0 && e[3] == 0 && rd32(e + 4) == 2) {
                override = true;
                gsi2_flags = rd16(e + 8);
            }
            break;
        }
        off += e[1];
    }
    report(entries_ok, "acpi: MADT entries well formed, the enabled local APIC has our APIC ID");
    report(enabled == 1, "acpi: MADT lists one enabled local APIC (%u entries)", lapics);
    report(ioapics == 1 && ioapic_addr == 0xfec00000, "acpi: MADT lists the IOAPIC at 0xfec00000");
    if (override)
        report(true, "acpi: MADT overrides ISA IRQ 0 to GSI 2 (flags %#x)", gsi2_flags);
    else
        printf("INFO: no IRQ 0 -> GSI 2 override in the MADT\n");
}

/* SLP_TYPa of \_S5 in the DSDT's AML, or -1. */
static int s5_slp_typ(const u8 *dsdt)
{
    u32 len = rd32(dsdt + 4);

    for (u32 i = 36; i + 8 < len; i++) {
        const u8 *p = dsdt + i;
        if (memcmp(p, "_S5_", 4) || (p[-1] != AML_NAME_OP && !(p[-1] == '\\' && p[-2] == AML_NAME_OP)))
            continue;
        p += 4;
        if (*p++ != AML_PACKAGE_OP)
            return -1;
        p += 1 + (*p >> 6);                 /* PkgLength: bits 7:6 = following bytes */
        p++;                                /* NumElements */
        switch (*p) {
        case AML_BYTE_PREFIX: return p[1];
        case AML_ZERO_OP: return 0;
        case AML_ONE_OP: return 1;
        default: return *p < 8 ? *p : -1;   /* some tables put the raw value */
        }
    }
    return -1;
}

void guest_main(const struct boot_params *bp)
{
    (void)bp;
    const u8 *rsdp = find_rsdp(), *root;
    u32 width;

    if (!report(rsdp != NULL, "acpi: RSDP found in 0xe0000-0xfffff, checksum of its first 20 bytes"))
        guest_exit(report_summary() ? 1 : 0);
    report(rsdp[15] < 2 || (rd32(rsdp + 20) >= 36 && sum(rsdp, rd32(rsdp + 20)) == 0),
           "acpi: RSDP extended checksum where the revision has one (revision %u)", rsdp[15]);
    printf("acpi: RSDP revision %u, RSDT %#x, XSDT %#llx\n", rsdp[15], rd32(rsdp + 16),
           (unsigned long long)(rsdp[15] >= 2 ? rd64(rsdp + 24) : 0));
    if (rsdp[15] >= 2 && rd64(rsdp + 24)) {
        root = ptr(rd64(rsdp + 24));
        width = 8;
        report(!memcmp(root, "XSDT", 4) && table_ok(root), "acpi: root table (XSDT or RSDT) checksum");
        const u8 *rsdt = ptr(rd32(rsdp + 16));
        if (rsdt)
            printf("acpi: RSDT %s\n", !memcmp(rsdt, "RSDT", 4) && table_ok(rsdt) ? "valid" : "INVALID");
        if (rsdt && !(!memcmp(rsdt, "RSDT", 4) && table_ok(rsdt)))
            report(false, "acpi: the RSDT beside the XSDT is valid");
    } else {
        root = ptr(rd32(rsdp + 16));
        width = 4;
        report(!memcmp(root, "RSDT", 4) && table_ok(root), "acpi: root table (XSDT or RSDT) checksum");
    }
    walk(root, width, width == 8 ? "XSDT" : "RSDT");
    if (report(madt != NULL, "acpi: MADT found"))
        check_madt();
    if (!report(fadt != NULL, "acpi: FADT found"))
        guest_exit(report_summary() ? 1 : 0);
    u32 flen = rd32(fadt + 4);
    u64 dsdt_pa = flen >= 148 && rd64(fadt + 140) ? rd64(fadt + 140) : rd32(fadt + 40);
    const u8 *dsdt = ptr(dsdt_pa);
    u16 pm1a_cnt = (u16)rd32(fadt + 64);
    printf("acpi: FADT: PM1a_CNT %#x, SCI %u, DSDT %#llx\n", pm1a_cnt, rd16(fadt + 46),
           (unsigned long long)dsdt_pa);
    report(pm1a_cnt != 0 && rd32(fadt + 56) != 0 && rd32(fadt + 76) != 0,
           "acpi: FADT has PM1a event, control and timer blocks");
    report(rd16(fadt + 46) == 9, "acpi: FADT SCI is IRQ 9");
    bool dsdt_ok = dsdt_pa && !memcmp(dsdt, "DSDT", 4) && table_ok(dsdt);
    report(dsdt_ok, "acpi: DSDT checksum");
    int slp_typ = dsdt_ok ? s5_slp_typ(dsdt) : -1;
    report(slp_typ >= 0, "acpi: DSDT has a \\_S5 package (SLP_TYPa %d)", slp_typ);
    if (report_summary() || slp_typ < 0)
        guest_exit(1);
    serial_drain();
    outw(pm1a_cnt, (u16)(slp_typ << PM1_SLP_TYP_SHIFT | PM1_SLP_EN));
    busy_loop(1000000);
    printf("acpi: still running after S5\n");
    guest_exit(1);
}
