/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Logging: prefix, levels, %m from the error argument, one write per line, return values. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Run fn with stderr redirected into a pipe; return what was written (and the write count). */
static char captured[8192];

static const char *capture(void (*fn)(void))
{
	int p[2], saved;
	ssize_t n;

	ck_assert_int_eq(pipe(p), 0);
	saved = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(p[0], captured, sizeof(captured) - 1);
	close(p[0]);
	captured[n < 0 ? 0 : n] = '\0';
	return captured;
}

static void log_plain(void)
{
	log_open("Mandos plugin test: ", NULL, LOG_TARGET_STDERR, 0);
	log_set_max_level(LOG_INFO);
	log_info("hello %d", 42);
	log_debug("not shown");
	log_error_errno(ENOENT, "open %s: %m", "x");
}

START_TEST(prefix_and_levels)
{
	ck_assert_str_eq(capture(log_plain),
	                 "Mandos plugin test: hello 42\n"
	                 "Mandos plugin test: open x: No such file or directory\n");
}
END_TEST

static void log_server_style(void)
{
	log_open("mandos", NULL, LOG_TARGET_STDERR, LOG_STDERR_PID | LOG_STDERR_LEVEL);
	log_set_max_level(LOG_DEBUG);
	log_debug("a\nb");
	log_warning("w");
}

START_TEST(server_format_and_multiline)
{
	char want[256];
	long pid = (long)getpid();

	snprintf(want, sizeof(want),
	         "mandos [%ld]: DEBUG: a\nmandos [%ld]: DEBUG: b\nmandos [%ld]: WARNING: w\n", pid,
	         pid, pid);
	ck_assert_str_eq(capture(log_server_style), want);
}
END_TEST

static void log_with_time(void)
{
	log_open("mandos", NULL, LOG_TARGET_STDERR, LOG_STDERR_TIME | LOG_STDERR_LEVEL);
	log_info("t");
}

START_TEST(timestamp)
{
	const char *out = capture(log_with_time);

	/* "YYYY-MM-DD HH:MM:SS,mmm mandosINFO: t" */
	ck_assert_uint_eq(strlen(out), 24 + strlen("mandosINFO: t\n"));
	ck_assert_int_eq(out[4], '-');
	ck_assert_int_eq(out[19], ',');
	ck_assert_str_eq(out + 24, "mandosINFO: t\n");
}
END_TEST

START_TEST(return_values_and_errno)
{
	log_open("", NULL, LOG_TARGET_STDERR, 0);
	log_set_max_level(LOG_EMERG);
	errno = EAGAIN;
	ck_assert_int_eq(log_error_errno(EPERM, "x"), -EPERM);
	ck_assert_int_eq(log_error_errno(-EPERM, "x"), -EPERM);
	ck_assert_int_eq(log_info("x"), 0);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(log_oom(), -ENOMEM);
}
END_TEST

static void log_long(void)
{
	char big[6000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_open("p: ", NULL, LOG_TARGET_STDERR, 0);
	log_set_max_level(LOG_INFO);
	log_info("%s", big);
}

START_TEST(long_line_truncated)
{
	const char *out = capture(log_long);

	ck_assert_uint_gt(strlen(out), 4000);
	ck_assert_uint_lt(strlen(out), 4200);
	ck_assert_int_eq(out[strlen(out) - 1], '\n');
	ck_assert_ptr_null(strchr(out, '\n') == out + strlen(out) - 1 ? NULL : out);
}
END_TEST

START_TEST(level_names)
{
	ck_assert_int_eq(log_level_from_string("debug"), LOG_DEBUG);
	ck_assert_int_eq(log_level_from_string("Warning"), LOG_WARNING);
	ck_assert_int_eq(log_level_from_string("CRITICAL"), LOG_CRIT);
	ck_assert_int_eq(log_level_from_string("error"), LOG_ERR);
	ck_assert_int_eq(log_level_from_string("info"), LOG_INFO);
	ck_assert_int_eq(log_level_from_string("verbose"), -EINVAL);
	ck_assert_str_eq(log_level_to_string(LOG_NOTICE), "INFO");
	ck_assert_str_eq(log_level_to_string(LOG_ERR), "ERROR");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, prefix_and_levels);
	tcase_add_test(tc, server_format_and_multiline);
	tcase_add_test(tc, timestamp);
	tcase_add_test(tc, return_values_and_errno);
	tcase_add_test(tc, long_line_truncated);
	tcase_add_test(tc, level_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
