/*
 * Building a snapshot file (snapshot/take.c) and sending it
 * (snapshot/stream.c). The file is never built in one buffer: a paused
 * VM's state is gathered (struct snap_work, a few pages), then the file is
 * emitted twice in order through a sink, once to checksum it and once to
 * send it (and keep it), reading guest RAM in place.
 */
#ifndef TURTLE_SNAP_TAKE_INT_H
#define TURTLE_SNAP_TAKE_INT_H

#include "snapshot/snap_int.h"

#define SNAP_MAX_SECTIONS   40

struct snap_work {
    struct tsnap_header header;
    struct tsnap_section sec[SNAP_MAX_SECTIONS];
    const void *payload[SNAP_MAX_SECTIONS];     /* NULL: the memory section */
    u32 n_sections;
    u64 end;                                    /* file size so far */

    struct tsnap_machine machine;
    struct tsnap_kvm_cpuid2 cpuid;
    struct tsnap_kvm_cpuid_entry2 cpuid_entry[SNAP_MAX_CPUID];
    struct tsnap_kvm_msrs vmx_caps;
    struct tsnap_kvm_msr_entry vmx_cap[SNAP_MAX_VMX_CAPS];
    struct tsnap_memory memory;
    u64 *bitmap;                                /* its own pages */
    u64 bitmap_words;
    struct snap_devices dev;
    struct snap_vcpu vcpu;                      /* VM_MAX_VCPUS is 1 */
    u32 nested_size;
    const struct vm *vm;
};

struct snap_sink {
    void (*put)(struct snap_sink *s, const void *p, u64 len);
    u32 crc;                                    /* running CRC-32C state */
    u64 pos;
    u8 *keep;                                   /* a copy in turtle's memory, or NULL */
};

/* What every sink does with the bytes: checksum, copy to keep, count. */
void snap_sink_account(struct snap_sink *s, const void *p, u64 len);
/* Writes the whole file into the sink, in order. */
void snap_emit(const struct snap_work *w, struct snap_sink *sink);

/* The snapshot kept by the last SNAPSHOT_KEEP (NULL, 0 if none). */
void snapshot_kept(const void **file, u64 *size);

/* snapshot/stream.c: the framed stream on the snapshot port. */
void snap_stream_begin(u64 length);
void snap_stream_put(struct snap_sink *s, const void *p, u64 len);
void snap_stream_end(u32 crc);

#endif
