# shellcheck shell=bash
# tools/lib/common.sh - helpers shared by the gcheap kernel/VM scripts.
#
# Source it from a script that runs with `set -euo pipefail`:
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
#
# Provides:
#   GCHEAP_ROOT   the work tree this file belongs to
#   GCHEAP_CACHE  kernel builds, downloads and initramfs images are cached
#                 here, OUTSIDE the work tree (override with $GCHEAP_CACHE)
#   info/warn/die logging to stderr, prefixed with the script name
#   need_cmd, pkg_version, short_hash, fmt_secs, with_lock, run_logged

if [[ -n "${GCHEAP_COMMON_SH:-}" ]]; then
	return 0
fi
GCHEAP_COMMON_SH=1

GCHEAP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GCHEAP_CACHE="${GCHEAP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gcheap}"
GCHEAP_PROG="${GCHEAP_PROG:-$(basename "$0")}"
export GCHEAP_CACHE GCHEAP_ROOT

info() { printf '%s: %s\n' "$GCHEAP_PROG" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$GCHEAP_PROG" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$GCHEAP_PROG" "$*" >&2
	exit 1
}

# need_cmd CMD [DEBIAN-PACKAGE]: fail early, naming the package to install.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found; install it with: apt-get install ${2:-$1}"
}

# pkg_version PACKAGE: version of an installed Debian package (empty if none).
pkg_version() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null |
		awk '$1 ~ /^ii/ { print $2 }'
}

# short_hash: 12 hex digits of the sha256 of stdin.
short_hash() { sha256sum | cut -c1-12; }

# fmt_secs N: "2m40s" / "12s".
fmt_secs() {
	local s=$1
	if ((s >= 60)); then
		printf '%dm%02ds' $((s / 60)) $((s % 60))
	else
		printf '%ds' "$s"
	fi
}

# with_lock LOCKFILE CMD...: run CMD (a function is fine) in this shell
# holding an exclusive flock, so that two invocations never build/extract
# the same cache entry at once. If CMD fails, errexit ends the script and
# the lock goes with the process.
with_lock() {
	local lockfile=$1 fd
	shift
	mkdir -p "$(dirname "$lockfile")"
	exec {fd}>"$lockfile"
	if ! flock -n "$fd"; then
		info "waiting for lock $lockfile (another build is running)"
		flock "$fd"
	fi
	"$@"
	exec {fd}>&-
}

# run_logged LABEL LOGFILE PROGRESS_FN CMD...: run CMD (an external command,
# so that an interrupt can stop it: it is killed with SIGTERM, and make
# passes that on to its jobs) with all its output appended to LOGFILE; every
# ~20 s print "LABEL: <PROGRESS_FN output>, <elapsed> elapsed". On failure
# print the last 40 lines of the log and return CMD's status.
run_logged() {
	local label=$1 log=$2 progress=$3
	shift 3
	local start now pid rc=0 last
	start=$(date +%s)
	last=$start
	"$@" >>"$log" 2>&1 </dev/null &
	pid=$!
	# Make an interrupt of this script also stop the background job.
	trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; exit 130' INT TERM
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		now=$(date +%s)
		if ((now - last >= 20)); then
			last=$now
			info "$label: $("$progress"), $(fmt_secs $((now - start))) elapsed"
		fi
	done
	wait "$pid" || rc=$?
	trap - INT TERM
	now=$(date +%s)
	if ((rc != 0)); then
		info "$label: FAILED (exit $rc) after $(fmt_secs $((now - start))); last 40 lines of $log:"
		tail -n 40 "$log" >&2
		return "$rc"
	fi
	info "$label: done in $(fmt_secs $((now - start)))"
}
