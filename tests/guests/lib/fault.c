/*
 * Accesses that may fault, each run under catch_fault() (lib/isr.asm).
 * Every helper returns -1 when the access completed, else the vector.
 * The instruction runs in a separate function so that a fault abandons
 * only that function; results pass through the argument struct.
 */
#include "lib/guest.h"

struct msr_access {
    u32 msr;
    u64 val;
};

static void do_rdmsr(void *arg)
{
    struct msr_access *a = arg;
    a->val = rdmsr(a->msr);
}

static void do_wrmsr(void *arg)
{
    const struct msr_access *a = arg;
    wrmsr(a->msr, a->val);
}

int rdmsr_safe(u32 msr, u64 *val)
{
    struct msr_access a = { msr, 0 };
    int v = catch_fault(do_rdmsr, &a, NULL);
    *val = a.val;
    return v;
}

int wrmsr_safe(u32 msr, u64 val)
{
    struct msr_access a = { msr, val };
    return catch_fault(do_wrmsr, &a, NULL);
}

struct mem_access {
    u64 addr, val;
};

static void do_read(void *arg)
{
    struct mem_access *a = arg;
    a->val = *(volatile u64 *)(uintptr_t)a->addr;
}

static void do_write(void *arg)
{
    const struct mem_access *a = arg;
    *(volatile u64 *)(uintptr_t)a->addr = a->val;
}

int read_u64_safe(u64 addr, u64 *val)
{
    struct mem_access a = { addr, 0 };
    int v = catch_fault(do_read, &a, NULL);
    *val = a.val;
    return v;
}

int write_u64_safe(u64 addr, u64 val)
{
    struct mem_access a = { addr, val };
    return catch_fault(do_write, &a, NULL);
}

static void do_ud2(void *arg)
{
    (void)arg;
    __asm__ __volatile__("ud2");
}

int ud2_safe(void)
{
    return catch_fault(do_ud2, NULL, NULL);
}
