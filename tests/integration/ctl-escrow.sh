#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# mandos-ctl --escrow and --shred against our server on a private bus (issue 13, point 5): the
# listing shows key ids, where the keys are and the release counters; --shred --force deletes
# the escrow_keyfile, disables the client and leaves the other clients' keys alone; a "n"
# answer, no terminal to ask on, keys written inline (FILE:LINE named) or no keys change
# nothing; a "y" answer shreds; a key file the server cannot delete exits 5.  Upstream's
# mandos-ctl and ours still print the same table, -v and -j for these clients.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/dbus-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"
. "$(dirname "$0")/tmux-lib.sh"
CTL=$BUILD/mandos-ctl/mandos-ctl
UPSTREAM_CTL=/usr/sbin/mandos-ctl
require_cmd "$UPSTREAM_CTL" python3
require_root

# Escrow scalars: spec §B.6.1's B.S (its kid is known), and small canonical ones.
BS=KAEVMwNgF4GvBVa6CZfpIu4yQHtfzLvkW+Dxs4wP8AM=
BS_KID=c5abbe4bcbbcd8ec44300b711d4f9dd4
S2=AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
S3=AwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
S4=BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
S5=BQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
CLIENTS="filed other inline stuck plain"
for n in $CLIENTS; do
	p2_keys "$n"
done
# Key files belong to the server's run-time user, in a directory it may write (decisions.md);
# stuck's directory is root's, so the server can overwrite that file but not delete it.
SRV_USER=_mandos
id "$SRV_USER" >/dev/null 2>&1 || skip "needs the user $SRV_USER"
mkdir -p "$T/escrow" "$T/ro"
printf '# spec B.6.1 B.S\n%s\n' "$BS" > "$T/escrow/filed"
printf '%s\n%s\n' "$S2" "$S3" > "$T/escrow/other"
printf '%s\n' "$S5" > "$T/ro/stuck"
chown "$SRV_USER:" "$T/escrow" "$T/escrow/filed" "$T/escrow/other" "$T/ro/stuck"
chmod 700 "$T/escrow"
chmod 755 "$T/ro"
chmod 600 "$T/escrow/filed" "$T/escrow/other" "$T/ro/stuck"
{
	printf '[DEFAULT]\nchecker = true\ninterval = PT1H\n\n'
	p2_section filed "escrow_keyfile = $T/escrow/filed"
	p2_section other "escrow_keyfile = $T/escrow/other" "release_limit = 3"
	p2_section inline "escrow_key = $S4"
	p2_section stuck "escrow_keyfile = $T/ro/stuck"
	p2_section plain
} > "$T/conf/clients.conf"
chmod 644 "$T/conf/clients.conf"
INLINE_LINE=$(grep -n "^escrow_key = $S4" "$T/conf/clients.conf" | cut -d: -f1)

start_bus ours
export DBUS_SYSTEM_BUS_ADDRESS="$BUS"
start_bus_server

# ctl NAME ARGS...: our mandos-ctl with stdin from /dev/null; $T/NAME.out, $T/NAME.err, $rc.
ctl() {
	_c=$1
	shift
	rc=0
	$VALGRIND "$CTL" "$@" > "$T/$_c.out" 2> "$T/$_c.err" < /dev/null || rc=$?
}

# field NAME KEY: a value of --escrow --dump-json (a list joined by spaces).
field() {
	ctl escrow-json --escrow --dump-json
	assert_eq "$rc" 0 "mandos-ctl --escrow --dump-json: $(cat "$T/escrow-json.err")"
	python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]][sys.argv[3]]
print(" ".join(v) if isinstance(v, list) else json.dumps(v))' "$T/escrow-json.out" "$1" "$2"
}

# is_enabled STATUS WHAT NAME...: mandos-ctl -V exits with STATUS (0 enabled, 1 disabled).
is_enabled() {
	_want=$1 _why=$2
	shift 2
	for _n in "$@"; do
		ctl is-enabled -V "$_n"
		assert_eq "$rc" "$_want" "mandos-ctl -V $_n $_why"
	done
}

# snapshot FILE: what --shred may change: the delivery properties, Enabled, the key files.
snapshot() {
	ctl snap --escrow --dump-json
	cp "$T/snap.out" "$1"
	for _n in $CLIENTS; do
		ctl snap-v -V "$_n"
		echo "$_n enabled: $rc"
	done >> "$1"
	(cd "$T" && sha256sum escrow/* ro/*) >> "$1"
}

# unchanged WHAT: the state is still the one in $T/before.
unchanged() {
	snapshot "$T/after"
	cmp -s "$T/before" "$T/after" || {
		diff -u "$T/before" "$T/after" >&2 || true
		fail "$1 changed something"
	}
}

# tty_shred NAME ANSWER PLAN: mandos-ctl --shred NAME on a terminal (stdout in $T/tty-NAME.out)
# shows the line PLAN (wrapped lines joined) and the question, gets ANSWER; its status in $rc.
tty_shred() {
	tm_run "DBUS_SYSTEM_BUS_ADDRESS=$BUS $VALGRIND $CTL --shred $1 > $T/tty-$1.out"
	tm_wait_text "Shred the escrow keys of $1? This cannot be undone. [y/N]"
	$TM capture-pane -p -J -t "$tm" | grep -qxF "$3" ||
		fail "--shred $1 does not say what it will shred: $(tm_screen)"
	$TM send-keys -t "$tm" "$2" Enter
	tm_wait_rc
}

# --- The listing ---
ctl list --escrow
assert_eq "$rc" 0 "mandos-ctl --escrow: $(cat "$T/list.err")"
head -n 1 "$T/list.out" | grep -q '^Name  *Protocols Sealed Secret Escrow Key IDs  *Escrow Keys In  *Release Limit Releases Left$' ||
	fail "--escrow header: $(head -n 1 "$T/list.out")"
grep -q "^filed  *2  *Yes  *$BS_KID  *$T/escrow/filed  *unlimited  *unlimited *\$" "$T/list.out" ||
	fail "--escrow row of filed: $(cat "$T/list.out")"
grep -q "^plain  *2  *Yes  *-  *-  *unlimited  *unlimited *\$" "$T/list.out" ||
	fail "--escrow row of plain: $(cat "$T/list.out")"
grep -q "^inline .* $T/conf/clients.conf:$INLINE_LINE " "$T/list.out" ||
	fail "--escrow row of inline: $(cat "$T/list.out")"
grep -q "^other .* 3  *3 *\$" "$T/list.out" || fail "--escrow row of other: $(cat "$T/list.out")"
assert_eq "$(field filed EscrowKeyIds)" "$BS_KID" "filed's kids"
OTHER_KIDS=$(field other EscrowKeyIds)
echo "$OTHER_KIDS" | grep -Eqx '[0-9a-f]{32} [0-9a-f]{32}' || fail "other's kids: $OTHER_KIDS"
INLINE_KIDS=$(field inline EscrowKeyIds)
echo "$INLINE_KIDS" | grep -Eqx '[0-9a-f]{32}' || fail "inline's kids: $INLINE_KIDS"
assert_eq "$(field inline EscrowKeyInline)" "\"$T/conf/clients.conf:$INLINE_LINE\"" "inline's place"
assert_eq "$(field inline EscrowKeyFile)" '""' "inline's file"
assert_eq "$(field other EscrowKeyFile)" "\"$T/escrow/other\"" "other's file"
assert_eq "$(field other ReleaseLimit) $(field other ReleasesLeft)" "3 3" "other's counters"
assert_eq "$(field plain ReleaseLimit) $(field plain ReleasesLeft)" "0 -1" "plain's counters"
assert_eq "$(field plain EscrowKeyIds)" "" "plain's kids"
ctl list-one --escrow other
assert_eq "$(sed 1d "$T/list-one.out" | cut -d' ' -f1)" other "--escrow other"
# The scalars themselves are nowhere in what mandos-ctl shows.
ctl v -v
ctl j -j
for s in "$BS" "$S2" "$S3" "$S4" "$S5"; do
	! grep -qF "$s" "$T/list.out" "$T/escrow-json.out" "$T/v.out" "$T/j.out" ||
		fail "an escrow scalar in mandos-ctl's output"
done
echo "--escrow: kids, where they are, release counters"

# Upstream's listings stay upstream's: both programs print the same for these clients.
_same_listing() {
	"$UPSTREAM_CTL" "$@" 2>&1 | mask_times > "$T/same-up" || true
	$VALGRIND "$CTL" "$@" 2>&1 | mask_times > "$T/same-ours" || true
	cmp -s "$T/same-up" "$T/same-ours"
}
for args in "" -v -j "-v filed plain" "-j inline"; do
	# shellcheck disable=SC2086
	wait_for 10 _same_listing $args || {
		diff -u "$T/same-up" "$T/same-ours" >&2 || true
		fail "mandos-ctl $args differs from upstream's"
	}
done
echo "default table, -v and -j: as upstream's"

snapshot "$T/before"

# --- Refusals: nothing changes ---
# No terminal on stdin and no --force.
ctl notty --shred filed
assert_eq "$rc" 3 "--shred without a terminal: $(cat "$T/notty.err")"
assert_contains "$T/notty.err" "$T/escrow/filed"
assert_contains "$T/notty.err" "standard input is not a terminal"
assert_contains "$T/notty.err" "--force"
unchanged "--shred without a terminal"

# The answer "n" on a terminal.
tty_shred filed n "filed: 1 escrow key ($BS_KID) in $T/escrow/filed"
assert_eq "$rc" 3 "--shred answered n"
tm_wait_text "Nothing shredded."
[ ! -s "$T/tty-filed.out" ] || fail "--shred answered n printed $(cat "$T/tty-filed.out")"
unchanged "--shred answered n"

# Keys written inline: the file and line to delete, no question, even with --force and a
# client with a key file beside it.
for args in "--shred inline" "--shred --force inline" "--shred --force filed inline"; do
	# shellcheck disable=SC2086
	ctl inline $args
	assert_eq "$rc" 4 "mandos-ctl $args"
	assert_contains "$T/inline.err" "the escrow keys of inline are written in $T/conf/clients.conf:$INLINE_LINE: delete that line there"
	assert_not_contains "$T/inline.err" "[y/N]"
	[ ! -s "$T/inline.out" ] || fail "mandos-ctl $args printed $(cat "$T/inline.out")"
done
unchanged "--shred on inline keys"

ctl nokeys --shred --force plain
assert_eq "$rc" 4 "--shred on a client without escrow keys"
assert_contains "$T/nokeys.err" "plain has no escrow keys"
ctl nosuch --shred --force nosuch
assert_eq "$rc" 1 "--shred on an unknown client"
assert_contains "$T/nosuch.err" "Client not found on server: 'nosuch'"
ctl usage --shred --force --all
assert_eq "$rc" 2 "--shred --all"
unchanged "the refused --shred"
echo "--shred refuses without a terminal, on n, for inline keys and for no keys"

# --- Shredding ---
ctl forced --debug --shred --force filed
assert_eq "$rc" 0 "--shred --force filed: $(cat "$T/forced.err")"
assert_eq "$(cat "$T/forced.out")" \
	"Shredded the escrow keys of filed ($T/escrow/filed deleted); filed is disabled" \
	"--shred --force filed"
assert_contains "$T/forced.err" \
	"D-Bus: se.recompile.Mandos:/clients/filed:se.recompile.Mandos.Client.Delivery.ShredEscrowKeys()"
[ ! -e "$T/escrow/filed" ] || fail "filed's key file is still there"
is_enabled 1 "after --shred" filed
assert_eq "$(field filed EscrowKeyIds)" "" "filed's kids after --shred"
log_wait "Shredded the escrow keys of filed ($T/escrow/filed deleted)"
# The others are untouched.
assert_eq "$(field other EscrowKeyIds)" "$OTHER_KIDS" "other's kids after filed's --shred"
assert_eq "$(field inline EscrowKeyIds)" "$INLINE_KIDS" "inline's kids after filed's --shred"
assert_eq "$(field stuck EscrowKeyIds | wc -w)" 1 "stuck's kids after filed's --shred"
for f in "$T/escrow/other" "$T/ro/stuck"; do
	[ -e "$f" ] || fail "another client's key file is gone: $f"
done
is_enabled 0 "after filed's --shred" other inline stuck plain
ctl again --shred --force filed
assert_eq "$rc" 4 "--shred filed a second time"
assert_contains "$T/again.err" "filed has no escrow keys"
echo "--shred --force: key file deleted, client disabled, the others untouched"

# The answer "y" on a terminal.
tty_shred other y "other: 2 escrow keys ($OTHER_KIDS) in $T/escrow/other"
assert_eq "$rc" 0 "--shred answered y: $(tm_screen)"
assert_eq "$(cat "$T/tty-other.out")" \
	"Shredded the escrow keys of other ($T/escrow/other deleted); other is disabled" \
	"--shred answered y"
[ ! -e "$T/escrow/other" ] || fail "other's key file is still there"
echo "--shred answered y: shredded"

# A key file the server cannot delete: wiped from memory and disabled, but exit 5.
ctl stuck --shred --force stuck
assert_eq "$rc" 5 "--shred on an undeletable file: $(cat "$T/stuck.err")"
assert_contains "$T/stuck.err" "stuck: cannot delete $T/ro/stuck: Permission denied"
assert_contains "$T/stuck.err" "delete $T/ro/stuck by hand"
assert_eq "$(field stuck EscrowKeyIds)" "" "stuck's kids after the failed --shred"
is_enabled 1 "after the failed --shred" stuck
# Inline keys and the client without keys never changed.
assert_eq "$(field inline EscrowKeyIds)" "$INLINE_KIDS" "inline's kids at the end"
is_enabled 0 "at the end" inline plain
# The file is still named: --shred tries it again, and deletes it once it can.
ctl stuck2 --shred --force stuck
assert_eq "$rc" 5 "--shred on the undeletable file again"
chown "$SRV_USER:" "$T/ro"
tty_shred stuck y "stuck: no escrow keys in memory, but $T/ro/stuck is still to be deleted"
assert_eq "$rc" 0 "--shred on the file once deletable: $(tm_screen)"
[ ! -e "$T/ro/stuck" ] || fail "stuck's key file is still there"
echo "--shred on an undeletable file: exit 5, keys wiped, client disabled"

# --- Upstream's server: no protocol 2 ---
start_bus upstream
BUS_UP=$BUS
printf '[foo]\nkey_id = %s\nfingerprint = %s\nsecret = c2VjcmV0\n' \
	"$(printf 'a%.0s' $(seq 64))" "$(printf 'F%.0s' $(seq 40))" > "$T/up-clients.conf"
mkdir -p "$T/up-conf" "$T/up-state"
cp "$T/up-clients.conf" "$T/up-conf/clients.conf"
chmod 755 "$T/up-conf" "$T/up-state"
chmod 644 "$T/up-conf/clients.conf"
DBUS_SYSTEM_BUS_ADDRESS=$BUS_UP setsid /usr/sbin/mandos --configdir "$T/up-conf" \
	--statedir "$T/up-state" --no-zeroconf --address ::1 --port "$(random_port)" \
	--foreground --debug > "$T/upstream.log" 2>&1 &
on_exit "kill -9 -$!"
wait_for 30 bus_name_owned "$BUS_UP" se.recompile.Mandos || fail "upstream's server is not on the bus"
for args in --escrow "--shred --force foo"; do
	rc=0
	# shellcheck disable=SC2086
	DBUS_SYSTEM_BUS_ADDRESS=$BUS_UP $VALGRIND "$CTL" $args > "$T/up.out" 2> "$T/up.err" ||
		rc=$?
	assert_eq "$rc" 1 "mandos-ctl $args on upstream's server"
	assert_contains "$T/up.err" "client foo has no se.recompile.Mandos.Client.Delivery interface"
done
echo "upstream's server: --escrow and --shred say there is no protocol 2"

kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "the server exited with $?"
