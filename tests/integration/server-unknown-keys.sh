#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Unknown keys in mandos.conf and clients.conf: warnings with FILE:LINE at start and on SIGHUP
# (the server still starts and serves, as upstream's would), keys used by %(name)s are not
# unknown, and --check-config reports every error and warning (exit 0 clean, 78 otherwise).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"

C=$T/conf
new_keys c1
# check_config: run --check-config on $C; its status in $rc and its output in $T/check.
check_config() {
	rc=0
	$VALGRIND "$MANDOS" --check-config --configdir "$C" >"$T/check" 2>&1 || rc=$?
}

echo "# --check-config: clean files exit 0 and print nothing"
printf '[DEFAULT]\nport = 1\nmax_connections = 10\n\n[ignored]\nwhatever = 1\n' >"$C/mandos.conf"
{
	printf '[DEFAULT]\ninterval = PT1S\nchecker = true\n\n'
	# mandos-keygen's ssh checker: ssh_fingerprint is used by %(ssh_fingerprint)s.
	section c1 'checker = grep %%(host)s" %(ssh_fingerprint)s"' \
		'ssh_fingerprint = ssh-ed25519 AAAA'
} >"$C/clients.conf"
check_config
assert_eq "$rc" 0 "--check-config on clean files: $(cat "$T/check")"
[ ! -s "$T/check" ] || fail "output for clean files: $(cat "$T/check")"

echo "# an unknown key in mandos.conf or a client section: a warning, exit 78"
printf '[DEFAULT]\nport = 1\nprot = 2\n' >"$C/mandos.conf"
check_config
assert_eq "$rc" 78 "--check-config with an unknown mandos.conf key"
assert_contains "$T/check" "$C/mandos.conf:3: unknown key 'prot' in section [DEFAULT]"
printf '[DEFAULT]\nport = 1\n' >"$C/mandos.conf"
{
	printf '[DEFAULT]\ninterval = PT1S\nchecker = true\n\n'
	section c1 'chekcer = false'
} >"$C/clients.conf"
line=$(grep -n '^chekcer' "$C/clients.conf" | cut -d: -f1)
check_config
assert_eq "$rc" 78 "--check-config with an unknown clients.conf key"
assert_contains "$T/check" "$C/clients.conf:$line: unknown key 'chekcer' in section [c1]"
assert_contains "$T/check" "(did you mean 'checker'?)"

echo "# every error and warning at once: two bad values, a warning in each file"
printf '[DEFAULT]\nport = 1\nrestore = sometimes\nservicenmae = x\n' >"$C/mandos.conf"
{
	printf '[DEFAULT]\nunused = 1\n\n'
	section c1 'timeout = soon'
	printf '[c2]\nkey_id = %064d\nsecret = Y!==\n' 2
} >"$C/clients.conf"
check_config
assert_eq "$rc" 78 "--check-config with errors"
assert_contains "$T/check" "$C/mandos.conf:3: "
assert_contains "$T/check" "$C/mandos.conf:4: unknown key 'servicenmae'"
assert_contains "$T/check" "$C/clients.conf:2: unknown key 'unused' in section [DEFAULT]"
assert_contains "$T/check" "$C/clients.conf:$(grep -n '^timeout = soon' "$C/clients.conf" |
	cut -d: -f1): invalid duration 'soon'"
assert_contains "$T/check" "$C/clients.conf:$(grep -n '^secret = Y!' "$C/clients.conf" |
	cut -d: -f1): c2: invalid base64 secret"
# A missing clients.conf: no clients, a warning.
rm "$C/clients.conf"
printf '[DEFAULT]\nport = 1\n' >"$C/mandos.conf"
check_config
assert_eq "$rc" 78 "--check-config without clients.conf"
assert_contains "$T/check" "No clients defined"

echo "# the server's start logs the warnings, and still starts and serves"
printf '[DEFAULT]\nprot = 2\n' >"$C/mandos.conf"
{
	printf '[DEFAULT]\ninterval = PT1S\nchecker = true\n\n'
	section c1 'chekcer = false'
} >"$C/clients.conf"
line=$(grep -n '^chekcer' "$C/clients.conf" | cut -d: -f1)
start_server
log_wait "$C/mandos.conf:2: unknown key 'prot' in section [DEFAULT]"
log_wait "$C/clients.conf:$line: unknown key 'chekcer' in section [c1]"
for f in "mandos.conf:2" "clients.conf:$line"; do
	grep -F "$C/$f: unknown key" "$T/server.log" | grep -q "mandos \[[0-9]*\]: WARNING: " ||
		fail "not logged as a warning: $(grep -F "unknown key" "$T/server.log")"
done
assert_unlocks c1

echo "# SIGHUP: a key added since is reported too"
{
	printf '[DEFAULT]\ninterval = PT1S\nchecker = true\n\n'
	section c1 'hots = c1.example'
} >"$C/clients.conf"
line=$(grep -n '^hots' "$C/clients.conf" | cut -d: -f1)
kill -HUP "$SERVER_PID"
log_wait "$C/clients.conf:$line: unknown key 'hots' in section [c1] (did you mean 'host'?)"
log_wait "Reloaded"
assert_unlocks c1
stop_server
echo ok
