/*
 * Host unit test of the per-VM page pool, vmx/vm_pages.c, and of EPT
 * tables built in a pool (vmx/ept.c with a pool). The global allocator is
 * a fake: an arena of pages with an owner per page and a limit on how many
 * it will hand out, so a reservation can be made to fail. Checked: a
 * reservation is all or nothing; a pool hands out only its own pages,
 * distinct and zeroed, and never more than it holds; pages return to it
 * and, at release, to the global allocator; one pool running dry leaves
 * another untouched; EPT02-style tables come from and go back to the
 * pool; a random model of alloc/free agrees with the pool's counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kernel/mm.h"
#include "kernel/panic.h"
#include "vmx/ept.h"
#include "vmx/vm_pages.h"
#include "vmx/vmx_arch.h"

#define ARENA_PAGES     1024

static u8 *arena;
static bool global_used[ARENA_PAGES];
static u64 global_out, global_limit;
static jmp_buf panic_jmp;
static bool panic_armed;

/* The fake global allocator: single pages only (all the pool asks for). */
u64 alloc_pages(u64 npages, u64 align)
{
    assert_int_equal(npages, 1);
    assert_int_equal(align, PAGE_SIZE);
    if (global_out >= global_limit)
        return 0;
    for (u64 i = 0; i < ARENA_PAGES; i++) {
        if (!global_used[i]) {
            global_used[i] = true;
            global_out++;
            memset(arena + i * PAGE_SIZE, 0, PAGE_SIZE);
            return (u64)(uintptr_t)(arena + i * PAGE_SIZE);
        }
    }
    return 0;
}

static u64 arena_index(u64 pa)
{
    u8 *p = (u8 *)(uintptr_t)pa;
    assert_true(p >= arena && p < arena + ARENA_PAGES * PAGE_SIZE);
    assert_int_equal((p - arena) % PAGE_SIZE, 0);
    return (u64)(p - arena) / PAGE_SIZE;
}

void free_pages(u64 pa, u64 npages)
{
    assert_int_equal(npages, 1);
    u64 i = arena_index(pa);
    assert_true(global_used[i]);
    global_used[i] = false;
    global_out--;
}

void panic(const char *fmt, ...)
{
    (void)fmt;
    if (panic_armed)
        longjmp(panic_jmp, 1);
    fail_msg("unexpected panic");
    abort();
}

static int setup(void **state)
{
    (void)state;
    arena = aligned_alloc(PAGE_SIZE, ARENA_PAGES * PAGE_SIZE);
    memset(global_used, 0, sizeof(global_used));
    global_out = 0;
    global_limit = ARENA_PAGES;
    panic_armed = false;
    return arena ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(arena);
    return 0;
}

/* A page is in a pool's free list (walking it, counting as it goes). */
static u64 count_free_list(const struct vm_pages *p)
{
    u64 n = 0;
    for (u64 pa = p->free_head; pa; pa = *(u64 *)(uintptr_t)pa) {
        arena_index(pa);
        assert_true(++n <= p->n_total);
    }
    return n;
}

static void reserve_alloc_release(void **state)
{
    (void)state;
    struct vm_pages p;
    u64 got[64];

    assert_true(vm_pages_reserve(&p, 64));
    assert_int_equal(p.n_total, 64);
    assert_int_equal(p.n_free, 64);
    assert_int_equal(count_free_list(&p), 64);
    assert_int_equal(global_out, 64);
    for (int i = 0; i < 64; i++) {
        got[i] = vm_pages_alloc(&p);
        assert_true(global_used[arena_index(got[i])]);
        for (int k = 0; k < i; k++)
            assert_true(got[k] != got[i]);
        const u8 *b = (const u8 *)(uintptr_t)got[i];
        for (u64 j = 0; j < PAGE_SIZE; j++)
            assert_int_equal(b[j], 0);
        memset((void *)(uintptr_t)got[i], 0xa5, PAGE_SIZE);    /* dirty it */
    }
    assert_int_equal(vm_pages_alloc(&p), 0);            /* dry: never the global allocator */
    assert_int_equal(global_out, 64);
    assert_int_equal(p.low_water, 0);
    for (int i = 0; i < 64; i++)
        vm_pages_free(&p, got[i]);
    assert_int_equal(count_free_list(&p), 64);
    /* Handed out again: zeroed although they were dirtied. */
    u64 again = vm_pages_alloc(&p);
    for (u64 j = 0; j < PAGE_SIZE; j++)
        assert_int_equal(((const u8 *)(uintptr_t)again)[j], 0);
    vm_pages_free(&p, again);
    assert_int_equal(vm_pages_release(&p), 0);
    assert_int_equal(global_out, 0);
    assert_int_equal(p.n_total, 0);
    assert_int_equal(vm_pages_alloc(&p), 0);
}

static void reserve_fails_whole(void **state)
{
    (void)state;
    struct vm_pages p;

    global_limit = 100;
    assert_true(vm_pages_reserve(&p, 30));              /* another VM holds 30 */
    struct vm_pages q;
    assert_false(vm_pages_reserve(&q, 71));             /* 70 left: refused */
    assert_int_equal(global_out, 30);                   /* nothing kept */
    assert_int_equal(q.n_total, 0);
    assert_int_equal(q.n_free, 0);
    assert_int_equal(vm_pages_alloc(&q), 0);
    assert_true(vm_pages_reserve(&q, 70));              /* exactly what is left */
    assert_int_equal(global_out, 100);
    assert_int_equal(vm_pages_release(&q), 0);
    assert_int_equal(vm_pages_release(&p), 0);
    assert_int_equal(global_out, 0);
    assert_true(vm_pages_reserve(&p, 0));               /* a VM with no run-time needs */
    assert_int_equal(vm_pages_alloc(&p), 0);
    assert_int_equal(vm_pages_release(&p), 0);
}

static void one_dry_pool_leaves_another(void **state)
{
    (void)state;
    struct vm_pages a, b;

    assert_true(vm_pages_reserve(&a, 10));
    assert_true(vm_pages_reserve(&b, 10));
    global_limit = global_out;                          /* the machine is full */
    for (int i = 0; i < 10; i++)
        assert_true(vm_pages_alloc(&a) != 0);
    assert_int_equal(vm_pages_alloc(&a), 0);
    for (int i = 0; i < 10; i++) {                      /* b still has all of its own */
        u64 pa = vm_pages_alloc(&b);
        assert_true(pa != 0);
        vm_pages_free(&b, pa);
    }
    assert_int_equal(b.n_free, 10);
    assert_int_equal(vm_pages_release(&a), 10);         /* a's user leaked all ten */
    assert_int_equal(vm_pages_release(&b), 0);
}

static void free_past_total_panics(void **state)
{
    (void)state;
    struct vm_pages p;

    assert_true(vm_pages_reserve(&p, 2));
    u64 pa = vm_pages_alloc(&p);
    vm_pages_free(&p, pa);
    panic_armed = true;
    if (!setjmp(panic_jmp)) {
        vm_pages_free(&p, pa);                          /* a double free: an L0 bug */
        fail_msg("a free past the pool's size must panic");
    }
    panic_armed = false;
    assert_int_equal(p.n_free, 2);
    assert_int_equal(vm_pages_release(&p), 0);
}

/* EPT tables built in a pool: every table page from it, back at ept_free;
 * an EPT that needs more than the pool holds fails, without taking a page
 * of the global allocator. */
static void ept_in_pool(void **state)
{
    (void)state;
    struct vm_pages p;

    assert_true(vm_pages_reserve(&p, 8));
    u64 before = global_out, tables = 1;
    u64 root = ept_alloc_root(&p);
    assert_true(root != 0);
    /* Two leaves 1 GiB apart: root, PDPT, then a PD and a PT each. */
    assert_true(ept_set_4k(&p, root, 0x40000000, 0x1234000, VMX_EPT_RWX_MASK, &tables));
    assert_true(ept_set_4k(&p, root, 0x80000000, 0x5678000, VMX_EPT_READABLE_MASK, &tables));
    assert_int_equal(tables, 6);
    assert_int_equal(p.n_free, 2);
    assert_int_equal(global_out, before);
    int level;
    assert_int_equal(ept_lookup(root, 0x80000000, &level) & EPT_ADDR_MASK, 0x5678000);
    assert_int_equal(level, 1);
    /* A third region needs a PD and a PT (2): fits; a fourth does not. */
    assert_true(ept_set_4k(&p, root, 0xc0000000, 0x9000, VMX_EPT_RWX_MASK, &tables));
    assert_int_equal(p.n_free, 0);
    assert_false(ept_set_4k(&p, root, 0x100000000ULL, 0xa000, VMX_EPT_RWX_MASK, &tables));
    assert_int_equal(global_out, before);
    ept_free(&p, root);
    assert_int_equal(p.n_free, 8);
    assert_int_equal(vm_pages_release(&p), 0);
    /* Without a pool, the global allocator (EPT01's path). */
    root = ept_alloc_root(NULL);
    assert_true(ept_map(NULL, root, 0, 0x200000, 2, VMX_EPT_RWX_MASK, NULL));
    assert_int_equal(global_out, 3);                    /* PML4, PDPT, PD */
    ept_free(NULL, root);
    assert_int_equal(global_out, 0);
}

/* ept_clone_hiding(): the copy maps what the original maps, but for the
 * one hidden 4 KiB page; its four tables replace the original's on the
 * path to that page and nowhere else (the rest is shared, so a later leaf
 * under a shared table shows in both); the original is untouched; a large
 * page over the address is refused, a path that maps nothing is a copy. */
static void ept_clone_hides_one_page(void **state)
{
    (void)state;
    const u64 hide = 0xfee00000ULL;
    u64 root = ept_alloc_root(NULL), pages[EPT_LEVELS];
    int level;

    assert_true(ept_map(NULL, root, 0, 0x200000, 2, VMX_EPT_RWX_MASK, NULL));        /* RAM, 2 MiB */
    assert_true(ept_set_4k(NULL, root, 0x400000, 0x777000, VMX_EPT_RWX_MASK, NULL));  /* RAM, 4 KiB */
    assert_true(ept_set_4k(NULL, root, hide, 0xabc000, VMX_EPT_READABLE_MASK | VMX_EPT_WRITABLE_MASK, NULL));
    assert_true(ept_set_4k(NULL, root, hide + 0x1000, 0xdef000, VMX_EPT_READABLE_MASK, NULL));
    assert_true(ept_set_4k(NULL, root, 0xfec00000ULL, 0x123000, VMX_EPT_READABLE_MASK, NULL));
    for (u32 i = 0; i < EPT_LEVELS; i++)
        pages[i] = alloc_page();
    assert_true(ept_clone_hiding(root, hide, pages));
    assert_int_equal(ept_lookup(pages[0], hide, &level), 0);
    assert_int_equal(ept_lookup(root, hide, &level) & EPT_ADDR_MASK, 0xabc000);
    const u64 same[] = { 0, 0x1ff000, 0x400000, hide + 0x1000, 0xfec00000ULL, 0x80000000ULL };
    for (u32 i = 0; i < ARRAY_SIZE(same); i++) {
        int l1 = 0, l2 = 0;
        assert_int_equal(ept_lookup(pages[0], same[i], &l1), ept_lookup(root, same[i], &l2));
        assert_int_equal(l1, l2);
    }
    /* Off the path, tables are shared: a new leaf there shows in the copy. */
    assert_true(ept_set_4k(NULL, root, 0x401000, 0x778000, VMX_EPT_RWX_MASK, NULL));
    assert_int_equal(ept_lookup(pages[0], 0x401000, &level) & EPT_ADDR_MASK, 0x778000);
    /* An address nothing maps: a plain copy; under a large page: refused. */
    assert_true(ept_clone_hiding(root, 0x8000000000ULL, pages));
    assert_int_equal(ept_lookup(pages[0], 0x400000, &level) & EPT_ADDR_MASK, 0x777000);
    assert_false(ept_clone_hiding(root, 0x100000, pages));
    for (u32 i = 0; i < EPT_LEVELS; i++)
        free_pages(pages[i], 1);
    ept_free(NULL, root);
    assert_int_equal(global_out, 0);
}

static u64 rng = 0x9e3779b97f4a7c15ULL;
static u64 rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dULL;
}

/* Random alloc/free against a model: the pool's counts, its free list and
 * the set of pages out always agree; nothing goes to or comes from the
 * global allocator between reserve and release. */
static void random_model(void **state)
{
    (void)state;
    enum { N = 200 };
    struct vm_pages p;
    u64 out[N], n_out = 0, low = N;

    assert_true(vm_pages_reserve(&p, N));
    for (int step = 0; step < 20000; step++) {
        if (rnd() % 2 && n_out < N + 1) {
            u64 pa = vm_pages_alloc(&p);
            if (n_out == N) {
                assert_int_equal(pa, 0);
                continue;
            }
            assert_true(pa != 0);
            for (u64 k = 0; k < n_out; k++)
                assert_true(out[k] != pa);
            out[n_out++] = pa;
        } else if (n_out) {
            u64 k = rnd() % n_out;
            vm_pages_free(&p, out[k]);
            out[k] = out[--n_out];
        }
        if (N - n_out < low)
            low = N - n_out;
        assert_int_equal(p.n_free, N - n_out);
        assert_int_equal(p.low_water, low);
        assert_int_equal(global_out, N);
        if (step % 500 == 0)
            assert_int_equal(count_free_list(&p), N - n_out);
    }
    assert_int_equal(vm_pages_release(&p), n_out);
    for (u64 k = 0; k < n_out; k++)
        free_pages(out[k], 1);                          /* the leaked ones, by hand */
    assert_int_equal(global_out, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reserve_alloc_release, setup, teardown),
        cmocka_unit_test_setup_teardown(reserve_fails_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(one_dry_pool_leaves_another, setup, teardown),
        cmocka_unit_test_setup_teardown(free_past_total_panics, setup, teardown),
        cmocka_unit_test_setup_teardown(ept_in_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(ept_clone_hides_one_page, setup, teardown),
        cmocka_unit_test_setup_teardown(random_model, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
