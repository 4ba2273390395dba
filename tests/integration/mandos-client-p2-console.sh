#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# mandos-client's console lines for protocol 2 answers our server never gives (a scripted
# server from tests/tools): STATUS text, unknown codes, busy, a RESULT without FINAL.
. "$(dirname "$0")/lib.sh"
require_cmd openssl
MC=$BUILD/plugins.d/mandos-client/mandos-client
SERVER=$BUILD/tests/tools/p2-test-server

mkdir -p "$T/k"
openssl genpkey -algorithm ed25519 -out "$T/server-key.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T/k/tls-privkey.pem" 2>/dev/null
openssl pkey -in "$T/k/tls-privkey.pem" -pubout -out "$T/k/tls-pubkey.pem"
openssl genpkey -algorithm x25519 -out "$T/k/seal-privkey.pem" 2>/dev/null
openssl pkey -in "$T/k/seal-privkey.pem" -pubout -out "$T/k/seal-pubkey.pem"
printf 'console secret\n' >"$T/pw"
sealed=$("$BUILD/tests/tools/p2-seal" "$T/k/seal-pubkey.pem" <"$T/pw")

# serve ANSWER...: a new scripted server on $port.
serve() {
	port=$(random_port)
	"$SERVER" "$port" "$T/server-key.pem" "$@" >"$T/server.out" 2>"$T/server.err" &
	on_exit "kill $!"
	wait_for 10 grep -q listening "$T/server.out" || fail "the test server did not start"
}
# mc: our client against it, protocol 2 only.
mc() {
	$VALGRIND "$MC" --connect="[::1]:$port" --interface=none --network-hook-dir="$T/nohooks" \
		--retry=1 --tls-pubkey="$T/k/tls-pubkey.pem" --tls-privkey="$T/k/tls-privkey.pem" \
		--seal-key="$T/k/seal-privkey.pem" --pubkey="$T/k/none" --seckey="$T/k/none" \
		--server-pins="$T/k/none" --servers-seen= "$@"
}
# line NAME TEXT: the client, until it prints "server [::1]:PORT: TEXT"; nothing on stdout.
line() {
	run_until 1 "server [::1]:$port: $2" "$T/err-$1" "$T/out-$1" "$T/err-$1" mc
	[ ! -s "$T/out-$1" ] || fail "$1: printed something"
}

# Approval STATUS with text, then the secret.
serve status 1 1 55 "hold on" sealed "$sealed"
mc >"$T/out" 2>"$T/err" || fail "no unlock: $(cat "$T/err")"
cmp -s "$T/out" "$T/pw" || fail "wrong secret"
assert_contains "$T/err" "server [::1]:$port: (unauthenticated) waiting for approval (up to 55 s, then allow)"
assert_contains "$T/err" "server [::1]:$port: (unauthenticated) server says \"hold on\""

# A RESULT that no FINAL follows is not used, however good its secret.
serve nofinal sealed "$sealed"
line nofinal "no FINAL after RESULT: discarded"

# Codes and statuses the client does not know; busy.
serve status 9 0 0 "odd news" result 42 0 0 ""
line unknown-status "(unauthenticated) status 9 odd news"
line unknown-code "(unauthenticated) refused (code 42)"
serve result 6 0 10 "come back later"
line busy "(unauthenticated) busy, try again in 10 s"
assert_contains "$T/err-busy" "server [::1]:$port: (unauthenticated) server says \"come back later\""

# Deadlines (upstream has none): a server that accepts and says nothing, and one that goes
# quiet after SERVER_AUTH.  Each attempt ends and the next follows.
port=$(random_port)
silent_server "$port"
run_until 2 "Timed out waiting for ServerHello" "$T/err-silent" "$T/out-silent" "$T/err-silent" \
	mc --timeout=1 --retry=0.5 --debug
serve hang
run_until 2 "Timed out waiting for the RESULT" "$T/err-quiet" "$T/out-quiet" "$T/err-quiet" \
	mc --secret-timeout=1 --retry=0.5 --debug
assert_contains "$T/err-quiet" "(not pinned)"
echo ok
