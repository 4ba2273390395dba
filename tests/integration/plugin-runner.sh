#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# plugin-runner with scripted plugins: every row of spec section 4, and where we do better.
. "$(dirname "$0")/lib.sh"
require_cmd setsid timeout

R="$BUILD/plugin-runner/plugin-runner"
ME="--userid=$(id -u) --groupid=$(id -g)"

# mkplug DIR NAME SHELL-BODY: an executable shell plugin.
mkplug() {
	mkdir -p "$1"
	printf '#!/bin/sh\n%s\n' "$3" > "$1/$2"
	chmod 755 "$1/$2"
}
# pr ARGS...: run plugin-runner without a terminal and with stdin from /dev/null,
# as the current user; stdout in $T/out, stderr in $T/err, exit code in $rc.
pr() {
	rc=0
	setsid -w $VALGRIND "$R" $ME "$@" < /dev/null > "$T/out" 2> "$T/err" || rc=$?
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
out() { cat "$T/out"; }

echo "# -G, -E: environment, precedence env-for > global-env > inherited"
P=$T/env
mkplug "$P" a 'printf "%s|%s|%s|%s" "$V1" "$V2" "$V3" "$MANDOSPLUGINHELPERDIR"'
V1=inh V2=inh V3=inh pr --plugin-dir="$P" -G V1=g1 -G V2=g2 -G V2=g2b -E a:V1=e1 -E b:V3=other
assert_eq "$(out)" "e1|g2b|inh|/lib/mandos/plugin-helpers" "environment"
pr --plugin-dir="$P" --plugin-helper-dir=/x/helpers
assert_eq "$(out)" "|||/x/helpers" "MANDOSPLUGINHELPERDIR from --plugin-helper-dir"
pr --plugin-dir="$P" -G MANDOSPLUGINHELPERDIR=/mine
assert_eq "$(out)" "|||/lib/mandos/plugin-helpers" "--plugin-helper-dir beats -G (as upstream)"
pr --plugin-dir="$P" -E a:MANDOSPLUGINHELPERDIR=/mine
assert_eq "$(out)" "|||/mine" "-E beats --plugin-helper-dir"

echo "# -g, -o: comma lists, first colon, argv order (own options, then global)"
P=$T/args
mkdir -p "$P"
cp "$BUILD/tests/tools/print-argv" "$P/a"
pr --plugin-dir="$P" -g "--debug,x y" -o "a:--bar=a:b,,c" -o a:--more -o b:--not-mine
assert_eq "$(out | tr '\n' '|')" "a|--bar=a:b||c|--more|--debug|x y|" "argv"
pr --plugin-dir="$P" -o a:
assert_eq "$(out | tr '\n' '|')" "a||" "an empty option list is one empty option"

echo "# --config-file: words, comments, command line after the file"
cat > "$T/conf" << 'EOF'
# a comment line
--options-for=a:--from-conf	# trailing comment
   -g c1,c2 --disable=a#glued comment --enable=zz
-G
  V=conf
EOF
pr --plugin-dir="$P" --config-file="$T/conf"
assert_eq "$(out)" "" "plugin disabled from the config file"
pr --plugin-dir="$P" --config-file="$T/conf" --enable=a -o a:--cli
assert_eq "$(out | tr '\n' '|')" "a|--from-conf|--cli|c1|c2|" "config first, then command line"
pr --plugin-dir="$P" --config-file="$T/does-not-exist"
assert_eq "$rc" 0 "missing config file is ignored"
printf -- '--options-for=nocolon\n' > "$T/badconf"
pr --plugin-dir="$P" --config-file="$T/badconf"
assert_eq "$rc" 78 "error in the config file"
assert_contains "$T/err" "Going to fallback mode"
printf -- '--config-file=/nonexistent --plugin-dir=/nonexistent\n' > "$T/conf2"
pr --config-file="$T/conf2" --plugin-dir="$P"
assert_eq "$(out | head -n1)" "a" "command line --plugin-dir overrides the file"

echo "# -d/-e: last one wins"
P=$T/de
mkplug "$P" a 'printf A'
pr --plugin-dir="$P" -d a -e a
assert_eq "$(out)" "A" "-d then -e"
pr --plugin-dir="$P" -e a -d a
assert_eq "$rc" 69 "-e then -d: nothing runs"
assert_contains "$T/err" "No plugin processes started"

echo "# --debug"
pr --plugin-dir="$P" --debug -d a
assert_contains "$T/err" 'Ignoring disabled plugin "a"'
pr --plugin-dir="$P" --debug
assert_contains "$T/err" "Plugin a started (PID"
assert_contains "$T/err" "exited with status 0"

echo "# --help, --usage, --version, positional arguments"
for o in --help -? --usage --version -V; do
	rc=0
	$VALGRIND "$R" $o > "$T/out" 2>&1 < /dev/null || rc=$?
	assert_eq "$rc" 0 "$o exit code"
done
assert_eq "$(out)" "$(version_line plugin-runner)" "version"
$VALGRIND "$R" --help > "$T/out"
assert_contains "$T/out" "--options-for=PLUGIN:OPTION"
pr --plugin-dir="$P" ""
assert_eq "$rc:$(out)" "0:A" "an empty positional argument is ignored"
pr --plugin-dir="$P" "" extra
assert_eq "$rc" 64 "a non-empty positional argument"
pr --plugin-dir="$P" --no-such-option
assert_eq "$rc" 64 "unknown option"
pr --plugin-dir="$P" --userid=abc
assert_eq "$rc" 64 "bad user ID"

echo "# selection: ignored names, non-regular, non-executable, symlinks"
P=$T/sel
for n in 'foo~' .hidden '#x#' a.dpkg-new a.dpkg-old a.dpkg-bak a.dpkg-divert; do
	mkplug "$P" "$n" "printf 'ran $n'"
done
mkplug "$P" noexec 'printf noexec'
chmod 644 "$P/noexec"
mkdir "$P/dir"
mkfifo "$P/fifo"
mkplug "$T/elsewhere" target 'sleep 0.3; printf viasymlink'
ln -s "$T/elsewhere/target" "$P/link"
rc=0
timeout 20 setsid -w $VALGRIND "$R" $ME --plugin-dir="$P" --debug < /dev/null > "$T/out" 2> "$T/err" || rc=$?
assert_eq "$rc:$(out)" "0:viasymlink" "only the symlinked plugin runs (and a FIFO does not hang)"
assert_contains "$T/err" "matching pattern *~"
assert_contains "$T/err" "matching pattern #*#"
assert_contains "$T/err" "noexec\" with bad type or mode"

echo "# execution: in parallel, stdin and stderr inherited, stdout private"
P=$T/par
# Each plugin says it started and waits (up to a minute) until all three have; c also waits
# until a and b saw that.  Run one after the other, a would wait in vain, and c would fail.
waits() {
	echo "i=0; while ! [ -e $T/$1 ] || ! [ -e $T/$2 ] || ! [ -e $T/$3 ]; do
	sleep 0.1; i=\$((i + 1)); [ \$i -lt 600 ] || exit 1
done"
}
mkplug "$P" a "touch $T/up.a; $(waits up.a up.b up.c); touch $T/saw.a; exit 1"
mkplug "$P" b "touch $T/up.b; $(waits up.a up.b up.c); touch $T/saw.b; exit 1"
mkplug "$P" c "touch $T/up.c; $(waits up.a up.b up.c); $(waits saw.a saw.b saw.a)
echo to-stderr >&2; cat"
rc=0
printf 'from-stdin' | setsid -w $VALGRIND "$R" $ME --plugin-dir="$P" > "$T/out" 2> "$T/err" || rc=$?
assert_eq "$rc:$(out)" "0:from-stdin" "stdin reaches the plugin"
assert_contains "$T/err" "to-stderr"

echo "# winner: exit 0 and end of file; bytes verbatim; failures discarded"
P=$T/win
mkplug "$P" a 'printf "bad"; exit 1'
mkplug "$P" b 'printf "bad2"; kill -9 $$'
mkplug "$P" c "sleep 0.5; printf '\\000\\001x\\n\\n'"
mkplug "$P" d 'exec sleep 600'
t0=$(now_ms)
pr --plugin-dir="$P"
t1=$(now_ms)
assert_eq "$rc" 0 "winner exit code"
assert_eq "$(od -An -c "$T/out" | tr -s ' ')" " \\0 001 x \\n \\n" "winner bytes verbatim"
# (Waiting for d would take 600 s; $SLOW, measured, is at most 16.  exec: the SIGTERM that
# stops d must reach the sleep, or it would stay behind.)
[ $((t1 - t0)) -lt $((5000 * SLOW)) ] || fail "a hung plugin delayed the winner ($((t1 - t0)) ms)"
P=$T/empty
mkplug "$P" a 'exit 0'
mkplug "$P" b 'exec sleep 60'
pr --plugin-dir="$P"
assert_eq "$rc:$(wc -c < "$T/out")" "0:0" "exit 0 with no output wins (the cryptroot-unlock dummy)"
P=$T/eof
mkplug "$P" a '(sleep 1; printf late) & printf early; exit 0'
pr --plugin-dir="$P"
assert_eq "$(out)" "earlylate" "the winner's output is complete only at end of file"

echo "# after the winner: SIGTERM to the rest; a plugin ignoring it is killed"
P=$T/term
mkplug "$P" a 'sleep 0.5; printf pw'
mkplug "$P" b "trap 'echo got-term > $T/b-term; exit 0' TERM; while :; do sleep 0.1; done"
mkplug "$P" c "trap '' TERM; echo \$\$ > $T/c-pid; while :; do sleep 0.1; done"
t0=$(now_ms)
pr --plugin-dir="$P"
t1=$(now_ms)
assert_eq "$(out)" "pw" "winner"
wait_for 5 test -e "$T/b-term" || fail "b did not get SIGTERM"
cpid=$(cat "$T/c-pid")
! kill -0 "$cpid" 2> /dev/null || fail "the TERM-ignoring plugin survived"
[ $((t1 - t0)) -lt $((10000 * SLOW)) ] ||
	fail "a TERM-ignoring plugin delayed the exit ($((t1 - t0)) ms)"
# Whoever reads the password gets end of file at once, not after the grace period: the
# TERM-ignoring plugin, killed only when the grace period is over, still runs at that moment.
rm -f "$T/c-pid"
setsid -w $VALGRIND "$R" $ME --plugin-dir="$P" < /dev/null 2> /dev/null |
	{
		cat > "$T/out2"
		if [ ! -e "$T/c-pid" ] || kill -0 "$(cat "$T/c-pid")"; then
			echo before > "$T/eof-at"
		else
			echo after > "$T/eof-at"
		fi
	}
assert_eq "$(cat "$T/out2")" "pw" "winner through a pipe"
assert_eq "$(cat "$T/eof-at")" before "end of file on stdout, before or after the grace period"

echo "# all fail: getpass fallback (no terminal: stdin), and upstream's hang is gone"
P=$T/fail
mkplug "$P" a 'exit 1'
mkplug "$P" b 'sleep 0.2; exit 3'
rc=0
printf 'typed\n' | timeout 20 setsid -w $VALGRIND "$R" $ME --plugin-dir="$P" --disable=zzz \
	-o absent:--x > "$T/out" 2> "$T/err" || rc=$?
assert_eq "$rc:$(out)" "0:typed" "fallback after all plugins failed, with absent names mentioned"
assert_contains "$T/err" "Going to fallback mode using getpass(3)"
assert_contains "$T/err" "Password: "
mkdir "$T/nothing"
rc=0
printf 'p2' | setsid -w $VALGRIND "$R" $ME --plugin-dir="$T/nothing" > "$T/out" 2> "$T/err" || rc=$?
assert_eq "$rc:$(out)" "0:p2" "no plugins: fallback"
assert_contains "$T/err" "No plugin processes started. Incorrect plugin directory?"

echo "# exit codes: 69 plugin dir, 74 write error"
rc=0
printf 'x\n' | setsid -w $VALGRIND "$R" $ME --plugin-dir="$T/nonexistent" > "$T/out" 2> "$T/err" || rc=$?
assert_eq "$rc:$(out)" "69:x" "no plugin dir: fallback, then 69"
P=$T/de
rc=0
setsid -w $VALGRIND "$R" $ME --plugin-dir="$P" < /dev/null > /dev/full 2> "$T/err" || rc=$?
assert_eq "$rc" 74 "write error"

echo "# privileges: default 65534 when root; --userid/--groupid; root-only plugin dir"
P=$T/ids
mkplug "$P" a 'printf "%s:%s" "$(id -u)" "$(id -g)"'
if [ "$(id -u)" -eq 0 ]; then
	rc=0
	setsid -w $VALGRIND "$R" --plugin-dir="$P" < /dev/null > "$T/out" 2> "$T/err" || rc=$?
	assert_eq "$(out)" "65534:65534" "default plugin user"
	setsid -w $VALGRIND "$R" --plugin-dir="$P" --userid=1234 --groupid=4321 < /dev/null > "$T/out"
	assert_eq "$(out)" "1234:4321" "--userid/--groupid"
	# Upstream reads the directory after dropping privileges and fails here.
	chmod 700 "$P"
	setsid -w $VALGRIND "$R" --plugin-dir="$P" < /dev/null > "$T/out"
	assert_eq "$(out)" "65534:65534" "a root-only plugin directory"
	chmod 755 "$P"
fi

echo "# root: /dev/fd is created when missing (scripts run from an fd need it; Debian #981302)"
if [ "$(id -u)" -eq 0 ] && unshare -m true 2> /dev/null; then
	rc=0
	unshare -m sh -c "mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 &&
		$VALGRIND $R $ME --plugin-dir=$T/ids < /dev/null > $T/out 2> $T/err &&
		readlink /dev/fd > $T/devfd" || rc=$?
	assert_eq "$rc:$(cat "$T/devfd")" "0:/proc/self/fd" "/dev/fd symlink"
	assert_eq "$(out)" "0:0" "a script plugin ran without /dev/fd at first"
fi

echo "# EX_TEMPFAIL: restarted, but not forever"
P=$T/tempfail
mkplug "$P" a "n=\$(cat $T/count 2>/dev/null || echo 0); echo \$((n + 1)) > $T/count
[ \$n -ge 2 ] || exit 75; printf after-\$n"
pr --plugin-dir="$P"
assert_eq "$rc:$(out)" "0:after-2" "restarted after EX_TEMPFAIL"
rm -f "$T/count"
P=$T/tempfail2
mkplug "$P" a "echo x >> $T/runs; exit 75"
pr --plugin-dir="$P"
assert_eq "$(wc -l < "$T/runs" | tr -d ' ')" 6 "EX_TEMPFAIL restarts are bounded (1 + 5)"

echo "# output over the size cap is refused"
P=$T/big
mkplug "$P" a 'head -c 8388609 /dev/zero'
mkplug "$P" b 'sleep 2; printf small'
pr --plugin-dir="$P"
assert_eq "$rc:$(out)" "0:small" "oversized output refused"
assert_contains "$T/err" "wrote more than 8388608 bytes"
P=$T/big2
mkplug "$P" a 'head -c 1048576 /dev/zero'
pr --plugin-dir="$P"
assert_eq "$(wc -c < "$T/out" | tr -d ' ')" 1048576 "a 1 MiB key file passes"

echo "# SIGTERM and SIGINT to plugin-runner reach every plugin; plugin-runner exits at once"
for sig in TERM INT; do
	case $sig in TERM) num=15 ;; INT) num=2 ;; esac
	P=$T/sig$sig
	rm -f "$T/got"*
	mkplug "$P" a "trap 'echo a > $T/got-a; exit 1' $sig; echo up > $T/up-a; while :; do sleep 0.1; done"
	mkplug "$P" b "trap 'echo b > $T/got-b; exit 1' $sig; echo up > $T/up-b; while :; do sleep 0.1; done"
	env --default-signal=INT $VALGRIND "$R" $ME --plugin-dir="$P" < /dev/null > "$T/out" 2> "$T/err" &
	pid=$!
	on_exit "kill -9 $pid"
	wait_for 10 test -e "$T/up-a" -a -e "$T/up-b" || fail "plugins did not start"
	t0=$(now_ms)
	kill -s $sig "$pid"
	rc=0
	wait "$pid" || rc=$?
	t1=$(now_ms)
	sigrc=$((128 + num))
	assert_eq "$rc" "$sigrc" "plugin-runner dies by SIG$sig"
	wait_for 5 test -e "$T/got-a" -a -e "$T/got-b" || fail "SIG$sig not passed to the plugins"
	[ $((t1 - t0)) -lt $((4000 * SLOW)) ] || fail "slow exit on SIG$sig ($((t1 - t0)) ms)"
	rm -f "$T"/up-*
done

echo "# plugin-runner may not dump core (it holds the password)"
P=$T/core
mkplug "$P" a "sleep 1; printf x"
setsid -w $VALGRIND "$R" $ME --plugin-dir="$P" < /dev/null > "$T/out" 2> "$T/err" &
pid=$!
on_exit "kill -9 $pid"
sleep 0.5
if [ -z "$VALGRIND" ]; then
	grep -q '^Max core file size  *0  *0' "/proc/$pid/limits" ||
		fail "core dumps are not disabled: $(grep core "/proc/$pid/limits")"
	# The plugin's output buffer is locked memory (libsodium's secure allocation).
	# AddressSanitizer turns mlock() into a no-op, so only without it.
	if ! ldd "$R" | grep -q libasan; then
		locked=$(awk '/^VmLck:/ { print $2 }' "/proc/$pid/status")
		[ "$locked" -gt 0 ] || fail "no locked memory while holding a plugin's output buffer"
	fi
fi
wait "$pid"

echo "plugin-runner: all rows pass"
