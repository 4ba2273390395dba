#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Protocol 2's server side configuration (spec/protocol-2.md §A.1, §A.3.4, §A.9.1): the server
# key (--print-key-id and its exit 1, the INFO key ID line, a WARNING for a key readable by
# others, protocol 2 off without a key while protocol 1 still unlocks), protocols in
# mandos.conf and on the command line, and the clients.conf keys (a bad protocols or
# release_limit skips its section with an ERROR, a protocol-2-only section loads).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
require_cmd python3 strace

# The spec's test key (§A.12.2): server.priv_pem and its key id.
SERVER_KEY_ID=824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6
write_key() {
	printf -- '-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n' \
		MC4CAQAwBQYDK2VwBCIEICAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/ > "$1"
	chmod "${2:-600}" "$1"
}

# --print-key-id: the default path in the configuration directory, then --server-key.
rc=0
$VALGRIND "$MANDOS" --configdir "$T/conf" --print-key-id >"$T/pkid.out" 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "--print-key-id without a key"
assert_contains "$T/err" "$T/conf/server-key.pem"
[ ! -s "$T/pkid.out" ] || fail "--print-key-id printed something without a key"
write_key "$T/conf/server-key.pem"
assert_eq "$($VALGRIND "$MANDOS" --configdir "$T/conf" --print-key-id)" "$SERVER_KEY_ID" \
	"--print-key-id"
write_key "$T/other.pem"
assert_eq "$($VALGRIND "$MANDOS" --configdir "$T/conf" --server-key "$T/other.pem" --print-key-id)" \
	"$SERVER_KEY_ID" "--print-key-id --server-key"
printf 'not a key\n' > "$T/bad.pem"
rc=0
$VALGRIND "$MANDOS" --server-key "$T/bad.pem" --print-key-id >/dev/null 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "--print-key-id with a bad key"
assert_contains "$T/err" "$T/bad.pem"
# mandos.conf's server_key.
printf '[DEFAULT]\nserver_key = %s\n' "$T/other.pem" > "$T/conf/mandos.conf"
rm "$T/conf/server-key.pem"
assert_eq "$($VALGRIND "$MANDOS" --configdir "$T/conf" --print-key-id)" "$SERVER_KEY_ID" \
	"--print-key-id with server_key in mandos.conf"
printf '[DEFAULT]\n' > "$T/conf/mandos.conf"

# probe: "2\r\n" and a ClientHello; prints "p2" for a ServerHello, "closed" when closed.
cat > "$T/probe.py" <<'PY'
import os, socket, sys
s = socket.create_connection(("::1", int(sys.argv[1])))
s.sendall(b"2\r\nmandos v2 client" + os.urandom(32))
s.settimeout(10)
data = b""
try:
    while len(data) < 72:
        chunk = s.recv(72 - len(data))
        if not chunk:
            break
        data += chunk
except OSError:
    pass
print("p2" if len(data) == 72 and data.startswith(b"mandos v2 server") else
      "closed" if data == b"" else "other")
PY

new_keys real
new_keys p2only
{
	printf '[DEFAULT]\nchecker = true\n\n'
	section real
	section p2only "protocols = 2" "release_limit = 3" | grep -v '^secret =\|^    '
	# real's key under other names, with bad values.
	section real "protocols = 1 3" | sed 's/^\[real\]$/[badproto]/'
	section real "release_limit = many" | sed 's/^\[real\]$/[badlimit]/'
} > "$T/conf/clients.conf"

# 1. No key: WARNING, protocol 2 off (the version line 2 is refused), protocol 1 unlocks.
start_server
log_wait "protocol 2 is off"
assert_contains "$T/server.log" "Cannot read the protocol 2 server key $T/conf/server-key.pem"
assert_eq "$(python3 "$T/probe.py" "$PORT")" closed "protocol 2 without a key"
log_wait "Unknown protocol version"
assert_unlocks real
# The bad sections: an ERROR naming section and key, and skipped (fail closed).
assert_contains "$T/server.log" "clients.conf:"
assert_contains "$T/server.log" "client badproto: invalid protocols '1 3'"
assert_contains "$T/server.log" "client badlimit: invalid release_limit 'many'"
assert_contains "$T/server.log" "Creating client 'p2only'"
assert_not_contains "$T/server.log" "Creating client 'badproto'"
assert_not_contains "$T/server.log" "Creating client 'badlimit'"
stop_server

# 2. A key readable by others: WARNING; the INFO key ID; protocol 2 answers; protocol 1 too.
write_key "$T/conf/server-key.pem" 644
: > "$T/server.log"
start_server
log_wait "Protocol 2 server key ID: $SERVER_KEY_ID"
assert_contains "$T/server.log" "readable by group or others (mode 0644)"
assert_eq "$(python3 "$T/probe.py" "$PORT")" p2 "protocol 2 with a key"
assert_unlocks real
stop_server
chmod 600 "$T/conf/server-key.pem"
: > "$T/server.log"
start_server
log_wait "Protocol 2 server key ID: $SERVER_KEY_ID"
assert_not_contains "$T/server.log" "readable by group or others"
stop_server

# 3. --protocols=1 (and protocols = 1 in mandos.conf): no key is read, no protocol 2.
: > "$T/server.log"
start_server --protocols=1
assert_eq "$(python3 "$T/probe.py" "$PORT")" closed "protocol 2 with --protocols=1"
assert_unlocks real
assert_not_contains "$T/server.log" "Protocol 2 server key ID"
stop_server
printf '[DEFAULT]\nprotocols = 1\n' > "$T/conf/mandos.conf"
: > "$T/server.log"
start_server
assert_eq "$(python3 "$T/probe.py" "$PORT")" closed "protocol 2 with protocols = 1"
stop_server
# protocols = 2: protocol 1 is refused, protocol 2 answers.
printf '[DEFAULT]\nprotocols = 2\n' > "$T/conf/mandos.conf"
: > "$T/server.log"
start_server
assert_eq "$(python3 "$T/probe.py" "$PORT")" p2 "protocol 2 with protocols = 2"
assert_refused real
stop_server
# A bad value: an ERROR with FILE:LINE, and the default "1 2" applies.
printf '[DEFAULT]\nprotocols = 1 2 3\n' > "$T/conf/mandos.conf"
: > "$T/server.log"
start_server
assert_contains "$T/server.log" "mandos.conf:2: protocols: invalid value '1 2 3'"
assert_eq "$(python3 "$T/probe.py" "$PORT")" p2 "protocol 2 after a bad protocols"
assert_unlocks real
stop_server
rc=0
$VALGRIND "$MANDOS" --configdir "$T/conf" --check-config 2>"$T/err" || rc=$?
assert_eq "$rc" 78 "--check-config with bad protocols values"
assert_contains "$T/err" "invalid protocols '1 3'"
assert_contains "$T/err" "protocols: invalid value '1 2 3'"
rc=0
$VALGRIND "$MANDOS" --protocols=3 --port 1 2>"$T/err" || rc=$?
assert_eq "$rc" 2 "exit status of --protocols=3"
# 4. A TERM as soon as the port opens: the server exits 0 and saves its state.  strace holds
# listen()'s return for 2 s, so the TERM comes before the event loop exists; the signals must
# already be blocked then (they were not: the server died of the TERM, 143).
printf '[DEFAULT]\n' > "$T/conf/mandos.conf"
: > "$T/server.log"
rm -f "$T/state/clients.pickle"
# Whatever happens, nothing of this run stays: a SIGKILLed strace would let its tracee go on.
on_exit "pkill -9 -f -- '--configdir $T/conf '"
# LeakSanitizer cannot run under ptrace: no leak check for this one run of an ASan build.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	timeout $((30 * SLOW)) strace -f -o /dev/null -e trace=listen -e inject=listen:delay_exit=2000000 \
	"$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-dbus --no-zeroconf \
	--address ::1 --port "$PORT" --debug >>"$T/server.log" 2>&1 &
STRACE_PID=$!
wait_for 30 _port_open "$PORT" || fail "the server under strace does not listen on $PORT"
SERVER_PID=$(pgrep -f -- "^$MANDOS --configdir $T/conf ") ||
	fail "no server process under strace"
kill -TERM "$SERVER_PID"
rc=0
wait "$STRACE_PID" || rc=$? # strace exits as its tracee did
assert_eq "$rc" 0 "the server's exit status after an early TERM"
log_wait "Saved state of"
echo "server key, --print-key-id, protocols and the protocol 2 keys of clients.conf work"
