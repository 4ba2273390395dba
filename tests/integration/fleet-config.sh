#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Bad fleet settings in mandos.conf (state_backend, etcd_endpoints, etcd_prefix,
# etcd_max_staleness): --check-config names FILE:LINE and the key and exits 78, and so does a
# start; good ones pass --check-config, and the file backend ignores the etcd settings.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server-lib.sh"

C=$T/conf
new_keys c1
section c1 > "$C/clients.conf"

# bad LINE... EXPECTED: mandos.conf with these lines after [DEFAULT] and port; --check-config and
# a start both exit 78 and print EXPECTED (the file's name before it).
bad() {
	printf '[DEFAULT]\nport = %s\n' "$PORT" > "$C/mandos.conf"
	while [ $# -gt 1 ]; do
		printf '%s\n' "$1" >> "$C/mandos.conf"
		shift
	done
	rc=0
	$VALGRIND "$MANDOS" --check-config --configdir "$C" > "$T/check" 2>&1 || rc=$?
	assert_eq "$rc" 78 "--check-config for '$1'"
	assert_contains "$T/check" "$C/mandos.conf$1"
	rc=0
	$VALGRIND "$MANDOS" --configdir "$C" --statedir "$T/state" --no-dbus --no-zeroconf \
		--foreground > "$T/start" 2>&1 || rc=$?
	assert_eq "$rc" 78 "a start with '$1'"
	assert_contains "$T/start" "$C/mandos.conf$1"
}

echo "# bad values"
bad 'state_backend = redis' ":3: state_backend: not \"file\" or \"etcd\": 'redis'"
bad 'state_backend = etcd' \
	":3: state_backend: etcd needs etcd_endpoints (one or more http(s):// URLs), not ''"
bad 'state_backend = etcd' 'etcd_endpoints = ,' \
	":4: etcd_endpoints: etcd needs etcd_endpoints (one or more http(s):// URLs), not ','"
bad 'state_backend = etcd' 'etcd_endpoints = 127.0.0.1:2379' \
	":4: etcd_endpoints: not an http:// or https:// URL: '127.0.0.1:2379'"
bad 'state_backend = etcd' 'etcd_endpoints = http://127.0.0.1:2379, ftp://x' \
	":4: etcd_endpoints: not an http:// or https:// URL: 'ftp://x'"
bad 'state_backend = etcd' 'etcd_endpoints = http://127.0.0.1:2379' 'etcd_prefix = mandos/' \
	":5: etcd_prefix: must start and end with '/': 'mandos/'"
bad 'state_backend = etcd' 'etcd_endpoints = http://127.0.0.1:2379' 'etcd_prefix = /mandos' \
	":5: etcd_prefix: must start and end with '/': '/mandos'"
bad 'state_backend = etcd' 'etcd_endpoints = http://127.0.0.1:2379' \
	'etcd_max_staleness = PT0S' ":5: etcd_max_staleness: must be at least 1 second: 'PT0S'"
bad 'state_backend = etcd' 'etcd_endpoints = http://127.0.0.1:2379' \
	'etcd_max_staleness = soon' ":5: etcd_max_staleness: invalid duration 'soon'"

echo "# good values pass"
printf '[DEFAULT]\nport = 1\nstate_backend = etcd\netcd_endpoints = %s\netcd_prefix = %s\n%s\n' \
	'http://127.0.0.1:2379 https://[::1]:2379,http://localhost:2379' /site/a/ \
	'etcd_max_staleness = PT1S' > "$C/mandos.conf"
rc=0
$VALGRIND "$MANDOS" --check-config --configdir "$C" > "$T/check" 2>&1 || rc=$?
assert_eq "$rc" 0 "--check-config on good fleet settings: $(cat "$T/check")"
# The file backend (the default) does not look at the etcd settings.
printf '[DEFAULT]\nport = 1\nstate_backend = file\netcd_endpoints = bogus\n' > "$C/mandos.conf"
rc=0
$VALGRIND "$MANDOS" --check-config --configdir "$C" > "$T/check" 2>&1 || rc=$?
assert_eq "$rc" 0 "--check-config with the file backend: $(cat "$T/check")"
echo "PASS"
