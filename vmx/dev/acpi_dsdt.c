/*
 * The DSDT's AML (vmx/dev/acpi_dsdt.h), written by a few emitters that
 * compute every PkgLength, so no length is counted by hand.
 */
#include "kernel/mm.h"
#include "vmx/dev/acpi_dsdt.h"

/* AML opcodes and prefixes (ACPI 6.0 20.2). */
#define AML_ZERO_OP             0x00
#define AML_NAME_OP             0x08
#define AML_BYTE_PREFIX         0x0a
#define AML_DWORD_PREFIX        0x0c
#define AML_SCOPE_OP            0x10
#define AML_BUFFER_OP           0x11
#define AML_PACKAGE_OP          0x12
#define AML_ROOT_CHAR           0x5c        /* '\' */
#define AML_EXT_OP_PREFIX       0x5b
#define AML_DEVICE_OP           0x82        /* after AML_EXT_OP_PREFIX */
/* Small resource descriptors (ACPI 6.0 6.4.2). */
#define RES_IRQ_NO_FLAGS        0x22        /* IRQ descriptor, length 2: the mask */
#define RES_IO                  0x47        /* I/O port descriptor, length 7 */
#define RES_IO_DECODE16         0x01
#define RES_END_TAG             0x79        /* end tag, length 1: checksum (0: none) */
/* EISA IDs (compressed "PNPxxxx", ACPI 6.0 19.6.44): bytes in AML order. */
#define EISA_PNP_HI             0x41        /* 'P' 'N' 'P' in 3 x 5 bits, big-endian */
#define EISA_PNP_LO             0xd0
#define PKG_ONE_BYTE_MAX        63          /* PkgLength in one byte up to 63 */

#define KBD_DATA_PORT           0x60
#define KBD_CMD_PORT            0x64
#define KBD_IRQ                 1
#define AUX_IRQ                 12
#define RTC_PORT                0x70
#define RTC_PORTS               2
#define RTC_IRQ                 8

struct aml {
    u8 *p;
    u32 n;
};

static void emit(struct aml *a, const void *bytes, u32 len)
{
    memcpy(a->p + a->n, bytes, len);
    a->n += len;
}

static void byte(struct aml *a, u8 b)
{
    a->p[a->n++] = b;
}

/* Package bodies are written after a 2-byte hole; pkg_end() fills in the
 * PkgLength (which counts itself) and closes the hole when 1 byte does. */
static u32 pkg_start(struct aml *a)
{
    a->n += 2;
    return a->n;
}

static void pkg_end(struct aml *a, u32 body)
{
    u32 len = a->n - body;

    if (len + 1 <= PKG_ONE_BYTE_MAX) {
        for (u32 i = 0; i < len; i++)     /* down by one byte */
            a->p[body - 1 + i] = a->p[body + i];
        a->n--;
        a->p[body - 2] = (u8)(len + 1);
    } else {                                /* two bytes: bits 3:0, then 11:4 */
        a->p[body - 2] = (u8)(1 << 6 | ((len + 2) & 0xf));
        a->p[body - 1] = (u8)((len + 2) >> 4);
    }
}

static void name_eisa_hid(struct aml *a, u8 product_hi, u8 product_lo)
{
    const u8 b[] = { AML_NAME_OP, '_', 'H', 'I', 'D', AML_DWORD_PREFIX, EISA_PNP_HI, EISA_PNP_LO,
                     product_hi, product_lo };
    emit(a, b, sizeof(b));
}

static void name_crs(struct aml *a, const u8 *res, u32 len)
{
    const u8 head[] = { AML_NAME_OP, '_', 'C', 'R', 'S', AML_BUFFER_OP };
    const u8 end[] = { RES_END_TAG, 0 };

    emit(a, head, sizeof(head));
    u32 body = pkg_start(a);
    byte(a, AML_BYTE_PREFIX);
    byte(a, (u8)(len + sizeof(end)));       /* BufferSize */
    emit(a, res, len);
    emit(a, end, sizeof(end));
    pkg_end(a, body);
}

static u32 device_start(struct aml *a, const char name[4])
{
    byte(a, AML_EXT_OP_PREFIX);
    byte(a, AML_DEVICE_OP);
    u32 body = pkg_start(a);
    emit(a, name, 4);
    return body;
}

/* Device (RTC) { _HID PNP0B00, _CRS: IO 0x70-0x71, IRQ 8 }. */
static void rtc_device(struct aml *a)
{
    const u8 res[] = { RES_IO, RES_IO_DECODE16, RTC_PORT, 0, RTC_PORT, 0, 1, RTC_PORTS,
                       RES_IRQ_NO_FLAGS, (u8)(1u << RTC_IRQ), (u8)((1u << RTC_IRQ) >> 8) };
    u32 dev = device_start(a, "RTC_");

    name_eisa_hid(a, 0x0b, 0x00);           /* PNP0B00: AT real-time clock */
    name_crs(a, res, sizeof(res));
    pkg_end(a, dev);
}

/* Device (KBD) and Device (MOU): the names Bochs's DSDT gives them, so
 * Linux's i8042 line reads the same. */
static void ps2_devices(struct aml *a)
{
    const u8 kbd[] = { RES_IO, RES_IO_DECODE16, KBD_DATA_PORT, 0, KBD_DATA_PORT, 0, 1, 1,
                       RES_IO, RES_IO_DECODE16, KBD_CMD_PORT, 0, KBD_CMD_PORT, 0, 1, 1,
                       RES_IRQ_NO_FLAGS, (u8)(1u << KBD_IRQ), (u8)((1u << KBD_IRQ) >> 8) };
    const u8 aux[] = { RES_IRQ_NO_FLAGS, (u8)(1u << AUX_IRQ), (u8)((1u << AUX_IRQ) >> 8) };

    u32 dev = device_start(a, "KBD_");
    name_eisa_hid(a, 0x03, 0x03);           /* PNP0303: IBM enhanced keyboard (101/102-key, PS/2 mouse support) */
    name_crs(a, kbd, sizeof(kbd));
    pkg_end(a, dev);
    dev = device_start(a, "MOU_");
    name_eisa_hid(a, 0x0f, 0x13);           /* PNP0F13: PS/2 port for PS/2-style mice */
    name_crs(a, aux, sizeof(aux));
    pkg_end(a, dev);
}

u32 acpi_dsdt_aml(u8 s5_slp_typ, bool rtc, bool i8042, u8 *aml)
{
    const u8 sb[] = { AML_ROOT_CHAR, '_', 'S', 'B', '_' };
    /* Name(_S5, Package(4) { typ, typ, 0, 0 }): PM1a and PM1b SLP_TYP. */
    const u8 s5[] = { AML_NAME_OP, '_', 'S', '5', '_', AML_PACKAGE_OP, 8, 4,
                      AML_BYTE_PREFIX, s5_slp_typ, AML_BYTE_PREFIX, s5_slp_typ, AML_ZERO_OP, AML_ZERO_OP };
    struct aml a = { aml, 0 };

    emit(&a, s5, sizeof(s5));
    if (!rtc && !i8042)
        return a.n;
    byte(&a, AML_SCOPE_OP);
    u32 scope = pkg_start(&a);
    emit(&a, sb, sizeof(sb));
    if (rtc)
        rtc_device(&a);
    if (i8042)
        ps2_devices(&a);
    pkg_end(&a, scope);
    return a.n;
}
