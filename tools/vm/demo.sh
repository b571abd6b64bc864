#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# `make run`'s payload, run inside the VM (busybox sh) from the stage
# directory: load gcheap.ko, show it, run the allocation demo, then GCBench
# with GCHEAP_TRACE=1 (a line per collection) while gcpause traces its
# pauses, and print gcpause's histogram at the end.
set -eu

insmod gcheap.ko
# the module's own lines, without the kernel's timestamps
dmesg | grep "gcheap:" | sed 's/^\[[^]]*\] //'
ls -l /dev/gcheap
gcheap-info
gcheap-demo

echo
echo "### gcpause -P: pause histograms of every process, with phases"
gcpause -P >/tmp/gcpause.out 2>/tmp/gcpause.err &
gcpause=$!
# attached once it says so (loading BPF takes a few seconds under TCG)
i=0
until grep -q "tracing gcheap" /tmp/gcpause.err; do
	i=$((i + 1))
	if [ "$i" -gt 600 ] || ! kill -0 "$gcpause" 2>/dev/null; then
		cat /tmp/gcpause.err
		echo "gcpause did not start" >&2
		exit 1
	fi
	sleep 0.1
done
cat /tmp/gcpause.err

echo
echo "### GCBench with GCHEAP_TRACE=1"
GCHEAP_TRACE=1 gcbench -d 14
kill -INT "$gcpause"
wait "$gcpause"

echo
echo "### gcpause's histograms of that run"
cat /tmp/gcpause.out
