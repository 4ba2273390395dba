# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for the server tests (source after lib.sh): upstream-made keys and clients.conf
# sections, starting our server on loopback, and unlocking with upstream's mandos-client.
MANDOS="$BUILD/server/mandos"
MANDOS_CLIENT="$UPSTREAM_PLUGIN_DIR/mandos-client"
require_cmd mandos-keygen "$MANDOS_CLIENT"

PORT=$(random_port)
SERVER_PID=""
# $SLOW (lib.sh) scales the waits, never the checks.
mkdir -p "$T/conf" "$T/hooks" "$T/out"
# Checkers run as the server's unprivileged user: let them write here.
chmod 777 "$T/out"
printf '[DEFAULT]\n' > "$T/conf/mandos.conf"

# new_keys NAME [SECRET]: upstream keys in $T/keys-NAME and its clients.conf section in
# $T/keys-NAME/section (a multi-line base64 secret, as mandos-keygen writes it).
new_keys() {
	_d="$T/keys-$1"
	mkdir -p "$_d"
	mandos-keygen --dir "$_d" --force --length 2048 --sublength 2048 >/dev/null 2>&1 ||
		fail "mandos-keygen failed"
	printf '%s\n' "${2:-secret of $1}" > "$_d/pw"
	mandos-keygen --dir "$_d" --passfile "$_d/pw" --no-ssh --name "$1" > "$_d/section" ||
		fail "mandos-keygen --passfile failed"
}

# key_id NAME: the key_id line's value of NAME's section.
key_id() {
	sed -n 's/^key_id = //p' "$T/keys-$1/section"
}

# section NAME [KEY = VALUE...]: print NAME's section with these settings added (replacing
# the section's own line for the same key).
section() {
	_n=$1
	shift
	_skip=""
	for _l in "$@"; do
		_skip="$_skip ${_l%% =*}"
	done
	awk -v skip="$_skip" 'BEGIN { n = split(skip, k, " "); for (i = 1; i <= n; i++) drop[k[i]] = 1 }
		{ split($0, f, " ="); if (!(f[1] in drop)) print }' "$T/keys-$_n/section"
	for _l in "$@"; do
		printf '%s\n' "$_l"
	done
	printf '\n'
}

# start_server [ARGS...]: our server in the foreground with --debug on [::1]:$PORT, logging to
# $T/server.log; returns when it listens.
start_server() {
	$VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-dbus --no-zeroconf \
		--address ::1 --port "$PORT" --debug "$@" >>"$T/server.log" 2>&1 &
	SERVER_PID=$!
	on_exit "kill -9 $SERVER_PID"
	wait_for 30 _port_open "$PORT" || {
		tail -n 20 "$T/server.log" >&2
		fail "the server does not listen on $PORT"
	}
}

# stop_server [SIGNAL]: stop it and wait; fails unless it exits 0 (after TERM).
stop_server() {
	kill "-${1:-TERM}" "$SERVER_PID"
	_rc=0
	wait "$SERVER_PID" || _rc=$?
	if [ "${1:-TERM}" = TERM ]; then
		[ "$_rc" -eq 0 ] || fail "server exited with $_rc"
	fi
	SERVER_PID=""
}

# unlock NAME [SECONDS]: upstream's mandos-client with NAME's keys against our server; its
# stdout in $T/out-NAME.  Returns the client's status (124 when it is still trying).  It tries
# again every $UNLOCK_RETRY seconds (default 1).
unlock() {
	_d="$T/keys-$1"
	timeout $((${2:-15} * SLOW)) "$MANDOS_CLIENT" --connect="${CONNECT_ADDR:-[::1]}:$PORT" --interface=none \
		--network-hook-dir="$T/hooks" --retry="${UNLOCK_RETRY:-1}" \
		--pubkey="$_d/pubkey.txt" --seckey="$_d/seckey.txt" \
		--tls-pubkey="$_d/tls-pubkey.pem" --tls-privkey="$_d/tls-privkey.pem" \
		>"$T/out-$1" 2>"$T/err-$1"
}

# assert_unlocks NAME: the client gets exactly its passfile's bytes.
assert_unlocks() {
	unlock "$1" || {
		tail -n 20 "$T/err-$1" >&2
		tail -n 30 "$T/server.log" >&2
		fail "client $1 did not unlock"
	}
	cmp -s "$T/out-$1" "$T/keys-$1/pw" || fail "client $1 got the wrong secret"
}

# assert_refused NAME [SECONDS]: the client gets nothing within SECONDS (default 4, scaled).
assert_refused() {
	_rc=0
	unlock "$1" "${2:-4}" || _rc=$?
	[ "$_rc" -ne 0 ] || fail "client $1 unlocked but should not have"
	[ ! -s "$T/out-$1" ] || fail "client $1 got data"
}

# log_wait STRING [SECONDS]: wait until the server log contains STRING.
log_wait() {
	wait_for "${2:-10}" grep -qF -- "$1" "$T/server.log" || {
		tail -n 30 "$T/server.log" >&2
		fail "server log lacks '$1'"
	}
}
