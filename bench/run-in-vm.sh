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
#   BIG_COLL      collections timed per large-heap run (1)
#   WORKLOADS     which to run ("gcbench alloc garbage bigheap")
#   QUICK         1: each workload once, tiny, for a smoke test
set -u
cd /gcheap || exit 1
REPS=${REPS:-3}
GCB_DEPTH=${GCB_DEPTH:-16}
GCB_THREADS=${GCB_THREADS:-1 2 4}
ALLOC_MIB=${ALLOC_MIB:-16}
GARBAGE_ITERS=${GARBAGE_ITERS:-1500}
BIG_MIB=${BIG_MIB:-64 256 1024}
BIG_COLL=${BIG_COLL:-1}
WORKLOADS=${WORKLOADS:-gcbench alloc garbage bigheap}
if [ "${QUICK:-0}" = 1 ]; then
	REPS=1 GCB_DEPTH=10 GCB_THREADS="1 2" ALLOC_MIB=1 GARBAGE_ITERS=50 BIG_MIB=8
fi

ncpu=$(grep -c ^processor /proc/cpuinfo)
# bdwgc marks with as many threads as gcheap has workers (one per CPU)
export GC_MARKERS=$ncpu

# want WORKLOAD: is it on the list?
want() {
	case " $WORKLOADS " in *" $1 "*) return 0 ;; esac
	return 1
}

total=0
want gcbench && for t in $GCB_THREADS; do total=$((total + 3)); done
want alloc && total=$((total + 3 * 3 * 5))	# sizes x threads x 5
want garbage && total=$((total + 3))
want bigheap && for m in $BIG_MIB; do total=$((total + 3)); done
total=$((total * REPS))
n=0
t_start=$(cut -d' ' -f1 /proc/uptime)
failed=0

# the pool: one worker thread per CPU (the module's default)
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
	wall=$(echo "$out" | sed -n 's/.*"wall_s": \([0-9.]*\).*/\1s/p' | tr '\n' ' ')
	elapsed=$(awk -v a="$t_start" -v b="$now" 'BEGIN { printf "%d", b - a }')
	if [ "$rc" != 0 ] || [ -z "$out" ]; then
		failed=$((failed + 1))
		echo "bench: [$n/$total] ${elapsed}s $label: FAILED (exit $rc)"
		head -n 5 /tmp/bench.err
		return
	fi
	echo "bench: [$n/$total] ${elapsed}s $label: $wall"
	echo "$out" | sed "s/}\$/, \"rep\": $rep, \"workers\": $workers, \"label\": \"$label\"}/; s/^/BENCH-JSON /"
}

load
echo "bench: $total runs, $REPS rounds, $ncpu CPUs, kernel $(uname -r)"
r=1
while [ "$r" -le "$REPS" ]; do
	want gcbench && for t in $GCB_THREADS; do
		for c in gcheap bdwgc malloc; do
			bin=bin/gcbench-$c
			[ "$c" = gcheap ] && bin=bin/gcbench
			run "$r" "$ncpu" "gcbench t$t $c" $bin -d "$GCB_DEPTH" -t "$t"
		done
	done
	want alloc && for t in 1 2 4; do
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
	want garbage && for c in gcheap bdwgc malloc; do
		run "$r" "$ncpu" "garbage $c" bin/garbage-$c -t "$ncpu" -i "$GARBAGE_ITERS"
	done
	# gcheap: one build, collections with 1 and 2 of the pool's
	# workers in turn (bigheap -w); bdwgc: GC_MARKERS, fixed per process
	want bigheap && for m in $BIG_MIB; do
		run "$r" 0 "bigheap ${m}MiB gcheap w1,w2" \
			bin/bigheap-gcheap -m "$m" -c "$BIG_COLL" -w 1,2
		for w in 1 2; do
			run "$r" "$w" "bigheap ${m}MiB bdwgc w$w" \
				env GC_MARKERS="$w" bin/bigheap-bdwgc -m "$m" -c "$BIG_COLL" -w "$w"
		done
	done
	r=$((r + 1))
done
echo "bench: done, $n runs, $failed failed"
[ "$failed" = 0 ]
