#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Run a libFuzzer target for a bounded time over a scratch copy of its seed corpus.
# Usage: run-fuzzer.sh FUZZER SEED_DIR SECONDS
set -eu
fuzzer=$1 seeds=$2 seconds=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$seeds"/. "$work"/
# -timeout: one input may not take a second; -rss_limit_mb: no input may eat memory.
"$fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 -max_len=16384 \
	-artifact_prefix="$work/" -print_final_stats=1 "$work" 2>&1 | tail -n 20
