/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SecBuf: growth without in-place realloc, the hard maximum, wiping, guard pages, hardening. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "secmem.h"

START_TEST(append_and_grow)
{
	_cleanup_secbuf_ SecBuf *b = secbuf_new(4, 1 << 20);
	unsigned char *first;

	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->len, 0);
	ck_assert_int_eq(b->data[0], 0);
	first = b->data;
	ck_assert_int_eq(secbuf_append(b, "abc", 3), 0);
	ck_assert_ptr_eq(b->data, first);
	ck_assert_int_eq(secbuf_append(b, "defgh", 5), 0);
	/* Growing always moves to a new allocation. */
	ck_assert_ptr_ne(b->data, first);
	ck_assert_uint_eq(b->len, 8);
	ck_assert_str_eq((char *)b->data, "abcdefgh");
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(secbuf_append(b, "0123456789", 10), 0);
	}
	ck_assert_uint_eq(b->len, 10008);
	ck_assert_int_eq(b->data[b->len], 0);
	ck_assert_int_eq(memcmp(b->data + 9998, "0123456789", 10), 0);
}
END_TEST

START_TEST(hard_maximum)
{
	_cleanup_secbuf_ SecBuf *b = secbuf_new(0, 10);

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(secbuf_append(b, "12345678", 8), 0);
	ck_assert_int_eq(secbuf_append(b, "abc", 3), -EFBIG);
	/* Unchanged on failure. */
	ck_assert_uint_eq(b->len, 8);
	ck_assert_str_eq((char *)b->data, "12345678");
	ck_assert_int_eq(secbuf_append(b, "ab", 2), 0);
	ck_assert_uint_eq(b->len, 10);
	ck_assert_uint_le(b->cap, 10);
	ck_assert_int_eq(secbuf_reserve(b, 1), -EFBIG);
	ck_assert_ptr_null(secbuf_new(11, 10));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(secbuf_new(0, (size_t)1 << 40));
}
END_TEST

START_TEST(clear_wipes)
{
	_cleanup_secbuf_ SecBuf *b = secbuf_new(16, 16);

	ck_assert_int_eq(secbuf_append(b, "secret", 6), 0);
	secbuf_clear(b);
	ck_assert_uint_eq(b->len, 0);
	for (size_t i = 0; i <= b->cap; i++) {
		ck_assert_int_eq(b->data[i], 0);
	}
	ck_assert_ptr_null(secbuf_free(NULL));
}
END_TEST

START_TEST(read_from_fd)
{
	_cleanup_secbuf_ SecBuf *b = secbuf_new(0, 100);
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "password\n", 9), 9);
	close(p[1]);
	ck_assert_int_eq(secbuf_read_all(b, p[0]), 0);
	close(p[0]);
	ck_assert_uint_eq(b->len, 9);
	ck_assert_int_eq(memcmp(b->data, "password\n", 9), 0);
}
END_TEST

START_TEST(read_over_maximum)
{
	_cleanup_secbuf_ SecBuf *b = secbuf_new(0, 5);
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "0123456789", 10), 10);
	close(p[1]);
	ck_assert_int_eq(secbuf_read_all(b, p[0]), -EFBIG);
	close(p[0]);
	ck_assert_uint_eq(b->len, 5);

	/* Exactly max bytes then EOF is fine. */
	_cleanup_secbuf_ SecBuf *c = secbuf_new(0, 5);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "01234", 5), 5);
	close(p[1]);
	ck_assert_int_eq(secbuf_read_all(c, p[0]), 0);
	close(p[0]);
	ck_assert_uint_eq(c->len, 5);
}
END_TEST

START_TEST(read_nonblocking_empty)
{
	_cleanup_secbuf_ SecBuf *b = secbuf_new(0, 5);
	int p[2];

	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	ck_assert_int_eq(secbuf_read_once(b, p[0]), -EAGAIN);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Writing past the end of the buffer hits sodium_malloc's guard page. */
START_TEST(guard_page)
{
	SecBuf *b = secbuf_new(16, 16);
	volatile unsigned char *p = b->data;

	for (size_t i = 0; i < 1 << 16; i++) {
		p[i] = 1;
	}
}
END_TEST

START_TEST(harden)
{
	struct rlimit rl;

	ck_assert_int_eq(secmem_harden_process(), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_CORE, &rl), 0);
	ck_assert_uint_eq(rl.rlim_cur, 0);
	ck_assert_uint_eq(rl.rlim_max, 0);
	ck_assert_int_eq(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
}
END_TEST

START_TEST(wipe)
{
	char buf[8] = "secret!";

	secmem_wipe(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++) {
		ck_assert_int_eq(buf[i], 0);
	}
}
END_TEST

/* Heap helpers for secrets' text: growth by copy (never in place), NULL accepted. */
START_TEST(heap_helpers)
{
	char *p = secmem_realloc(NULL, 123, 4), *q;
	_cleanup_wipe_free_ char *s = strdup("a secret");

	ck_assert_ptr_nonnull(p);
	memcpy(p, "abcd", 4);
	q = secmem_realloc(p, 4, 1000);
	ck_assert_ptr_nonnull(q);
	ck_assert_mem_eq(q, "abcd", 4);
	p = secmem_realloc(q, 1000, 2);
	ck_assert_ptr_nonnull(p);
	ck_assert_mem_eq(p, "ab", 2);
	ck_assert_ptr_null(secmem_free(p, 2));
	ck_assert_ptr_null(secmem_free(NULL, 10));
	ck_assert_ptr_null(secmem_strfree(NULL));
	ck_assert_ptr_nonnull(s);
	/* What they wipe before freeing is checked in test-config-wipe, which wraps free(). */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("secmem");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (secmem_init() < 0) {
		return 99;
	}
	tcase_add_test(tc, append_and_grow);
	tcase_add_test(tc, hard_maximum);
	tcase_add_test(tc, clear_wipes);
	tcase_add_test(tc, read_from_fd);
	tcase_add_test(tc, read_over_maximum);
	tcase_add_test(tc, read_nonblocking_empty);
	tcase_add_test(tc, harden);
	tcase_add_test(tc, wipe);
	tcase_add_test(tc, heap_helpers);
	/* Needs a forked child, and valgrind reports the deliberate fault; skip it there. */
	if (!getenv("CK_FORK") || strcmp(getenv("CK_FORK"), "no") != 0) {
		if (!getenv("LD_PRELOAD") || !strstr(getenv("LD_PRELOAD"), "vgpreload")) {
			tcase_add_test_raise_signal(tc, guard_page, SIGSEGV);
		}
	}
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
