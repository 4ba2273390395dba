#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# A switch from upstream's server keeps every client's state: upstream's server runs, an
# administrator disables one client and changes another's timeout with upstream's
# mandos-ctl; then our server starts on the same configuration and state directories and
# imports upstream's clients.pickle (left in place, byte for byte), and uses its own
# clients.state from then on.  A pickle it cannot read is a warning naming the file; the
# server then starts from clients.conf.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl-lib.sh"

OURS=$BUILD/server/mandos
CLIENT=$UPSTREAM_PLUGIN_DIR/mandos-client
require_cmd "$CLIENT" "$OURS"
# Everything takes several times longer under valgrind: scale the waits (never the checks).
SLOW=1
[ -z "$VALGRIND" ] || SLOW=4

for n in a b c; do
	mkdir -p "$T/keys-$n"
	mandos-keygen --dir "$T/keys-$n" --force --length 2048 --sublength 2048 >/dev/null 2>&1 ||
		fail "mandos-keygen failed"
	printf 'secret of %s\n' "$n" >"$T/keys-$n/pw"
	mandos-keygen --dir "$T/keys-$n" --passfile "$T/keys-$n/pw" --no-ssh --name "$n" \
		>"$T/keys-$n/section" || fail "mandos-keygen --passfile failed"
done
{
	printf '[DEFAULT]\ninterval = P1D\nchecker = true\n\n'
	cat "$T/keys-a/section" "$T/keys-b/section" "$T/keys-c/section"
} >"$T/clients.conf"

# state_dir NAME: the server's state directory, writable by upstream's unprivileged user.
state_dir() {
	mkdir -p "$T/$1/state"
	chmod 755 "$T/$1" "$T/$1/state"
	[ "$(id -u)" -ne 0 ] || chown _mandos "$T/$1/state"
}

# ctl_ok PROGRAM ARGS...: upstream's or our mandos-ctl on bus A; must succeed.
ctl_ok() {
	run_ctl "$@"
	[ "$(cat "$3.rc")" = 0 ] || fail "mandos-ctl $* failed: $(cat "$3.err")"
}

# field FILE CLIENT PROPERTY: one value of a --dump-json output.
field() {
	python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]])' "$1" "$2" "$3"
}

# start_ours NAME: our server on bus NAME, and wait until it serves its clients (it takes
# its bus name and opens its port before it restores the state).
start_ours() {
	SERVER_CMD=$OURS
	start_server "$1" "$T/clients.conf"
	wait_for $((30 * SLOW)) grep -q "Starting main loop" "$T/$1/server.log" || {
		tail -n 20 "$T/$1/server.log" >&2
		fail "our server on bus $1 does not start its main loop"
	}
}

# unlock NAME: upstream's mandos-client with NAME's keys against the server on bus A.
unlock() {
	timeout 20 "$CLIENT" --connect="[::1]:$PORT_A" --interface=none \
		--network-hook-dir=/nonexistent --retry=1 --pubkey="$T/keys-$1/pubkey.txt" \
		--seckey="$T/keys-$1/seckey.txt" --tls-pubkey="$T/keys-$1/tls-pubkey.pem" \
		--tls-privkey="$T/keys-$1/tls-privkey.pem" >"$T/got-$1" 2>"$T/got-$1.err"
}

# 1. Upstream's server: b disabled, c's timeout changed, a checked (last_checked_ok).
# Upstream's server can lose its pickle on the way out, whatever the load: its cleanup walks
# its GnuPG home removing files while gpg-agent, seeing its socket go, removes its others
# (FileNotFoundError, then "KeyError: 'secret'" in the atexit cleanup).  That is upstream's
# bug, not what this test is about: such a run is done again, at most three times.
start_bus A
PICKLE=$T/A/state/clients.pickle
for try in 1 2 3; do
	rm -rf "$T/A/state"
	state_dir A
	start_server A "$T/clients.conf"
	ctl_ok upstream A "$T/c1" --disable b
	ctl_ok upstream A "$T/c2" --timeout PT7M c
	ctl_ok upstream A "$T/c3" --bump-timeout a
	ctl_ok upstream A "$T/before" --dump-json
	stop_server A
	if wait_for 20 test -s "$PICKLE"; then
		break
	fi
	tail -n 20 "$T/A/server.log" >&2
	grep -q "FileNotFoundError: .*S\.gpg-agent" "$T/A/server.log" && [ "$try" -lt 3 ] ||
		fail "upstream's server wrote no clients.pickle"
	echo "upstream's server lost its pickle to its GnuPG cleanup race; again" >&2
done
cp -p "$PICKLE" "$T/pickle.orig"
[ ! -e "$T/A/state/clients.state" ] || fail "clients.state before our server ran"

# 2. Our server on the same directories imports it.
start_ours A
LOG=$T/A/server.log
assert_contains "$LOG" "Imported upstream's state from $PICKLE: 3 clients in it, 3 in"
assert_contains "$LOG" "a secret set over D-Bus on upstream's server is not carried over"
for prog in ours upstream; do
	ctl_ok "$prog" A "$T/after-$prog" --dump-json
	j=$T/after-$prog.out
	assert_eq "$(field "$j" b Enabled)" False "$prog mandos-ctl: b's Enabled"
	assert_eq "$(field "$j" a Enabled)" True "$prog mandos-ctl: a's Enabled"
	assert_eq "$(field "$j" c Timeout)" 420000 "$prog mandos-ctl: c's Timeout"
	assert_eq "$(field "$j" a Timeout)" 300000 "$prog mandos-ctl: a's Timeout"
	for n in a b c; do
		assert_eq "$(field "$j" $n Created)" "$(field "$T/before.out" $n Created)" \
			"$n's Created"
	done
	assert_eq "$(field "$j" a LastCheckedOK)" "$(field "$T/before.out" a LastCheckedOK)" \
		"a's LastCheckedOK"
done
unlock a || fail "a did not unlock: $(tail -n 3 "$T/got-a.err")"
cmp -s "$T/got-a" "$T/keys-a/pw" || fail "a got the wrong secret"
rc=0
unlock b || rc=$?
[ "$rc" -ne 0 ] && [ ! -s "$T/got-b" ] || fail "disabled client b got its secret"
assert_contains "$LOG" "Client b is disabled"
cmp -s "$PICKLE" "$T/pickle.orig" || fail "clients.pickle changed"

# 3. Our own state from now on: b enabled on ours, restart, b still enabled.
ctl_ok ours A "$T/c4" --enable b
stop_server A
[ -s "$T/A/state/clients.state" ] || fail "our server wrote no clients.state"
cmp -s "$PICKLE" "$T/pickle.orig" || fail "clients.pickle changed"
start_ours A
assert_not_contains "$LOG" "Imported upstream's state"
ctl_ok ours A "$T/again" --dump-json
assert_eq "$(field "$T/again.out" b Enabled)" True "b's Enabled after a restart of ours"
assert_eq "$(field "$T/again.out" c Timeout)" 420000 "c's Timeout after a restart of ours"
stop_server A

# 4. Pickles that cannot be used: a warning naming the file and why; clients.conf rules.
# bad NAME REASON [MORE]: our server on a fresh state directory holding $T/bad.pickle.
bad() {
	start_bus "$1"
	state_dir "$1"
	cp "$T/bad.pickle" "$T/$1/state/clients.pickle"
	start_ours "$1"
	assert_contains "$T/$1/server.log" \
		"Could not import upstream's state from $T/$1/state/clients.pickle: $2"
	assert_contains "$T/$1/server.log" "starting from $T/$1/conf/clients.conf"
	[ -z "${3:-}" ] || assert_contains "$T/$1/server.log" "$3"
	run_ctl ours "$1" "$T/bad-$1" --dump-json
	assert_eq "$(field "$T/bad-$1.out" b Enabled)" True "b's Enabled ($1)"
	assert_eq "$(field "$T/bad-$1.out" c Timeout)" 300000 "c's Timeout ($1)"
	stop_server "$1"
}
head -c 3000 "$T/pickle.orig" >"$T/bad.pickle"
bad T1 "at byte " "truncated"
printf '\200\002cos\nsystem\nX\002\000\000\000id\205R.' >"$T/bad.pickle"
bad T2 "at byte 2: GLOBAL os.system is not accepted"
printf '\200\002}.' >"$T/bad.pickle"
bad T3 "not a tuple of two dicts"
