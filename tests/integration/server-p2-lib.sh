# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for the protocol 2 server tests (source after lib.sh and server-lib.sh): the spec's
# server key, protocol 2 client keys and sections, and unlocks with tests/tools/p2-probe.
P2_PROBE="$BUILD/tests/tools/p2-probe"
P2_SEAL="$BUILD/tests/tools/p2-seal"
require_cmd openssl "$P2_PROBE" "$P2_SEAL"

# The spec's server key (§A.12.2) and its key id.
P2_SERVER_KEY_ID=824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6
printf -- '-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n' \
	MC4CAQAwBQYDK2VwBCIEICAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/ > "$T/conf/server-key.pem"
chmod 600 "$T/conf/server-key.pem"

# p2_keys NAME [SECRET]: in $T/p2-NAME an Ed25519 identity (tls-privkey.pem, as OpenSSL writes
# it: the DER of §A.9.4), an X25519 seal key, the secret (pw), its sealed box in base64 (sealed)
# and the key id (key_id).
p2_keys() {
	_d="$T/p2-$1"
	mkdir -p "$_d"
	openssl genpkey -algorithm ed25519 -out "$_d/tls-privkey.pem" 2>/dev/null ||
		fail "openssl genpkey ed25519 failed"
	openssl genpkey -algorithm x25519 -out "$_d/seal-privkey.pem" 2>/dev/null ||
		fail "openssl genpkey x25519 failed"
	printf '%s\n' "${2:-protocol 2 secret of $1}" > "$_d/pw"
	p2_seal "$_d"
	openssl pkey -in "$_d/tls-privkey.pem" -pubout -outform der | sha256sum |
		cut -d' ' -f1 | tr a-f A-F > "$_d/key_id"
}

# p2_seal DIR: DIR/pw sealed to DIR/seal-privkey.pem's public key, in base64 in DIR/sealed.
p2_seal() {
	openssl pkey -in "$1/seal-privkey.pem" -pubout -out "$1/seal-pubkey.pem" 2>/dev/null ||
		fail "openssl pkey -pubout failed"
	"$P2_SEAL" "$1/seal-pubkey.pem" < "$1/pw" > "$1/sealed" || fail "cannot seal $1/pw"
}

# p2_key_id NAME
p2_key_id() {
	cat "$T/p2-$1/key_id"
}

# p2_section NAME [KEY = VALUE...]: a clients.conf section for NAME's keys: its key_id, its
# sealed_secret and protocols = 2, then the lines given (a protocols line replaces ours).
p2_section() {
	_n=$1
	shift
	printf '[%s]\nhost = localhost\nkey_id = %s\nsealed_secret = %s\n' "$_n" \
		"$(p2_key_id "$_n")" "$(cat "$T/p2-$_n/sealed")"
	case " $* " in
	*" protocols ="*) ;;
	*) printf 'protocols = 2\n' ;;
	esac
	for _l in "$@"; do
		printf '%s\n' "$_l"
	done
	printf '\n'
}

# p2_unlock NAME [PROBE ARGS...]: p2-probe with NAME's keys; the secret in $T/p2out-NAME, the
# STATUS and RESULT lines in $T/p2err-NAME.  Returns the probe's status.
p2_unlock() {
	_n=$1
	shift
	"$P2_PROBE" --connect="${CONNECT_ADDR:-[::1]}:$PORT" --tls-privkey="$T/p2-$_n/tls-privkey.pem" \
		--seal-key="$T/p2-$_n/seal-privkey.pem" --timeout=$((20 * SLOW)) "$@" \
		> "$T/p2out-$_n" 2> "$T/p2err-$_n"
}

# assert_p2_unlocks NAME: the RESULT is OK and the sealed item opens to NAME's secret.
assert_p2_unlocks() {
	p2_unlock "$1" || {
		cat "$T/p2err-$1" >&2
		tail -n 30 "$T/server.log" >&2
		fail "protocol 2 client $1 did not unlock"
	}
	assert_contains "$T/p2err-$1" "RESULT code=0 flags=0 value=0"
	cmp -s "$T/p2out-$1" "$T/p2-$1/pw" || fail "protocol 2 client $1 got the wrong secret"
}

# assert_p2_result NAME 'code=C flags=F value=V' [PROBE ARGS...]: the probe gets that RESULT
# and no secret.
assert_p2_result() {
	_n=$1 _want=$2
	shift 2
	p2_unlock "$_n" "$@" || {
		cat "$T/p2err-$_n" >&2
		tail -n 30 "$T/server.log" >&2
		fail "protocol 2 client $_n got no RESULT"
	}
	assert_contains "$T/p2err-$_n" "RESULT $_want"
	[ ! -s "$T/p2out-$_n" ] || fail "protocol 2 client $_n got a secret"
}

# ---- Part B: escrow keys (spec/protocol-2.md §B.1, §B.2) ----
P2_ESCROW_TOOL="$BUILD/tests/tools/p2-escrow-enrol"

# p2_escrow NAME TAG: a server escrow key for NAME's client key and the binding of NAME's
# secret to it: the binding in $T/p2-NAME/escrow-TAG.conf, the scalar S (base64) in
# $T/p2-NAME/S-TAG, its kid in $T/p2-NAME/kid-TAG.
p2_escrow() {
	_d="$T/p2-$1"
	[ -e "$_d/tls-pubkey.pem" ] ||
		openssl pkey -in "$_d/tls-privkey.pem" -pubout -out "$_d/tls-pubkey.pem" 2>/dev/null ||
		fail "openssl pkey -pubout failed"
	"$P2_ESCROW_TOOL" "$_d/tls-pubkey.pem" "$_d/escrow-$2.conf" 0 1 < "$_d/pw" \
		> "$_d/S-$2" || fail "cannot bind $1's secret"
	sed -n 's/^kid = //p' "$_d/escrow-$2.conf" > "$_d/kid-$2"
	[ -s "$_d/kid-$2" ] || fail "no kid in $_d/escrow-$2.conf"
}

# p2_S NAME TAG / p2_kid NAME TAG
p2_S() {
	cat "$T/p2-$1/S-$2"
}
p2_kid() {
	cat "$T/p2-$1/kid-$2"
}

# run_user: "USER:GROUP" the server drops to (server/process.c's order), for keyfiles.
run_user() {
	for _p in _mandos:_mandos mandos:mandos nobody:nogroup; do
		if getent passwd "${_p%%:*}" >/dev/null && getent group "${_p#*:}" >/dev/null; then
			echo "$_p"
			return
		fi
	done
	echo 65534:65534
}

# p2_keyfile FILE LINE...: an escrow_keyfile with these lines, mode 0600, in a directory
# (0700) that the server's run-time user owns, as the keyfile ownership rule wants.
p2_keyfile() {
	_f=$1
	shift
	mkdir -p "$(dirname "$_f")"
	printf '%s\n' "$@" > "$_f"
	chmod 600 "$_f"
	chmod 700 "$(dirname "$_f")"
	[ "$(id -u)" -ne 0 ] || chown -R "$(run_user)" "$(dirname "$_f")"
}

# p2_escrow_unlock NAME TAG [PROBE ARGS...]: an escrow-only request (no WANT_SEALED) with
# binding TAG of NAME; as p2_unlock.
p2_escrow_unlock() {
	_n=$1 _t=$2
	shift 2
	p2_unlock "$_n" --flags=0 --escrow="$T/p2-$_n/escrow-$_t.conf" "$@"
}

# assert_p2_escrow_unlocks NAME TAG: RESULT OK, the ESCROW item opens to NAME's secret.
assert_p2_escrow_unlocks() {
	p2_escrow_unlock "$1" "$2" || {
		cat "$T/p2err-$1" >&2
		tail -n 30 "$T/server.log" >&2
		fail "escrow unlock of $1 with $2 failed"
	}
	assert_contains "$T/p2err-$1" "RESULT code=0 flags=0 value=0"
	assert_contains "$T/p2err-$1" "ESCROW kid=$(p2_kid "$1" "$2") opened"
	cmp -s "$T/p2out-$1" "$T/p2-$1/pw" || fail "escrow unlock of $1 gave the wrong secret"
}

# assert_no_scalar FILE...: none of the files holds any escrow scalar made so far, in base64
# or in hex (S-* files of every client).
assert_no_scalar() {
	for _s in "$T"/p2-*/S-*; do
		[ -e "$_s" ] || continue
		_b=$(cat "$_s")
		_h=$(printf '%s' "$_b" | base64 -d | od -An -tx1 | tr -d ' \n')
		for _f in "$@"; do
			! grep -qF -- "$_b" "$_f" || fail "$_f holds the escrow scalar of $_s (base64)"
			! tr -d ' \n' < "$_f" | grep -qi -- "$_h" ||
				fail "$_f holds the escrow scalar of $_s (hex)"
		done
	done
}
