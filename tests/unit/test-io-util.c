/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fd helpers: complete writes through a small non-blocking pipe, capped reads, fd moves. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io-util.h"
#include "macro.h"

static void *drain(void *arg)
{
	int fd = *(int *)arg;
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		total += (size_t)n;
	}
	return (void *)(uintptr_t)total;
}

START_TEST(loop_write_nonblocking)
{
	size_t n = 1 << 20;
	char *data = calloc(1, n);
	pthread_t t;
	void *total;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	ck_assert_int_eq(fd_set_nonblock(p[0], false), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, drain, &p[0]), 0);
	ck_assert_int_eq(loop_write(p[1], data, n), 0);
	close(p[1]);
	pthread_join(t, &total);
	close(p[0]);
	ck_assert_uint_eq((uintptr_t)total, n);
	free(data);
}
END_TEST

START_TEST(loop_write_broken_pipe)
{
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	ck_assert_int_eq(loop_write(p[1], "x", 1), -EPIPE);
	close(p[1]);
}
END_TEST

START_TEST(read_full_capped)
{
	char path[] = "/tmp/test-io-util-XXXXXX";
	int fd = mkstemp(path);
	char *buf = NULL;
	size_t len = 0;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(loop_write(fd, "0123456789", 10), 0);
	close(fd);
	ck_assert_int_eq(read_full_file(path, 10, &buf, &len), 0);
	ck_assert_uint_eq(len, 10);
	ck_assert_str_eq(buf, "0123456789");
	free(buf);
	buf = NULL;
	ck_assert_int_eq(read_full_file(path, 9, &buf, &len), -EFBIG);
	ck_assert_ptr_null(buf);
	unlink(path);
	ck_assert_int_eq(read_full_file(path, 9, &buf, &len), -ENOENT);
}
END_TEST

START_TEST(move_above_stdio)
{
	int saved = dup(STDIN_FILENO), fd;

	close(STDIN_FILENO);
	fd = open("/dev/null", O_RDONLY);
	ck_assert_int_eq(fd, 0);
	fd = fd_move_above_stdio(fd);
	ck_assert_int_gt(fd, 2);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(fcntl(0, F_GETFD), -1);
	ck_assert_int_eq(fd_ensure_stdio(), 0);
	ck_assert_int_ge(fcntl(0, F_GETFD), 0);
	close(fd);
	dup2(saved, STDIN_FILENO);
	close(saved);
}
END_TEST

START_TEST(flags)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fd_set_cloexec(p[0], true), 0);
	ck_assert_int_eq(fcntl(p[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(fd_set_cloexec(p[0], false), 0);
	ck_assert_int_eq(fcntl(p[0], F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(fd_set_nonblock(p[0], true), 0);
	ck_assert_int_eq(fcntl(p[0], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(fd_set_cloexec(p[0], true), -EBADF);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io-util");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, loop_write_nonblocking);
	tcase_add_test(tc, loop_write_broken_pipe);
	tcase_add_test(tc, read_full_capped);
	tcase_add_test(tc, move_above_stdio);
	tcase_add_test(tc, flags);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
