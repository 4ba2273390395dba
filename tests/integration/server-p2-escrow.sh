#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Escrow keys in our real server (spec/protocol-2.md §B.1, §B.2, §B.6.3): an escrow unlock with
# a binding made by common/p2 (p2-escrow-enrol) through p2-probe, escrow_key inline and
# escrow_keyfile, two keys of one client (one ESCROW item per matching kid, in request order),
# sealed and escrow in one RESULT; another client's kid gets NO_MATERIAL and no evaluation;
# bad keys are ERRORs naming FILE:LINE and left out while the server runs (and --check-config
# reports them); a restart and a SIGHUP keep the keys and the reload replaces them; the state
# file and the log hold no scalar.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"
require_cmd "$P2_ESCROW_TOOL"

printf '[DEFAULT]\nsource_rate = 0\n' > "$T/conf/mandos.conf"
for n in a b c d e f g; do
	p2_keys "$n"
done
p2_escrow a one
p2_escrow a two
p2_escrow b one
p2_escrow b two
p2_escrow c one
p2_escrow d one
p2_escrow f one
p2_escrow g one
KEYS="$T/escrow"
p2_keyfile "$KEYS/b.key" "# the escrow key of b" "$(p2_S b one)"
p2_keyfile "$KEYS/d.key" "# the escrow keys of d" "$(p2_S d one)" "" "AAAA"
# g's keyfile others may read: a WARNING, and used.
p2_keyfile "$KEYS/g.key" "   # an indented comment" "$(p2_S g one)  # not a comment"
chmod 640 "$KEYS/g.key"
ZERO=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
FF=//////////////////////////////////////////8=
# clients.conf: a has two keys inline, b a keyfile, c good and bad keys on continuation
# lines, d a keyfile with a bad key, e a keyfile that does not exist, f needs approval, g a
# keyfile of mode 0640 with a word after its key.
# [DEFAULT] names b's keyfile: an ERROR, and no other client inherits b's key.
conf() {
	printf '[DEFAULT]\nchecker = true\nescrow_keyfile = %s\n\n' "$KEYS/b.key"
	p2_section a "escrow_key = $1"
	p2_section b "escrow_keyfile = $KEYS/b.key"
	p2_section c "escrow_key = @@@@ AAAA
	$ZERO
	$FF
	$(p2_S c one) $(p2_S c one)"
	p2_section d "escrow_keyfile = $KEYS/d.key"
	p2_section e "escrow_keyfile = $KEYS/missing.key"
	p2_section f "escrow_key = $(p2_S f one)" "approval_delay = PT10M" \
		"approved_by_default = False"
	p2_section g "escrow_keyfile = $KEYS/g.key"
}
conf "$(p2_S a two) $(p2_S a one)" > "$T/conf/clients.conf"
CONF="$T/conf/clients.conf"
LINE_C=$(grep -n '^escrow_key = @@@@' "$CONF" | cut -d: -f1)
start_server
log_wait "Protocol 2 server key ID: $P2_SERVER_KEY_ID"

# Bad keys: one ERROR each, with the file, line and position; the good ones stay.
for w in "1: not base64" "2: not 32 bytes" "3: zero" "4: not canonical" \
	"6: repeats kid $(p2_kid c one)"; do
	assert_contains "$T/server.log" "ERROR: $CONF:$LINE_C: client c: escrow_key #${w}; left out"
done
assert_contains "$T/server.log" "ERROR: $KEYS/d.key:4: client d: escrow key #2: not 32 bytes; left out"
assert_contains "$T/server.log" \
	"ERROR: client e: cannot read escrow_keyfile $KEYS/missing.key: No such file or directory"
assert_contains "$T/server.log" \
	"ERROR: $CONF:3: escrow_keyfile is a key of one client, not of [DEFAULT]; ignored"
assert_contains "$T/server.log" \
	"WARNING: client g: escrow_keyfile $KEYS/g.key has mode 0640: others may read it"
assert_contains "$T/server.log" "ERROR: $KEYS/g.key:2: client g: escrow key #2: not base64; left out"
assert_contains "$T/server.log" "ERROR: $KEYS/g.key:2: client g: escrow key #3: not base64; left out"
kill -0 "$SERVER_PID" || fail "the server stopped on bad escrow keys"
echo "bad escrow keys: ERROR with FILE:LINE and position, left out, the server runs"

# An escrow unlock: escrow only (no WANT_SEALED), the box opens to the secret.
assert_p2_escrow_unlocks a one
assert_contains "$T/p2err-a" "items=1"
log_wait "Sending secret to a (protocol 2: escrow ×1)"
assert_p2_escrow_unlocks a two
assert_p2_escrow_unlocks b one
assert_p2_escrow_unlocks c one
assert_p2_escrow_unlocks d one
assert_p2_escrow_unlocks g one
echo "escrow unlocks: inline keys, a keyfile, the good keys next to bad ones"

# Two kids of a in one request: two ESCROW items, in request order, both open.
p2_unlock a --flags=0 --escrow="$T/p2-a/escrow-one.conf" --escrow="$T/p2-a/escrow-two.conf" ||
	fail "a with both bindings got no RESULT"
assert_contains "$T/p2err-a" "items=2"
[ "$(grep -o 'ESCROW kid=[0-9a-f]* opened' "$T/p2err-a" | tr '\n' ' ')" = \
	"ESCROW kid=$(p2_kid a one) opened ESCROW kid=$(p2_kid a two) opened " ] ||
	fail "ESCROW items not one per kid in request order: $(cat "$T/p2err-a")"
log_wait "Sending secret to a (protocol 2: escrow ×2)"
# Sealed and escrow together: SEALED first, then the ESCROW item.
p2_unlock a --escrow="$T/p2-a/escrow-one.conf" || fail "a sealed + escrow got no RESULT"
assert_contains "$T/p2err-a" "RESULT code=0 flags=0 value=0 text=\"\" items=2"
printf '%s\n%s\n' "$(cat "$T/p2-a/pw")" "$(cat "$T/p2-a/pw")" > "$T/pw2"
cmp -s "$T/p2out-a" "$T/pw2" || fail "sealed + escrow: not the secret twice"
log_wait "Sending secret to a (protocol 2: sealed, escrow ×1)"
echo "one ESCROW item per matching kid, in request order; sealed first"

# Another client's kid (b's, also named in [DEFAULT]): NO_MATERIAL, no evaluation, no release;
# with a's own sealed secret requested too, only the sealed item comes back.
released=$(grep -c "Sending secret to a " "$T/server.log")
p2_unlock a --flags=0 --escrow="$T/p2-b/escrow-one.conf" || fail "a with b's kid got no RESULT"
assert_contains "$T/p2err-a" "RESULT code=5 flags=0 value=0 text=\"\" items=0"
assert_not_contains "$T/p2err-a" "ESCROW kid="
[ ! -s "$T/p2out-a" ] || fail "a got something for b's kid"
log_wait "Client a has no protocol 2 material for the request from"
p2_unlock a --escrow="$T/p2-b/escrow-one.conf" || fail "a sealed + b's kid got no RESULT"
assert_contains "$T/p2err-a" "items=1"
assert_not_contains "$T/p2err-a" "ESCROW kid="
cmp -s "$T/p2out-a" "$T/p2-a/pw" || fail "a sealed + b's kid: not a's sealed secret"
log_wait "Sending secret to a (protocol 2: sealed)"
assert_eq "$(grep -c "Sending secret to a (protocol 2: sealed)\$" "$T/server.log")" 1 \
	"releases of a with b's kid, sealed only"
assert_eq "$(grep -c "Sending secret to a " "$T/server.log")" $((released + 1)) \
	"releases of a after the foreign kid"
# ... and no approval wait: f (approval needed) answers b's kid at once, and waits for its own.
assert_p2_result f "code=5 flags=0 value=0" --flags=0 --escrow="$T/p2-b/escrow-one.conf"
assert_not_contains "$T/p2err-f" "STATUS"
assert_not_contains "$T/server.log" "Client f needs approval"
p2_escrow_unlock f one --abort-on-status || fail "f got no STATUS for its own kid"
assert_contains "$T/p2err-f" "STATUS code=1 flags=0"
assert_contains "$T/server.log" "Client f needs approval"
echo "another client's kid: NO_MATERIAL, no evaluation, no approval wait; with sealed, sealed only"

# A restart reads the keys again (inline and keyfile).
stop_server
start_server
log_wait "Protocol 2 server key ID: $P2_SERVER_KEY_ID"
assert_p2_escrow_unlocks a one
assert_p2_escrow_unlocks b one
echo "after a restart: escrow unlocks"

# SIGHUP: the keys are read again and replace the old ones (a keeps only key one, b's keyfile
# now holds key two); the keyfile is read as the server's run-time user.
conf "$(p2_S a one)" > "$CONF"
p2_keyfile "$KEYS/b.key" "$(p2_S b two)"
reloads=$(grep -c "Reloaded" "$T/server.log" || true)
kill -HUP "$SERVER_PID"
wait_for 20 sh -c "[ \$(grep -c Reloaded '$T/server.log') -gt ${reloads:-0} ]" ||
	fail "no reload"
assert_p2_escrow_unlocks a one
assert_p2_result a "code=5 flags=0 value=0" --flags=0 --escrow="$T/p2-a/escrow-two.conf"
assert_p2_escrow_unlocks b two
assert_p2_result b "code=5 flags=0 value=0" --flags=0 --escrow="$T/p2-b/escrow-one.conf"
assert_p2_escrow_unlocks c one
echo "after SIGHUP: the new keys unlock, the removed ones do not"
stop_server

# Nothing of the scalars in the state file or the log.
[ -s "$T/state/clients.state" ] || fail "no state file"
assert_no_scalar "$T/state/clients.state" "$T/server.log"
echo "no escrow scalar in the state file or the log"

# --check-config reports the same problems (exit 78).
rc=0
$VALGRIND "$MANDOS" --configdir "$T/conf" --check-config > "$T/check" 2>&1 || rc=$?
assert_eq "$rc" 78 "--check-config with bad escrow keys"
assert_contains "$T/check" "$CONF:$LINE_C: client c: escrow_key #3: zero; left out"
assert_contains "$T/check" "cannot read escrow_keyfile $KEYS/missing.key"
assert_no_scalar "$T/check"
echo "--check-config reports the bad escrow keys"
