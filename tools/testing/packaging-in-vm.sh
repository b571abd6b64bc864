#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (busybox sh), on each stock kernel, from the
# payload that `tools/testing/packaging host` makes: modules/RELEASE/, the
# module as DKMS built it for each kernel (gcheap.ko, with its BTF) and
# the same with the other kernel's BTF (gcheap-otherbtf.ko); root/ (a
# `make install DESTDIR=root`, with gcpause), lib -> the installed
# library, and the installed example built against it with pkg-config,
# shared (bin/list) and static (bin/list-static).  TAP between
# "### GCHEAP-TAP-BEGIN packaging" and "### GCHEAP-TAP-END packaging rc=N".

# the checks are functions that check() calls
# shellcheck disable=SC2317
set -u
cd /gcheap || exit 1
out=/tmp/packaging.tap
n=0
rc=0
ok() { n=$((n + 1)); echo "ok $n $1" >>$out; }
not_ok() { n=$((n + 1)); echo "not ok $n $1" >>$out; rc=1; }
# check NAME CMD...: CMD's output is shown, its status decides (and is
# returned)
check() {
	name=$1
	shift
	echo "### $name"
	if "$@"; then
		ok "$name"
		return 0
	fi
	not_ok "$name"
	return 1
}
: >$out

# the parameters the installed modprobe.d file gives as the defaults
# must be the loaded module's, and name every parameter it has
params_match() {
	conf=root/etc/modprobe.d/gcheap.conf
	line=$(sed -n 's/^#options gcheap //p' "$conf")
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
	return "$bad"
}

device_mode() {
	ls -l /dev/gcheap
	[ -c /dev/gcheap ] && [ "$(stat -c %A /dev/gcheap)" = crw-rw-rw- ]
}

# run an example; it must report a collection that freed most of the nine
# lists of 1000 nodes and names it dropped (18000 objects)
example() {
	"$@" >/tmp/example.out 2>&1
	st=$?
	cat /tmp/example.out
	[ "$st" = 0 ] || return 1
	freed=$(sed -n 's/^collection [0-9]*: \([0-9]*\) objects freed.*/\1/p' /tmp/example.out)
	if [ -z "$freed" ] || [ "$freed" -lt 9000 ]; then
		echo "expected a collection freeing at least 9000 objects"
		return 1
	fi
}

traced() {
	GCHEAP_TRACE=1 bin/list >/tmp/trace.out 2>&1 || { cat /tmp/trace.out; return 1; }
	cat /tmp/trace.out
	grep -q '^gc 1 @.* user: ' /tmp/trace.out
}

# the kernel took the DKMS-built module's BTF (it drops BTF encoded
# against another vmlinux)
module_btf() {
	ls -l /sys/kernel/btf/gcheap && return 0
	echo "no /sys/kernel/btf/gcheap: the module has no BTF, or the kernel refused it:"
	dmesg | grep -i btf | tail -n 5
	return 1
}

# gcpause_sees MODE: gcpause -e, in its default mode (auto), attaches with
# MODE and sees the example's collection
gcpause_sees() {
	root/usr/local/sbin/gcpause -e >/tmp/gcpause.out 2>/tmp/gcpause.err &
	gp=$!
	i=0
	# "tracing gcheap collections (MODE)...": attached from then on
	until grep -q 'tracing gcheap collections' /tmp/gcpause.err; do
		i=$((i + 1))
		if [ "$i" -gt 300 ] || ! kill -0 "$gp" 2>/dev/null; then
			echo "gcpause did not attach:"
			cat /tmp/gcpause.err
			kill "$gp" 2>/dev/null
			wait "$gp"
			return 1
		fi
		sleep 0.1
	done
	bin/list >/tmp/list.out 2>&1 || { cat /tmp/list.out; kill "$gp"; wait "$gp"; return 1; }
	# the ring buffer is read every 100 ms
	sleep 1
	kill -INT "$gp"
	wait "$gp"
	st=$?
	cat /tmp/gcpause.err /tmp/gcpause.out
	[ "$st" = 0 ] || { echo "gcpause exited with $st"; return 1; }
	grep -q "tracing gcheap collections ($1)" /tmp/gcpause.err ||
		{ echo "gcpause did not choose $1"; return 1; }
	grep -q '^[0-9][0-9]* *list  *[0-9]' /tmp/gcpause.out ||
		{ echo "gcpause reported no collection of the example (list)"; return 1; }
}

# The module with module BTF of the other stock kernel, encoded against
# another vmlinux: the kernel logs that and loads the module without it
# (CONFIG_MODULE_ALLOW_BTF_MISMATCH, as Debian's kernels have)
insmod_other_btf() {
	[ -f "$ko_dir/gcheap-otherbtf.ko" ] ||
		{ echo "no $ko_dir/gcheap-otherbtf.ko (a DKMS-built module has no BTF)"; return 1; }
	dmesg -c >/dev/null
	insmod "$ko_dir/gcheap-otherbtf.ko" || return 1
	dmesg | grep -i btf
	if [ -e /sys/kernel/btf/gcheap ]; then
		echo "the kernel took module BTF encoded against another vmlinux"
		return 1
	fi
	dmesg | grep -qi btf || { echo "the kernel said nothing about the module's BTF"; return 1; }
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
	[ "$st" = 127 ] && echo "$msg" | grep -q '/dev/gcheap is missing.*modprobe gcheap'
}

bdwgc_client() {
	GCHEAP_TRACE=1 gcrun bin/bdwgc-client >/tmp/bdwgc.out 2>&1
	st=$?
	cat /tmp/bdwgc.out
	[ "$st" = 0 ] && grep -q '^bdwgc-client: ok' /tmp/bdwgc.out &&
		grep -q '^gc 2 @' /tmp/bdwgc.out
}

# the modules DKMS built for this kernel
ko_dir=modules/$(uname -r)
echo "### kernel $(uname -r), modules built by DKMS for it:"
ls -l "$ko_dir"
check "gcheap-run without the module says how to load it" no_module_message
if check "insmod the DKMS-built gcheap.ko" insmod "$ko_dir/gcheap.ko"; then
	check "/dev/gcheap is a character device, mode 0666" device_mode
	check "gcheap.conf names every parameter with the module's default" params_match
	check "example (shared, installed libgcheap.so.0)" example bin/list
	check "example (static, installed libgcheap.a)" example bin/list-static
	check "GCHEAP_TRACE=1 prints a line per collection" traced
	check "the DKMS-built module has BTF (/sys/kernel/btf/gcheap)" module_btf
	check "gcpause attaches with tp_btf and sees a collection" gcpause_sees tp_btf
	check "a libgc1 client on the installed drop-in (gcheap-run)" bdwgc_client
	check "rmmod gcheap" rmmod gcheap
fi
if check "the module with another kernel's BTF loads, without it" insmod_other_btf; then
	check "gcpause then attaches with raw_tp and sees a collection" gcpause_sees raw_tp
	check "rmmod gcheap (other kernel's BTF)" rmmod gcheap
fi

echo "1..$n" >>$out
echo "### GCHEAP-TAP-BEGIN packaging"
cat $out
echo "### GCHEAP-TAP-END packaging rc=$rc"
exit $rc
