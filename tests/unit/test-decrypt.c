/* SPDX-License-Identifier: GPL-3.0-or-later */
/* GPGME decryption into a SecBuf: exact bytes, wrong key, size limit, home removed (needs gpg). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decrypt.h"
#include "io-util.h"

static char dir[] = "/tmp/test-decrypt-XXXXXX";
static const char plain[] = " s3cr\0et\n\n x"; /* NUL inside, no final newline */

static void read_file(const char *name, char **ret, size_t *len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(read_full_file(path, 1 << 20, ret, len), 0);
}

static void import_keys(Decryptor *d, const char *prefix)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%spub.asc", dir, prefix);
	ck_assert_int_gt(decryptor_import_file(d, path, NULL), 0);
	snprintf(path, sizeof(path), "%s/%ssec.asc", dir, prefix);
	ck_assert_int_gt(decryptor_import_file(d, path, NULL), 0);
}

START_TEST(decrypt_exact)
{
	const char *const tmp[] = {"/nonexistent-dir", dir, NULL};
	_cleanup_(decryptor_freep) Decryptor *d = NULL;
	_cleanup_secbuf_ SecBuf *out = secbuf_new(16, 1024);
	_cleanup_free_ char *msg = NULL;
	_cleanup_free_ char *home = NULL;
	struct stat st;
	size_t len;

	ck_assert_int_eq(decryptor_new(tmp, &d), 0);
	home = strdup(decryptor_home(d));
	ck_assert_int_eq(strncmp(home, dir, strlen(dir)), 0);
	ck_assert_int_eq(stat(home, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0700);
	import_keys(d, "a");
	read_file("msg-a.gpg", &msg, &len);
	ck_assert_int_eq(decryptor_decrypt(d, msg, len, out, NULL), 0);
	ck_assert_uint_eq(out->len, sizeof(plain) - 1);
	ck_assert_int_eq(memcmp(out->data, plain, out->len), 0);
	d = decryptor_free(d);
	/* The home and everything in it (agent sockets, private keys) are gone. */
	ck_assert_int_eq(stat(home, &st), -1);
}
END_TEST

START_TEST(decrypt_signed)
{
	const char *const tmp[] = {dir, NULL};
	_cleanup_(decryptor_freep) Decryptor *d = NULL;
	_cleanup_secbuf_ SecBuf *out = secbuf_new(16, 1024);
	_cleanup_free_ char *msg = NULL, *signed_a = NULL, *signed_b = NULL;
	const char *detail = NULL;
	size_t len, len_a, len_b;

	ck_assert_int_eq(decryptor_new(tmp, &d), 0);
	import_keys(d, "a");
	decryptor_require_signature(d, true);
	/* Signed by our own key: accepted, exact bytes. */
	read_file("msg-a-signed.gpg", &signed_a, &len_a);
	ck_assert_int_eq(decryptor_decrypt(d, signed_a, len_a, out, NULL), 0);
	ck_assert_uint_eq(out->len, sizeof(plain) - 1);
	ck_assert_int_eq(memcmp(out->data, plain, out->len), 0);
	secbuf_clear(out);
	/* Not signed, or signed by a key we don't have: refused, nothing left in out. */
	read_file("msg-a.gpg", &msg, &len);
	ck_assert_int_eq(decryptor_decrypt(d, msg, len, out, &detail), -EKEYREJECTED);
	ck_assert_ptr_nonnull(detail);
	ck_assert_uint_eq(out->len, 0);
	read_file("msg-a-signed-b.gpg", &signed_b, &len_b);
	ck_assert_int_eq(decryptor_decrypt(d, signed_b, len_b, out, NULL), -EKEYREJECTED);
	ck_assert_uint_eq(out->len, 0);
}
END_TEST

START_TEST(decrypt_wrong_key)
{
	const char *const tmp[] = {dir, NULL};
	_cleanup_(decryptor_freep) Decryptor *d = NULL;
	_cleanup_secbuf_ SecBuf *out = secbuf_new(16, 1024);
	_cleanup_free_ char *msg = NULL;
	const char *detail = NULL;
	size_t len;

	ck_assert_int_eq(decryptor_new(tmp, &d), 0);
	import_keys(d, "b");
	read_file("msg-a.gpg", &msg, &len);
	ck_assert_int_eq(decryptor_decrypt(d, msg, len, out, &detail), -EBADMSG);
	ck_assert_ptr_nonnull(detail);
	ck_assert_uint_eq(out->len, 0);
	ck_assert_int_eq(decryptor_decrypt(d, "garbage", 7, out, NULL), -EBADMSG);
	ck_assert_uint_eq(out->len, 0);
}
END_TEST

START_TEST(decrypt_too_big)
{
	const char *const tmp[] = {dir, NULL};
	_cleanup_(decryptor_freep) Decryptor *d = NULL;
	_cleanup_secbuf_ SecBuf *out = secbuf_new(4, 4);
	_cleanup_free_ char *msg = NULL;
	size_t len;

	ck_assert_int_eq(decryptor_new(tmp, &d), 0);
	import_keys(d, "a");
	read_file("msg-a.gpg", &msg, &len);
	ck_assert_int_lt(decryptor_decrypt(d, msg, len, out, NULL), 0);
	ck_assert_uint_eq(out->len, 0);
}
END_TEST

START_TEST(import_errors)
{
	const char *const none[] = {"/nonexistent-dir", NULL};
	const char *const tmp[] = {dir, NULL};
	_cleanup_(decryptor_freep) Decryptor *d = NULL;
	char path[256];

	ck_assert_int_eq(decryptor_new(none, &d), -ENOENT);
	ck_assert_int_eq(decryptor_new(tmp, &d), 0);
	ck_assert_int_eq(decryptor_import_file(d, "/nonexistent-file", NULL), -ENOENT);
	snprintf(path, sizeof(path), "%s/msg-a.gpg", dir);
	ck_assert_int_lt(decryptor_import_file(d, path, NULL), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("decrypt");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (secmem_init() < 0 || !mkdtemp(dir)) {
		return 99;
	}
	if (system("command -v gpg >/dev/null") != 0) {
		return 77;
	}
	/* Two throw-away key pairs (fast curves) and a message to the first. */
	{
		char cmd[4096];

		snprintf(cmd, sizeof(cmd),
		         "set -e; cd %s; mkdir -m 700 g; G='gpg -q --batch --homedir g';"
		         "for k in a b; do $G --passphrase '' --quick-gen-key \"test $k\" ed25519 "
		         "sign never; fp=$($G --with-colons -K \"test $k\" | awk -F: '/^fpr/{print "
		         "$10; "
		         "exit}'); $G --passphrase '' --quick-add-key $fp cv25519 encr never;"
		         "$G --armor --export \"test $k\" >${k}pub.asc;"
		         "$G --armor --export-secret-keys \"test $k\" >${k}sec.asc; done;"
		         "printf ' s3cr\\000et\\n\\n x' | $G --trust-model always -r 'test a' "
		         "--encrypt >msg-a.gpg;"
			 "printf ' s3cr\\000et\\n\\n x' | $G --trust-model always -r 'test a' "
			 "-u 'test a' --sign --encrypt >msg-a-signed.gpg;"
			 "printf 'x' | $G --trust-model always -r 'test a' -u 'test b' --sign "
			 "--encrypt >msg-a-signed-b.gpg; gpgconf --homedir g --kill gpg-agent",
		         dir);
		if (system(cmd) != 0) {
			return 99;
		}
	}
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, decrypt_exact);
	tcase_add_test(tc, decrypt_signed);
	tcase_add_test(tc, decrypt_wrong_key);
	tcase_add_test(tc, decrypt_too_big);
	tcase_add_test(tc, import_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0) {
			failed++;
		}
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
