/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The server's configuration: mandos.conf with the command line, and clients.conf sections. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "escrow.h"
#include "log.h"
#include "path-expand.h"
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
	expect_error("[a]\nkey_id = " KEY1 "\nprotocols = 1\n", "clients.conf:1: ");
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

/* Warnings collected by collect(), one per line. */
static char warnings[4096];

static void collect(const char *message, void *userdata)
{
	unsigned *n = userdata;

	strncat(warnings, message, sizeof(warnings) - strlen(warnings) - 2);
	strcat(warnings, "\n");
	(*n)++;
}

/* The warnings clients_config_check_keys() gives for a clients.conf text. */
static int client_key_warnings(const char *text)
{
	IniFile *ini = NULL;
	unsigned n = 0;
	int r;

	warnings[0] = '\0';
	ck_assert_int_eq(
	        clients_config_parse_string("clients.conf", text, strlen(text), &ini, NULL), 0);
	r = clients_config_check_keys(ini, collect, &n);
	ck_assert_int_eq(r, (int)n);
	ini_free(ini);
	return r;
}

START_TEST(unknown_client_keys)
{
	SecretStore *st = secret_store_new();
	ClientsConfig c;
	char *err;

	/* A typo: FILE:LINE, the section, and the key it probably meant. */
	ck_assert_int_eq(client_key_warnings("[foo]\n"
	                                     "key_id = " KEY1 "\n"
	                                     "secret = YQ==\n"
	                                     "chekcer = true\n"),
	                 1);
	ck_assert_str_eq(warnings, "clients.conf:4: unknown key 'chekcer' in section [foo] "
	                           "(did you mean 'checker'?)\n");
	/* Every key upstream knows, also those we ignore, in any case; no warning. */
	ck_assert_int_eq(client_key_warnings("[DEFAULT]\nTimeout = PT1M\nenabled = yes\n"
	                                     "[foo]\nkey_id = " KEY1 "\nfingerprint = AA\n"
	                                     "secfile = /x\nsecret = YQ==\nhost = h\n"
	                                     "checker = true\nextended_timeout = PT1M\n"
	                                     "Interval = PT1M\napproval_delay = PT1S\n"
	                                     "approval_duration = PT1S\n"
	                                     "approved_by_default = no\nenabled = no\n"),
	                 0);
	/* A second escrow key whose line lost its indentation is read as a key of its own (up
	 * to its "="): the warning says so without showing it. */
	ck_assert_int_eq(
	        client_key_warnings("[foo]\n"
	                            "key_id = " KEY1 "\n"
	                            "escrow_key = AQ5hQ+4lX9SBdYfm1i5KpFJOV0ncUMp9GSHTu37LuQs=\n"
	                            "Bw7Kp2tV/0c9uKzqJ3yHnR5XwLm8aEfD1gSiT6oNbQk=\n"),
	        1);
	ck_assert_str_eq(warnings, "clients.conf:4: unknown key of 43 characters of base64 in "
	                           "section [foo] (not shown: a continuation line of a value "
	                           "that lost its indentation?)\n");
	/* mandos-keygen's ssh_fingerprint, used by its checker: not unknown. */
	ck_assert_int_eq(client_key_warnings("[foo]\n"
	                                     "checker = ssh-keyscan %%(host)s | grep "
	                                     "%(ssh_fingerprint)s\n"
	                                     "ssh_fingerprint = ssh-ed25519 AAAA\n"),
	                 0);
	/* The same key used by [DEFAULT]'s checker, and a [DEFAULT] key used by a section. */
	ck_assert_int_eq(client_key_warnings("[DEFAULT]\n"
	                                     "checker = grep %(ssh_fingerprint)s\n"
	                                     "domain = example.org\n"
	                                     "[foo]\n"
	                                     "host = foo.%(DOMAIN)s\n"
	                                     "ssh_fingerprint = ssh-ed25519 AAAA\n"),
	                 0);
	/* "%%(x)s" is a runtime expansion, not a reference; nor is a use in another section. */
	ck_assert_int_eq(client_key_warnings("[DEFAULT]\n"
	                                     "unused = 1\n"
	                                     "[foo]\n"
	                                     "checker = echo %%(x)s\n"
	                                     "x = 1\n"
	                                     "[bar]\n"
	                                     "host = %(y)s\n"
	                                     "[baz]\n"
	                                     "y = 2\n"),
	                 3);
	ck_assert_str_eq(warnings, "clients.conf:2: unknown key 'unused' in section [DEFAULT]\n"
	                           "clients.conf:5: unknown key 'x' in section [foo]\n"
	                           "clients.conf:9: unknown key 'y' in section [baz]\n");
	/* The loader uses the file all the same, and counts the warnings it logged. */
	ck_assert_int_eq(load("[foo]\nkey_id = " KEY1 "\nsecret = YQ==\nchekcer = true\n"
	                      "tiemout = PT1S\n",
	                      st, &c, &err),
	                 0);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_uint_eq(c.n_warnings, 2);
	ck_assert_str_eq(c.clients[0].settings.checker, "fping -q -- %(host)s");
	clients_config_done(&c, st);
	secret_store_free(st);
}
END_TEST

START_TEST(unknown_server_keys)
{
	ServerSettings s;
	char a0[] = "mandos", a1[] = "--configdir", a3[] = "--check-config";
	char *argv[] = {a0, a1, dir, NULL};
	char *argv_check[] = {a0, a1, dir, a3, NULL};
	char want[400];

	/* Only [DEFAULT] counts; a referenced key is not unknown; our own keys are known. */
	write_file("mandos.conf", "[DEFAULT]\n"
	                          "port = 1234\n"
	                          "prot = 1\n"
	                          "base = /srv\n"
	                          "statedir = %(base)s/state\n"
	                          "max_connections = 10\n"
	                          "[other]\n"
	                          "anything = 1\n");
	ck_assert_int_eq(server_settings_parse(3, argv, &s), 0);
	ck_assert_uint_eq(s.config_problems, 1);
	snprintf(want, sizeof(want),
	         "%s/mandos.conf:3: unknown key 'prot' in section [DEFAULT] (did you mean 'port'?)",
	         dir);
	ck_assert_str_eq(s.config_warnings, want);
	ck_assert(!s.check_config);
	server_settings_done(&s);
	/* Without --check-config a bad value stops; with it, every problem is counted. */
	write_file("mandos.conf", "[DEFAULT]\n"
	                          "port = 1234\n"
	                          "restore = sometimes\n"
	                          "use_dbus = maybe\n"
	                          "zeroconff = no\n");
	ck_assert_int_eq(server_settings_parse(3, argv, &s), -EBADMSG);
	ck_assert_int_eq(server_settings_parse(4, argv_check, &s), 0);
	ck_assert(s.check_config);
	ck_assert_uint_eq(s.config_problems, 3);
	ck_assert_ptr_null(s.config_warnings); /* logged at once */
	ck_assert(s.restore && s.use_dbus);    /* the defaults */
	server_settings_done(&s);
	/* A syntax error: counted, and the defaults go on. */
	write_file("mandos.conf", "port = 1\n");
	ck_assert_int_eq(server_settings_parse(3, argv, &s), -EBADMSG);
	ck_assert_int_eq(server_settings_parse(4, argv_check, &s), 0);
	ck_assert_uint_eq(s.config_problems, 1);
	server_settings_done(&s);
	write_file("mandos.conf", "[DEFAULT]\n");
}
END_TEST

START_TEST(check_clients_conf)
{
	SecretStore *st = secret_store_new();
	char path[256];

	snprintf(path, sizeof(path), "%s/clients.conf", dir);
	/* An error in each of two sections, a skipped section, a warning: four problems. */
	write_file("clients.conf", "[a]\nkey_id = " KEY1 "\nsecret = YQ==\ntimeout = 5\n"
	                           "[b]\nkey_id = 12\nsecret = YQ==\n"
	                           "[c]\nsecret = YQ==\n"
	                           "[d]\nkey_id = " KEY1 "\nsecret = YQ==\nhots = x\n");
	ck_assert_int_eq(clients_config_check(path, st), 4);
	write_file("clients.conf", "[a]\nkey_id = " KEY1 "\nsecret = YQ==\n");
	ck_assert_int_eq(clients_config_check(path, st), 0);
	write_file("clients.conf", "[DEFAULT]\ntimeout = PT1M\n");
	ck_assert_int_eq(clients_config_check(path, st), 1); /* no clients */
	write_file("clients.conf", "[a]\nkey_id = " KEY1 "\nkey_id = " KEY1 "\n");
	ck_assert_int_eq(clients_config_check(path, st), 1); /* a syntax error */
	unlink(path);
	ck_assert_int_eq(clients_config_check(path, st), -ENOENT);
	ck_assert_uint_le(secret_store_chunks(st), 1);
	secret_store_free(st);
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

START_TEST(protocols_values)
{
	unsigned m = 99;
	char buf[PROTOCOLS_STRING_SIZE];

	ck_assert_int_eq(protocols_parse("1 2", &m), 0);
	ck_assert_uint_eq(m, PROTOCOL_BIT(1) | PROTOCOL_BIT(2));
	ck_assert_int_eq(protocols_parse(" 2,1 ", &m), 0);
	ck_assert_uint_eq(m, PROTOCOL_BIT(1) | PROTOCOL_BIT(2));
	ck_assert_int_eq(protocols_parse("2", &m), 0);
	ck_assert_uint_eq(m, PROTOCOL_BIT(2));
	ck_assert_int_eq(protocols_parse("1,\t1", &m), 0);
	ck_assert_uint_eq(m, PROTOCOL_BIT(1));
	m = 99;
	ck_assert_int_eq(protocols_parse("", &m), -EINVAL);
	ck_assert_int_eq(protocols_parse(" , ", &m), -EINVAL);
	ck_assert_int_eq(protocols_parse("3", &m), -EINVAL);
	ck_assert_int_eq(protocols_parse("12", &m), -EINVAL);
	ck_assert_int_eq(protocols_parse("1 two", &m), -EINVAL);
	ck_assert_int_eq(protocols_parse("1;2", &m), -EINVAL);
	ck_assert_uint_eq(m, 99);
	ck_assert_str_eq(protocols_format(PROTOCOL_BIT(1) | PROTOCOL_BIT(2), ' ', buf), "1 2");
	ck_assert_str_eq(protocols_format(PROTOCOL_BIT(1) | PROTOCOL_BIT(2), ',', buf), "1,2");
	ck_assert_str_eq(protocols_format(PROTOCOL_BIT(2), ',', buf), "2");
	ck_assert_str_eq(protocols_format(PROTOCOL_BIT(1), ' ', buf), "1");
}
END_TEST

/* 49 bytes, base64 in two lines. */
#define SEALED49_B64                                                                               \
	"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n"                                           \
	"    ISIjJCUmJygpKissLS4vMA=="

START_TEST(protocol2_clients)
{
	SecretStore *st = secret_store_new();
	ClientsConfig c;
	char *err;
	char path[300];

	/* A 60-byte sealed_secfile, and one too short. */
	snprintf(path, sizeof(path), "%s/sealed", dir);
	{
		FILE *f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		for (int i = 0; i < 60; i++) {
			fputc(i, f);
		}
		fclose(f);
	}
	write_file("short", "short");
	ck_assert_int_eq(load("[DEFAULT]\n"
	                      "release_limit = 3\n"
	                      "\n"
	                      "[one]\n"
	                      "key_id = " KEY1 "\n"
	                      "secret = YQ==\n"
	                      "\n"
	                      "[only2]\n"
	                      "key_id = " KEY1 "\n"
	                      "protocols = 2\n"
	                      "release_limit = 0\n"
	                      "sealed_secret = " SEALED49_B64 "\n"
	                      "sealed_secfile = $TEST_SECDIR/sealed\n"
	                      "\n"
	                      "[badproto]\n"
	                      "key_id = " KEY1 "\n"
	                      "secret = YQ==\n"
	                      "protocols = 1 3\n"
	                      "\n"
	                      "[badlimit]\n"
	                      "key_id = " KEY1 "\n"
	                      "secret = YQ==\n"
	                      "release_limit = 1000001\n"
	                      "\n"
	                      "[file]\n"
	                      "key_id = " KEY1 "\n"
	                      "protocols = 1,2\n"
	                      "sealed_secfile = $TEST_SECDIR/sealed\n"
	                      "\n"
	                      "[badsealed]\n"
	                      "key_id = " KEY1 "\n"
	                      "protocols = 2\n"
	                      "sealed_secret = AAEC!\n"
	                      "\n"
	                      "[shortsealed]\n"
	                      "key_id = " KEY1 "\n"
	                      "protocols = 2\n"
	                      "sealed_secfile = $TEST_SECDIR/short\n"
	                      "\n"
	                      "[nofile]\n"
	                      "key_id = " KEY1 "\n"
	                      "protocols = 2\n"
	                      "sealed_secfile = /nonexistent/sealed\n",
	                      st, &c, &err),
	                 0);
	ck_assert_uint_eq(c.n, 6);
	ck_assert_str_eq(c.clients[0].name, "one");
	ck_assert_uint_eq(c.clients[0].delivery.protocols, PROTOCOLS_DEFAULT);
	ck_assert_uint_eq(c.clients[0].delivery.release_limit, 3); /* from [DEFAULT] */
	ck_assert_ptr_null(c.clients[0].delivery.sealed);
	ck_assert_uint_eq(c.clients[0].secret.len, 1);

	ck_assert_str_eq(c.clients[1].name, "only2");
	ck_assert_uint_eq(c.clients[1].delivery.protocols, PROTOCOL_BIT(2));
	ck_assert_uint_eq(c.clients[1].delivery.release_limit, 0);
	ck_assert_uint_eq(c.clients[1].secret.len, 0);           /* no secret needed */
	ck_assert_uint_eq(c.clients[1].delivery.sealed_len, 49); /* sealed_secret wins */
	for (unsigned i = 0; i < 49; i++) {
		ck_assert_uint_eq(c.clients[1].delivery.sealed[i], i);
	}
	ck_assert_str_eq(c.clients[2].name, "file");
	ck_assert_uint_eq(c.clients[2].delivery.sealed_len, 60);
	ck_assert_uint_eq(c.clients[2].delivery.sealed[59], 59);
	/* Bad material: the section loads without it. */
	ck_assert_str_eq(c.clients[3].name, "badsealed");
	ck_assert_ptr_null(c.clients[3].delivery.sealed);
	ck_assert_str_eq(c.clients[4].name, "shortsealed");
	ck_assert_ptr_null(c.clients[4].delivery.sealed);
	ck_assert_str_eq(c.clients[5].name, "nofile");
	ck_assert_ptr_null(c.clients[5].delivery.sealed);
	clients_config_done(&c, st);

	/* A protocol-1-only section still needs a secret. */
	expect_error("[a]\nkey_id = " KEY1 "\nprotocols = 1\n", "clients.conf:1: ");
	/* So does one with the default protocols?  No: "1 2" includes 2. */
	ck_assert_int_eq(load("[a]\nkey_id = " KEY1 "\n", st, &c, &err), 0);
	ck_assert_uint_eq(c.n, 1);
	clients_config_done(&c, st);

	/* --check-config counts each bad key once. */
	snprintf(path, sizeof(path), "%s/clients.conf", dir);
	write_file("clients.conf", "[a]\nkey_id = " KEY1 "\nprotocols = x\n"
	                           "[b]\nkey_id = " KEY1 "\nrelease_limit = -1\n"
	                           "[c]\nkey_id = " KEY1 "\nsealed_secret = YQ==\n"
	                           "[d]\nkey_id = " KEY1 "\nprotocols = 2\nrelease_limit = 7\n");
	ck_assert_int_eq(clients_config_check(path, st), 3);
	secret_store_free(st);
}
END_TEST

/* Small canonical scalars 2, 3, 4 (base64) for escrow keys. */
#define S2_B64 "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define S3_B64 "AwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define S4_B64 "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

/* The escrow keys of e are the scalars first, first + 1, ... (one byte each), in this order. */
static void assert_scalars(const ClientEscrow *e, unsigned first, size_t n)
{
	const uint8_t(*kids)[ESCROW_KID_LEN] = client_escrow_kids(e);

	ck_assert_uint_eq(e->n, n);
	ck_assert_ptr_nonnull(kids);
	for (size_t i = 0; i < n; i++) {
		uint8_t S[P2_SCALAR_LEN] = {(uint8_t)(first + i)}, s[P2_POINT_LEN], kid[P2_KID_LEN];

		ck_assert_mem_eq(secret_data(&e->scalars) + i * ESCROW_SCALAR_LEN, S,
		                 P2_SCALAR_LEN);
		ck_assert_int_eq(p2_escrow_server_key(S, s, kid), 0);
		ck_assert_mem_eq(kids[i], kid, P2_KID_LEN);
	}
}

/* §B.2: escrow_key (several, continuation lines) and escrow_keyfile (expanded as secfile:
 * "%(name)s", then $VAR and ~), their union; every client's scalars in the one store, wiped
 * when the configuration is dropped (a reload or the exit). */
START_TEST(escrow_clients)
{
	SecretStore *st = secret_store_new();
	ClientsConfig c;
	char *err, path[300], *text = NULL;
	size_t len = 0;
	Secret other;
	FILE *f;

	write_file("esc-inl", "# a comment\n" S4_B64 "\n");
	write_file("esc-home", S3_B64 "\n");
	write_file("100%.key", S2_B64 " " S3_B64 "\n");
	setenv("HOME", dir, 1);
	ck_assert_int_eq(load("[DEFAULT]\n"
	                      "escrowdir = $TEST_SECDIR\n"
	                      "\n"
	                      "[inl]\n"
	                      "key_id = " KEY1 "\n"
	                      "protocols = 2\n"
	                      "escrow_key = " S2_B64 "\n"
	                      "    " S3_B64 "\n"
	                      "escrow_keyfile = %(escrowdir)s/esc-inl\n"
	                      "\n"
	                      "[home]\n"
	                      "key_id = " KEY1 "\n"
	                      "protocols = 2\n"
	                      "escrow_keyfile = ~/esc-home\n"
	                      "\n"
	                      "[percent]\n"
	                      "key_id = " KEY1 "\n"
	                      "protocols = 2\n"
	                      "escrow_keyfile = %(escrowdir)s/100%%.key\n",
	                      st, &c, &err),
	                 0);
	ck_assert_uint_eq(c.n, 3);
	/* The union: escrow_key's first, then the keyfile's. */
	assert_scalars(&c.clients[0].delivery.escrow, 2, 3);
	snprintf(path, sizeof(path), "%s/esc-inl", dir);
	ck_assert_str_eq(c.clients[0].delivery.escrow.keyfile, path);
	snprintf(path, sizeof(path), "%s/clients.conf:7", dir);
	ck_assert_str_eq(c.clients[0].delivery.escrow.inline_at, path);
	assert_scalars(&c.clients[1].delivery.escrow, 3, 1);
	snprintf(path, sizeof(path), "%s/esc-home", dir);
	ck_assert_str_eq(c.clients[1].delivery.escrow.keyfile, path);
	ck_assert_ptr_null(c.clients[1].delivery.escrow.inline_at);
	assert_scalars(&c.clients[2].delivery.escrow, 2, 2);
	snprintf(path, sizeof(path), "%s/100%%.key", dir);
	ck_assert_str_eq(c.clients[2].delivery.escrow.keyfile, path);
	clients_config_done(&c, st);

	/* An undefined "%(name)s" in the path is an error, as in any value. */
	expect_error("[a]\nkey_id = " KEY1 "\nprotocols = 2\nescrow_keyfile = %(nosuch)s/k\n",
	             "clients.conf:4: ");

	/* 300 clients with escrow keys: their scalars share one sodium_malloc() chunk (not one
	 * each), and dropping the configuration wipes them there (another secret keeps the
	 * chunk in use, so it is not merely freed). */
	ck_assert_int_eq(secret_store_put(st, "other", 5, &other), 0);
	f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 300; i++) {
		fprintf(f, "[c%d]\nkey_id = " KEY1 "\nprotocols = 2\nescrow_key = %s\n\n", i,
		        i % 2 ? S3_B64 : S2_B64 " " S4_B64);
	}
	fclose(f);
	ck_assert_int_eq(load(text, st, &c, &err), 0);
	free(text);
	ck_assert_uint_eq(c.n, 300);
	ck_assert_uint_eq(secret_store_chunks(st), 1);
	{
		const unsigned char *first = secret_data(&c.clients[0].delivery.escrow.scalars);
		const unsigned char *last = secret_data(&c.clients[299].delivery.escrow.scalars);

		ck_assert_uint_eq(first[0], 2);
		ck_assert_uint_eq(last[0], 3);
		clients_config_done(&c, st);
		/* The chunk stays mapped; the scalars' bytes are zeros now. */
		ck_assert_uint_eq(secret_store_chunks(st), 1);
		for (size_t i = 0; i < 2 * ESCROW_SCALAR_LEN; i++) {
			ck_assert_uint_eq(first[i], 0);
		}
		for (size_t i = 0; i < ESCROW_SCALAR_LEN; i++) {
			ck_assert_uint_eq(last[i], 0);
		}
	}
	ck_assert_mem_eq(secret_data(&other), "other", 5);
	secret_store_drop(st, &other);
	secret_store_free(st);
}
END_TEST

START_TEST(protocol2_settings)
{
	ServerSettings s;
	char a0[] = "mandos", a1[] = "--configdir", a3[] = "--no-zeroconf", a4[] = "--port=1",
	     b1[] = "--protocols=1", b2[] = "--server-key=/k.pem", b3[] = "--print-key-id",
	     c1[] = "--protocols=3";
	char *argv[] = {a0, a1, dir, a3, a4, NULL};
	char *argv2[] = {a0, a1, dir, a3, b1, b2, b3, NULL};
	char *argv3[] = {a0, a1, dir, a4, c1, NULL};
	char expect[300];

	write_file("mandos.conf", "[DEFAULT]\n");
	ck_assert_int_eq(server_settings_parse(5, argv, &s), 0);
	ck_assert_uint_eq(s.protocols, PROTOCOLS_DEFAULT);
	snprintf(expect, sizeof(expect), "%s/server-key.pem", dir);
	ck_assert_str_eq(s.server_key, expect);
	ck_assert(!s.print_key_id);
	ck_assert_uint_eq(s.source_rate, 20);
	ck_assert_uint_eq(s.source_burst, 10);
	ck_assert_uint_eq(s.source_connections, 16);
	ck_assert_uint_eq(s.unauthenticated_connections, 256);
	server_settings_done(&s);

	write_file("mandos.conf", "[DEFAULT]\nprotocols = 2\nserver_key = /etc/k.pem\n"
	                          "source_rate = 0\nsource_burst = 3\nsource_connections = 4\n"
	                          "unauthenticated_connections = 5\n");
	ck_assert_int_eq(server_settings_parse(5, argv, &s), 0);
	ck_assert_uint_eq(s.protocols, PROTOCOL_BIT(2));
	ck_assert_str_eq(s.server_key, "/etc/k.pem");
	ck_assert_uint_eq(s.source_rate, 0);
	ck_assert_uint_eq(s.source_burst, 3);
	ck_assert_uint_eq(s.source_connections, 4);
	ck_assert_uint_eq(s.unauthenticated_connections, 5);
	server_settings_done(&s);

	/* The command line wins; --print-key-id needs no port. */
	ck_assert_int_eq(server_settings_parse(7, argv2, &s), 0);
	ck_assert_uint_eq(s.protocols, PROTOCOL_BIT(1));
	ck_assert_str_eq(s.server_key, "/k.pem");
	ck_assert(s.print_key_id);
	server_settings_done(&s);
	ck_assert_int_eq(server_settings_parse(5, argv3, &s), -EINVAL);

	/* A bad protocols in mandos.conf: an error, and the default applies. */
	write_file("mandos.conf", "[DEFAULT]\nprotocols = 1 2 3\n");
	ck_assert_int_eq(server_settings_parse(5, argv, &s), 0);
	ck_assert_uint_eq(s.protocols, PROTOCOLS_DEFAULT);
	server_settings_done(&s);
	write_file("mandos.conf", "[DEFAULT]\nsource_connections = 0\n");
	ck_assert_int_eq(server_settings_parse(5, argv, &s), -EBADMSG);
	write_file("mandos.conf", "[DEFAULT]\n");
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
	tcase_add_test(tc, unknown_client_keys);
	tcase_add_test(tc, unknown_server_keys);
	tcase_add_test(tc, check_clients_conf);
	tcase_add_test(tc, expand_paths);
	tcase_add_test(tc, settings_diff);
	tcase_add_test(tc, protocols_values);
	tcase_add_test(tc, protocol2_clients);
	tcase_add_test(tc, protocol2_settings);
	tcase_add_test(tc, escrow_clients);
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
