/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The shared document of a client in etcd (server/fleet-doc.c): JSON out and back, bad input. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleet-doc.h"

static int parse(const char *s, FleetDoc *d)
{
	return fleet_doc_parse((const uint8_t *)s, strlen(s), d);
}

START_TEST(round_trip)
{
	realtime_t rel[] = {1700000000000001ULL, 1700000000000002ULL};
	char by[] = "s1";
	FleetDoc d =
	                 {
	                         .enabled = false,
	                         .reason = CLIENT_DISABLED_BY_TIMEOUT,
	                         .changed = 1700000000123456ULL,
	                         .changed_by = by,
	                         .last_enabled = 5,
	                         .last_checked_ok = 6,
	                         .expires = 0,
	                         .approve = true,
	                         .approval_at = 7,
	                         .approval_until = 8,
	                         .approved_until = 9,
	                         .approved_until_at = 10,
	                         .releases = rel,
	                         .n_releases = 2,
	                 },
	         back = {0}, copy = {0};
	char *json = fleet_doc_format(&d);

	ck_assert_ptr_nonnull(json);
	ck_assert_ptr_nonnull(strstr(json, "\"disabled_reason\":\"timeout\""));
	ck_assert_ptr_nonnull(strstr(json, "\"changed_by\":\"s1\""));
	ck_assert_ptr_nonnull(strstr(json, "\"releases\":[1700000000000001,1700000000000002]"));
	ck_assert_int_eq(parse(json, &back), 0);
	ck_assert(fleet_doc_equal(&d, &back));
	ck_assert_int_eq(fleet_doc_copy(&back, &copy), 0);
	ck_assert(fleet_doc_equal(&copy, &back));
	copy.n_releases = 1;
	ck_assert(!fleet_doc_equal(&copy, &back));
	fleet_doc_done(&copy);
	fleet_doc_done(&back);
	free(json);
}
END_TEST

START_TEST(enabled_has_no_reason)
{
	FleetDoc d = {.enabled = true, .reason = CLIENT_DISABLED_BY_ADMIN}, back = {0};
	char *json = fleet_doc_format(&d);

	ck_assert_ptr_nonnull(strstr(json, "\"disabled_reason\":\"\""));
	ck_assert_ptr_nonnull(strstr(json, "\"approval\":null"));
	ck_assert_int_eq(parse(json, &back), 0);
	ck_assert(back.enabled);
	ck_assert_int_eq(back.reason, CLIENT_DISABLED_BY_NONE);
	ck_assert_uint_eq(back.approval_at, 0);
	fleet_doc_done(&back);
	free(json);
}
END_TEST

START_TEST(bad_input)
{
	FleetDoc d = {0};

	ck_assert_int_eq(parse("", &d), -EBADMSG);
	ck_assert_int_eq(parse("[1,2]", &d), -EBADMSG);
	ck_assert_int_eq(parse("\"enabled\"", &d), -EBADMSG);
	ck_assert_int_eq(parse("{\"enabled\":tru", &d), -EBADMSG);
	/* Wrong types and unknown fields: 0, ignored. */
	ck_assert_int_eq(parse("{\"enabled\":true,\"expires\":\"x\",\"changed\":-5,"
	                       "\"disabled_reason\":7,\"releases\":[3,-1,\"a\",4],"
	                       "\"approval\":[1],\"future\":{\"a\":1}}",
	                       &d),
	                 0);
	ck_assert(d.enabled);
	ck_assert_uint_eq(d.expires, 0);
	ck_assert_uint_eq(d.changed, 0);
	ck_assert_int_eq(d.reason, CLIENT_DISABLED_BY_NONE);
	ck_assert_uint_eq(d.approval_at, 0);
	ck_assert_uint_eq(d.n_releases, 2);
	ck_assert_uint_eq(d.releases[0], 3);
	ck_assert_uint_eq(d.releases[1], 4);
	fleet_doc_done(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fleet-doc");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, enabled_has_no_reason);
	tcase_add_test(tc, bad_input);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
