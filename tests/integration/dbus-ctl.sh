#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Upstream's mandos-ctl against our server's D-Bus API (issue 6): our server and upstream's,
# each on its own private system bus with the same clients.conf, must give mandos-ctl the same
# output (timestamps masked) for listing, every setter and action, and removal; and
# busctl's introspection and GetManagedObjects must agree.  --no-dbus takes us off the bus.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/dbus-lib.sh"
require_cmd /usr/sbin/mandos python3

start_bus ours
BUS_OURS=$BUS
start_bus upstream
BUS_UP=$BUS
PORT_UP=$(random_port)
mkdir -p "$T/state-ours" "$T/state-up"
chmod 777 "$T/state-ours" "$T/state-up"
cat > "$T/conf/clients.conf" <<CONF
[DEFAULT]
timeout = PT5M
interval = PT1H
checker = true
approval_delay = PT0S

[alpha]
key_id = $(printf 'a%.0s' $(seq 64))
fingerprint = $(printf 'F%.0s' $(seq 40))
secret = c2VjcmV0IG9mIGFscGhh
host = alpha.example

[beta.x-y]
key_id = $(printf 'b%.0s' $(seq 64))
fingerprint = $(printf 'B%.0s' $(seq 40))
secret = YmV0YQ==
host = beta.example
approval_delay = PT30S
approval_duration = PT2S
approved_by_default = False
extended_timeout = PT20M

[gamma]
key_id = $(printf 'c%.0s' $(seq 64))
fingerprint = $(printf 'C%.0s' $(seq 40))
secret = Z2FtbWE=
CONF
chmod 644 "$T/conf/clients.conf"

DBUS_SYSTEM_BUS_ADDRESS=$BUS_OURS $VALGRIND "$MANDOS" --configdir "$T/conf" \
	--statedir "$T/state-ours" --no-zeroconf --address ::1 --port "$PORT" --foreground \
	--debug > "$T/ours.log" 2>&1 &
OURS_PID=$!
on_exit "kill -9 $OURS_PID"
# Upstream's server forks a child per connection, which outlives a killed parent: give it a
# process group of its own and kill the whole group.
DBUS_SYSTEM_BUS_ADDRESS=$BUS_UP setsid /usr/sbin/mandos --configdir "$T/conf" \
	--statedir "$T/state-up" --no-zeroconf --address ::1 --port "$PORT_UP" --foreground \
	--debug > "$T/upstream.log" 2>&1 &
on_exit "kill -9 -$!"
for bus in "$BUS_OURS" "$BUS_UP"; do
	for name in se.recompile.Mandos se.bsnet.fukt.Mandos; do
		wait_for 30 bus_name_owned "$bus" "$name" || {
			tail "$T/ours.log" "$T/upstream.log" >&2
			fail "$name is not on $bus"
		}
	done
done

# ctl BUS OUT ARGS...: mandos-ctl's output (times masked) and status into OUT.
ctl() {
	_bus=$1 _out=$2
	shift 2
	_rc=0
	DBUS_SYSTEM_BUS_ADDRESS=$_bus mandos-ctl "$@" > "$_out.raw" 2>&1 || _rc=$?
	# Upstream's client order follows Python's string hashing, which varies per run: sort.
	python3 -c '
import json, sys
text = open(sys.argv[1]).read()
try:
    print(json.dumps(json.loads(text), sort_keys=True, indent=4))
except ValueError:
    lines = text.splitlines()
    print("\n".join(lines[:1] + sorted(lines[1:])))
' "$_out.raw" | mask_times > "$_out"
	echo "exit status $_rc" >> "$_out"
}

# _same_once ARGS...: mandos-ctl ARGS on both servers (in $T/ours.$n and $T/up.$n) prints the
# same.
_same_once() {
	ctl "$BUS_OURS" "$T/ours.$n" "$@"
	ctl "$BUS_UP" "$T/up.$n" "$@"
	cmp -s "$T/ours.$n" "$T/up.$n"
}

# same ARGS...: mandos-ctl ARGS, then `mandos-ctl -j`, give the same on both servers.  A -j
# may catch a checker that one server started and the other has finished already: it is
# asked again until both servers have settled (a difference that stays is still a failure).
n=0
same() {
	n=$((n + 1))
	if ! _same_once "$@" && { [ "$*" != -j ] || ! wait_for 15 _same_once "$@"; }; then
		diff -u "$T/up.$n" "$T/ours.$n" >&2 || true
		fail "mandos-ctl $* differs from upstream"
	fi
	case "$*" in
	-j | -v | "" | -V*) ;;
	*) same -j ;;
	esac
}

same
same -v
same -j
same -v alpha
same nosuchclient
same -V alpha
same -d alpha
same -V alpha
same -e alpha
same -b gamma
same -t PT1M alpha
same --extended-timeout PT2M alpha
same -i PT30M beta.x-y
same --approval-delay PT10S gamma
same --approval-duration PT3S gamma
same --approve-by-default beta.x-y
same --deny-by-default alpha
same -H new.example gamma
same -c 'fping -q -- %%(host)s' gamma
same --start-checker -c 'sleep 30' beta.x-y
same -v beta.x-y
same --stop-checker beta.x-y
same -A alpha
same -D gamma
same -a -d
same -a -e
same -e -v
same -r gamma
same
same -r gamma
echo "mandos-ctl: $n outputs identical to upstream's"

# The secret: write-only, so only its PropertiesChanged invalidation can be seen; and Get fails.
printf 'new secret' > "$T/newsecret"
same -s "$T/newsecret" alpha
for bus in "$BUS_OURS" "$BUS_UP"; do
	busctl --address="$bus" get-property se.recompile.Mandos /clients/alpha \
		se.recompile.Mandos.Client Secret > "$T/get-secret" 2>&1 && fail "Secret is readable"
done

# busctl: introspection (members, types, flags) and GetManagedObjects agree, apart from our
# interface se.recompile.Mandos.Client.Delivery (protocol 2), which must be there besides.
DELIVERY=se.recompile.Mandos.Client.Delivery
intro() {
	busctl --address="$1" introspect se.recompile.Mandos "$2" |
		grep -v '^org.freedesktop.DBus.Peer\|^\.Ping\|^\.GetMachineId' | mask_times |
		sed 's/  */ /g' |
		awk -v d="$DELIVERY" '$1 == d { skip = 1; next } !/^\./ { skip = 0 } !skip'
}
busctl --address="$BUS_OURS" introspect se.recompile.Mandos /clients/alpha > "$T/intro-full"
assert_contains "$T/intro-full" "$DELIVERY" "our introspection"
for path in / /clients/alpha /clients/beta_x_y; do
	intro "$BUS_OURS" "$path" > "$T/intro-ours"
	intro "$BUS_UP" "$path" > "$T/intro-up"
	cmp -s "$T/intro-ours" "$T/intro-up" || {
		diff -u "$T/intro-up" "$T/intro-ours" >&2 || true
		fail "busctl introspect $path differs from upstream"
	}
done
objects() {
	busctl --address="$1" --json=short call se.recompile.Mandos / \
		org.freedesktop.DBus.ObjectManager GetManagedObjects |
		python3 -c 'import json,sys
d = json.load(sys.stdin)
found = [o.pop(sys.argv[1], None) is not None for o in d["data"][0].values()]
print(json.dumps(d, sort_keys=True, indent=1))
if sys.argv[2] == "ours" and not all(found):
    print("MISSING " + sys.argv[1])' "$DELIVERY" "$2" |
		mask_times
}
objects "$BUS_OURS" ours > "$T/objects-ours"
objects "$BUS_UP" upstream > "$T/objects-up"
cmp -s "$T/objects-ours" "$T/objects-up" || {
	diff -u "$T/objects-up" "$T/objects-ours" >&2 || true
	fail "GetManagedObjects differs from upstream"
}
assert_not_contains "$T/objects-ours" '"Secret"' "GetManagedObjects"
assert_not_contains "$T/objects-ours" "MISSING $DELIVERY" "our GetManagedObjects"
echo "busctl introspect and GetManagedObjects identical to upstream's"

kill -TERM "$OURS_PID"
rc=0
wait "$OURS_PID" || rc=$?
assert_eq "$rc" 0 "our server's exit status"

# --no-dbus: the server stays off the bus.
PORT2=$(random_port)
start_bus none
BUS_NONE=$BUS
DBUS_SYSTEM_BUS_ADDRESS=$BUS_NONE $VALGRIND "$MANDOS" --configdir "$T/conf" \
	--statedir "$T/state-ours" --no-zeroconf --no-dbus --address ::1 --port "$PORT2" \
	--foreground --debug > "$T/nodbus.log" 2>&1 &
on_exit "kill -9 $!"
wait_for_port "$PORT2" 30
# It asks for its bus name (when it does) before its main loop starts.
wait_for 30 grep -q "Starting main loop" "$T/nodbus.log" ||
	fail "the --no-dbus server did not start"
bus_name_owned "$BUS_NONE" se.recompile.Mandos && fail "--no-dbus server took the bus name"
# "use_dbus = no" in mandos.conf does the same.
mkdir -p "$T/conf-nodbus"
printf '[DEFAULT]\nuse_dbus = no\n' > "$T/conf-nodbus/mandos.conf"
cp "$T/conf/clients.conf" "$T/conf-nodbus/"
chmod -R a+rX "$T/conf-nodbus"
PORT3=$(random_port)
DBUS_SYSTEM_BUS_ADDRESS=$BUS_NONE $VALGRIND "$MANDOS" --configdir "$T/conf-nodbus" \
	--statedir "$T/state-ours" --no-zeroconf --address ::1 --port "$PORT3" \
	--foreground --debug > "$T/nodbus2.log" 2>&1 &
on_exit "kill -9 $!"
wait_for_port "$PORT3" 30
wait_for 30 grep -q "Starting main loop" "$T/nodbus2.log" ||
	fail "the use_dbus = no server did not start"
bus_name_owned "$BUS_NONE" se.recompile.Mandos && fail "use_dbus = no server took the bus name"
echo "--no-dbus and use_dbus = no: not on the bus"
