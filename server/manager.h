/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The server as a whole: event loop, clients and their key index, listener, state, reload. */
#pragma once

#include <stdbool.h>

#include <gnutls/gnutls.h>
#include <systemd/sd-event.h>

#include "client.h"
#include "config.h"
#include "hashmap.h"
#include "keys.h"
#include "ratelimit.h"
#include "state.h"
#include "tls-conn.h"

typedef struct Manager {
	sd_event *event;
	const ServerSettings *settings;
	ClientContext ctx;
	SecretStore *store;

	Client **clients; /* clients.conf order */
	size_t n_clients;
	StrMap *by_key_id; /* key ID -> first client with it */
	StrMap *by_name;

	int listen_fd;
	sd_event_source *listen_source;
	ConnServer conn_server;
	gnutls_priority_t priority;
	gnutls_certificate_credentials_t credentials;
	Connection *conn_head, *conn_tail;
	unsigned n_connections;
	RateLimiter *ratelimit; /* §A.7.4, before any crypto, both protocols */
	/* Protocol 2's server key (NULL: protocol 2 off) and the protocols served (§A.1). */
	P2Identity *p2_identity;
	unsigned protocols;

	/* The etcd backend (fleet.h), NULL with the file backend. */
	struct Fleet *fleet;

	char *clients_conf;
	/* The sections of clients.conf skipped at the last load (malloc()ed names, and a map of
	 * them), and the saved state of those clients, kept until their sections load again or
	 * leave the file. */
	char **skipped;
	size_t n_skipped;
	StrMap *skipped_names;
	SavedState kept;
	bool state_dirty;
	sd_event_source *save_soon;     /* a change worth saving: save shortly */
	sd_event_source *save_periodic; /* save every state_save_interval anyway */
	sd_event_source *sig_term, *sig_int, *sig_hup;
	int exit_code;
} Manager;

/*
 * The GnuTLS objects, the secret store and an empty client set; no event loop yet (it must
 * be made in the process that runs it).  Returns 0 or -errno (logged; -EINVAL for a bad
 * priority string).
 */
int manager_new(const ServerSettings *settings, Manager **ret);

/*
 * Block the signals the event loop handles (TERM, INT, HUP, CHLD) and ignore SIGPIPE.  main()
 * calls it before the port opens, so that a signal sent as soon as the server accepts waits
 * for the loop; manager_setup_loop() calls it again.
 */
void manager_block_signals(void);

/*
 * Block the signals sd-event handles (before any checker starts), create the event loop and
 * its signal and timer sources.  Returns 0 or -errno (logged).
 */
int manager_setup_loop(Manager *m);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free)

/*
 * Read clients.conf (secfiles too: call while privileged) and create the clients.  Returns
 * 0, -EBADMSG for a bad clients.conf ("FILE:LINE: reason" logged), or -errno.
 */
int manager_load_config(Manager *m);

/*
 * Merge the saved state into the clients (unless --no-restore), by upstream's rules.  A
 * missing or malformed file is a warning; other errors are returned (logged as critical).
 */
int manager_restore_state(Manager *m);

/* Create (or adopt) and bind the listening socket, as spec 2.1 describes; logs errors. */
int manager_open_listener(Manager *m);

/* Start checkers and accepting; report readiness to systemd. */
int manager_start(Manager *m);

/* Run until SIGTERM/SIGINT; saves state on the way out.  Returns the exit code. */
int manager_run(Manager *m);

/* Re-read clients.conf, keeping runtime state (SIGHUP).  Returns 0 or -errno (logged). */
int manager_reload(Manager *m);

/*
 * Serve these protocols (PROTOCOL_BIT() mask) with this protocol 2 identity (taken over; NULL
 * without protocol 2), as server_key_setup() decided.  Before manager_start().
 */
void manager_set_protocols(Manager *m, unsigned protocols, P2Identity *identity);

/* Save the state file now.  Returns 0 or -errno (logged as upstream's warning). */
int manager_save_state(Manager *m);

/*
 * Remove a client at run time (D-Bus RemoveClient): observers get client_removed, the client
 * is disabled quietly, connections using it let go.  Returns 0 or -ENOENT.
 */
int manager_remove_client(Manager *m, Client *c);

/* The client for an acceptable key ID, or NULL. */
Client *manager_find_client(Manager *m, const char *key_id);
Client *manager_find_client_by_name(Manager *m, const char *name);
