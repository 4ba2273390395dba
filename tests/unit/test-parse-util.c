/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Checked number parsing, booleans and whitespace-tolerant base64. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse-util.h"

START_TEST(unsigned_numbers)
{
	uint64_t v = 7;
	unsigned u = 7;

	ck_assert_int_eq(parse_uint64("0", 10, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse_uint64("18446744073709551615", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(parse_uint64("18446744073709551616", UINT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(parse_uint64("11", 10, &v), -ERANGE);
	v = 7;
	ck_assert_int_eq(parse_uint64("", 10, &v), -EINVAL);
	ck_assert_int_eq(parse_uint64(" 1", 10, &v), -EINVAL);
	ck_assert_int_eq(parse_uint64("1 ", 10, &v), -EINVAL);
	ck_assert_int_eq(parse_uint64("-1", 10, &v), -EINVAL);
	ck_assert_int_eq(parse_uint64("+1", 10, &v), -EINVAL);
	ck_assert_int_eq(parse_uint64("0x10", 100, &v), -EINVAL);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(parse_uint("65534", UINT32_MAX, &u), 0);
	ck_assert_uint_eq(u, 65534);
	ck_assert_int_eq(parse_id("4294967295", &u), -ERANGE);
	ck_assert_int_eq(parse_id("0", &u), 0);
	ck_assert_int_eq(parse_id("abc", &u), -EINVAL);
}
END_TEST

START_TEST(signed_numbers)
{
	int64_t v;

	ck_assert_int_eq(parse_int64("-5", -10, 10, &v), 0);
	ck_assert_int_eq(v, -5);
	ck_assert_int_eq(parse_int64("+5", -10, 10, &v), 0);
	ck_assert_int_eq(v, 5);
	ck_assert_int_eq(parse_int64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
	ck_assert(v == INT64_MIN);
	ck_assert_int_eq(parse_int64("9223372036854775808", INT64_MIN, INT64_MAX, &v), -ERANGE);
	ck_assert_int_eq(parse_int64("-11", -10, 10, &v), -ERANGE);
	ck_assert_int_eq(parse_int64("-", -10, 10, &v), -EINVAL);
}
END_TEST

START_TEST(ports)
{
	uint16_t p;

	ck_assert_int_eq(parse_port("19999", &p), 0);
	ck_assert_uint_eq(p, 19999);
	ck_assert_int_eq(parse_port("65535", &p), 0);
	ck_assert_int_eq(parse_port("65536", &p), -ERANGE);
	ck_assert_int_eq(parse_port("port", &p), -EINVAL);
}
END_TEST

START_TEST(seconds)
{
	double d;

	ck_assert_int_eq(parse_seconds("2.5", 1e6, &d), 0);
	ck_assert(d == 2.5);
	ck_assert_int_eq(parse_seconds("10", 1e6, &d), 0);
	ck_assert(d == 10.0);
	ck_assert_int_eq(parse_seconds("0", 1e6, &d), 0);
	ck_assert_int_eq(parse_seconds("1e3", 1e6, &d), 0);
	ck_assert(d == 1000.0);
	ck_assert_int_eq(parse_seconds("-1", 1e6, &d), -ERANGE);
	ck_assert_int_eq(parse_seconds("inf", 1e6, &d), -EINVAL);
	ck_assert_int_eq(parse_seconds("nan", 1e6, &d), -EINVAL);
	ck_assert_int_eq(parse_seconds("0x10", 1e6, &d), -EINVAL);
	ck_assert_int_eq(parse_seconds("", 1e6, &d), -EINVAL);
	ck_assert_int_eq(parse_seconds(" 1", 1e6, &d), -EINVAL);
	ck_assert_int_eq(parse_seconds("1s", 1e6, &d), -EINVAL);
	ck_assert_int_eq(parse_seconds("2e6", 1e6, &d), -ERANGE);
}
END_TEST

START_TEST(booleans)
{
	bool b;
	static const char *const yes[] = {"1", "yes", "YES", "true", "True", "on", "ON"};
	static const char *const no[] = {"0", "no", "No", "false", "FALSE", "off", "Off"};
	static const char *const bad[] = {"", "y", "n", "2", "enabled", " yes", "yes "};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		ck_assert_int_eq(parse_boolean(yes[i], &b), 0);
		ck_assert(b);
		ck_assert_int_eq(parse_boolean(no[i], &b), 0);
		ck_assert(!b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse_boolean(bad[i], &b), -EINVAL);
	}
}
END_TEST

static void b64(const char *text, int want_r, const char *want, size_t want_len)
{
	_cleanup_secbuf_ SecBuf *b = secbuf_new(0, 4096);
	int r;

	ck_assert_int_eq(secbuf_append(b, "pre", 3), 0);
	r = base64_decode_secbuf(text, strlen(text), b);
	ck_assert_msg(r == want_r, "\"%s\": %d", text, r);
	if (r == 0) {
		ck_assert_uint_eq(b->len, 3 + want_len);
		ck_assert_int_eq(memcmp(b->data + 3, want, want_len), 0);
	} else {
		ck_assert_uint_eq(b->len, 3);
	}
}

START_TEST(base64)
{
	b64("aGVsbG8=", 0, "hello", 5);
	b64("  aGVs\n    bG8=\n", 0, "hello", 5);
	b64("aGVs\r\n\tbG8gd29y\nbGQ=", 0, "hello world", 11);
	b64("AAEC", 0, "\0\1\2", 3);
	b64("", 0, "", 0);
	b64("aGVsbG8", -EINVAL, NULL, 0);
	b64("aGVsbG8=x", -EINVAL, NULL, 0);
	b64("aGV*bG8=", -EINVAL, NULL, 0);
	b64("aGVsbG8==", -EINVAL, NULL, 0);
	/* Over the buffer's maximum. */
	_cleanup_secbuf_ SecBuf *small = secbuf_new(0, 2);
	ck_assert_int_eq(base64_decode_secbuf("aGVsbG8=", 8, small), -EFBIG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("parse-util");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, unsigned_numbers);
	tcase_add_test(tc, signed_numbers);
	tcase_add_test(tc, ports);
	tcase_add_test(tc, seconds);
	tcase_add_test(tc, booleans);
	tcase_add_test(tc, base64);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
