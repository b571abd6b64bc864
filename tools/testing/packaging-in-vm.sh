#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (busybox sh) from the payload that
# `tools/testing/packaging host` makes: the module as DKMS built it for
# this kernel, root/ (a `make install DESTDIR=root`), lib -> the installed
# library, and the installed example built against it with pkg-config,
# shared (bin/list) and static (bin/list-static).  TAP between
# "### GCHEAP-TAP-BEGIN packaging" and "### GCHEAP-TAP-END packaging rc=N".

set -u
cd /gcheap || exit 1
out=/tmp/packaging.tap
n=0
rc=0
ok() { n=$((n + 1)); echo "ok $n $1" >>$out; }
not_ok() { n=$((n + 1)); echo "not ok $n $1" >>$out; rc=1; }
# check NAME CMD...: CMD's output is shown, its status decides
check() {
	name=$1
	shift
	echo "### $name"
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
: >$out

# the parameters the installed modprobe.d file gives as the defaults
# must be the loaded module's, and name every parameter it has
params_match() {
	conf=root/etc/modprobe.d/gcheap.conf
	line=$(sed -n 's/^#options gcheap //p' $conf)
	[ -n "$line" ] || { echo "no '#options gcheap' line in $conf"; return 1; }
	bad=0
	for kv in $line; do
		k=${kv%%=*}
		v=$(cat /sys/module/gcheap/parameters/"$k" 2>/dev/null) ||
			{ echo "$conf: no parameter $k"; bad=1; continue; }
		[ "$v" = "${kv#*=}" ] || { echo "$k: $conf says ${kv#*=}, the module $v"; bad=1; }
	done
	for p in /sys/module/gcheap/parameters/*; do
		case " $line" in
		*" ${p##*/}="*) ;;
		*) echo "$conf does not name parameter ${p##*/}"; bad=1 ;;
		esac
	done
	return $bad
}

device_mode() {
	ls -l /dev/gcheap
	[ -c /dev/gcheap ] && ls -l /dev/gcheap | grep -q '^crw-rw-rw-'
}

# run an example; it must report a collection that freed most of the nine
# lists of 1000 nodes and names it dropped (18000 objects)
example() {
	"$@" >/tmp/example.out 2>&1
	st=$?
	cat /tmp/example.out
	[ $st = 0 ] || return 1
	freed=$(sed -n 's/^collection [0-9]*: \([0-9]*\) objects freed.*/\1/p' /tmp/example.out)
	[ -n "$freed" ] && [ "$freed" -ge 9000 ] ||
		{ echo "expected a collection freeing at least 9000 objects"; return 1; }
}

traced() {
	GCHEAP_TRACE=1 bin/list >/tmp/trace.out 2>&1 || { cat /tmp/trace.out; return 1; }
	cat /tmp/trace.out
	grep -q '^gc 1 @.* user: ' /tmp/trace.out
}

# the installed gcheap-run and drop-in libgc.so.1 (installed under
# /usr/local: here under root/, so the drop-in's directory is given)
gcrun() {
	GCHEAP_GC_LIBDIR=/gcheap/root/usr/local/lib/gcheap root/usr/local/bin/gcheap-run "$@"
}

# ($out is the TAP file: this one's output is $msg)
no_module_message() {
	msg=$(gcrun bin/bdwgc-client 2>&1)
	st=$?
	echo "$msg"
	[ $st = 127 ] && echo "$msg" | grep -q '/dev/gcheap is missing.*modprobe gcheap'
}

bdwgc_client() {
	GCHEAP_TRACE=1 gcrun bin/bdwgc-client >/tmp/bdwgc.out 2>&1
	st=$?
	cat /tmp/bdwgc.out
	[ $st = 0 ] && grep -q '^bdwgc-client: ok' /tmp/bdwgc.out &&
		grep -q '^gc 2 @' /tmp/bdwgc.out
}

echo "### kernel $(uname -r), module built by DKMS for $(cat release)"
check "gcheap-run without the module says how to load it" no_module_message
if check "insmod the DKMS-built gcheap.ko" insmod gcheap.ko; then
	check "/dev/gcheap is a character device, mode 0666" device_mode
	check "gcheap.conf names every parameter with the module's default" params_match
	check "example (shared, installed libgcheap.so.0)" example bin/list
	check "example (static, installed libgcheap.a)" example bin/list-static
	check "GCHEAP_TRACE=1 prints a line per collection" traced
	check "a libgc1 client on the installed drop-in (gcheap-run)" bdwgc_client
	check "rmmod gcheap" rmmod gcheap
fi

echo "1..$n" >>$out
echo "### GCHEAP-TAP-BEGIN packaging"
cat $out
echo "### GCHEAP-TAP-END packaging rc=$rc"
exit $rc
