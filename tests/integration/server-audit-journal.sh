#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The audit log with audit_log = journal (issue 14, man mandos(8) AUDIT LOG): a real
# systemd-journald, private to this test (a mount namespace with its own /run; volatile
# storage; no kernel log), gets one entry per decision with the MANDOS_* fields, and none
# holds a secret; without a journald the server serves all the same and logs what is lost.
# Root only (the mount namespace).
if [ -z "${AUDIT_JOURNAL_NS:-}" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (a mount namespace)" >&2; exit 77; }
	command -v unshare >/dev/null || { echo "SKIP: needs unshare" >&2; exit 77; }
	AUDIT_JOURNAL_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"
. "$(dirname "$0")/server-p2-lib.sh"
. "$(dirname "$0")/audit-lib.sh"
JOURNALD=""
for f in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
	[ -x "$f" ] && JOURNALD=$f && break
done
[ -n "$JOURNALD" ] || skip "needs systemd-journald"
require_cmd journalctl

# Our own /run (only in this namespace), with journald's sockets and its volatile journal.
mount -t tmpfs -o mode=755 tmpfs /run || fail "cannot mount a tmpfs on /run"
mkdir -p /run/systemd/journal /run/systemd/journald.conf.d /run/log/journal
printf '[Journal]\nStorage=volatile\nReadKMsg=no\n%s\n' \
	'ForwardToSyslog=no' 'ForwardToKMsg=no' 'ForwardToConsole=no' 'ForwardToWall=no' \
	> /run/systemd/journald.conf.d/test.conf
journal() {
	journalctl -D /run/log/journal --no-pager MESSAGE_ID=6e28b6fcfb494e21b9073bf1989de866 "$@"
}

printf '[DEFAULT]\nsource_rate = 0\naudit_log = journal\nserver_name = journal-test\n' \
	> "$T/conf/mandos.conf"
new_keys one
p2_keys ok
p2_keys stranger
{
	printf '[DEFAULT]\nchecker = true\ninterval = PT1H\n\n'
	section one
	p2_section ok
} > "$T/conf/clients.conf"
mkdir -p "$T/state"
chmod 777 "$T/state"

# No journald yet: the server starts and serves all the same, and says what is lost (at the
# start: sd_journal_send() drops records silently while there is no journal socket).
start_server
log_wait "audit records are lost until journald runs"
assert_p2_unlocks ok
stop_server

"$JOURNALD" > "$T/journald.log" 2>&1 &
on_exit "kill $!"
wait_for 20 test -S /run/systemd/journal/socket ||
	fail "journald does not start: $(cat "$T/journald.log")"
start_server

assert_unlocks one
assert_p2_unlocks ok
assert_p2_result stranger "code=1 flags=0 value=0"
_entries() {
	[ "$(journal -o cat | wc -l)" -ge "$1" ]
}
wait_for 15 _entries 3 || fail "not 3 audit entries in the journal: $(journal -o cat)"
stop_server

journal -o json > "$T/entries.json"
# The sender's command name: ours, or valgrind's when our server runs under it.
comm=mandos
[ -z "${VALGRIND:-}" ] || comm=memcheck-amd64-
python3 - "$T/entries.json" "$(key_id one | tr a-f A-F)" \
	"$(p2_key_id ok)" "$(p2_key_id stranger)" "$comm" <<'PY' || fail "the journal entries"
import json, sys
path, kid_one, kid_ok, kid_stranger, comm = sys.argv[1:]
entries = [json.loads(l) for l in open(path)]
want = [
    {"MANDOS_CLIENT": "one", "MANDOS_KEY_ID": kid_one, "MANDOS_PROTOCOL": "1",
     "MANDOS_DECISION": "granted", "PRIORITY": "6"},
    {"MANDOS_CLIENT": "ok", "MANDOS_KEY_ID": kid_ok, "MANDOS_PROTOCOL": "2",
     "MANDOS_DECISION": "granted", "MANDOS_REASON": "sealed", "PRIORITY": "6"},
    {"MANDOS_KEY_ID": kid_stranger, "MANDOS_PROTOCOL": "2",
     "MANDOS_DECISION": "unknown_client", "PRIORITY": "5"},
]
if len(entries) != len(want):
    sys.exit(f"{len(entries)} entries, expected {len(want)}")
for e, w in zip(entries, want):
    w = dict(w, MANDOS_SERVER="journal-test", MANDOS_ADDRESS="::1", MANDOS_INTERFACE="lo",
             SYSLOG_IDENTIFIER="mandos")
    for k, v in w.items():
        if e.get(k) != v:
            sys.exit(f"{k} = {e.get(k)!r}, expected {v!r} in {e}")
    mine = {k for k in e if k.startswith("MANDOS_")}
    allowed = {"MANDOS_SERVER", "MANDOS_CLIENT", "MANDOS_KEY_ID", "MANDOS_ADDRESS",
               "MANDOS_INTERFACE", "MANDOS_PROTOCOL", "MANDOS_DECISION", "MANDOS_REASON",
               "MANDOS_LATENCY_USEC"}
    if not mine <= allowed:
        sys.exit(f"unknown fields {mine - allowed}")
    if "MANDOS_CLIENT" not in w and "MANDOS_CLIENT" in e:
        sys.exit(f"MANDOS_CLIENT for an unknown key: {e}")
    if not e.get("MANDOS_LATENCY_USEC", "").isdigit():
        sys.exit(f"MANDOS_LATENCY_USEC {e.get('MANDOS_LATENCY_USEC')!r}")
    if not e["MESSAGE"].startswith("Mandos decision: " + w["MANDOS_DECISION"] + " for "):
        sys.exit(f"MESSAGE {e['MESSAGE']!r}")
    if e.get("_COMM") != comm:
        sys.exit(f"_COMM {e.get('_COMM')!r}: not from our server")
PY

# Every field of every entry, as journald stored them: no secret in any form.
journal -o export > "$T/entries.export"
awk '/^secret =/ { on = 1; next } on && /^[ \t]/ { print; next } { on = 0 }' \
	"$T/keys-one/section" > "$T/keys-one/secret.b64"
audit_no_secret "$T/entries.export" "$T/entries.json" --raw "$T/keys-one/pw" "$T"/p2-*/pw \
	--b64 "$T/keys-one/secret.b64" "$T"/p2-*/sealed
echo "audit log in a private journald: 3 entries with the MANDOS_* fields, no secret"
