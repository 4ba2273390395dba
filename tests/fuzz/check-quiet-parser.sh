#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# A fuzz target that silences its parser must still show libFuzzer's own output: run it on an
# input the parser complains about and check that the statistics are there and the complaint
# is not.  Usage: check-quiet-parser.sh FUZZER INPUT-TEXT PARSER-MESSAGE
set -eu
fuzzer=$1 input=$2 message=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%s\n' "$input" >"$work/input"
"$fuzzer" -print_final_stats=1 "$work/input" >"$work/out" 2>&1
if ! grep -q '^stat::number_of_executed_units:' "$work/out"; then
	echo "libFuzzer's statistics are missing:" >&2
	cat "$work/out" >&2
	exit 1
fi
if grep -q -e "$message" "$work/out"; then
	echo "the parser's message reached the output:" >&2
	cat "$work/out" >&2
	exit 1
fi
