/*
 * Writing a snapshot file on the host (the hosted counterpart of turtle's
 * streaming writer): sections are added in any order, then tsnap_build()
 * lays out header, table and 8-aligned payloads and computes the CRC.
 * Used by turtle-snap import-kvm, the KVM VMM's save path and the tests.
 */
#ifndef TURTLE_TOOLS_SNAP_BUILDER_H
#define TURTLE_TOOLS_SNAP_BUILDER_H

#include "snapshot/format.h"

struct tsnap_builder {
    u32 n;
    struct tsnap_section sec[TSNAP_MAX_SECTIONS];
    void *data[TSNAP_MAX_SECTIONS];
    char turtle_version[16];
    bool failed;                /* an allocation failed or the table is full */
};

void tsnap_builder_init(struct tsnap_builder *b, const char *turtle_version);
/* Adds a section holding a copy of size bytes at data; returns the copy
 * (for the caller to patch) or NULL on failure. */
void *tsnap_add(struct tsnap_builder *b, u32 type, u32 instance, const void *data, u64 size);
/* The same with an explicit section version and flags. */
void *tsnap_add_ex(struct tsnap_builder *b, u32 type, u32 version, u32 instance, u32 flags,
                   const void *data, u64 size);
/* A kvm_msrs / kvm_cpuid2 style list: an 8-byte header (count, 0) then n entries. */
void *tsnap_add_list(struct tsnap_builder *b, u32 type, u32 instance, const void *entries, u32 n, u64 entry_size);
/* The memory section from a RAM image of mem_size bytes, zero pages elided. */
bool tsnap_add_memory(struct tsnap_builder *b, const void *ram, u64 mem_size);
/* The file (malloc'd, *len bytes), or NULL. Frees the builder's sections. */
void *tsnap_build(struct tsnap_builder *b, u64 *len);
void tsnap_builder_free(struct tsnap_builder *b);

#endif
