#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark suite inside the VM (busybox sh, from the stage directory
# /gcheap): every workload on every contender, REPS rounds in interleaved
# order (contender innermost), one process per run so that no run
# inherits another's heap.  Each run's JSON object is printed on a line
# of its own after "BENCH-JSON ", with the round and the worker count
# added; bench/report reads them from the console log.  Progress lines
# start with "bench:".
#
# Sizes come from the environment (bench/run sets them):
#   REPS          rounds (3)
#   GCB_DEPTH     GCBench's largest depth, 16 is the standard size (16)
#   GCB_THREADS   GCBench thread counts ("1 2 4")
#   ALLOC_MIB     mebibytes each allocating thread allocates (16)
#   GARBAGE_ITERS graph replacements per thread (1500)
#   BIG_MIB       live heaps of the large-heap runs ("64 256 1024")
#   QUICK         1: each workload once, tiny, for a smoke test
set -u
cd /gcheap || exit 1
REPS=${REPS:-3}
GCB_DEPTH=${GCB_DEPTH:-16}
GCB_THREADS=${GCB_THREADS:-1 2 4}
ALLOC_MIB=${ALLOC_MIB:-16}
GARBAGE_ITERS=${GARBAGE_ITERS:-1500}
BIG_MIB=${BIG_MIB:-64 256 1024}
if [ "${QUICK:-0}" = 1 ]; then
	REPS=1 GCB_DEPTH=10 GCB_THREADS="1 2" ALLOC_MIB=1 GARBAGE_ITERS=50 BIG_MIB=8
fi

ncpu=$(grep -c ^processor /proc/cpuinfo)
# bdwgc marks with as many threads as gcheap has workers (one per CPU)
export GC_MARKERS=$ncpu

total=0
for t in $GCB_THREADS; do total=$((total + 3)); done
total=$((total + 3 * 3 * 5 + 3))	# alloc: sizes x threads x 5; garbage
for m in $BIG_MIB; do total=$((total + 4)); done
total=$((total * REPS))
n=0
t_start=$(cut -d' ' -f1 /proc/uptime)
failed=0

load() {
	rmmod gcheap 2>/dev/null
	insmod gcheap.ko "$@" || { echo "bench: insmod $* failed"; exit 1; }
}

# run REP WORKERS LABEL COMMAND...: one run, its JSON line tagged
run() {
	rep=$1 workers=$2 label=$3
	shift 3
	n=$((n + 1))
	out=$("$@" -j 2>/tmp/bench.err)
	rc=$?
	now=$(cut -d' ' -f1 /proc/uptime)
	wall=$(echo "$out" | sed -n 's/.*"wall_s": \([0-9.]*\).*/\1/p')
	elapsed=$(awk -v a="$t_start" -v b="$now" 'BEGIN { printf "%d", b - a }')
	if [ "$rc" != 0 ] || [ -z "$out" ]; then
		failed=$((failed + 1))
		echo "bench: [$n/$total] ${elapsed}s $label: FAILED (exit $rc)"
		head -n 5 /tmp/bench.err
		return
	fi
	echo "bench: [$n/$total] ${elapsed}s $label: ${wall}s"
	echo "BENCH-JSON $(echo "$out" | sed "s/}\$/, \"rep\": $rep, \"workers\": $workers, \"label\": \"$label\"}/")"
}

load
echo "bench: $total runs, $REPS rounds, $ncpu CPUs, kernel $(uname -r)"
r=1
while [ "$r" -le "$REPS" ]; do
	for t in $GCB_THREADS; do
		for c in gcheap bdwgc malloc; do
			bin=bin/gcbench-$c
			[ "$c" = gcheap ] && bin=bin/gcbench
			run "$r" "$ncpu" "gcbench t$t $c" $bin -d "$GCB_DEPTH" -t "$t"
		done
	done
	for t in 1 2 4; do
		for s in 16 64 256; do
			for c in gcheap bdwgc malloc; do
				run "$r" "$ncpu" "alloc ${s}B t$t $c" \
					bin/alloc-$c -s "$s" -t "$t" -b "$ALLOC_MIB"
				[ "$c" = malloc ] && continue
				run "$r" "$ncpu" "alloc ${s}B t$t $c nogc" \
					bin/alloc-$c -s "$s" -t "$t" -b "$ALLOC_MIB" -n
			done
		done
	done
	for c in gcheap bdwgc malloc; do
		run "$r" "$ncpu" "garbage $c" bin/garbage-$c -t "$ncpu" -i "$GARBAGE_ITERS"
	done
	for m in $BIG_MIB; do
		for w in 1 2; do
			# the module's workers parameter is read-only: reload
			load workers=$w
			run "$r" "$w" "bigheap ${m}MiB w$w gcheap" bin/bigheap-gcheap -m "$m"
			run "$r" "$w" "bigheap ${m}MiB w$w bdwgc" \
				env GC_MARKERS="$w" bin/bigheap-bdwgc -m "$m"
		done
	done
	load
	r=$((r + 1))
done
echo "bench: done, $n runs, $failed failed"
[ "$failed" = 0 ]
