#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (busybox sh) from the stage directory, /gcheap.
#
#   run-in-vm.sh kunit       load gcheap.ko (its KUnit suites run at load)
#                            and report the suites' KTAP from debugfs
#   run-in-vm.sh selftests   load gcheap.ko and run every selftest, a
#                            tiny run of each benchmark program (bench_smoke)
#                            and a short gcsoak run (soak_short)
#   run-in-vm.sh kunit+selftests   both, in one boot (the debug kernel)
#   run-in-vm.sh anywhere    load gcheap.ko and run the race-sensitive
#                            tests, for a VM in interrupt-anywhere mode
#                            (tools/vm/run --anywhere): a check that the
#                            mode is on, gcheap_regs_test, gcsoak with
#                            SSE/AVX swaps and gcheap_concurrent_test
#   run-in-vm.sh concurrent  load gcheap.ko with concurrent_mark=1 and run
#                            the collection tests, benchmark programs and
#                            gcsoak with the mark beside the program
#
# GCHEAP_MODULE_PARAMS: parameters for insmod (anywhere mode with
# concurrent_mark=1 is make check's anywhere-concurrent-6.1 layer).
#
# Each program's TAP is shown as it runs and again, at the end, between
# "### GCHEAP-TAP-BEGIN <name>" and "### GCHEAP-TAP-END <name> rc=<rc>"
# markers, which tools/testing/tapsum reads from the console log.
# Exit status: 0 only if every program exited 0.

set -u
cd /gcheap || exit 1
export GCHEAP_KO=/gcheap/gcheap.ko
tapdir=/tmp/tap
mkdir -p "$tapdir"
status=0

# Whole seconds since boot.
uptime_s() {
	read -r up _ < /proc/uptime
	echo "${up%.*}"
}

# The harness's "#  RUN" and "#  OK" comment lines with the uptime
# appended, so that a slow test case shows in the console log.
stamp() {
	awk '/^#  *(RUN|OK|FAIL|SKIP) / {
		getline up < "/proc/uptime"; close("/proc/uptime")
		split(up, a, " "); $0 = $0 " [" int(a[1]) "s]"
	}
	{ print; fflush() }'
}

# run NAME COMMAND...: run one program, keep its output and exit status.
run() {
	name=$1
	shift
	t0=$(uptime_s)
	echo "### running $name (at ${t0}s)"
	{ "$@"; echo $? > "$tapdir/$name.rc"; } 2>&1 | stamp |
		tee "$tapdir/$name.tap"
	[ "$(cat "$tapdir/$name.rc")" = 0 ] || status=1
	# where make check's time goes (Documentation/testing.rst)
	echo "### done $name: exit $(cat "$tapdir/$name.rc"), $(($(uptime_s) - t0))s"
}

# A result that is not a program's: NAME RC TAP-TEXT.
record() {
	printf '%s\n' "$3" > "$tapdir/$1.tap"
	echo "$2" > "$tapdir/$1.rc"
	[ "$2" = 0 ] || status=1
}

# GCHEAP_MODULE_PARAMS: insmod's parameters, e.g. concurrent_mark=1
# (tools/testing/check's selftests-concurrent layers).
load_module() {
	# shellcheck disable=SC2086 # one word per parameter
	if ! insmod "$GCHEAP_KO" ${GCHEAP_MODULE_PARAMS:-}; then
		record insmod 1 "not ok 1 insmod $GCHEAP_KO"
		return 1
	fi
	record insmod 0 "ok 1 insmod $GCHEAP_KO ${GCHEAP_MODULE_PARAMS:-}"
}

kunit() {
	load_module || return
	kunit_results
}

# The KUnit suites' results, from debugfs (they ran at insmod).
kunit_results() {
	found=0
	for dir in /sys/kernel/debug/kunit/gcheap_*; do
		[ -r "$dir/results" ] || continue
		found=1
		suite=${dir##*/}
		# the results are KTAP; a failed case is a "not ok" line in them
		if grep -q '^ *not ok' "$dir/results"; then rc=1; else rc=0; fi
		record "kunit-$suite" "$rc" "$(cat "$dir/results")"
		cat "$dir/results"
	done
	[ "$found" = 1 ] ||
		record kunit 1 "not ok 1 no gcheap KUnit suite in /sys/kernel/debug/kunit (kernel without CONFIG_KUNIT_DEBUGFS?)"
}

# The benchmark programs, tiny, on every contender: each checks its own
# data (trees, graphs, lists), so this is a correctness test of the
# workloads and of the collector under them; never a timing.
bench_smoke() {
	contenders="gcheap bdwgc malloc"
	if [ -n "$no_refs" ]; then
		contenders=gcheap
		skip bench-contenders "the bdwgc and malloc benchmark programs do not use gcheap: $no_refs"
	fi
	for c in $contenders; do
		gcb=bin/gcbench-$c
		[ "$c" = gcheap ] && gcb=bin/gcbench
		smoke "bench-gcbench-$c" $gcb -d 8 -t 2 -j
		smoke "bench-alloc-$c" bin/alloc-$c -s 64 -t 2 -b 1 -j
		smoke "bench-alloc-nogc-$c" bin/alloc-$c -s 16 -t 1 -b 1 -n -j
		smoke "bench-garbage-$c" bin/garbage-$c -t 2 -p 16 -n 50 -i 40 -j
		smoke "bench-bigheap-$c" bin/bigheap-$c -m 4 -c 2 -j
		smoke "bench-pause-$c" bin/pause-$c -m 4 -a 16 -j
		[ "$c" = malloc ] || smoke "bench-finalize-$c" bin/finalize-$c -n 2000 -j
	done
}

# smoke NAME COMMAND...: a program that is not TAP; pass if it exits 0.
smoke() {
	name=$1
	shift
	if [ ! -x "$1" ]; then
		record "$name" 1 "not ok 1 $name: $1 not staged"
	elif out=$("$@" 2>&1); then
		record "$name" 0 "ok 1 $name"
	else
		echo "$out" | tail -n 5
		record "$name" 1 "not ok 1 $name: $* failed"
	fi
}

# soak NAME GCSOAK-ARGS...: a gcsoak run; its last line is the report.
soak() {
	name=$1
	shift
	if [ ! -x bin/gcsoak ]; then
		record "$name" 1 "not ok 1 $name: bin/gcsoak not staged"
		return
	fi
	echo "### running $name (at $(uptime_s)s)"
	{ bin/gcsoak "$@"; echo $? > /tmp/gcsoak.rc; } 2>&1 |
		tee /tmp/gcsoak.out
	rc=$(cat /tmp/gcsoak.rc)
	last=$(tail -n 1 /tmp/gcsoak.out)
	if [ "$rc" = 0 ]; then
		record "$name" 0 "ok 1 $last"
	else
		record "$name" 1 "not ok 1 $name exit $rc: $last"
	fi
}

# A short gcsoak run (make soak runs it long): 8 mutators verifying
# checksummed graphs while collections run.
soak_short() {
	soak gcsoak -t 8 -d 15 -p 5
}

# Is the mode on?  With its pointers hidden (XOR a mask) in general
# registers through the window (GCH_REGS_MASK_GPR=1), gcheap_regs_test's
# gpr variant must lose nodes: it does whenever interrupts land inside the
# window, and never in a normal TCG run.  Without this, the layer's other
# tests passing would prove nothing.
anywhere_mode() {
	if [ ! -x bin/gcheap_regs_test ]; then
		record anywhere-mode 1 "not ok 1 bin/gcheap_regs_test not staged"
		return
	fi
	echo "### running anywhere-mode"
	GCH_REGS_MASK_GPR=1 GCH_REGS_SECONDS=10 bin/gcheap_regs_test 2>&1 |
		tee /tmp/anywhere-mode.out
	lost=$(sed -n 's/.*gpr: .*; \([0-9]*\) of [0-9]* nodes corrupt.*/\1/p' \
		/tmp/anywhere-mode.out)
	if [ -n "$lost" ] && [ "$lost" -gt 0 ]; then
		record anywhere-mode 0 "ok 1 interrupt-anywhere mode: hidden pointers were lost in the window ($lost nodes)"
	else
		record anywhere-mode 1 "not ok 1 interrupt-anywhere mode: no collection landed inside the window (lost '${lost}'): is the VM in the mode?"
	fi
}

# Interrupt-anywhere mode (tools/vm/run --anywhere: one instruction per
# translation block, 13-65 times slower): the tests whose races need a
# thread stopped inside straight-line code.  Pointers only in registers
# across a window (GCH_REGS_SECONDS per variant); gcsoak with mutators
# swapping slots through SSE/AVX registers (GCSOAK_SECONDS).  The whole of
# gcheap_gc_test would take too long here (6.1's harness cannot pick
# tests).  The module must unload.
anywhere() {
	# the mode check is about the VM: the module's defaults (with
	# concurrent_mark=1 a pointer must hide through both stops of a
	# collection to be lost, which the check cannot count on)
	params=${GCHEAP_MODULE_PARAMS:-}
	GCHEAP_MODULE_PARAMS=
	load_module || return
	anywhere_mode
	# then the parameters, for the tests
	for p in $params; do
		if echo "${p#*=}" > "/sys/module/gcheap/parameters/${p%%=*}"; then
			record "param-${p%%=*}" 0 "ok 1 $p"
		else
			record "param-${p%%=*}" 1 "not ok 1 cannot set $p"
		fi
	done
	if [ -x bin/gcheap_regs_test ]; then
		run gcheap_regs_test env GCH_REGS_SECONDS="${GCH_REGS_SECONDS:-15}" \
			bin/gcheap_regs_test
	else
		record gcheap_regs_test 1 "not ok 1 bin/gcheap_regs_test not staged"
	fi
	soak gcsoak-sse -t 4 -d "${GCSOAK_SECONDS:-30}" -p 10 -x
	# threads asleep, woken and collecting side by side, fewer rounds
	if [ -x bin/gcheap_concurrent_test ]; then
		run gcheap_concurrent_test env GCH_CONC_PERCENT="${GCH_CONC_PERCENT:-10}" \
			bin/gcheap_concurrent_test
	else
		record gcheap_concurrent_test 1 "not ok 1 bin/gcheap_concurrent_test not staged"
	fi
	if rmmod gcheap; then
		record rmmod 0 "ok 1 rmmod gcheap after the tests"
	else
		record rmmod 1 "not ok 1 rmmod gcheap after the tests"
	fi
}

# The mark beside the program (concurrent_mark=1): the tests that check
# what a collection keeps and frees, with checksummed data, under mutators
# that run and write pointers during the mark, named cm-<program>.  The
# stock kernels run them; interrupt-anywhere mode runs anywhere() with the
# parameter (GCHEAP_MODULE_PARAMS).
concurrent() {
	GCHEAP_MODULE_PARAMS="concurrent_mark=1 ${GCHEAP_MODULE_PARAMS:-}"
	load_module || return
	debug_profile || :
	export GCH_CMARK_SECONDS="${GCH_CMARK_SECONDS:-10}"
	for t in gc lib final concurrent regs teardown cmark; do
		if [ -x "bin/gcheap_${t}_test" ]; then
			run "cm-gcheap_${t}_test" "bin/gcheap_${t}_test"
		else
			record "cm-gcheap_${t}_test" 1 "not ok 1 bin/gcheap_${t}_test not staged"
		fi
	done
	# heaps mapped with cmark_wp off read every entry's dirty bit at the
	# final stop instead of write-protecting the last round: the same
	# operations during a mark against that path, half as long
	wp=/sys/module/gcheap/parameters/cmark_wp
	if [ -w "$wp" ] && echo 0 >"$wp"; then
		run cm-gcheap_cmark_test-nowp env \
			GCH_CMARK_SECONDS=$(((GCH_CMARK_SECONDS + 1) / 2)) \
			bin/gcheap_cmark_test
		echo 1 >"$wp"
	else
		record cm-gcheap_cmark_test-nowp 1 "not ok 1 cannot turn $wp off"
	fi
	smoke cm-bench-gcbench bin/gcbench -d 10 -t 2 -j
	smoke cm-bench-garbage bin/garbage-gcheap -t 2 -p 16 -n 50 -i 200 -j
	smoke cm-bench-pause bin/pause-gcheap -m 8 -a 32 -j
	soak cm-gcsoak -t 8 -d 15 -p 5
	# collections by the pacing only: marks in the background
	soak cm-gcsoak-paced -t 4 -d 15 -i 600000 -p 5
	if grep -q ' 0 paced)' /tmp/gcsoak.out; then
		record cm-gcsoak-paced-ran 1 "not ok 1 the paced soak made no paced collection: $(tail -n 1 /tmp/gcsoak.out)"
	else
		record cm-gcsoak-paced-ran 0 "ok 1 the paced soak's collections came from the pacing"
	fi
	if rmmod gcheap; then
		record cm-rmmod 0 "ok 1 rmmod gcheap after the tests"
	else
		record cm-rmmod 1 "not ok 1 rmmod gcheap after the tests"
	fi
}

# Programs that do not use gcheap (Debian's libgc1 under the gc_compat
# tests, the bdwgc and malloc benchmark contenders) give the same answer
# on every kernel: make check runs them on one (GCHEAP_REFERENCE_RUNS=0
# elsewhere, tools/testing/check).
no_refs=""
[ "${GCHEAP_REFERENCE_RUNS:-1}" = 0 ] &&
	no_refs="they run on the first stock kernel of make check (GCHEAP_REFERENCE_RUNS=0)"

# The debug kernel (KASAN, lockdep, kmemleak) runs every kernel path the
# stock kernels do, 5-60 times slower: its stress loops run shorter (the
# stock kernels and make fuzz / make soak run them long), and programs
# whose kernel side is covered by others here are left to the stock
# kernels: the rseq-less rerun of gcheap_alloc_test (a library path), the
# gc_compat tests (the drop-in's finalizer orders, links and collection
# gate are gcheap_final_test's and gcheap_gc_test's too) and the programs
# that do not use gcheap.  About 14 minutes instead of 22.
debug_profile() {
	[ -e /proc/lockdep ] || return 1
	export GCH_FUZZ_CALLS="${GCH_FUZZ_CALLS:-20000}"
	export GCHEAP_TEARDOWN_SECONDS="${GCHEAP_TEARDOWN_SECONDS:-5}"
	export GCH_CONC_PERCENT="${GCH_CONC_PERCENT:-30}"
	export GCH_FINAL_OBJECTS="${GCH_FINAL_OBJECTS:-30000}"
	export GCHEAP_ROOTS_TEST_MANY="${GCHEAP_ROOTS_TEST_MANY:-600}"
	export GCH_CMARK_SECONDS="${GCH_CMARK_SECONDS:-1}"
	no_refs="debug kernel: the stock kernels run them"
}

# skip NAME WHY: a program not run here, and why
skip() {
	record "$1" 0 "ok 1 $1 # SKIP $2"
}

selftests() {
	load_module || return
	# kunit+selftests: one boot of the debug kernel for both (the suites
	# run at every insmod, a minute there)
	[ "${1:-}" = kunit ] && kunit_results
	debug=0
	debug_profile && debug=1
	# the operations-during-a-mark tests race only with concurrent_mark=1
	# (run-in-vm.sh concurrent runs them longer); here they check the same
	# invariants against stop-the-world collections, briefly
	export GCH_CMARK_SECONDS="${GCH_CMARK_SECONDS:-2}"
	for t in bin/*_test; do
		# the module test unloads and reloads gcheap.ko: run it last
		[ "$t" = bin/gcheap_module_test ] && continue
		# a kernel without IA32 emulation cannot run the 32-bit caller
		# (the debug kernel): there is no 32-bit process to refuse
		if [ "$t" = bin/gcheap_compat_test ] &&
		   [ ! -e /proc/sys/abi/vsyscall32 ]; then
			record gcheap_compat_test 0 "ok 1 compat_32bit_caller # SKIP kernel without CONFIG_IA32_EMULATION: no 32-bit process can exist"
			continue
		fi
		run "${t##*/}" "$t"
	done
	# the allocation tests again without glibc's rseq registration: the
	# library must fall back to per-thread caches (__rseq_size == 0)
	if [ "$debug" = 1 ]; then
		skip gcheap_alloc_test-norseq "debug kernel: the library's rseq-less caches make the same ioctls; the stock kernels run this"
	elif [ -x bin/gcheap_alloc_test ]; then
		run gcheap_alloc_test-norseq \
			env GLIBC_TUNABLES=glibc.pthread.rseq=0 bin/gcheap_alloc_test
	fi
	# --- gc_compat: the drop-in libgc.so.1's tests (selftests/gc_compat/) ---
	# The same bdwgc program twice: on Debian's libgc1 (a failure there
	# means the test asks more than bdwgc's documentation promises), then
	# on the drop-in through gcheap-run, collecting often (GCHEAP_GOGC=20).
	if [ "$debug" = 1 ]; then
		skip gc_compat "debug kernel: the drop-in's kernel calls are gcheap_final_test's and gcheap_gc_test's too; the stock kernels run the gc_compat tests"
	else
		for t in bin/gc_compat/*_test; do
			[ -x "$t" ] || continue
			if [ -n "$no_refs" ]; then
				skip "gc_compat-libgc1-${t##*/}" "Debian's libgc1 does not use gcheap: $no_refs"
			else
				run "gc_compat-libgc1-${t##*/}" "$t"
			fi
			run "gc_compat-${t##*/}" env GCHEAP_GOGC=20 bin/gcheap-run "$t"
		done
	fi
	# --- end gc_compat ---
	bench_smoke
	soak_short
	[ -x bin/gcheap_module_test ] && run gcheap_module_test bin/gcheap_module_test
	# nothing may be left behind: the module must unload cleanly
	if rmmod gcheap; then
		record rmmod 0 "ok 1 rmmod gcheap after the tests"
	else
		record rmmod 1 "not ok 1 rmmod gcheap after the tests"
	fi
	# gcpause without the module: a clear message, exit status 1
	if [ -x bin/gcpause ]; then
		out=$(bin/gcpause 2>&1)
		rc=$?
		if [ "$rc" = 1 ] && echo "$out" | grep -q "module is not loaded"; then
			record gcpause-no-module 0 "ok 1 gcpause without the module says so"
		else
			record gcpause-no-module 1 "not ok 1 gcpause without the module: exit $rc: $out"
		fi
	fi
}

case "${1:-}" in
kunit) kunit ;;
selftests) selftests ;;
kunit+selftests) selftests kunit ;;
anywhere) anywhere ;;
concurrent) concurrent ;;
*) echo "usage: $0 kunit|selftests|kunit+selftests|anywhere|concurrent" >&2; exit 2 ;;
esac

for f in "$tapdir"/*.tap; do
	name=${f##*/}
	name=${name%.tap}
	echo "### GCHEAP-TAP-BEGIN $name"
	cat "$f"
	echo "### GCHEAP-TAP-END $name rc=$(cat "$tapdir/$name.rc")"
done
exit $status
