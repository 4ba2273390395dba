# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for the mandos-client tests (sourced after lib.sh): keys, a private bus, upstream's server.
MC=${MC:-$BUILD/plugins.d/mandos-client/mandos-client}
UPSTREAM_SERVER=/usr/sbin/mandos

# make_keys DIR: OpenPGP and TLS keys as upstream's mandos-keygen makes them (2048-bit, fast).
make_keys() {
	mkdir -p "$1"
	mandos-keygen --dir "$1" --force --length 2048 --sublength 2048 >/dev/null 2>&1 ||
		fail "mandos-keygen failed"
}

# start_bus: a private system bus for upstream's server; exports DBUS_SYSTEM_BUS_ADDRESS.
start_bus() {
	private_bus "$T/bus"
	export DBUS_SYSTEM_BUS_ADDRESS="$BUS"
}

# write_server_conf DIR [EXTRA_MANDOS_CONF_LINES]: an empty mandos.conf and clients.conf.
write_server_conf() {
	mkdir -p "$1" "$T/state"
	chmod 755 "$1" "$T/state"
	printf '[DEFAULT]\n%s\n' "${2:-}" >"$1/mandos.conf"
	printf '[DEFAULT]\nchecker = /bin/true\n' >"$1/clients.conf"
	chmod 644 "$1/mandos.conf" "$1/clients.conf"
}

# add_client CONFDIR KEYDIR NAME PASSFILE [EXTRA_LINES]: append a section made by mandos-keygen.
add_client() {
	mandos-keygen --dir "$2" --passfile "$4" --no-ssh --name "$3" >>"$1/clients.conf" ||
		fail "mandos-keygen section failed"
	[ -z "${5:-}" ] || printf '%s\n' "$5" >>"$1/clients.conf"
}

# start_upstream_server CONFDIR PORT [ADDRESS]: upstream's mandos on loopback; log in $T/server.log.
start_upstream_server() {
	# Its own process group: the server forks a child per connection, and children waiting
	# for an approval survive the parent's SIGTERM.  Nothing needs saving: kill them all.
	TMPDIR="$T" setsid "$UPSTREAM_SERVER" --configdir "$1" --statedir "$T/state" --no-dbus --no-zeroconf \
		--address "${3:-::1}" --port "$2" --foreground --debug >"$T/server.log" 2>&1 &
	_srv_pid=$!
	on_exit "kill -KILL -$_srv_pid"
	wait_for_port "$2" 20
}

# client_args KEYDIR: the key options for mandos-client.
client_keys() {
	echo "--pubkey=$1/pubkey.txt --seckey=$1/seckey.txt --tls-pubkey=$1/tls-pubkey.pem --tls-privkey=$1/tls-privkey.pem"
}
