/*
 * FADT and \_S5 lookup for ACPI power-off. Every table is checked for its
 * signature, a sane length and its checksum before it is read; the AML scan
 * for \_S5 stays within the DSDT's length.
 */
#include "kernel/acpi.h"
#include "kernel/acpi_defs.h"
#include "kernel/mm.h"

#define ACPI_MAX_TABLE_LEN      (1u << 20)
#define AML_NAME_OP             0x08
#define AML_PACKAGE_OP          0x12
#define AML_BYTE_PREFIX         0x0a
#define AML_ZERO_OP             0x00
#define AML_ONE_OP              0x01


#define FADT_DSDT               40
#define FADT_PM1A_CNT_BLK       64
#define FADT_PM1B_CNT_BLK       68
#define FADT_X_DSDT             140

static bool checksum_ok(const void *p, u32 len)
{
    u8 sum = 0;
    for (u32 i = 0; i < len; i++)
        sum += ((const u8 *)p)[i];
    return sum == 0;
}

static const struct acpi_header *table_at(u64 pa, const char *sig)
{
    if (!pa || pa >= DIRECT_MAP_LIMIT - sizeof(struct acpi_header))
        return NULL;
    const struct acpi_header *h = phys_to_virt(pa);
    if (memcmp(h->signature, sig, 4) || h->length < sizeof(*h) ||
        h->length > ACPI_MAX_TABLE_LEN || pa + h->length > DIRECT_MAP_LIMIT ||
        !checksum_ok(h, h->length))
        return NULL;
    return h;
}

static u32 rd32(const void *base, u32 off) { u32 v; memcpy(&v, (const u8 *)base + off, 4); return v; }
static u64 rd64(const void *base, u32 off) { u64 v; memcpy(&v, (const u8 *)base + off, 8); return v; }

/* One SLP_TYP element of the \_S5 package: ZeroOp, OneOp or BytePrefix n. */
static const u8 *aml_small_int(const u8 *p, const u8 *end, u16 *v)
{
    if (p < end && (*p == AML_ZERO_OP || *p == AML_ONE_OP)) {
        *v = *p;
        return p + 1;
    }
    if (p + 1 < end && *p == AML_BYTE_PREFIX) {
        *v = p[1];
        return p + 2;
    }
    return NULL;
}

static bool find_s5(const struct acpi_header *dsdt, struct acpi_poweroff *out)
{
    const u8 *p = (const u8 *)dsdt + sizeof(*dsdt);
    const u8 *end = (const u8 *)dsdt + dsdt->length;

    for (; p + 4 < end; p++) {
        if (memcmp(p, "_S5_", 4) || (p[-1] != AML_NAME_OP && p[-1] != '\\'))
            continue;
        const u8 *q = p + 4;
        if (q >= end || *q++ != AML_PACKAGE_OP || q >= end)
            return false;
        q += 1 + (*q >> 6);             /* PkgLength: 1 + count of extra bytes */
        q++;                            /* NumElements */
        if (q >= end || !(q = aml_small_int(q, end, &out->slp_typa)))
            return false;
        if (!aml_small_int(q, end, &out->slp_typb))
            out->slp_typb = out->slp_typa;
        return true;
    }
    return false;
}

bool acpi_find_poweroff(const void *rsdp_copy, u32 rsdp_size, struct acpi_poweroff *out)
{
    const struct acpi_rsdp *rsdp = rsdp_copy;
    const struct acpi_header *root, *fadt = NULL, *dsdt;
    bool xsdt;

    *out = (struct acpi_poweroff){ 0 };
    if (!rsdp || rsdp_size < 20 || memcmp(rsdp->signature, "RSD PTR ", 8) || !checksum_ok(rsdp, 20))
        return false;
    xsdt = rsdp->revision >= 2 && rsdp_size >= sizeof(*rsdp) && rsdp->xsdt_address;
    root = xsdt ? table_at(rsdp->xsdt_address, "XSDT") : table_at(rsdp->rsdt_address, "RSDT");
    if (!root)
        return false;

    u32 entry = xsdt ? 8 : 4;
    for (u32 off = sizeof(*root); off + entry <= root->length && !fadt; off += entry)
        fadt = table_at(xsdt ? rd64(root, off) : rd32(root, off), "FACP");
    if (!fadt || fadt->length < FADT_PM1B_CNT_BLK + 4)
        return false;

    out->pm1a_cnt = (u16)rd32(fadt, FADT_PM1A_CNT_BLK);
    out->pm1b_cnt = (u16)rd32(fadt, FADT_PM1B_CNT_BLK);
    u64 dsdt_pa = fadt->length >= FADT_X_DSDT + 8 ? rd64(fadt, FADT_X_DSDT) : 0;
    if (!dsdt_pa)
        dsdt_pa = rd32(fadt, FADT_DSDT);
    dsdt = table_at(dsdt_pa, "DSDT");
    return out->pm1a_cnt && dsdt && find_s5(dsdt, out);
}
