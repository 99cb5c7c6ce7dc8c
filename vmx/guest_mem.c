/*
 * Guest RAM: 2 MiB frames from the allocator, one per 2 MiB of
 * guest-physical space, so EPT01 maps it with large pages. Copies walk the
 * frame table and refuse anything that leaves [0, mem_size).
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "vmx/guest.h"

bool guest_mem_alloc(struct guest *g, u64 size)
{
    g->n_chunks = size / LARGE_PAGE_SIZE;
    u64 table_pages = ALIGN_UP(g->n_chunks * sizeof(u64), PAGE_SIZE) / PAGE_SIZE;
    u64 table = alloc_pages(table_pages, PAGE_SIZE);
    if (!table)
        return false;
    g->chunks = phys_to_virt(table);
    for (u64 i = 0; i < g->n_chunks; i++) {
        g->chunks[i] = alloc_pages(LARGE_PAGE_SIZE / PAGE_SIZE, LARGE_PAGE_SIZE);
        if (!g->chunks[i]) {
            g->n_chunks = i;
            guest_mem_free(g);
            return false;
        }
    }
    g->mem_size = size;
    return true;
}

void guest_mem_free(struct guest *g)
{
    if (!g->chunks)
        return;
    for (u64 i = 0; i < g->n_chunks; i++)
        free_pages(g->chunks[i], LARGE_PAGE_SIZE / PAGE_SIZE);
    u64 table_pages = ALIGN_UP(MAX(g->n_chunks, 1) * sizeof(u64), PAGE_SIZE) / PAGE_SIZE;
    free_pages(virt_to_phys_direct(g->chunks), table_pages);
    g->chunks = NULL;
    g->n_chunks = 0;
}

u64 guest_gpa_to_hpa(const struct guest *g, u64 gpa)
{
    if (gpa >= g->mem_size)
        return 0;
    return g->chunks[gpa / LARGE_PAGE_SIZE] + gpa % LARGE_PAGE_SIZE;
}

static bool in_ram(const struct guest *g, u64 gpa, u64 len)
{
    return gpa < g->mem_size && len <= g->mem_size - gpa;
}

/* Calls fn on each host-contiguous piece of [gpa, gpa + len). */
#define FOR_EACH_PIECE(g, gpa, len, host, n, body)                              \
    do {                                                                        \
        u64 _gpa = (gpa), _left = (len);                                        \
        while (_left) {                                                         \
            u64 n = MIN(_left, LARGE_PAGE_SIZE - _gpa % LARGE_PAGE_SIZE);      \
            u8 *host = phys_to_virt(guest_gpa_to_hpa((g), _gpa));               \
            body;                                                               \
            _gpa += n;                                                          \
            _left -= n;                                                         \
        }                                                                       \
    } while (0)

bool guest_copy_to(struct guest *g, u64 gpa, const void *src, u64 len)
{
    const u8 *s = src;
    if (!in_ram(g, gpa, len))
        return false;
    FOR_EACH_PIECE(g, gpa, len, host, n, { memcpy(host, s, n); s += n; });
    return true;
}

bool guest_copy_from(struct guest *g, void *dst, u64 gpa, u64 len)
{
    u8 *d = dst;
    if (!in_ram(g, gpa, len))
        return false;
    FOR_EACH_PIECE(g, gpa, len, host, n, { memcpy(d, host, n); d += n; });
    return true;
}

bool guest_zero(struct guest *g, u64 gpa, u64 len)
{
    if (!in_ram(g, gpa, len))
        return false;
    FOR_EACH_PIECE(g, gpa, len, host, n, { memset(host, 0, n); });
    return true;
}
