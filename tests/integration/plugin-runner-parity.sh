#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Parity with Debian's upstream plugin-runner: same plugin directories and options, same stdout
# bytes and the same success or failure, for every behaviour both get right.
. "$(dirname "$0")/lib.sh"
UPSTREAM=$UPSTREAM_LIB_DIR/plugin-runner
require_cmd "$UPSTREAM" setsid timeout

OURS="$BUILD/plugin-runner/plugin-runner"
# Upstream drops to 65534 by default when root: the plugins live in $T (mode 755).
IDS="--userid=$(id -u) --groupid=$(id -g)"
printf 'typed-at-fallback\n' > "$T/stdin"

mkplug() {
	mkdir -p "$1"
	printf '#!/bin/sh\n%s\n' "$3" > "$1/$2"
	chmod 755 "$1/$2"
}

n=0
# same WHAT ARGS...: run both without a terminal; compare stdout bytes and success.
same() {
	what=$1
	shift
	rc_up=0
	rc_ours=0
	timeout 30 setsid -w "$UPSTREAM" $IDS "$@" < "$T/stdin" > "$T/up.out" 2> "$T/up.err" ||
		rc_up=$?
	timeout 30 setsid -w $VALGRIND "$OURS" $IDS "$@" < "$T/stdin" > "$T/ours.out" \
		2> "$T/ours.err" || rc_ours=$?
	[ "$rc_up" -ne 124 ] || fail "$what: upstream timed out"
	if ! cmp -s "$T/up.out" "$T/ours.out"; then
		echo "upstream: $(od -c "$T/up.out" | head -5)" >&2
		echo "ours:     $(od -c "$T/ours.out" | head -5)" >&2
		cat "$T/ours.err" >&2
		fail "$what: stdout differs"
	fi
	ok_up=$([ "$rc_up" -eq 0 ] && echo success || echo failure)
	ok_ours=$([ "$rc_ours" -eq 0 ] && echo success || echo failure)
	assert_eq "$ok_ours" "$ok_up" "$what: upstream rc $rc_up, ours rc $rc_ours"
	n=$((n + 1))
}

P=$T/env
mkplug "$P" a 'printf "%s|%s|%s|%s" "$V1" "$V2" "$V3" "$MANDOSPLUGINHELPERDIR"'
export V1=inh V2=inh V3=inh
same "environment precedence" --plugin-dir="$P" -G V1=g1 -G V2=g2 -G V2=g2b -E a:V1=e1 -E b:V3=x
same "helper dir" --plugin-dir="$P" --plugin-helper-dir=/some/where
same "global helper dir variable" --plugin-dir="$P" -G MANDOSPLUGINHELPERDIR=/mine
same "per-plugin helper dir variable" --plugin-dir="$P" -E a:MANDOSPLUGINHELPERDIR=/mine

P=$T/args
mkdir -p "$P"
cp "$BUILD/tests/tools/print-argv" "$P/a"
same "argument order" --plugin-dir="$P" -g "--debug,x y" -o "a:--bar=a:b,,c" -o a:--more
same "empty lists" --plugin-dir="$P" -o a: -g ,a,,
same "empty positional argument" --plugin-dir="$P" ""
cat > "$T/conf" << 'EOF'
# comment
--options-for=a:--from-conf	# trailing comment
   -g c1,c2 --disable=b#glued --enable=zz
-G
  V=conf
EOF
same "config file" --plugin-dir="$P" --config-file="$T/conf"
same "config file, then command line" --plugin-dir="$P" --config-file="$T/conf" -o a:--cli
same "missing config file" --plugin-dir="$P" --config-file="$T/nonexistent"
same "disable then enable" --plugin-dir="$P" -d a -e a

P=$T/win
mkplug "$P" a 'printf "bad"; exit 1'
mkplug "$P" b 'printf "bad2"; kill -9 $$'
mkplug "$P" c "sleep 0.5; printf '\\000\\001x\\n\\n'"
mkplug "$P" d 'exec sleep 60'
same "winner bytes, failures discarded, hung plugin" --plugin-dir="$P"

P=$T/empty
mkplug "$P" a 'exit 0'
mkplug "$P" b 'exec sleep 60'
same "empty output from a successful plugin" --plugin-dir="$P"

P=$T/eof
mkplug "$P" a '(sleep 1; printf late) & printf early; exit 0'
same "output complete at end of file" --plugin-dir="$P"

P=$T/stdin-plugin
mkplug "$P" a 'cat'
same "stdin is inherited" --plugin-dir="$P"

P=$T/sel
for f in 'foo~' .hidden '#x#' a.dpkg-new a.dpkg-old a.dpkg-bak a.dpkg-divert noexec; do
	mkplug "$P" "$f" "printf 'ran $f'"
done
chmod 644 "$P/noexec"
mkdir "$P/dir"
mkplug "$T/elsewhere" t 'sleep 0.3; printf viasymlink'
ln -s "$T/elsewhere/t" "$P/link"
same "plugin selection" --plugin-dir="$P"

P=$T/fail
mkplug "$P" a 'exit 1'
mkplug "$P" b 'sleep 0.2; exit 3'
same "all fail: getpass fallback reads stdin" --plugin-dir="$P"
same "no plugin directory: fallback, then failure" --plugin-dir="$T/nonexistent"
same "usage error: fallback, then failure" --plugin-dir="$P" extra-argument
same "unknown option" --plugin-dir="$P" --frobnicate
same "no colon in --options-for" --plugin-dir="$P" --options-for=nocolon
printf -- '--env-for=nocolon\n' > "$T/badconf"
same "error in the config file" --plugin-dir="$P" --config-file="$T/badconf"
mkdir "$T/nothing"
same "empty plugin directory" --plugin-dir="$T/nothing"

echo "$n cases give the same stdout and success as upstream"
