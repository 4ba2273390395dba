/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The server as a whole: event loop, clients and their key index, listener, state, reload. */
#include "manager.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "audit.h"
#include "fleet.h"
#include "io-util.h"
#include "hs-pool.h"
#include "log.h"
#include "metrics.h"
#include "priority.h"
#include "state.h"
#include "upstream-state.h"

#define SAVE_SOON_USEC (100 * 1000ULL)
#define ACCEPT_BATCH 64

/* State-file bookkeeping as a client observer. */

static void save_soon(Manager *m)
{
	int enabled = SD_EVENT_OFF;

	m->state_dirty = true;
	if (!m->save_soon) {
		return;
	}
	if (sd_event_source_get_enabled(m->save_soon, &enabled) >= 0 && enabled != SD_EVENT_OFF) {
		return; /* already due: several changes make one save */
	}
	(void)sd_event_source_set_time_relative(m->save_soon, SAVE_SOON_USEC);
	(void)sd_event_source_set_enabled(m->save_soon, SD_EVENT_ONESHOT);
}

static void on_property_changed(Client *c, ClientProperty p, void *userdata)
{
	Manager *m = userdata;

	switch (p) {
	case CLIENT_PROP_APPROVAL_PENDING:
	case CLIENT_PROP_CHECKER_RUNNING:
		return; /* not persistent */
	case CLIENT_PROP_EXPIRES:
	case CLIENT_PROP_LAST_CHECKED_OK:
	case CLIENT_PROP_LAST_CHECKER_STATUS:
	case CLIENT_PROP_LAST_APPROVAL_REQUEST:
		/* Routine: thousands of clients bump these; the periodic save covers them. */
		m->state_dirty = true;
		return;
	default:
		/* Enabled, secret, settings: what must survive a crash. */
		save_soon(m);
		return;
	}
}

static const ClientObserver state_observer = {
        .property_changed = on_property_changed,
};

int manager_save_state(Manager *m)
{
	int r = state_save(m->settings->statedir, m->clients, m->n_clients, &m->kept);

	if (r < 0) {
		return log_warning_errno(r, "Could not save persistent state: %m");
	}
	m->state_dirty = false;
	log_debug("Saved state of %zu clients", m->n_clients);
	return 0;
}

static int on_save_soon(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)manager_save_state(userdata);
	return 0;
}

static int on_save_periodic(sd_event_source *s, uint64_t usec, void *userdata)
{
	Manager *m = userdata;

	if (m->state_dirty) {
		(void)manager_save_state(m);
	}
	(void)sd_event_source_set_time_relative(s, m->settings->state_save_interval_msec * 1000);
	return 0;
}

/* Signals. */

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	Manager *m = userdata;

	log_debug("Server received signal %u, exiting", si->ssi_signo);
	(void)sd_notify(0, "STOPPING=1");
	return sd_event_exit(m->event, 0);
}

static int on_hangup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	(void)audit_reopen(); /* for logrotate; a failure is logged and the old file stays */
	(void)manager_reload(userdata);
	return 0;
}

/* Connections. */

static Client *conn_lookup(void *userdata, const char *key_id)
{
	return manager_find_client(userdata, key_id);
}

/* What admission counted for a connection (its owner data). */
typedef struct Admission {
	RateSource *source;
	bool unauthenticated; /* still counted as such */
} Admission;

static void conn_closed(Connection *conn, void *userdata)
{
	Manager *m = userdata;
	Admission *a = connection_owner_data(conn);

	if (a) {
		ratelimit_closed(m->ratelimit, a->source, a->unauthenticated);
		free(a);
		connection_set_owner_data(conn, NULL);
	}
	connection_unlink(conn, &m->conn_head, &m->conn_tail);
	m->n_connections--;
	metrics_connection_closed();
}

/*
 * Connections tell nobody when they prove a key; a cap that looks reached is checked against
 * them first (cheap: only at the cap, and a flood from one source is mostly stopped by its
 * bucket before that).
 */
static void count_authenticated(Manager *m)
{
	for (Connection *c = m->conn_head; c; c = connection_next(c)) {
		Admission *a = connection_owner_data(c);

		if (a && a->unauthenticated && !connection_unauthenticated(c)) {
			ratelimit_authenticated(m->ratelimit, a->source);
			a->unauthenticated = false;
		}
	}
}

static void log_refusal(Manager *m, RateSource *src, RateVerdict v,
                        const struct sockaddr_storage *peer, uint64_t now)
{
	const ServerSettings *s = m->settings;
	char ip[INET6_ADDRSTRLEN] = "?";

	if (!ratelimit_log_due(m->ratelimit, src, v, now)) {
		return;
	}
	if (peer->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, ip, sizeof(ip));
	} else if (peer->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, ip, sizeof(ip));
	}
	switch (v) {
	case RATE_TOO_FAST:
		log_info("Refusing connections from %s: more than %u new connections per second "
		         "(burst %u)",
		         ip, s->source_rate, s->source_burst);
		break;
	case RATE_SOURCE_FULL:
		log_info("Refusing connections from %s: %u unauthenticated connections from its "
		         "network already",
		         ip, s->source_connections);
		break;
	default:
		log_info("Refusing connections (the latest from %s): %u unauthenticated "
		         "connections already",
		         ip, s->unauthenticated_connections);
		break;
	}
}

/* §A.7.4 for an accepted socket.  Returns its admission record, or NULL: close it at once. */
static Admission *admit(Manager *m, const struct sockaddr_storage *peer, socklen_t len)
{
	uint64_t now = 0;
	RateSource *src = NULL;
	RateVerdict v;
	Admission *a;

	(void)sd_event_now(m->event, CLOCK_MONOTONIC, &now);
	v = ratelimit_admit(m->ratelimit, (const struct sockaddr *)peer, len, now, &src);
	if (v == RATE_SOURCE_FULL || v == RATE_ALL_FULL) {
		count_authenticated(m);
		v = ratelimit_admit(m->ratelimit, (const struct sockaddr *)peer, len, now, &src);
	}
	if (v != RATE_OK) {
		metrics_connection_refused(v == RATE_TOO_FAST      ? "rate"
		                           : v == RATE_SOURCE_FULL ? "source"
		                                                   : "total");
		log_refusal(m, src, v, peer, now);
		return NULL;
	}
	a = malloc(sizeof(*a));
	if (!a) {
		ratelimit_closed(m->ratelimit, src, true);
		log_oom();
		return NULL;
	}
	*a = (Admission){.source = src, .unauthenticated = true};
	return a;
}

/* Make room by closing the oldest connection that has not proved a key yet. */
static bool evict_one(Manager *m)
{
	for (Connection *c = m->conn_head; c; c = connection_next(c)) {
		if (connection_unauthenticated(c)) {
			connection_abort(c, "too many connections, closing the oldest idle one");
			return true;
		}
	}
	return false;
}

static int on_listen(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Manager *m = userdata;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		Connection *conn;
		Admission *a;
		int cfd;

		/* TCP_NODELAY comes from the listening socket (manager_open_listener()). */
		cfd = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				log_warning_errno(errno, "accept() failed: %m");
			}
			break;
		}
		a = admit(m, &peer, len);
		if (!a) {
			safe_close(cfd);
			continue;
		}
		if (m->n_connections >= m->settings->max_connections && !evict_one(m)) {
			log_warning("Too many connections; refusing one");
			metrics_connection_refused("max");
			ratelimit_closed(m->ratelimit, a->source, true);
			free(a);
			safe_close(cfd);
			continue;
		}
		if (connection_new(&m->conn_server, cfd, (struct sockaddr *)&peer, len, &conn) <
		    0) {
			ratelimit_closed(m->ratelimit, a->source, true);
			free(a);
			continue;
		}
		connection_set_owner_data(conn, a);
		connection_link(conn, &m->conn_head, &m->conn_tail);
		m->n_connections++;
		metrics_connection_opened();
		connection_start(conn);
	}
	return 0;
}

/* Setup. */

static void gnutls_log(int level, const char *s)
{
	size_t n = strlen(s);

	log_debug("GnuTLS: %.*s", (int)(n && s[n - 1] == '\n' ? n - 1 : n), s);
}

int manager_new(const ServerSettings *settings, Manager **ret)
{
	_cleanup_(manager_freep) Manager *m = NULL;
	const char *err = NULL;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m) {
		return log_oom();
	}
	m->settings = settings;
	m->listen_fd = -EBADF;
	m->store = secret_store_new();
	if (!m->store) {
		return log_oom();
	}
	m->ctx.store = m->store;
	m->ctx.checker_output_to_null = settings->foreground && !settings->debug;
	client_context_add_observer(&m->ctx, &state_observer, m);
	m->ratelimit = ratelimit_new(&(RateLimitConfig){
	        .rate = settings->source_rate,
	        .burst = settings->source_burst,
	        .per_source = settings->source_connections,
	        .total = settings->unauthenticated_connections,
	});
	if (!m->ratelimit) {
		return log_oom();
	}

	r = priority_init(&m->priority, settings->priority, &err);
	if (r < 0) {
		log_error("Bad GnuTLS priority string '%s': %s at '%s'", settings->priority,
		          gnutls_strerror(r), err ? err : "?");
		return -EINVAL;
	}
	r = gnutls_certificate_allocate_credentials(&m->credentials);
	if (r < 0) {
		log_error("Cannot allocate TLS credentials: %s", gnutls_strerror(r));
		return -ENOMEM;
	}
	m->protocols = PROTOCOL_BIT(1); /* until manager_set_protocols() */
	m->conn_server = (ConnServer){
	        .protocols = m->protocols,
	        .ctx = &m->ctx,
	        .priority = m->priority,
	        .credentials = m->credentials,
	        .timeout_usec = settings->connection_timeout_msec * 1000,
	        .lookup = conn_lookup,
	        .closed = conn_closed,
	        .userdata = m,
	};
	if (asprintf(&m->clients_conf, "%s/clients.conf", settings->configdir) < 0) {
		return log_oom();
	}
	*ret = TAKE_PTR(m);
	return 0;
}

void manager_set_protocols(Manager *m, unsigned protocols, P2Identity *identity)
{
	p2_identity_free(m->p2_identity);
	m->p2_identity = identity;
	m->protocols = protocols;
	m->conn_server.p2_identity = identity;
	/* For connections 0 would mean protocol 1 only: keep what was asked for instead, which
	 * without an identity serves nothing. */
	m->conn_server.protocols = protocols ? protocols : m->settings->protocols;
}

void manager_block_signals(void)
{
	sigset_t ss;

	sigemptyset(&ss);
	sigaddset(&ss, SIGCHLD);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int manager_setup_loop(Manager *m)
{
	int r;

	manager_block_signals();

	r = sd_event_new(&m->event);
	if (r < 0) {
		return log_error_errno(r, "Cannot create the event loop: %m");
	}
	if ((r = sd_event_add_signal(m->event, &m->sig_term, SIGTERM, on_terminate, m)) < 0 ||
	    (r = sd_event_add_signal(m->event, &m->sig_int, SIGINT, on_terminate, m)) < 0 ||
	    (r = sd_event_add_signal(m->event, &m->sig_hup, SIGHUP, on_hangup, m)) < 0 ||
	    (r = sd_event_add_time_relative(m->event, &m->save_soon, CLOCK_MONOTONIC,
	                                    SAVE_SOON_USEC, 10000, on_save_soon, m)) < 0) {
		return log_error_errno(r, "Cannot set up the event loop: %m");
	}
	(void)sd_event_source_set_enabled(m->save_soon, SD_EVENT_OFF);
	m->ctx.event = m->event;
	m->conn_server.event = m->event;
	if (m->settings->debug) {
		gnutls_global_set_log_level(11);
		gnutls_global_set_log_function(gnutls_log);
	}
	return 0;
}

static void drop_clients(Manager *m, bool notify_removed)
{
	for (size_t i = 0; i < m->n_clients; i++) {
		if (notify_removed) {
			CLIENT_NOTIFY(&m->ctx, client_removed, m->clients[i]);
		}
		client_mark_removed(m->clients[i]);
		client_unref(m->clients[i]);
	}
	free(m->clients);
	m->clients = NULL;
	m->n_clients = 0;
	m->by_key_id = strmap_free(m->by_key_id);
	m->by_name = strmap_free(m->by_name);
}

/*
 * Take the skipped section names of a load (cfg NULL: just free them).  Without memory for
 * their map no name counts as skipped: those clients are removed as before.
 */
static void take_skipped(Manager *m, ClientsConfig *cfg)
{
	m->skipped_names = strmap_free(m->skipped_names);
	for (size_t i = 0; i < m->n_skipped; i++) {
		free(m->skipped[i]);
	}
	free(m->skipped);
	m->skipped = NULL;
	m->n_skipped = 0;
	if (!cfg) {
		return;
	}
	m->skipped = TAKE_PTR(cfg->skipped);
	m->n_skipped = cfg->n_skipped;
	cfg->n_skipped = 0;
	m->skipped_names = strmap_new(m->n_skipped);
	for (size_t i = 0; m->skipped_names && i < m->n_skipped; i++) {
		if (strmap_add(m->skipped_names, m->skipped[i], m->skipped[i]) == -ENOMEM) {
			m->skipped_names = strmap_free(m->skipped_names);
		}
	}
	if (!m->skipped_names) {
		log_oom();
	}
}

static bool is_skipped(const Manager *m, const char *name)
{
	return m->skipped_names && strmap_get(m->skipped_names, name);
}

/* Forget the kept records of clients whose sections are no longer skipped (gone, or back). */
static void drop_unskipped(Manager *m)
{
	SavedState *k = &m->kept;
	size_t n = 0;

	for (size_t i = 0; i < k->n; i++) {
		if (is_skipped(m, k->clients[i].name)) {
			k->clients[n++] = k->clients[i];
			continue;
		}
		log_info("Forgetting the state of client %s: its section is gone from %s",
		         k->clients[i].name, m->clients_conf);
		saved_client_done(&k->clients[i]);
	}
	k->n = n;
}

/* Keep `sc` (moved from) for a client whose section is skipped; replaces a record of that name. */
static int keep_record(Manager *m, SavedClient *sc)
{
	for (size_t i = 0; i < m->kept.n; i++) {
		if (strcmp(m->kept.clients[i].name, sc->name) == 0) {
			saved_client_done(&m->kept.clients[i]);
			m->kept.clients[i] = *sc;
			*sc = (SavedClient){0};
			return 0;
		}
	}
	return saved_state_append(&m->kept, sc);
}

Manager *manager_free(Manager *m)
{
	if (!m) {
		return NULL;
	}
	while (m->conn_head) {
		connection_abort(m->conn_head, NULL);
	}
	m->conn_server.pool = hs_pool_free(m->conn_server.pool);
	drop_clients(m, false);
	saved_state_done(&m->kept);
	take_skipped(m, NULL);
	m->fleet = fleet_free(m->fleet);
	m->ratelimit = ratelimit_free(m->ratelimit);
	m->p2_identity = p2_identity_free(m->p2_identity);
	checker_forget_stopped();
	sd_event_source_disable_unref(m->listen_source);
	sd_event_source_disable_unref(m->save_soon);
	sd_event_source_disable_unref(m->save_periodic);
	sd_event_source_disable_unref(m->sig_term);
	sd_event_source_disable_unref(m->sig_int);
	sd_event_source_disable_unref(m->sig_hup);
	safe_close(m->listen_fd);
	if (m->priority) {
		gnutls_priority_deinit(m->priority);
	}
	if (m->credentials) {
		gnutls_certificate_free_credentials(m->credentials);
	}
	secret_store_free(m->store);
	sd_event_unref(m->event);
	free(m->clients_conf);
	free(m);
	return NULL;
}

static int rebuild_index(Manager *m)
{
	StrMap *keys = strmap_new(m->n_clients), *names = strmap_new(m->n_clients);

	if (!keys || !names) {
		goto oom;
	}
	for (size_t i = 0; i < m->n_clients; i++) {
		Client *c = m->clients[i];

		if (strmap_add(names, c->name, c) < 0) {
			goto oom;
		}
		if (c->s.key_id[0] && keyid_is_acceptable(c->s.key_id)) {
			int r = strmap_add(keys, c->s.key_id, c);

			if (r < 0) {
				goto oom;
			}
			if (r == 0) {
				log_warning("Client %s has the same key_id as an earlier client; "
				            "the earlier one is used",
				            c->name);
			}
		}
	}
	strmap_free(m->by_key_id);
	strmap_free(m->by_name);
	m->by_key_id = keys;
	m->by_name = names;
	return 0;
oom:
	/* No index at all rather than one pointing at clients that may go away. */
	strmap_free(keys);
	strmap_free(names);
	m->by_key_id = strmap_free(m->by_key_id);
	m->by_name = strmap_free(m->by_name);
	return log_oom();
}

int manager_remove_client(Manager *m, Client *c)
{
	size_t i;

	for (i = 0; i < m->n_clients && m->clients[i] != c; i++) {
	}
	if (i == m->n_clients) {
		return -ENOENT;
	}
	memmove(&m->clients[i], &m->clients[i + 1], (m->n_clients - i - 1) * sizeof(Client *));
	m->n_clients--;
	log_info("Removing client %s", c->name);
	fleet_client_deleted(m->fleet, c); /* the other servers drop it too */
	CLIENT_NOTIFY(&m->ctx, client_removed, c);
	client_mark_removed(c);
	(void)rebuild_index(m);
	client_unref(c);
	save_soon(m);
	return 0;
}

Client *manager_find_client(Manager *m, const char *key_id)
{
	return m->by_key_id ? strmap_get(m->by_key_id, key_id) : NULL;
}

Client *manager_find_client_by_name(Manager *m, const char *name)
{
	return m->by_name ? strmap_get(m->by_name, name) : NULL;
}

/* Upstream's merge of saved state into a client made from the new clients.conf (spec 2.8). */
static void restore_client(Manager *m, Client *c, SavedClient *sc, realtime_t now,
                           SecBuf *secret)
{
	unsigned changed = client_settings_diff(&c->config, &sc->config);

	/* Release times (§A.5.2) count whatever the release limit is now. */
	free(c->releases);
	c->releases = TAKE_PTR(sc->releases);
	c->n_releases = sc->n_releases;
	sc->n_releases = 0;

	(void)client_settings_assign(&c->s, &sc->s, CS_ALL & ~changed);
	if (sc->created) {
		c->created = sc->created;
	}
	c->last_checked_ok = sc->last_checked_ok;
	c->last_checker_status = sc->last_checker_status;
	c->last_approval_request = sc->last_approval_request;
	/* Only while in the future (a past one is dropped); arms the timer that ends it. */
	client_set_approved_until(c, sc->approved_until);
	if (!c->s.enabled) {
		c->last_enabled = 0;
		c->expires = 0;
	} else if ((changed & CS_ENABLED) || !sc->s.enabled) {
		/* Enabled by an edit of clients.conf: a fresh start. */
		c->last_enabled = now;
		c->expires = now + c->s.timeout * 1000;
	} else {
		c->last_enabled = sc->last_enabled ? sc->last_enabled : now;
		c->expires = sc->expires;
		if (now >= c->expires) {
			if (!c->last_checked_ok) {
				log_warning("disabling client %s - Client never performed a "
				            "successful checker",
				            c->name);
				c->s.enabled = false;
			} else if (c->last_checker_status != 0) {
				log_warning("disabling client %s - Client last checker failed "
				            "with error code %d",
				            c->name, c->last_checker_status);
				c->s.enabled = false;
			} else {
				c->expires = now + c->s.timeout * 1000;
				log_debug("Last checker succeeded, keeping %s enabled", c->name);
			}
			if (!c->s.enabled) {
				c->last_enabled = 0;
				c->expires = 0;
				c->disabled_by = CLIENT_DISABLED_BY_TIMEOUT;
			}
		}
	}
	if (!sc->secret_box) {
		/* Imported from upstream: the clients.conf secret stays. */
	} else if (state_decrypt_secret(sc, &c->state_key, secret) >= 0) {
		Secret n;

		if (secret_store_put(m->store, secret->data, secret->len, &n) >= 0) {
			secret_store_drop(m->store, &c->secret);
			c->secret = n;
		}
		secbuf_clear(secret);
	} else {
		log_debug("Failed to decrypt %s old secret", c->name);
	}
}

static int load_config(Manager *m, ClientsConfig *ret)
{
	_cleanup_free_ char *err = NULL;
	int r;

	r = clients_config_load(m->clients_conf, m->store, ret, &err);
	if (r == -ENOENT) {
		*ret = (ClientsConfig){0};
		return 0;
	}
	if (r < 0) {
		if (err) {
			log_error("%s", err);
			return -EBADMSG;
		}
		return log_error_errno(r, "Cannot read %s: %m", m->clients_conf);
	}
	return 0;
}

int manager_load_config(Manager *m)
{
	ClientsConfig cfg = {0};
	int r;

	r = load_config(m, &cfg);
	if (r < 0) {
		return r;
	}
	m->clients = calloc(MAX(cfg.n, 1), sizeof(Client *));
	if (!m->clients) {
		r = log_oom();
		goto out;
	}
	for (size_t i = 0; i < cfg.n; i++) {
		r = client_new(&m->ctx, &cfg.clients[i], &m->clients[m->n_clients]);
		if (r < 0) {
			log_oom();
			goto out;
		}
		m->n_clients++;
	}
	if (m->n_clients == 0) {
		log_warning("No clients defined");
	}
	take_skipped(m, &cfg);
	r = rebuild_index(m);
out:
	clients_config_done(&cfg, m->store);
	/* The parsed file was large and is gone: give the memory back. */
	malloc_trim(0);
	return r;
}

typedef struct RestoreCtx {
	Manager *m;
	realtime_t now;
	size_t restored;
	SecBuf *scratch; /* decrypted secrets pass through here */
} RestoreCtx;

static int restore_one(SavedClient *sc, void *userdata)
{
	RestoreCtx *rc = userdata;
	Client *c = manager_find_client_by_name(rc->m, sc->name);

	if (c) {
		restore_client(rc->m, c, sc, rc->now, rc->scratch);
		rc->restored++;
	} else if (is_skipped(rc->m, sc->name)) {
		log_info("Keeping the saved state of client %s until its section in %s loads",
		         sc->name, rc->m->clients_conf);
		return keep_record(rc->m, sc) < 0 ? log_oom() : 0;
	}
	return 0;
}

/*
 * First start after upstream's server: its clients.pickle, read but left in place (our next
 * save writes clients.state, which is used from then on).  Returns 1 when the pickle was
 * there (imported, or a warning logged saying why not), -ENOENT when it is absent too, or
 * -errno from restoring.
 */
static int import_upstream_state(Manager *m, RestoreCtx *rc)
{
	_cleanup_free_ char *path = NULL, *why = NULL;
	int r;

	if (asprintf(&path, "%s/%s", m->settings->statedir, UPSTREAM_STATE_FILE_NAME) < 0) {
		return log_oom();
	}
	r = upstream_state_read(path, restore_one, rc, &why);
	if (r == -ENOENT) {
		return r;
	}
	if (r < 0) {
		if (why) {
			log_warning("Could not import upstream's state from %s: %s; starting from "
			            "%s",
			            path, why, m->clients_conf);
		} else {
			log_warning_errno(r,
			                  "Could not import upstream's state from %s: %m; "
			                  "starting from %s",
			                  path, m->clients_conf);
		}
		return 1;
	}
	log_info("Imported upstream's state from %s: %d clients in it, %zu in %s; the file is "
	         "left in place",
	         path, r, rc->restored, m->clients_conf);
	log_info("Secrets come from %s: a secret set over D-Bus on upstream's server is not "
	         "carried over",
	         m->clients_conf);
	return 1;
}

int manager_restore_state(Manager *m)
{
	_cleanup_free_ char *state_path = NULL;
	RestoreCtx rc = {.m = m, .now = now_realtime()};
	int r;

	if (!m->settings->restore) {
		return 0;
	}
	if (asprintf(&state_path, "%s/%s", m->settings->statedir, STATE_FILE_NAME) < 0) {
		return log_oom();
	}
	rc.scratch = secbuf_new(4096, SECRET_MAX);
	if (!rc.scratch) {
		return log_oom();
	}
	r = state_read(state_path, restore_one, &rc);
	if (r == -ENOENT) {
		r = import_upstream_state(m, &rc);
	}
	secbuf_free(rc.scratch);
	malloc_trim(0);
	if (r == 1) {
		return 0; /* upstream's state, or why not, was logged */
	}
	if (r == -ENOENT || r == -EBADMSG) {
		log_warning_errno(r, "Could not load persistent state: %m");
		return 0;
	}
	if (r < 0) {
		return log_critical_errno(r, "Could not load persistent state: %m");
	}
	log_debug("Restored the state of %zu clients", rc.restored);
	return 0;
}

/*
 * A client new in a reload whose state was kept while its section was skipped: that state,
 * merged as at start (restore_client()).  Returns 0 or -ENOMEM (logged).
 */
static int restore_kept(Manager *m, Client *c, SecBuf **scratch)
{
	SavedState *k = &m->kept;

	for (size_t i = 0; i < k->n; i++) {
		if (strcmp(k->clients[i].name, c->name) != 0) {
			continue;
		}
		if (!*scratch) {
			*scratch = secbuf_new(4096, SECRET_MAX);
			if (!*scratch) {
				return log_oom();
			}
		}
		restore_client(m, c, &k->clients[i], now_realtime(), *scratch);
		saved_client_done(&k->clients[i]);
		k->clients[i] = k->clients[--k->n];
		log_info("Client %s: its section loads again, with the state kept for it", c->name);
		return 0;
	}
	return 0;
}

int manager_reload(Manager *m)
{
	_cleanup_(strmap_freep) StrMap *new_names = NULL;
	_cleanup_secbuf_ SecBuf *scratch = NULL;
	ClientsConfig cfg = {0};
	Client **clients;
	size_t added = 0, removed = 0, updated = 0, n = 0;
	int r;

	(void)sd_notify(0, "RELOADING=1");
	log_info("Reloading %s", m->clients_conf);
	r = load_config(m, &cfg);
	if (r < 0) {
		log_error("Reload failed; keeping the current clients");
		(void)sd_notify(0, "READY=1");
		return r;
	}
	take_skipped(m, &cfg);
	clients = calloc(MAX(cfg.n, 1), sizeof(Client *));
	new_names = strmap_new(cfg.n);
	if (!clients || !new_names) {
		free(clients);
		clients_config_done(&cfg, m->store);
		(void)sd_notify(0, "READY=1");
		return log_oom();
	}
	for (size_t i = 0; i < cfg.n; i++) {
		ClientConfig *cc = &cfg.clients[i];
		Client *c = manager_find_client_by_name(m, cc->name);

		(void)strmap_add(new_names, cc->name, cc);
		if (c) {
			unsigned changed = client_settings_diff(&cc->settings, &c->config);
			ClientSettings copy;

			if (client_settings_copy(&cc->settings, &copy) < 0) {
				r = log_oom();
				break;
			}
			(void)client_apply_settings(c, &cc->settings, changed);
			client_settings_done(&c->config);
			c->config = copy;
			if (client_replace_delivery(c, &cc->delivery)) {
				changed |= CS_ALL + 1;
			}
			if (memcmp(cc->secret_id, c->config_secret_id, SECRET_ID_SIZE) != 0) {
				/* The config secret changed: it wins over a runtime one. */
				secret_store_drop(m->store, &c->secret);
				secret_store_drop(m->store, &c->state_key);
				c->secret = cc->secret;
				c->state_key = cc->state_key;
				cc->secret = cc->state_key = (Secret){0};
				memcpy(c->config_secret_id, cc->secret_id, SECRET_ID_SIZE);
				CLIENT_NOTIFY(&m->ctx, property_changed, c, CLIENT_PROP_SECRET);
				changed |= CS_ALL + 1;
			}
			if (changed) {
				updated++;
			}
			clients[n++] = client_ref(c);
		} else {
			r = client_new(&m->ctx, cc, &c);
			if (r < 0) {
				log_oom();
				break;
			}
			r = restore_kept(m, c, &scratch);
			if (r < 0) {
				client_unref(c);
				break;
			}
			client_start(c);
			CLIENT_NOTIFY(&m->ctx, client_added, c);
			clients[n++] = c;
			added++;
		}
	}
	if (r < 0) {
		for (size_t i = 0; i < n; i++) {
			client_unref(clients[i]);
		}
		free(clients);
		clients_config_done(&cfg, m->store);
		(void)sd_notify(0, "READY=1");
		return r;
	}
	for (size_t i = 0; i < m->n_clients; i++) {
		Client *c = m->clients[i];

		if (!strmap_get(new_names, c->name)) {
			SavedClient sc = {0};

			if (!is_skipped(m, c->name)) {
				log_info("Removing client %s", c->name);
			} else if (state_snapshot(c, &sc) < 0 || keep_record(m, &sc) < 0) {
				saved_client_done(&sc);
				log_oom();
				log_info("Removing client %s (its section is skipped)", c->name);
			} else {
				log_info("Removing client %s while its section is skipped; its "
				         "state is kept until the section loads again",
				         c->name);
			}
			CLIENT_NOTIFY(&m->ctx, client_removed, c);
			client_mark_removed(c);
			removed++;
		}
		client_unref(c);
	}
	free(m->clients);
	m->clients = clients;
	m->n_clients = n;
	drop_unskipped(m);
	clients_config_done(&cfg, m->store);
	r = rebuild_index(m);
	log_info("Reloaded %s: %zu clients, %zu added, %zu removed, %zu changed", m->clients_conf,
	         m->n_clients, added, removed, updated);
	if (m->n_clients == 0) {
		log_warning("No clients defined");
	}
	fleet_clients_changed(m->fleet);
	save_soon(m);
	(void)sd_notify(0, "READY=1");
	return r;
}

/* Listening. */

static int bind_address(Manager *m, int fd)
{
	const ServerSettings *s = m->settings;
	struct addrinfo hints =
	                        {
	                                .ai_family = s->use_ipv6 ? AF_INET6 : AF_INET,
	                                .ai_socktype = SOCK_STREAM,
	                                .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	                        },
	                *ai = NULL;
	char port[16];
	int one = 1, r;

	snprintf(port, sizeof(port), "%d", s->port > 0 ? s->port : 0);
	if (s->port > 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	r = getaddrinfo(*s->address ? s->address : NULL, port, &hints, &ai);
	if (r != 0) {
		log_error("Cannot use address '%s': %s", s->address, gai_strerror(r));
		return -EINVAL;
	}
	if (ai->ai_family == AF_INET6 && *s->interface) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ai->ai_addr;

		if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) && s6->sin6_scope_id == 0) {
			s6->sin6_scope_id = if_nametoindex(s->interface);
		}
	}
	r = bind(fd, ai->ai_addr, ai->ai_addrlen);
	if (r < 0) {
		r = negative_errno();
		log_error_errno(r, "Cannot bind to address '%s', port %s: %m", s->address, port);
	}
	freeaddrinfo(ai);
	return r;
}

int manager_open_listener(Manager *m)
{
	const ServerSettings *s = m->settings;
	_cleanup_close_ int fd = -EBADF;
	bool from_systemd = false;
	int r;

	if (s->socket_fd >= 0) {
		fd = fd_move_above_stdio(s->socket_fd);
		if (fd < 0) {
			return log_error_errno(fd, "Bad --socket %d: %m", s->socket_fd);
		}
	} else if (sd_listen_fds(1) == 1) {
		fd = SD_LISTEN_FDS_START;
		from_systemd = true;
	} else {
		fd = socket(s->use_ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			return log_error_errno(errno, "Cannot create a socket: %m");
		}
	}
	(void)fd_set_cloexec(fd, true);
	if (*s->interface) {
		if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, s->interface,
		               (socklen_t)strlen(s->interface) + 1) < 0) {
			if (errno == EPERM) {
				log_error("No permission to bind to interface %s", s->interface);
			} else if (errno == ENOPROTOOPT) {
				log_error("SO_BINDTODEVICE not available; cannot bind to interface "
				          "%s",
				          s->interface);
			} else if (errno == ENODEV) {
				log_error("Interface %s does not exist, cannot bind", s->interface);
			} else {
				return log_error_errno(errno, "Cannot bind to interface %s: %m",
				                       s->interface);
			}
		}
	}
	if (!from_systemd && (*s->address || s->port > 0)) {
		r = bind_address(m, fd);
		if (r < 0) {
			return r;
		}
	}
	if (listen(fd, SOMAXCONN) < 0) {
		return log_error_errno(errno, "Cannot listen: %m");
	}
	/* Linux copies it into every accepted socket: one setsockopt() here, none per accept. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	r = fd_set_nonblock(fd, true);
	if (r < 0) {
		return log_error_errno(r, "Cannot make the socket non-blocking: %m");
	}
	{
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char ip[INET6_ADDRSTRLEN] = "?";

		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
			if (ss.ss_family == AF_INET6) {
				struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

				inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
				log_info("Now listening on address '%s', port %u, flowinfo %u, "
				         "scope_id %u",
				         ip, ntohs(s6->sin6_port), ntohl(s6->sin6_flowinfo),
				         s6->sin6_scope_id);
			} else if (ss.ss_family == AF_INET) {
				struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

				inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
				log_info("Now listening on address '%s', port %u", ip,
				         ntohs(s4->sin_port));
			}
		}
	}
	m->listen_fd = TAKE_FD(fd);
	return 0;
}

int manager_start(Manager *m)
{
	int r;

	for (size_t i = 0; i < m->n_clients; i++) {
		CLIENT_NOTIFY(&m->ctx, client_added, m->clients[i]);
		client_start(m->clients[i]);
	}
	r = sd_event_add_io(m->event, &m->listen_source, m->listen_fd, EPOLLIN, on_listen, m);
	if (r < 0) {
		return log_error_errno(r, "Cannot watch the listening socket: %m");
	}
	r = sd_event_add_time_relative(m->event, &m->save_periodic, CLOCK_MONOTONIC,
	                               m->settings->state_save_interval_msec * 1000, 1000000,
	                               on_save_periodic, m);
	if (r < 0) {
		return log_error_errno(r, "Cannot set up the state timer: %m");
	}
	(void)sd_event_source_set_enabled(m->save_periodic, SD_EVENT_ON);
	/* Save soon (not before readiness): the state on disk then matches this configuration. */
	save_soon(m);
	(void)sd_notifyf(0, "READY=1\nSTATUS=Serving %zu clients", m->n_clients);
	return 0;
}

int manager_run(Manager *m)
{
	unsigned n;
	int r;

	/* Threads only now: after the daemon's forks and the privilege drop. */
	n = hs_pool_default_workers();
	if (n > 0) {
		r = hs_pool_new(m->event, n, &m->conn_server.pool);
		if (r < 0) {
			log_warning_errno(r, "Cannot start handshake threads; handshakes run in the main loop: %m");
		} else {
			log_debug("Handshakes run on %u threads", n);
		}
	}
	log_debug("Starting main loop");
	r = sd_event_loop(m->event);
	if (r < 0) {
		log_error_errno(r, "Event loop failed: %m");
	}
	log_debug("Server exiting");
	while (m->conn_head) {
		connection_abort(m->conn_head, NULL);
	}
	m->conn_server.pool = hs_pool_free(m->conn_server.pool);
	(void)manager_save_state(m);
	return r < 0 ? 1 : 0;
}
