/*
 * turtle-snap: reads, checks and converts turtle snapshots on the host
 * (docs/snapshot.md "turtle-snap"). A hosted program; it links the same
 * snapshot/ sources turtle does, so "check" makes turtle's own checks.
 *
 * Files: main.c commands and file loading; info.c the human-readable dump;
 * decode.c names of controls and registers; check.c the check report;
 * kvm_dir.c export-kvm / import-kvm (the directory of KVM ioctl payloads,
 * shared with tools/vmm); unframe.c a snapshot out of a serial stream;
 * kvm_abi.c the layouts against <linux/kvm.h>.
 */
#ifndef TURTLE_TOOLS_SNAP_H
#define TURTLE_TOOLS_SNAP_H

#include <stdio.h>

#include "snapshot/parse.h"

/* vmcs12 members from nested/vmcs12-layout.tsv (generated table). */
struct vmcs12_name {
    const char *name;
    unsigned offset;
    int encoding;               /* -1: not a VMCS field (hdr, abort, launch_state, dead_space) */
};
extern const struct vmcs12_name vmcs12_names[];
extern const unsigned vmcs12_names_n;

/* A snapshot file in memory (8-aligned) and its accepted view. */
struct snap_file {
    u8 *data;
    u64 len;
    struct tsnap_view view;
};

/* Reads path into f; prints why and returns -1 on an I/O error. Does not parse. */
int snap_read_file(const char *path, struct snap_file *f);
/* Reads and parses; prints the refusal and returns -1 if the file is not sound. */
int snap_load(const char *path, struct snap_file *f);
void snap_free(struct snap_file *f);

/* info.c / decode.c */
int cmd_info(const char *path, FILE *out);
/* Prints an accepted view (also the fuzzer's decode path). */
void info_view(const struct tsnap_view *view, FILE *out);
void decode_bits(FILE *out, const char *label, u64 value, const char *const names[], unsigned n);
void decode_controls(FILE *out, const u8 *vmcs12);
void print_vmcs12(FILE *out, const u8 *vmcs12, const char *indent);

/* check.c: 0 if every check passes, 1 if one fails. */
int cmd_check(const char *path, FILE *out);

/* load.c: the conversion commands over kvm_dir.h */
int cmd_export_kvm(const char *path, const char *dir);
int cmd_import_kvm(const char *dir, const char *path);

/* unframe.c: a snapshot out of a serial stream (struct tsnap_frame_head/tail). */
bool snap_find_frame(const u8 *stream, u64 len, u64 *at, u64 *n);
int cmd_unframe(const char *stream, const char *path);

#endif
