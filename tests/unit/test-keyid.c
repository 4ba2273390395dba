/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Key IDs: known vectors (checked with certtool --key-id --hash=sha256), normalisation. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyid.h"
#include "priority.h"

static const char pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                              "MCowBQYDK2VwAyEA436VNHt9mglTeipGzZAhyj5JzBhU8i7wc772ULnVfWk=\n"
                              "-----END PUBLIC KEY-----\n";
static const unsigned char pub_der[] = {
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00, 0xe3, 0x7e, 0x95,
        0x34, 0x7b, 0x7d, 0x9a, 0x09, 0x53, 0x7a, 0x2a, 0x46, 0xcd, 0x90, 0x21, 0xca, 0x3e, 0x49,
        0xcc, 0x18, 0x54, 0xf2, 0x2e, 0xf0, 0x73, 0xbe, 0xf6, 0x50, 0xb9, 0xd5, 0x7d, 0x69};
#define PUB_ID "AFEB0CB173A18F494B4373A9936F50F4E8214550236587DE1FF7025AB7E5C1AA"

static const char priv_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                               "MC4CAQAwBQYDK2VwBCIEIP3p7/kuiIryrgS2OqkX9Y18YQkafvMyzroHnr0+SSV7\n"
                               "-----END PRIVATE KEY-----\n";
#define PRIV_ID "14884387FE87CA2F386D1DE71CA232F641EA1264AF0FE46AEB04F81DF1F298A6"

START_TEST(from_der)
{
	char id[KEYID_STRING_SIZE];

	ck_assert_int_eq(keyid_from_der(pub_der, sizeof(pub_der), id), 0);
	ck_assert_str_eq(id, PUB_ID);
	ck_assert_int_eq(keyid_from_der("", 0, id), 0);
	ck_assert_str_eq(id, KEYID_EMPTY);
	ck_assert(!keyid_is_acceptable(id));
	ck_assert(keyid_is_acceptable(PUB_ID));
}
END_TEST

START_TEST(from_key_data)
{
	char id[KEYID_STRING_SIZE];

	ck_assert_int_eq(keyid_from_key_data(pub_pem, strlen(pub_pem), id), 0);
	ck_assert_str_eq(id, PUB_ID);
	ck_assert_int_eq(keyid_from_key_data(pub_der, sizeof(pub_der), id), 0);
	ck_assert_str_eq(id, PUB_ID);
	/* The public half of a private key has the same ID as the public key file. */
	ck_assert_int_eq(keyid_from_key_data(priv_pem, strlen(priv_pem), id), 0);
	ck_assert_str_eq(id, PRIV_ID);
	ck_assert_int_eq(keyid_from_key_data("garbage", 7, id), -EBADMSG);
	ck_assert_int_eq(keyid_from_key_data("-----BEGIN PUBLIC KEY-----\nxx\n", 30, id), -EBADMSG);
}
END_TEST

START_TEST(from_file)
{
	char path[] = "/tmp/test-keyid-XXXXXX";
	char id[KEYID_STRING_SIZE];
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, pub_pem, strlen(pub_pem)), (ssize_t)strlen(pub_pem));
	close(fd);
	ck_assert_int_eq(keyid_from_file(path, id), 0);
	ck_assert_str_eq(id, PUB_ID);
	unlink(path);
	ck_assert_int_eq(keyid_from_file(path, id), -ENOENT);
}
END_TEST

START_TEST(normalize)
{
	char id[KEYID_STRING_SIZE];

	ck_assert_int_eq(
	        keyid_normalize("afeb0cb173a18f494b4373a9936f50f4e8214550236587de1ff7025ab7e5c1aa",
	                        id),
	        0);
	ck_assert_str_eq(id, PUB_ID);
	ck_assert_int_eq(
	        keyid_normalize("AFEB 0CB1 73A1 8F49 4B43 73A9 936F 50F4 E821 4550 2365 87DE "
	                        "1FF7 025A B7E5 C1aa",
	                        id),
	        0);
	ck_assert_str_eq(id, PUB_ID);
	strcpy(id, "untouched");
	ck_assert_int_eq(keyid_normalize("AFEB", id), -EINVAL);
	ck_assert_int_eq(keyid_normalize(PUB_ID "00", id), -EINVAL);
	ck_assert_int_eq(keyid_normalize("G" PUB_ID, id), -EINVAL);
	ck_assert_int_eq(
	        keyid_normalize("AFEB0CB173A18F494B4373A9936F50F4E8214550236587DE1FF7025AB7E5C1A\t",
	                        id),
	        -EINVAL);
	ck_assert_str_eq(id, "untouched");
}
END_TEST

START_TEST(priorities)
{
	const char *pos = NULL;

	ck_assert_int_eq(priority_check(MANDOS_DEFAULT_PRIORITY, &pos), 0);
	ck_assert_int_eq(priority_check("NORMAL", &pos), 0);
	ck_assert_int_eq(priority_check("NORMAL:+BOGUS-THING", &pos), -EINVAL);
	ck_assert_ptr_nonnull(pos);
	ck_assert_ptr_nonnull(strstr(pos, "BOGUS"));
}
END_TEST

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* A priority's groups or ciphers (as lister gives them), in order, and sorted. */
static unsigned list_of(int (*lister)(gnutls_priority_t, const unsigned **), gnutls_priority_t p,
                        unsigned list[32], unsigned sorted[32])
{
	const unsigned *l = NULL;
	int n = lister(p, &l);

	ck_assert_int_gt(n, 0);
	ck_assert_int_le(n, 32);
	memcpy(list, l, (size_t)n * sizeof(unsigned));
	memcpy(sorted, l, (size_t)n * sizeof(unsigned));
	qsort(sorted, (size_t)n, sizeof(unsigned), cmp_uint);
	return (unsigned)n;
}
#define groups_of(p, list, sorted) list_of(gnutls_priority_group_list, p, list, sorted)
#define ciphers_of(p, list, sorted) list_of(gnutls_priority_cipher_list, p, list, sorted)

/*
 * The default string gets X25519 and ChaCha20-Poly1305 first and nothing else changes;
 * other strings are untouched.
 */
START_TEST(priority_group_order)
{
	gnutls_priority_t plain, ours;
	unsigned a[32], as[32], b[32], bs[32], na, nb;
	const char *pos = NULL;

	ck_assert_int_eq(gnutls_priority_init(&plain, MANDOS_DEFAULT_PRIORITY, NULL), 0);
	ck_assert_int_eq(priority_init(&ours, MANDOS_DEFAULT_PRIORITY, &pos), 0);
	na = groups_of(plain, a, as);
	nb = groups_of(ours, b, bs);
	ck_assert_uint_eq(na, nb);
	ck_assert_mem_eq(as, bs, na * sizeof(unsigned));
	ck_assert_uint_ne(a[0], GNUTLS_GROUP_X25519);
	ck_assert_uint_eq(b[0], GNUTLS_GROUP_X25519);
	ck_assert_uint_eq(b[1], GNUTLS_GROUP_SECP256R1);
	na = ciphers_of(plain, a, as);
	nb = ciphers_of(ours, b, bs);
	ck_assert_uint_eq(na, nb);
	ck_assert_mem_eq(as, bs, na * sizeof(unsigned));
	ck_assert_uint_eq(a[0], GNUTLS_CIPHER_AES_256_GCM);
	ck_assert_uint_eq(b[0], GNUTLS_CIPHER_CHACHA20_POLY1305);
	ck_assert_uint_eq(b[1], GNUTLS_CIPHER_AES_256_GCM);
	gnutls_priority_deinit(ours);
	gnutls_priority_deinit(plain);

	ck_assert_int_eq(gnutls_priority_init(&plain, "NORMAL", NULL), 0);
	ck_assert_int_eq(priority_init(&ours, "NORMAL", NULL), 0);
	na = groups_of(plain, a, as);
	nb = groups_of(ours, b, bs);
	ck_assert_uint_eq(na, nb);
	ck_assert_mem_eq(a, b, na * sizeof(unsigned));
	gnutls_priority_deinit(ours);
	gnutls_priority_deinit(plain);

	ck_assert_int_lt(priority_init(&ours, "NORMAL:+BOGUS-THING", &pos), 0);
	ck_assert_ptr_nonnull(strstr(pos, "BOGUS"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("keyid");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, from_der);
	tcase_add_test(tc, from_key_data);
	tcase_add_test(tc, from_file);
	tcase_add_test(tc, normalize);
	tcase_add_test(tc, priorities);
	tcase_add_test(tc, priority_group_order);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
