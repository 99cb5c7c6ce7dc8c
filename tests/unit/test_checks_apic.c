/*
 * Host tests of the APIC-virtualization VM-entry checks on vmcs12
 * (nested/checks_apic.c): each rule of SDM 27.2.1.1 refuses what it is
 * there to refuse and lets the rest through; VTPR is read from L1 memory;
 * a virtual-APIC page outside L1 RAM is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "nested/apicv12.h"
#include "nested/checks.h"

/* --- stand-ins for the rest of turtle ------------------------------------- */

#define VAPIC           0x2000ULL       /* the virtual-APIC page in l1_ram */
static u8 l1_ram[64 << 10];
static int check_messages;

void nested_check_failed(const char *text) { (void)text; check_messages++; }
u32 nested_phys_addr_width(void) { return 39; }

u32 nested_proc2(const struct vmcs12 *v)
{
    return (v->cpu_based_vm_exec_control & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) ? v->secondary_vm_exec_control : 0;
}

bool guest_copy_from(struct vm *vm, void *dst, u64 gpa, u64 len)
{
    (void)vm;
    if (gpa >= sizeof(l1_ram) || len > sizeof(l1_ram) - gpa)
        return false;
    memcpy(dst, l1_ram + gpa, len);
    return true;
}

/* TPR shadow with every secondary APIC control but x2APIC mode. */
static void valid(struct vmcs12 *v)
{
    memset(v, 0, sizeof(*v));
    v->pin_based_vm_exec_control = PIN_BASED_EXT_INTR_MASK;
    v->cpu_based_vm_exec_control = CPU_BASED_TPR_SHADOW | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
    v->secondary_vm_exec_control = SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES | SECONDARY_EXEC_APIC_REGISTER_VIRT |
                                   SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY;
    v->virtual_apic_page_addr = VAPIC;
    v->apic_access_addr = 0xfee00000;
    v->tpr_threshold = 0x1234;          /* bits 31:4 are free with virtual-interrupt delivery */
}

static bool passes(const struct vmcs12 *v)
{
    return nested_check_apic_controls(v) && nested_check_apic_memory(NULL, v);
}

/* vmcs12 valid() but for stmt: passes the checks exactly when ok_. */
#define EXPECT(ok_, stmt)                                                       \
    do {                                                                        \
        struct vmcs12 v;                                                        \
        valid(&v);                                                              \
        stmt;                                                                   \
        assert_int_equal(passes(&v), ok_);                                      \
    } while (0)
#define REFUSED(stmt)   EXPECT(false, stmt)
#define ACCEPTED(stmt)  EXPECT(true, stmt)

static void test_rules(void **state)
{
    (void)state;
    memset(l1_ram, 0, sizeof(l1_ram));
    l1_ram[VAPIC + 0x80] = 0x50;        /* VTPR: priority class 5 */
    check_messages = 0;
    ACCEPTED((void)0);
    assert_int_equal(check_messages, 0);
    /* Virtual-APIC address: aligned, within the width, L1 RAM (turtle). */
    REFUSED(v.virtual_apic_page_addr = VAPIC + 0x10);
    REFUSED(v.virtual_apic_page_addr = 1ULL << 39);
    REFUSED(v.virtual_apic_page_addr = 0x100000);
    ACCEPTED((v.cpu_based_vm_exec_control &= ~CPU_BASED_TPR_SHADOW, v.secondary_vm_exec_control = 0,
              v.virtual_apic_page_addr = 0x123));
    /* TPR threshold bits 31:4 without virtual-interrupt delivery. */
    REFUSED(v.secondary_vm_exec_control &= ~SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY);
    ACCEPTED((v.secondary_vm_exec_control &= ~SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY, v.tpr_threshold = 0xf));
    /* Threshold against VTPR only without APIC-access virtualization. */
    REFUSED((v.secondary_vm_exec_control = 0, v.tpr_threshold = 6));
    ACCEPTED((v.secondary_vm_exec_control = 0, v.tpr_threshold = 5));
    ACCEPTED((v.cpu_based_vm_exec_control &= ~CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, v.tpr_threshold = 5));
    REFUSED((v.cpu_based_vm_exec_control &= ~CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, v.tpr_threshold = 6));
    ACCEPTED((v.secondary_vm_exec_control = SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES, v.tpr_threshold = 0xf));
    /* APIC-access address: aligned, within the width (anywhere: no RAM rule). */
    REFUSED(v.apic_access_addr = 0xfee00800);
    REFUSED(v.apic_access_addr = 1ULL << 45);
    ACCEPTED(v.apic_access_addr = 0xc0000000);
    ACCEPTED((v.secondary_vm_exec_control &= ~SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES, v.apic_access_addr = 1));
    /* x2APIC mode, register virtualization and interrupt delivery need TPR shadow. */
    REFUSED(v.cpu_based_vm_exec_control &= ~CPU_BASED_TPR_SHADOW);
    REFUSED((v.cpu_based_vm_exec_control &= ~CPU_BASED_TPR_SHADOW,
             v.secondary_vm_exec_control = SECONDARY_EXEC_APIC_REGISTER_VIRT));
    REFUSED((v.cpu_based_vm_exec_control &= ~CPU_BASED_TPR_SHADOW,
             v.secondary_vm_exec_control = SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE));
    ACCEPTED((v.cpu_based_vm_exec_control &= ~CPU_BASED_TPR_SHADOW,
              v.secondary_vm_exec_control = SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES));
    /* x2APIC mode excludes APIC-access virtualization. */
    REFUSED(v.secondary_vm_exec_control |= SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE);
    ACCEPTED(v.secondary_vm_exec_control ^= SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE |
                                            SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES);
    /* Virtual-interrupt delivery needs external-interrupt exiting. */
    REFUSED(v.pin_based_vm_exec_control = 0);
    ACCEPTED((v.pin_based_vm_exec_control = 0, v.secondary_vm_exec_control &= ~SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY,
              v.tpr_threshold = 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
