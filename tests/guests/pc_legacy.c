/*
 * pc_legacy: the legacy PC devices as a guest sees them: the 8259A pair
 * (IMR, ELCR, IRR/ISR, delivery, priority through the cascade, specific
 * and non-specific EOI, spurious IRQ7 and IRQ15), the 8254 (read-back
 * status, latch, modes 0 and 3, LSB-only access, gate and OUT2 on port
 * 0x61, refresh toggle), the CMOS RTC (status registers, BCD/binary,
 * 12-hour mode, SET and a leap-day rollover, UIP, periodic rates, NVRAM)
 * and the ACPI PM timer (found through RSDP -> RSDT -> FADT; its rate
 * against the PIT). It writes the expectations of turtle's device models
 * (vmx/dev/) and runs on bare Bochs, which emulates all of these devices.
 * Not run under turtle yet. No options.
 */
#include "lib/guest.h"

#define VEC_MASTER      0x30
#define VEC_SLAVE       0x38
#define IDT_VECTORS     256
#define PIT_HZ          1193182
#define PIT_10MS        11932
#define PM_HZ           3579545

/* ---- interrupts: our own IDT, the library's 32 exception gates kept ---- */
struct gate { u16 lo, sel; u8 ist, attr; u16 mid; u32 hi, rsvd; } __attribute__((packed));
struct dtr { u16 limit; u64 base; } __attribute__((packed));
static struct gate idt[IDT_VECTORS] __attribute__((aligned(16)));
static volatile u32 nlog;
static volatile u8 vlog[32];

extern char irq_stubs[];
/* 16 stubs, 16 bytes apart, for vectors 0x30-0x3f: push the vector, then
 * save the caller-saved registers and call irq_handler(vector). */
__asm__(".text\n.align 16\nirq_stubs:\n.set vec, 0x30\n.rept 16\n.align 16\n"
        "pushq $vec\njmp irq_common\n.set vec, vec + 1\n.endr\n"
        "irq_common:\npush %rax\npush %rcx\npush %rdx\npush %rsi\npush %rdi\n"
        "push %r8\npush %r9\npush %r10\npush %r11\nmov 72(%rsp), %rdi\n"
        "sub $8, %rsp\ncld\ncall irq_handler\nadd $8, %rsp\n"
        "pop %r11\npop %r10\npop %r9\npop %r8\npop %rdi\npop %rsi\npop %rdx\n"
        "pop %rcx\npop %rax\nadd $8, %rsp\niretq\n");

void irq_handler(u64 vec);
void irq_handler(u64 vec)
{
    if (nlog < sizeof(vlog))
        vlog[nlog] = (u8)vec;
    nlog++;                         /* no EOI: the tests do it */
}

static void idt_init(void)
{
    struct dtr old, nw = { sizeof(idt) - 1, (u64)(uintptr_t)idt };

    __asm__ __volatile__("sidt %0" : "=m"(old));
    memcpy(idt, (void *)(uintptr_t)old.base, old.limit + 1);
    for (u32 i = 0; i < 16; i++) {
        u64 a = (u64)(uintptr_t)irq_stubs + 16 * i;
        idt[VEC_MASTER + i] = idt[0];
        idt[VEC_MASTER + i].ist = 0;
        idt[VEC_MASTER + i].lo = (u16)a;
        idt[VEC_MASTER + i].mid = (u16)(a >> 16);
        idt[VEC_MASTER + i].hi = (u32)(a >> 32);
    }
    __asm__ __volatile__("lidt %0" :: "m"(nw) : "memory");
}

/* Opens an interrupt window of a few hundred instructions. */
static void window(void)
{
    __asm__ __volatile__("sti" ::: "memory");
    for (volatile int i = 0; i < 100; i++)
        ;
    __asm__ __volatile__("cli" ::: "memory");
}

static void log_reset(void) { nlog = 0; }

/* ---- small device helpers ---- */
static u8 pic_reg(u16 cmd, u8 ocw3) { outb(cmd, ocw3); return inb(cmd); }
static u8 isr(u16 cmd) { return pic_reg(cmd, 0x0b); }
static u8 irr(u16 cmd) { return pic_reg(cmd, 0x0a); }
static u8 cmos(u8 i) { outb(0x70, i); return inb(0x71); }
static void cmos_w(u8 i, u8 v) { outb(0x70, i); outb(0x71, v); }
static u8 pit_status(u32 ch) { outb(0x43, 0xe0 | (2 << ch)); return inb(0x40 + ch); }
static u16 pit_latch(u32 ch)
{
    outb(0x43, (u8)(ch << 6));
    u8 lo = inb(0x40 + ch);
    return (u16)(lo | inb(0x40 + ch) << 8);
}

/* Channel 2 as a one-shot stopwatch: mode 0, gate on, speaker off. */
static void pit2_start(u16 count)
{
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb0);
    outb(0x42, (u8)count);
    outb(0x42, (u8)(count >> 8));
}

static bool pit2_wait(void)
{
    for (u32 i = 0; i < 50000000; i++)
        if (inb(0x61) & 0x20)
            return true;
    return false;
}

static void pit_wait_ticks(u16 ticks) { pit2_start(ticks); pit2_wait(); }

static void pic_init_linux(void)
{
    outb(0x21, 0xff); outb(0xa1, 0xff);
    outb(0x20, 0x11); outb(0x21, VEC_MASTER); outb(0x21, 0x04); outb(0x21, 0x01);
    outb(0xa0, 0x11); outb(0xa1, VEC_SLAVE); outb(0xa1, 0x02); outb(0xa1, 0x01);
    outb(0x21, 0xfb); outb(0xa1, 0xff);
}

/* ---- the 8259A pair ---- */
static void test_pic(void)
{
    pic_init_linux();
    outb(0x21, 0xa5);
    bool ok = inb(0x21) == 0xa5 && inb(0xa1) == 0xff;
    outb(0x21, 0xfb);
    report(ok, "pic: IMR reads back");

    outb(0x4d0, 0xff); outb(0x4d1, 0xff);
    u8 e1 = inb(0x4d0), e2 = inb(0x4d1);
    outb(0x4d0, 0x00); outb(0x4d1, 0x00);
    report(e1 == 0xf8 && e2 == 0xde, "pic: ELCR cannot make IRQ 0, 1, 2, 8, 13 level (%02x %02x)", e1, e2);

    /* IRQ0 from the PIT's mode 0 terminal count, masked: IRR only */
    outb(0x43, 0x30);
    u8 st0 = pit_status(0);
    outb(0x40, 100); outb(0x40, 0);
    pit_wait_ticks(200);
    u8 st1 = pit_status(0);
    report(st0 == 0x70 && st1 == 0xb0, "pit: channel 0 status: after mode word %02x, after TC %02x", st0, st1);
    report((irr(0x20) & 0x01) && isr(0x20) == 0, "pic: masked IRQ0 sets IRR only");

    log_reset();
    outb(0x21, 0xfa);
    window();
    u8 s = isr(0x20);
    report(nlog == 1 && vlog[0] == VEC_MASTER && s == 0x01 && !(irr(0x20) & 1),
           "pic: IRQ0 delivered at 0x30, in service until EOI (n=%u isr=%02x)", nlog, s);
    outb(0x20, 0x20);
    report(isr(0x20) == 0, "pic: non-specific EOI clears ISR");

    /* IRQ8 (RTC periodic) and IRQ0 pending together: IRQ0 first, and
     * IRQ8 waits behind IR0 in service until EOI; then specific EOIs */
    outb(0x21, 0xff);
    cmos_w(0x0a, 0x26);
    cmos(0x0c);
    cmos_w(0x0b, cmos(0x0b) | 0x40);
    outb(0xa1, 0xfe);
    outb(0x43, 0x30); outb(0x40, 10); outb(0x40, 0);
    pit_wait_ticks(3000);                   /* > one 976 us RTC period */
    bool both = (irr(0x20) & 0x05) == 0x05 && (irr(0xa0) & 0x01);
    log_reset();
    outb(0x21, 0xfa);
    window();
    u32 n1 = nlog;
    outb(0x20, 0x20);
    window();
    u8 mi = isr(0x20), si = isr(0xa0);
    report(both && n1 == 1 && nlog == 2 && vlog[0] == VEC_MASTER && vlog[1] == VEC_SLAVE &&
           mi == 0x04 && si == 0x01, "pic: priority IRQ0 over cascaded IRQ8, nested after EOI "
           "(n=%u,%u isr=%02x/%02x)", n1, nlog, mi, si);
    cmos_w(0x0b, cmos(0x0b) & ~0x40);
    cmos(0x0c);
    outb(0xa0, 0x60);                       /* specific EOI, slave IR0 */
    outb(0x20, 0x62);                       /* specific EOI, master IR2 */
    report(isr(0x20) == 0 && isr(0xa0) == 0, "pic: specific EOI on both chips");

    /* spurious IRQ15: IRQ8 raised, then dropped (register C read) before
     * the CPU takes it */
    cmos_w(0x0b, cmos(0x0b) | 0x40);
    pit_wait_ticks(3000);
    cmos_w(0x0b, cmos(0x0b) & ~0x40);
    cmos(0x0c);
    log_reset();
    window();
    mi = isr(0x20); si = isr(0xa0);
    report(nlog == 1 && vlog[0] == VEC_SLAVE + 7 && mi == 0x04 && si == 0,
           "pic: vanished IRQ8 gives spurious IRQ15, master IR2 in service (n=%u v=%02x isr=%02x/%02x)",
           nlog, vlog[0], mi, si);
    outb(0x20, 0x20);

    /* spurious IRQ7: OUT0 high (IRQ0 requested), then a new mode word
     * drops OUT0 before the CPU takes it */
    outb(0x43, 0x30); outb(0x40, 10); outb(0x40, 0);
    pit_wait_ticks(100);
    outb(0x43, 0x30);
    log_reset();
    window();
    report(nlog == 1 && vlog[0] == VEC_MASTER + 7 && isr(0x20) == 0,
           "pic: vanished IRQ0 gives spurious IRQ7, nothing in service (n=%u v=%02x)", nlog, vlog[0]);
    outb(0x21, 0xfb); outb(0xa1, 0xff);
}

/* ---- the 8254 ---- */
static void test_pit(void)
{
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb0);
    u8 st0 = pit_status(2);
    outb(0x42, 0xff); outb(0x42, 0xff);
    u16 a = pit_latch(2);
    busy_loop(1000);
    u16 b = pit_latch(2);
    u8 st1 = pit_status(2);
    report(st0 == 0x70 && st1 == 0x30 && a > b, "pit: channel 2 mode 0 counts down (%02x %02x %u %u)",
           st0, st1, a, b);
    outb(0x43, 0x80);                       /* latch, then let it run */
    busy_loop(1000);
    u8 lo = inb(0x42), hi = inb(0x42);
    u16 c = pit_latch(2);
    report((u16)(lo | hi << 8) > c, "pit: latched count holds while the counter runs");
    outb(0x61, inb(0x61) & ~0x01);          /* gate low: mode 0 pauses */
    a = pit_latch(2);
    busy_loop(1000);
    b = pit_latch(2);
    outb(0x61, inb(0x61) | 0x01);
    report(a == b, "pit: gate low pauses channel 2 (%u %u)", a, b);

    pit2_start(1193);
    bool low = !(inb(0x61) & 0x20);
    bool rose = pit2_wait();
    report(low && rose && (pit_status(2) & 0x80), "pit: OUT2 on port 0x61 rises at terminal count");

    outb(0x43, 0xb6);                       /* mode 3, count 1000 */
    outb(0x42, 1000 & 0xff); outb(0x42, 1000 >> 8);
    bool even = true;
    for (int i = 0; i < 50; i++) {
        u16 v = pit_latch(2);
        even = even && !(v & 1) && v <= 1000;
    }
    report(even, "pit: mode 3 counts by two");
    /* LSB only, mode 0, gate low (counting paused): every read gives the
     * low byte (no LSB/MSB flip-flop), then the count runs with the gate. */
    outb(0x61, inb(0x61) & ~0x01);
    outb(0x43, 0x90);
    outb(0x42, 250);
    u8 l1 = inb(0x42), l2 = inb(0x42);
    outb(0x61, inb(0x61) | 0x01);
    busy_loop(10);
    u8 l3 = inb(0x42);
    report(l1 == l2 && l1 > 0 && l1 <= 250 && l3 < l1, "pit: LSB-only access (%u %u %u)", l1, l2, l3);

    u32 toggles = 0;
    u8 last = inb(0x61) & 0x10;
    for (int i = 0; i < 2000; i++) {
        u8 v = inb(0x61) & 0x10;
        toggles += v != last;
        last = v;
    }
    report(toggles > 2, "pit: port 0x61 refresh bit toggles (%u)", toggles);
}

/* ---- ACPI PM timer, found through the FADT ---- */
static const u8 *find_table(const char *sig)
{
    for (u64 p = 0xe0000; p < 0x100000; p += 16) {
        const u8 *r = (const u8 *)(uintptr_t)p;
        if (memcmp(r, "RSD PTR ", 8))
            continue;
        const u8 *rsdt = (const u8 *)(uintptr_t)*(const u32 *)(r + 16);
        u32 len = *(const u32 *)(rsdt + 4);
        for (u32 off = 36; off + 4 <= len; off += 4) {
            const u8 *t = (const u8 *)(uintptr_t)*(const u32 *)(rsdt + off);
            if (!memcmp(t, sig, 4))
                return t;
        }
    }
    return NULL;
}

static u32 inl(u16 port) { u32 v; __asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void test_acpi(void)
{
    const u8 *fadt = find_table("FACP");
    if (!report(fadt != NULL, "acpi: FADT found"))
        return;
    u16 tmr = (u16)*(const u32 *)(fadt + 76);
    bool ext = *(const u32 *)(fadt + 112) & BIT(8);
    u32 mask = ext ? 0xffffffff : 0xffffff;
    bool ok = tmr != 0;
    u32 last = inl(tmr);
    for (int i = 0; i < 1000 && ok; i++) {
        u32 v = inl(tmr);
        ok = (v & ~mask) == 0 && ((v - last) & mask) < 0x100000;
        last = v;
    }
    report(ok, "acpi: PM timer monotonic (at 0x%x, %s)", tmr, ext ? "32-bit" : "24-bit");
    /* Against the PIT: channel 2 counts down from 0xffff (~55 ms); both
     * are read back to back at each end, so read costs cancel out. The PM
     * timer runs at 3579545 Hz, three times the PIT's 1193182 Hz. */
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb0);
    outb(0x42, 0xff);
    outb(0x42, 0xff);
    u16 c0 = pit_latch(2);
    u32 t0 = inl(tmr);
    u64 tsc0 = rdtsc();
    u16 c1 = c0;
    while ((u16)(c0 - c1) < 40000 && c1 <= c0)
        c1 = pit_latch(2);
    u32 t1 = inl(tmr);
    u64 dtsc = rdtsc() - tsc0;
    u32 pit = (u32)(c0 - c1), dt = (t1 - t0) & mask;
    report(dt > pit * 3 * 99 / 100 && dt < pit * 3 * 101 / 100,
           "acpi: PM timer runs at 3.579545 MHz against the PIT (%u PM ticks in %u PIT ticks)", dt, pit);
    printf("info: TSC %lu cycles in %u PIT ticks\n", (unsigned long)dtsc, pit);
}

/* ---- CMOS RTC ---- */
static bool bcd_ok(u8 v, u8 max) { return (v & 0xf) <= 9 && (v >> 4) <= 9 && v <= max; }
static u8 bcd2bin(u8 v) { return (u8)((v >> 4) * 10 + (v & 0xf)); }
static void wait_no_uip(void) { while (cmos(0x0a) & 0x80) ; }

static void wait_second(void)
{
    u8 s = cmos(0x00);
    for (u32 i = 0; i < 20000000 && cmos(0x00) == s; i++)
        ;
}

/* PF flags counted while channel 2 runs `ticks` */
static u32 count_pf(u8 rs, u16 ticks)
{
    cmos_w(0x0a, 0x20 | rs);
    cmos(0x0c);
    u32 n = 0;
    pit2_start(ticks);
    while (!(inb(0x61) & 0x20))
        n += !!(cmos(0x0c) & 0x40);
    return n;
}

static void test_rtc(void)
{
    outb(0xa1, 0xff);
    u8 a = cmos(0x0a), b = cmos(0x0b), d = cmos(0x0d);
    report((a & 0x7f) == 0x26 && (b & 0x07) == 0x02 && d == 0x80,
           "rtc: A/B/D as a BIOS leaves them (%02x %02x %02x)", a, b, d);
    wait_no_uip();
    u8 sec = cmos(0x00), min = cmos(0x02), hr = cmos(0x04), day = cmos(0x07), mon = cmos(0x08);
    report(bcd_ok(sec, 0x59) && bcd_ok(min, 0x59) && bcd_ok(hr, 0x23) && bcd_ok(day, 0x31) &&
           day && bcd_ok(mon, 0x12) && mon && bcd_ok(cmos(0x09), 0x99) && bcd_ok(cmos(0x32), 0x99),
           "rtc: time and date are valid BCD");
    bool ok = false;
    for (int i = 0; i < 3 && !ok; i++) {
        wait_no_uip();
        u8 m1 = cmos(0x02);
        cmos_w(0x0b, 0x06);
        u8 m2 = cmos(0x02);
        cmos_w(0x0b, 0x02);
        ok = m2 == bcd2bin(m1);
    }
    report(ok, "rtc: binary mode");

    ok = false;
    u8 h24 = 0, h12 = 0, want = 0;
    for (int i = 0; i < 3 && !ok; i++) {
        wait_no_uip();
        h24 = bcd2bin(cmos(0x04));
        cmos_w(0x0b, 0x00);                 /* 12-hour, BCD */
        h12 = cmos(0x04);
        cmos_w(0x0b, 0x02);
        u8 h = h24 % 12 ? h24 % 12 : 12;
        want = (u8)((h / 10) << 4 | h % 10) | (h24 >= 12 ? 0x80 : 0);
        ok = h12 == want;
    }
    report(ok, "rtc: 12-hour mode (%u h reads %02x, want %02x)", h24, h12, want);

    /* SET, then the rollover of 2000-02-29 23:59:59. Bochs 2.7 may lose
     * an hour when SET is cleared (its update_timeval() hands mktime() an
     * uninitialised tm_isdst), so only minutes and seconds are compared;
     * the whole date is printed. The models' unit tests check the date. */
    cmos_w(0x0b, 0x82);
    cmos_w(0x00, 0x59); cmos_w(0x02, 0x59); cmos_w(0x04, 0x23); cmos_w(0x06, 0x03);
    cmos_w(0x07, 0x29); cmos_w(0x08, 0x02); cmos_w(0x09, 0x00); cmos_w(0x32, 0x20);
    u8 frozen = cmos(0x00);
    busy_loop(100000);
    bool held = cmos(0x00) == frozen && !(cmos(0x0a) & 0x80);
    cmos_w(0x0b, 0x02);
    wait_second();
    wait_no_uip();
    printf("info: after SET: %02x-%02x-%02x%02x %02x:%02x:%02x wday %x\n", cmos(0x07), cmos(0x08),
           cmos(0x32), cmos(0x09), cmos(0x04), cmos(0x02), cmos(0x00), cmos(0x06));
    report(held && cmos(0x00) == 0x00 && cmos(0x02) == 0x00,
           "rtc: SET holds the time and no UIP; xx:59:59 rolls over to xx:00:00");

    /* The seconds are read just before each UIP poll: once UIP reads 1 the
     * update has not happened yet, so s0 is the old second however long a
     * port access takes (under a hypervisor each one is an exit, and a read
     * after the UIP poll could land past the update). */
    u32 spins = 0;
    u8 s0;
    do {
        s0 = cmos(0x00);
    } while (!(cmos(0x0a) & 0x80) && ++spins < 20000000);
    while (cmos(0x0a) & 0x80)
        ;
    report(spins < 20000000 && cmos(0x00) != s0, "rtc: UIP rises before the update");

    cmos_w(0x0b, 0x42);                     /* PIE, IRQ 8 masked at the PIC */
    /* Polled, so the rates stay where a virtualised guest can poll them. */
    u32 n1024 = count_pf(6, 2 * PIT_10MS), n2048 = count_pf(5, 2 * PIT_10MS);
    cmos_w(0x0b, 0x02);
    report(n1024 >= 18 && n1024 <= 22, "rtc: periodic 1024 Hz (%u in 20 ms)", n1024);
    report(n2048 >= 37 && n2048 <= 44, "rtc: periodic 2048 Hz (%u in 20 ms)", n2048);
    cmos_w(0x0a, 0x20);                     /* no periodic rate: no PF between the reads */
    cmos(0x0c);
    report(cmos(0x0c) == 0, "rtc: register C clears on read");
    cmos_w(0x0a, 0x26);

    u8 keep = cmos(0x50);
    cmos_w(0x50, 0x5a);
    ok = cmos(0x50) == 0x5a;
    cmos_w(0x50, keep);
    report(ok && inb(0x70) == 0xff, "rtc: NVRAM byte reads back, port 0x70 reads 0xff");
}

void guest_main(const struct boot_params *bp)
{
    (void)bp;
    idt_init();
    test_pic();
    test_pit();
    test_acpi();
    test_rtc();
    guest_exit(report_summary() ? 1 : 0);
}
