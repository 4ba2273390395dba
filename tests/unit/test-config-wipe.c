/* SPDX-License-Identifier: GPL-3.0-or-later */
/* No copy of a clients.conf secret is freed or realloc()ed unwiped (free and realloc wrapped). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#ifdef HAVE_VALGRIND_MEMCHECK_H
#include <valgrind/memcheck.h>
#endif

#include "config.h"
#include "escrow.h"
#include "io-util.h"
#include "log.h"
#include "secmem.h"
#include "unit-main.h"

/*
 * This test is linked with -Wl,--wrap=free -Wl,--wrap=realloc: every free() and realloc() of
 * the server's code (and of common/) comes here first.  While armed, a block about to be freed
 * (or realloc()ed: realloc() may free the old block as it is) is searched for the markers, the
 * secrets' bytes and their base64 text.  glibc, ASan and valgrind all provide
 * malloc_usable_size() and let __real_free() reach their own free().
 */
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

#define NEEDLE_LEN 12 /* raw bytes; their base64 is 16 characters */
#define MAX_NEEDLES 24

typedef struct Needle {
	const char *what;
	char text[NEEDLE_LEN * 2 + 1];
	size_t len;
} Needle;

static Needle needles[MAX_NEEDLES];
static size_t n_needles;
static bool armed;
static unsigned n_inspected, n_hits;
static char hits[1024];

static void inspect(void *p, const char *how)
{
	size_t n;

	if (!armed || !p) {
		return;
	}
	armed = false; /* no recursion through anything called here */
	n = malloc_usable_size(p);
	n_inspected++;
#ifdef HAVE_VALGRIND_MEMCHECK_H
	/* Bytes never written are searched too; keep memcheck quiet about them, and put their
	 * state back (realloc() copies them on). */
	char *vbits = RUNNING_ON_VALGRIND && n ? malloc(n) : NULL;

	if (vbits) {
		(void)VALGRIND_GET_VBITS(p, vbits, n);
		(void)VALGRIND_MAKE_MEM_DEFINED(p, n);
	}
#endif
	for (size_t i = 0; i < n_needles; i++) {
		if (memmem(p, n, needles[i].text, needles[i].len)) {
			size_t used = strlen(hits);

			/* The first few. */
			if (n_hits++ < 4) {
				snprintf(hits + used, sizeof(hits) - used,
				         "%sa block of %zu bytes holding %s was %s unwiped",
				         used ? "; " : "", n, needles[i].what, how);
			}
			break;
		}
	}
#ifdef HAVE_VALGRIND_MEMCHECK_H
	if (vbits) {
		(void)VALGRIND_SET_VBITS(p, vbits, n);
		__real_free(vbits);
	}
#endif
	armed = true;
}

void __wrap_free(void *p)
{
	inspect(p, "freed");
	__real_free(p);
}

void *__wrap_realloc(void *p, size_t n)
{
	inspect(p, "realloc()ed");
	return __real_realloc(p, n);
}

static void arm(void)
{
	n_inspected = n_hits = 0;
	hits[0] = '\0';
	armed = true;
}

static void disarm(void)
{
	armed = false;
}

/* Through volatile pointers, so that the compiler cannot drop a malloc()/free() pair. */
static void *(*volatile call_realloc)(void *, size_t) = realloc;
static void (*volatile call_free)(void *) = free;

static void add_needle(const char *what, const void *data, bool base64)
{
	Needle *nd;

	if (n_needles == MAX_NEEDLES) {
		abort();
	}
	nd = &needles[n_needles++];
	nd->what = what;
	if (base64) {
		sodium_bin2base64(nd->text, sizeof(nd->text), data, NEEDLE_LEN,
		                  sodium_base64_VARIANT_ORIGINAL);
		nd->len = strlen(nd->text);
	} else {
		memcpy(nd->text, data, NEEDLE_LEN);
		nd->len = NEEDLE_LEN;
	}
}

/* The secrets.  Escrow scalars: 29 bytes of text and three zero bytes, so canonical. */
#define SECRET_LEN 48
static const uint8_t secret_a[SECRET_LEN] = "WIPEsecretA:the secret of [a] in base64 lines..";
static const uint8_t secret_b[SECRET_LEN] = "WIPEsecretB:the secret of [b], interpolated...";
static const uint8_t secfile_c[SECRET_LEN] = "WIPEsecfileC: the raw bytes of [c]'s secfile..";
static const uint8_t escrow_1[ESCROW_SCALAR_LEN] = "WIPEescrow-1:inline scalar..";
static const uint8_t escrow_2[ESCROW_SCALAR_LEN] = "WIPEescrow-2:inline scalar..";
static const uint8_t escrow_k[ESCROW_SCALAR_LEN] = "WIPEkeyfile:a keyfile scalar";
#define SEALED_LEN 64
static const uint8_t sealed_b[SEALED_LEN] = "WIPEsealedB:sealed_secret of [b], a box of 64 bytes.";
static const uint8_t sealed_c[SEALED_LEN] = "WIPEsealedC:sealed_secfile of [c], a box of 64 bytes";

#define KEY1 "dd3677011afdb724949f3fb96a511e42494fd2b7059aade2c9ae7beca78b91b8"

static char dir[] = "/tmp/test-config-wipe-XXXXXX";
static char conf_path[256];

/* Written with write(2) from static memory: no heap copy (stdio's buffer would be one). */
static void write_file(const char *name, const void *data, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(loop_write(fd, data, len), 0);
	close(fd);
}

/*
 * clients.conf with every way a secret gets in: [a] a base64 secret on two lines, two inline
 * escrow keys (the first alone on its line, so the value grows) and an escrow_keyfile; [b] a
 * secret put together by interpolation, and a sealed_secret; [c] a secfile and a
 * sealed_secfile.  Then over 8 KiB of comments, so that
 * the reader's buffer outgrows its first block with the secrets in it.  `tail` is appended.
 */
static void write_conf(const char *tail)
{
	static char conf[32 * 1024];
	char a[2 * SECRET_LEN], b[2 * SECRET_LEN], e1[64], e2[64], k[64], keyfile[80];
	char sb[2 * SEALED_LEN];
	size_t n;

	sodium_bin2base64(a, sizeof(a), secret_a, SECRET_LEN, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(b, sizeof(b), secret_b, SECRET_LEN, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(e1, sizeof(e1), escrow_1, ESCROW_SCALAR_LEN,
	                  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(e2, sizeof(e2), escrow_2, ESCROW_SCALAR_LEN,
	                  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(k, sizeof(k), escrow_k, ESCROW_SCALAR_LEN,
	                  sodium_base64_VARIANT_ORIGINAL);
	n = (size_t)snprintf(keyfile, sizeof(keyfile), "# escrow key\n%s\n", k);
	write_file("escrow.key", keyfile, n);
	write_file("secfile", secfile_c, SECRET_LEN);
	write_file("sealed", sealed_c, SEALED_LEN);
	sodium_bin2base64(sb, sizeof(sb), sealed_b, SEALED_LEN, sodium_base64_VARIANT_ORIGINAL);
	n = (size_t)snprintf(conf, sizeof(conf),
	                     "[DEFAULT]\n"
	                     "dir = %s\n"
	                     "\n"
	                     "[a]\n"
	                     "key_id = " KEY1 "\n"
	                     "protocols = 1 2\n"
	                     "secret = %.32s\n"
	                     "    %s\n"
	                     "escrow_key = %s\n"
	                     "    %s\n"
	                     "escrow_keyfile = %%(dir)s/escrow.key\n"
	                     "\n"
	                     "[b]\n"
	                     "key_id = " KEY1 "\n"
	                     "b1 = %.32s\n"
	                     "b2 = %s\n"
	                     "secret = %%(b1)s%%(b2)s\n"
	                     "sealed_secret = %s\n"
	                     "\n"
	                     "[c]\n"
	                     "key_id = " KEY1 "\n"
	                     "secfile = %%(dir)s/secfile\n"
	                     "sealed_secfile = %%(dir)s/sealed\n"
	                     "\n",
	                     dir, a, a + 32, e1, e2, b, b + 32, sb);
	for (int i = 0; i < 200; i++) {
		n += (size_t)snprintf(
		        conf + n, sizeof(conf) - n,
		        "# padding line %03d, to make the file outgrow 4 KiB.......\n", i);
	}
	n += (size_t)snprintf(conf + n, sizeof(conf) - n, "%s", tail);
	ck_assert_uint_lt(n, sizeof(conf) - 1);
	ck_assert_uint_gt(n, 8192);
	write_file("clients.conf", conf, n);
}

/* The wrappers see what they should: otherwise every other test here would pass vacuously. */
START_TEST(wrappers_work)
{
	char *p;

	/* (No ck_assert while armed: Check frees its own messages.) */
	p = malloc(64);
	ck_assert_ptr_nonnull(p);
	memcpy(p, needles[0].text, needles[0].len);
	arm();
	p = call_realloc(p, 64 * 1024);
	disarm();
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(n_inspected, 1);
	ck_assert_uint_eq(n_hits, 1);
	ck_assert_ptr_nonnull(strstr(hits, "realloc()ed unwiped"));

	arm();
	call_free(p);
	disarm();
	ck_assert_uint_eq(n_inspected, 1);
	ck_assert_uint_eq(n_hits, 1);
	ck_assert_ptr_nonnull(strstr(hits, "freed unwiped"));

	p = malloc(64);
	ck_assert_ptr_nonnull(p);
	memcpy(p, needles[0].text, needles[0].len);
	arm();
	secmem_free(p, 64);
	disarm();
	ck_assert_uint_eq(n_inspected, 1);
	ck_assert_uint_eq(n_hits, 0);
}
END_TEST

/* Load it all, check that it was read, drop it: no block that held a secret left unwiped. */
START_TEST(clients_conf_wiped)
{
	SecretStore *st = secret_store_new();
	ClientsConfig c = {0};
	char *err = NULL;
	int r;

	ck_assert_ptr_nonnull(st);
	write_conf("");
	arm();
	r = clients_config_load(conf_path, st, &c, &err);
	disarm();
	ck_assert_msg(r == 0, "load: %d %s", r, err ? err : "");
	ck_assert_uint_eq(c.n, 3);
	ck_assert_uint_eq(c.clients[0].secret.len, SECRET_LEN);
	ck_assert_mem_eq(secret_data(&c.clients[0].secret), secret_a, SECRET_LEN);
	ck_assert_uint_eq(c.clients[0].delivery.escrow.n, 3);
	ck_assert_mem_eq(secret_data(&c.clients[0].delivery.escrow.scalars), escrow_1,
	                 ESCROW_SCALAR_LEN);
	ck_assert_mem_eq(secret_data(&c.clients[0].delivery.escrow.scalars) + ESCROW_SCALAR_LEN,
	                 escrow_2, ESCROW_SCALAR_LEN);
	ck_assert_mem_eq(secret_data(&c.clients[0].delivery.escrow.scalars) + 2 * ESCROW_SCALAR_LEN,
	                 escrow_k, ESCROW_SCALAR_LEN);
	ck_assert_mem_eq(secret_data(&c.clients[1].secret), secret_b, SECRET_LEN);
	ck_assert_mem_eq(secret_data(&c.clients[2].secret), secfile_c, SECRET_LEN);
	ck_assert_uint_eq(c.clients[1].delivery.sealed_len, SEALED_LEN);
	ck_assert_mem_eq(c.clients[1].delivery.sealed, sealed_b, SEALED_LEN);
	ck_assert_uint_eq(c.clients[2].delivery.sealed_len, SEALED_LEN);
	ck_assert_mem_eq(c.clients[2].delivery.sealed, sealed_c, SEALED_LEN);
	ck_assert_msg(n_hits == 0, "while loading: %s", hits);
	ck_assert_uint_gt(n_inspected, 0);

	arm();
	clients_config_done(&c, st);
	secret_store_free(st);
	disarm();
	ck_assert_msg(n_hits == 0, "while freeing: %s", hits);
	ck_assert_uint_gt(n_inspected, 0);
}
END_TEST

/* A later section stops the loading: what was read of the earlier ones is wiped as well. */
START_TEST(clients_conf_error_wiped)
{
	SecretStore *st = secret_store_new();
	ClientsConfig c = {0};
	char *err = NULL;
	int r;

	ck_assert_ptr_nonnull(st);
	write_conf("[z]\nkey_id = " KEY1 "\nsecfile = /dev/null\ninterval = 0s\n");
	arm();
	r = clients_config_load(conf_path, st, &c, &err);
	secret_store_free(st);
	disarm();
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(strstr(err, "interval"));
	free(err);
	ck_assert_msg(n_hits == 0, "%s", hits);
	ck_assert_uint_gt(n_inspected, 0);

	/* --check-config reads it all, logging the error, and drops it. */
	st = secret_store_new();
	ck_assert_ptr_nonnull(st);
	arm();
	r = clients_config_check(conf_path, st);
	secret_store_free(st);
	disarm();
	ck_assert_int_gt(r, 0);
	ck_assert_msg(n_hits == 0, "%s", hits);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config-wipe");
	TCase *tc = tcase_create("core");
	int r;

	log_set_max_level(LOG_CRIT);
	if (secmem_init() < 0 || !mkdtemp(dir)) {
		return 99;
	}
	snprintf(conf_path, sizeof(conf_path), "%s/clients.conf", dir);
	add_needle("secret [a] (base64)", secret_a, true);
	add_needle("secret [a] (bytes)", secret_a, false);
	add_needle("secret [b] (base64)", secret_b, true);
	add_needle("secret [b], second half (base64)", secret_b + 24, true);
	add_needle("secret [b] (bytes)", secret_b, false);
	add_needle("secfile [c] (bytes)", secfile_c, false);
	add_needle("escrow_key #1 (base64)", escrow_1, true);
	add_needle("escrow_key #1 (bytes)", escrow_1, false);
	add_needle("escrow_key #2 (base64)", escrow_2, true);
	add_needle("escrow_key #2 (bytes)", escrow_2, false);
	add_needle("escrow_keyfile's key (base64)", escrow_k, true);
	add_needle("escrow_keyfile's key (bytes)", escrow_k, false);
	add_needle("sealed_secret [b] (base64)", sealed_b, true);
	add_needle("sealed_secret [b] (bytes)", sealed_b, false);
	add_needle("sealed_secfile [c] (bytes)", sealed_c, false);
	tcase_add_test(tc, wrappers_work);
	tcase_add_test(tc, clients_conf_wiped);
	tcase_add_test(tc, clients_conf_error_wiped);
	suite_add_tcase(s, tc);
	r = unit_run(s);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		(void)!system(cmd);
	}
	return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
