#!/bin/sh
# Instructions per operation of the page allocator, counted by callgrind on
# the host micro-benchmark tests/unit/bench_pmm.c (an operation is one alloc
# or one free). With an argument REV, measures kernel/pmm.c of that git
# revision instead (built with -DBENCH_RANGE_LIST: the old range list).
#   sh tests/unit/bench_pmm.sh            the allocator in the tree
#   sh tests/unit/bench_pmm.sh 6b0ea41    the 128-entry range list it replaced
set -e
out=${BUILD:-build}/bench_pmm
mkdir -p "$out"
inc=.
flags=
if [ -n "$1" ]; then
    mkdir -p "$out/old/kernel"
    git show "$1:kernel/pmm.c" > "$out/old/kernel/pmm.c"
    git show "$1:kernel/pmm.h" > "$out/old/kernel/pmm.h"
    cp kernel/types.h "$out/old/kernel/"
    inc="$out/old"
    flags=-DBENCH_RANGE_LIST
fi
gcc -std=c11 -O2 -g -I"$inc" $flags tests/unit/bench_pmm.c "$inc/kernel/pmm.c" -o "$out/bench"
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" "$out/bench" > "$out/ops.txt" 2>/dev/null
callgrind_annotate --inclusive=yes --threshold=100 "$out/callgrind.out" 2>/dev/null > "$out/annotate.txt"
# Inclusive cost of each pattern function (it includes the benchmark's own
# loop and bookkeeping, a few instructions per operation).
awk 'FNR == NR { if ($1 == "ops") ops[$2] = $3; next }
     { for (p in ops) if (index($0, ":" p " ") && !seen[p]++) {
           n = $1; gsub(",", "", n)
           printf "%-26s %8d operations, %10d instructions, %6.1f per operation\n", p, ops[p], n, n / ops[p] } }' \
    "$out/ops.txt" "$out/annotate.txt"
