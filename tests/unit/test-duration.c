/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Durations: every example of spec section 2.4, upstream's quirks, and round trips. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "duration.h"

#define S(n) ((uint64_t)(n)*MSEC_PER_SEC)

static void check_rfc(const char *s, int want_r, uint64_t want)
{
	uint64_t v = 12345;
	int r = duration_parse_rfc3339(s, &v);

	ck_assert_msg(r == want_r, "\"%s\": got %d, want %d", s, r, want_r);
	if (want_r == 0) {
		ck_assert_msg(v == want, "\"%s\": got %llu ms, want %llu", s, (unsigned long long)v,
		              (unsigned long long)want);
	} else {
		ck_assert_msg(v == 12345, "\"%s\": output touched on failure", s);
	}
}

START_TEST(rfc3339_examples)
{
	/* Spec 2.4 examples. */
	check_rfc("PT5M", 0, S(300));
	check_rfc("P5M", 0, S(140 * 86400));
	check_rfc("P1DT3M20S", 0, S(86600));
	check_rfc("P1Y", 0, S(364 * 86400));
	/* Each component. */
	check_rfc("PT1S", 0, S(1));
	check_rfc("PT2H", 0, S(7200));
	check_rfc("P3D", 0, S(3 * 86400));
	check_rfc("P2W", 0, S(14 * 86400));
	check_rfc("P1Y2M3DT4H5M6S", 0,
	          S(364 * 86400 + 2 * 28 * 86400 + 3 * 86400 + 4 * 3600 + 5 * 60 + 6));
	check_rfc("PT1H30M", 0, S(5400));
	check_rfc("PT1M30S", 0, S(90));
	check_rfc("PT0S", 0, 0);
	check_rfc("PT15M", 0, S(900));
	check_rfc("PT007S", 0, S(7));
	/* Python's "$" also matches before a final newline. */
	check_rfc("PT5M\n", 0, S(300));
}
END_TEST

START_TEST(rfc3339_invalid)
{
	/* Spec 2.4 invalid examples. */
	check_rfc("P", -EINVAL, 0);
	check_rfc("PT", -EINVAL, 0);
	check_rfc("P1D2W", -EINVAL, 0);
	check_rfc("PT1S2M", -EINVAL, 0);
	check_rfc("P1H", -EINVAL, 0);
	/* Uppercase only, integers only, no sign, nothing extra. */
	check_rfc("pt5m", -EINVAL, 0);
	check_rfc("Pt5M", -EINVAL, 0);
	check_rfc("PT1.5S", -EINVAL, 0);
	check_rfc("PT-1S", -EINVAL, 0);
	check_rfc("P+1D", -EINVAL, 0);
	check_rfc(" PT5M", -EINVAL, 0);
	check_rfc("PT5M ", -EINVAL, 0);
	check_rfc("PT5MX", -EINVAL, 0);
	check_rfc("", -EINVAL, 0);
	/* Order enforced: after Y only M, after M only D, after D only T, in time H, M, S. */
	check_rfc("P1Y2D", -EINVAL, 0);
	check_rfc("P1YT1H", -EINVAL, 0);
	check_rfc("P1MT1H", -EINVAL, 0);
	check_rfc("P1M1Y", -EINVAL, 0);
	check_rfc("PT1H1S", -EINVAL, 0);
	check_rfc("PT1S1H", -EINVAL, 0);
	check_rfc("PT1M1H", -EINVAL, 0);
	check_rfc("P1DT", -EINVAL, 0);
	check_rfc("P1W1D", -EINVAL, 0);
	check_rfc("P1DT1W", -EINVAL, 0);
	check_rfc("P1D1D", -EINVAL, 0);
	check_rfc("PT5M\n\n", -EINVAL, 0);
	/* Too large. */
	check_rfc("P99999999999999999999D", -ERANGE, 0);
	check_rfc("P1000000W", -ERANGE, 0);
}
END_TEST

static void check_legacy(const char *s, int want_r, uint64_t want)
{
	uint64_t v = 12345;
	int r = duration_parse(s, &v);

	ck_assert_msg(r == want_r, "\"%s\": got %d, want %d", s, r, want_r);
	if (want_r == 0) {
		ck_assert_msg(v == want, "\"%s\": got %llu ms, want %llu", s, (unsigned long long)v,
		              (unsigned long long)want);
	}
}

START_TEST(server_legacy)
{
	check_legacy("5m 30s", 0, S(330));
	check_legacy("1d", 0, S(86400));
	check_legacy("2w", 0, S(14 * 86400));
	check_legacy("1h", 0, S(3600));
	check_legacy("  1h\t 2m  ", 0, S(3720));
	check_legacy("1m 1m", 0, S(120));
	check_legacy("+3s", 0, S(3));
	/* Upstream: an empty value splits into no tokens, so it is zero. */
	check_legacy("", 0, 0);
	check_legacy("   ", 0, 0);
	/* RFC 3339 still first. */
	check_legacy("PT5M", 0, S(300));
	check_legacy("P5M", 0, S(140 * 86400));
	/* A bare number or an unknown suffix is an error (upstream crashed). */
	check_legacy("5", -EINVAL, 0);
	check_legacy("5x", -EINVAL, 0);
	check_legacy("m", -EINVAL, 0);
	check_legacy("1.5m", -EINVAL, 0);
	check_legacy("5M", -EINVAL, 0);
	check_legacy("1m30s", -EINVAL, 0);
	check_legacy("-5m", -EINVAL, 0);
	check_legacy("P", -EINVAL, 0);
	check_legacy("99999999999999999999d", -ERANGE, 0);
}
END_TEST

START_TEST(ctl_legacy)
{
	uint64_t v;
	int legacy = -1;

	ck_assert_int_eq(duration_parse_ctl("5000", &v, &legacy), 0);
	ck_assert_uint_eq(v, 5000);
	ck_assert_int_eq(legacy, 1);
	ck_assert_int_eq(duration_parse_ctl("PT1M", &v, &legacy), 0);
	ck_assert_uint_eq(v, S(60));
	ck_assert_int_eq(legacy, 0);
	ck_assert_int_eq(duration_parse_ctl("1m30s", &v, &legacy), 0);
	ck_assert_uint_eq(v, S(90));
	ck_assert_int_eq(duration_parse_ctl("1d 2h xyz 500", &v, &legacy), 0);
	ck_assert_uint_eq(v, S(86400 + 7200) + 500);
	ck_assert_int_eq(duration_parse_ctl("nothing", &v, &legacy), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(duration_parse_ctl("1w", &v, &legacy), 0);
	ck_assert_uint_eq(v, S(7 * 86400));
}
END_TEST

START_TEST(format_python)
{
	char buf[DURATION_STRING_MAX];

	ck_assert_str_eq(duration_format_python(S(300), buf, sizeof(buf)), "0:05:00");
	ck_assert_str_eq(duration_format_python(0, buf, sizeof(buf)), "0:00:00");
	ck_assert_str_eq(duration_format_python(S(86400 + 7384), buf, sizeof(buf)),
	                 "1 day, 2:03:04");
	ck_assert_str_eq(duration_format_python(S(3 * 86400), buf, sizeof(buf)), "3 days, 0:00:00");
	ck_assert_str_eq(duration_format_python(250, buf, sizeof(buf)), "0:00:00.250000");
	ck_assert_str_eq(duration_format_python(S(36000), buf, sizeof(buf)), "10:00:00");
}
END_TEST

START_TEST(format_ctl)
{
	char buf[DURATION_STRING_MAX];

	ck_assert_str_eq(duration_format_ctl(S(300), buf, sizeof(buf)), "00:05:00");
	ck_assert_str_eq(duration_format_ctl(S(86400 + 7385), buf, sizeof(buf)), "1T02:03:05");
	ck_assert_str_eq(duration_format_ctl(S(30), buf, sizeof(buf)), "00:00:30");
	ck_assert_str_eq(duration_format_ctl(999, buf, sizeof(buf)), "00:00:00");
}
END_TEST

START_TEST(format_rfc3339_round_trip)
{
	static const uint64_t values[] = {
	        0,       S(1),     S(59),    S(60),        S(61),        S(3600),           S(3601),
	        S(3660), S(86400), S(86401), S(7 * 86400), S(8 * 86400), S(14 * 86400 + 1), S(300),
	        S(900),  S(120)};
	char buf[DURATION_STRING_MAX];

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint64_t back = 1;

		duration_format_rfc3339(values[i], buf, sizeof(buf));
		ck_assert_msg(duration_parse_rfc3339(buf, &back) == 0, "cannot read back %s", buf);
		ck_assert_msg(back == values[i], "%s read back as %llu", buf,
		              (unsigned long long)back);
	}
	ck_assert_str_eq(duration_format_rfc3339(S(300), buf, sizeof(buf)), "PT5M");
	ck_assert_str_eq(duration_format_rfc3339(S(3605), buf, sizeof(buf)), "PT1H0M5S");
	ck_assert_str_eq(duration_format_rfc3339(S(14 * 86400), buf, sizeof(buf)), "P2W");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("duration");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, rfc3339_examples);
	tcase_add_test(tc, rfc3339_invalid);
	tcase_add_test(tc, server_legacy);
	tcase_add_test(tc, ctl_legacy);
	tcase_add_test(tc, format_python);
	tcase_add_test(tc, format_ctl);
	tcase_add_test(tc, format_rfc3339_round_trip);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
