#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Benchmark our server against upstream's /usr/sbin/mandos in the same run (unlocks per second
# and latency with bench/loadgen), then the start with 10,000 clients (time to READY=1 and to
# listening, resident memory), and write the table into bench/README.md.
# Usage: bench/run.sh [BUILD_DIR] [SECONDS] [CONCURRENCY]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
seconds=${2:-10}
concurrency=${3:-64}
mandos="$build/server/mandos"
loadgen="$build/bench/mandos-loadgen"
[ -x "$mandos" ] && [ -x "$loadgen" ] || { echo "build first: meson compile -C $build" >&2; exit 1; }

W=$(mktemp -d /tmp/mandos-bench.XXXXXX)
chmod 755 "$W"
pids=""
cleanup() {
	for p in $pids; do /bin/kill -KILL -- "$p" 2>/dev/null || true; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket
s = socket.socket(socket.AF_INET6)
s.bind(("::1", 0))
print(s.getsockname()[1])'
}
listening() { ss -Htln "sport = :$1" | grep -q .; }
wait_port() {
	i=0
	while ! listening "$1"; do
		i=$((i + 1))
		[ $i -lt 2000 ] || { echo "nothing listens on $1" >&2; exit 1; }
		sleep 0.01
	done
}

load0=$(cut -d" " -f1-3 /proc/loadavg)

# Keys and clients.conf as upstream's tools make them.
mkdir -p "$W/keys" "$W/conf"
mandos-keygen --dir "$W/keys" --force >/dev/null 2>&1
printf 'bench password\n' > "$W/pw"
mandos-keygen --dir "$W/keys" --passfile "$W/pw" --no-ssh --name bench > "$W/section"
printf '[DEFAULT]\n' > "$W/conf/mandos.conf"
{ printf '[DEFAULT]\nchecker = true\n\n'; cat "$W/section"; } > "$W/conf/clients.conf"

run_load() { # LABEL PORT
	"$loadgen" --connect="[::1]:$2" --tls-pubkey="$W/keys/tls-pubkey.pem" \
		--tls-privkey="$W/keys/tls-privkey.pem" --concurrency="$concurrency" \
		--seconds="$seconds" --processes=2 --label="$1"
}
field() { # LINE NAME: pick a number out of the loadgen line
	case $2 in
	rate) echo "$1" | sed 's/.* = \([0-9.]*\) unlocks\/s.*/\1/' ;;
	p50) echo "$1" | sed 's/.*p50 \([0-9.]*\).*/\1/' ;;
	p99) echo "$1" | sed 's/.*p99 \([0-9.]*\).*/\1/' ;;
	failed) echo "$1" | sed 's/.*; \([0-9]*\) failed.*/\1/' ;;
	unlocks) echo "$1" | sed 's/^[a-z]*: \([0-9]*\) unlocks.*/\1/' ;;
	esac
}
cpu_ms() { # PID: user+system CPU time in ms, its reaped children's included
	awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15 + $16 + $17) * 1000 / hz) }' \
		"/proc/$1/stat"
}

# 1. Our server.
port=$(free_port)
"$mandos" --configdir "$W/conf" --statedir "$W/state-ours" --no-dbus --no-zeroconf \
	--address ::1 --port "$port" --foreground >/dev/null 2>"$W/ours.log" &
ours=$!
pids="$pids $ours"
wait_port "$port"
cpu0=$(cpu_ms "$ours")
ours_line=$(run_load ours "$port")
cpu1=$(cpu_ms "$ours")
ours_rss=$(awk '/VmHWM/ { print $2 }' "/proc/$ours/status")
kill "$ours"
wait "$ours" || true
echo "$ours_line"

# 2. Upstream's server (it wants a system bus even with --no-dbus: a private one).
cat > "$W/bus.conf" <<BUS
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=$W/bus.sock</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_type="method_call"/>
<allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>
BUS
dbus-daemon --config-file="$W/bus.conf" --nofork --nopidfile &
pids="$pids $!"
i=0
while [ ! -S "$W/bus.sock" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
mkdir -p "$W/state-up"
chown _mandos "$W/state-up" 2>/dev/null || chmod 777 "$W/state-up"
port=$(free_port)
# In its own process group: its per-connection children may hang on abandoned connections
# (upstream has no timeouts), and must all go at the end.
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$W/bus.sock" setsid /usr/sbin/mandos --configdir "$W/conf" \
	--statedir "$W/state-up" --no-dbus --no-zeroconf --address ::1 --port "$port" \
	--foreground >/dev/null 2>"$W/up.log" &
up=$!
pids="$pids -$up"
wait_port "$port"
ucpu0=$(cpu_ms "$up")
up_line=$(run_load upstream "$port")
ucpu1=$(cpu_ms "$up")
/bin/kill -TERM -- "-$up" 2>/dev/null || true
i=0
while kill -0 "$up" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
/bin/kill -KILL -- "-$up" 2>/dev/null || true
wait "$up" || true
echo "$up_line"

# 3. Start with 10,000 clients: time to listening and to READY=1, resident memory.
python3 - "$W/section" "$W/c10k" <<'PY'
import binascii, os, sys
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
PY
cat > "$W/notify.py" <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
open(sys.argv[2], "w").close()
while b"READY=1" not in s.recv(4096):
    pass
print(time.time_ns() // 1000000, flush=True)
PY
start10k() { # LABEL: one start, prints "ms_listening ms_ready rss_kib"
	rm -f "$W/notify.sock" "$W/notify.up"
	python3 "$W/notify.py" "$W/notify.sock" "$W/notify.up" > "$W/ready.ms" &
	np=$!
	while [ ! -e "$W/notify.up" ]; do sleep 0.01; done
	port=$(free_port)
	python3 -c 'import socket, sys, time
while True:
    s = socket.socket(socket.AF_INET6)
    if s.connect_ex(("::1", int(sys.argv[1]))) == 0:
        break
    s.close()
    time.sleep(0.001)
print(time.time_ns() // 1000000)' "$port" > "$W/listen.ms" &
	lp=$!
	sleep 0.2
	t0=$(($(date +%s%N) / 1000000))
	NOTIFY_SOCKET="$W/notify.sock" "$mandos" --configdir "$W/c10k" --statedir "$W/state-10k" \
		--no-dbus --no-zeroconf --address ::1 --port "$port" --foreground 2>/dev/null &
	p=$!
	wait "$lp"
	t1=$(cat "$W/listen.ms")
	wait "$np"
	t2=$(cat "$W/ready.ms")
	sleep 0.5
	rss=$(awk '/VmHWM/ { print $2 }' "/proc/$p/status")
	kill "$p"
	wait "$p" || true
	echo "$((t1 - t0)) $((t2 - t0)) $rss"
}
cold=$(start10k)
warm=$(start10k)
echo "10k clients, no state: $cold; with state: $warm (ms listening, ms ready, peak RSS KiB)"

# The table.
ours_rate=$(field "$ours_line" rate)
up_rate=$(field "$up_line" rate)
ratio=$(python3 -c "print('%.0f' % ($ours_rate / $up_rate) if $up_rate > 0 else 'inf')")
per_unlock() { # CPU_MS UNLOCKS
	python3 -c "print('%.2f' % ($1 / $2) if $2 else '-')"
}
ours_cpu=$(per_unlock $((cpu1 - cpu0)) "$(field "$ours_line" unlocks)")
up_cpu=$(per_unlock $((ucpu1 - ucpu0)) "$(field "$up_line" unlocks)")
cpu_ratio=$(python3 -c "print('%.0f' % ($up_cpu / $ours_cpu))" 2>/dev/null || echo -)
capacity=$(python3 -c "print('%.0f' % (1000 / $ours_cpu))" 2>/dev/null || echo -)
set -- $cold
cold_listen=$1 cold_ready=$2 cold_rss=$(($3 / 1024))
set -- $warm
warm_listen=$1 warm_ready=$2 warm_rss=$(($3 / 1024))
table=$(cat <<TABLE
Run on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), load average before the run: $load0.
Load generator on the same machine: $concurrency concurrent clients in 2 processes, $seconds s each.

| server | unlocks/s | p50 ms | p99 ms | failed | server CPU ms/unlock | peak RSS |
|---|---|---|---|---|---|---|
| ours (\`build/server/mandos\`) | $ours_rate | $(field "$ours_line" p50) | $(field "$ours_line" p99) | $(field "$ours_line" failed) | $ours_cpu | $((ours_rss / 1024)) MiB |
| upstream (\`/usr/sbin/mandos\` 1.8.16) | $up_rate | $(field "$up_line" p50) | $(field "$up_line" p99) | $(field "$up_line" failed) | $up_cpu | - |

Ours / upstream: **${ratio}x** the measured rate (ours and the load generator together
fill both CPUs, see above); **${cpu_ratio}x** less server CPU per unlock (upstream's
figure counts only its reaped per-connection processes, so it is a lower bound).  At
$ours_cpu ms per unlock one core of ours serves about $capacity unlocks per second.

| start with 10,000 clients | listening | ready (sd_notify) | peak RSS |
|---|---|---|---|
| no state file | $cold_listen ms | $cold_ready ms | $cold_rss MiB |
| with the state file of the previous run | $warm_listen ms | $warm_ready ms | $warm_rss MiB |
TABLE
)
echo "$table"
python3 - "$top/bench/README.md" <<PY
import sys
path = sys.argv[1]
text = open(path).read()
begin, end = "<!-- results begin -->", "<!-- results end -->"
head, rest = text.split(begin, 1)
tail = rest.split(end, 1)[1]
open(path, "w").write(head + begin + "\n" + """$table""" + "\n" + end + tail)
PY
