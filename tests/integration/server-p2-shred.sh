#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Escrow keys on D-Bus and their revocation (decisions.md, spec/protocol-2.md §A.11, §B.2) on a
# private system bus: EscrowKeyIds, EscrowKeyFile and EscrowKeyInline; ShredEscrowKeys() on a
# keyfile client wipes its keys (PropertiesChanged, EscrowKeyIds empty), disables it, overwrites
# the keyfile with zeros (seen through a hard link made before) and deletes it, and its unlock
# fails while the other clients still unlock; keys written inline give EscrowKeysInline naming
# FILE:LINE and nothing changes; no keys: NoEscrowKeys; a keyfile the server may not write:
# ShredFailed, keys wiped and client disabled all the same; a reload that replaces a key sends
# PropertiesChanged with the new kid.  The state file, mandos-ctl --dump-json, D-Bus and the log
# never hold a scalar.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/dbus-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"
require_cmd dbus-monitor dbus-send "$P2_ESCROW_TOOL"

DELIVERY=se.recompile.Mandos.Client.Delivery
printf '[DEFAULT]\nsource_rate = 0\n' > "$T/conf/mandos.conf"
for n in inl kf other root gone; do
	p2_keys "$n"
	p2_escrow "$n" one
done
p2_keys none
KEYS="$T/escrow"
p2_keyfile "$KEYS/kf.key" "# kf" "$(p2_S kf one)"
p2_keyfile "$KEYS/other.key" "$(p2_S other one)"
# Where the server (after its privilege drop) may read nothing new and write nothing: a file of
# root's (read at start, as root).
mkdir -p "$T/rootkeys"
printf '%s\n' "$(p2_S root one)" > "$T/rootkeys/root.key"
chmod 600 "$T/rootkeys/root.key"
{
	printf '[DEFAULT]\nchecker = true\ninterval = PT1H\n\n'
	p2_section inl "escrow_key = $(p2_S inl one)" "escrow_keyfile = $KEYS/other.key"
	p2_section kf "escrow_keyfile = $KEYS/kf.key"
	p2_section other "escrow_keyfile = $KEYS/other.key"
	p2_section root "escrow_keyfile = $T/rootkeys/root.key"
	p2_section gone "escrow_keyfile = $KEYS/gone.key"
	p2_section none
} > "$T/conf/clients.conf"
CONF="$T/conf/clients.conf"
INL_LINE=$(grep -n "^escrow_key = $(p2_S inl one)" "$CONF" | cut -d: -f1)
# The hard link: after the shred its bytes must be zeros (overwritten in place, not only
# unlinked).
ln "$KEYS/kf.key" "$T/kf.link"
SIZE=$(wc -c < "$KEYS/kf.key")

start_bus ours
export DBUS_SYSTEM_BUS_ADDRESS="$BUS"
dbus-monitor --address "$BUS" "type='signal',interface='org.freedesktop.DBus.Properties'" \
	> "$T/monitor" 2>&1 &
on_exit "kill $!"
start_bus_server

prop() {
	busctl --address="$BUS" get-property se.recompile.Mandos "/clients/$1" "$DELIVERY" "$2"
}
# shred NAME: ShredEscrowKeys() on NAME; the reply (or "Error NAME: message") in
# $T/shred-NAME; its status.
shred() {
	dbus-send --bus="$BUS" --print-reply --dest=se.recompile.Mandos "/clients/$1" \
		"$DELIVERY.ShredEscrowKeys" > "$T/shred-$1" 2>&1
}
enabled() {
	busctl --address="$BUS" get-property se.recompile.Mandos "/clients/$1" \
		se.recompile.Mandos.Client Enabled
}

assert_eq "$(prop kf EscrowKeyIds)" "as 1 \"$(p2_kid kf one)\"" "kf EscrowKeyIds"
assert_eq "$(prop kf EscrowKeyFile)" "s \"$KEYS/kf.key\"" "kf EscrowKeyFile"
assert_eq "$(prop kf EscrowKeyInline)" 's ""' "kf EscrowKeyInline"
assert_eq "$(prop inl EscrowKeyIds)" "as 2 \"$(p2_kid inl one)\" \"$(p2_kid other one)\"" \
	"inl EscrowKeyIds (inline first, then the keyfile's)"
assert_eq "$(prop inl EscrowKeyInline)" "s \"$CONF:$INL_LINE\"" "inl EscrowKeyInline"
assert_eq "$(prop none EscrowKeyIds)" "as 0" "none EscrowKeyIds"
for n in inl kf other root; do
	assert_p2_escrow_unlocks "$n" one
done
echo "EscrowKeyIds, EscrowKeyFile, EscrowKeyInline; every client unlocks"

# Inline keys: the error names the file and line, nothing changes (not even the keyfile).
shred inl && fail "ShredEscrowKeys on inline keys succeeded"
assert_contains "$T/shred-inl" \
	"Error se.recompile.Mandos.Error.EscrowKeysInline: the escrow keys of inl are written in $CONF:$INL_LINE: delete that line there (and in every copy and backup), then reload"
assert_eq "$(prop inl EscrowKeyIds)" "as 2 \"$(p2_kid inl one)\" \"$(p2_kid other one)\"" \
	"inl EscrowKeyIds after the refused shred"
assert_eq "$(enabled inl)" "b true" "inl enabled after the refused shred"
[ -s "$KEYS/other.key" ] || fail "the refused shred touched the keyfile"
assert_p2_escrow_unlocks inl one
# No keys at all.
shred none && fail "ShredEscrowKeys without escrow keys succeeded"
assert_contains "$T/shred-none" "Error se.recompile.Mandos.Error.NoEscrowKeys: none has no escrow keys"
echo "inline keys: EscrowKeysInline with FILE:LINE, nothing changes; none: NoEscrowKeys"

# The keyfile client.
shred kf || { cat "$T/shred-kf" >&2; fail "ShredEscrowKeys on kf failed"; }
assert_eq "$(sed -n 's/^ *string //p' "$T/shred-kf")" "\"$KEYS/kf.key\"" "ShredEscrowKeys' answer"
[ ! -e "$KEYS/kf.key" ] || fail "the keyfile is still there"
assert_eq "$(wc -c < "$T/kf.link")" "$SIZE" "size of the hard link after the shred"
[ "$(tr -d '\000' < "$T/kf.link" | wc -c)" -eq 0 ] || fail "the keyfile's bytes were not zeroed"
assert_eq "$(prop kf EscrowKeyIds)" "as 0" "kf EscrowKeyIds after the shred"
assert_eq "$(enabled kf)" "b false" "kf enabled after the shred"
log_wait "WARNING: Shredded the escrow keys of kf ($KEYS/kf.key deleted)"
changed() {
	grep -A30 "path=/clients/kf; interface=org.freedesktop.DBus.Properties; member=PropertiesChanged" \
		"$T/monitor" | grep -A3 'string "EscrowKeyIds"' | tr -d ' \n' | grep -q 'array\[\]'
}
wait_for 10 changed || { tail -n 60 "$T/monitor" >&2; fail "no PropertiesChanged with EscrowKeyIds []"; }
# The kid is unknown now: NO_MATERIAL (§A.5.1 step 2 comes before "enabled"); its sealed
# secret shows the client disabled by the administrator; enabled again, the escrow unlock
# still fails.
assert_p2_result kf "code=5 flags=0 value=0" --flags=0 --escrow="$T/p2-kf/escrow-one.conf"
assert_p2_result kf "code=2 flags=0 value=1"
mandos-ctl --enable kf
assert_p2_result kf "code=5 flags=0 value=0" --flags=0 --escrow="$T/p2-kf/escrow-one.conf"
assert_p2_unlocks kf
# The others are untouched.
assert_p2_escrow_unlocks other one
assert_p2_escrow_unlocks inl one
shred kf && fail "a second ShredEscrowKeys on kf succeeded"
assert_contains "$T/shred-kf" "Error se.recompile.Mandos.Error.NoEscrowKeys: kf has no escrow keys"
echo "ShredEscrowKeys: keys wiped, client disabled, keyfile zeroed and deleted, others unlock"

# A keyfile already gone (deleted before the server read it): the shred succeeds, nothing to
# delete, and the client is disabled all the same.
log_wait "client gone: cannot read escrow_keyfile $KEYS/gone.key"
shred gone || { cat "$T/shred-gone" >&2; fail "ShredEscrowKeys on gone failed"; }
assert_eq "$(enabled gone)" "b false" "gone enabled after the shred"
log_wait "WARNING: Shredded the escrow keys of gone ($KEYS/gone.key was already gone)"
echo "a keyfile already gone: the shred succeeds, the client is disabled"

# A keyfile the server may not write (root's, the server runs as another user): ShredFailed,
# the keys wiped and the client disabled all the same.
if [ "$(id -u)" -eq 0 ] && grep -q "Did setuid/setgid to" "$T/server.log"; then
	shred root && fail "ShredEscrowKeys on root's file succeeded"
	assert_contains "$T/shred-root" "Error se.recompile.Mandos.Error.ShredFailed: cannot overwrite $T/rootkeys/root.key: Permission denied"
	assert_eq "$(prop root EscrowKeyIds)" "as 0" "root EscrowKeyIds after the failed shred"
	assert_eq "$(enabled root)" "b false" "root enabled after the failed shred"
	[ -s "$T/rootkeys/root.key" ] || fail "root's keyfile changed"
	mandos-ctl --enable root
	assert_p2_result root "code=5 flags=0 value=0" --flags=0 \
		--escrow="$T/p2-root/escrow-one.conf"
	echo "a keyfile the server cannot write: ShredFailed, keys wiped, client disabled"
fi

# A reload that replaces other's key by another (as many keys, same file): EscrowKeyIds emits
# PropertiesChanged with the new kid (§A.11), the new binding unlocks, the old one no longer.
p2_escrow other two
p2_keyfile "$KEYS/other.key" "$(p2_S other two)"
reloads=$(grep -c "Reloaded" "$T/server.log" || true)
kill -HUP "$SERVER_PID"
wait_for 20 sh -c "[ \$(grep -c Reloaded '$T/server.log') -gt ${reloads:-0} ]" ||
	fail "no reload"
assert_eq "$(prop other EscrowKeyIds)" "as 1 \"$(p2_kid other two)\"" \
	"other EscrowKeyIds after the reload"
reloaded() {
	grep -A30 "path=/clients/other; interface=org.freedesktop.DBus.Properties; member=PropertiesChanged" \
		"$T/monitor" | grep -A3 'string "EscrowKeyIds"' | grep -qF "\"$(p2_kid other two)\""
}
wait_for 10 reloaded || { tail -n 60 "$T/monitor" >&2; fail "no PropertiesChanged with other's new kid"; }
assert_p2_escrow_unlocks other two
assert_p2_result other "code=5 flags=0 value=0" --flags=0 --escrow="$T/p2-other/escrow-one.conf"
echo "a reload that replaces a key: PropertiesChanged with the new kid, the new key unlocks"

# Nothing of a scalar in D-Bus, mandos-ctl --dump-json, the state file or the log.
busctl --address="$BUS" call se.recompile.Mandos / org.freedesktop.DBus.ObjectManager \
	GetManagedObjects > "$T/objects"
assert_contains "$T/objects" "$(p2_kid inl one)"
mandos-ctl --dump-json > "$T/dump.json"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "the server exited with $?"
assert_no_scalar "$T/objects" "$T/dump.json" "$T/state/clients.state" "$T/server.log" \
	"$T/monitor"
echo "no escrow scalar on D-Bus, in --dump-json, the state file or the log"
