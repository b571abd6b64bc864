# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Reading a VM's console: what fails a run, and what `tools/vm/run --quiet`
# shows of it.  Sourced by tools/vm/run and by its test
# (tools/testing/vm-console-test).
#
# Console lines that fail the run. KERNEL_SPLATS must appear after a printk
# timestamp "[   12.345678]" on the same line (printk.time=1 is always
# passed), so a test that merely prints "WARNING:" does not fail the run;
# ANY_SPLATS match anywhere (kmemleak's report is printed by `cat`).
# shellcheck disable=SC2034 # used by the scripts that source this
KERNEL_SPLATS='BUG:|WARNING:|KASAN|possible circular locking|possible recursive locking|inconsistent lock state|INFO: |Oops|Kernel panic|general protection fault|UBSAN|RCU stall|detected stall|suspected memory leak'
ANY_SPLATS='unreferenced object 0x'

# console_splats FILE: the lines of FILE that fail a run, numbered.
console_splats() {
	grep -a -n -E "\[ *[0-9]+\.[0-9]+\].*($KERNEL_SPLATS)|$ANY_SPLATS" "$1"
}

# console_quiet: stdin to stdout, the lines --quiet shows: from /init's
# start marker on, the lines that are not kernel messages
# ("[ 12.345678] ...") or the runner's own GCHEAP-VM-* markers; and kernel
# messages that are splats, wherever they are.
console_quiet() {
	awk -v splats="$KERNEL_SPLATS" -v any="$ANY_SPLATS" '
		/GCHEAP-VM-START/ { on = 1 }
		/^\[ *[0-9]+\.[0-9]+\]/ {
			if ($0 ~ splats || $0 ~ any) print
			fflush()
			next
		}
		on && !/^GCHEAP-VM-/ { print; fflush() }'
}
