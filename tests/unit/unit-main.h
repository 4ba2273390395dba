/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The end of every unit test's main(): run one Check suite, exit 0 only if all passed. */
#pragma once

#include <check.h>

/* Run s (CK_FORK and the TAP settings come from the environment) and free it. */
static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
