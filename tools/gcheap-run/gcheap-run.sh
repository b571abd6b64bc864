#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# gcheap-run - run a program built for bdwgc (Debian's libgc1) on gcheap.
#
#   gcheap-run [--check] PROGRAM [ARGS...]
#
# Puts gcheap's drop-in libgc.so.1 first in the loader's search path and
# runs PROGRAM: its GC_malloc() and friends then allocate from a gcheap
# heap, collected by the kernel module.  Nothing is rebuilt or installed
# over libgc1.  GCHEAP_* variables (GCHEAP_TRACE=1, GCHEAP_GOGC=N, ...) work
# as for any libgcheap program.  --check only checks that PROGRAM can run
# this way.  Exit status: PROGRAM's, or 127 when it cannot be started this
# way (no module, no drop-in library).  Version @VERSION@.
set -u

me=gcheap-run
usage() {
	cat <<USAGE
Usage: $me [--check] PROGRAM [ARGS...]
Run PROGRAM, built for bdwgc's libgc.so.1, on gcheap's drop-in libgc.so.1.
  --check     check that /dev/gcheap and the drop-in are usable, run nothing
  -h, --help  this help
  --version   print the version
Environment: GCHEAP_GC_LIBDIR (where libgc.so.1 is), GCHEAP_TRACE,
GCHEAP_GOGC and the other GCHEAP_* variables (gc-compat.rst in the docs).
USAGE
}

check=""
case "${1:-}" in
-h | --help) usage; exit 0 ;;
--version) echo "$me @VERSION@"; exit 0 ;;
--check) check=1; shift ;;
--) shift ;;
-*) echo "$me: unknown option '$1'" >&2; usage >&2; exit 127 ;;
esac
if [ -z "$check" ] && [ $# -eq 0 ]; then
	usage >&2
	exit 127
fi

# The drop-in: an explicit directory, the installed one, or next to this
# script in a build or VM stage.
here=$(dirname "$0")
libdir=""
for d in "${GCHEAP_GC_LIBDIR:-}" "@GC_LIBDIR@" "$here/../lib/gcheap-gc" \
	"$here/../lib/gc" "$here/../lib/gcheap"; do
	if [ -n "$d" ] && [ -f "$d/libgc.so.1" ]; then
		libdir=$d
		break
	fi
done
if [ -z "$libdir" ]; then
	echo "$me: gcheap's libgc.so.1 not found (looked in @GC_LIBDIR@; set GCHEAP_GC_LIBDIR)" >&2
	exit 127
fi

# The heap comes from /dev/gcheap: without it every allocation would fail.
if [ ! -e /dev/gcheap ]; then
	echo "$me: /dev/gcheap is missing: the gcheap module is not loaded (sudo modprobe gcheap)" >&2
	exit 127
fi
if [ ! -c /dev/gcheap ]; then
	echo "$me: /dev/gcheap is not a character device" >&2
	exit 127
fi
if [ ! -r /dev/gcheap ] || [ ! -w /dev/gcheap ]; then
	echo "$me: no read/write access to /dev/gcheap (see \"Restricting /dev/gcheap\" in install.rst: the gcheap group)" >&2
	exit 127
fi
if [ -n "$check" ]; then
	echo "$me: ready: $libdir/libgc.so.1, /dev/gcheap"
	exit 0
fi

LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
exec "$@"
