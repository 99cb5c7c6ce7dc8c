/*
 * struct vmcs12: L1's VMCS as turtle keeps it in L1 memory.
 *
 * *******************************************************************
 * * THIS LAYOUT IS AN ABI. It is byte for byte the vmcs12 of Linux  *
 * * KVM (arch/x86/kvm/vmx/vmcs12.h, as of Linux 6.18), so that the  *
 * * nested state in a turtle snapshot is a valid KVM                *
 * * KVM_SET_NESTED_STATE payload, and so that a snapshot taken by   *
 * * an older turtle restores in a newer one.                        *
 * *                                                                 *
 * *   - A field NEVER moves and is never resized or removed.        *
 * *   - A new field takes a slot in one of the padding arrays (and  *
 * *     the array shrinks), or goes after the last member.          *
 * *   - Every member's offset is pinned by a _Static_assert below;  *
 * *     if one fires, the change is wrong, not the assert.          *
 * *******************************************************************
 *
 * The authoritative list (member, byte offset, VMCS encoding) is
 * nested/vmcs12-layout.tsv; tests/unit/test_vmcs12.c checks this header and
 * the encoding table in nested/vmcs12_fields.c against it.
 *
 * Members are the lower-case SDM/KVM encoding names (GUEST_RIP -> guest_rip),
 * except guest_ssp_tbl / host_ssp_tbl (GUEST_INTR_SSP_TABLE /
 * HOST_INTR_SSP_TABLE), kept as KVM spells them. Natural-width fields are
 * u64. The struct is packed: never take the address of a member as a
 * pointer to an aligned type; go through vmcs12_read()/vmcs12_write() or
 * plain member access (the compiler then emits unaligned-safe code).
 */
#ifndef TURTLE_NESTED_VMCS12_H
#define TURTLE_NESTED_VMCS12_H

#include "kernel/types.h"
#include "vmx/vmcs_fields.h"

/* Revision id L1 sees in IA32_VMX_BASIC and must put in its VMCS region. */
#define VMCS12_REVISION     0x11e57ed0
/* Size of the VMCS region L1 allocates (IA32_VMX_BASIC bits 44:32). */
#define VMCS12_SIZE         4096
#define LAUNCH_STATE_CLEAR      0           /* vmcs12.launch_state, as KVM keeps it */
#define LAUNCH_STATE_LAUNCHED   1

/* First 32 bits of every VMCS region (SDM 25.2, Table 25-1). */
struct vmcs12_hdr {
	u32 revision_id : 31;
	u32 shadow_vmcs : 1;
} __packed;

struct vmcs12 {
	struct vmcs12_hdr hdr;                  /* revision id and shadow-VMCS indicator (SDM 25.2) */
	u32 abort;                              /* VMX-abort indicator (SDM 25.2) */
	u32 launch_state;                       /* KVM: 0 = clear, 1 = launched */
	u32 padding[7];                         /* reserved for future fields */

	/* --- 64-bit fields (SDM B.2), in KVM's historical order --- */
	u64 io_bitmap_a;
	u64 io_bitmap_b;
	u64 msr_bitmap;
	u64 vm_exit_msr_store_addr;
	u64 vm_exit_msr_load_addr;
	u64 vm_entry_msr_load_addr;
	u64 tsc_offset;
	u64 virtual_apic_page_addr;
	u64 apic_access_addr;
	u64 posted_intr_desc_addr;
	u64 ept_pointer;
	u64 eoi_exit_bitmap0;
	u64 eoi_exit_bitmap1;
	u64 eoi_exit_bitmap2;
	u64 eoi_exit_bitmap3;
	u64 xss_exit_bitmap;
	u64 guest_physical_address;
	u64 vmcs_link_pointer;
	u64 guest_ia32_debugctl;
	u64 guest_ia32_pat;
	u64 guest_ia32_efer;
	u64 guest_ia32_perf_global_ctrl;
	u64 guest_pdptr0;
	u64 guest_pdptr1;
	u64 guest_pdptr2;
	u64 guest_pdptr3;
	u64 guest_bndcfgs;
	u64 host_ia32_pat;
	u64 host_ia32_efer;
	u64 host_ia32_perf_global_ctrl;
	u64 vmread_bitmap;
	u64 vmwrite_bitmap;
	u64 vm_function_control;
	u64 eptp_list_address;
	u64 pml_address;
	u64 encls_exiting_bitmap;
	u64 tsc_multiplier;
	u64 padding64[1];                       /* reserved for a future 64-bit field */

	/* --- natural-width fields (SDM B.4); u64 as KVM's natural_width on x86-64 --- */
	u64 cr0_guest_host_mask;
	u64 cr4_guest_host_mask;
	u64 cr0_read_shadow;
	u64 cr4_read_shadow;
	u64 dead_space[4];                      /* retired CR3-target values 0..3; not a field */
	u64 exit_qualification;
	u64 guest_linear_address;
	u64 guest_cr0;
	u64 guest_cr3;
	u64 guest_cr4;
	u64 guest_es_base;
	u64 guest_cs_base;
	u64 guest_ss_base;
	u64 guest_ds_base;
	u64 guest_fs_base;
	u64 guest_gs_base;
	u64 guest_ldtr_base;
	u64 guest_tr_base;
	u64 guest_gdtr_base;
	u64 guest_idtr_base;
	u64 guest_dr7;
	u64 guest_rsp;
	u64 guest_rip;
	u64 guest_rflags;
	u64 guest_pending_dbg_exceptions;
	u64 guest_sysenter_esp;
	u64 guest_sysenter_eip;
	u64 host_cr0;
	u64 host_cr3;
	u64 host_cr4;
	u64 host_fs_base;
	u64 host_gs_base;
	u64 host_tr_base;
	u64 host_gdtr_base;
	u64 host_idtr_base;
	u64 host_ia32_sysenter_esp;
	u64 host_ia32_sysenter_eip;
	u64 host_rsp;
	u64 host_rip;
	u64 host_s_cet;
	u64 host_ssp;
	u64 host_ssp_tbl;
	u64 guest_s_cet;
	u64 guest_ssp;
	u64 guest_ssp_tbl;
	u64 paddingl[2];                        /* reserved for future natural-width fields */

	/* --- 32-bit fields (SDM B.3) --- */
	u32 pin_based_vm_exec_control;
	u32 cpu_based_vm_exec_control;
	u32 exception_bitmap;
	u32 page_fault_error_code_mask;
	u32 page_fault_error_code_match;
	u32 cr3_target_count;
	u32 vm_exit_controls;
	u32 vm_exit_msr_store_count;
	u32 vm_exit_msr_load_count;
	u32 vm_entry_controls;
	u32 vm_entry_msr_load_count;
	u32 vm_entry_intr_info_field;
	u32 vm_entry_exception_error_code;
	u32 vm_entry_instruction_len;
	u32 tpr_threshold;
	u32 secondary_vm_exec_control;
	u32 vm_instruction_error;
	u32 vm_exit_reason;
	u32 vm_exit_intr_info;
	u32 vm_exit_intr_error_code;
	u32 idt_vectoring_info_field;
	u32 idt_vectoring_error_code;
	u32 vm_exit_instruction_len;
	u32 vmx_instruction_info;
	u32 guest_es_limit;
	u32 guest_cs_limit;
	u32 guest_ss_limit;
	u32 guest_ds_limit;
	u32 guest_fs_limit;
	u32 guest_gs_limit;
	u32 guest_ldtr_limit;
	u32 guest_tr_limit;
	u32 guest_gdtr_limit;
	u32 guest_idtr_limit;
	u32 guest_es_ar_bytes;
	u32 guest_cs_ar_bytes;
	u32 guest_ss_ar_bytes;
	u32 guest_ds_ar_bytes;
	u32 guest_fs_ar_bytes;
	u32 guest_gs_ar_bytes;
	u32 guest_ldtr_ar_bytes;
	u32 guest_tr_ar_bytes;
	u32 guest_interruptibility_info;
	u32 guest_activity_state;
	u32 guest_sysenter_cs;
	u32 host_ia32_sysenter_cs;
	u32 vmx_preemption_timer_value;
	u32 padding32[7];                       /* reserved for future 32-bit fields */

	/* --- 16-bit fields (SDM B.1) --- */
	u16 virtual_processor_id;
	u16 posted_intr_nv;
	u16 guest_es_selector;
	u16 guest_cs_selector;
	u16 guest_ss_selector;
	u16 guest_ds_selector;
	u16 guest_fs_selector;
	u16 guest_gs_selector;
	u16 guest_ldtr_selector;
	u16 guest_tr_selector;
	u16 guest_intr_status;
	u16 host_es_selector;
	u16 host_cs_selector;
	u16 host_ss_selector;
	u16 host_ds_selector;
	u16 host_fs_selector;
	u16 host_gs_selector;
	u16 host_tr_selector;
	u16 guest_pml_index;
} __packed;

/*
 * Pinned layout (KVM's CHECK_OFFSET list, written from the spec offsets).
 */
#define VMCS12_OFFSET(member, off)                                      \
	_Static_assert(offsetof(struct vmcs12, member) == (off),        \
		       "vmcs12." #member " moved: vmcs12 is an ABI")

_Static_assert(sizeof(struct vmcs12_hdr) == 4, "vmcs12 header is 32 bits");
_Static_assert(sizeof(struct vmcs12) == 998, "sizeof(struct vmcs12) is 998");
_Static_assert(sizeof(struct vmcs12) <= VMCS12_SIZE, "vmcs12 fits its region");

VMCS12_OFFSET(hdr, 0);
VMCS12_OFFSET(abort, 4);
VMCS12_OFFSET(launch_state, 8);
VMCS12_OFFSET(padding, 12);
VMCS12_OFFSET(io_bitmap_a, 40);
VMCS12_OFFSET(io_bitmap_b, 48);
VMCS12_OFFSET(msr_bitmap, 56);
VMCS12_OFFSET(vm_exit_msr_store_addr, 64);
VMCS12_OFFSET(vm_exit_msr_load_addr, 72);
VMCS12_OFFSET(vm_entry_msr_load_addr, 80);
VMCS12_OFFSET(tsc_offset, 88);
VMCS12_OFFSET(virtual_apic_page_addr, 96);
VMCS12_OFFSET(apic_access_addr, 104);
VMCS12_OFFSET(posted_intr_desc_addr, 112);
VMCS12_OFFSET(ept_pointer, 120);
VMCS12_OFFSET(eoi_exit_bitmap0, 128);
VMCS12_OFFSET(eoi_exit_bitmap1, 136);
VMCS12_OFFSET(eoi_exit_bitmap2, 144);
VMCS12_OFFSET(eoi_exit_bitmap3, 152);
VMCS12_OFFSET(xss_exit_bitmap, 160);
VMCS12_OFFSET(guest_physical_address, 168);
VMCS12_OFFSET(vmcs_link_pointer, 176);
VMCS12_OFFSET(guest_ia32_debugctl, 184);
VMCS12_OFFSET(guest_ia32_pat, 192);
VMCS12_OFFSET(guest_ia32_efer, 200);
VMCS12_OFFSET(guest_ia32_perf_global_ctrl, 208);
VMCS12_OFFSET(guest_pdptr0, 216);
VMCS12_OFFSET(guest_pdptr1, 224);
VMCS12_OFFSET(guest_pdptr2, 232);
VMCS12_OFFSET(guest_pdptr3, 240);
VMCS12_OFFSET(guest_bndcfgs, 248);
VMCS12_OFFSET(host_ia32_pat, 256);
VMCS12_OFFSET(host_ia32_efer, 264);
VMCS12_OFFSET(host_ia32_perf_global_ctrl, 272);
VMCS12_OFFSET(vmread_bitmap, 280);
VMCS12_OFFSET(vmwrite_bitmap, 288);
VMCS12_OFFSET(vm_function_control, 296);
VMCS12_OFFSET(eptp_list_address, 304);
VMCS12_OFFSET(pml_address, 312);
VMCS12_OFFSET(encls_exiting_bitmap, 320);
VMCS12_OFFSET(tsc_multiplier, 328);
VMCS12_OFFSET(padding64, 336);
VMCS12_OFFSET(cr0_guest_host_mask, 344);
VMCS12_OFFSET(cr4_guest_host_mask, 352);
VMCS12_OFFSET(cr0_read_shadow, 360);
VMCS12_OFFSET(cr4_read_shadow, 368);
VMCS12_OFFSET(dead_space, 376);
VMCS12_OFFSET(exit_qualification, 408);
VMCS12_OFFSET(guest_linear_address, 416);
VMCS12_OFFSET(guest_cr0, 424);
VMCS12_OFFSET(guest_cr3, 432);
VMCS12_OFFSET(guest_cr4, 440);
VMCS12_OFFSET(guest_es_base, 448);
VMCS12_OFFSET(guest_cs_base, 456);
VMCS12_OFFSET(guest_ss_base, 464);
VMCS12_OFFSET(guest_ds_base, 472);
VMCS12_OFFSET(guest_fs_base, 480);
VMCS12_OFFSET(guest_gs_base, 488);
VMCS12_OFFSET(guest_ldtr_base, 496);
VMCS12_OFFSET(guest_tr_base, 504);
VMCS12_OFFSET(guest_gdtr_base, 512);
VMCS12_OFFSET(guest_idtr_base, 520);
VMCS12_OFFSET(guest_dr7, 528);
VMCS12_OFFSET(guest_rsp, 536);
VMCS12_OFFSET(guest_rip, 544);
VMCS12_OFFSET(guest_rflags, 552);
VMCS12_OFFSET(guest_pending_dbg_exceptions, 560);
VMCS12_OFFSET(guest_sysenter_esp, 568);
VMCS12_OFFSET(guest_sysenter_eip, 576);
VMCS12_OFFSET(host_cr0, 584);
VMCS12_OFFSET(host_cr3, 592);
VMCS12_OFFSET(host_cr4, 600);
VMCS12_OFFSET(host_fs_base, 608);
VMCS12_OFFSET(host_gs_base, 616);
VMCS12_OFFSET(host_tr_base, 624);
VMCS12_OFFSET(host_gdtr_base, 632);
VMCS12_OFFSET(host_idtr_base, 640);
VMCS12_OFFSET(host_ia32_sysenter_esp, 648);
VMCS12_OFFSET(host_ia32_sysenter_eip, 656);
VMCS12_OFFSET(host_rsp, 664);
VMCS12_OFFSET(host_rip, 672);
VMCS12_OFFSET(host_s_cet, 680);
VMCS12_OFFSET(host_ssp, 688);
VMCS12_OFFSET(host_ssp_tbl, 696);
VMCS12_OFFSET(guest_s_cet, 704);
VMCS12_OFFSET(guest_ssp, 712);
VMCS12_OFFSET(guest_ssp_tbl, 720);
VMCS12_OFFSET(paddingl, 728);
VMCS12_OFFSET(pin_based_vm_exec_control, 744);
VMCS12_OFFSET(cpu_based_vm_exec_control, 748);
VMCS12_OFFSET(exception_bitmap, 752);
VMCS12_OFFSET(page_fault_error_code_mask, 756);
VMCS12_OFFSET(page_fault_error_code_match, 760);
VMCS12_OFFSET(cr3_target_count, 764);
VMCS12_OFFSET(vm_exit_controls, 768);
VMCS12_OFFSET(vm_exit_msr_store_count, 772);
VMCS12_OFFSET(vm_exit_msr_load_count, 776);
VMCS12_OFFSET(vm_entry_controls, 780);
VMCS12_OFFSET(vm_entry_msr_load_count, 784);
VMCS12_OFFSET(vm_entry_intr_info_field, 788);
VMCS12_OFFSET(vm_entry_exception_error_code, 792);
VMCS12_OFFSET(vm_entry_instruction_len, 796);
VMCS12_OFFSET(tpr_threshold, 800);
VMCS12_OFFSET(secondary_vm_exec_control, 804);
VMCS12_OFFSET(vm_instruction_error, 808);
VMCS12_OFFSET(vm_exit_reason, 812);
VMCS12_OFFSET(vm_exit_intr_info, 816);
VMCS12_OFFSET(vm_exit_intr_error_code, 820);
VMCS12_OFFSET(idt_vectoring_info_field, 824);
VMCS12_OFFSET(idt_vectoring_error_code, 828);
VMCS12_OFFSET(vm_exit_instruction_len, 832);
VMCS12_OFFSET(vmx_instruction_info, 836);
VMCS12_OFFSET(guest_es_limit, 840);
VMCS12_OFFSET(guest_cs_limit, 844);
VMCS12_OFFSET(guest_ss_limit, 848);
VMCS12_OFFSET(guest_ds_limit, 852);
VMCS12_OFFSET(guest_fs_limit, 856);
VMCS12_OFFSET(guest_gs_limit, 860);
VMCS12_OFFSET(guest_ldtr_limit, 864);
VMCS12_OFFSET(guest_tr_limit, 868);
VMCS12_OFFSET(guest_gdtr_limit, 872);
VMCS12_OFFSET(guest_idtr_limit, 876);
VMCS12_OFFSET(guest_es_ar_bytes, 880);
VMCS12_OFFSET(guest_cs_ar_bytes, 884);
VMCS12_OFFSET(guest_ss_ar_bytes, 888);
VMCS12_OFFSET(guest_ds_ar_bytes, 892);
VMCS12_OFFSET(guest_fs_ar_bytes, 896);
VMCS12_OFFSET(guest_gs_ar_bytes, 900);
VMCS12_OFFSET(guest_ldtr_ar_bytes, 904);
VMCS12_OFFSET(guest_tr_ar_bytes, 908);
VMCS12_OFFSET(guest_interruptibility_info, 912);
VMCS12_OFFSET(guest_activity_state, 916);
VMCS12_OFFSET(guest_sysenter_cs, 920);
VMCS12_OFFSET(host_ia32_sysenter_cs, 924);
VMCS12_OFFSET(vmx_preemption_timer_value, 928);
VMCS12_OFFSET(padding32, 932);
VMCS12_OFFSET(virtual_processor_id, 960);
VMCS12_OFFSET(posted_intr_nv, 962);
VMCS12_OFFSET(guest_es_selector, 964);
VMCS12_OFFSET(guest_cs_selector, 966);
VMCS12_OFFSET(guest_ss_selector, 968);
VMCS12_OFFSET(guest_ds_selector, 970);
VMCS12_OFFSET(guest_fs_selector, 972);
VMCS12_OFFSET(guest_gs_selector, 974);
VMCS12_OFFSET(guest_ldtr_selector, 976);
VMCS12_OFFSET(guest_tr_selector, 978);
VMCS12_OFFSET(guest_intr_status, 980);
VMCS12_OFFSET(host_es_selector, 982);
VMCS12_OFFSET(host_cs_selector, 984);
VMCS12_OFFSET(host_ss_selector, 986);
VMCS12_OFFSET(host_ds_selector, 988);
VMCS12_OFFSET(host_fs_selector, 990);
VMCS12_OFFSET(host_gs_selector, 992);
VMCS12_OFFSET(host_tr_selector, 994);
VMCS12_OFFSET(guest_pml_index, 996);

#undef VMCS12_OFFSET

/*
 * VMREAD/VMWRITE emulation: the encoding-indexed offset table
 * (nested/vmcs12_fields.c).
 *
 * An encoding is the 32-bit value L1 passes to VMREAD/VMWRITE. These
 * functions refuse (return -1 / 0 / false) every encoding that is not a
 * vmcs12 field, including anything with bits 31:15 set; a caller holding a
 * 64-bit register operand must itself refuse bits 63:32 being non-zero
 * (SDM "VMREAD"/"VMWRITE": VMfailValid(VMXERR_UNSUPPORTED_VMCS_COMPONENT)).
 * All of them are safe for any input value: L1 controls it.
 *
 * The _HIGH encoding of a 64-bit field (encoding | 1) is a field of its own:
 * 4 bytes at offset + 4 (SDM 25.11.2).
 */

/* The table itself, indexed by ROL16(encoding, 6); 0 = not a field. */
extern const u16 vmcs12_field_offsets[];
extern const unsigned int vmcs12_field_table_len;

/* Byte offset of the field in struct vmcs12, or -1 if it is not a field. */
int vmcs12_field_offset(u32 encoding);

/* Access size in bytes: 2, 4 or 8; 4 for a _HIGH half; 0 if not a field. */
unsigned int vmcs12_field_width(u32 encoding);

/*
 * Read a field, zero-extended to 64 bits (natural-width fields are read in
 * full; truncating for a 32-bit L1 is the caller's business). Returns false,
 * leaving *val untouched, if the encoding is not a field.
 */
bool vmcs12_read(const struct vmcs12 *vmcs12, u32 encoding, u64 *val);

/*
 * Write a field, truncating val to the field's width. Returns false, and
 * changes nothing, if the encoding is not a field. It does NOT refuse
 * read-only fields: L0 fills those on a reflected exit. VMWRITE emulation
 * checks vmcs12_field_read_only() first.
 */
bool vmcs12_write(struct vmcs12 *vmcs12, u32 encoding, u64 val);

/*
 * True for the VM-exit information fields (type bits 11:10 == 1), which
 * VMWRITE must refuse with VMXERR_VMWRITE_READ_ONLY_VMCS_COMPONENT unless
 * "VMWRITE to any supported field" (IA32_VMX_MISC bit 29) is advertised.
 * Pure function of the encoding bits; does not check that it is a field.
 */
bool vmcs12_field_read_only(u32 encoding);

/*
 * Highest index (encoding bits 9:1) of any field in the table, for bits 9:1
 * of the IA32_VMX_VMCS_ENUM value shown to L1 (SDM A.9).
 */
unsigned int vmcs12_max_field_index(void);

#endif
