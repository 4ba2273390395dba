#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# plugin-runner's own overhead: start to password on stdout with one plugin that answers at
# once, ours next to Debian's upstream plugin-runner in the same run.
# Usage: bench/plugin-runner.sh [BUILD_DIR] (default: build).  Uses hyperfine when installed,
# else a loop timed with date +%s%N.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
ours=$build/plugin-runner/plugin-runner
upstream=/usr/lib/x86_64-linux-gnu/mandos/plugin-runner
runs=${RUNS:-300}
[ -x "$ours" ] || { echo "build first: $ours missing" >&2; exit 1; }
[ -x "$upstream" ] || { echo "upstream plugin-runner missing (apt-get install mandos-client)" >&2; exit 1; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
chmod 755 "$T"
mkdir "$T/plugins"
# A compiled plugin, so that the plugin's own start-up is as small as can be.
cp /bin/true "$T/plugins/answer"
printf '#!/bin/sh\nprintf secret\n' > "$T/plugins-sh"
ids="--userid=$(id -u) --groupid=$(id -g)"
args="$ids --plugin-dir=$T/plugins --config-file=/nonexistent"
# Also a second case with a shell plugin that prints a password.
mkdir "$T/shplugins"
cp "$T/plugins-sh" "$T/shplugins/answer"
chmod 755 "$T/shplugins/answer"
args_sh="$ids --plugin-dir=$T/shplugins --config-file=/nonexistent"

loop() { # loop CMD: mean wall time in microseconds over $runs runs
	i=0
	t0=$(date +%s%N)
	while [ "$i" -lt "$runs" ]; do
		$1 < /dev/null > /dev/null
		i=$((i + 1))
	done
	t1=$(date +%s%N)
	echo $(((t1 - t0) / runs / 1000))
}

if command -v hyperfine > /dev/null; then
	hyperfine -N --warmup 20 --runs "$runs" --export-markdown "$T/true.md" \
		"$upstream $args" "$ours $args" > /dev/null 2>&1 || true
	hyperfine -N --warmup 20 --runs "$runs" --export-markdown "$T/sh.md" \
		"$upstream $args_sh" "$ours $args_sh" > /dev/null 2>&1 || true
	echo "## /bin/true as the only plugin (hyperfine, $runs runs)"
	cat "$T/true.md"
	echo
	echo "## a shell plugin printing a password (hyperfine, $runs runs)"
	cat "$T/sh.md"
	echo
fi
echo "## date +%s%N loop, $runs runs each, mean microseconds per run"
for case in "true:$args" "sh:$args_sh"; do
	name=${case%%:*}
	a=${case#*:}
	# The empty plugin: measures plugin-runner itself.
	u=$(loop "$upstream $a")
	o=$(loop "$ours $a")
	echo "$name plugin: upstream ${u} us, ours ${o} us, ours/upstream = $(echo "scale=2; $o / $u" | bc 2>/dev/null || echo "$o/$u")"
done
