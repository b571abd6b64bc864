#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bench/alloc in the VM: every allocator, size and thread count, each run
# REPS times in interleaved order (allocator innermost), one process per
# run so that no run inherits another's heap.  Prints every run, then the
# median per configuration.  Usage: run-in-vm.sh [REPS] [MIB]
set -u
cd /gcheap || exit 1
reps=${1:-3}
mib=${2:-32}
insmod gcheap.ko || exit 1
out=/tmp/alloc.txt
: > "$out"
echo "allocator    size th     allocs  seconds  Mallocs/s ns/alloc"
r=0
while [ "$r" -lt "$reps" ]; do
	for t in 1 2 4; do
		for s in 16 64 256; do
			for a in gcheap bdwgc bdwgc-nogc malloc; do
				bin/alloc -a "$a" -s "$s" -t "$t" -b "$mib" | tee -a "$out" || exit 1
			done
		done
	done
	r=$((r + 1))
done
echo
echo "median of $reps runs (Mallocs/s, higher is better):"
echo "size th     gcheap      bdwgc bdwgc-nogc     malloc"
for t in 1 2 4; do
	for s in 16 64 256; do
		line=$(printf '%4s %2s' "$s" "$t")
		for a in gcheap bdwgc bdwgc-nogc malloc; do
			m=$(awk -v a="$a" -v s="$s" -v t="$t" \
				'$1 == a && $2 == s && $3 == t { print $6 }' "$out" |
				sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
			line="$line $(printf '%10s' "$m")"
		done
		echo "$line"
	done
done
