#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Our mandos-client against our server over protocol 2: a sealed secret with no gpg in sight,
# server pins, each reason code on the console, and an approval wait the client ends.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client-lib.sh"
require_root
require_cmd openssl dbus-daemon unshare mandos-keygen gpg

MANDOS=$BUILD/server/mandos
CTL=$BUILD/mandos-ctl/mandos-ctl
SEAL=$BUILD/tests/tools/p2-seal

# p2_keys DIR: an Ed25519 identity and an X25519 seal key, as OpenSSL writes them (§A.9.4).
p2_keys() {
	mkdir -p "$1"
	openssl genpkey -algorithm ed25519 -out "$1/tls-privkey.pem" 2>/dev/null
	openssl pkey -in "$1/tls-privkey.pem" -pubout -out "$1/tls-pubkey.pem"
	openssl genpkey -algorithm x25519 -out "$1/seal-privkey.pem" 2>/dev/null
	openssl pkey -in "$1/seal-privkey.pem" -pubout -out "$1/seal-pubkey.pem"
}
# key_id PUBKEY.PEM: 64 uppercase hex digits (§A.3.3).
key_id() {
	openssl pkey -pubin -in "$1" -outform der | sha256sum | cut -c1-64 | tr a-f A-F
}
# p2_section NAME [LINES]: a protocol-2-only section for the keys in $T/NAME, the secret in
# $T/NAME/pw (made here), sealed with p2-seal.
p2_section() {
	printf 'secret of %s\n' "$1" >"$T/$1/pw"
	printf '[%s]\nhost = localhost\nkey_id = %s\nprotocols = 2\nsealed_secret = %s\n%s\n\n' \
		"$1" "$(key_id "$T/$1/tls-pubkey.pem")" "$("$SEAL" "$T/$1/seal-pubkey.pem" <"$T/$1/pw")" \
		"${2:-}" >>"$T/conf/clients.conf"
}
# mc_args NAME: our client's options for the keys in $T/NAME (OpenPGP ones only if there).
mc_args() {
	printf '%s ' "--connect=[::1]:$PORT" --interface=none "--network-hook-dir=$T/nohooks" \
		--retry=1 "--tls-pubkey=$T/$1/tls-pubkey.pem" "--tls-privkey=$T/$1/tls-privkey.pem" \
		"--seal-key=$T/$1/seal-privkey.pem" "--pubkey=$T/$1/pubkey.txt" \
		"--seckey=$T/$1/seckey.txt" "--server-pins=$T/$1/server-pins" \
		"--servers-seen=$T/seen-$1"
}
# reason NAME LINE [ARGS]: NAME's client prints "server [::1]:PORT: LINE" (once), then is
# stopped; it printed nothing on stdout.
reason() {
	_n=$1 _l=$2
	shift 2
	run_until 1 "server [::1]:$PORT: $_l" "$T/err-$_n" "$T/out-$_n" "$T/err-$_n" \
		$VALGRIND "$MC" $(mc_args "$_n") "$@"
	[ ! -s "$T/out-$_n" ] || fail "$_n: printed something"
}
# prop_is NAME PROP VALUE: whether a client's D-Bus property, as mandos-ctl --dump-json shows
# it, is VALUE (prop_is NAME PROP '!VALUE': is not).
prop_is() {
	_v=$("$CTL" --dump-json "$1" | sed -n "s/^ *\"$2\": \([^,]*\),*\$/\1/p")
	case $3 in
	!*) [ -n "$_v" ] && [ "$_v" != "${3#!}" ] ;;
	*) [ "$_v" = "$3" ] ;;
	esac
}

mkdir -p "$T/conf" "$T/state" "$T/nohooks" "$T/flags"
chmod 755 "$T/conf" "$T/state"
chmod 777 "$T/flags"
openssl genpkey -algorithm ed25519 -out "$T/conf/server-key.pem" 2>/dev/null
chmod 600 "$T/conf/server-key.pem"
openssl pkey -in "$T/conf/server-key.pem" -pubout -out "$T/server-pubkey.pem"
SERVER_KEY_ID=$(key_id "$T/server-pubkey.pem")
printf '[DEFAULT]\nuse_dbus = True\nzeroconf = False\n' >"$T/conf/mandos.conf"
printf '[DEFAULT]\nchecker = true\ninterval = PT1H\n\n' >"$T/conf/clients.conf"

for n in good pinned denied slow limited disabled never checker stranger wrongseal; do
	p2_keys "$T/$n"
done
p2_section good
p2_section pinned
p2_section denied "approval_delay = PT1M
approved_by_default = False"
p2_section slow "approval_delay = PT1S
approved_by_default = False"
p2_section limited "release_limit = 1"
p2_section disabled "interval = PT1S"
# Its checker never succeeds: disabled when its first timeout passes.
p2_section never "checker = false
interval = PT1S
timeout = PT1S"
# A secret sealed to some other seal key.
cp "$T/good/seal-pubkey.pem" "$T/wrongseal/seal-pubkey.pem"
p2_section wrongseal
# Checked OK once, then failing: disabled when its timeout runs out after that one success.
p2_section checker "checker = sh -c 'test ! -e $T/flags/checker && touch $T/flags/checker'
interval = PT1S
timeout = PT2S"
# Protocol 1 and 2 in one section, with OpenPGP keys on the client: protocol 1 would work.
make_keys "$T/dual"
openssl genpkey -algorithm x25519 -out "$T/dual/seal-privkey.pem" 2>/dev/null
openssl pkey -in "$T/dual/seal-privkey.pem" -pubout -out "$T/dual/seal-pubkey.pem"
printf 'secret of dual\n' >"$T/dual/pw"
{
	mandos-keygen --dir "$T/dual" --passfile "$T/dual/pw" --no-ssh --name dual
	printf 'protocols = 1 2\nsealed_secret = %s\n\n' \
		"$("$SEAL" "$T/dual/seal-pubkey.pem" <"$T/dual/pw")"
} >>"$T/conf/clients.conf"
# Protocol 1 only in its section, with a seal key on the client: NO_MATERIAL, then protocol 1.
make_keys "$T/p1only"
openssl genpkey -algorithm x25519 -out "$T/p1only/seal-privkey.pem" 2>/dev/null
printf 'secret of p1only\n' >"$T/p1only/pw"
{
	mandos-keygen --dir "$T/p1only" --passfile "$T/p1only/pw" --no-ssh --name p1only
	printf 'protocols = 1\n\n'
} >>"$T/conf/clients.conf"
chmod 644 "$T/conf/mandos.conf" "$T/conf/clients.conf"

start_bus
PORT=$(random_port)
$VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-zeroconf --address ::1 \
	--port "$PORT" --foreground --debug >"$T/server.log" 2>&1 &
on_exit "kill -9 $!"
wait_for_port "$PORT" 30
assert_contains "$T/server.log" "Protocol 2 server key ID: $SERVER_KEY_ID"

# 1. A sealed secret, with no gpg, gpg-agent or gpgconf in the client's view and no OpenPGP
# keys: the exact secret, the unpinned server's key id on the console, the server noted in
# servers-seen.
: >"$T/empty"
hide=""
for p in gpg gpg-agent gpgconf gpgsm; do
	w=$(command -v "$p" || true)
	[ -z "$w" ] || hide="$hide mount --bind $T/empty $w;"
done
# shellcheck disable=SC2086
unshare -m --propagation private sh -c "$hide
	if gpg --version >/dev/null 2>&1; then echo 'gpg still runs' >&2; exit 99; fi
	exec $VALGRIND $MC $(mc_args good) --debug" >"$T/out-good" 2>"$T/err-good" ||
	fail "no unlock without gpg: $(tail -n 5 "$T/err-good")"
cmp -s "$T/out-good" "$T/good/pw" || fail "good: wrong secret"
assert_contains "$T/err-good" "server [::1]:$PORT: key ID $SERVER_KEY_ID (not pinned)"
assert_not_contains "$T/err-good" "GnuPG"
assert_contains "$T/server.log" "Sending secret to good (protocol 2: sealed)"
assert_eq "$(cat "$T/seen-good")" "$SERVER_KEY_ID # [::1]:$PORT" "servers-seen"
# Once more: no second line for the same server.
$VALGRIND "$MC" $(mc_args good) >"$T/out-good" 2>"$T/err-good" || fail "second unlock failed"
assert_eq "$(wc -l <"$T/seen-good")" 1 "servers-seen lines"

# 1b. The same unlock with mandos-client-p2only, which links neither GnuTLS nor GPGME; asked
# for protocol 1, or with nothing for protocol 2, it says it has no protocol 1 (exit 69).
MC2=$BUILD/plugins.d/mandos-client/mandos-client-p2only
! ldd "$MC2" | grep -E 'libgnutls|libgpgme' || fail "mandos-client-p2only links GnuTLS or GPGME"
$VALGRIND "$MC2" $(mc_args good) --debug >"$T/out-good" 2>"$T/err-good" ||
	fail "p2only: no unlock: $(tail -n 5 "$T/err-good")"
cmp -s "$T/out-good" "$T/good/pw" || fail "p2only: wrong secret"
assert_contains "$T/err-good" "server [::1]:$PORT: key ID $SERVER_KEY_ID (not pinned)"
rc=0
$VALGRIND "$MC2" $(mc_args dual) --protocol=1 >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 69 "p2only: --protocol=1"
assert_contains "$T/err" "This build (mandos-client-p2only) has no protocol 1"
assert_contains "$T/err" "No protocol left to use"
[ ! -s "$T/out" ] || fail "p2only: --protocol=1 printed something"
rc=0
$VALGRIND "$MC2" $(mc_args dual) --seal-key="$T/none.pem" >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 69 "p2only: no seal key"
assert_contains "$T/err" "this build (mandos-client-p2only) has no protocol 1"
# Protocol 2 before 1: protocol 2 only, and it works.
$VALGRIND "$MC2" $(mc_args dual) --protocol=2,1 >"$T/out-dual" 2>"$T/err-dual" ||
	fail "p2only: --protocol=2,1: $(tail -n 5 "$T/err-dual")"
cmp -s "$T/out-dual" "$T/dual/pw" || fail "p2only: dual: wrong secret"
assert_contains "$T/err-dual" "This build (mandos-client-p2only) has no protocol 1"

# 2. Pinned (file or option, any case and spacing): "(pinned)", no "(unauthenticated) ".
echo "# our server
$(echo "$SERVER_KEY_ID" | tr A-F a-f | sed 's/..../& /g') # the one" >"$T/pinned/server-pins"
$VALGRIND "$MC" $(mc_args pinned) >"$T/out-pinned" 2>"$T/err-pinned" ||
	fail "pinned: no unlock: $(tail -n 5 "$T/err-pinned")"
cmp -s "$T/out-pinned" "$T/pinned/pw" || fail "pinned: wrong secret"
assert_contains "$T/err-pinned" "server [::1]:$PORT: key ID $SERVER_KEY_ID (pinned)"
rm "$T/pinned/server-pins"
$VALGRIND "$MC" $(mc_args pinned) --server-key-id="$SERVER_KEY_ID" >"$T/out-pinned" \
	2>"$T/err-pinned" || fail "--server-key-id: no unlock: $(tail -n 5 "$T/err-pinned")"
rc=0
$VALGRIND "$MC" $(mc_args pinned) --server-key-id=12AB >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 64 "a bad --server-key-id"

# 3. Pinned to another key: refused, and never protocol 1 although the client has OpenPGP
# keys and its section a protocol 1 secret.
other=$(printf '%064d' 7)
v1=$(grep -c "Protocol version: '1" "$T/server.log" || true)
run_until 2 "TCP connection from" "$T/server.log" "$T/out-dual" "$T/err-dual" \
	$VALGRIND "$MC" $(mc_args dual) --server-key-id="$other" --protocol=2,1
assert_contains "$T/err-dual" "server [::1]:$PORT: server key $SERVER_KEY_ID is not pinned"
assert_contains "$T/err-dual" "server pins configured: not using protocol 1"
[ ! -s "$T/out-dual" ] || fail "a client pinned to another key printed something"
assert_eq "$(grep -c "Protocol version: '1" "$T/server.log" || true)" "$v1" \
	"protocol 1 connections of a pinned client"
# (The server releases over protocol 2 before the client sees its key: that secret is sealed.)
! grep -q "Sending secret to dual\$" "$T/server.log" || fail "dual got a protocol 1 secret"
# Unpinned, the same client would have had its secret over protocol 1 too.
$VALGRIND "$MC" $(mc_args dual) --protocol=1 >"$T/out-dual" 2>"$T/err-dual" ||
	fail "dual over protocol 1: $(tail -n 5 "$T/err-dual")"
cmp -s "$T/out-dual" "$T/dual/pw" || fail "dual: wrong secret over protocol 1"

# NO_MATERIAL from a section without protocol 2: protocol 1 at once, on the same server.
$VALGRIND "$MC" $(mc_args p1only) --debug >"$T/out-p1only" 2>"$T/err-p1only" ||
	fail "p1only: $(grep -v GnuTLS "$T/err-p1only" | tail -n 5)"
cmp -s "$T/out-p1only" "$T/p1only/pw" || fail "p1only: wrong secret"
assert_contains "$T/err-p1only" "server [::1]:$PORT: (unauthenticated) has no protocol 2 secret for this machine"
assert_contains "$T/err-p1only" "Trying the next protocol at Mandos server [::1]:$PORT"
assert_not_contains "$T/err-p1only" "Retrying"
grep -q "Sending secret to p1only\$" "$T/server.log" || fail "p1only: no protocol 1 secret"

# 4. Each reason code on the console.
reason stranger "(unauthenticated) this machine (key ID $(key_id "$T/stranger/tls-pubkey.pem")) is not known to it"
wait_for 30 prop_is never Enabled false || fail "never: still enabled"
reason never "(unauthenticated) client disabled (never checked OK)"
wait_for 30 prop_is checker Enabled false || fail "checker: still enabled"
reason checker "(unauthenticated) client disabled (checker timed out)"
wait_for 30 prop_is disabled LastCheckedOK '!null' ||
	fail "disabled: never checked"
"$CTL" --disable disabled
reason disabled "(unauthenticated) client disabled (by administrator)"
reason slow "(unauthenticated) approval timed out"
reason wrongseal "the sealed secret it sent does not open (wrong seal key?)"
# Release limit: one release, then TRY_LATER.  That client stays running meanwhile: it must
# not come back before the TRY_LATER's value (about a day), --retry=1 notwithstanding.
$VALGRIND "$MC" $(mc_args limited) >"$T/out-limited" 2>"$T/err-limited" ||
	fail "limited: first unlock failed"
$VALGRIND "$MC" $(mc_args limited) >"$T/out-limited" 2>"$T/err-limited" &
limited=$!
on_exit "kill $limited"
wait_for 30 grep -qF "server [::1]:$PORT: (unauthenticated) release limit reached, try again in" \
	"$T/err-limited" || fail "no release limit line: $(tail -n 5 "$T/err-limited")"
assert_contains "$T/server.log" "Client limited reached its release limit (1 per 24 h)"
# Denied while waiting; the STATUS first.
"$MC" $(mc_args denied) >"$T/out-denied" 2>"$T/err-denied" &
client=$!
on_exit "kill $client"
wait_for 30 grep -qF "server [::1]:$PORT: (unauthenticated) waiting for approval (up to " \
	"$T/err-denied" || fail "no approval STATUS: $(tail -n 5 "$T/err-denied")"
assert_contains "$T/err-denied" " s, then deny)"
"$CTL" --deny denied
wait_for 30 grep -qF "server [::1]:$PORT: (unauthenticated) unlock denied by administrator" \
	"$T/err-denied" || fail "no denial on the console: $(tail -n 5 "$T/err-denied")"
kill "$client"
wait "$client" || true
[ ! -s "$T/out-denied" ] || fail "denied: printed something"

# 5. An approval wait ends when the client goes: ApprovalPending drops at once, long before
# the minute of approval_delay.
sleep $((1 + SLOW))
# The limited client is still waiting out its TRY_LATER (2 s at least have passed, at --retry=1).
kill -0 "$limited" || fail "the limited client stopped"
assert_eq "$(grep -c "Client limited reached its release limit" "$T/server.log")" 1 \
	"refusals of the limited client (no retry before the TRY_LATER's value)"
kill "$limited"
[ ! -s "$T/out-limited" ] || fail "limited: printed something the second time"
"$MC" $(mc_args denied) >"$T/out-denied" 2>"$T/err-denied" &
client=$!
on_exit "kill $client"
wait_for 30 prop_is denied ApprovalPending true ||
	fail "no approval pending: $(tail -n 5 "$T/err-denied")"
kill -TERM "$client"
wait "$client" || true
wait_for 10 prop_is denied ApprovalPending false ||
	fail "ApprovalPending still true after the client left"
grep -qE "Client denied (aborted its request|disconnected while waiting)" "$T/server.log" ||
	fail "the server did not see the client go"
echo ok
