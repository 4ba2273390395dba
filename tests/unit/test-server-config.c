/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The server's configuration: mandos.conf with the command line, and clients.conf sections. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "secmem.h"

static char dir[] = "/tmp/test-server-config-XXXXXX";

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static int load(const char *text, SecretStore *st, ClientsConfig *c, char **err)
{
	char path[256];

	write_file("clients.conf", text);
	snprintf(path, sizeof(path), "%s/clients.conf", dir);
	*err = NULL;
	return clients_config_load(path, st, c, err);
}

#define KEY1 "dd3677011afdb724949f3fb96a511e42494fd2b7059aade2c9ae7beca78b91b8"

START_TEST(clients)
{
	SecretStore *st = secret_store_new();
	ClientsConfig c;
	char *err;

	ck_assert_int_eq(load("[DEFAULT]\n"
	                      "timeout = 1d\n"
	                      "h = example.org\n"
	                      "\n"
	                      "[foo]\n"
	                      "key_id = DD36 7701 1afd "
	                      "b724949f3fb96a511e42494fd2b7059aade2c9ae7beca78b91b8\n"
	                      "fingerprint = 7788 2722 5ba7\n"
	                      "secret =\n"
	                      "    aGVsbG8g\n"
	                      "    d29ybGQ=\n"
	                      "host = foo.%(h)s\n"
	                      "interval = 5m 30s\n"
	                      "approval_delay = PT10S\n"
	                      "approved_by_default = no\n"
	                      "\n"
	                      "[nokey]\n"
	                      "secret = YQ==\n"
	                      "\n"
	                      "[bar]\n"
	                      "key_id = " KEY1 "\n"
	                      "secfile = $TEST_SECDIR/sec\n"
	                      "enabled = off\n",
	                      st, &c, &err),
	                 0);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_str_eq(c.clients[0].name, "foo");
	ck_assert_str_eq(c.clients[0].settings.key_id,
	                 "DD3677011AFDB724949F3FB96A511E42494FD2B7059AADE2C9AE7BECA78B91B8");
	ck_assert_str_eq(c.clients[0].settings.fingerprint, "778827225BA7");
	ck_assert_str_eq(c.clients[0].settings.host, "foo.example.org");
	ck_assert_str_eq(c.clients[0].settings.checker, "fping -q -- %(host)s");
	ck_assert_uint_eq(c.clients[0].settings.timeout, 86400000);
	ck_assert_uint_eq(c.clients[0].settings.extended_timeout, 900000);
	ck_assert_uint_eq(c.clients[0].settings.interval, 330000);
	ck_assert_uint_eq(c.clients[0].settings.approval_delay, 10000);
	ck_assert_uint_eq(c.clients[0].settings.approval_duration, 1000);
	ck_assert(!c.clients[0].settings.approved_by_default);
	ck_assert(c.clients[0].settings.enabled);
	ck_assert_uint_eq(c.clients[0].secret.len, 11);
	ck_assert_mem_eq(secret_data(&c.clients[0].secret), "hello world", 11);
	ck_assert_uint_eq(c.clients[0].state_key.len, STATE_KEY_SIZE);
	/* secfile: raw bytes, $VAR expanded. */
	ck_assert_str_eq(c.clients[1].name, "bar");
	ck_assert(!c.clients[1].settings.enabled);
	ck_assert_uint_eq(c.clients[1].secret.len, 4);
	ck_assert_mem_eq(secret_data(&c.clients[1].secret), "ra\nw", 4);
	clients_config_done(&c, st);
	ck_assert_uint_le(secret_store_chunks(st), 1);
	secret_store_free(st);
}
END_TEST

static void expect_error(const char *text, const char *where)
{
	SecretStore *st = secret_store_new();
	ClientsConfig c;
	char *err;

	ck_assert_int_lt(load(text, st, &c, &err), 0);
	ck_assert_msg(err && strstr(err, where), "error \"%s\" lacks \"%s\"", err ? err : "(none)",
	              where);
	free(err);
	secret_store_free(st);
}

START_TEST(client_errors)
{
	expect_error("[a]\nkey_id = " KEY1 "\nsecret = YQ==\ntimeout = 5\n", "clients.conf:4: ");
	expect_error("[a]\nkey_id = " KEY1 "\n", "clients.conf:1: ");
	expect_error("[a]\nkey_id = " KEY1 "\nsecret = Y!==\n", "clients.conf:3: ");
	expect_error("[a]\nkey_id = 1234\nsecret = YQ==\n", "clients.conf:2: ");
	expect_error("[a]\nkey_id = " KEY1 "\nsecret = YQ==\nenabled = perhaps\n",
	             "clients.conf:4: ");
	expect_error("[a]\nkey_id = " KEY1 "\nsecret = YQ==\ninterval = PT0S\n",
	             "clients.conf:4: ");
	expect_error("[a]\nkey_id = " KEY1 "\nsecfile = /nonexistent/x\n", "clients.conf:3: ");
}
END_TEST

START_TEST(settings)
{
	ServerSettings s;
	char a0[] = "mandos", a1[] = "--configdir", a3[] = "--port=1234", a4[] = "--no-dbus",
	     a5[] = "--debug", b3[] = "--no-zeroconf", c1[] = "--bogus";
	char *argv[] = {a0, a1, dir, a3, a4, a5, NULL};
	char *argv2[] = {a0, a1, dir, b3, NULL};
	char *argv3[] = {a0, c1, NULL};

	write_file("mandos.conf", "[DEFAULT]\n"
	                          "port = 999\n"
	                          "use_ipv6 = no\n"
	                          "restore = False\n"
	                          "servicename = Other\n"
	                          "statedir = /x/%(servicename)s\n");
	ck_assert_int_eq(server_settings_parse(6, argv, &s), 0);
	ck_assert_int_eq(s.port, 1234); /* command line wins */
	ck_assert(!s.use_ipv6);         /* from the file */
	ck_assert(!s.restore);
	ck_assert(!s.use_dbus);
	ck_assert(s.debug && s.foreground); /* --debug implies --foreground */
	ck_assert(s.zeroconf);
	ck_assert_str_eq(s.servicename, "Other");
	ck_assert_str_eq(s.statedir, "/x/%(servicename)s"); /* raw, as upstream's defaults() */
	ck_assert_str_eq(
	        s.priority,
	        "SECURE128:!CTYPE-X.509:+CTYPE-RAWPK:!RSA:!VERS-ALL:+VERS-TLS1.3:%PROFILE_ULTRA");
	ck_assert_int_eq(s.socket_fd, -1);
	ck_assert_uint_eq(s.connection_timeout_msec, 10000);
	server_settings_done(&s);

	write_file("mandos.conf", "[DEFAULT]\n");
	unsetenv("LISTEN_FDS");
	ck_assert_int_eq(server_settings_parse(4, argv2, &s), -EINVAL);
	ck_assert_int_eq(server_settings_parse(2, argv3, &s), -EINVAL);
	write_file("mandos.conf", "[DEFAULT]\nrestore = sometimes\n");
	ck_assert_int_eq(server_settings_parse(6, argv, &s), -EBADMSG);
}
END_TEST

START_TEST(expand_paths)
{
	char *p;

	setenv("TEST_X", "/opt", 1);
	setenv("HOME", "/home/me/", 1);
	p = path_expand("$TEST_X/a/${TEST_X}/$UNSET_VAR_XYZ");
	ck_assert_str_eq(p, "/opt/a//opt/$UNSET_VAR_XYZ");
	free(p);
	p = path_expand("~/secret");
	ck_assert_str_eq(p, "/home/me/secret");
	free(p);
	p = path_expand("~root/x");
	ck_assert_str_eq(p, "/root/x");
	free(p);
	p = path_expand("~nosuchuser12345/x");
	ck_assert_str_eq(p, "~nosuchuser12345/x");
	free(p);
}
END_TEST

START_TEST(settings_diff)
{
	ClientSettings a = {0}, b;

	a.host = strdup("h");
	a.checker = strdup("c");
	a.fingerprint = strdup("");
	a.timeout = 5;
	ck_assert_int_eq(client_settings_copy(&a, &b), 0);
	ck_assert_uint_eq(client_settings_diff(&a, &b), 0);
	b.timeout = 6;
	free(b.host);
	b.host = strdup("other");
	ck_assert_uint_eq(client_settings_diff(&a, &b), CS_TIMEOUT | CS_HOST);
	ck_assert_int_eq(client_settings_assign(&a, &b, CS_HOST), 0);
	ck_assert_str_eq(a.host, "other");
	ck_assert_uint_eq(a.timeout, 5);
	client_settings_done(&a);
	client_settings_done(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("server-config");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	char secdir[300];
	int failed;

	log_set_max_level(LOG_CRIT);
	if (!mkdtemp(dir)) {
		return 99;
	}
	snprintf(secdir, sizeof(secdir), "%s/sec", dir);
	{
		FILE *f = fopen(secdir, "w");
		if (!f) {
			return 99;
		}
		fputs("ra\nw", f);
		fclose(f);
	}
	setenv("TEST_SECDIR", dir, 1);
	tcase_add_test(tc, clients);
	tcase_add_test(tc, client_errors);
	tcase_add_test(tc, settings);
	tcase_add_test(tc, expand_paths);
	tcase_add_test(tc, settings_diff);
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
