/* vmcs12 field lists sorted by width (nested/field_plan.h). */
#include "kernel/panic.h"
#include "nested/field_plan.h"
#include "nested/nested.h"

#define AT(v, p, i)     ((const u8 *)(v) + (p)->offset[i])
#define AT_W(v, p, i)   ((u8 *)(v) + (p)->offset[i])

void field_plan_init(struct field_plan *p, const u32 *fields, u32 n)
{
    static const u32 order[] = { 2, 4, 8 };

    ASSERT(n <= FIELD_PLAN_MAX);
    p->n = 0;
    for (u32 w = 0; w < ARRAY_SIZE(order); w++) {
        for (u32 i = 0; i < n; i++) {
            u32 width = vmcs12_field_width(fields[i]);
            ASSERT(width && !VMCS_FIELD_IS_HIGH(fields[i]));
            if (width != order[w])
                continue;
            p->field[p->n] = fields[i];
            p->offset[p->n] = (u16)vmcs12_field_offset(fields[i]);
            p->n++;
        }
        if (w == 0)
            p->n16 = p->n;
        else if (w == 1)
            p->n32 = p->n;
    }
}

void field_plan_to_vmcs(const struct field_plan *p, const struct vmcs12 *v)
{
    u32 i = 0;
    u16 x16;
    u32 x32;
    u64 x64;

    for (; i < p->n16; i++) {
        __builtin_memcpy(&x16, AT(v, p, i), 2);
        __vmcs_write(p->field[i], x16);
    }
    for (; i < p->n32; i++) {
        __builtin_memcpy(&x32, AT(v, p, i), 4);
        __vmcs_write(p->field[i], x32);
    }
    for (; i < p->n; i++) {
        __builtin_memcpy(&x64, AT(v, p, i), 8);
        __vmcs_write(p->field[i], x64);
    }
}

void field_plan_from_vmcs(const struct field_plan *p, struct vmcs12 *v)
{
    u32 i = 0;

    for (; i < p->n16; i++) {
        u16 x = (u16)__vmcs_read(p->field[i]);
        __builtin_memcpy(AT_W(v, p, i), &x, 2);
    }
    for (; i < p->n32; i++) {
        u32 x = (u32)__vmcs_read(p->field[i]);
        __builtin_memcpy(AT_W(v, p, i), &x, 4);
    }
    for (; i < p->n; i++) {
        u64 x = __vmcs_read(p->field[i]);
        __builtin_memcpy(AT_W(v, p, i), &x, 8);
    }
}
