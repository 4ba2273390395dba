/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Server helpers: Python-style text forms, checker expansion, the hash map, the secret store. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "format.h"
#include "hashmap.h"
#include "secret-store.h"

START_TEST(timestamps)
{
	char buf[TIMESTAMP_STRING_MAX];

	/* 2024-01-02 03:04:05.123456 UTC */
	ck_assert_str_eq(timestamp_format_python(1704164645123456ULL, buf, sizeof(buf)),
	                 "2024-01-02 03:04:05.123456");
	ck_assert_str_eq(timestamp_format_python(1704164645000000ULL, buf, sizeof(buf)),
	                 "2024-01-02 03:04:05");
	ck_assert_str_eq(timestamp_format_python(0, buf, sizeof(buf)), "None");
	/* D-Bus form: always microseconds, "" for never. */
	ck_assert_str_eq(timestamp_format_iso(1704164645000000ULL, buf, sizeof(buf)),
	                 "2024-01-02T03:04:05.000000");
	ck_assert_str_eq(timestamp_format_iso(0, buf, sizeof(buf)), "");
}
END_TEST

static void check_quote(const char *in, const char *out)
{
	char *q = shell_quote(in);

	ck_assert_ptr_nonnull(q);
	ck_assert_str_eq(q, out);
	free(q);
}

START_TEST(quoting)
{
	/* shlex.quote() */
	check_quote("host.example.org", "host.example.org");
	check_quote("a-b_c@d%e+f=g:h,i/j", "a-b_c@d%e+f=g:h,i/j");
	check_quote("", "''");
	check_quote("my host", "'my host'");
	check_quote("$(reboot)", "'$(reboot)'");
	check_quote("it's", "'it'\"'\"'s'");
	check_quote("0:05:00", "0:05:00");
	check_quote("2024-01-02 03:04:05", "'2024-01-02 03:04:05'");
}
END_TEST

START_TEST(repr)
{
	char *r = py_repr("1\n");

	ck_assert_str_eq(r, "'1\\n'");
	free(r);
	r = py_repr("it's");
	ck_assert_str_eq(r, "\"it's\"");
	free(r);
}
END_TEST

START_TEST(escaping)
{
	const char raw[] = "a b%c\nd\x01";
	char *e = state_escape(raw, sizeof(raw) - 1), *back = NULL;
	size_t len = 0;

	ck_assert_str_eq(e, "a%20b%25c%0Ad%01");
	ck_assert_int_eq(state_unescape(e, &back, &len), 0);
	ck_assert_uint_eq(len, sizeof(raw) - 1);
	ck_assert_mem_eq(back, raw, len);
	free(e);
	free(back);
	e = state_escape("", 0);
	ck_assert_str_eq(e, "%");
	ck_assert_int_eq(state_unescape(e, &back, &len), 0);
	ck_assert_str_eq(back, "");
	free(e);
	free(back);
	ck_assert_int_eq(state_unescape("%4", &back, NULL), -EINVAL);
	ck_assert_int_eq(state_unescape("%zz", &back, NULL), -EINVAL);
	ck_assert_int_eq(state_unescape("a b", &back, NULL), -EINVAL);
}
END_TEST

static char *lookup(const char *name, void *userdata)
{
	if (strcmp(name, "host") == 0) {
		return strdup("my host");
	}
	if (strcmp(name, "name") == 0) {
		return strdup("c1");
	}
	errno = ENOENT;
	return NULL;
}

START_TEST(expansion)
{
	char *out = NULL, *bad = NULL;

	ck_assert_int_eq(checker_expand("fping -q -- %(host)s", lookup, NULL, &out, NULL), 0);
	ck_assert_str_eq(out, "fping -q -- 'my host'");
	free(out);
	ck_assert_int_eq(checker_expand("echo %(name)s 100%% > /x", lookup, NULL, &out, NULL), 0);
	ck_assert_str_eq(out, "echo c1 100% > /x");
	free(out);
	ck_assert_int_eq(checker_expand("plain", lookup, NULL, &out, NULL), 0);
	ck_assert_str_eq(out, "plain");
	free(out);
	/* Upstream's "Could not format string" cases. */
	ck_assert_int_eq(checker_expand("echo %(host)d", lookup, NULL, &out, NULL), -EINVAL);
	ck_assert_int_eq(checker_expand("echo 100%", lookup, NULL, &out, NULL), -EINVAL);
	ck_assert_int_eq(checker_expand("echo %s", lookup, NULL, &out, NULL), -EINVAL);
	ck_assert_int_eq(checker_expand("echo %(host", lookup, NULL, &out, NULL), -EINVAL);
	ck_assert_int_eq(checker_expand("echo %(secret)s", lookup, NULL, &out, &bad), -ENOENT);
	ck_assert_str_eq(bad, "secret");
	free(bad);
}
END_TEST

START_TEST(strmap)
{
	StrMap *m = strmap_new(0);
	char keys[2000][16];
	int values[2000];

	for (int i = 0; i < 2000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key%d", i);
		values[i] = i;
		ck_assert_int_eq(strmap_add(m, keys[i], &values[i]), 1);
	}
	ck_assert_uint_eq(strmap_size(m), 2000);
	for (int i = 0; i < 2000; i++) {
		ck_assert_ptr_eq(strmap_get(m, keys[i]), &values[i]);
	}
	ck_assert_ptr_null(strmap_get(m, "nope"));
	/* The first entry for a key wins. */
	ck_assert_int_eq(strmap_add(m, "key7", &values[0]), 0);
	ck_assert_ptr_eq(strmap_get(m, "key7"), &values[7]);
	strmap_free(m);
}
END_TEST

START_TEST(store)
{
	SecretStore *st = secret_store_new();
	Secret s[600], empty;
	char buf[1000];

	/* 600 secrets of 1000 bytes share three 256 KiB chunks. */
	for (int i = 0; i < 600; i++) {
		memset(buf, 'a' + i % 26, sizeof(buf));
		ck_assert_int_eq(secret_store_put(st, buf, sizeof(buf), &s[i]), 0);
	}
	ck_assert_uint_eq(secret_store_chunks(st), 3);
	for (int i = 0; i < 600; i++) {
		memset(buf, 'a' + i % 26, sizeof(buf));
		ck_assert_mem_eq(secret_data(&s[i]), buf, sizeof(buf));
	}
	/* Dropping every secret of an old chunk frees it. */
	for (int i = 0; i < 300; i++) {
		secret_store_drop(st, &s[i]);
		ck_assert_ptr_null(s[i].chunk);
	}
	ck_assert_uint_lt(secret_store_chunks(st), 3);
	ck_assert_int_eq(secret_store_put(st, "", 0, &empty), 0);
	ck_assert_ptr_null(secret_data(&empty));
	secret_store_drop(st, &empty);
	ck_assert_int_eq(secret_store_put(st, buf, SECRET_MAX + 1, &empty), -EFBIG);
	secret_store_free(st);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("server-util");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, timestamps);
	tcase_add_test(tc, quoting);
	tcase_add_test(tc, repr);
	tcase_add_test(tc, escaping);
	tcase_add_test(tc, expansion);
	tcase_add_test(tc, strmap);
	tcase_add_test(tc, store);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
