#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Escrow and threshold keep the password off the servers (spec §B.1, §B.4.4): a client enrolled
# with mandos-keygen --escrow and --threshold unlocks with our real mandos-client against our
# real servers while a relay captures every byte on loopback; then the servers' files
# (clients.conf, escrow keyfiles, state, logs) and the traffic must hold neither the password
# nor K, kw, d_i, D or kD in any raw, hex or base64 form, and nothing made from them with the
# server scalars but without the binding's c may open a box (tests/tools/p2-escrow-leak tries
# [S]G, [S]s, S, each 32-byte window as K, as x for [S]x and as D, and the x and y of real
# unlocks).  The check checks itself: with c every box opens, planted secrets are caught, and
# adding the binding file to what the "attacker" holds must make it report the leak.
. "$(dirname "$0")/lib.sh"
require_cmd openssl python3

MANDOS=$BUILD/server/mandos
MC=$BUILD/plugins.d/mandos-client/mandos-client
KG="sh $BUILD/helpers/mandos-keygen/mandos-keygen"
LEAK=$BUILD/tests/tools/p2-escrow-leak
CAPTURE=$SRC/tests/integration/tcp-capture.py
for f in "$MANDOS" "$MC" "$LEAK" "$BUILD/helpers/mandos-keygen/mandos-keygen-p2"; do
	[ -x "$f" ] || fail "$f not built"
done

# The server drops privileges to this user when started as root: its state directory and
# escrow keyfiles must be its own (decisions.md).
RUN_USER=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
	RUN_USER=$(id -un _mandos 2>/dev/null || id -un mandos 2>/dev/null || echo root)
fi

key_id() { # PRIVKEY.PEM: its key id (64 uppercase hex digits)
	openssl pkey -in "$1" -pubout -outform der | sha256sum | cut -c1-64 | tr a-f A-F
}

# The client: two identities (a clients.conf holds one key_id once), one with a single binding
# and one with a threshold binding; no OpenPGP keys, no seal key: escrow is all they have.
mkdir -p "$T/keys" "$T/keys-t" "$T/nohooks"
for d in keys keys-t; do
	openssl genpkey -algorithm ed25519 -out "$T/$d/tls-privkey.pem" 2>/dev/null
	openssl pkey -in "$T/$d/tls-privkey.pem" -pubout -out "$T/$d/tls-pubkey.pem"
done
# A password with a newline, as a passfile usually has one, and not guessable from anything.
printf 'leak test %s\n' "$(openssl rand -hex 12)" >"$T/pw"

# Three servers, each its own key and directories.
for i in 1 2 3; do
	mkdir -p "$T/conf$i" "$T/state$i" "$T/escrow$i"
	openssl genpkey -algorithm ed25519 -out "$T/conf$i/server-key.pem" 2>/dev/null
	chmod 600 "$T/conf$i/server-key.pem"
	printf '[DEFAULT]\nzeroconf = False\n' >"$T/conf$i/mandos.conf"
	printf '[DEFAULT]\nchecker = true\n\n' >"$T/conf$i/clients.conf"
	chmod 700 "$T/escrow$i"
	eval "SKID$i=\$(key_id \"\$T/conf$i/server-key.pem\")"
done

# section_scalars FILE: the base64 scalars keygen printed for the servers, in order
# (escrow_key values, or the line after "# Save the next line alone as PATH").
section_scalars() {
	awk 'saving { print; saving = 0 } /^escrow_key = / { print $3 }
		/^# Save the next line alone as / { saving = 1 }' "$1"
}
# section_part FILE I: what of keygen's output goes into server I's clients.conf: the I-th
# section (after the I-th "# share" line, or the only one), without comments and scalar line.
section_part() {
	awk -v i="$2" -v skip="${3:-}" '/^# share / { n++ } /^\[/ && !shares { n++ }
		/^# share / { shares = 1 } /^# Save/ { drop = 1; next }
		drop { drop = 0; next } n == i && !/^#/ { print }' "$1"
	printf '\n'
}

# 1. Enrolment with mandos-keygen: a single binding whose scalar goes into an escrow keyfile on
# server 1, and a 2-of-3 threshold binding, share I inline (escrow_key) on server I.
$KG --dir "$T/keys" --passfile "$T/pw" --escrow --escrow-server "$SKID1" \
	--escrow-keyfile "$T/escrow1/leak" --name leak-single >"$T/section-single" 2>"$T/err" ||
	fail "mandos-keygen --escrow: $(cat "$T/err")"
$KG --dir "$T/keys-t" --passfile "$T/pw" --threshold 2 --share-server "$SKID1" \
	--share-server "$SKID2" --share-server "$SKID3" --name leak-threshold \
	>"$T/section-t" 2>"$T/err" || fail "mandos-keygen --threshold: $(cat "$T/err")"
SINGLE=$(ls "$T"/keys/escrow-*.conf)
THRESH=$(ls "$T"/keys-t/escrow-2of3-*.conf)
S0=$(section_scalars "$T/section-single")
# shellcheck disable=SC2046
set -- $(section_scalars "$T/section-t")
[ -n "$S0" ] && [ $# -eq 3 ] || fail "no scalars in keygen's sections"
S1=$1 S2=$2 S3=$3
printf '%s\n' "$S0" >"$T/escrow1/leak"
chmod 600 "$T/escrow1/leak"
section_part "$T/section-single" 1 >>"$T/conf1/clients.conf"
for i in 1 2 3; do
	section_part "$T/section-t" "$i" >>"$T/conf$i/clients.conf"
	grep -q "^escrow_key = " "$T/conf$i/clients.conf" || fail "server $i: no escrow_key"
done
grep -q "^escrow_keyfile = $T/escrow1/leak" "$T/conf1/clients.conf" ||
	fail "server 1: no escrow_keyfile"
if [ "$(id -u)" -eq 0 ]; then
	chown -R "$RUN_USER" "$T/escrow1" "$T/state1" "$T/state2" "$T/state3"
fi
chmod 755 "$T/conf1" "$T/conf2" "$T/conf3"
chmod 644 "$T"/conf?/mandos.conf "$T"/conf?/clients.conf

# 2. The servers, each behind a relay that writes every byte both ways.
for i in 1 2 3; do
	port=$(random_port)
	"$MANDOS" --configdir "$T/conf$i" --statedir "$T/state$i" --no-dbus --no-zeroconf \
		--address ::1 --port "$port" --foreground --debug >"$T/server$i.log" 2>&1 &
	eval "SPID$i=$!"
	on_exit "kill -9 $!"
	wait_for_port "$port" 30
	relay=$(random_port)
	python3 "$CAPTURE" "$relay" "$port" "$T/cap$i" "$T/cap$i.ready" &
	on_exit "kill $!"
	wait_for 20 test -e "$T/cap$i.ready" || fail "the relay of server $i does not start"
	eval "PORT$i=$port RELAY$i=$relay"
done
! grep -q 'ERROR' "$T/server1.log" "$T/server2.log" "$T/server3.log" ||
	fail "a server did not take the configuration: $(grep ERROR "$T"/server?.log)"

# mc KEYDIR ARGS...: our mandos-client with that key directory's identity, bindings and pins
# (keygen --threshold pinned the share servers; the single binding's client has no pins).
mc() {
	_k=$1
	shift
	timeout $((60 * SLOW)) $VALGRIND "$MC" --interface=none --network-hook-dir="$T/nohooks" \
		--retry=1 --tls-pubkey="$_k/tls-pubkey.pem" --tls-privkey="$_k/tls-privkey.pem" \
		--seal-key="$_k/no-seal-key.pem" --pubkey="$_k/no-pubkey.txt" \
		--seckey="$_k/no-seckey.txt" --server-pins="$_k/server-pins" \
		--servers-seen="$T/seen" --escrow-dir="$_k" "$@"
}

# 3. Real unlocks: the single binding through server 1, the threshold through servers 1 and 3
# (server 2 is not asked: 2 of 3 suffice), each to the exact password.
mc "$T/keys" --connect="[::1]:$RELAY1" >"$T/out-single" 2>"$T/err-single" ||
	fail "single binding: no unlock: $(tail -n 5 "$T/err-single")"
cmp -s "$T/out-single" "$T/pw" || fail "single binding: wrong password"
# The threshold client finds its servers with --server (no Zeroconf here).
mc "$T/keys-t" \
	--server="[::1]:$RELAY1" --server="[::1]:$RELAY3" >"$T/out-t" 2>"$T/err-t" ||
	fail "threshold: no unlock: $(tail -n 8 "$T/err-t")"
cmp -s "$T/out-t" "$T/pw" || fail "threshold: wrong password"
assert_contains "$T/err-t" "2 of 2 shares, secret recovered"
assert_contains "$T/server1.log" "Sending secret to leak-single (protocol 2: escrow"
assert_contains "$T/server1.log" "Sending secret to leak-threshold (protocol 2: escrow"
assert_contains "$T/server3.log" "Sending secret to leak-threshold (protocol 2: escrow"
# The server's view of more unlocks: x and y as each server saw them (in the clear, as a
# server does), from the leak tool's own sessions with the same bindings.
"$LEAK" --binding="$SINGLE" --tls-privkey="$T/keys/tls-privkey.pem" --password="$T/pw" \
	--scalar="$S0" --session="[::1]:$RELAY1" --session="[::1]:$RELAY1" \
	--save-view="$T/view-single" 2>"$T/err" || fail "leak tool sessions: $(cat "$T/err")"
"$LEAK" --binding="$THRESH" --tls-privkey="$T/keys-t/tls-privkey.pem" --password="$T/pw" \
	--scalar="$S1" --scalar="$S2" --scalar="$S3" --session="[::1]:$RELAY1" \
	--session="[::1]:$RELAY2" --session="[::1]:$RELAY3" --save-view="$T/view-t" \
	2>"$T/err" || fail "leak tool threshold sessions: $(cat "$T/err")"
assert_eq "$(wc -l <"$T/view-single")" 2 "single unlocks seen"
assert_eq "$(wc -l <"$T/view-t")" 3 "threshold shares seen"

# The servers stop and save their state files; the logs are complete.
for i in 1 2 3; do
	eval "kill \$SPID$i"
	eval "wait \$SPID$i" || true
done
state_files=$(find "$T/state1" "$T/state2" "$T/state3" -type f)
[ -n "$state_files" ] || fail "no state file saved"
caps=$(ls "$T"/cap?.*.c2s "$T"/cap?.*.s2c 2>/dev/null)
[ -n "$caps" ] || fail "nothing captured"
logs="$T/server1.log $T/server2.log $T/server3.log"

# 4. The single binding: the server's scalar, its files, the traffic, the server's view of
# three more unlocks (--session through server 1 directly).
"$LEAK" --binding="$SINGLE" --tls-privkey="$T/keys/tls-privkey.pem" --password="$T/pw" \
	--scalar="$S0" --attacker-scalar="$S0" --attacker-scalar="$S1" \
	--config="$T/conf1/clients.conf" --config="$T/escrow1/leak" --view="$T/view-single" \
	$state_files $logs $caps >"$T/leak-single" 2>"$T/leak-single.err" || {
	cat "$T/leak-single.err" "$T/leak-single" >&2
	fail "single binding: the servers' files or the traffic give the box away"
}
cat "$T/leak-single"

# 5. The threshold: each server's scalar alone, with every server's files and all the traffic.
for i in 1 2 3; do
	eval "S=\$S$i"
	"$LEAK" --binding="$THRESH" --tls-privkey="$T/keys-t/tls-privkey.pem" --password="$T/pw" \
		--scalar="$S1" --scalar="$S2" --scalar="$S3" --attacker-scalar="$S" \
		--config="$T/conf1/clients.conf" --config="$T/conf2/clients.conf" \
		--config="$T/conf3/clients.conf" --config="$T/escrow1/leak" --view="$T/view-t" \
		$state_files $logs $caps >"$T/leak-t$i" 2>"$T/leak-t$i.err" || {
		cat "$T/leak-t$i.err" "$T/leak-t$i" >&2
		fail "threshold: server $i's scalar and the files or traffic open a share"
	}
	cat "$T/leak-t$i"
done

# 6. The check is sharp: what the client holds (the binding, with c) added to the same files
# must make it report a leak, for each kind of binding.
rc=0
"$LEAK" --binding="$SINGLE" --tls-privkey="$T/keys/tls-privkey.pem" --password="$T/pw" \
	--scalar="$S0" --attacker-scalar="$S0" --config="$T/conf1/clients.conf" \
	$logs $caps "$SINGLE" >"$T/leak-neg" 2>"$T/leak-neg.err" || rc=$?
assert_eq "$rc" 1 "the leak check given the binding too"
assert_contains "$T/leak-neg.err" "LEAK: box 1 opens with [S] times these bytes"
rc=0
"$LEAK" --binding="$THRESH" --tls-privkey="$T/keys-t/tls-privkey.pem" --password="$T/pw" \
	--scalar="$S1" --scalar="$S2" --scalar="$S3" --attacker-scalar="$S2" \
	$logs $caps "$THRESH" >"$T/leak-neg" 2>"$T/leak-neg.err" || rc=$?
assert_eq "$rc" 1 "the threshold leak check given the binding too"
assert_contains "$T/leak-neg.err" "LEAK: box 2 opens with [S] times these bytes"
# And a server that wrote the password into its log would be caught.
cp "$T/server1.log" "$T/bad.log"
cat "$T/pw" >>"$T/bad.log"
rc=0
"$LEAK" --binding="$SINGLE" --tls-privkey="$T/keys/tls-privkey.pem" --password="$T/pw" \
	--scalar="$S0" --attacker-scalar="$S0" "$T/bad.log" >"$T/leak-neg" 2>"$T/leak-neg.err" ||
	rc=$?
assert_eq "$rc" 1 "the leak check with the password in a log"
assert_contains "$T/leak-neg.err" "LEAK: the password found (raw) ($T/bad.log"
echo "ok: no secret in the servers' files or traffic; nothing opens a box without c"
