#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Our mandos-client against Debian's upstream mandos server: exact secret, rejections retried.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client-lib.sh"
require_cmd "$UPSTREAM_SERVER" mandos-keygen dbus-daemon gpg

make_keys "$T/k"
make_keys "$T/u"
make_keys "$T/d"
make_keys "$T/w"
make_keys "$T/a"
make_keys "$T/n"
# Leading space, NUL, no trailing newline: printed byte for byte.
printf ' s3cr\000et\n\n x' >"$T/pw"
start_bus
write_server_conf "$T/c"
add_client "$T/c" "$T/k" good "$T/pw"
add_client "$T/c" "$T/d" disabled "$T/pw" "enabled = False"
# The server holds this client's connection open for a minute, waiting for an approval.
add_client "$T/c" "$T/a" approval "$T/pw" "approval_delay = PT1M
approved_by_default = False"
# w's TLS key with a secret encrypted to k's OpenPGP key: w can't decrypt it.
mkdir "$T/mix"
cp "$T/k/pubkey.txt" "$T/k/seckey.txt" "$T/w/tls-pubkey.pem" "$T/w/tls-privkey.pem" "$T/mix/"
add_client "$T/c" "$T/mix" wrongkey "$T/pw"
# A secret encrypted to n's key but not signed by it (anyone can make one of those).
mkdir -m 700 "$T/ring"
gpg -q --batch --homedir "$T/ring" --import "$T/n/pubkey.txt" 2>/dev/null
{
	printf '[unsigned]\nhost = unsigned\nfingerprint = 0\nkey_id = %s\nsecret =\n' \
		"$(certtool --key-id --hash=sha256 --infile="$T/n/tls-pubkey.pem")"
	gpg -q --batch --homedir "$T/ring" --trust-model always --encrypt \
		--recipient "$(gpg --homedir "$T/ring" --with-colons -k | awk -F: '/^fpr/{print $10; exit}')" \
		<"$T/pw" | base64 -w 64 | sed 's/^/    /'
} >>"$T/c/clients.conf"
gpgconf --homedir "$T/ring" --kill gpg-agent 2>/dev/null || true
port=$(random_port)
start_upstream_server "$T/c" "$port"
export TMPDIR="$T"
common="--interface=none --network-hook-dir=$T/nohooks"

# 1. The exact secret, exit 0, nothing else on stdout, and the GnuPG home removed.
$VALGRIND "$MC" --connect="[::1]:$port" $common $(client_keys "$T/k") >"$T/out" 2>"$T/err" ||
	fail "mandos-client failed: $(cat "$T/err")"
cmp "$T/out" "$T/pw" || fail "output differs from the secret"
[ -z "$(ls -d "$T"/mandos?????? 2>/dev/null)" ] || fail "GnuPG home left behind"
assert_contains "$T/server.log" "Sending secret to good"

# Never exit 0 without a password (upstream did when it could not make its GnuPG home).
rc=0
# (Not under valgrind: valgrind keeps its own temporary files in $TMPDIR and fails first.)
TMPDIR="$T/nonexistent" "$MC" --connect="[::1]:$port" $common $(client_keys "$T/k") \
	>"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 71 "no place for the GnuPG home"
[ ! -s "$T/out" ] || fail "printed something without a GnuPG home"
# Key files that are not there: 69, as upstream.
rc=0
$VALGRIND "$MC" --connect="[::1]:$port" $common $(client_keys "$T/k") --seckey="$T/nonexistent" \
	>"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 69 "missing secret key file"
rc=0
$VALGRIND "$MC" --connect="[::1]:$port" $common $(client_keys "$T/k") \
	--tls-pubkey="$T/k/tls-privkey.pem" --tls-privkey="$T/k/tls-pubkey.pem" >"$T/out" 2>"$T/err" ||
	rc=$?
assert_eq "$rc" 69 "swapped TLS key files"
assert_contains "$T/err" "while reading the key pair"
rc=0
$VALGRIND "$MC" --connect="foo" $common >"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 64 "--connect without a colon"

# 2. Other address forms for the same server.
$VALGRIND "$MC" --connect="::1:$port" $common $(client_keys "$T/k") >"$T/out" 2>"$T/err" ||
	fail "::1:PORT failed: $(cat "$T/err")"
cmp "$T/out" "$T/pw" || fail "output differs (::1:PORT)"

# 3. Rejections: nothing printed, retried every --retry seconds until killed.
# attempts_at STRING: the times (seconds since midnight, to the millisecond) of the server's
# log lines containing STRING.
attempts_at() {
	grep -F "$1" "$T/server.log" | awk '{ split($2, t, /[:,]/)
		printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] + t[4] / 1000 }'
}
# run_mc_until N STRING FILE NAME ARGS...: our client with ARGS, until FILE has N more lines with
# STRING (lib.sh's run_until); its output in $T/out-NAME and $T/err-NAME (FILE may be the
# latter).
run_mc_until() {
	_want=$1 _str=$2 _file=$3 _name=$4
	shift 4
	run_until "$_want" "$_str" "$_file" "$T/out-$_name" "$T/err-$_name" $VALGRIND "$MC" "$@"
}
# min_interval NAME: the shortest time between two of NAME's attempts, in milliseconds.
min_interval() {
	awk 'NR > 1 { d = ($1 - p) * 1000; if (m == "" || d < m) m = d } { p = $1 }
		END { printf "%d\n", m }' "$T/at-$1"
}
# $1 name, $2 key dir, $3 what the server logs per attempt
rejected() {
	_before=$(grep -cF "$3" "$T/server.log" || true)
	run_mc_until 3 "$3" "$T/server.log" "$1" --connect="[::1]:$port" --retry=1 \
		${rejected_delay:+--delay=3} $common $(client_keys "$2")
	# The times of its attempts.
	attempts_at "$3" | tail -n +$((_before + 1)) >"$T/at-$1"
	[ ! -s "$T/out-$1" ] || fail "$1: printed something"
	# --retry=1: a second at least between two attempts (a slower machine only adds to it).
	[ "$(min_interval "$1")" -ge 950 ] || fail "$1: attempts $(min_interval "$1") ms apart"
	[ -z "$(ls -d "$T"/mandos?????? 2>/dev/null)" ] || fail "$1: GnuPG home left behind"
}
rejected unknown "$T/u" "INFO: Client not found for key ID"
rejected disabled "$T/d" "INFO: Client disabled is disabled"
rejected wrongkey "$T/w" "INFO: Sending secret to wrongkey"
assert_contains "$T/err-wrongkey" "bad gpgme_op_decrypt"

rejected unsigned "$T/n" "INFO: Sending secret to unsigned"
assert_contains "$T/err-unsigned" "not signed by the client's own key"
# ... unless told to accept it, as upstream did.
$VALGRIND "$MC" --connect="[::1]:$port" --allow-unsigned $common $(client_keys "$T/n") \
	>"$T/out" 2>"$T/err" || fail "--allow-unsigned failed: $(cat "$T/err")"
cmp -s "$T/out" "$T/pw" || fail "output differs (--allow-unsigned)"

# 4. --delay does not change --retry (upstream bug): --delay=3 still retries every second.
# Measured against the same client without --delay on this machine: with a 3 s retry, the
# attempts would be 2 s further apart than that.
rejected_delay=1; rejected delay "$T/u" "INFO: Client not found for key ID"
[ "$(min_interval delay)" -lt $(($(min_interval unknown) + 1500)) ] ||
	fail "--delay=3: attempts $(min_interval delay) ms apart, $(min_interval unknown) ms without"

# 5. Timeouts.  A server that accepts and then says nothing: the handshake times out.
sport=$(random_port)
silent_server "$sport"
run_mc_until 2 "Timed out the TLS handshake" "$T/err-silent" silent \
	--connect="[::1]:$sport" --timeout=1 --retry=0.5 --debug $common $(client_keys "$T/k")
# A server that completes the handshake but holds the secret back (approval delay).
run_mc_until 2 "Timed out waiting for the secret" "$T/err-approval" approval \
	--connect="[::1]:$port" --secret-timeout=1 --retry=0.5 --debug $common $(client_keys "$T/a")
[ ! -s "$T/out-approval" ] || fail "printed something while waiting for approval"
echo ok
