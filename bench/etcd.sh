#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Benchmark of the etcd backend (issue 14) against the file backend, in one run: a 3-member etcd
# cluster on loopback, our server with state_backend = file and with state_backend = etcd (one
# server, then three sharing the cluster), the same load from bench/loadgen over protocol 2
# (sealed) and protocol 1; unlocks per second, latency, CPU of server and etcd per unlock, etcd
# writes per unlock, and etcd's own write rate on this machine.  Writes the tables into
# bench/README.md (between the etcd results markers).
# Usage: bench/run.sh etcd [BUILD_DIR] [SECONDS] [CONCURRENCY]
# SECONDS (default 15) is each case's load in all, in ROUNDS (default 3) parts: the cases take
# turns.  Environment: CLIENTS (clients in clients.conf, the connections take them in turn;
# default 64), ROUNDS, P1=0 skips protocol 1, KEEP_TEST_DIR=1 keeps the work directory.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
seconds=${2:-15}
concurrency=${3:-64}
n_clients=${CLIENTS:-64}
rounds=${ROUNDS:-3}
export MESON_SOURCE_ROOT="$top" MESON_BUILD_ROOT="$build"
# $T (removed at exit), on_exit, random_port, wait_for_port, fail; the cluster (every member
# killed at exit, also on failure).
. "$top/tests/integration/lib.sh"
. "$top/tests/integration/etcd-lib.sh"
. "$top/bench/lib.sh"
mandos="$build/server/mandos"
loadgen="$build/bench/mandos-loadgen"
seal_tool="$build/tests/tools/p2-seal"
for f in "$mandos" "$loadgen" "$seal_tool"; do
	[ -x "$f" ] || fail "build first (with tests on): meson compile -C $build ($f missing)"
done
require_cmd openssl python3 curl etcd

load0=$(cut -d" " -f1-3 /proc/loadavg)
note() { echo "# $*" >&2; }

# Keys: CLIENTS TLS keys (Ed25519, as mandos-keygen makes them), one seal key; every client
# gets the same sealed secret and the same protocol 1 "secret" (random bytes: the load
# generator counts them, it does not decrypt).
mkdir -p "$T/keys" "$T/conf"
chmod 755 "$T/conf"
openssl genpkey -algorithm x25519 -out "$T/keys/seal-privkey.pem" 2>/dev/null
openssl pkey -in "$T/keys/seal-privkey.pem" -pubout -out "$T/keys/seal-pubkey.pem"
openssl genpkey -algorithm ed25519 -out "$T/conf/server-key.pem" 2>/dev/null
chmod 600 "$T/conf/server-key.pem"
printf 'bench password\n' > "$T/pw"
sealed=$("$seal_tool" "$T/keys/seal-pubkey.pem" < "$T/pw")
p1_secret=$(head -c 800 /dev/urandom | base64 -w0)
key_args="" p1_key_args=""
{
	printf '[DEFAULT]\nchecker = true\n\n'
	i=1
	while [ "$i" -le "$n_clients" ]; do
		openssl genpkey -algorithm ed25519 -out "$T/keys/tls-privkey-$i.pem" 2>/dev/null
		openssl pkey -in "$T/keys/tls-privkey-$i.pem" -pubout -out "$T/keys/tls-pubkey-$i.pem"
		kid=$(openssl pkey -in "$T/keys/tls-privkey-$i.pem" -pubout -outform der |
			sha256sum | cut -c1-64)
		printf '[bench%d]\nhost = bench%d\nkey_id = %s\nsecret = %s\nsealed_secret = %s\n\n' \
			"$i" "$i" "$kid" "$p1_secret" "$sealed"
		key_args="$key_args --tls-privkey=$T/keys/tls-privkey-$i.pem"
		p1_key_args="$p1_key_args --tls-pubkey=$T/keys/tls-pubkey-$i.pem"
		i=$((i + 1))
	done
} > "$T/conf/clients.conf"
p1_key_args="$p1_key_args$key_args"
# Every simulated client comes from ::1: the per-source limits lifted, as in bench/run.sh.
cat > "$T/conf/mandos.conf" <<CONF
[DEFAULT]
server_key = $T/conf/server-key.pem
source_rate = 0
source_connections = 4096
unauthenticated_connections = 4096
CONF

etcd_cluster_start 3
etcd_stopped=0
note "etcd cluster up: $ETCD_ENDPOINTS"

# server NAME [LINE...]: start one of ours with $T/NAME as its configuration directory (the
# shared files plus LINEs in mandos.conf); sets PORT_NAME and PID_NAME.
server() {
	name=$1
	shift
	mkdir -p "$T/$name" "$T/state-$name"
	chmod 755 "$T/$name"
	cp "$T/conf/clients.conf" "$T/conf/server-key.pem" "$T/$name/"
	{
		cat "$T/conf/mandos.conf"
		for l in "$@"; do
			printf '%s\n' "$l"
		done
	} > "$T/$name/mandos.conf"
	p=$(random_port)
	"$mandos" --configdir "$T/$name" --statedir "$T/state-$name" --no-dbus --no-zeroconf \
		--address ::1 --port "$p" --foreground >/dev/null 2>"$T/$name.log" &
	eval "PORT_$name=$p PID_$name=$!"
	on_exit "kill -KILL $!"
	wait_for_port "$p"
}
# etcd_server NAME PREFIX: one of ours with the etcd backend on the cluster, under PREFIX.
etcd_server() {
	server "$1" "state_backend = etcd" "etcd_endpoints = $ETCD_ENDPOINTS" \
		"etcd_prefix = $2" "server_name = $1"
}
stop() { # NAME...
	for name in "$@"; do
		pid=$(eval echo "\$PID_$name")
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}
ports() { # NAME...: their ports, comma separated
	out=""
	for name in "$@"; do
		out="$out${out:+,}$(eval echo "\$PORT_$name")"
	done
	echo "$out"
}
loadgen() { # PORTS MODE(1/2) CONCURRENCY SECONDS LABEL [EXTRA...]
	connects=$(echo "$1" | tr , '\n' | sed 's/^/--connect=[::1]:/')
	case $2 in
	1) keys="$p1_key_args" ;;
	*) keys="--protocol=2 --seal-key=$T/keys/seal-privkey.pem$key_args" ;;
	esac
	l_conc=$3 l_secs=$4 l_label=$5
	shift 5
	# shellcheck disable=SC2086 # lists of options
	"$loadgen" $connects $keys --concurrency="$l_conc" --seconds="$l_secs" --label="$l_label" \
		"$@"
}
# ready NAME...: wait until each serves (the etcd backend serves nothing before its first
# read of the prefix); one protocol 2 unlock each.
ready() {
	for name in "$@"; do
		wait_for 30 loadgen "$(ports "$name")" 2 1 5 ready --count=1 >/dev/null 2>&1 ||
			fail "$name does not serve (see $T/$name.log)"
	done
}
cpu_ms() { # PID...: their user+system CPU time in ms, together
	t=0
	for pid in "$@"; do
		t=$((t + $(awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' \
			"/proc/$pid/stat")))
	done
	echo "$t"
}
pids() { # NAME...
	for name in "$@"; do
		eval echo "\$PID_$name"
	done
}
etcd_pids() { echo "$ETCD_PID_1 $ETCD_PID_2 $ETCD_PID_3"; }
# etcd_counts: "REVISION TXNS RANGES" now: the store's revision (each successful write adds
# one; besides the clients' documents each server writes its own liveness key every 10 s,
# a few per turn) and the Txn and Range calls every member handled.
etcd_counts() {
	if [ "$etcd_stopped" = 1 ]; then
		echo 0 0 0
		return
	fi
	for i in 1 2 3; do
		curl -s --max-time 5 "$(eval echo "\$ETCD_URL_$i")/metrics"
	done | awk '
	/^etcd_debugging_mvcc_current_revision / { if ($2 > rev) rev = $2 }
	/^grpc_server_handled_total/ && /grpc_method="Txn"/ { txn += $2 }
	/^grpc_server_handled_total/ && /grpc_method="Range"/ { range += $2 }
	END { printf "%d %d %d\n", rev, txn, range }'
}
# machine_busy: "BUSY TOTAL" jiffies of all CPUs now (/proc/stat: all but idle and iowait).
machine_busy() {
	awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
# measure KEY NAMES MODE CONCURRENCY SECONDS: one loadgen run against the servers NAMES (comma
# separated; the connections take them in turn), with CPU and etcd counters around it; the
# results in $T/results as "KEY field=value ...".
measure() {
	key=$1 names=$(echo "$2" | tr , ' ')
	# shellcheck disable=SC2046,SC2086 # lists of numbers
	set -- "$1" "$2" "$3" "$4" "$5" $(cpu_ms $(pids $names)) $(cpu_ms $(etcd_pids)) \
		$(etcd_counts) $(machine_busy)
	load=$(cut -d" " -f1 /proc/loadavg)
	# shellcheck disable=SC2086
	line=$(loadgen "$(ports $names)" "$3" "$4" "$5" "$key" --processes=2) || true
	# shellcheck disable=SC2046,SC2086 # lists of numbers
	set -- "$@" $(cpu_ms $(pids $names)) $(cpu_ms $(etcd_pids)) $(etcd_counts) \
		$(machine_busy)
	echo "${line:-$key: no unlock}" >&2
	echo "$key line=$(echo "$line" | tr ' ' '~') srv=$((${13} - $6)) etcd=$((${14} - $7))" \
		"rev=$((${15} - $8)) txn=$((${16} - $9)) range=$((${17} - ${10}))" \
		"busy=$((${18} - ${11})) total=$((${19} - ${12})) load=$load" >> "$T/results"
}

# 1. etcd alone, on this machine, now: the read-modify-write transaction the etcd backend sends
# (compare mod_revision, put a ~400-byte document), one at a time (the round trip) and from 64
# connections at once, each on its own key (the write rate), over the JSON gateway, spread over
# the members.  A Python client: a lower bound of what etcd takes.
cat > "$T/etcd-writes.py" <<'PY'
import base64, http.client, json, sys, threading, time
urls, threads, secs = sys.argv[1].split(), int(sys.argv[2]), float(sys.argv[3])
b64 = lambda s: base64.b64encode(s.encode()).decode()
lat = [[] for _ in range(threads)]
stop = time.monotonic() + secs
def worker(i):
    host, port = urls[i % len(urls)].rsplit("/", 1)[1].split(":")
    c = http.client.HTTPConnection(host, int(port))
    key, rev, value = b64("/mandos-bench-capacity/k%d" % i), 0, b64("x" * 400)
    while time.monotonic() < stop:
        body = json.dumps({"compare": [{"key": key, "target": "MOD", "result": "EQUAL",
                                        "mod_revision": str(rev)}],
                           "success": [{"request_put": {"key": key, "value": value}}],
                           "failure": [{"request_range": {"key": key}}]})
        t0 = time.monotonic()
        c.request("POST", "/v3/kv/txn", body)
        r = json.loads(c.getresponse().read())
        lat[i].append(time.monotonic() - t0)
        rev = int(r["header"]["revision"]) if r.get("succeeded") else \
            int(r["responses"][0]["response_range"]["kvs"][0]["mod_revision"])
t0 = time.monotonic()
ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
el = time.monotonic() - t0
L = sorted(x for l in lat for x in l)
print("rate=%.0f p50=%.2f p99=%.2f" % (len(L) / el, L[len(L) // 2] * 1e3,
                                       L[min(len(L) - 1, int(len(L) * 0.99))] * 1e3))
PY
cap1=$(python3 "$T/etcd-writes.py" "$ETCD_ENDPOINTS" 1 3)
cap64=$(python3 "$T/etcd-writes.py" "$ETCD_ENDPOINTS" 64 5)
note "etcd writes, one at a time: $cap1; 64 at once: $cap64"

# 2. Our servers, all started at once: one with the file backend, one with the etcd backend,
# three more with the etcd backend sharing another prefix of the same cluster (each sees the
# others' writes through its watch; the connections take the three in turn, so every client
# unlocks on all three).  Loaded in turn, ROUNDS times, so that the other work on this machine
# weighs on each about the same; an idle server costs nothing worth counting (a heartbeat read
# per second).
server file
etcd_server etcd1 /mandos-bench-1/
etcd_server etcd3a /mandos-bench-3/
etcd_server etcd3b /mandos-bench-3/
etcd_server etcd3c /mandos-bench-3/
ready file etcd1 etcd3a etcd3b etcd3c
part=$(py "'%g' % ($seconds / $rounds)")
seq_part=$(py "'%g' % (max(1, $seconds / 3) / $rounds)")
r=1
while [ "$r" -le "$rounds" ]; do
	note "round $r of $rounds"
	measure file-p2 file 2 "$concurrency" "$part"
	measure etcd1-p2 etcd1 2 "$concurrency" "$part"
	measure etcd3-p2 etcd3a,etcd3b,etcd3c 2 "$concurrency" "$part"
	if [ "${P1:-1}" != 0 ]; then
		measure file-p1 file 1 "$concurrency" "$part"
		measure etcd1-p1 etcd1 1 "$concurrency" "$part"
	fi
	# One unlock at a time: whether an unlock waits for etcd (its latency would grow by a
	# round trip, above).
	measure file-seq file 2 1 "$seq_part"
	measure etcd1-seq etcd1 2 1 "$seq_part"
	# The same with every etcd member stopped (SIGSTOP: its ports accept, nothing answers),
	# for less than etcd_max_staleness: an unlock that waited for its release write would
	# wait for the write's timeout here.
	etcd_stopped=1
	for i in 1 2 3; do etcd_member_stop "$i"; done
	measure etcd1-stopped etcd1 2 1 "$seq_part"
	for i in 1 2 3; do etcd_member_cont "$i"; done
	etcd_stopped=0
	r=$((r + 1))
done
stop file etcd1 etcd3a etcd3b etcd3c
blocked=$(cat "$T"/etcd*.log | grep -c 'releasing no secrets' || true)

# The tables.
# $T/results, one line per key: the rounds pooled (unlocks, seconds, failures, CPU and counters
# summed; p50 and p99 the median of the rounds'), as "KEY field=value ...".
python3 - "$T/results" > "$T/pooled" <<'PY'
import re, statistics, sys
keys = {}
for line in open(sys.argv[1]):
    k, *fields = line.split()
    d = dict(f.split("=", 1) for f in fields)
    l = d.pop("line").replace("~", " ")
    m = re.search(r": (\d+) unlocks in ([\d.]+) s .*?; (\d+) failed.*p50 ([\d.]+) .*p99 "
                  r"([\d.]+)", l)
    if not m:
        continue
    d.update(unlocks=m[1], secs=m[2], failed=m[3], p50=m[4], p99=m[5])
    keys.setdefault(k, []).append(d)
for k, rs in keys.items():
    out = {f: sum(float(r[f]) for r in rs) for f in
           ("unlocks", "secs", "failed", "srv", "etcd", "rev", "txn", "range", "busy", "total")}
    out["rate"] = "%.1f" % (out["unlocks"] / out["secs"])
    for f in ("p50", "p99"):
        out[f] = "%.2f" % statistics.median(float(r[f]) for r in rs)
    out["load"] = "%.1f" % statistics.mean(float(r["load"]) for r in rs)
    out["rounds"] = len(rs)
    print(k, " ".join("%s=%s" % (f, ("%d" % v) if isinstance(v, float) else v)
                      for f, v in out.items()))
PY
get() { # KEY FIELD: from $T/pooled ("-" when missing)
	awk -v k="$1" -v f="$2" '$1 == k { for (i = 2; i <= NF; i++) { split($i, a, "=");
		if (a[1] == f) { v = a[2] } } } END { print v == "" ? "-" : v }' "$T/pooled"
}
per() { # KEY FIELD: FIELD per unlock, %.3f
	py "'%.3f' % ($(get "$1" "$2") / $(get "$1" unlocks))"
}
row() { # LABEL KEY
	k=$2
	echo "| $1 | $(get "$k" rate) | $(get "$k" p50) | $(get "$k" p99) | $(get "$k" failed) |" \
		"$(per "$k" srv) | $(per "$k" etcd) | $(per "$k" rev) | $(per "$k" txn) |" \
		"$(py "'%.0f %%' % (100.0 * $(get "$k" busy) / $(get "$k" total))") |" \
		"$(get "$k" load) |"
}
ratio() { # KEY_A KEY_B FIELD: A's / B's loadgen field
	py "'%.2f' % ($(get "$1" "$3") / $(get "$2" "$3"))"
}
capf() { echo "$1" | sed -n "s/.*$2=\([0-9.]*\).*/\1/p"; }
p1_rows=""
if [ "${P1:-1}" != 0 ]; then
	p1_rows="
$(row "file backend, 1 server, protocol 1" file-p1)
$(row "etcd backend, 1 server, protocol 1" etcd1-p1)"
fi
table=$(cat <<TABLE
Run on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), load average before the run: $load0.
A 3-member etcd cluster ($(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p'), data on $(findmnt -n -o FSTYPE -T "$T") with fsync, as etcd does) and
our servers on the same machine as the load generator: $concurrency connections at once in 2
processes, one connection per unlock, $n_clients clients taken in turn; $seconds s per case in
$rounds turns of $part s (one at a time: $rounds of $seq_part s), the cases in turn; p50 and p99
are the median of the turns'.  "etcd CPU" is the three members' together; "writes" are the
store's new revisions (successful transactions), "txns" every transaction the members handled
(conflicts that were redone included); "machine busy" is both CPUs' non-idle time during the
load, "load" the 1-minute load average at its start (other work shares this machine).

| backend | unlocks/s | p50 ms | p99 ms | failed | server CPU ms/unlock | etcd CPU ms/unlock | etcd writes/unlock | etcd txns/unlock | machine busy | load |
|---|---|---|---|---|---|---|---|---|---|---|
$(row "file backend, 1 server, protocol 2" file-p2)
$(row "etcd backend, 1 server, protocol 2" etcd1-p2)
$(row "etcd backend, 3 servers on one cluster, protocol 2" etcd3-p2)$p1_rows
$(row "file backend, 1 server, one unlock at a time" file-seq)
$(row "etcd backend, 1 server, one unlock at a time" etcd1-seq)
$(row "etcd backend, 1 server, one unlock at a time, every etcd member stopped" etcd1-stopped)

| ratio (same run) | measured |
|---|---|
| unlocks/s, etcd / file backend, 1 server, protocol 2 | **$(ratio etcd1-p2 file-p2 rate)** |
| p99, etcd / file backend, 1 server, protocol 2 | **$(ratio etcd1-p2 file-p2 p99)** |
| unlocks/s, 3 servers on etcd / 1 server with the file backend, protocol 2 | $(ratio etcd3-p2 file-p2 rate) |
| p50 one at a time, etcd / file backend (an etcd round trip in the unlock would add about $(capf "$cap1" p50) ms) | $(ratio etcd1-seq file-seq p50) |
| p50 one at a time, etcd stopped / etcd running | $(ratio etcd1-stopped etcd1-seq p50) |
| one core of our server, unlocks/s (server CPU only: etcd on other machines), file / etcd backend | $(py "'%.0f / %.0f' % (1000 / $(per file-p2 srv), 1000 / $(per etcd1-p2 srv))") |
| etcd writes/s of the etcd backend's load, 1 server, protocol 2 / etcd's own write rate (below) | $(py "'%.2f' % ($(get etcd1-p2 rev) / $(get etcd1-p2 secs) / $(capf "$cap64" rate))") |
| the same, 3 servers (transactions/s, conflicts included) | $(py "'%.2f' % ($(get etcd3-p2 txn) / $(get etcd3-p2 secs) / $(capf "$cap64" rate))") |

etcd alone in the same run (a Python client over the JSON gateway, the backend's compare-and-put
of a 400-byte document): one at a time $(capf "$cap1" rate) writes/s (p50 $(capf "$cap1" p50) ms,
p99 $(capf "$cap1" p99) ms); 64 at once, each on its own key, $(capf "$cap64" rate) writes/s (p50
$(capf "$cap64" p50) ms, p99 $(capf "$cap64" p99) ms).  Blocks of the etcd servers (no quorum
for etcd_max_staleness) during the run: $blocked.
TABLE
)
echo "$table"
results_write "etcd results" "$table"
