#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Regenerate the real upstream state files of tests/fuzz/corpus/pickle/ (the pickle reader's
# unit tests and fuzz corpus): upstream's server (Debian's mandos package) on a private bus,
# clients changed with upstream's mandos-ctl, then SIGTERM, which makes it write
# clients.pickle.  Run as root (upstream's server drops to _mandos and must write its state).
#   tests/tools/make-upstream-pickles.sh tests/fuzz/corpus/pickle
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
. "$(dirname "$0")/../integration/lib.sh"
. "$SRC/tests/integration/ctl-lib.sh"
[ "$(id -u)" -eq 0 ] || fail "run as root"
UPY=/usr/bin/python3

# keys NAME...: upstream client keys and a clients.conf section for each, in $T/keys-NAME.
keys() {
	for _k in "$@"; do
		mkdir -p "$T/keys-$_k"
		mandos-keygen --dir "$T/keys-$_k" --force --length 2048 --sublength 2048 \
			>/dev/null 2>&1 || fail "mandos-keygen failed"
		printf 'secret of %s\n' "$_k" >"$T/keys-$_k/pw"
		mandos-keygen --dir "$T/keys-$_k" --passfile "$T/keys-$_k/pw" --no-ssh \
			--name "$_k" >"$T/keys-$_k/section" || fail "mandos-keygen --passfile failed"
	done
}

# sect KEYS [NAME [LINES...]]: KEYS's section, renamed to NAME, with more lines.
sect() {
	_k=$1 _n=${2:-$1}
	shift
	[ $# -eq 0 ] || shift
	sed "1s/.*/[$_n]/" "$T/keys-$_k/section"
	for _l in "$@"; do
		printf '%s\n' "$_l"
	done
	printf '\n'
}

# begin NAME [PICKLE]: upstream's server "NAME" on a bus of its own with $T/NAME.conf,
# starting from PICKLE when given.
begin() {
	CUR=$1
	mkdir -p "$T/$1/state"
	chown _mandos "$T/$1/state"
	chmod 755 "$T/$1/state"
	if [ -n "${2:-}" ]; then
		cp "$2" "$T/$1/state/clients.pickle"
		chown _mandos "$T/$1/state/clients.pickle"
	fi
	start_bus "$1"
	start_server "$1" "$T/$1.conf"
}

# ctl ARGS...: upstream's mandos-ctl on the current server; must succeed.
ctl() {
	run_ctl upstream "$CUR" "$T/ctl" "$@"
	[ "$(cat "$T/ctl.rc")" = 0 ] || fail "mandos-ctl $* failed: $(cat "$T/ctl.err")"
}

# json_true EXPR: EXPR (Python, over `d`, the --dump-json output) is true.
json_true() {
	run_ctl upstream "$CUR" "$T/json" --dump-json
	$UPY -c "import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if ($1) else 1)" "$T/json.out"
}

# finish FILE: SIGTERM; the pickle it writes becomes $OUT/FILE.
finish() {
	stop_server "$CUR"
	wait_for 20 test -s "$T/$CUR/state/clients.pickle" || fail "no clients.pickle for $1"
	cp "$T/$CUR/state/clients.pickle" "$OUT/$1"
	chmod 644 "$OUT/$1"
	$UPY -m pickletools "$OUT/$1" >/dev/null || fail "$1 does not load"
	echo "wrote $OUT/$1"
}

keys a b c

# Freshly started, nothing changed; one client (SETITEM, not SETITEMS).
{ sect a; sect b; } >"$T/fresh.conf"
begin fresh
finish fresh-two-clients.pickle
sect a >"$T/one.conf"
begin one
finish one-client.pickle

# An administrator's changes: one client disabled, another's settings changed.
{ sect a; sect b; sect c; } >"$T/dis.conf"
begin dis
ctl --disable b
finish disabled.pickle
{ sect a; sect b; } >"$T/set.conf"
begin set
ctl --timeout PT7M --interval PT30S --extended-timeout PT1H --approval-delay PT10S \
	--approval-duration PT1M --deny-by-default --host b.example \
	--checker 'fping -q -c 1 -- %(host)s' b
ctl --disable a
finish changed-settings.pickle

# The second generation: upstream restored the file above, then more changes.
cp "$T/set.conf" "$T/set2.conf"
begin set2 "$OUT/changed-settings.pickle"
ctl --timeout PT9M b
finish restored.pickle

# Checkers that ran: success, failure (3), a crash (-1).
{
	sect a a 'checker = true' 'interval = PT1S'
	sect b b 'checker = exit 3' 'interval = PT1S'
	sect c c "checker = kill -9 \$\$" 'interval = PT1S'
} >"$T/chk.conf"
begin chk
wait_for 30 json_true 'd["a"]["LastCheckedOK"] and d["b"]["LastCheckerStatus"] == 3 and
	d["c"]["LastCheckerStatus"] == -1' || fail "the checkers did not run"
finish checkers.pickle

# Approvals: a decision in force (dbus.Boolean), and a request that waited for approval.
{
	sect a a 'approval_duration = PT1H'
	sect b b 'approval_duration = PT1H'
	sect c c 'approval_delay = PT1S'
} >"$T/apr.conf"
begin apr
ctl --approve a
ctl --deny b
eval "_port=\$PORT_$CUR"
timeout 30 "$UPSTREAM_PLUGIN_DIR/mandos-client" --connect="[::1]:$_port" --interface=none \
	--network-hook-dir=/nonexistent --pubkey="$T/keys-c/pubkey.txt" \
	--seckey="$T/keys-c/seckey.txt" --tls-pubkey="$T/keys-c/tls-pubkey.pem" \
	--tls-privkey="$T/keys-c/tls-privkey.pem" >"$T/apr.secret" 2>"$T/apr.err" ||
	fail "mandos-client did not unlock: $(tail -n 5 "$T/apr.err")"
cmp -s "$T/apr.secret" "$T/keys-c/pw" || fail "mandos-client got the wrong secret"
finish approvals.pickle

# Removed at run time (upstream keeps the removed client's settings, secret and all).
{ sect a; sect b; } >"$T/rm.conf"
begin rm
ctl --remove b
finish removed.pickle
sect a >"$T/rm1.conf"
begin rm1
ctl --remove a
finish no-clients.pickle

# Names that D-Bus object paths cannot carry: upstream's server runs without D-Bus then.
{
	sect a 'web-01.example.org'
	sect b 'café'
	sect c '名前 two words'
} >"$T/odd.conf"
mkdir -p "$T/odd/conf" "$T/odd/state"
chown _mandos "$T/odd/state"
chmod 755 "$T/odd" "$T/odd/conf" "$T/odd/state"
printf '[DEFAULT]\nuse_dbus = False\nzeroconf = False\n' >"$T/odd/conf/mandos.conf"
cp "$T/odd.conf" "$T/odd/conf/clients.conf"
chmod 644 "$T/odd/conf/"*
start_bus odd
_port=$(random_port)
DBUS_SYSTEM_BUS_ADDRESS=$BUS_odd setsid /usr/sbin/mandos --configdir "$T/odd/conf" \
	--statedir "$T/odd/state" --no-zeroconf --port "$_port" --foreground --debug \
	>"$T/odd/server.log" 2>&1 &
echo $! >"$T/odd/server.pid"
on_exit "stop_server odd"
wait_for 30 _port_open "$_port" || fail "upstream's server without D-Bus does not listen"
CUR=odd
finish odd-names.pickle
