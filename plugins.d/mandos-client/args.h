/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-client's command line: options, defaults, and parsing of --connect and --interface. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <sys/socket.h>

#define MC_KEYDIR "/conf/conf.d/mandos"
#define MC_DEFAULT_PUBKEY MC_KEYDIR "/pubkey.txt"
#define MC_DEFAULT_SECKEY MC_KEYDIR "/seckey.txt"
#define MC_DEFAULT_TLS_PUBKEY MC_KEYDIR "/tls-pubkey.pem"
#define MC_DEFAULT_TLS_PRIVKEY MC_KEYDIR "/tls-privkey.pem"
#define MC_DEFAULT_DH_PARAMS MC_KEYDIR "/dhparams.pem"
#define MC_DEFAULT_SEAL_KEY MC_KEYDIR "/seal-privkey.pem"
#define MC_DEFAULT_SERVER_PINS MC_KEYDIR "/server-pins"
#define MC_DEFAULT_ESCROW_DIR MC_KEYDIR
#define MC_DEFAULT_SERVERS_SEEN "/run/mandos/servers-seen"
#define MC_DEFAULT_HOOK_DIR "/lib/mandos/network-hooks.d"

/* A server given with --connect. */
typedef struct ConnectTarget {
	char *text; /* as given, for messages and the CONNECT hook variable */
	int family; /* AF_INET or AF_INET6 */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	bool link_local;          /* IPv6 link-local: needs an interface as scope */
	char ifname[IF_NAMESIZE]; /* "" when no "%" scope was given */
} ConnectTarget;

typedef struct Args {
	ConnectTarget *connect; /* every --connect, in order */
	size_t n_connect;
	char **interfaces; /* every --interface name except "none", in order (NULL-terminated) */
	size_t n_interfaces;
	size_t n_bring_up; /* how many of them come before the first "none" */
	bool saw_none;
	const char *pubkey, *seckey, *tls_pubkey, *tls_privkey, *dh_params;
	const char *priority; /* --priority, NULL for the default (p1.h) */
	bool dh_params_given;
	unsigned dh_bits;
	const char *hook_dir;
	double delay, retry, timeout, secret_timeout;
	bool debug;
	bool allow_unsigned;
	/* Protocol 2 (spec/protocol-2.md §A.8.1). */
	int protocols[2];   /* --protocol: preference order, each 1 or 2 */
	size_t n_protocols; /* 0: not given (the default depends on the keys) */
	const char *seal_key, *server_pins, *servers_seen; /* servers_seen "" = off */
	bool seal_key_given;
	char **server_key_ids; /* every --server-key-id as given (checked later), NULL-ended */
	size_t n_server_key_ids;
	/* Part B (§B.3, §B.4.3). */
	const char *escrow_dir; /* the escrow-*.conf files */
	ConnectTarget *servers; /* every --server, in order: added to Zeroconf's */
	size_t n_servers;
} Args;

/*
 * Parse a --protocol list: "1", "2", "1,2" or "2,1" (no repeats).  Returns 0 and fills
 * ret/ret_n, or -EINVAL.
 */
int args_parse_protocols(const char *s, int ret[2], size_t *ret_n);

/*
 * Parse "ADDRESS:PORT" as --connect takes it: the port follows the last colon; an address
 * with a colon is IPv6 (brackets optional; "%IFNAME" scope allowed), else IPv4.  Returns 0,
 * or -EINVAL with a static message in *ret_error.
 */
int connect_target_parse(const char *s, ConnectTarget *ret, const char **ret_error);

/*
 * Add one --interface value: a comma-separated list.  "none" is dropped and stops the
 * bring-up list; empty names are ignored.  Returns 0 or -ENOMEM.
 */
int args_add_interfaces(Args *a, const char *list);

/* Free what connect_target_parse() made for each of n targets, and the array. */
void connect_targets_free(ConnectTarget *t, size_t n);

/*
 * Parse the command line (argp: --help, --usage and --version print and exit 0; usage errors
 * exit EX_USAGE).  Returns 0, or a sysexits code after logging why.
 */
int args_parse(Args *a, int argc, char **argv);

void args_done(Args *a);
