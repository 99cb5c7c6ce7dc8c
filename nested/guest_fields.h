/*
 * The guest-state fields vmcs02 takes from vmcs12 as they are, and gives
 * back at a reflected exit: (encoding, vmcs12 member), named once. Users
 * expand the list into an array of encodings or into straight-line
 * copies, one VMREAD or VMWRITE per field with a constant encoding (no
 * table walk on the exit path). Each member's size is its field's width
 * (GUEST_FIELD_WIDTH_OK).
 */
#ifndef TURTLE_NESTED_GUEST_FIELDS_H
#define TURTLE_NESTED_GUEST_FIELDS_H

#include "nested/vmcs12.h"

#define VMCS02_GUEST_FIELDS(X)                                                  \
    X(GUEST_ES_SELECTOR, guest_es_selector) X(GUEST_CS_SELECTOR, guest_cs_selector) \
    X(GUEST_SS_SELECTOR, guest_ss_selector) X(GUEST_DS_SELECTOR, guest_ds_selector) \
    X(GUEST_FS_SELECTOR, guest_fs_selector) X(GUEST_GS_SELECTOR, guest_gs_selector) \
    X(GUEST_LDTR_SELECTOR, guest_ldtr_selector) X(GUEST_TR_SELECTOR, guest_tr_selector) \
    X(GUEST_ES_LIMIT, guest_es_limit) X(GUEST_CS_LIMIT, guest_cs_limit)         \
    X(GUEST_SS_LIMIT, guest_ss_limit) X(GUEST_DS_LIMIT, guest_ds_limit)         \
    X(GUEST_FS_LIMIT, guest_fs_limit) X(GUEST_GS_LIMIT, guest_gs_limit)         \
    X(GUEST_LDTR_LIMIT, guest_ldtr_limit) X(GUEST_TR_LIMIT, guest_tr_limit)     \
    X(GUEST_GDTR_LIMIT, guest_gdtr_limit) X(GUEST_IDTR_LIMIT, guest_idtr_limit) \
    X(GUEST_ES_AR_BYTES, guest_es_ar_bytes) X(GUEST_CS_AR_BYTES, guest_cs_ar_bytes) \
    X(GUEST_SS_AR_BYTES, guest_ss_ar_bytes) X(GUEST_DS_AR_BYTES, guest_ds_ar_bytes) \
    X(GUEST_FS_AR_BYTES, guest_fs_ar_bytes) X(GUEST_GS_AR_BYTES, guest_gs_ar_bytes) \
    X(GUEST_LDTR_AR_BYTES, guest_ldtr_ar_bytes) X(GUEST_TR_AR_BYTES, guest_tr_ar_bytes) \
    X(GUEST_ES_BASE, guest_es_base) X(GUEST_CS_BASE, guest_cs_base)             \
    X(GUEST_SS_BASE, guest_ss_base) X(GUEST_DS_BASE, guest_ds_base)             \
    X(GUEST_FS_BASE, guest_fs_base) X(GUEST_GS_BASE, guest_gs_base)             \
    X(GUEST_LDTR_BASE, guest_ldtr_base) X(GUEST_TR_BASE, guest_tr_base)         \
    X(GUEST_GDTR_BASE, guest_gdtr_base) X(GUEST_IDTR_BASE, guest_idtr_base)     \
    X(GUEST_INTERRUPTIBILITY_INFO, guest_interruptibility_info)                 \
    X(GUEST_ACTIVITY_STATE, guest_activity_state)                               \
    X(GUEST_SYSENTER_CS, guest_sysenter_cs) X(GUEST_SYSENTER_ESP, guest_sysenter_esp) \
    X(GUEST_SYSENTER_EIP, guest_sysenter_eip) X(GUEST_RSP, guest_rsp)           \
    X(GUEST_RIP, guest_rip) X(GUEST_RFLAGS, guest_rflags)                       \
    X(GUEST_PENDING_DBG_EXCEPTIONS, guest_pending_dbg_exceptions)               \
    X(GUEST_CR3, guest_cr3)

/* The bytes a field of this encoding takes in vmcs12 (natural width: 8). */
#define VMCS12_FIELD_BYTES(enc)                                                 \
    (VMCS_FIELD_WIDTH(enc) == VMCS_FIELD_WIDTH_16 ? 2 : VMCS_FIELD_WIDTH(enc) == VMCS_FIELD_WIDTH_32 ? 4 : 8)
#define GUEST_FIELD_WIDTH_OK(enc, member)                                       \
    _Static_assert(sizeof(((struct vmcs12 *)0)->member) == VMCS12_FIELD_BYTES(enc), #member " is " #enc "'s width");

#endif
