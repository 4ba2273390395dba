/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2 connections of the server (tls-conn.c dispatch, p2-conn.c) over a socketpair. */
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"
#include "log.h"
#include "p2.h"
#include "sealed.h"
#include "tls-conn.h"
#include "transport.h"

static const char password[] = "correct horse battery staple\n";

static sd_event *event;
static SecretStore *store;
static ClientContext ctx;
static ConnServer srv;
static P2Identity *server_id, *client_id;
static P2SealKey *seal;
static Client *client;
static unsigned n_closed, n_not_found;
static Connection *conn;

/* The client's end, driven by the library's client session on the same loop. */
typedef struct Peer {
	P2ClientSession *c;
	int fd;
	sd_event_source *io;
	bool abort_on_status;
	unsigned n_status, n_result, n_end;
	int error;
	P2Status status;
	P2Result res;
	SecBuf *secret;
} Peer;

static Client *lookup(void *userdata, const char *key_id)
{
	return client && strcmp(key_id, client->s.key_id) == 0 ? client : NULL;
}

static void closed(Connection *c, void *userdata)
{
	n_closed++;
	conn = NULL;
}

static void not_found(const char *key_id, const char *address, void *userdata)
{
	n_not_found++;
}

static const ClientObserver observer = {.client_not_found = not_found};

static void seed_range(uint8_t seed[32], uint8_t first)
{
	for (int i = 0; i < 32; i++) {
		seed[i] = (uint8_t)(first + i);
	}
}

static void setup(void)
{
	static const char seal_sk_hex[] =
	        "6428d4276d036d787ba4df5803e7d15ae9165e486417ad3ae5e48b49290cd696";
	uint8_t seed[32], sk[32];
	ClientConfig cc = {0};
	char key_id[P2_KEY_ID_HEX_SIZE];
	sigset_t ss;

	sigemptyset(&ss);
	sigaddset(&ss, SIGCHLD);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_int_ge(sd_event_new(&event), 0);
	store = secret_store_new();
	ctx = (ClientContext){.event = event, .store = store, .checker_output_to_null = true};
	client_context_add_observer(&ctx, &observer, NULL);
	seed_range(seed, 0x20);
	ck_assert_int_eq(p2_identity_from_seed(seed, &server_id), 0);
	seed_range(seed, 0x00);
	ck_assert_int_eq(p2_identity_from_seed(seed, &client_id), 0);
	ck_assert_int_eq(sodium_hex2bin(sk, 32, seal_sk_hex, 64, NULL, NULL, NULL), 0);
	ck_assert_int_eq(p2_seal_key_from_secret(sk, &seal), 0);
	srv = (ConnServer){
	        .event = event,
	        .ctx = &ctx,
	        .timeout_usec = 2000000,
	        .lookup = lookup,
	        .closed = closed,
	        .p2_identity = server_id,
	        .protocols = PROTOCOLS_DEFAULT,
	};

	cc.name = strdup("c1");
	cc.settings.host = strdup("h");
	cc.settings.checker = strdup("true");
	cc.settings.fingerprint = strdup("");
	p2_key_id_hex(client_id->pk, key_id);
	/* The spec's client.key_id (§A.12.2). */
	ck_assert_str_eq(key_id,
	                 "A050837D85070582CCF7394B0988847CC312CB88259B894899F6F239CF1791A5");
	strcpy(cc.settings.key_id, key_id);
	cc.settings.timeout = 300000;
	cc.settings.extended_timeout = 900000;
	cc.settings.interval = 120000;
	cc.settings.approval_duration = 1000;
	cc.settings.enabled = true;
	cc.delivery.protocols = PROTOCOLS_DEFAULT;
	cc.delivery.sealed_len = sizeof(password) - 1 + crypto_box_SEALBYTES;
	cc.delivery.sealed = malloc(cc.delivery.sealed_len);
	ck_assert_int_eq(p2_seal((const uint8_t *)password, sizeof(password) - 1, seal->pk,
	                         cc.delivery.sealed, cc.delivery.sealed_len),
	                 0);
	ck_assert_int_eq(client_new(&ctx, &cc, &client), 0);
	free(cc.name);
	client_settings_done(&cc.settings);
	n_closed = n_not_found = 0;
	conn = NULL;
}

static void teardown(void)
{
	if (conn) {
		connection_abort(conn, NULL);
	}
	client = client_unref(client);
	checker_forget_stopped();
	server_id = p2_identity_free(server_id);
	client_id = p2_identity_free(client_id);
	seal = p2_seal_key_free(seal);
	secret_store_free(store);
	event = sd_event_unref(event);
}

static uint64_t now_usec(void)
{
	uint64_t now = 0;

	sd_event_now(event, CLOCK_MONOTONIC, &now);
	return now;
}

static void peer_flush(Peer *p)
{
	size_t len = 0;
	const uint8_t *out = p2_client_output(p->c, &len);

	if (len > 0) {
		/* All at once (a socketpair takes it), or the server has closed already. */
		(void)send(p->fd, out, len, MSG_NOSIGNAL);
		p2_client_output_consume(p->c, len);
	}
}

static int on_peer(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Peer *p = userdata;
	uint8_t buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	size_t off = 0;

	if (n <= 0) {
		p->n_end++;
		(void)sd_event_source_set_enabled(s, SD_EVENT_OFF);
		return 0;
	}
	while (off < (size_t)n && p->error == 0) {
		size_t used = 0;
		int ev = p2_client_feed(p->c, buf + off, (size_t)n - off, now_usec(), &used, NULL);

		off += used;
		if (ev < 0) {
			p->error = ev;
			break;
		}
		if (ev == P2_EV_STATUS) {
			p->status = *p2_client_status(p->c);
			p->n_status++;
			if (p->abort_on_status) {
				p2_client_send_final(p->c);
			}
		} else if (ev == P2_EV_RESULT) {
			const P2Result *r = p2_client_result(p->c);

			p->res = *r;
			p->n_result++;
			if (r->n_items == 1) {
				ck_assert_int_eq(p2_sealed_open(r->items[0].data, r->items[0].len,
				                                seal, &p->secret),
				                 0);
			}
		}
		if (used == 0) {
			break;
		}
	}
	peer_flush(p);
	return 0;
}

/* A connection on a socketpair: our server on one end, the client session on the other. */
static void start(Peer *p, uint32_t extra_flags)
{
	struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(4711)};
	P2ClientConfig cfg = {.identity = client_id, .seal = seal, .flags = extra_flags};
	int sv[2];

	if (extra_flags == UINT32_MAX) {
		cfg.seal = NULL;
		cfg.flags = 0;
	}
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(connection_new(&srv, sv[0], (struct sockaddr *)&peer, sizeof(peer), &conn),
	                 0);
	*p = (Peer){.fd = sv[1], .abort_on_status = p->abort_on_status};
	ck_assert_int_eq(p2_client_new(&cfg, now_usec(), &p->c), 0);
	ck_assert_int_eq(sd_event_add_io(event, &p->io, p->fd, EPOLLIN, on_peer, p), 0);
	peer_flush(p);
}

static void stop(Peer *p)
{
	sd_event_source_disable_unref(p->io);
	p2_client_free(p->c);
	secbuf_free(p->secret);
	close(p->fd);
}

static void run_until(const unsigned *counter, unsigned want, unsigned max_msec)
{
	uint64_t end = now_usec() + max_msec * 1000ULL, now;

	while (*counter < want && (now = now_usec()) < end) {
		sd_event_run(event, end - now);
	}
}

START_TEST(unlock_sealed)
{
	Peer p = {0};

	start(&p, 0);
	run_until(&n_closed, 1, 5000);
	ck_assert_uint_eq(p.n_result, 1);
	ck_assert_int_eq(p.res.code, P2_OK);
	ck_assert_ptr_nonnull(p.secret);
	ck_assert_uint_eq(p.secret->len, sizeof(password) - 1);
	ck_assert_mem_eq(p.secret->data, password, sizeof(password) - 1);
	ck_assert_uint_eq(p.n_status, 0);
	ck_assert_uint_eq(n_closed, 1);
	ck_assert_uint_eq(client->n_releases, 1);
	stop(&p);
}
END_TEST

START_TEST(unknown_and_no_material)
{
	Peer p = {0};
	Client *c = client;

	client = NULL; /* nobody is known */
	start(&p, 0);
	run_until(&n_closed, 1, 5000);
	ck_assert_uint_eq(p.n_result, 1);
	ck_assert_int_eq(p.res.code, P2_UNKNOWN_CLIENT);
	ck_assert_uint_eq(n_not_found, 1);
	stop(&p);
	client = c;
	/* No WANT_SEALED: nothing to send. */
	start(&p, UINT32_MAX);
	run_until(&n_closed, 2, 5000);
	ck_assert_int_eq(p.res.code, P2_NO_MATERIAL);
	stop(&p);
	/* A section without protocol 2. */
	client->delivery.protocols = PROTOCOL_BIT(1);
	start(&p, 0);
	run_until(&n_closed, 3, 5000);
	ck_assert_int_eq(p.res.code, P2_NO_MATERIAL);
	ck_assert_uint_eq(client->n_releases, 0);
	stop(&p);
}
END_TEST

START_TEST(disabled_and_limit)
{
	Peer p = {0};

	client_disable(client, true);
	start(&p, 0);
	run_until(&n_closed, 1, 5000);
	ck_assert_int_eq(p.res.code, P2_DISABLED);
	ck_assert_uint_eq(p.res.value, P2_DISABLED_BY_ADMIN);
	stop(&p);
	client_enable(client);
	client->delivery.release_limit = 1;
	start(&p, 0);
	run_until(&n_closed, 2, 5000);
	ck_assert_int_eq(p.res.code, P2_OK);
	stop(&p);
	start(&p, 0);
	run_until(&n_closed, 3, 5000);
	ck_assert_int_eq(p.res.code, P2_TRY_LATER);
	ck_assert_uint_eq(p.res.flags, P2_TRY_LATER_RELEASE_LIMIT);
	ck_assert_uint_ge(p.res.value, 86399);
	stop(&p);
}
END_TEST

START_TEST(approval_status_and_abort)
{
	Peer p = {.abort_on_status = true};

	client_set_approval_delay(client, 60000);
	start(&p, 0);
	run_until(&p.n_status, 1, 5000);
	ck_assert_uint_eq(p.status.code, P2_STATUS_AWAITING_APPROVAL);
	ck_assert_uint_ge(p.status.value, 59);
	ck_assert_uint_eq(p.status.flags, 0);
	ck_assert_uint_eq(client->approvals_pending, 1);
	/* The client's FINAL ends the wait at once. */
	run_until(&n_closed, 1, 5000);
	ck_assert_uint_eq(n_closed, 1);
	ck_assert_uint_eq(client->approvals_pending, 0);
	ck_assert_uint_eq(p.n_result, 0);
	stop(&p);
}
END_TEST

START_TEST(approval_granted)
{
	Peer p = {0};

	client_set_approval_delay(client, 60000);
	start(&p, 0);
	run_until(&p.n_status, 1, 5000);
	client_approve(client, true);
	run_until(&n_closed, 1, 5000);
	ck_assert_int_eq(p.res.code, P2_OK);
	ck_assert_ptr_nonnull(p.secret);
	stop(&p);
}
END_TEST

START_TEST(shutdown_try_later)
{
	Peer p = {0};

	client_set_approval_delay(client, 60000);
	start(&p, 0);
	run_until(&p.n_status, 1, 5000);
	connection_abort(conn, NULL);
	ck_assert_uint_eq(n_closed, 1);
	run_until(&p.n_result, 1, 5000);
	ck_assert_int_eq(p.res.code, P2_TRY_LATER);
	ck_assert_uint_eq(p.res.value, 10);
	ck_assert_uint_eq(p.res.flags, 0);
	ck_assert_uint_eq(client->approvals_pending, 0);
	stop(&p);
}
END_TEST

START_TEST(busy_after_four)
{
	Peer p[5] = {0};

	client_set_approval_delay(client, 60000);
	for (int i = 0; i < 4; i++) {
		start(&p[i], 0);
		run_until(&p[i].n_status, 1, 5000);
		ck_assert_uint_eq(p[i].n_status, 1);
	}
	start(&p[4], 0);
	run_until(&n_closed, 1, 5000);
	ck_assert_int_eq(p[4].res.code, P2_TRY_LATER);
	ck_assert_uint_eq(p[4].res.value, 10);
	ck_assert_uint_eq(p[4].res.flags, 0);
	for (int i = 0; i < 5; i++) {
		stop(&p[i]);
	}
	/* The closed peers make their connections end (EOF aborts). */
	run_until(&n_closed, 5, 5000);
	ck_assert_uint_eq(n_closed, 5);
	ck_assert_uint_eq(client->releases_deciding, 0);
}
END_TEST

START_TEST(p2_off)
{
	Peer p = {0};

	srv.p2_identity = NULL;
	start(&p, 0);
	run_until(&p.n_end, 1, 5000);
	ck_assert_uint_eq(p.n_end, 1);
	ck_assert_uint_eq(p.n_result, 0);
	ck_assert_uint_eq(n_closed, 1);
	stop(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("p2-conn");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	log_set_max_level(getenv("TEST_DEBUG") ? LOG_DEBUG : LOG_CRIT);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, unlock_sealed);
	tcase_add_test(tc, unknown_and_no_material);
	tcase_add_test(tc, disabled_and_limit);
	tcase_add_test(tc, approval_status_and_abort);
	tcase_add_test(tc, approval_granted);
	tcase_add_test(tc, shutdown_try_later);
	tcase_add_test(tc, busy_after_four);
	tcase_add_test(tc, p2_off);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
