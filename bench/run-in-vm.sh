#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark suite inside the VM (busybox sh, from the stage directory
# /gcheap): every workload on every contender, REPS rounds in interleaved
# order (contender innermost), one process per run so that no run
# inherits another's heap.  Each run's JSON object is printed on a line
# of its own after "BENCH-JSON ", with the round, the worker count, the
# contender and the label added; bench/report reads them from the console
# log.  Progress lines start with "bench:".
#
# Contenders: gcheap, bdwgc, malloc; for the pause workload also
# gcheap-conc (GCHEAP_CONCURRENT=1) and bdwgc-incr (GC_ENABLE_INCREMENTAL=1);
# with AB=1 also gcheap-base, the
# module, library and gcheap programs of another commit staged in
# /gcheap/base/ (make bench BASE=rev): each gcheap run of a configuration
# is then made once under each module, the module reloaded in between,
# the base first in odd rounds and second in even ones.
#
# Sizes come from the environment (bench/run sets them):
#   REPS           rounds (3)
#   GCB_DEPTH      GCBench's largest depth, 16 is the standard size (16)
#   GCB_THREADS    GCBench thread counts ("1 2 4")
#   GCB8_PROCS     gcbench8: GCBench processes at once (8)
#   GCB8_DEPTH     ... and their depth (14)
#   ALLOC_MIB      alloc: mebibytes allocated in the timed phase of a
#                  configuration, all threads together (256)
#   ALLOC_WARM_MIB ... at least this much per thread in the warm-up (32)
#   ALLOC_GCS      ... and with collection on until this many
#                  collections (3)
#   ALLOC_THREADS  alloc thread counts ("1 2")
#   GARBAGE_ITERS  graph replacements per thread (1500)
#   BIG_MIB        live heaps of the large-heap runs ("64 256 1024")
#   BIG_COLL       collections timed per large-heap run (1)
#   PAUSE_MIB      live heaps of the pause runs ("64 256 1024")
#   PAUSE_ALLOC    pause: mebibytes allocated in the steady phase, as a
#                  multiple of the live heap (2), at least PAUSE_MIN_ALLOC
#                  (256)
#   PAUSE_REPS     pause: in the first this many rounds only (1)
#   W3M_PAGE       w3m: the page dumped (realprogs/inputs/page.html,
#                  tools/realprogs/gen-page's 5 MiB page)
#   WORKLOADS      which to run ("gcbench gcbench8 alloc garbage bigheap
#                  finalize w3m pause")
#   AB             1: gcheap-base too (needs /gcheap/base/)
#   QUICK          1: each workload once, tiny, for a smoke test
#
# Command prefixes ($(envp ...), $a) are split into words on purpose.
# shellcheck disable=SC2086
set -u
cd /gcheap || exit 1
REPS=${REPS:-3}
GCB_DEPTH=${GCB_DEPTH:-16}
GCB_THREADS=${GCB_THREADS:-1 2 4}
GCB8_PROCS=${GCB8_PROCS:-8}
GCB8_DEPTH=${GCB8_DEPTH:-14}
ALLOC_MIB=${ALLOC_MIB:-256}
ALLOC_WARM_MIB=${ALLOC_WARM_MIB:-32}
ALLOC_GCS=${ALLOC_GCS:-3}
ALLOC_THREADS=${ALLOC_THREADS:-1 2}
GARBAGE_ITERS=${GARBAGE_ITERS:-1500}
BIG_MIB=${BIG_MIB:-64 256 1024}
BIG_COLL=${BIG_COLL:-1}
PAUSE_MIB=${PAUSE_MIB:-64 256 1024}
PAUSE_ALLOC=${PAUSE_ALLOC:-2}
PAUSE_MIN_ALLOC=${PAUSE_MIN_ALLOC:-256}
PAUSE_REPS=${PAUSE_REPS:-1}
FIN_N=${FIN_N:-100000}
W3M_PAGE=${W3M_PAGE:-realprogs/inputs/page.html}
WORKLOADS=${WORKLOADS:-gcbench gcbench8 alloc garbage bigheap finalize w3m pause}
AB=${AB:-0}
if [ "${QUICK:-0}" = 1 ]; then
	REPS=1 GCB_DEPTH=10 GCB_THREADS="1 2" GCB8_DEPTH=8
	ALLOC_MIB=2 ALLOC_WARM_MIB=1 ALLOC_GCS=1 GARBAGE_ITERS=50 BIG_MIB=8
	FIN_N=10000 W3M_PAGE=realprogs/inputs/docs/all.html
	PAUSE_MIB=8 PAUSE_MIN_ALLOC=32 PAUSE_REPS=1
fi

ncpu=$(grep -c ^processor /proc/cpuinfo)
# bdwgc marks with as many threads as gcheap has workers (one per CPU)
export GC_MARKERS=$ncpu

GCHEAPS=gcheap
if [ "$AB" = 1 ]; then
	if [ ! -f base/gcheap.ko ] || [ ! -d base/bin ] || [ ! -d base/lib ]; then
		echo "bench: AB=1 but no base/gcheap.ko, base/bin, base/lib in the stage (make bench BASE=rev)"
		exit 1
	fi
	GCHEAPS="gcheap-base gcheap"
	echo "bench: A/B: gcheap-base is $(cat base/REV 2>/dev/null || echo '(no base/REV)')"
fi
CONTENDERS="$GCHEAPS bdwgc malloc"

# want WORKLOAD: is it on the list?
want() {
	case " $WORKLOADS " in *" $1 "*) return 0 ;; esac
	return 1
}

# count WORDS...: how many
count() {
	echo $#
}

nc=$(count $CONTENDERS)
ng=$(count $GCHEAPS)
total=0
# GCBench: every contender, and each gcheap marking beside the program
want gcbench && total=$((total + (nc + ng) * $(count $GCB_THREADS)))
want gcbench8 && total=$((total + nc))
# sizes x threads x (collection on: every contender; off: the collectors)
want alloc && total=$((total + 3 * $(count $ALLOC_THREADS) * (nc + ng + 1)))
want garbage && total=$((total + nc))
# gcheap once per size (1 and 2 workers), bdwgc once per marker count
want bigheap && total=$((total + (ng + 2) * $(count $BIG_MIB)))
want finalize && total=$((total + ng + 1))
# pause: each gcheap stopping the world and marking beside the program,
# bdwgc full and incremental; only in the first PAUSE_REPS rounds
pause_runs=0
want pause && pause_runs=$((2 * ng + 2))
pause_runs=$((pause_runs * $(count $PAUSE_MIB)))
[ "$PAUSE_REPS" -lt "$REPS" ] || PAUSE_REPS=$REPS
# w3m: Debian's binary on libgc1 and on the drop-in (not gcheap-base:
# a base stage has no drop-in of its own)
if want w3m; then
	if [ ! -x realprogs/bin/w3m ] || [ ! -f "$W3M_PAGE" ] || [ ! -x bin/gcheap-run ]; then
		echo "bench: w3m skipped: realprogs/bin/w3m, $W3M_PAGE or bin/gcheap-run not staged (tools/realprogs/fetch --stage DIR --only w3m)"
		WORKLOADS=$(echo " $WORKLOADS " | sed 's/ w3m / /')
	else
		total=$((total + 2))
	fi
fi
total=$((total * REPS + pause_runs * PAUSE_REPS))
n=0
t_start=$(cut -d' ' -f1 /proc/uptime)
failed=0

# module KO: load it unless it is the one loaded (the pool: one worker
# thread per CPU, the module's default)
loaded=
module() {
	[ "$loaded" = "$1" ] && return
	rmmod gcheap 2>/dev/null
	insmod "$1" || { echo "bench: insmod $1 failed"; exit 1; }
	loaded=$1
}

# envp CONTENDER: the environment its programs run with (a command prefix)
envp() {
	[ "$1" = gcheap-base ] && echo "env LD_LIBRARY_PATH=/gcheap/base/lib"
}

# prog CONTENDER WORKLOAD: the program
prog() {
	case $1 in
	gcheap-base) echo "base/bin/$2-gcheap" ;;
	gcheap) if [ "$2" = gcbench ]; then echo bin/gcbench; else echo "bin/$2-gcheap"; fi ;;
	*) echo "bin/$2-$1" ;;
	esac
}

# busy: the machine's busy CPU time so far, in 1/100 s (/proc/stat: all
# but idle and iowait)
busy() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# w3m_run CONTENDER: Debian's w3m dumping $W3M_PAGE with libgc1 (bdwgc)
# or through gcheap-run on the drop-in (gcheap), default settings; one
# JSON object like the benchmark programs' (wall and CPU time, the
# machine's busy time, which counts gcheap's kernel workers, peak RSS
# from busybox time -v (corrected), collections and pauses from GCHEAP_TRACE=1 or
# bdwgc's GC_PRINT_STATS log).  The output must be the same every time.
w3m_run() {
	c=$1
	rm -f /tmp/w3m.gclog
	set -- realprogs/bin/w3m -dump -cols 100 -T text/html -O UTF-8 \
		-o display_link_number=1 "$W3M_PAGE"
	b0=$(busy)
	t0=$(cut -d' ' -f1 /proc/uptime)
	if [ "$c" = gcheap ]; then
		GCHEAP_TRACE=1 time -v -o /tmp/w3m.time bin/gcheap-run "$@" \
			> /tmp/w3m.out 2> /tmp/w3m.err
	else
		GC_PRINT_STATS=1 GC_LOG_FILE=/tmp/w3m.gclog time -v -o /tmp/w3m.time \
			"$@" > /tmp/w3m.out 2> /tmp/w3m.err
	fi
	rc=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	b1=$(busy)
	if [ "$rc" != 0 ]; then
		tail -n 5 /tmp/w3m.err >&2
		return 1
	fi
	sum=$(md5sum < /tmp/w3m.out | cut -d' ' -f1)
	[ -f /tmp/w3m.sum ] || echo "$sum" > /tmp/w3m.sum
	if [ "$sum" != "$(cat /tmp/w3m.sum)" ]; then
		echo "w3m: $c's output differs from the first run's" >&2
		return 1
	fi
	if [ "$c" = gcheap ]; then
		pauses=$(sed -n 's/^gc [0-9]* @.* = pause \([0-9.]*\) ms.*/\1/p' /tmp/w3m.err)
	else
		pauses=$(sed -n 's/^World-stopped marking took \([0-9]*\) ms \([0-9]*\) ns.*/\1 \2/p' \
			/tmp/w3m.gclog 2>/dev/null | awk '{ printf "%.3f\n", $1 + $2 / 1e6 }')
	fi
	echo "$pauses" | awk -v c="$c" -v page="$W3M_PAGE" -v wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		-v mach="$(( b1 - b0 ))" -v bytes="$(wc -c < /tmp/w3m.out)" \
		-v user="$(sed -n 's/.*User time (seconds): //p' /tmp/w3m.time)" \
		-v sys="$(sed -n 's/.*System time (seconds): //p' /tmp/w3m.time)" \
		-v rss="$(sed -n 's/.*Maximum resident set size (kbytes): //p' /tmp/w3m.time)" '
		# busybox time takes ru_maxrss (KiB) for pages: 4 times too much
		BEGIN { rss /= 4 }
		NF { n++; t += $1; if ($1 > m) m = $1; p = p (n > 1 ? ", " : "") $1 }
		END {
			printf "{\"benchmark\": \"w3m\", \"backend\": \"%s\", \"page\": \"%s\", ", c, page
			printf "\"out_bytes\": %d, \"wall_s\": %.3f, \"cpu_s\": %.2f, ", bytes, wall, user + sys
			printf "\"machine_cpu_s\": %.2f, \"peak_rss_kib\": %d, \"collections\": %d, ", mach / 100, rss, n
			printf "\"pause_total_ms\": %.3f, \"pause_max_ms\": %.3f, \"pauses_ms\": [%s]}\n", t, m, p
		}'
}

# run REP WORKERS CONTENDER LABEL COMMAND...: one run, its JSON line
# tagged; a gcheap contender's runs under its own module
run() {
	rep=$1 workers=$2 contender=$3 label="$4 $3"
	shift 4
	case $contender in
	gcheap | gcheap-conc) module gcheap.ko ;;
	gcheap-base | gcheap-base-conc) module base/gcheap.ko ;;
	esac
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
	echo "$out" | sed "s/}\$/, \"rep\": $rep, \"workers\": $workers, \"contender\": \"$contender\", \"label\": \"$label\"}/; s/^/BENCH-JSON /"
}

module gcheap.ko
echo "bench: $total runs, $REPS rounds, $ncpu CPUs, kernel $(uname -r)"
r=1
while [ "$r" -le "$REPS" ]; do
	# A/B: which module runs first alternates between rounds, so that
	# neither side always comes right after a module load or bdwgc
	if [ "$AB" = 1 ]; then
		if [ $((r % 2)) = 1 ]; then GCHEAPS="gcheap-base gcheap"; else GCHEAPS="gcheap gcheap-base"; fi
		CONTENDERS="$GCHEAPS bdwgc malloc"
	fi
	want gcbench && for t in $GCB_THREADS; do
		for c in $CONTENDERS; do
			run "$r" "$ncpu" $c "gcbench t$t" \
				$(envp $c) $(prog $c gcbench) -d "$GCB_DEPTH" -t "$t"
		done
		# issue 18: the same with the mark beside the program
		for c in $GCHEAPS; do
			run "$r" "$ncpu" $c-conc "gcbench t$t" \
				$(envp $c) env GCHEAP_CONCURRENT=1 $(prog $c gcbench) -d "$GCB_DEPTH" -t "$t"
		done
	done
	# GCB8_PROCS single-threaded GCBench processes at once; multi's
	# JSON: the wall time until the last one ends, CPU times added up
	want gcbench8 && for c in $CONTENDERS; do
		run "$r" "$ncpu" $c "gcbench8 x$GCB8_PROCS d$GCB8_DEPTH" \
			$(envp $c) bin/multi -n "$GCB8_PROCS" -b gcbench -B $c -- \
			$(prog $c gcbench) -d "$GCB8_DEPTH"
	done
	want alloc && for t in $ALLOC_THREADS; do
		for s in 16 64 256; do
			for c in $CONTENDERS; do
				a="-s $s -t $t -b $ALLOC_MIB -w $ALLOC_WARM_MIB -c $ALLOC_GCS"
				run "$r" "$ncpu" $c "alloc ${s}B t$t" \
					$(envp $c) $(prog $c alloc) $a
				[ "$c" = malloc ] && continue
				run "$r" "$ncpu" $c "alloc ${s}B t$t nogc" \
					$(envp $c) $(prog $c alloc) $a -n
			done
		done
	done
	want garbage && for c in $CONTENDERS; do
		run "$r" "$ncpu" $c garbage \
			$(envp $c) $(prog $c garbage) -t "$ncpu" -i "$GARBAGE_ITERS"
	done
	# gcheap: one build, collections with 1 and 2 of the pool's
	# workers in turn (bigheap -w); bdwgc: GC_MARKERS, fixed per process
	want bigheap && for m in $BIG_MIB; do
		for c in $GCHEAPS; do
			run "$r" 0 $c "bigheap ${m}MiB w1,w2" \
				$(envp $c) $(prog $c bigheap) -m "$m" -c "$BIG_COLL" -w 1,2
		done
		for w in 1 2; do
			run "$r" "$w" bdwgc "bigheap ${m}MiB w$w" \
				env GC_MARKERS="$w" bin/bigheap-bdwgc -m "$m" -c "$BIG_COLL" -w "$w"
		done
	done
	# finalizers and weak links: the collectors only (malloc has none)
	want finalize && for c in $GCHEAPS bdwgc; do
		run "$r" "$ncpu" $c "finalize n$FIN_N" \
			$(envp $c) $(prog $c finalize) -n "$FIN_N"
	done
	# pause: the live heap built with collection on, then PAUSE_ALLOC
	# times as much allocated (short-lived objects, the old graph
	# mutated) with the program's own latency measured; gcheap with
	# GCHEAP_CONCURRENT=0 (stop the world for the mark) and =1
	# (gcheap-conc: mark beside the program), bdwgc with its full
	# collections and incremental (bdwgc-incr: GC_ENABLE_INCREMENTAL=1,
	# which bdwgc's GC_init() reads; the JSON's "incremental" says
	# whether it took)
	[ "$r" -le "$PAUSE_REPS" ] && want pause && for m in $PAUSE_MIB; do
		a=$((m * PAUSE_ALLOC))
		[ "$a" -ge "$PAUSE_MIN_ALLOC" ] || a=$PAUSE_MIN_ALLOC
		for c in $GCHEAPS; do
			run "$r" "$ncpu" $c "pause ${m}MiB" \
				$(envp $c) env GCHEAP_CONCURRENT=0 $(prog $c pause) -m "$m" -a "$a"
			run "$r" "$ncpu" $c-conc "pause ${m}MiB" \
				$(envp $c) env GCHEAP_CONCURRENT=1 $(prog $c pause) -m "$m" -a "$a"
		done
		run "$r" "$ncpu" bdwgc "pause ${m}MiB" bin/pause-bdwgc -m "$m" -a "$a"
		run "$r" "$ncpu" bdwgc-incr "pause ${m}MiB" \
			env GC_ENABLE_INCREMENTAL=1 bin/pause-bdwgc -m "$m" -a "$a"
	done
	# w3m: libgc1 first in odd rounds, the drop-in first in even ones
	if want w3m; then
		if [ $((r % 2)) = 1 ]; then w3m_order="bdwgc gcheap"; else w3m_order="gcheap bdwgc"; fi
		for c in $w3m_order; do
			run "$r" "$ncpu" $c "w3m ${W3M_PAGE##*/}" w3m_run $c
		done
	fi
	r=$((r + 1))
done
echo "bench: done, $n runs, $failed failed"
[ "$failed" = 0 ]
