#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Run a libFuzzer target for a bounded time over a scratch copy of its seed corpus.
# Usage: run-fuzzer.sh FUZZER SEED_DIR SECONDS
set -eu
fuzzer=$1 seeds=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp -r "$seeds"/. "$work/corpus"/
# -timeout: one input may not take a second; -rss_limit_mb: no input may eat memory.
# The status is the fuzzer's (a pipe into tail would hide a crash); its output is in the log.
rc=0
"$fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 -max_len=16384 \
	-artifact_prefix="$work/" -print_final_stats=1 "$work/corpus" >"$work/fuzz.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
	# The crash report and the reproducer (base64), not only the last lines.
	grep -v '^#[0-9]* *\(NEW\|REDUCE\|pulse\|INITED\|RELOAD\)' "$work/fuzz.log" | tail -n 80
else
	tail -n 20 "$work/fuzz.log"
fi
exit "$rc"
