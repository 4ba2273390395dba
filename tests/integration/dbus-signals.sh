#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Our server's D-Bus signals (issue 6), seen with dbus-monitor on a private system bus while
# upstream's mandos-client connects: ClientNotFound for an unknown key, CheckerStarted and
# CheckerCompleted, NeedApproval, Rejected "Denied" / "Approval timed out" / "Disabled",
# GotSecret, and PropertiesChanged carrying Secret only as invalidated.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/dbus-lib.sh"
require_cmd dbus-monitor

new_keys c1
new_keys c2
new_keys stranger
{
	printf '[DEFAULT]\ninterval = PT1H\n\n'
	section c1 "checker = exit 3"
	section c2 "checker = true" "approval_delay = PT3S" "approved_by_default = False"
	printf '[odd name.1-a]\nkey_id = %064d\nfingerprint = %040d\nsecret = YQ==\n' 1 1
	printf 'checker = echo %%%%(dbus_object_path)s > %s/out/objpath\n\n' "$T"
	printf '[x.y]\nkey_id = %064d\nfingerprint = %040d\nsecret = YQ==\n\n' 8 8
	printf '[x-y]\nkey_id = %064d\nfingerprint = %040d\nsecret = YQ==\n\n' 9 9
} > "$T/conf/clients.conf"
mkdir -p "$T/state"
chmod 777 "$T/state"

start_bus ours
export DBUS_SYSTEM_BUS_ADDRESS="$BUS"
dbus-monitor --address "$BUS" "type='signal',interface='se.recompile.Mandos'" \
	"type='signal',interface='se.recompile.Mandos.Client'" \
	"type='signal',interface='se.bsnet.fukt.Mandos.Client'" \
	"type='signal',interface='org.freedesktop.DBus.Properties'" \
	"type='signal',interface='org.freedesktop.DBus.ObjectManager'" > "$T/monitor" 2>&1 &
on_exit "kill $!"
$VALGRIND "$MANDOS" --configdir "$T/conf" --statedir "$T/state" --no-zeroconf --address ::1 \
	--port "$PORT" --foreground --debug > "$T/server.log" 2>&1 &
SERVER_PID=$!
on_exit "kill -9 $SERVER_PID"
wait_for 30 bus_name_owned "$BUS" se.recompile.Mandos || fail "not on the bus"


# An unknown key.
unlock stranger 3 || true
expect ClientNotFound "string \"$(key_id stranger | tr a-f A-F)\""
echo "ClientNotFound with the key ID"

# A checker run on demand.
mandos-ctl --start-checker c1
expect CheckerStarted 'string "exit 3"'
expect CheckerCompleted 'int64 768'
grep -A1 'member=CheckerCompleted$' "$T/monitor" | grep -q 'int16 3' || fail "exit code not 3"
grep -q 'interface=se.bsnet.fukt.Mandos.Client; member=CheckerStarted$' "$T/monitor" ||
	fail "no CheckerStarted on the deprecated interface"
echo "CheckerStarted and CheckerCompleted (3, 768), on both interfaces"

# Approval denied by an administrator.
unlock c2 20 &
UNLOCK=$!
on_exit "kill_job $UNLOCK"
expect NeedApproval 'uint64 3000'
mandos-ctl --deny c2
expect Rejected 'string "Denied"'
kill_job "$UNLOCK"
[ ! -s "$T/out-c2" ] || fail "c2 got a secret though denied"
echo "NeedApproval (3000 ms) then Rejected \"Denied\""

# Nobody answers: the delay passes.
sleep 3 # let the denial of the previous round lapse
unlock c2 8 || true
expect Rejected 'string "Approval timed out"'
echo "Rejected \"Approval timed out\""

# Approved: the secret goes out.
unlock c2 20 &
UNLOCK=$!
on_exit "kill_job $UNLOCK"
wait_for 15 sh -c "[ \$(grep -c 'member=NeedApproval\$' '$T/monitor') -ge 6 ]" ||
	fail "no third NeedApproval"
mandos-ctl --approve c2
wait "$UNLOCK" || fail "c2 did not unlock after approval"
cmp -s "$T/out-c2" "$T/keys-c2/pw" || fail "c2 got the wrong secret"
expect GotSecret ''
echo "approved: GotSecret"

# Disabled.
mandos-ctl --disable c1
unlock c1 3 || true
expect Rejected 'string "Disabled"'
[ ! -s "$T/out-c1" ] || fail "disabled c1 got a secret"
echo "Rejected \"Disabled\""

# A new secret: PropertiesChanged with Secret only as invalidated, and it is served.
# (the Secret property is the OpenPGP message itself, as in a secfile)
printf 'brand new secret' > "$T/newpw"
mandos-keygen --dir "$T/keys-c1" --passfile "$T/newpw" --no-ssh --name c1 |
	awk '/^secret =/ { on = 1; sub(/^secret =/, ""); print; next }
		on && /^[ \t]/ { print; next } { on = 0 }' | tr -d ' \t\n' | base64 -d > "$T/newsecret"
mandos-ctl --enable c1
mandos-ctl --secret "$T/newsecret" c1
wait_for 10 grep -q 'string "Secret"' "$T/monitor" || fail "no Secret invalidation"
grep -B8 'string "Secret"' "$T/monitor" | grep -q 'member=PropertiesChanged' ||
	fail "Secret not in PropertiesChanged"
grep -q 'member=PropertyChanged$' "$T/monitor" || fail "no deprecated PropertyChanged"
unlock c1 || fail "c1 did not unlock"
cmp -s "$T/newpw" "$T/out-c1" || fail "c1 did not get the new secret"
echo "Secret: invalidated in PropertiesChanged, new value served"

# Any name makes a valid object path, and checkers may expand %(dbus_object_path)s.
mandos-ctl --start-checker "odd name.1-a"
wait_for 10 test -s "$T/out/objpath" || fail "the checker did not run"
assert_eq "$(cat "$T/out/objpath")" /clients/odd_20name_1_a "expanded dbus_object_path"
busctl --address="$BUS" tree se.recompile.Mandos > "$T/tree"
assert_contains "$T/tree" "/clients/odd_20name_1_a" "busctl tree"
busctl --address="$BUS" get-property se.recompile.Mandos /clients/x_y se.recompile.Mandos.Client \
	Name > "$T/xy1"
busctl --address="$BUS" get-property se.recompile.Mandos /clients/x_y_2 se.recompile.Mandos.Client \
	Name > "$T/xy2"
assert_eq "$(cat "$T/xy1")/$(cat "$T/xy2")" 's "x.y"/s "x-y"' "clients of colliding paths"
echo "'odd name.1-a' is /clients/odd_20name_1_a, also in %(dbus_object_path)s; x.y and x-y are x_y and x_y_2"

# A reload adds and removes client objects.
printf '[late]\nkey_id = %064d\nfingerprint = %040d\nsecret = YQ==\n' 7 7 >> "$T/conf/clients.conf"
kill -HUP "$SERVER_PID"
expect ClientAdded 'object path "/clients/late"'
grep -A1 'member=InterfacesAdded$' "$T/monitor" | grep -q 'object path "/clients/late"' ||
	fail "no InterfacesAdded for late"
mandos-ctl -r late
expect ClientRemoved 'string "late"'
grep -A1 'member=InterfacesRemoved$' "$T/monitor" | grep -q 'object path "/clients/late"' ||
	fail "no InterfacesRemoved for late"
mandos-ctl late > "$T/late" 2>&1 || true
assert_contains "$T/late" "Client not found on server" "mandos-ctl late after removal"
echo "reload: ClientAdded/InterfacesAdded; RemoveClient: ClientRemoved/InterfacesRemoved"

# A secret above the server's 1 MiB limit is refused; the old one stays.
head -c 1100000 /dev/zero > "$T/bigsecret"
mandos-ctl --secret "$T/bigsecret" c1 > "$T/big.out" 2>&1 && fail "a 1.1 MB secret was accepted"
assert_contains "$T/big.out" "at most 1048576 bytes" "mandos-ctl --secret with a big file"
unlock c1 || fail "c1 did not unlock after the refused secret"
cmp -s "$T/newpw" "$T/out-c1" || fail "c1 lost its secret"
echo "a secret over 1 MiB is refused with LimitsExceeded"

# A clean exit withdraws every object (and, under valgrind, finds no memory errors).
kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
assert_eq "$rc" 0 "server exit status"
expect ClientRemoved 'string "c1"'
grep -A1 'member=InterfacesRemoved$' "$T/monitor" | grep -q 'object path "/clients/c2"' ||
	fail "no InterfacesRemoved for c2 at exit"
echo "exit: ClientRemoved and InterfacesRemoved for every client; exit status 0"
