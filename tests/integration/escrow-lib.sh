# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for mandos-client's escrow tests (source after lib.sh and client-lib.sh): protocol 2
# identities, our servers with escrow_key sections, bindings from tests/tools/p2-escrow-enrol.
MANDOS=$BUILD/server/mandos
CTL=$BUILD/mandos-ctl/mandos-ctl
ENROL=$BUILD/tests/tools/p2-escrow-enrol
TEST_SERVER=$BUILD/tests/tools/p2-test-server
require_cmd openssl "$ENROL" "$TEST_SERVER"
mkdir -p "$T/nohooks"

# pem_key_id PUBKEY.PEM: its key id, 64 uppercase hex digits (§A.3.3).
pem_key_id() {
	openssl pkey -pubin -in "$1" -outform der | sha256sum | cut -c1-64 | tr a-f A-F
}

# identity DIR: an Ed25519 identity in DIR (tls-privkey.pem, tls-pubkey.pem) and an empty
# escrow directory DIR/escrow: no seal key, no OpenPGP keys.
identity() {
	mkdir -p "$1/escrow"
	openssl genpkey -algorithm ed25519 -out "$1/tls-privkey.pem" 2>/dev/null ||
		fail "openssl genpkey failed"
	openssl pkey -in "$1/tls-privkey.pem" -pubout -out "$1/tls-pubkey.pem"
}

# new_server N [USE_DBUS]: server N's configuration in $T/srvN (conf, state, its own server
# key, key id in $T/srvN/key_id, a free port in $T/srvN/port); use_dbus False unless given.
new_server() {
	_d=$T/srv$1
	mkdir -p "$_d/conf" "$_d/state"
	chmod 755 "$_d" "$_d/conf" "$_d/state"
	openssl genpkey -algorithm ed25519 -out "$_d/conf/server-key.pem" 2>/dev/null
	chmod 600 "$_d/conf/server-key.pem"
	openssl pkey -in "$_d/conf/server-key.pem" -pubout -out "$_d/server-pubkey.pem"
	pem_key_id "$_d/server-pubkey.pem" >"$_d/key_id"
	printf '[DEFAULT]\nuse_dbus = %s\nzeroconf = False\n' "${2:-False}" >"$_d/conf/mandos.conf"
	printf '[DEFAULT]\nchecker = true\ninterval = PT1H\n\n' >"$_d/conf/clients.conf"
	chmod 644 "$_d/conf/mandos.conf" "$_d/conf/clients.conf"
	random_port >"$_d/port"
}
srv_port() { cat "$T/srv$1/port"; }
srv_key_id() { cat "$T/srv$1/key_id"; }

# escrow_section N NAME SCALAR [LINES]: a protocol-2-only section for the client in $T/NAME
# with only escrow_key = SCALAR, in server N's clients.conf.
escrow_section() {
	printf '[%s]\nhost = localhost\nkey_id = %s\nprotocols = 2\nescrow_key = %s\n%s\n\n' "$2" \
		"$(pem_key_id "$T/$2/tls-pubkey.pem")" "$3" "${4:-}" >>"$T/srv$1/conf/clients.conf"
}

# start_server N: our server N on [${SERVER_ADDRESS:-::1}]:port, its log in $T/srvN/log
# (appended); stopped at exit, or by stop_server N.
start_server() {
	_d=$T/srv$1
	$VALGRIND "$MANDOS" --configdir "$_d/conf" --statedir "$_d/state" --no-zeroconf \
		--address "${SERVER_ADDRESS:-::1}" --port "$(srv_port "$1")" --foreground --debug \
		>>"$_d/log" 2>&1 &
	echo $! >"$_d/pid"
	on_exit "kill -9 $!"
	wait_for_port "$(srv_port "$1")" 30
}
stop_server() {
	_p=$(cat "$T/srv$1/pid")
	kill "$_p" 2>/dev/null || true
	wait "$_p" 2>/dev/null || true
}

# test_server N ANSWER...: tests/tools/p2-test-server with server N's key on its port instead.
test_server() {
	_n=$1
	shift
	"$TEST_SERVER" "$(srv_port "$_n")" "$T/srv$_n/conf/server-key.pem" "$@" \
		>"$T/srv$_n/test.out" 2>"$T/srv$_n/test.err" &
	echo $! >"$T/srv$_n/pid"
	on_exit "kill $!"
	wait_for 10 grep -q listening "$T/srv$_n/test.out" || fail "the test server did not start"
}

# mc NAME ARGS...: our client with the identity and escrow directory of $T/NAME (no seal key,
# OpenPGP keys or hooks; pins in $T/NAME/server-pins if there).
mc() {
	_n=$1
	shift
	$VALGRIND "${MC_PROGRAM:-$MC}" --interface=none --network-hook-dir="$T/nohooks" --retry=1 \
		--tls-pubkey="$T/$_n/tls-pubkey.pem" --tls-privkey="$T/$_n/tls-privkey.pem" \
		--pubkey="$T/$_n/none" --seckey="$T/$_n/none" \
		--server-pins="$T/$_n/server-pins" --servers-seen="$T/$_n/seen" \
		--escrow-dir="$T/$_n/escrow" "$@"
}

# connect N...: --connect options for servers N... on [::1].
connect() {
	for _i in "$@"; do
		printf -- '--connect=[::1]:%s ' "$(srv_port "$_i")"
	done
}
