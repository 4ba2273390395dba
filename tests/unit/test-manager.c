/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The manager: key ID lookup (hash, case-insensitive config, the empty key's ID never matches),
 * reload keeping runtime state, run-time removal, and the state file across a restart. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io-util.h"
#include "keyid.h"
#include "log.h"
#include "manager.h"
#include "upstream-state.h"

static char dir[] = "/tmp/test-manager-XXXXXX";

#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"

static void write_clients(const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/clients.conf", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static ServerSettings settings(void)
{
	ServerSettings s = {0};
	char statedir[300];

	snprintf(statedir, sizeof(statedir), "%s/state", dir);
	s.interface = strdup("");
	s.address = strdup("");
	s.port = -1;
	s.socket_fd = -1;
	s.debuglevel = strdup("");
	s.priority = strdup("SECURE128:!CTYPE-X.509:+CTYPE-RAWPK:!RSA:!VERS-ALL:+VERS-TLS1.3");
	s.servicename = strdup("Mandos");
	s.statedir = strdup(statedir);
	s.configdir = strdup(dir);
	s.pidfile = strdup("");
	s.restore = true;
	s.foreground = true;
	s.connection_timeout_msec = 10000;
	s.max_connections = 16;
	s.state_save_interval_msec = 60000;
	return s;
}

START_TEST(lookup)
{
	ServerSettings s = settings();
	Manager *m = NULL;
	Client *c;

	write_clients("[a]\nkey_id = " K1 "\nsecret = YQ==\n\n"
		      "[empty]\nkey_id = " KEYID_EMPTY "\nsecret = YQ==\n\n"
		      "[b]\nkey_id = 2222 2222 2222 2222 2222 2222 2222 2222 2222 2222 2222 2222"
		      " 2222 2222 2222 2222\nsecret = Yg==\n\n"
		      "[dup]\nkey_id = " K1 "\nsecret = YQ==\n");
	ck_assert_int_eq(manager_new(&s, &m), 0);
	ck_assert_int_eq(manager_setup_loop(m), 0);
	ck_assert_int_eq(manager_load_config(m), 0);
	ck_assert_uint_eq(m->n_clients, 4);
	c = manager_find_client(m, K1);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->name, "a"); /* the first of two with the same key */
	c = manager_find_client(m, K2);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->name, "b");
	ck_assert_ptr_null(manager_find_client(m, KEYID_EMPTY));
	ck_assert_ptr_null(manager_find_client(m, "3333"));
	manager_free(m);
	server_settings_done(&s);
}
END_TEST

START_TEST(reload_and_remove)
{
	ServerSettings s = settings();
	Manager *m = NULL;
	Client *a, *b;

	write_clients("[a]\nkey_id = " K1 "\nsecret = YQ==\ntimeout = PT1H\n\n"
		      "[b]\nkey_id = " K2 "\nsecret = Yg==\n");
	ck_assert_int_eq(manager_new(&s, &m), 0);
	ck_assert_int_eq(manager_setup_loop(m), 0);
	ck_assert_int_eq(manager_load_config(m), 0);
	a = manager_find_client_by_name(m, "a");
	ck_assert_ptr_nonnull(a);
	client_disable(a, true); /* runtime state the reload must keep */
	client_set_extended_timeout(a, 1234);

	/* b removed, c added, a's timeout edited; a stays disabled and keeps its runtime value. */
	write_clients("[a]\nkey_id = " K1 "\nsecret = YQ==\ntimeout = PT2H\n\n"
		      "[c]\nkey_id = 3333333333333333333333333333333333333333333333333333333333333333\n"
		      "secret = Yw==\n");
	ck_assert_int_eq(manager_reload(m), 0);
	ck_assert_uint_eq(m->n_clients, 2);
	ck_assert_ptr_eq(manager_find_client_by_name(m, "a"), a);
	ck_assert(!a->s.enabled);
	ck_assert_uint_eq(a->s.timeout, 7200000);
	ck_assert_uint_eq(a->s.extended_timeout, 1234);
	ck_assert_ptr_null(manager_find_client(m, K2));
	ck_assert_ptr_nonnull(manager_find_client_by_name(m, "c"));

	/* A broken file changes nothing. */
	write_clients("[a]\nkey_id = " K1 "\nsecret = YQ==\ntimeout = never\n");
	ck_assert_int_lt(manager_reload(m), 0);
	ck_assert_uint_eq(m->n_clients, 2);

	b = manager_find_client_by_name(m, "c");
	client_ref(b);
	ck_assert_int_eq(manager_remove_client(m, b), 0);
	ck_assert(b->removed);
	ck_assert_ptr_null(manager_find_client_by_name(m, "c"));
	ck_assert_int_eq(manager_remove_client(m, b), -ENOENT);
	client_unref(b);
	manager_free(m);
	server_settings_done(&s);
}
END_TEST

/* A manager on the current clients.conf and state, as at a server start. */
static Manager *start(ServerSettings *s)
{
	Manager *m = NULL;

	ck_assert_int_eq(manager_new(s, &m), 0);
	ck_assert_int_eq(manager_setup_loop(m), 0);
	ck_assert_int_eq(manager_load_config(m), 0);
	ck_assert_int_eq(manager_restore_state(m), 0);
	return m;
}

START_TEST(restart)
{
	ServerSettings s = settings();
	Manager *m;
	Client *a;
	realtime_t created, until;

	mkdir(s.statedir, 0700);
	write_clients("[a]\nkey_id = " K1 "\nsecret = YQ==\n");
	m = start(&s);
	a = manager_find_client_by_name(m, "a");
	client_checked_ok(a);
	ck_assert_int_eq(client_set_secret(a, "changed", 7), 0);
	client_set_timeout(a, 99000);
	client_approve_for(a, 3600 * 1000);
	until = a->approved_until;
	ck_assert_uint_gt(until, 0);
	created = a->created;
	ck_assert_int_eq(manager_save_state(m), 0);
	manager_free(m);

	m = start(&s);
	a = manager_find_client_by_name(m, "a");
	ck_assert_uint_eq(a->created, created);
	ck_assert_uint_eq(a->s.timeout, 99000); /* runtime value, config unchanged */
	ck_assert_int_eq(a->last_checker_status, 0);
	ck_assert_uint_eq(a->secret.len, 7);     /* the runtime secret, decrypted */
	ck_assert_mem_eq(secret_data(&a->secret), "changed", 7);
	ck_assert_uint_eq(a->approved_until, until); /* ApproveFor's end, still ahead */
	/* One that has passed by the next start is dropped. */
	a->approved_until = 1000;
	ck_assert_int_eq(manager_save_state(m), 0);
	manager_free(m);
	m = start(&s);
	a = manager_find_client_by_name(m, "a");
	ck_assert_uint_eq(a->approved_until, 0);
	manager_free(m);

	/* A new config secret wins over the saved one. */
	write_clients("[a]\nkey_id = " K1 "\nsecret = Yg==\n");
	m = start(&s);
	a = manager_find_client_by_name(m, "a");
	ck_assert_uint_eq(a->secret.len, 1);
	ck_assert_mem_eq(secret_data(&a->secret), "b", 1);
	manager_free(m);
	server_settings_done(&s);
}
END_TEST

/* A manager started on clients.conf `conf` with upstream's `file` (tests/fuzz/corpus/pickle)
 * as the only state. */
static Manager *start_after_upstream(ServerSettings *s, const char *file, const char *conf)
{
	char src[512], dst[512], cmd[1200];
	Manager *m = NULL;

	snprintf(src, sizeof(src), "%s/%s", PICKLE_CORPUS, file);
	snprintf(dst, sizeof(dst), "%s/%s", s->statedir, UPSTREAM_STATE_FILE_NAME);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir '%s' && cp '%s' '%s'", s->statedir,
	         s->statedir, src, dst);
	ck_assert_int_eq(system(cmd), 0);
	write_clients(conf);
	ck_assert_int_eq(manager_new(s, &m), 0);
	ck_assert_int_eq(manager_setup_loop(m), 0);
	ck_assert_int_eq(manager_load_config(m), 0);
	ck_assert_int_eq(manager_restore_state(m), 0);
	return m;
}

static int keep_created(SavedClient *sc, void *userdata)
{
	if (strcmp(sc->name, "a") == 0) {
		*(realtime_t *)userdata = sc->created;
	}
	return 0;
}

START_TEST(import_upstream)
{
	ServerSettings s = settings();
	char path[512], *before, *after;
	size_t before_len, after_len;
	realtime_t created = 0, now = now_realtime();
	Manager *m;
	Client *a, *b, *c;

	/* Checkers ran: a's succeeded, b's failed, c's crashed; all expired since.  Only a,
	 * whose last check succeeded, stays enabled (expires = now + timeout). */
	m = start_after_upstream(&s, "checkers.pickle",
	                         "[a]\nkey_id = " K1 "\nsecret = YQ==\nhost = a\n"
	                         "checker = true\ninterval = PT1S\n\n"
	                         "[b]\nkey_id = " K2 "\nsecret = Yg==\nhost = b\n"
	                         "checker = exit 3\ninterval = PT1S\n\n"
	                         "[c]\nkey_id = " K1 "\nsecret = Yw==\nhost = c\n"
	                         "checker = kill -9 $$\ninterval = PT1S\n");
	a = manager_find_client_by_name(m, "a");
	b = manager_find_client_by_name(m, "b");
	c = manager_find_client_by_name(m, "c");
	ck_assert(a->s.enabled);
	ck_assert_uint_ge(a->expires, now + 300 * 1000000ULL);
	ck_assert_int_eq(a->last_checker_status, 0);
	ck_assert_uint_gt(a->last_checked_ok, 0);
	ck_assert(!b->s.enabled);
	ck_assert_int_eq(b->last_checker_status, 3);
	ck_assert(!c->s.enabled);
	ck_assert_int_eq(c->last_checker_status, -1);
	ck_assert_uint_eq(secret_data(&a->secret)[0], 'a'); /* clients.conf's secret */
	snprintf(path, sizeof(path), "%s/%s", s.statedir, UPSTREAM_STATE_FILE_NAME);
	ck_assert_int_eq(upstream_state_read(path, keep_created, &created, NULL), 3);
	ck_assert_uint_eq(a->created, created);
	manager_free(m);

	/* The three-way merge: b's timeout was changed at run time (PT7M); kept while
	 * clients.conf still says what it said then, replaced once clients.conf is edited. */
	m = start_after_upstream(&s, "changed-settings.pickle",
	                         "[a]\nkey_id = " K1 "\nsecret = YQ==\nhost = a\n\n"
	                         "[b]\nkey_id = " K2 "\nsecret = Yg==\nhost = b\n");
	b = manager_find_client_by_name(m, "b");
	ck_assert_uint_eq(b->s.timeout, 7 * 60 * 1000);
	ck_assert_str_eq(b->s.host, "b.example");
	ck_assert(!b->s.approved_by_default);
	ck_assert(!manager_find_client_by_name(m, "a")->s.enabled);
	manager_free(m);
	m = start_after_upstream(&s, "changed-settings.pickle",
	                         "[a]\nkey_id = " K1 "\nsecret = YQ==\nhost = a\nenabled = yes\n\n"
	                         "[b]\nkey_id = " K2 "\nsecret = Yg==\nhost = b\n"
	                         "timeout = PT10M\n");
	b = manager_find_client_by_name(m, "b");
	ck_assert_uint_eq(b->s.timeout, 10 * 60 * 1000);
	ck_assert_str_eq(b->s.host, "b.example");
	ck_assert(!manager_find_client_by_name(m, "a")->s.enabled);

	/* Read, not changed; our own file from the first save on. */
	ck_assert_int_eq(manager_save_state(m), 0);
	manager_free(m);
	snprintf(path, sizeof(path), "%s/changed-settings.pickle", PICKLE_CORPUS);
	ck_assert_int_eq(read_full_file(path, 1 << 20, &before, &before_len), 0);
	snprintf(path, sizeof(path), "%s/%s", s.statedir, UPSTREAM_STATE_FILE_NAME);
	ck_assert_int_eq(read_full_file(path, 1 << 20, &after, &after_len), 0);
	ck_assert_uint_eq(before_len, after_len);
	ck_assert_mem_eq(before, after, before_len);
	free(before);
	free(after);
	snprintf(path, sizeof(path), "%s/%s", s.statedir, STATE_FILE_NAME);
	ck_assert_int_eq(access(path, F_OK), 0);

	/* A file that cannot be used leaves clients.conf's state. */
	m = start_after_upstream(&s, "../state/one", "[b]\nkey_id = " K2 "\nsecret = Yg==\n");
	ck_assert(manager_find_client_by_name(m, "b")->s.enabled);
	manager_free(m);
	server_settings_done(&s);
}
END_TEST

static unsigned delivery_changes;

static void count_delivery(Client *c, ClientProperty p, void *userdata)
{
	if (p == CLIENT_PROP_DELIVERY) {
		delivery_changes++;
	}
}

static const ClientObserver delivery_observer = {.property_changed = count_delivery};

/* A manager on the current clients.conf, its state restored. */
#define SEALED49 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMA=="

START_TEST(releases_and_delivery)
{
	ServerSettings s = settings();
	Manager *m;
	Client *a;
	char path[400];

	mkdir(s.statedir, 0700);
	snprintf(path, sizeof(path), "%s/clients.state", s.statedir);
	unlink(path);
	write_clients("[a]\nkey_id = " K1 "\nprotocols = 2\nrelease_limit = 2\n"
	              "sealed_secret = " SEALED49 "\n");
	m = start(&s);
	a = manager_find_client_by_name(m, "a");
	ck_assert_uint_eq(a->delivery.protocols, PROTOCOL_BIT(2));
	ck_assert_uint_eq(a->delivery.release_limit, 2);
	ck_assert_uint_eq(a->delivery.sealed_len, 49);
	ck_assert_uint_eq(a->secret.len, 0);
	ck_assert_uint_eq(a->n_releases, 0);
	a->releases = malloc(2 * sizeof(realtime_t));
	a->releases[0] = 1000;
	a->releases[1] = 2000;
	a->n_releases = 2;
	ck_assert_int_eq(manager_save_state(m), 0);
	manager_free(m);

	/* A restart with another limit keeps the times. */
	write_clients("[a]\nkey_id = " K1 "\nprotocols = 2\nrelease_limit = 5\n"
	              "sealed_secret = " SEALED49 "\n");
	m = start(&s);
	a = manager_find_client_by_name(m, "a");
	ck_assert_uint_eq(a->delivery.release_limit, 5);
	ck_assert_uint_eq(a->n_releases, 2);
	ck_assert_uint_eq(a->releases[0], 1000);
	ck_assert_uint_eq(a->releases[1], 2000);

	/* A reload replaces the delivery, keeps the times, and tells the observers. */
	delivery_changes = 0;
	ck_assert_int_eq(client_context_add_observer(&m->ctx, &delivery_observer, NULL), 0);
	ck_assert_int_eq(manager_reload(m), 0);
	ck_assert_uint_eq(delivery_changes, 0); /* nothing changed */
	write_clients("[a]\nkey_id = " K1 "\nprotocols = 1 2\nrelease_limit = 1\nsecret = YQ==\n");
	ck_assert_int_eq(manager_reload(m), 0);
	ck_assert_ptr_eq(manager_find_client_by_name(m, "a"), a);
	ck_assert_uint_eq(delivery_changes, 1);
	ck_assert_uint_eq(a->delivery.protocols, PROTOCOLS_DEFAULT);
	ck_assert_uint_eq(a->delivery.release_limit, 1);
	ck_assert_ptr_null(a->delivery.sealed);
	ck_assert_uint_eq(a->n_releases, 2);
	ck_assert_int_eq(manager_save_state(m), 0);
	manager_free(m);

	/* A state file of the previous version (no release lines) still loads. */
	{
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fputs("mandos-c-state 1\nclient a\ncreated 5\nlast_enabled 5\nexpires 0\n"
		      "last_checked_ok 0\nlast_approval_request 0\nlast_checker_status -2\n"
		      "s.host \ns.checker true\ns.key_id " K1 "\ns.fingerprint \n"
		      "s.timeout 300000\ns.extended_timeout 900000\ns.interval 120000\n"
		      "s.approval_delay 0\ns.approval_duration 1000\ns.approved_by_default 1\n"
		      "s.enabled 0\nend\n",
		      f);
		fclose(f);
	}
	m = start(&s);
	a = manager_find_client_by_name(m, "a");
	ck_assert_uint_eq(a->created, 5);
	ck_assert_uint_eq(a->n_releases, 0);
	ck_assert_uint_eq(a->approved_until, 0); /* no approved_until line: none */
	manager_free(m);
	unlink(path);
	server_settings_done(&s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("manager");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	log_set_max_level(LOG_CRIT);
	if (!mkdtemp(dir)) {
		return 99;
	}
	tcase_add_test(tc, lookup);
	tcase_add_test(tc, reload_and_remove);
	tcase_add_test(tc, restart);
	tcase_add_test(tc, import_upstream);
	tcase_add_test(tc, releases_and_delivery);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		(void)!system(cmd);
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
