#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Our mandos-client with single escrow bindings: an escrow-free unlock from our server (with
# and without a seal key, also with mandos-client-p2only), bad binding files left out with
# FILE:LINE while the others work, the 8-item limit, a binding's server list, and forged
# answers from a scripted server that fail that item only and never print a password.
. "$(dirname "$0")/lib.sh"
require_root
. "$(dirname "$0")/client-lib.sh"
. "$(dirname "$0")/escrow-lib.sh"
SEAL=$BUILD/tests/tools/p2-seal
MC2=$BUILD/plugins.d/mandos-client/mandos-client-p2only

new_server 1
P1=$(srv_port 1)
K1=$(srv_key_id 1)

# enrol NAME FILE [KEYID...]: a single binding for NAME as FILE in its escrow directory; its
# escrow_key scalar in $T/NAME/S.
enrol() {
	_n=$1 _f=$2
	shift 2
	"$ENROL" "$T/$_n/tls-pubkey.pem" "$T/$_n/escrow/$_f" 0 1 "$@" <"$T/$_n/pw" >"$T/$_n/S" ||
		fail "enrol $_n"
}

# e: escrow only (no seal key), bound to no server in particular.
identity "$T/e"
printf 'escrow secret\n' >"$T/e/pw"
enrol e escrow-e.conf
cp "$T/e/S" "$T/e/S.used"
escrow_section 1 e "$(cat "$T/e/S")"
# b: a seal key too, and a section with both.
identity "$T/b"
printf 'both secret\n' >"$T/b/pw"
openssl genpkey -algorithm x25519 -out "$T/b/seal-privkey.pem" 2>/dev/null
openssl pkey -in "$T/b/seal-privkey.pem" -pubout -out "$T/b/seal-pubkey.pem"
enrol b escrow-b.conf
escrow_section 1 b "$(cat "$T/b/S")" "sealed_secret = $("$SEAL" "$T/b/seal-pubkey.pem" <"$T/b/pw")"
# n: its binding names another server only.
identity "$T/n"
printf 'named secret\n' >"$T/n/pw"
OTHER=$(printf '%064d' 5)
enrol n escrow-n.conf "$OTHER"
escrow_section 1 n "$(cat "$T/n/S")"
start_server 1

# 1. Escrow only: the exact password; protocol 2 although there is no seal key.
mc e --connect="[::1]:$P1" >"$T/out" 2>"$T/err" || fail "e: no unlock: $(tail -n 5 "$T/err")"
cmp -s "$T/out" "$T/e/pw" || fail "e: wrong password"
assert_contains "$T/err" "server [::1]:$P1: key ID $K1 (not pinned)"
assert_contains "$T/srv1/log" "Sending secret to e (protocol 2: escrow"
assert_eq "$(cat "$T/e/seen")" "$K1 # [::1]:$P1" "servers-seen"
# The same with mandos-client-p2only, which has no protocol 1.
MC_PROGRAM=$MC2 mc e --connect="[::1]:$P1" >"$T/out" 2>"$T/err" ||
	fail "p2only: no unlock: $(tail -n 5 "$T/err")"
cmp -s "$T/out" "$T/e/pw" || fail "p2only: wrong password"

# 2. Sealed and escrow in one request.
mc b --connect="[::1]:$P1" --seal-key="$T/b/seal-privkey.pem" >"$T/out" 2>"$T/err" ||
	fail "b: no unlock: $(tail -n 5 "$T/err")"
cmp -s "$T/out" "$T/b/pw" || fail "b: wrong password"
assert_contains "$T/srv1/log" "Sending secret to b (protocol 2: sealed, escrow"

# 3. A binding for another server: its answer is not used.
rm -f "$T/err"
run_until 1 "server [::1]:$P1: ignoring its answer for escrow-n.conf: server key ID $K1 is not named there" \
	"$T/err" "$T/out" "$T/err" mc n --connect="[::1]:$P1"
[ ! -s "$T/out" ] || fail "n: printed something"

# 4. Bad files next to the good one: each named with its line, the good one still used; a copy
# of it (the same kid) is left out; past 8 items the rest is left out with an error.
cp "$T/e/escrow/escrow-e.conf" "$T/e/escrow/escrow-f-copy.conf"
printf 'version = 2\n' >"$T/e/escrow/escrow-a-bad.conf"
sed "s/^kid = .*/kid = $(printf "%032d" 0)/" "$T/e/escrow/escrow-e.conf" >"$T/e/escrow/escrow-b-kid.conf"
printf 'not a binding\n' >"$T/e/escrow/other.conf"
for i in 1 2 3 4 5 6 7 8; do
	enrol e "escrow-g$i.conf"
done
mc e --connect="[::1]:$P1" >"$T/out" 2>"$T/err" || fail "e: no unlock with bad files: $(tail -n 5 "$T/err")"
cmp -s "$T/out" "$T/e/pw" || fail "e: wrong password with bad files"
assert_contains "$T/err" "$T/e/escrow/escrow-a-bad.conf:1: "
assert_contains "$T/err" "$T/e/escrow/escrow-b-kid.conf:"
assert_contains "$T/err" "file not used"
grep -qF "$T/e/escrow/escrow-f-copy.conf: kid " "$T/err" || fail "no line for the copy"
assert_contains "$T/err" "$T/e/escrow/escrow-g8.conf: 1 of its 1 escrow items left out (at most 8 in all)"
assert_not_contains "$T/err" "escrow-g7.conf: "
assert_not_contains "$T/err" "other.conf"
rm "$T/e/escrow/escrow-"[abfg]*

# 5. Forged answers from a scripted server with the right server key.  A valid point of the
# wrong scalar, or a random one, fails that item only: the client says so and keeps trying.
# An unacceptable y, or an item it did not ask for, ends the session.  Never a password.
stop_server 1
S=$(cat "$T/e/S.used")
for mode in wrong garbage; do
	test_server 1 escrow "$mode" "$S"
	rm -f "$T/err"
	run_until 2 "server [::1]:$P1: its answer for escrow-e.conf does not open (wrong escrow key?)" \
		"$T/err" "$T/out" "$T/err" mc e --connect="[::1]:$P1"
	[ ! -s "$T/out" ] || fail "$mode: printed something"
	stop_server 1
done
for mode in topbit zero unrequested; do
	test_server 1 escrow "$mode" "$S"
	rm -f "$T/err"
	run_until 2 "Protocol 2 with Mandos server [::1]:$P1 failed" "$T/err" "$T/out" "$T/err" \
		mc e --connect="[::1]:$P1" --debug
	[ ! -s "$T/out" ] || fail "$mode: printed something"
	assert_not_contains "$T/err" "does not open"
	stop_server 1
done
# And the scripted server's good answer opens it (the tool is right).
test_server 1 escrow good "$S"
mc e --connect="[::1]:$P1" >"$T/out" 2>"$T/err" || fail "good: no unlock: $(tail -n 5 "$T/err")"
cmp -s "$T/out" "$T/e/pw" || fail "good: wrong password"
echo ok
