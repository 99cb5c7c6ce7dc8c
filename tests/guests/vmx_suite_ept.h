/*
 * vmx_suite: what the EPT tests share (vmx_suite_ept.c builds the EPT,
 * vmx_suite_ept_ad.c tests its accessed/dirty flags, PML and NMI
 * interplay on it).
 */
#ifndef GUEST_VMX_SUITE_EPT_H
#define GUEST_VMX_SUITE_EPT_H

#include "vmx_suite.h"

#define EPT_R               VMX_EPT_READABLE_MASK
#define EPT_W               VMX_EPT_WRITABLE_MASK
#define EPT_X               VMX_EPT_EXECUTABLE_MASK
#define EPT_RWX             VMX_EPT_RWX_MASK
#define EPT_WB              ((u64)VMX_MT_WB << VMX_EPT_MT_EPTE_SHIFT)
#define EPT_2M              VMX_EPT_LARGE_PAGE_BIT
#define EPT_A               VMX_EPT_ACCESS_BIT
#define EPT_D               VMX_EPT_DIRTY_BIT
#define EPT_LEAF_4K(pa, p)  ((pa) | (p) | EPT_WB)
#define PAGE_2M             (2ull << 20)
#define MAPPED_TOP          (4ull << 20)
#define GPA_UNMAPPED        (12ull << 20)   /* in L1's page tables, not in the EPT */
#define GPA_MISCONFIG       (6ull << 20)    /* PD entry 3: W without R */
#define GPA_BAD_MEMTYPE     (8ull << 20)    /* PD entry 4: memory type 2 (reserved) */
#define QUAL_READ           BIT(0)
#define QUAL_WRITE          BIT(1)
#define QUAL_FETCH          BIT(2)
#define QUAL_READABLE       BIT(3)
#define QUAL_WRITABLE       BIT(4)
#define QUAL_EXECUTABLE     BIT(5)
#define QUAL_GLA_VALID      BIT(7)
#define QUAL_TRANSLATED     BIT(8)
#define QUAL_ADV_RW         BIT(10)         /* advanced info: the guest paging entries allow writes */
#define VPID_L2             1
#define EPTP_MT_RESERVED    2
#define INVVPID_TYPE_BAD    4
#define PATTERN_A           0xaaaaaaaa55555555ull
#define PATTERN_B           0xbbbbbbbb66666666ull

/* The EPT (identity map of the first 4 MiB) and three test pages in it. */
extern u64 *pml4, *pdpt, *pd, *pt;
extern u8 data_pages[3][PAGE_4K];

/* The EPT pointer of an EPT at root: WB, 4 levels, A/D flags where offered. */
u64 eptp_for(const u64 *root);
u64 *pte_of(const void *p);             /* the 4 KiB EPT entry of a page below 2 MiB */
bool has_ept(void);
void invept_context(void);
void init_ept(void);                    /* default VMCS + EPT on */
bool expect_exit(const char *test, const struct vmx_exit *e, u32 reason);

#endif
