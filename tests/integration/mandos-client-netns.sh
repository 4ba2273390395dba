#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# mandos-client in a network namespace: interface bring-up/down, hooks, route helper, timeouts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/client-lib.sh"
require_root
require_cmd ip setpriv "$UPSTREAM_SERVER" mandos-keygen dbus-daemon gpg
HELPER_DIR=$BUILD/helpers/mandos-client-iprouteadddel
HELPER=$HELPER_DIR/mandos-client-iprouteadddel

NS=mct$$
ip netns add "$NS" || skip "cannot make network namespaces"
on_exit "ip netns del $NS"
on_exit "ip netns pids $NS | xargs -r kill -KILL"
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up
# (no dummy driver on every kernel: veth pairs inside the namespace)
nsx ip link add v0 type veth peer name v1

### The route helper
nsx ip link set v0 up
nsx $VALGRIND "$HELPER" add 192.0.2.9 v0 || fail "helper add"
# ("proto boot" is what ip(8) omits as the default; select by it instead)
nsx ip route show table main proto boot | grep -q "^192.0.2.9 dev v0 scope link" ||
	fail "route not added: $(nsx ip route)"
rc=0; nsx $VALGRIND "$HELPER" ADD 192.0.2.9 v0 2>"$T/e" || rc=$?
assert_eq "$rc" 71 "adding an existing route"
assert_contains "$T/e" "Mandos plugin helper mandos-client-iprouteadddel: "
nsx $VALGRIND "$HELPER" delete 192.0.2.9 v0 --debug || fail "helper delete"
[ -z "$(nsx ip route show 192.0.2.9)" ] || fail "route not deleted"
nsx $VALGRIND "$HELPER" add 2001:db8::9 v0 || fail "helper add IPv6"
nsx ip -6 route show table main proto boot | grep -q "^2001:db8::9 dev v0" || fail "IPv6 route not added"
nsx $VALGRIND "$HELPER" Delete 2001:db8::9 v0 || fail "helper delete IPv6"
rc=0; nsx $VALGRIND "$HELPER" add 192.0.2.9 nosuchif 2>/dev/null || rc=$?
assert_eq "$rc" 71 "unknown interface"
rc=0; nsx $VALGRIND "$HELPER" add not-an-address v0 2>/dev/null || rc=$?
assert_eq "$rc" 64 "bad address"
rc=0; nsx $VALGRIND "$HELPER" add 192.0.2.9 2>/dev/null || rc=$?
assert_eq "$rc" 64 "missing argument"
nsx ip link set v0 down

### Keys, a server inside the namespace
make_keys "$T/k"
chmod 644 "$T"/k/*
printf 'netns secret' >"$T/pw"
start_bus
write_server_conf "$T/c"
add_client "$T/c" "$T/k" good "$T/pw"
port=$(random_port)
nsx env TMPDIR="$T" "$UPSTREAM_SERVER" --configdir "$T/c" --statedir "$T/state" --no-dbus --no-zeroconf \
	--address 127.0.0.1 --no-ipv6 --port "$port" --foreground --debug >"$T/server.log" 2>&1 &
on_exit "kill $!"
wait_for 20 nsx sh -c "ss -Htln 'sport = :$port' | grep -q ." || fail "server did not start"
mkdir -m 1777 "$T/tmp"
export TMPDIR="$T/tmp"
keys=$(client_keys "$T/k")

### Hooks, interface bring-up and bring-down, as a setuid-root plugin run by nobody
mkdir "$T/hooks"
cat >"$T/hooks/10-log" <<EOH
#!/bin/sh
echo "\$MODE|\$#|\$1|\$DEVICE|\$DELAY|\$VERBOSITY|\${CONNECT-unset}|\$MANDOSNETHOOKDIR|\$(id -u):\$(id -g)" >>$T/hooks.log
EOH
# Makes the interface the client is asked to use (it does not exist before), leaves it down.
cat >"$T/hooks/20-makeif" <<EOH
#!/bin/sh
case "\${MODE:-\$1}" in
start) ip link add mcif0 type veth peer name mcif0p ;;
stop) echo "stop: \$(ip -o link show mcif0 | grep -o '<[^>]*>')" >>$T/hooks.log; ip link del mcif0 ;;
esac
EOH
printf '#!/bin/sh\necho BAD >>%s/hooks.log\n' "$T" >"$T/hooks/bad name"
printf '#!/bin/sh\necho NOEXEC >>%s/hooks.log\n' "$T" >"$T/hooks/30-noexec"
chmod 755 "$T/hooks/10-log" "$T/hooks/20-makeif" "$T/hooks/bad name"
# (valgrind cannot run a setuid program: these runs go without it)
mkdir -m 755 "$T/bin"
cp "$MC" "$T/bin/mandos-client"
chmod 4755 "$T/bin/mandos-client"

# Nothing listens on port+1: the client keeps trying; meanwhile we look at the interfaces.
# (ip netns exec and setpriv exec, so $! is the client itself)
ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$T/bin/mandos-client" --connect="127.0.0.1:$((port + 1))" --retry=1 --debug \
	--interface=mcif0,v0 --delay=0.5 --network-hook-dir="$T/hooks" $keys \
	>"$T/out" 2>"$T/err" &
cpid=$!
wait_for 20 grep -q "Trying Mandos server" "$T/err" || fail "client did not start: $(cat "$T/err")"
nsx ip -o link show mcif0 | grep -q "[<,]UP[,>]" || fail "mcif0 not brought up"
nsx ip -o link show v0 | grep -q "[<,]UP[,>]" || fail "v0 not brought up"
# (TMPDIR is ignored by a setuid program: the home is in /run/tmp or /tmp; --debug names it)
home=$(sed -n 's/.*: GnuPG home: //p' "$T/err")
[ -n "$home" ] && [ -d "$home" ] || fail "no GnuPG home while running"
assert_eq "$(stat -c %U "$home")" nobody "owner of the GnuPG home"
kill -TERM "$cpid"
rc=0; wait "$cpid" || rc=$?
assert_eq "$rc" 143 "exit status after SIGTERM (killed by the same signal)"
[ ! -s "$T/out" ] || fail "printed something"
[ ! -e "$home" ] || fail "GnuPG home left after SIGTERM: $(ls -la "$home"; tail -n 3 "$T/err")"
nsx ip -o link show v0 | grep -q "[<,]UP[,>]" && fail "v0 left up"
! nsx ip link show mcif0 >/dev/null 2>&1 || fail "stop hook did not run"
assert_contains "$T/hooks.log" "start|1|start|mcif0,v0|0.500000|1|127.0.0.1:$((port + 1))|$T/hooks|0:0"
assert_contains "$T/hooks.log" "stop|1|stop|mcif0,v0|0.500000|1|127.0.0.1:$((port + 1))|$T/hooks|0:0"
# mcif0 was still up (brought up by us) when the stop hooks ran: hooks first, then bring-down.
grep -q "^stop: <.*UP" "$T/hooks.log" || fail "interface state at stop: $(cat "$T/hooks.log")"
assert_not_contains "$T/hooks.log" "BAD"
assert_not_contains "$T/hooks.log" "NOEXEC"
[ "$(grep -c '^start' "$T/hooks.log")" = 1 ] || fail "start hooks ran twice"

### Success as nobody; interfaces restored afterwards.
nsx setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$T/bin/mandos-client" --connect="127.0.0.1:$port" --interface=v0 \
	--delay=0.2 --network-hook-dir="$T/nohooks" $keys >"$T/out" 2>"$T/err" ||
	fail "client as nobody failed: $(cat "$T/err")"
cmp -s "$T/out" "$T/pw" || fail "wrong secret"
nsx ip -o link show v0 | grep -q "[<,]UP[,>]" && fail "v0 left up after success"

### As a plugin of upstream's plugin-runner (which drops to 65534 and sets MANDOSPLUGINHELPERDIR).
rc=0
nsx timeout 30 "$UPSTREAM_LIB_DIR/plugin-runner" --plugin-dir="$T/bin" \
	--plugin-helper-dir="$BUILD/helpers/mandos-client-iprouteadddel" \
	--config-file="$T/nonexistent.conf" \
	--options-for="mandos-client:--connect=127.0.0.1:$port,--interface=v0,--delay=0.2,--network-hook-dir=$T/nohooks,$(echo $keys | tr ' ' ',')" \
	>"$T/out" 2>"$T/err" </dev/null || rc=$?
assert_eq "$rc" 0 "plugin-runner exit status ($(tail -n 3 "$T/err"))"
cmp -s "$T/out" "$T/pw" || fail "wrong secret through plugin-runner"
nsx ip -o link show v0 | grep -q "[<,]UP[,>]" && fail "v0 left up after plugin-runner"

### The example "bridge" hook, run by mandos-client: the bridge exists while we look for servers.
nsx ip link add pb0 type veth peer name pb1
nsx ip link set pb0 address 02:00:00:00:00:aa
mkdir "$T/bhooks"
cp "$SRC/helpers/network-hooks/bridge" "$T/bhooks/"
printf 'BRIDGE=mcbr0\nPORT_ADDRESSES="02:00:00:00:00:AA"\nIPADDRS="192.0.2.3/24"\n' \
	>"$T/bhooks/bridge.conf"
printf '#!/bin/sh\nip -o addr show dev mcbr0 >>%s/bridge.log\nip -o link show pb0 >>%s/bridge.log\n' \
	"$T" "$T" >"$T/bhooks/zz-check"
chmod 755 "$T/bhooks/zz-check"
MODE=files MANDOSNETHOOKDIR=$T/bhooks sh "$T/bhooks/bridge" >"$T/files"
assert_contains "$T/files" "$T/bhooks/bridge.conf"
assert_eq "$(sh "$T/bhooks/bridge" modules)" bridge "bridge hook modules"
nsx $VALGRIND "$MC" --connect="127.0.0.1:$port" --interface=mcbr0 --delay=0.2 \
	--network-hook-dir="$T/bhooks" $keys >"$T/out" 2>"$T/err" ||
	fail "client with the bridge hook: $(tail -n 3 "$T/err")"
cmp -s "$T/out" "$T/pw" || fail "wrong secret (bridge hook)"
assert_contains "$T/bridge.log" "inet 192.0.2.3/24"
assert_contains "$T/bridge.log" "master mcbr0"
! nsx ip link show mcbr0 >/dev/null 2>&1 || fail "bridge left after the stop hook"
nsx ip link del pb0

### "none": interfaces after it are used but not brought up; --dh-params that can't be read.
nsx ip link set v0 down
nsx $VALGRIND "$MC" --connect="127.0.0.1:$port" --interface=none,v0 --delay=0.2 --debug \
	--dh-params="$T/nonexistent.pem" --network-hook-dir="$T/nohooks" $keys >"$T/out" 2>"$T/err" ||
	fail "client with --interface=none,v0: $(tail -n 3 "$T/err")"
cmp -s "$T/out" "$T/pw" || fail "wrong secret (none,v0)"
assert_not_contains "$T/err" 'Brought up interface "v0"'
assert_contains "$T/err" "Could not use DH parameters from $T/nonexistent.pem"

### Timeouts: a server that never answers the SYN does not delay the one that works.
nsx ip link set v0 up
nsx ip link set v1 up
nsx ip addr add 10.9.9.2/24 dev v0
# 10.9.9.1 "exists" on the link but nothing answers: SYNs go out and vanish.
nsx ip neigh add 10.9.9.1 lladdr 02:00:00:00:00:01 dev v0 nud permanent
nsx $VALGRIND "$MC" --connect="10.9.9.1:$port" --connect="127.0.0.1:$port" --interface=none \
	--timeout=30 --debug --network-hook-dir="$T/nohooks" $keys >"$T/out" 2>"$T/err" ||
	fail "client with a black-holed server failed: $(tail -n 5 "$T/err")"
cmp -s "$T/out" "$T/pw" || fail "wrong secret (two servers)"
# Waiting for the black-holed one would have meant its connect timing out first.
assert_not_contains "$T/err" "Timed out connecting" "a black-holed server delayed the working one"
# ... and the connect step itself times out, again and again.
run_until 2 "Timed out connecting" "$T/err" "$T/out" "$T/err" ip netns exec "$NS" $VALGRIND "$MC" \
	--connect="10.9.9.1:$port" --interface=none --timeout=1 --retry=1 --debug \
	--network-hook-dir="$T/nohooks" $keys

### Autodetection with no usable interface: exit 1.
nsx ip link del v0
nsx ip link del mcif0 2>/dev/null || true
rc=0; nsx $VALGRIND "$MC" --connect="127.0.0.1:$port" --network-hook-dir="$T/nohooks" $keys \
	>"$T/out" 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "no interface"
assert_contains "$T/err" "Could not find a network interface"
echo ok
