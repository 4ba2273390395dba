#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Install dependencies, build with warnings as errors, and run every test suite:
# the normal build, the unit tests under valgrind, an ASan+UBSan build, the fuzzers, the boot
# tests, and the Debian packages (lintian, and the upgrade from upstream's packages); then
# check that no test left a process behind.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

"$top/scripts/deps.sh" test

step() { printf '\n=== %s\n' "$*"; }

# Every process the suites start inherits MANDOS_SUITE, and the tests' files go under a TMPDIR
# of the run's own: at the end (and when a step fails), scripts/leftover-processes.sh finds any
# process a test left behind, by that marker or by the directories it names.
MANDOS_SUITE=test-$$-$(date +%s)
# (A short name: gpg-agent's sockets under it must stay within a socket path's 108 bytes.)
suite_tmp=$(mktemp -d "${TMPDIR:-/tmp}/ms.XXXXXX")
chmod 755 "$suite_tmp"
export MANDOS_SUITE TMPDIR="$suite_tmp"
leftovers() {
	"$top/scripts/leftover-processes.sh" --kill "$MANDOS_SUITE" "$suite_tmp" \
		--exe-in="$top/build-test" --exe-in="$top/build-asan" --exe-in="$top/build-fuzz"
}
on_exit() {
	rc=$?
	if [ "$rc" -ne 0 ] && ! leftovers; then
		echo "(the processes listed above were left behind, and are now killed)" >&2
	fi
	rm -rf "$suite_tmp"
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "build (werror)"
rm -rf build-test
meson setup build-test -Dwerror=true
meson compile -C build-test

step "all suites but the boot tests"
meson test -C build-test --no-suite boot --no-suite package --print-errorlogs --num-processes 2

step "under valgrind: unit tests, and our programs in the shell tests"
meson test -C build-test --setup=valgrind --suite unit --print-errorlogs
VALGRIND="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite" \
	meson test -C build-test --no-suite unit --no-suite boot --no-suite package --print-errorlogs \
	--num-processes 2 --timeout-multiplier 5

step "ASan + UBSan build"
rm -rf build-asan
meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
	-Dbuildtype=debug
meson compile -C build-asan
ASAN_OPTIONS=handle_segv=0:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --no-suite boot --no-suite package --print-errorlogs --num-processes 2

if command -v clang >/dev/null 2>&1; then
	step "fuzzers (clang, libFuzzer)"
	rm -rf build-fuzz
	CC=clang meson setup build-fuzz -Dwerror=true -Dfuzz=true -Db_lundef=false \
		-Dbuildtype=debug
	# The whole tree: this is also the clang -Werror build.
	meson compile -C build-fuzz
	meson test -C build-fuzz --suite fuzz --no-rebuild --print-errorlogs
else
	step "fuzzers skipped: clang is not installed"
fi

step "boot tests in QEMU"
meson test -C build-test --suite boot --print-errorlogs

step "Debian packages: build, lintian, and the upgrade from upstream's in a throwaway root"
rm -rf build-debs
scripts/build-debs.sh build-debs
MANDOS_TEST_DEBS="$top/build-debs" meson test -C build-test --suite package --print-errorlogs

step "no process of the suites left behind"
leftovers || { echo "FAIL: the tests left the processes above behind (now killed)" >&2; exit 1; }

step "all test suites passed"
