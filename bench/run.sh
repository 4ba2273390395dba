#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Benchmark, in one run: the libsodium primitives of a protocol 2 unlock; our server over
# protocol 1 and over protocol 2 (sealed, escrow, a 2-of-3 threshold on three of our servers)
# and upstream's /usr/sbin/mandos (unlocks per second, latency, server CPU per unlock, with
# bench/loadgen); the floor (bench/floor-server.c: a sealed unlock's TCP pattern without
# cryptography, its CPU per connection); one mandos-client unlock over each protocol and mode
# and upstream's mandos-client against the same server; the start with 10,000 clients, without
# and with escrow keys; the initramfs size with protocol 1, protocol 2 only and upstream's.
# Writes the tables into bench/README.md.
# Usage: bench/run.sh [BUILD_DIR] [SECONDS] [CONCURRENCY]
#        bench/run.sh etcd [BUILD_DIR] [SECONDS] [CONCURRENCY]: the etcd backend against the file
#        backend instead (bench/etcd.sh)
# Environment: CLIENT_RUNS (mandos-client unlocks per client, default 20), INITRAMFS=0 skips
# the three mkinitramfs runs (about a minute each), KEEP_TEST_DIR=1 keeps the work directory.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = etcd ]; then
	shift
	exec "$top/bench/etcd.sh" "$@"
fi
build=$(cd "${1:-$top/build}" && pwd)
seconds=${2:-15}
concurrency=${3:-64}
client_runs=${CLIENT_RUNS:-20}
export MESON_SOURCE_ROOT="$top" MESON_BUILD_ROOT="$build"
# $T (removed at exit), on_exit, random_port, wait_for_port, private_bus, fail; the
# initramfs helpers of the boot tests.
. "$top/tests/integration/lib.sh"
. "$top/tests/e2e/boot-lib.sh"
. "$top/bench/lib.sh"
mandos="$build/server/mandos"
loadgen="$build/bench/mandos-loadgen"
primitives="$build/bench/mandos-primitives"
floor_server="$build/bench/mandos-floor-server"
seal_tool="$build/tests/tools/p2-seal"
enrol_tool="$build/tests/tools/p2-escrow-enrol"
our_client="$build/plugins.d/mandos-client/mandos-client"
upstream_client="$UPSTREAM_PLUGIN_DIR/mandos-client"
for f in "$mandos" "$loadgen" "$primitives" "$floor_server" "$enrol_tool"; do
	[ -x "$f" ] || fail "build first: meson compile -C $build ($f missing)"
done
require_cmd mandos-keygen openssl python3 /usr/sbin/mandos dbus-daemon

load0=$(cut -d" " -f1-3 /proc/loadavg)
note() { echo "# $*" >&2; }

# Keys: upstream's mandos-keygen makes the OpenPGP and TLS keys and the section; openssl the
# seal key and the server key (the same DER as mandos-keygen's, spec A.9.4).
mkdir -p "$T/keys-up" "$T/conf-up" "$T/conf" "$T/nohooks"
chmod 755 "$T/conf" "$T/conf-up"
mandos-keygen --dir "$T/keys-up" --force >/dev/null 2>&1
printf 'bench password\n' > "$T/pw"
mandos-keygen --dir "$T/keys-up" --passfile "$T/pw" --no-ssh --name bench > "$T/section"
cp -a "$T/keys-up" "$T/keys"
openssl genpkey -algorithm x25519 -out "$T/keys/seal-privkey.pem" 2>/dev/null
openssl pkey -in "$T/keys/seal-privkey.pem" -pubout -out "$T/keys/seal-pubkey.pem"
# A protocol-2-only key directory: no OpenPGP keys.
mkdir -p "$T/keys-p2"
cp "$T/keys/tls-privkey.pem" "$T/keys/tls-pubkey.pem" "$T/keys/seal-privkey.pem" \
	"$T/keys/seal-pubkey.pem" "$T/keys-p2/"
openssl genpkey -algorithm ed25519 -out "$T/conf/server-key.pem" 2>/dev/null
chmod 600 "$T/conf/server-key.pem"
key_id_of() { # PRIVKEY.PEM: its key id, 64 uppercase hex digits
	openssl pkey -in "$1" -pubout -outform der | sha256sum | cut -c1-64 | tr a-f A-F
}
server_key_id=$(key_id_of "$T/conf/server-key.pem")
# Escrow (spec B.1): a single binding whose scalar our server's section gets, pinned to it; and
# a 2-of-3 threshold across three more servers of ours, each with its own key and share.
mkdir -p "$T/bind-single" "$T/bind-t"
escrow_S=$("$enrol_tool" "$T/keys/tls-pubkey.pem" \
	"$T/bind-single/escrow-single.conf" 0 1 "$server_key_id" < "$T/pw")
for i in 1 2 3; do
	mkdir -p "$T/conf-t$i"
	chmod 755 "$T/conf-t$i"
	openssl genpkey -algorithm ed25519 -out "$T/conf-t$i/server-key.pem" 2>/dev/null
	chmod 600 "$T/conf-t$i/server-key.pem"
done
"$enrol_tool" "$T/keys/tls-pubkey.pem" "$T/bind-t/escrow-2of3.conf" 2 3 \
	"$(key_id_of "$T/conf-t1/server-key.pem")" "$(key_id_of "$T/conf-t2/server-key.pem")" \
	"$(key_id_of "$T/conf-t3/server-key.pem")" < "$T/pw" > "$T/shares"
client_key_id=$(sed -n 's/^key_id = //p' "$T/section")

# Upstream's server: the section as mandos-keygen printed it.
printf '[DEFAULT]\n' > "$T/conf-up/mandos.conf"
{ printf '[DEFAULT]\nchecker = true\n\n'; cat "$T/section"; } > "$T/conf-up/clients.conf"
# Ours: the same section plus the sealed secret; per-source limits raised, since every
# simulated client comes from ::1 (decisions.md).
sealed=""
if [ -x "$seal_tool" ]; then
	sealed=$("$seal_tool" "$T/keys/seal-pubkey.pem" < "$T/pw") || sealed=""
fi
[ -n "$sealed" ] || note "no $seal_tool (build with -Dtests=true): no sealed secret"
cat > "$T/conf/mandos.conf" <<CONF
[DEFAULT]
server_key = $T/conf/server-key.pem
source_rate = 0
source_connections = 4096
unauthenticated_connections = 4096
CONF
{
	printf '[DEFAULT]\nchecker = true\n\n'
	cat "$T/section"
	[ -z "$sealed" ] || printf 'sealed_secret = %s\n' "$sealed"
	printf 'escrow_key = %s\n' "$escrow_S"
} > "$T/conf/clients.conf"
# The share servers: each the same limits, its own key, the client with its share only (spec
# B.4.1: protocols = 2 and nothing else).
for i in 1 2 3; do
	sed "s|^server_key = .*|server_key = $T/conf-t$i/server-key.pem|" "$T/conf/mandos.conf" \
		> "$T/conf-t$i/mandos.conf"
	printf '[DEFAULT]\nchecker = true\n\n[bench]\nhost = bench\nkey_id = %s\n' \
		"$client_key_id" > "$T/conf-t$i/clients.conf"
	printf 'protocols = 2\nescrow_key = %s\n' "$(sed -n "${i}p" "$T/shares")" \
		>> "$T/conf-t$i/clients.conf"
done

run_load() { # LABEL PORT[,PORT...] MODE: one loadgen line (or nothing if it could not unlock)
	priv="--tls-privkey=$T/keys/tls-privkey.pem"
	case $3 in
	1) keys="--tls-pubkey=$T/keys/tls-pubkey.pem $priv" ;;
	2) keys="--protocol=2 --seal-key=$T/keys/seal-privkey.pem $priv" ;;
	escrow) keys="--protocol=2 --binding=$T/bind-single/escrow-single.conf $priv" ;;
	threshold) keys="--protocol=2 --binding=$T/bind-t/escrow-2of3.conf $priv" ;;
	floor) keys="--protocol=floor" ;;
	esac
	connects=$(echo "$2" | tr , '\n' | sed 's/^/--connect=[::1]:/')
	"$loadgen" $connects $keys --concurrency="$concurrency" --seconds="$seconds" \
		--processes=2 --label="$1" || true
}
field() { # LINE NAME: pick a number out of the loadgen line ("-" if there is none)
	[ -n "$1" ] || { echo -; return; }
	case $2 in
	rate) echo "$1" | sed 's/.* = \([0-9.]*\) unlocks\/s.*/\1/' ;;
	p50) echo "$1" | sed 's/.*p50 \([0-9.]*\).*/\1/' ;;
	p99) echo "$1" | sed 's/.*p99 \([0-9.]*\).*/\1/' ;;
	failed) echo "$1" | sed 's/.*; \([0-9]*\) failed.*/\1/' ;;
	unlocks) echo "$1" | sed 's/^[^:]*: \([0-9]*\) unlocks.*/\1/' ;;
	esac
}
cpu_ms() { # PID: user+system CPU time in ms, its reaped children's included
	awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15 + $16 + $17) * 1000 / hz) }' \
		"/proc/$1/stat"
}

# 1. The primitives, on this machine, now (spec A.13), with this run's secret length.
"$primitives" --kv --secret-len="$(wc -c < "$T/pw")" > "$T/primitives"
kv() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$T/primitives"; }
prim_sum=$(kv server_sealed_sum_us)
prim_item=$(kv escrow_item_sum_us)
prim_client_item=$(kv client_escrow_item_sum_us)
prim_sss=$(kv client_threshold2_sum_us)
prim_client=$(awk -F'\t' '$1 == "client_sealed_sum_us" { print $2 }' "$T/primitives")
sess_server=$(awk -F'\t' '$1 == "session_server_us" { print $2 }' "$T/primitives")
sess_client=$(awk -F'\t' '$1 == "session_client_us" { print $2 }' "$T/primitives")
note "primitives: server sealed sum $prim_sum us, client $prim_client us"

# 2. Our server, one process: protocol 1, then protocol 2, then the client unlocks.
port=$(random_port)
"$mandos" --configdir "$T/conf" --statedir "$T/state-ours" --no-dbus --no-zeroconf \
	--address ::1 --port "$port" --foreground >/dev/null 2>"$T/ours.log" &
ours=$!
on_exit "kill -KILL $ours"
wait_for_port "$port"
cpu0=$(cpu_ms "$ours")
p1_line=$(run_load ours-p1 "$port" 1)
cpu1=$(cpu_ms "$ours")
echo "$p1_line"
p2_line=$(run_load ours-p2 "$port" 2)
cpu2=$(cpu_ms "$ours")
echo "${p2_line:-protocol 2: no unlock (see $T/ours.log)}"
# The floor, while our server idles: a sealed unlock's connection, flights, byte counts and
# system calls (bench/floor.h) without cryptography or protocol code; its CPU per connection
# counted as our server's is.
fport=$(random_port)
"$floor_server" --port="$fport" 2>"$T/floor.log" &
floor=$!
on_exit "kill -KILL $floor"
wait_for_port "$fport"
fcpu0=$(cpu_ms "$floor")
floor_line=$(run_load floor "$fport" floor)
fcpu1=$(cpu_ms "$floor")
kill "$floor"
wait "$floor" || true
echo "${floor_line:-floor: no connection completed (see $T/floor.log)}"
p2e_line=$(run_load ours-p2-escrow "$port" escrow)
cpu3=$(cpu_ms "$ours")
echo "${p2e_line:-protocol 2 escrow: no unlock (see $T/ours.log)}"
ours_rss=$(awk '/VmHWM/ { print $2 }' "/proc/$ours/status")

# One mandos-client unlock at a time, each client in turn, CLIENT_RUNS times: wall time from
# exec to exit with the secret on stdout.
common="--connect=[::1]:$port --interface=none --network-hook-dir=$T/nohooks"
p1_keys="--pubkey=$T/keys/pubkey.txt --seckey=$T/keys/seckey.txt"
p1_keys="$p1_keys --tls-pubkey=$T/keys/tls-pubkey.pem --tls-privkey=$T/keys/tls-privkey.pem"
p2_opts="--protocol=2 --seal-key=$T/keys-p2/seal-privkey.pem --server-key-id=$server_key_id"
p2_opts="$p2_opts --servers-seen= --tls-pubkey=$T/keys-p2/tls-pubkey.pem"
p2_opts="$p2_opts --tls-privkey=$T/keys-p2/tls-privkey.pem"
# Escrow only: the binding, no seal key (and no OpenPGP keys).
p2e_opts="--protocol=2 --seal-key=$T/none --escrow-dir=$T/bind-single"
p2e_opts="$p2e_opts --server-key-id=$server_key_id --servers-seen="
p2e_opts="$p2e_opts --tls-pubkey=$T/keys-p2/tls-pubkey.pem"
p2e_opts="$p2e_opts --tls-privkey=$T/keys-p2/tls-privkey.pem"
TMPDIR=$T python3 - "$T/pw" "$client_runs" > "$T/clients" <<PY
import statistics, subprocess, sys, time
secret = open(sys.argv[1], "rb").read()
runs = int(sys.argv[2])
cases = [("ours-p1", "$our_client $common $p1_keys"),
         ("ours-p2", "$our_client $common $p2_opts"),
         ("ours-p2e", "$our_client $common $p2e_opts"),
         ("upstream", "$upstream_client $common $p1_keys")]
times = {name: [] for name, _ in cases}
for i in range(runs):
    for name, cmd in cases:
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd.split(), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        t = time.perf_counter() - t0
        if p.returncode == 0 and p.stdout == secret:
            times[name].append(t * 1000)
for name, _ in cases:
    t = times[name]
    print(name, "%.1f" % statistics.median(t) if t else "-",
          "%.1f" % min(t) if t else "-", len(t))
PY
kill "$ours"
wait "$ours" || true
cat "$T/clients"

# The 2-of-3 threshold: three servers of ours, every simulated unlock a session to each at
# once (as mandos-client does), done when two shares opened; the server CPU of all three.
tports="" tpids=""
for i in 1 2 3; do
	p=$(random_port)
	"$mandos" --configdir "$T/conf-t$i" --statedir "$T/state-t$i" --no-dbus --no-zeroconf \
		--address ::1 --port "$p" --foreground >/dev/null 2>"$T/t$i.log" &
	tpids="$tpids $!"
	on_exit "kill -KILL $!"
	wait_for_port "$p"
	tports="$tports${tports:+,}$p"
done
tcpu() { t=0; for p in $tpids; do t=$((t + $(cpu_ms "$p"))); done; echo "$t"; }
tcpu0=$(tcpu)
pt_line=$(run_load ours-threshold "$tports" threshold)
tcpu1=$(tcpu)
echo "${pt_line:-threshold: no unlock (see $T/t1.log)}"
kill $tpids
for p in $tpids; do wait "$p" || true; done

# 3. Upstream's server (it wants a system bus even with --no-dbus: a private one).
private_bus "$T/bus"
mkdir -p "$T/state-up"
chown _mandos "$T/state-up" 2>/dev/null || chmod 777 "$T/state-up"
port=$(random_port)
# In its own process group: its per-connection children may hang on abandoned connections
# (upstream has no timeouts), and must all go at the end.
DBUS_SYSTEM_BUS_ADDRESS=$BUS setsid /usr/sbin/mandos --configdir "$T/conf-up" \
	--statedir "$T/state-up" --no-dbus --no-zeroconf --address ::1 --port "$port" \
	--foreground >/dev/null 2>"$T/up.log" &
up=$!
on_exit "/bin/kill -KILL -- -$up"
wait_for_port "$port" 20
ucpu0=$(cpu_ms "$up")
up_line=$(run_load upstream "$port" 1)
ucpu1=$(cpu_ms "$up")
/bin/kill -TERM -- "-$up" 2>/dev/null || true
i=0
while kill -0 "$up" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
/bin/kill -KILL -- "-$up" 2>/dev/null || true
wait "$up" 2>/dev/null || true
echo "$up_line"

# 4. Start with 10,000 clients: time to listening and to READY=1, resident memory.
python3 - "$T/section" "$T/c10k" <<'PY'
import base64, binascii, os, sys
section = open(sys.argv[1]).read().splitlines()
i = section.index("secret =")
secret = []
for line in section[i + 1:]:
    if not line.startswith("    "):
        break
    secret.append(line)
os.makedirs(sys.argv[2], exist_ok=True)
open(os.path.join(sys.argv[2], "mandos.conf"), "w").write("[DEFAULT]\n")
with open(os.path.join(sys.argv[2], "clients.conf"), "w") as f:
    f.write("[DEFAULT]\ntimeout = PT5M\ninterval = PT2M\nchecker = fping -q -- %%(host)s\n\n")
    for n in range(10000):
        f.write("[client%05d]\nhost = client%05d.example.org\nkey_id = %s\nsecret =\n%s\n\n"
                % (n, n, binascii.hexlify(os.urandom(32)).decode(), "\n".join(secret)))
# The same clients, each also with an escrow key: a random canonical non-zero scalar (below
# 2^252 < L).
os.makedirs(sys.argv[2] + "-escrow", exist_ok=True)
open(os.path.join(sys.argv[2] + "-escrow", "mandos.conf"), "w").write("[DEFAULT]\n")
text = open(os.path.join(sys.argv[2], "clients.conf")).read().split("\n\n")
with open(os.path.join(sys.argv[2] + "-escrow", "clients.conf"), "w") as f:
    f.write(text[0] + "\n\n")
    for block in text[1:]:
        if not block.strip():
            continue
        s = bytearray(os.urandom(32))
        s[31] &= 0x0F
        s[0] |= 1
        f.write(block + "\nescrow_key = " + base64.b64encode(bytes(s)).decode() + "\n\n")
PY
cat > "$T/notify.py" <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
open(sys.argv[2], "w").close()
while b"READY=1" not in s.recv(4096):
    pass
print(time.time_ns() // 1000000, flush=True)
PY
start10k() { # [CONFDIR] one start, prints "ms_listening ms_ready rss_kib"
	confdir=${1:-$T/c10k} statedir=$T/state-10k${1:+-escrow}
	rm -f "$T/notify.sock" "$T/notify.up"
	python3 "$T/notify.py" "$T/notify.sock" "$T/notify.up" > "$T/ready.ms" &
	np=$!
	while [ ! -e "$T/notify.up" ]; do sleep 0.01; done
	port=$(random_port)
	python3 -c 'import socket, sys, time
while True:
    s = socket.socket(socket.AF_INET6)
    if s.connect_ex(("::1", int(sys.argv[1]))) == 0:
        break
    s.close()
    time.sleep(0.001)
print(time.time_ns() // 1000000)' "$port" > "$T/listen.ms" &
	lp=$!
	sleep 0.2
	t0=$(($(date +%s%N) / 1000000))
	NOTIFY_SOCKET="$T/notify.sock" "$mandos" --configdir "$confdir" --statedir "$statedir" \
		--no-dbus --no-zeroconf --address ::1 --port "$port" --foreground 2>/dev/null &
	p=$!
	wait "$lp"
	t1=$(cat "$T/listen.ms")
	wait "$np"
	t2=$(cat "$T/ready.ms")
	sleep 0.5
	rss=$(awk '/VmHWM/ { print $2 }' "/proc/$p/status")
	kill "$p"
	wait "$p" || true
	echo "$((t1 - t0)) $((t2 - t0)) $rss"
}
cold=$(start10k)
warm=$(start10k)
echo "10k clients, no state: $cold; with state: $warm (ms listening, ms ready, peak RSS KiB)"
ecold=$(start10k "$T/c10k-escrow")
ewarm=$(start10k "$T/c10k-escrow")
echo "10k clients with escrow keys, no state: $ecold; with state: $ewarm"

# 5. Initramfs images for this system: upstream's hook with upstream's keys, ours with the
# same keys plus a seal key (protocol 1 and 2), ours with no OpenPGP keys (protocol 2 only).
img_up=- img_p1=- img_p2=- gpg_up=- gpg_p1=- gpg_p2=- raw_up=- raw_p1=- raw_p2=-
tls_up=- tls_p1=- tls_p2=-
if [ "${INITRAMFS:-1}" != 0 ] && [ "$(id -u)" -eq 0 ] && command -v mkinitramfs >/dev/null &&
	[ -n "$KVER" ]; then
	stage_install
	# Stripped, as Debian's packages are (dh_strip): a debug build's symbols are not what
	# an installed system puts into its image.
	find "$T/inst" -type f -exec strip --strip-unneeded {} + 2>/dev/null || true
	mkdir -p "$T/etc-mandos/plugins.d" "$T/etc-mandos/plugin-helpers" \
		"$T/etc-mandos/network-hooks.d"
	cp "$top/plugin-runner/plugin-runner.conf" "$T/etc-mandos/" 2>/dev/null ||
		: > "$T/etc-mandos/plugin-runner.conf"
	# NAME KEYDIR OURS(0/1): build $T/NAME.img, print "bytes unpacked_bytes gpg_files"
	image() {
		if [ "$3" = 1 ]; then
			build_initramfs "$T/$1.img" $(our_initramfs_binds | sed "s|^$T/keys:|$2:|")
		else
			build_initramfs "$T/$1.img" "$2:/etc/keys/mandos"
		fi
		lsinitramfs -l "$T/$1.img" > "$T/$1.list"
		echo "$(stat -c %s "$T/$1.img")" "$(unpacked_size "$T/$1.list")" \
			"$(grep -cE '^-.*/(gpg|gpg-agent|libgpgme\.so[.0-9]*)$' "$T/$1.list")" \
			"$(grep -cE '^-.*/libgnutls\.so[.0-9]*$' "$T/$1.list")"
	}
	set -- $(image upstream "$T/keys-up" 0)
	img_up=$1 raw_up=$2 gpg_up=$3 tls_up=$4
	set -- $(image ours-p1 "$T/keys" 1)
	img_p1=$1 raw_p1=$2 gpg_p1=$3 tls_p1=$4
	set -- $(image ours-p2 "$T/keys-p2" 1)
	img_p2=$1 raw_p2=$2 gpg_p2=$3 tls_p2=$4
	echo "initramfs bytes, unpacked, gpg files, GnuTLS files: upstream $img_up $raw_up" \
		"$gpg_up $tls_up, ours p1 $img_p1 $raw_p1 $gpg_p1 $tls_p1, ours p2 only $img_p2" \
		"$raw_p2 $gpg_p2 $tls_p2"
else
	note "initramfs sizes skipped (INITRAMFS=0, not root, or no mkinitramfs or kernel)"
fi

# The tables.
p1_n=$(field "$p1_line" unlocks)
p2_n=$(field "$p2_line" unlocks)
p2e_n=$(field "$p2e_line" unlocks)
floor_n=$(field "$floor_line" unlocks)
pt_n=$(field "$pt_line" unlocks)
up_n=$(field "$up_line" unlocks)
per_unlock() { # CPU_MS UNLOCKS: ms per unlock
	py "'%.3f' % ($1 / $2) if $2 else '-'"
}
p1_cpu=$(per_unlock $((cpu1 - cpu0)) "$p1_n")
p2_cpu=$(per_unlock $((cpu2 - cpu1)) "$p2_n")
p2e_cpu=$(per_unlock $((cpu3 - cpu2)) "$p2e_n")
floor_cpu=$(per_unlock $((fcpu1 - fcpu0)) "$floor_n")
floor_us=$(py "'%.1f' % ($((fcpu1 - fcpu0)) * 1000 / $floor_n)")
pt_cpu=$(per_unlock $((tcpu1 - tcpu0)) "$pt_n")
prim_escrow=$(py "'%.3f' % ($prim_sum + $prim_item)")
p2e_vs_prim=$(py "'%.2f' % ($p2e_cpu * 1000 / $prim_escrow)")
pt_vs_prim=$(py "'%.2f' % ($pt_cpu * 1000 / (3 * $prim_escrow))")
p2e_vs_p2=$(py "'%.2f' % ($p2e_cpu / $p2_cpu)")
pt_vs_p2=$(py "'%.2f' % ($pt_cpu / $p2_cpu)")
p2e_vs_p1=$(py "'%.2f' % ($p2e_cpu / $p1_cpu)")
capacity2e=$(py "'%.0f' % (1000 / $p2e_cpu)")
capacityt=$(py "'%.0f' % (1000 / $pt_cpu)")
up_cpu=$(per_unlock $((ucpu1 - ucpu0)) "$up_n")
p2_vs_prim=$(py "'%.2f' % ($p2_cpu * 1000 / $prim_sum)")
p2_vs_prim_floor=$(py "'%.2f' % ($p2_cpu * 1000 / ($prim_sum + $floor_us))")
p2_minus_floor=$(py "'%.2f' % (($p2_cpu * 1000 - $floor_us) / $prim_sum)")
p2e_vs_prim_floor=$(py "'%.2f' % ($p2e_cpu * 1000 / ($prim_escrow + $floor_us))")
p2e_minus_floor=$(py "'%.2f' % (($p2e_cpu * 1000 - $floor_us) / $prim_escrow)")
sess_vs_prim=$(py "'%.2f' % ($sess_server / $prim_sum)")
sess_us=$(py "'%.0f' % $sess_server")
p2_vs_p1=$(py "'%.2f' % ($p2_cpu / $p1_cpu)")
p1_vs_up=$(py "'%.0f' % ($up_cpu / $p1_cpu)")
capacity1=$(py "'%.0f' % (1000 / $p1_cpu)")
capacity2=$(py "'%.0f' % (1000 / $p2_cpu)")
mib() { py "'%d MiB' % ($1 / 1024)"; }
client() { # NAME FIELD(2 median, 3 min, 4 successes)
	awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$T/clients"
}
c_p1=$(client ours-p1 2) c_p2=$(client ours-p2 2) c_up=$(client upstream 2)
c_p2e=$(client ours-p2e 2)
c_p2e_vs_up=$(py "'%.2f' % ($c_p2e / $c_up)")
c_p2_vs_up=$(py "'%.2f' % ($c_p2 / $c_up)")
c_p1_vs_up=$(py "'%.2f' % ($c_p1 / $c_up)")
mb() { py "'%.1f MB' % ($1 / 1e6)"; }
img_saved=$(py "'%.1f MB' % (($img_up - $img_p2) / 1e6)")
raw_saved=$(py "'%.1f MB' % (($raw_up - $raw_p2) / 1e6)")
set -- $cold
cold_listen=$1 cold_ready=$2 cold_rss=$(($3 / 1024))
set -- $warm
warm_listen=$1 warm_ready=$2 warm_rss=$(($3 / 1024))
set -- $ecold
ecold_listen=$1 ecold_ready=$2 ecold_rss=$(($3 / 1024))
set -- $ewarm
ewarm_listen=$1 ewarm_ready=$2 ewarm_rss=$(($3 / 1024))
row() { # LABEL LINE CPU N [MIN]: a table row; fewer than MIN unlocks are flagged
	few=""
	case $4 in
	'' | - | *[!0-9]*) ;;
	*) [ "$4" -ge "${5:-0}" ] || few=" (fewer than spec A.13's $5: raise SECONDS)" ;;
	esac
	echo "| $1 | $(field "$2" rate) | $(field "$2" p50) | $(field "$2" p99) |" \
		"$(field "$2" failed) | $3 | $4$few |"
}
table=$(cat <<TABLE
Run on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), load average before the run: $load0.
Load generator on the same machine: $concurrency concurrent clients in 2 processes, $seconds s each,
one connection per unlock (a session per server for the threshold); protocol 2 in sealed
mode (a $(wc -c < "$T/pw")-byte secret), in escrow mode (one item, no sealed secret asked for) and
with a 2-of-3 threshold binding over three more servers of ours, the load generator opening
every box as mandos-client does.

| server | unlocks/s | p50 ms | p99 ms | failed | server CPU ms/unlock | over unlocks |
|---|---|---|---|---|---|---|
$(row "ours, protocol 1" "$p1_line" "$p1_cpu" "$p1_n" 10000)
$(row "ours, protocol 2 (sealed)" "$p2_line" "$p2_cpu" "$p2_n" 10000)
$(row "ours, protocol 2 (escrow, 1 item)" "$p2e_line" "$p2e_cpu" "$p2e_n" 10000)
$(row "floor: the same TCP pattern, no cryptography (\`mandos-floor-server\`; CPU per connection)" "$floor_line" "$floor_cpu" "$floor_n")
$(row "3 of ours, protocol 2 (2-of-3 threshold, all three asked; CPU of all three)" "$pt_line" "$pt_cpu" "$pt_n" 10000)
$(row "upstream (\`/usr/sbin/mandos\` 1.8.16), protocol 1" "$up_line" "$up_cpu" "$up_n")

Our server's peak RSS over its loads: $(mib "$ours_rss").  Upstream's CPU counts only its
reaped per-connection processes, so it is a lower bound.  The floor's row counts
connections of the same TCP pattern as a sealed unlock (its system calls and byte counts), with
no cryptography and no protocol code: the kernel's and an event loop's share of every unlock.

| ratio (same run) | measured | target |
|---|---|---|
| protocol 2 server CPU per unlock / sum of its primitives ($prim_sum us, \`mandos-primitives\`) | **$p2_vs_prim** | ≤ 1.25 |
| protocol 2 server CPU per unlock / (primitives + floor: $prim_sum + $floor_us us) | **$p2_vs_prim_floor** | — |
| (protocol 2 server CPU per unlock − floor) / primitives | **$p2_minus_floor** | — |
| common/p2's server session alone ($sess_us us, over a socketpair, thread CPU) / the same sum | $sess_vs_prim | — |
| escrow server CPU per unlock / its primitives ($prim_escrow us: the sum above + $prim_item us for the item) | **$p2e_vs_prim** | ≤ 1.25 |
| escrow server CPU per unlock / (its primitives + floor) | $p2e_vs_prim_floor | — |
| (escrow server CPU per unlock − floor) / its primitives | $p2e_minus_floor | — |
| threshold: the three servers' CPU per unlock / 3 × the escrow primitives | $pt_vs_prim | — |
| protocol 2 / protocol 1 server CPU per unlock | **$p2_vs_p1** | ≤ 0.5 |
| escrow / sealed, server CPU per unlock | $p2e_vs_p2 | — |
| escrow / protocol 1, server CPU per unlock | $p2e_vs_p1 | — |
| threshold (three servers) / sealed (one), server CPU per unlock | $pt_vs_p2 | — |
| upstream / our protocol 1 server CPU per unlock | $p1_vs_up | ≥ 25 |
| mandos-client wall time, protocol 2 sealed / upstream's mandos-client | **$c_p2_vs_up** | ≤ 0.2 |
| mandos-client wall time, protocol 2 escrow / upstream's mandos-client | $c_p2e_vs_up | — |
| mandos-client wall time, our protocol 1 / upstream's mandos-client | $c_p1_vs_up | — |
| initramfs, protocol 2 only, smaller than upstream's by (unpacked; compressed image) | **$raw_saved**; $img_saved | ≥ 10 MB |

At $p1_cpu ms (protocol 1), $p2_cpu ms (sealed), $p2e_cpu ms (escrow) and $pt_cpu ms (the
threshold, all three servers) per unlock, one core of ours serves about $capacity1, $capacity2,
$capacity2e and $capacityt unlocks per second.  The client's own libsodium work for an escrow
item is $prim_client_item us, and $prim_sss us more to rebuild a 2-of-N key (\`mandos-primitives\`).

| one mandos-client unlock, against our server | median ms | best ms | unlocks |
|---|---|---|---|
| ours, protocol 1 (GnuTLS, gpg) | $c_p1 | $(client ours-p1 3) | $(client ours-p1 4) of $client_runs |
| ours, protocol 2 sealed (pinned, no OpenPGP keys) | $c_p2 | $(client ours-p2 3) | $(client ours-p2 4) of $client_runs |
| ours, protocol 2 escrow (pinned, no OpenPGP or seal keys) | $c_p2e | $(client ours-p2e 3) | $(client ours-p2e 4) of $client_runs |
| upstream (\`mandos-client\` 1.8.16), protocol 1 | $c_up | $(client upstream 3) | $(client upstream 4) of $client_runs |

| initramfs (mkinitramfs, kernel $KVER) | image | unpacked | gpg, gpg-agent, GPGME files | GnuTLS files |
|---|---|---|---|---|
| upstream's hook, upstream's keys | $(mb "$img_up") | $(mb "$raw_up") | $gpg_up | $tls_up |
| ours, protocol 1 and 2 (OpenPGP and seal keys) | $(mb "$img_p1") | $(mb "$raw_p1") | $gpg_p1 | $tls_p1 |
| ours, protocol 2 only (no OpenPGP keys) | $(mb "$img_p2") | $(mb "$raw_p2") | $gpg_p2 | $tls_p2 |

| start with 10,000 clients | listening | ready (sd_notify) | peak RSS |
|---|---|---|---|
| no state file | $cold_listen ms | $cold_ready ms | $cold_rss MiB |
| with the state file of the previous run | $warm_listen ms | $warm_ready ms | $warm_rss MiB |
| each also with an escrow key, no state file | $ecold_listen ms | $ecold_ready ms | $ecold_rss MiB |
| each also with an escrow key, with the state file | $ewarm_listen ms | $ewarm_ready ms | $ewarm_rss MiB |
TABLE
)
echo "$table"
results_write "results" "$table"
