/*
 * Host tests of the vmm's loader (tools/vmm/image.c) and boot information
 * (tools/vmm/mbi.c): a well-formed multiboot2 ELF loads at its physical
 * address with its entry; every malformed or truncated file is refused
 * (the vmm then exits 2) without reading past the buffer (ASan/UBSan);
 * the boot information parses back tag by tag and is refused when it does
 * not fit.
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

#include "tools/vmm/vmm.h"

#define RAM_SIZE        (4 * MIB)
#define LOAD_ADDR       0x100000u
#define IMAGE_SIZE      512u
#define MB2_OFF         128u                /* multiboot2 header offset in the file */
#define ENTRY_OFF       0x100u
#define BSS_SIZE        0x2000u
#define MB2_MAGIC       0xe85250d6u

static uint8_t image[IMAGE_SIZE];
static uint8_t *ram;

static void put32(uint32_t off, uint32_t v) { memcpy(image + off, &v, 4); }
static void put16(uint32_t off, uint16_t v) { memcpy(image + off, &v, 2); }

/* The multiboot2 header: magic, arch, length, checksum, then tags from +16. */
static void mb2_header(uint32_t arch, uint32_t length)
{
    put32(MB2_OFF, MB2_MAGIC);
    put32(MB2_OFF + 4, arch);
    put32(MB2_OFF + 8, length);
    put32(MB2_OFF + 12, (uint32_t)-(MB2_MAGIC + arch + length));
}

/* A minimal multiboot2 ELF64: one PT_LOAD of the whole file at 1 MiB, with bss. */
static void make_image(void)
{
    Elf64_Ehdr eh = {0};
    Elf64_Phdr ph = {0};

    memset(image, 0xcc, sizeof(image));
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_X86_64;
    eh.e_entry = LOAD_ADDR + ENTRY_OFF;
    eh.e_phoff = sizeof(eh);
    eh.e_phentsize = sizeof(ph);
    eh.e_phnum = 1;
    memcpy(image, &eh, sizeof(eh));
    ph.p_type = PT_LOAD;
    ph.p_offset = 0;
    ph.p_paddr = ph.p_vaddr = LOAD_ADDR;
    ph.p_filesz = IMAGE_SIZE;
    ph.p_memsz = IMAGE_SIZE + BSS_SIZE;
    memcpy(image + sizeof(eh), &ph, sizeof(ph));
    mb2_header(0, 24);
    put16(MB2_OFF + 16, 0);                 /* end tag */
    put16(MB2_OFF + 18, 0);
    put32(MB2_OFF + 20, 8);
}

static Elf64_Phdr *phdr(void) { return (Elf64_Phdr *)(image + sizeof(Elf64_Ehdr)); }

static int setup(void **state)
{
    (void)state;
    ram = calloc(1, RAM_SIZE);
    make_image();
    return ram ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(ram);
    return 0;
}

/* The loader explains each refusal on stderr (hundreds of lines here):
 * silenced around the call only, so cmocka's own reports still show. */
static int load(size_t size, struct kernel_image *k)
{
    struct file_buf f = {"test.elf", image, size};
    int saved = dup(2), null = open("/dev/null", O_WRONLY), rc;

    dup2(null, 2);
    rc = load_kernel(&f, ram, RAM_SIZE, k);
    dup2(saved, 2);
    close(saved);
    close(null);
    return rc;
}

static void test_valid_image_loads(void **state)
{
    struct kernel_image k;

    (void)state;
    memset(ram + LOAD_ADDR + IMAGE_SIZE, 0x5a, BSS_SIZE);
    assert_int_equal(load(IMAGE_SIZE, &k), 0);
    assert_int_equal(k.entry, LOAD_ADDR + ENTRY_OFF);
    assert_int_equal(k.load_end, LOAD_ADDR + IMAGE_SIZE + BSS_SIZE);
    assert_memory_equal(ram + LOAD_ADDR, image, IMAGE_SIZE);
    for (uint32_t i = 0; i < BSS_SIZE; i++)
        assert_int_equal(ram[LOAD_ADDR + IMAGE_SIZE + i], 0);
}

static void test_truncated_files_refused(void **state)
{
    struct kernel_image k;

    (void)state;
    /* Every cut, from an empty file to one byte short, is refused. */
    for (size_t size = 0; size < IMAGE_SIZE; size++)
        assert_int_equal(load(size, &k), -1);
}

static void test_missing_or_bad_header_refused(void **state)
{
    struct kernel_image k;

    (void)state;
    put32(MB2_OFF + 12, 0);                 /* bad checksum: no header */
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    make_image();
    put32(MB2_OFF, 0);                      /* no magic */
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    make_image();
    mb2_header(4, 24);                      /* MIPS, checksum right */
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    make_image();
    mb2_header(0, 0x10000);                 /* length past the file */
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    make_image();
    put32(MB2_OFF + 20, 4);                 /* end tag with a bad size */
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
}

static void test_header_tags(void **state)
{
    struct kernel_image k;

    (void)state;
    /* Entry-address tag (type 3, size 12) overrides e_entry. */
    mb2_header(0, 16 + 16 + 8);
    put16(MB2_OFF + 16, 3); put16(MB2_OFF + 18, 0); put32(MB2_OFF + 20, 12);
    put32(MB2_OFF + 24, LOAD_ADDR + 0x40);
    put16(MB2_OFF + 32, 0); put16(MB2_OFF + 34, 0); put32(MB2_OFF + 36, 8);
    assert_int_equal(load(IMAGE_SIZE, &k), 0);
    assert_int_equal(k.entry, LOAD_ADDR + 0x40);
    /* The address tag (a.out kludge) is refused. */
    put16(MB2_OFF + 16, 2);
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    /* A required request for information the vmm does not give (21) is refused; optional is fine. */
    put16(MB2_OFF + 16, 1); put32(MB2_OFF + 24, 21);
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    put16(MB2_OFF + 18, 1);
    assert_int_equal(load(IMAGE_SIZE, &k), 0);
    put16(MB2_OFF + 18, 0); put32(MB2_OFF + 24, 6);   /* required memory map: given */
    assert_int_equal(load(IMAGE_SIZE, &k), 0);
}

static void test_bad_program_headers_refused(void **state)
{
    struct kernel_image k;
    Elf64_Ehdr *eh = (Elf64_Ehdr *)image;

    (void)state;
    phdr()->p_paddr = RAM_SIZE - 0x1000;    /* runs past RAM */
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    phdr()->p_paddr = 0x80000;              /* below 1 MiB */
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    phdr()->p_paddr = UINT64_MAX - 0x100;   /* wraps */
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    make_image();
    phdr()->p_filesz = IMAGE_SIZE + BSS_SIZE + 1;   /* filesz > memsz */
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    make_image();
    phdr()->p_offset = UINT64_MAX - 10;     /* offset wraps */
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    make_image();
    eh->e_phnum = 0xffff;                   /* table past the file */
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    make_image();
    eh->e_phentsize = 32;
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    make_image();
    eh->e_entry = LOAD_ADDR + IMAGE_SIZE + BSS_SIZE;   /* entry past the image */
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    make_image();
    eh->e_machine = EM_AARCH64;
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    make_image();
    phdr()->p_type = PT_NOTE;               /* nothing to load */
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
    make_image();
    image[0] = 'X';
    assert_int_equal(load(IMAGE_SIZE, &k), -1);
}

/* Reads the boot information back the way a kernel does. */
static void test_mbi_round_trip(void **state)
{
    static struct vmm_config cfg;
    uint64_t addr = 0x200000, size, mem = RAM_SIZE;
    uint32_t total, off, seen = 0;

    (void)state;
    cfg.cmdline = "slice=5 guests=a";
    cfg.n_modules = 2;
    cfg.modules[0] = (struct module){.cmdline = "name=a", .start = 0x300000, .end = 0x300123};
    cfg.modules[1] = (struct module){.cmdline = "", .start = 0x301000, .end = 0x302000};
    size = build_mbi(ram, mem, addr, &cfg);
    assert_true(size > 8 && size < 1024);
    memcpy(&total, ram + addr, 4);
    assert_int_equal(total, size);
    for (off = 8; off < total;) {
        uint32_t type, tsize;
        const uint8_t *t = ram + addr + off;

        memcpy(&type, t, 4);
        memcpy(&tsize, t + 4, 4);
        assert_true(tsize >= 8 && off + tsize <= total);
        if (type == 0)
            break;
        seen |= 1u << type;
        if (type == 1)
            assert_string_equal((const char *)t + 8, "slice=5 guests=a");
        if (type == 3) {
            uint32_t start, end;
            memcpy(&start, t + 8, 4);
            memcpy(&end, t + 12, 4);
            assert_true((start == 0x300000 && end == 0x300123 && !strcmp((const char *)t + 16, "name=a")) ||
                        (start == 0x301000 && end == 0x302000 && !strcmp((const char *)t + 16, "")));
        }
        if (type == 6) {
            uint64_t base, len;
            uint32_t kind, n = (tsize - 16) / 24;
            assert_int_equal(n, 4);
            memcpy(&base, t + 16 + 3 * 24, 8);
            memcpy(&len, t + 16 + 3 * 24 + 8, 8);
            memcpy(&kind, t + 16 + 3 * 24 + 16, 4);
            assert_int_equal(base, GUEST_HIGH_RAM_START);
            assert_int_equal(base + len, mem);
            assert_int_equal(kind, 1);
        }
        off += (tsize + 7) & ~7u;
    }
    assert_int_equal(off + 8, total);        /* the end tag closes it */
    assert_int_equal(seen, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 6));
    /* No room left below the end of RAM: refused, not written past it. */
    assert_int_equal(build_mbi(ram, mem, mem - 64, &cfg), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_image_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_files_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_or_bad_header_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_program_headers_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mbi_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
