/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The D-Bus module's object paths: upstream's for ordinary names, always valid for any name. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "dbus.h"

static void check_path(const char *name, const char *want)
{
	char *p = mandos_dbus_client_path(name);

	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, want);
	ck_assert(sd_bus_object_path_is_valid(p));
	free(p);
}

START_TEST(upstream_names)
{
	/* As upstream: only '.' and '-' change. */
	check_path("foo", "/clients/foo");
	check_path("web.example-1", "/clients/web_example_1");
	check_path("A_b9", "/clients/A_b9");
}
END_TEST

START_TEST(other_names)
{
	check_path("odd name.1-a", "/clients/odd_20name_1_a");
	check_path("a/b", "/clients/a_2fb");
	check_path("\xc3\xa5", "/clients/_c3_a5");
	check_path("", "/clients/_");
}
END_TEST

START_TEST(every_byte_valid)
{
	char name[256];

	for (int i = 1; i < 256; i++) {
		name[i - 1] = (char)i;
	}
	name[255] = '\0';
	char *p = mandos_dbus_client_path(name);

	ck_assert_ptr_nonnull(p);
	ck_assert(sd_bus_object_path_is_valid(p));
	free(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dbus");
	TCase *tc = tcase_create("paths");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, upstream_names);
	tcase_add_test(tc, other_names);
	tcase_add_test(tc, every_byte_valid);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
