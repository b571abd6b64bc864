#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The drop-in libgc.so.1 exports what Debian's libgc1 exports (issue: "Run
# bdwgc programs unmodified").  TAP on stdout.
#
#   selftests/gc_compat/symbols.sh [DROPIN [REFERENCE]]
#
# DROPIN defaults to build/lib/gc/libgc.so.1, REFERENCE to libgc1's
# libgc.so.1 as the loader finds it.  Checks: every GC_ symbol of the
# reference is defined in the drop-in, as a function where it is one and as
# data where it is data (copy relocations need the same size); no symbol
# besides GC_ ones is exported; symbol versions agree (libgc1 has none).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dropin=${1:-$root/build/lib/gc/libgc.so.1}
ref=${2:-}
if [[ -z $ref ]]; then
	ref=$(/sbin/ldconfig -p 2>/dev/null | awk '$1 == "libgc.so.1" && /x86-64/ {print $NF; exit}')
	[[ -n $ref ]] || ref=/usr/lib/x86_64-linux-gnu/libgc.so.1
fi
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }

echo "TAP version 13"
if [[ ! -f $dropin ]]; then
	echo "1..1"
	echo "not ok 1 - drop-in $dropin not built"
	exit 1
fi
if [[ ! -f $ref ]]; then
	echo "1..1"
	echo "not ok 1 - reference libgc.so.1 not found (libgc1 is installed by tools/install-deps)"
	exit 1
fi
echo "# drop-in:   $dropin"
echo "# reference: $ref ($(dpkg-query -W -f='${Version}' libgc1 2>/dev/null))"

# NAME CLASS SIZE, class F for functions, D for data (nm's T vs D/B/R/V)
syms() {
	nm -D -S --defined-only "$1" | awk '
		NF == 4 { size = $2; type = $3; name = $4 }
		NF == 3 { size = "-"; type = $2; name = $3 }
		{ cls = (type ~ /^[TtWiI]$/) ? "F" : "D"; print name, cls, (cls == "D" ? size : "-") }' |
		sort
}
ref_syms=$(syms "$ref" | grep '^GC_')
our_syms=$(syms "$dropin")

missing=$(comm -23 <(awk '{print $1}' <<<"$ref_syms") <(awk '{print $1}' <<<"$our_syms"))
nref=$(wc -l <<<"$ref_syms")
if [[ -z $missing ]]; then
	ok "all $nref GC_ symbols of libgc1 are defined"
else
	notok "GC_ symbols of libgc1 missing: $(echo $missing)"
fi

wrong=$(join <(echo "$ref_syms") <(echo "$our_syms") | awk '$2 != $4 {print $1 "(" $2 "->" $4 ")"}')
if [[ -z $wrong ]]; then
	ok "each is a function or data as in libgc1"
else
	notok "function/data mismatch: $(echo $wrong)"
fi

small=$(join <(echo "$ref_syms") <(echo "$our_syms") |
	while read -r name rc rs oc os; do
		[[ $rc == D && $rs != - && $os != - ]] || continue
		((16#$os < 16#$rs)) && echo "$name"
	done)
if [[ -z $small ]]; then
	ok "no variable is smaller than libgc1's"
else
	notok "variables smaller than libgc1's (copy relocations would truncate): $(echo $small)"
fi

extra=$(awk '$1 !~ /^GC_/ {print $1}' <<<"$our_syms")
if [[ -z $extra ]]; then
	ok "nothing but GC_ symbols is exported"
else
	notok "exported besides GC_ symbols: $(echo $extra)"
fi

# symbol versions: the library's version definitions, but the base one
vers() {
	objdump -p "$1" | sed -n '/^Version definitions:/,/^$/p' |
		awk '$1 ~ /^[0-9]+$/ && $2 != "0x01" {print $4}' | sort | tr '\n' ' '
}
rv=$(vers "$ref")
ov=$(vers "$dropin")
if [[ "$rv" == "$ov" ]]; then
	ok "symbol versions agree (${rv:-none})"
else
	notok "symbol versions differ: libgc1 '${rv:-none}', drop-in '${ov:-none}'"
fi

doc=$root/Documentation/gc-compat.rst
undoc=$(for s in $(awk '{print $1}' <<<"$ref_syms"); do
	grep -q "\`\`$s\`\`" "$doc" || echo "$s"
done)
if [[ -z $undoc ]]; then
	ok "Documentation/gc-compat.rst's table names every symbol"
else
	notok "not in Documentation/gc-compat.rst's table: $(echo $undoc)"
fi

soname=$(objdump -p "$dropin" | awk '$1 == "SONAME" {print $2}')
if [[ $soname == libgc.so.1 ]]; then
	ok "SONAME is libgc.so.1"
else
	notok "SONAME is '$soname', not libgc.so.1"
fi

echo "1..$n"
((fails == 0))
