/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The servers mandos-client knows: attempts over protocols 1 and 2, fallback, retries, output. */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <avahi-common/timeval.h>
#include <sodium.h>

#include "log.h"
#include "macro.h"
#include "p2lines.h"
#include "privs.h"
#include "sealed.h"
#include "seen.h"

static void server_attempt(Server *s);
static void server_attempt_step(Server *s, size_t step);

static void server_free(Server *s)
{
	p1_stop(s);
	p2conn_free(s->p2);
	bindings_session_free(s->escrow);
	if (s->retry_timer) {
		s->client->api->timeout_free(s->retry_timer);
	}
	free(s->shown_key);
	free(s->shown_state);
	free(s->where);
	free(s->name);
	free(s);
}

static void server_retry_cb(AvahiTimeout *t, void *userdata)
{
	Server *s = userdata;

	server_attempt(s);
}

static void server_schedule_retry(Server *s)
{
	Client *c = s->client;
	double wait = MAX(c->args.retry, s->retry_at_least);
	struct timeval tv;

	if (c->have_password) {
		return;
	}
	s->retry_at_least = 0;
	log_info("Retrying %s in %g seconds", s->name, wait);
	avahi_elapse_time(&tv, (unsigned)client_ms_of(wait), 0);
	if (s->retry_timer) {
		c->api->timeout_update(s->retry_timer, &tv);
	} else {
		s->retry_timer = c->api->timeout_new(c->api, &tv, server_retry_cb, s);
	}
}

/*
 * A console line about s (§A.4.3), printed unless *slot already holds state (once per change
 * of state per server).  state NULL: always printed.
 */
static void server_say(Server *s, char **slot, const char *state, const char *text)
{
	if (state) {
		if (*slot && strcmp(*slot, state) == 0) {
			return;
		}
		free(*slot);
		*slot = strdup(state);
	}
	if (text && *text) {
		log_warning("server %s: %s", s->where, text);
	}
}

/*
 * With a threshold binding every server's state is a share's (§B.4.3), so a server that cannot
 * be reached is named on the console too, once until its state changes.
 */
static void server_say_unreachable(Server *s, int r)
{
	char line[128];

	if (!s->client->escrow.any_threshold) {
		return;
	}
	snprintf(line, sizeof(line), "not reachable (%s); trying again later", strerror(-r));
	server_say(s, &s->shown_state, line, line);
}

/* Forget the last outcome line: the next one is printed whatever it is. */
static void server_state_reset(Server *s)
{
	free(s->shown_state);
	s->shown_state = NULL;
}

static int route_helper(Server *s, const char *cmd)
{
	Client *c = s->client;
	const char *dir = getenv("MANDOSPLUGINHELPERDIR");
	char ifname[IF_NAMESIZE], addr[INET6_ADDRSTRLEN];
	_cleanup_free_ char *path = NULL;
	const void *a;
	int status;

	if (!dir || !*dir) {
		log_debug("MANDOSPLUGINHELPERDIR not set: no route helper");
		return -ENOENT;
	}
	if (!if_indextoname((unsigned)s->ifindex, ifname)) {
		return negative_errno();
	}
	if (s->addr.ss_family == AF_INET6) {
		a = &((struct sockaddr_in6 *)&s->addr)->sin6_addr;
	} else {
		a = &((struct sockaddr_in *)&s->addr)->sin_addr;
	}
	if (!inet_ntop(s->addr.ss_family, a, addr, sizeof(addr))) {
		return negative_errno();
	}
	if (asprintf(&path, "%s/mandos-client-iprouteadddel", dir) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	{
		const char *argv[] = {"mandos-client-iprouteadddel",    cmd, addr, ifname,
		                      c->args.debug ? "--debug" : NULL, NULL};

		status = run_as_root(path, argv, NULL, -1);
	}
	if (status < 0) {
		return log_warning_errno(status, "Failed to run %s: %m", path);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_warning("Route helper failed to %s a route to %s on %s", cmd, addr, ifname);
		return -EIO;
	}
	return 0;
}

static void server_route_cleanup(Server *s)
{
	if (s->route_added) {
		(void)route_helper(s, "delete");
		s->route_added = false;
	}
}

bool client_has_protocol(const int *list, size_t n, int p)
{
	for (size_t i = 0; i < n; i++) {
		if (list[i] == p) {
			return true;
		}
	}
	return false;
}

void client_drop_protocol(Client *c, int p)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_protocols; i++) {
		if (c->protocols[i] != p) {
			c->protocols[n++] = c->protocols[i];
		}
	}
	c->n_protocols = n;
}

/*
 * The protocols to try at s, in order: the client's, with protocol 1 first at a server whose
 * TXT lists protocols without 2 (§A.8.1; with pins configured, 1 is not in the list at all).
 */
static size_t server_protocols(const Server *s, int ret[2])
{
	const Client *c = s->client;
	size_t n = c->n_protocols;

	memcpy(ret, c->protocols, n * sizeof(int));
	if (n == 2 && ret[0] == 2 && s->txt_protocols && !(s->txt_protocols & PROTOCOL_BIT(2))) {
		ret[0] = 1;
		ret[1] = 2;
	}
	return n;
}

/* Print a §A.4.3 line pair once per change of state. */
static void server_say_line(Server *s, const P2Line *l)
{
	if (s->shown_state && strcmp(s->shown_state, l->state) == 0) {
		return;
	}
	server_say(s, &s->shown_state, l->state, l->text);
	server_say(s, NULL, NULL, l->detail);
}

/*
 * A retry round ends when no attempt runs any more: then each threshold binding still short
 * of shares says how many it has (§B.4.3).
 */
static void servers_check_round(Client *c)
{
	if (!c->round_open || c->have_password) {
		return;
	}
	for (Server *o = c->servers; o; o = o->next) {
		if (o->conn || o->p2) {
			return;
		}
	}
	c->round_open = false;
	bindings_say_waiting(&c->escrow);
}

/* Next attempt: the next protocol at once (true) or a retry later (false). */
void client_attempt_done(Server *s, bool next_protocol)
{
	Client *c = s->client;
	int order[2];
	size_t n = server_protocols(s, order);

	server_route_cleanup(s);
	if (c->have_password) {
		return;
	}
	if (next_protocol && s->step + 1 < n) {
		log_debug("Trying the next protocol at Mandos server %s", s->name);
		server_attempt_step(s, s->step + 1);
		return;
	}
	server_schedule_retry(s);
	servers_check_round(c);
}

/* Note a server that gave a secret in the servers-seen file; failures only logged (§A.9.3). */
static void note_seen(Client *c, const char *key_id, const char *where)
{
	const char *path = c->args.servers_seen;
	bool raised;
	int r;

	if (!path || !*path || !key_id || !where) {
		return;
	}
	raised = privs_raise() == 0;
	r = servers_seen_add(path, key_id, where);
	if (raised) {
		(void)privs_lower();
	}
	if (r < 0) {
		log_info_errno(r, "Failed to note server %s in %s: %m", where, path);
	}
}

void client_secret_recovered(Server *from)
{
	Client *c = from->client;

	c->have_password = true;
	for (Server *o = c->servers; o; o = o->next) {
		if (o == from) {
			continue;
		}
		if (o->p2 || o->conn) {
			log_warning(
			        "server %s: session stopped (the secret was recovered elsewhere)",
			        o->where);
		}
		o->p2 = p2conn_free(o->p2);
		o->escrow = bindings_session_free(o->escrow);
		p1_stop(o);
		server_route_cleanup(o);
		if (o->retry_timer) {
			c->api->timeout_free(o->retry_timer);
			o->retry_timer = NULL;
		}
	}
	avahi_simple_poll_quit(c->simple_poll);
}

static void server_got_secret(Server *s, SecBuf *secret)
{
	Client *c = s->client;

	c->password = secbuf_free(c->password);
	c->password = secret;
	client_secret_recovered(s);
}

/* Note the servers whose shares opened a threshold binding. */
static void note_shares(Client *c, const EscrowBinding *e)
{
	for (size_t i = 0; i < e->b.n_keys; i++) {
		if (e->opened[i]) {
			note_seen(c, e->from[i], e->from_where[i]);
		}
	}
}

/* RESULT OK: open the sealed item, then the escrow items, into secure memory. */
static void server_p2_open(Server *s, P2Conn *conn, const P2Result *res)
{
	Client *c = s->client;
	const EscrowBinding *from = NULL;
	SecBuf *secret = NULL;
	int r;

	for (size_t i = 0; i < res->n_items; i++) {
		const P2ResultItem *it = &res->items[i];

		if (it->kind != P2_ITEM_SEALED) {
			continue;
		}
		r = p2_sealed_open(it->data, it->len, c->p2.seal, &secret);
		if (r == -ENOMEM) {
			log_oom();
			return;
		}
		if (r < 0) {
			server_say(s, &s->shown_state, "no open",
			           "the sealed secret it sent does not open (wrong seal key?)");
			break;
		}
		log_debug("Opened a sealed secret of %zu bytes from %s", secret->len, s->name);
		note_seen(c, p2conn_server_key_id(conn), s->where);
		server_got_secret(s, secret);
		return;
	}
	if (c->escrow.n_items > 0) {
		uint8_t raw[P2_KEY_ID_LEN];

		p2_key_id_raw(c->p2.identity->pk, raw);
		r = bindings_answer(&c->escrow, s->escrow, res, s->where,
		                    p2conn_server_key_id(conn), raw, &secret, &from);
		sodium_memzero(raw, sizeof(raw));
		if (r == -ENOMEM) {
			log_oom();
			return;
		}
		if (r > 0) {
			log_debug("Opened an escrow secret of %zu bytes (%s)", secret->len,
			          from->file);
			if (from->b.threshold) {
				note_shares(c, from);
			} else {
				note_seen(c, p2conn_server_key_id(conn), s->where);
			}
			server_got_secret(s, secret);
			return;
		}
	}
	log_info("Mandos server %s sent no item that opens the secret", s->name);
}

static void server_p2_authenticated(P2Conn *conn, const char *key_id, bool pinned, void *userdata)
{
	Server *s = userdata;
	char line[128];

	s->pinned = pinned;
	snprintf(line, sizeof(line), "key ID %s (%s)", key_id, pinned ? "pinned" : "not pinned");
	server_say(s, &s->shown_key, line, line);
}

static void server_p2_status(P2Conn *conn, const P2Status *st, void *userdata)
{
	Server *s = userdata;
	P2Line l;

	p2line_status(st, s->pinned, &l);
	server_say_line(s, &l);
}

/*
 * After a RESULT from a server that proved its key: whether asking it again (or over the next
 * protocol) could still give something.  Without a seal key, only escrow items it may answer
 * for that are not open yet can (bindings_want_from()).
 */
static bool server_may_help(Server *s, P2Conn *conn, bool next_protocol)
{
	Client *c = s->client;
	int order[2];

	if (c->have_password || c->p2.seal || c->escrow.n_items == 0) {
		return true;
	}
	if (next_protocol && s->step + 1 < server_protocols(s, order)) {
		return true;
	}
	return bindings_want_from(&c->escrow, p2conn_server_key_id(conn));
}

static void server_p2_done(P2Conn *conn, int r, const P2Result *res, P2ConnStage stage,
                           const char *why, void *userdata)
{
	Server *s = userdata;
	Client *c = s->client;
	bool next = false;

	if (r == 0 && res->code == P2_OK) {
		if (!c->have_password) {
			server_p2_open(s, conn, res);
		}
	} else if (r == 0) {
		P2Line l;

		p2line_result(res, s->pinned, c->p2.key_id, &l);
		server_say_line(s, &l);
		if (res->code == P2_TRY_LATER) {
			s->retry_at_least = p2line_try_later_seconds(res->value);
		}
		next = res->code == P2_NO_MATERIAL;
	} else if (r == -ECONNRESET) {
		server_say(s, &s->shown_state, "no protocol 2",
		           "closed before ServerHello (no protocol 2 here)");
		next = true;
	} else if (r == -EPERM) {
		char line[128];

		snprintf(line, sizeof(line), "server key %s is not pinned",
		         p2conn_server_key_id(conn) ? p2conn_server_key_id(conn) : "?");
		server_say(s, &s->shown_state, line, line);
	} else if (stage == P2CONN_FINAL) {
		server_say(s, &s->shown_state, "no final", "no FINAL after RESULT: discarded");
	} else if (stage == P2CONN_CONNECTING && c->escrow.any_threshold) {
		server_say_unreachable(s, r);
	} else {
		log_info_errno(r, "Protocol 2 with Mandos server %s failed %s: %s", s->name,
		               p2conn_stage_name(stage), why ? why : "%m");
		server_state_reset(s);
	}
	if (r == 0 && !server_may_help(s, conn, next)) {
		/* Its shares are open already, or it holds none: nothing more to ask of it
		 * (§B.4.3 step 5). */
		log_info("Mandos server %s has nothing more for this client", s->name);
		s->p2 = p2conn_free(conn);
		s->escrow = bindings_session_free(s->escrow);
		server_route_cleanup(s);
		servers_check_round(c);
		return;
	}
	s->p2 = p2conn_free(conn);
	s->escrow = bindings_session_free(s->escrow);
	client_attempt_done(s, next);
}

static bool addr_route_fallback_ok(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6) {
		return !IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	}
	/* 169.254.0.0/16 */
	return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 16) != 0xa9fe;
}

/* P2ClientConfig.blind for s's session. */
static int server_p2_blind(void *userdata, P2EscrowItem *items, uint8_t n_items)
{
	Server *s = userdata;

	return bindings_session_blind(&s->client->escrow, s->escrow, items, n_items);
}

static int server_start(Server *s, int protocol)
{
	Client *c = s->client;
	const struct sockaddr *sa = (const struct sockaddr *)&s->addr;

	if (protocol == 1) {
		return p1_start(s);
	} else {
		/* §A.7.2: 5 s to connect, 10 s to write a message; --timeout may shorten them. */
		P2ConnTimeouts t = {
		        .connect_ms = (unsigned)MIN(5000, client_ms_of(c->args.timeout)),
		        .write_ms = (unsigned)MIN(10000, client_ms_of(c->args.timeout)),
		        .secret_ms = (unsigned)client_ms_of(c->args.secret_timeout),
		};
		P2ConnCallbacks cb = {
		        .authenticated = server_p2_authenticated,
		        .status = server_p2_status,
		        .done = server_p2_done,
		        .userdata = s,
		};
		int r;

		/* §B.4.3 step 3: every escrow item, each with a fresh E for this session, drawn
		 * when the session builds its CLIENT_AUTH (§A.12.1's order). */
		s->escrow = bindings_session_free(s->escrow);
		s->p2cfg = c->p2.config;
		if (c->escrow.n_items > 0) {
			r = bindings_session_new(&c->escrow, &s->escrow);
			if (r < 0) {
				return r;
			}
			s->p2cfg.items = s->escrow->items;
			s->p2cfg.n_items = (uint8_t)s->escrow->n;
			s->p2cfg.blind = server_p2_blind;
			s->p2cfg.blind_userdata = s;
		}
		r = p2conn_start(c->api, &s->p2cfg, s->name, sa, s->addr_len, &t, &cb, &s->p2);
		if (r < 0) {
			s->escrow = bindings_session_free(s->escrow);
		}
		return r;
	}
}

static void server_attempt_step(Server *s, size_t step)
{
	Client *c = s->client;
	int order[2], r;
	size_t n = server_protocols(s, order);

	if (s->conn || s->p2 || c->have_password) {
		return;
	}
	if (step < n && order[step] == 1 && !p1_ready(c)) {
		/* Protocol 1 just went away: the list is shorter now. */
		n = server_protocols(s, order);
		step = MIN(step, n);
	}
	if (step >= n) {
		server_schedule_retry(s);
		return;
	}
	s->step = step;
	s->pinned = false;
	c->round_open = true;
	if (order[step] == 1) {
		log_debug("Trying Mandos server %s", s->name);
	} else {
		log_debug("Trying Mandos server %s over protocol 2", s->name);
	}
	r = server_start(s, order[step]);
	if ((r == -ENETUNREACH || r == -EHOSTUNREACH) && s->route_fallback && s->ifindex > 0 &&
	    addr_route_fallback_ok(&s->addr)) {
		log_info("Mandos server %s unreachable, trying direct route", s->name);
		if (route_helper(s, "add") == 0) {
			s->route_added = true;
			r = server_start(s, order[step]);
		}
	}
	if (r < 0) {
		log_info_errno(r, "Failed to connect to Mandos server %s: %m", s->name);
		server_say_unreachable(s, r);
		s->conn = NULL;
		s->p2 = NULL;
		server_route_cleanup(s);
		server_schedule_retry(s);
		servers_check_round(c);
	}
}

static void server_attempt(Server *s)
{
	server_attempt_step(s, 0);
}

/* ADDRESS:PORT with IPv6 in brackets (and its %interface when link-local). */
static char *format_where(const struct sockaddr_storage *ss)
{
	char addr[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE], *ret = NULL;
	int n;

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		bool scope = s6->sin6_scope_id && if_indextoname(s6->sin6_scope_id, ifname);

		inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof(addr));
		n = asprintf(&ret, "[%s%s%s]:%u", addr, scope ? "%" : "", scope ? ifname : "",
		             ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof(addr));
		n = asprintf(&ret, "%s:%u", addr, ntohs(s4->sin_port));
	}
	return n < 0 ? NULL : ret;
}

int client_add_server(Client *c, const char *label, const struct sockaddr *sa, socklen_t len,
                      int ifindex, bool route_fallback, unsigned txt_protocols)
{
	Server *s, **tail = &c->servers;

	for (Server *o = c->servers; o; o = o->next) {
		if (o->addr_len == len && memcmp(&o->addr, sa, len) == 0 && o->ifindex == ifindex) {
			log_debug("Mandos server %s already known", o->name);
			return 0;
		}
		tail = &o->next;
	}
	if (len > sizeof(s->addr)) {
		return -ENOMEM;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		return -ENOMEM;
	}
	s->client = c;
	memcpy(&s->addr, sa, len);
	s->addr_len = len;
	s->name = strdup(label);
	s->where = format_where(&s->addr);
	if (!s->name || !s->where) {
		free(s->where);
		free(s->name);
		free(s);
		return -ENOMEM;
	}
	s->ifindex = ifindex;
	s->route_fallback = route_fallback;
	s->txt_protocols = txt_protocols;
	*tail = s;
	server_attempt(s);
	return 0;
}

void client_servers_free(Client *c)
{
	while (c->servers) {
		Server *s = c->servers;

		c->servers = s->next;
		server_route_cleanup(s);
		server_free(s);
	}
}
