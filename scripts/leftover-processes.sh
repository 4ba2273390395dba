#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# List the processes a test run left behind, and fail if there are any.
#   leftover-processes.sh [--kill] MARKER [DIR | --exe-in=DIR]...
# A process is the run's when its environment holds MANDOS_SUITE=MARKER (scripts/test.sh
# exports it, and every process the tests start inherits it unless its environment is
# replaced), or when its command line, working directory, executable or an open file names one
# of the DIRs (the run's TMPDIR: this catches the ones with a clean environment), or when its
# executable is under an --exe-in DIR (a build directory: someone reading a log there is not
# the run's).  This script and its ancestors are not counted.  With --kill, the processes found
# are also sent SIGKILL.  Exit 0 when none is found, 1 when some are (listed on stderr).
set -eu

kill_them=""
if [ "${1:-}" = --kill ]; then
	kill_them=1
	shift
fi
[ $# -ge 1 ] || { echo "usage: $0 [--kill] MARKER [DIR | --exe-in=DIR]..." >&2; exit 64; }
marker=$1
shift

# ppid PID: the parent of PID (field 4 of /proc/PID/stat, after the parenthesised name).
ppid() {
	sed 's/.*) [A-Za-z] \([0-9]*\) .*/\1/' 2>/dev/null "/proc/$1/stat"
}

# This script, the shells it forks for $(...), and its ancestors.
ancestors=" $$ "
p=$$
while [ "$p" -gt 1 ]; do
	p=$(ppid "$p") || break
	[ -n "$p" ] || break
	ancestors="$ancestors$p "
done

# why PID: what ties PID to the run (nothing when nothing does).
why() {
	if tr '\0' '\n' 2>/dev/null < "/proc/$1/environ" | grep -qxF "MANDOS_SUITE=$marker"; then
		echo "environment"
		return
	fi
	for d in $dirs; do
		if tr '\0' ' ' 2>/dev/null < "/proc/$1/cmdline" | grep -qF -- "$d"; then
			echo "command line names $d"
		elif readlink "/proc/$1/cwd" 2>/dev/null | grep -qF -- "$d"; then
			echo "working directory in $d"
		elif readlink "/proc/$1/exe" 2>/dev/null | grep -qF -- "$d"; then
			echo "executable in $d"
		elif ls -l "/proc/$1/fd" 2>/dev/null | grep -qF -- "$d"; then
			echo "open file in $d"
		else
			continue
		fi
		return
	done
	for d in $exe_dirs; do
		if readlink "/proc/$1/exe" 2>/dev/null | grep -qF -- "$d"; then
			echo "executable in $d"
			return
		fi
	done
}

dirs=""
exe_dirs=""
for d in "$@"; do
	case $d in
	--exe-in=*) exe_dirs="$exe_dirs $(realpath -m "${d#--exe-in=}")" ;;
	?*) dirs="$dirs $(realpath -m "$d")" ;;
	esac
done

found=""
for proc in /proc/[0-9]*; do
	pid=${proc#/proc/}
	case $ancestors in *" $pid "*) continue ;; esac
	reason=$(why "$pid")
	[ -n "$reason" ] || continue
	# A child of this script (a $(...) above) is not a leftover either.
	parent=$(ppid "$pid") || continue
	[ "$parent" != $$ ] || continue
	[ -d "$proc" ] || continue
	cmd=$(tr '\0' ' ' 2>/dev/null < "$proc/cmdline" | cut -c1-160)
	user=$(stat -c %U "$proc" 2>/dev/null || echo '?')
	# tests/integration/lib.sh exports the test's name to everything the test starts.
	test=$(tr '\0' '\n' 2>/dev/null < "$proc/environ" | sed -n 's/^MANDOS_TEST_NAME=//p')
	echo "left behind: pid $pid (${test:+test $test, }$user, parent $parent, $reason): $cmd" >&2
	found="$found $pid"
done
[ -n "$found" ] || exit 0
if [ -n "$kill_them" ]; then
	# shellcheck disable=SC2086
	kill -KILL $found 2>/dev/null || true
fi
exit 1
