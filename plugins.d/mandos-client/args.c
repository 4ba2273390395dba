/* SPDX-License-Identifier: GPL-3.0-or-later */
/* argp option table for mandos-client and the parsing of addresses and interface lists. */
#include "args.h"

#include <arpa/inet.h>
#include <argp.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli-util.h"
#include "log.h"
#include "macro.h"
#include "p1.h"
#include "parse-util.h"

const char *argp_program_version = "mandos-client" CLI_VERSION_TAIL;
const char *argp_program_bug_address = CLI_BUG_ADDRESS;

enum {
	OPT_PRIORITY = 256,
	OPT_DH_BITS,
	OPT_DH_PARAMS,
	OPT_DELAY,
	OPT_RETRY,
	OPT_HOOK_DIR,
	OPT_DEBUG,
	OPT_TIMEOUT,
	OPT_SECRET_TIMEOUT,
	OPT_ALLOW_UNSIGNED,
	OPT_PROTOCOL,
	OPT_SEAL_KEY,
	OPT_SERVER_PINS,
	OPT_SERVER_KEY_ID,
	OPT_SERVERS_SEEN,
	OPT_ESCROW_DIR,
	OPT_SERVER,
};

static const struct argp_option options[] = {
        {NULL, 0, NULL, 0, "Server and interfaces:", 1},
        {"connect", 'c', "ADDRESS:PORT", 0,
         "Connect directly to this server instead of browsing with Zeroconf (may be repeated: "
         "all are tried at once)",
         1},
        {"server", OPT_SERVER, "ADDRESS:PORT", 0,
         "Also try this server, besides those Zeroconf finds (may be repeated; not with "
         "--connect)",
         1},
        {"interface", 'i', "NAME[,NAME...]", 0,
         "Network interfaces to bring up and use; \"none\" stops bringing up the rest", 1},
        {NULL, 0, NULL, 0, "Keys:", 2},
        {"pubkey", 'p', "FILE", 0, "OpenPGP public key file (default " MC_DEFAULT_PUBKEY ")", 2},
        {"seckey", 's', "FILE", 0, "OpenPGP secret key file (default " MC_DEFAULT_SECKEY ")", 2},
        {"tls-pubkey", 'T', "FILE", 0,
         "TLS raw public key, PEM (default " MC_DEFAULT_TLS_PUBKEY ")", 2},
        {"tls-privkey", 't', "FILE", 0,
         "TLS private key, PEM PKCS#8 (default " MC_DEFAULT_TLS_PRIVKEY ")", 2},
        {NULL, 0, NULL, 0, "Protocol 2:", 3},
        {"protocol", OPT_PROTOCOL, "LIST", 0,
         "Protocols to use, in order of preference: 1, 2, \"2,1\" or \"1,2\" (default 2,1 "
         "with a seal key, else 1)",
         3},
        {"seal-key", OPT_SEAL_KEY, "FILE", 0,
         "X25519 key that opens sealed secrets, PEM PKCS#8 (default " MC_DEFAULT_SEAL_KEY ")", 3},
        {"server-pins", OPT_SERVER_PINS, "FILE", 0,
         "Key ids of the servers to trust (default " MC_DEFAULT_SERVER_PINS ")", 3},
        {"server-key-id", OPT_SERVER_KEY_ID, "HEX", 0,
         "Trust a server with this key id (may be repeated)", 3},
        {"servers-seen", OPT_SERVERS_SEEN, "FILE", 0,
         "Where to note the key ids of servers that gave a secret (default " MC_DEFAULT_SERVERS_SEEN
         "; \"\" for nowhere)",
         3},
        {"escrow-dir", OPT_ESCROW_DIR, "DIR", 0,
         "Directory of the escrow bindings, escrow-*.conf (default " MC_DEFAULT_ESCROW_DIR ")", 3},
        {NULL, 0, NULL, 0, "TLS:", 4},
        {"priority", OPT_PRIORITY, "STRING", 0, "GnuTLS priority string", 4},
        {"dh-bits", OPT_DH_BITS, "BITS", 0, "Generate Diffie-Hellman parameters of this size", 4},
        {"dh-params", OPT_DH_PARAMS, "FILE", 0, "PEM PKCS#3 Diffie-Hellman parameters", 4},
        {"allow-unsigned", OPT_ALLOW_UNSIGNED, NULL, 0,
         "Accept a secret not signed by our own OpenPGP key (upstream never checked)", 4},
        {NULL, 0, NULL, 0, "Timing:", 5},
        {"delay", OPT_DELAY, "SECONDS", 0,
         "Longest wait for an interface to be running after bringing it up (default 2.5)", 5},
        {"retry", OPT_RETRY, "SECONDS", 0, "Wait between attempts at the same server (default 10)",
         5},
        {"timeout", OPT_TIMEOUT, "SECONDS", 0,
         "Limit for the TCP connect, the protocol line and the TLS handshake, each (default 10)",
         5},
        {"secret-timeout", OPT_SECRET_TIMEOUT, "SECONDS", 0,
         "Limit for receiving the secret after the handshake, which includes any approval delay "
         "(default 300)",
         5},
        {NULL, 0, NULL, 0, "Other:", 6},
        {"network-hook-dir", OPT_HOOK_DIR, "DIR", 0,
         "Directory of network hooks (default " MC_DEFAULT_HOOK_DIR ")", 6},
        {"debug", OPT_DEBUG, NULL, 0, "Print debugging messages", 6},
        {NULL, 0, NULL, 0, NULL, 0},
};

int connect_target_parse(const char *s, ConnectTarget *ret, const char **ret_error)
{
	ConnectTarget t = {};
	const char *colon = strrchr(s, ':');
	_cleanup_free_ char *host = NULL;
	char *pct;
	uint16_t port;
	size_t n;

	if (!colon) {
		*ret_error = "No colon in address";
		return -EINVAL;
	}
	if (parse_port(colon + 1, &port) < 0) {
		*ret_error = "Bad port number";
		return -EINVAL;
	}
	n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		host = strndup(s + 1, n - 2);
	} else {
		host = strndup(s, n);
	}
	if (!host) {
		*ret_error = "Out of memory";
		return -ENOMEM;
	}
	if (strchr(host, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t.addr;

		pct = strchr(host, '%');
		if (pct) {
			*pct++ = '\0';
			if (*pct == '\0' || strlen(pct) >= sizeof(t.ifname)) {
				*ret_error = "Bad interface name in address";
				return -EINVAL;
			}
			strcpy(t.ifname, pct);
		}
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			*ret_error = "Bad IPv6 address";
			return -EINVAL;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		t.family = AF_INET6;
		t.addr_len = sizeof(*sin6);
		t.link_local = IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&t.addr;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			*ret_error = "Bad IPv4 address";
			return -EINVAL;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		t.family = AF_INET;
		t.addr_len = sizeof(*sin);
	}
	t.text = strdup(s);
	if (!t.text) {
		*ret_error = "Out of memory";
		return -ENOMEM;
	}
	*ret = t;
	return 0;
}

int args_parse_protocols(const char *s, int ret[2], size_t *ret_n)
{
	int p[2];
	size_t n = 0;

	for (const char *i = s;; i++) {
		if ((*i != '1' && *i != '2') || n == 2 || (n == 1 && p[0] == *i - '0')) {
			return -EINVAL;
		}
		p[n++] = *i - '0';
		i++;
		if (*i == '\0') {
			break;
		}
		if (*i != ',') {
			return -EINVAL;
		}
	}
	memcpy(ret, p, sizeof(p));
	*ret_n = n;
	return 0;
}

int args_add_interfaces(Args *a, const char *list)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL;

	if (!copy) {
		return -ENOMEM;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char **n;

		if (strcmp(tok, "none") == 0) {
			a->saw_none = true;
			continue;
		}
		n = realloc(a->interfaces, (a->n_interfaces + 2) * sizeof(char *));
		if (!n) {
			return -ENOMEM;
		}
		a->interfaces = n;
		a->interfaces[a->n_interfaces] = strdup(tok);
		if (!a->interfaces[a->n_interfaces]) {
			return -ENOMEM;
		}
		a->interfaces[++a->n_interfaces] = NULL;
		if (!a->saw_none) {
			a->n_bring_up = a->n_interfaces;
		}
	}
	return 0;
}

static int parse_secs(struct argp_state *state, const char *what, const char *arg, double *ret)
{
	/* Milliseconds of it must fit an int, as upstream requires for --retry. */
	if (parse_seconds(arg, 2147483.0, ret) < 0) {
		argp_error(state, "Bad %s value: %s", what, arg);
		return EINVAL;
	}
	return 0;
}

/* One more --connect or --server target. */
static error_t add_target(struct argp_state *state, const char *arg, ConnectTarget **list,
                          size_t *n)
{
	ConnectTarget t, *nl;
	const char *err = NULL;

	if (connect_target_parse(arg, &t, &err) < 0) {
		argp_error(state, "%s: %s", err, arg);
		return EINVAL;
	}
	nl = realloc(*list, (*n + 1) * sizeof(*nl));
	if (!nl) {
		free(t.text);
		return ENOMEM;
	}
	*list = nl;
	nl[(*n)++] = t;
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	Args *a = state->input;
	unsigned u;

	switch (key) {
	case 'c':
		return add_target(state, arg, &a->connect, &a->n_connect);
	case OPT_SERVER:
		return add_target(state, arg, &a->servers, &a->n_servers);
	case OPT_ESCROW_DIR:
		a->escrow_dir = arg;
		return 0;
	case 'i':
		return args_add_interfaces(a, arg) < 0 ? ENOMEM : 0;
	case 'p':
		a->pubkey = arg;
		return 0;
	case 's':
		a->seckey = arg;
		return 0;
	case 'T':
		a->tls_pubkey = arg;
		return 0;
	case 't':
		a->tls_privkey = arg;
		return 0;
	case OPT_PRIORITY:
		a->priority = arg;
		return 0;
	case OPT_DH_BITS:
		if (parse_uint(arg, 65536, &u) < 0 || u == 0) {
			argp_error(state, "Bad --dh-bits value: %s", arg);
			return EINVAL;
		}
		a->dh_bits = u;
		return 0;
	case OPT_DH_PARAMS:
		a->dh_params = arg;
		a->dh_params_given = true;
		return 0;
	case OPT_DELAY:
		/* Unlike upstream, --delay leaves --retry alone. */
		return parse_secs(state, "--delay", arg, &a->delay);
	case OPT_RETRY:
		return parse_secs(state, "--retry", arg, &a->retry);
	case OPT_TIMEOUT:
		if (parse_secs(state, "--timeout", arg, &a->timeout) != 0) {
			return EINVAL;
		}
		if (a->timeout <= 0) {
			argp_error(state, "--timeout must be positive");
			return EINVAL;
		}
		return 0;
	case OPT_SECRET_TIMEOUT:
		if (parse_secs(state, "--secret-timeout", arg, &a->secret_timeout) != 0) {
			return EINVAL;
		}
		if (a->secret_timeout <= 0) {
			argp_error(state, "--secret-timeout must be positive");
			return EINVAL;
		}
		return 0;
	case OPT_ALLOW_UNSIGNED:
		a->allow_unsigned = true;
		return 0;
	case OPT_PROTOCOL:
		if (args_parse_protocols(arg, a->protocols, &a->n_protocols) < 0) {
			argp_error(state, "Bad --protocol value (1, 2, \"2,1\" or \"1,2\"): %s",
			           arg);
			return EINVAL;
		}
		return 0;
	case OPT_SEAL_KEY:
		a->seal_key = arg;
		a->seal_key_given = true;
		return 0;
	case OPT_SERVER_PINS:
		a->server_pins = arg;
		return 0;
	case OPT_SERVERS_SEEN:
		a->servers_seen = arg;
		return 0;
	case OPT_SERVER_KEY_ID: {
		char **n = realloc(a->server_key_ids, (a->n_server_key_ids + 2) * sizeof(char *));

		if (!n) {
			return ENOMEM;
		}
		a->server_key_ids = n;
		n[a->n_server_key_ids] = strdup(arg);
		if (!n[a->n_server_key_ids]) {
			return ENOMEM;
		}
		n[++a->n_server_key_ids] = NULL;
		return 0;
	}
	case OPT_HOOK_DIR:
		a->hook_dir = arg;
		return 0;
	case OPT_DEBUG:
		a->debug = true;
		return 0;
	case ARGP_KEY_ARG:
		argp_error(state, "Unexpected argument: %s", arg);
		return EINVAL;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

int args_parse(Args *a, int argc, char **argv)
{
	static const struct argp argp = {
	        .options = options,
	        .parser = parse_opt,
	        .doc = "Mandos client: get and decrypt a password from a Mandos server.",
	};
	error_t e;

	*a = (Args){
	        .pubkey = MC_DEFAULT_PUBKEY,
	        .seckey = MC_DEFAULT_SECKEY,
	        .tls_pubkey = MC_DEFAULT_TLS_PUBKEY,
	        .tls_privkey = MC_DEFAULT_TLS_PRIVKEY,
	        .dh_params = MC_DEFAULT_DH_PARAMS,
	        .hook_dir = MC_DEFAULT_HOOK_DIR,
	        .seal_key = MC_DEFAULT_SEAL_KEY,
	        .server_pins = MC_DEFAULT_SERVER_PINS,
	        .servers_seen = MC_DEFAULT_SERVERS_SEEN,
	        .escrow_dir = MC_DEFAULT_ESCROW_DIR,
	        .delay = 2.5,
	        .retry = 10,
	        .timeout = 10,
	        .secret_timeout = 300,
	};
	argp_err_exit_status = EX_USAGE;
	e = argp_parse(&argp, argc, argv, 0, NULL, a);
	if (e == ENOMEM) {
		log_oom();
		return EX_OSERR;
	}
	if (e) {
		return EX_USAGE;
	}
	if (a->n_servers > 0 && a->n_connect > 0) {
		/* --connect means these servers and no others, as upstream (§B.4.3 step 1). */
		log_error("--server adds to the servers Zeroconf finds; with --connect there is no "
		          "Zeroconf: give every server with --connect");
		return EX_USAGE;
	}
	return p1_check_priority(a->priority);
}

void connect_targets_free(ConnectTarget *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].text);
	}
	free(t);
}

void args_done(Args *a)
{
	connect_targets_free(a->connect, a->n_connect);
	connect_targets_free(a->servers, a->n_servers);
	strv_free(a->interfaces);
	strv_free(a->server_key_ids);
	*a = (Args){};
}
