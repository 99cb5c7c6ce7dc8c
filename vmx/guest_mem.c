/*
 * Guest RAM. Each 2 MiB of guest-physical space is one "chunk": a 2 MiB
 * frame from the allocator when one is free (EPT01 maps it with a large
 * page), otherwise, and for a partial last chunk, a list of 4 KiB frames
 * (mapped with 4 KiB pages). Copies walk the chunk table and refuse
 * anything that leaves [0, mem_size).
 */
#include "kernel/mm.h"
#include "kernel/printf.h"
#include "vmx/ept.h"
#include "vmx/vm.h"

#define CHUNK_SPLIT         BIT(0)      /* chunk is a page listing 4 KiB frames */
#define FRAMES_PER_CHUNK    (LARGE_PAGE_SIZE / PAGE_SIZE)

static bool chunk_split(u64 c) { return c & CHUNK_SPLIT; }
static u64 *chunk_frames(u64 c) { return phys_to_virt(c & ~CHUNK_SPLIT); }

/* A chunk of 4 KiB frames covering `bytes` (<= 2 MiB) of guest RAM. */
static u64 alloc_split_chunk(u64 bytes)
{
    u64 list = alloc_page();
    if (!list)
        return 0;
    u64 *frames = phys_to_virt(list);
    for (u64 i = 0; i < bytes / PAGE_SIZE; i++) {
        frames[i] = alloc_page();
        if (!frames[i]) {
            for (u64 k = 0; k < i; k++)
                free_pages(frames[k], 1);
            free_pages(list, 1);
            return 0;
        }
    }
    return list | CHUNK_SPLIT;
}

static void free_chunk(u64 c)
{
    if (!chunk_split(c)) {
        free_pages(c, FRAMES_PER_CHUNK);
        return;
    }
    u64 *frames = chunk_frames(c);
    for (u64 i = 0; i < FRAMES_PER_CHUNK; i++)
        if (frames[i])
            free_pages(frames[i], 1);
    free_pages(c & ~CHUNK_SPLIT, 1);
}

bool guest_mem_alloc(struct vm *vm, u64 size)
{
    vm->n_chunks = ALIGN_UP(size, LARGE_PAGE_SIZE) / LARGE_PAGE_SIZE;
    u64 table_pages = ALIGN_UP(vm->n_chunks * sizeof(u64), PAGE_SIZE) / PAGE_SIZE;
    u64 table = alloc_pages(table_pages, PAGE_SIZE);
    if (!table)
        return false;
    vm->chunks = phys_to_virt(table);
    for (u64 i = 0; i < vm->n_chunks; i++) {
        u64 bytes = MIN(LARGE_PAGE_SIZE, size - i * LARGE_PAGE_SIZE);
        u64 c = 0;
        if (bytes == LARGE_PAGE_SIZE && !turtle_small_frames)
            c = alloc_pages(FRAMES_PER_CHUNK, LARGE_PAGE_SIZE);
        if (!c)
            c = alloc_split_chunk(bytes);   /* fragmented, or a partial chunk */
        vm->chunks[i] = c;
        if (!c) {
            vm->n_chunks = i;
            guest_mem_free(vm);
            return false;
        }
    }
    vm->mem_size = size;
    return true;
}

void guest_mem_free(struct vm *vm)
{
    if (!vm->chunks)
        return;
    for (u64 i = 0; i < vm->n_chunks; i++)
        free_chunk(vm->chunks[i]);
    u64 table_pages = ALIGN_UP(MAX(vm->n_chunks, 1) * sizeof(u64), PAGE_SIZE) / PAGE_SIZE;
    free_pages(virt_to_phys_direct(vm->chunks), table_pages);
    vm->chunks = NULL;
    vm->n_chunks = 0;
}

bool guest_mem_map(struct vm *vm, u64 ept_root)
{
    for (u64 i = 0; i < vm->n_chunks; i++) {
        u64 c = vm->chunks[i], gpa = i * LARGE_PAGE_SIZE;
        if (!chunk_split(c)) {
            if (!ept_map(NULL, ept_root, gpa, c, 2, VMX_EPT_RWX_MASK, NULL))
                return false;
            continue;
        }
        u64 *frames = chunk_frames(c);
        for (u64 k = 0; k < FRAMES_PER_CHUNK && frames[k]; k++)
            if (!ept_map(NULL, ept_root, gpa + k * PAGE_SIZE, frames[k], 1, VMX_EPT_RWX_MASK, NULL))
                return false;
    }
    return true;
}

u64 guest_gpa_to_hpa(const struct vm *vm, u64 gpa)
{
    if (gpa >= vm->mem_size)
        return 0;
    u64 c = vm->chunks[gpa / LARGE_PAGE_SIZE];
    if (!chunk_split(c))
        return c + gpa % LARGE_PAGE_SIZE;
    return chunk_frames(c)[(gpa % LARGE_PAGE_SIZE) / PAGE_SIZE] + gpa % PAGE_SIZE;
}

u64 guest_gpa_to_hpa_2m(const struct vm *vm, u64 gpa)
{
    if ((gpa & (LARGE_PAGE_SIZE - 1)) || gpa >= vm->mem_size || vm->mem_size - gpa < LARGE_PAGE_SIZE)
        return 0;
    u64 c = vm->chunks[gpa / LARGE_PAGE_SIZE];
    return chunk_split(c) ? 0 : c;
}

static bool in_ram(const struct vm *vm, u64 gpa, u64 len)
{
    return gpa < vm->mem_size && len <= vm->mem_size - gpa;
}

/* Bytes from gpa that are contiguous in host memory. */
static u64 contiguous(const struct vm *vm, u64 gpa)
{
    if (chunk_split(vm->chunks[gpa / LARGE_PAGE_SIZE]))
        return PAGE_SIZE - gpa % PAGE_SIZE;
    return LARGE_PAGE_SIZE - gpa % LARGE_PAGE_SIZE;
}

/* Runs body on each host-contiguous piece of [gpa, gpa + len). */
#define FOR_EACH_PIECE(vm, gpa, len, host, n, body)                              \
    do {                                                                        \
        u64 _gpa = (gpa), _left = (len);                                        \
        while (_left) {                                                         \
            u64 n = MIN(_left, contiguous((vm), _gpa));                          \
            u8 *host = phys_to_virt(guest_gpa_to_hpa((vm), _gpa));               \
            body;                                                               \
            _gpa += n;                                                          \
            _left -= n;                                                         \
        }                                                                       \
    } while (0)

bool guest_copy_to(struct vm *vm, u64 gpa, const void *src, u64 len)
{
    const u8 *s = src;
    if (!in_ram(vm, gpa, len))
        return false;
    FOR_EACH_PIECE(vm, gpa, len, host, n, { memcpy(host, s, n); s += n; });
    return true;
}

bool guest_copy_from(struct vm *vm, void *dst, u64 gpa, u64 len)
{
    u8 *d = dst;
    if (!in_ram(vm, gpa, len))
        return false;
    FOR_EACH_PIECE(vm, gpa, len, host, n, { memcpy(d, host, n); d += n; });
    return true;
}

bool guest_zero(struct vm *vm, u64 gpa, u64 len)
{
    if (!in_ram(vm, gpa, len))
        return false;
    FOR_EACH_PIECE(vm, gpa, len, host, n, { memset(host, 0, n); });
    return true;
}
