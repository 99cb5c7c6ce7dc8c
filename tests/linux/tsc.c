/*
 * tsc: prints the time-stamp counter in decimal and a newline. /init of
 * the Linux test image (docs/linux.md) reads it when it starts and when
 * its runs are done; in Bochs RDTSC advances once per emulated instruction,
 * so the difference of two readings is a count of emulated instructions
 * (docs/benchmarks.md, "Linux boot"). No C library: _start, RDTSC, two
 * system calls.
 */
typedef unsigned long u64;

#define SYS_WRITE   1
#define SYS_EXIT    60

static long syscall3(long n, long a, long b, long c)
{
    long ret;

    __asm__ __volatile__("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

static u64 rdtsc(void)
{
    unsigned lo, hi;

    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return (u64)hi << 32 | lo;
}

void _start(void) __attribute__((noreturn));
void _start(void)
{
    char buf[24];
    int i = sizeof(buf);
    u64 t = rdtsc();

    buf[--i] = '\n';
    do {
        buf[--i] = (char)('0' + t % 10);
        t /= 10;
    } while (t);
    long ok = syscall3(SYS_WRITE, 1, (long)(buf + i), (long)(sizeof(buf) - i));
    syscall3(SYS_EXIT, ok == (long)(sizeof(buf) - i) ? 0 : 1, 0, 0);
    __builtin_unreachable();
}
