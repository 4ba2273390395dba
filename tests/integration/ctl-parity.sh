#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Our mandos-ctl prints exactly what upstream's prints, exits the same, and leaves the server
# in the same state, for every option (server: $MANDOS_TEST_SERVER, default upstream's).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ctl-lib.sh"

# Clients: two made by mandos-keygen, and hand-written ones exercising every column,
# durations over a day, disabled clients, and text that needs escaping in JSON.
for k in kg1 kg2; do
	mkdir -p "$T/$k"
	mandos-keygen --dir "$T/$k" --force >/dev/null 2>&1 || fail "mandos-keygen failed"
	printf 'secret of %s\n' "$k" >"$T/$k.pw"
	mandos-keygen --dir "$T/$k" --passfile "$T/$k.pw" --no-ssh --name "$k" \
		>"$T/$k.conf" 2>/dev/null || fail "mandos-keygen --passfile failed"
done
A64=$(printf 'A%.0s' $(seq 64))
B64=$(printf 'B%.0s' $(seq 64))
C64=$(printf 'C%.0s' $(seq 64))
cat >"$T/clients.conf" <<EOF2
[DEFAULT]
timeout = PT5M
interval = P1D
checker = true

[foo]
key_id = $A64
fingerprint = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
secret = c2VjcmV0Cg==
host = foo.example.org
timeout = P1DT2H3M5S

[bar-baz.qux]
key_id = $B64
fingerprint = 0123456789ABCDEF0123456789ABCDEF01234567
secret = c2VjcmV0Cg==
checker = false
approval_delay = PT30S
approval_duration = PT2S
approved_by_default = False
extended_timeout = P2W
enabled = False

[weird]
key_id = $C64
fingerprint = CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC
secret = c2VjcmV0Cg==
host = häst.example
checker = test "a\\b" != 'blåbär'

EOF2
cat "$T/kg1.conf" "$T/kg2.conf" >>"$T/clients.conf"

start_bus A
start_bus B
start_server A "$T/clients.conf"
start_server B "$T/clients.conf"

# Give some clients a checker result, the same way on both servers.
for bus in A B; do
	run_ctl upstream $bus "$T/prep" --start-checker foo bar-baz.qux weird
done
wait_checkers A B

# Listing and querying: both programs against the same server.
same
same -v
same --verbose
same -j
same --dump-json
same foo
same foo kg1 bar-baz.qux
same kg2 foo kg2
same -v weird kg1
same -j bar-baz.qux weird
same nonexistent
same foo nonexistent
same -V foo
same -V bar-baz.qux
same --is-enabled kg1
same --debug
same --debug -j foo
same --debug -v bar-baz.qux
same --verb
same --dump
same -- foo
same -- -e
same -5

# Usage errors (exit 2) and their texts; help (ours has our protocol 2 options after
# upstream's text).
same_help -h
same_help --help
same -a
same -e
same -V
same -V foo kg1
same -v -e foo
same -j -v
same -j -j
same -j foo -e
same -a -v
same -r -e foo
same -e -r foo
same -e -d foo
same -ed foo
same -ex foo
same -e=1 foo
same --enable=1 foo
same --all=1
same -hx
same --start-checker --stop-checker foo
same --approve-by-default --deny-by-default foo
same -A -D foo
same --ver
same --app foo
same --approval-d 1 foo
same --s foo
same --st foo
same --foo
# Our options (--escrow, --shred, --force) are never abbreviations: upstream's are unchanged.
same --e foo
same --f foo
same --sh foo
same --es
same --foo=1 bar
same -x
same -c
same -t
same --timeout
same -c -x foo
same -s /nonexistent/file foo
same -s / foo
same foo -e kg1
same -e foo -b kg1
same -t 5 -V foo kg1
COLUMNS=40 same_help -h
COLUMNS=40 same -a
COLUMNS=200 same_help -h
COLUMNS=12 same_help -h
COLUMNS=12 same_version
# Upstream reads its test options first with a parser of their own.
same --check=1
same --ch=x
same --prefix
same --pre -e
same --prefix x foo
same_version

# State changes: upstream's mandos-ctl drives server A, ours server B; after every step
# both print the same and both servers hold the same state.
step -d foo
step -e bar-baz.qux
step --debug -b foo kg1
step -t PT1H foo
step --timeout=PT2H30M kg2
step --extended-timeout 5m bar-baz.qux
step -i 50000000 -a
step --approval-delay PT30S --approval-duration PT2S foo
step --approval-delay 1w2d3h4m5s6 kg1
step --approve-by-default bar-baz.qux
step --deny-by-default foo
step -H newhost.example foo
step --host 'ä "quoted" \back' kg2
step -c false kg1
step --debug --checker "printf '%s\\n' it\\'s" weird
STEP_SETTLE=1 step --start-checker foo bar-baz.qux kg1
step --stop-checker foo
step -A foo
printf 'blob\001\377"\n' >"$T/blob"
step --debug -s "$T/blob" foo kg2
step --secret=/dev/null bar-baz.qux
step --debug -D bar-baz.qux
step --approve -e -tPT3H kg2 kg1
step -V foo
step -V bar-baz.qux
step -d -a
step --enable --all
step --debug -D -r weird
step -r bar-baz.qux
step -D -r -D kg2

# No server on the bus.
stop_server A
same
same --debug
same -j foo
same -e foo
