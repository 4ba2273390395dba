/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-client's protocol 2 pieces: --protocol lists, console lines, TXT values, servers-seen. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "io-util.h"
#include "p2lines.h"
#include "seen.h"
#include "unit-main.h"
#include "zeroconf.h"

static const char K[] = "A050837D85070582CCF7394B0988847CC312CB88259B894899F6F239CF1791A5";

START_TEST(protocol_lists)
{
	int p[2] = {0, 0};
	size_t n = 9;

	ck_assert_int_eq(args_parse_protocols("2,1", p, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(p[0], 2);
	ck_assert_int_eq(p[1], 1);
	ck_assert_int_eq(args_parse_protocols("1", p, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(p[0], 1);
	ck_assert_int_eq(args_parse_protocols("1,2", p, &n), 0);
	ck_assert_int_eq(p[0], 1);
	ck_assert_int_eq(p[1], 2);
	ck_assert_int_eq(args_parse_protocols("2", p, &n), 0);
	ck_assert_uint_eq(n, 1);
	n = 7;
	const char *bad[] = {"", "3", "1,1", "2,", ",2", "1 2", "12", "2,1,2", "0", "1,3", NULL};
	for (const char **b = bad; *b; b++) {
		ck_assert_msg(args_parse_protocols(*b, p, &n) == -EINVAL, "%s", *b);
	}
	ck_assert_uint_eq(n, 7);
}
END_TEST

static const char *result_line(uint8_t code, uint8_t flags, uint32_t value, const char *text,
                               bool pinned)
{
	static P2Line l;
	P2Result r = {.code = code, .flags = flags, .value = value};

	if (text) {
		strcpy(r.text, text);
		r.tlen = (uint16_t)strlen(text);
	}
	p2line_result(&r, pinned, K, &l);
	return l.text;
}

START_TEST(result_lines)
{
	P2Line l;
	P2Result r = {.code = 2, .value = 2};

	ck_assert_str_eq(
	        result_line(1, 0, 0, NULL, true),
	        "this machine (key ID A050837D85070582CCF7394B0988847CC312CB88259B894899F6F2"
	        "39CF1791A5) is not known to it");
	ck_assert_str_eq(result_line(2, 0, 1, NULL, true), "client disabled (by administrator)");
	ck_assert_str_eq(result_line(2, 0, 2, NULL, true), "client disabled (checker timed out)");
	ck_assert_str_eq(result_line(2, 0, 3, NULL, true), "client disabled (never checked OK)");
	ck_assert_str_eq(result_line(3, 0, 0, NULL, true), "unlock denied by administrator");
	ck_assert_str_eq(result_line(4, 0, 0, NULL, true), "approval timed out");
	ck_assert_str_eq(result_line(5, 0, 0, NULL, true),
	                 "has no protocol 2 secret for this machine");
	ck_assert_str_eq(result_line(6, 1, 3600, NULL, true),
	                 "release limit reached, try again in 3600 s");
	ck_assert_str_eq(result_line(6, 0, 10, NULL, true), "busy, try again in 10 s");
	/* Out-of-range values are clamped (§A.4.3). */
	ck_assert_str_eq(result_line(6, 0, 0, NULL, true), "busy, try again in 1 s");
	ck_assert_str_eq(result_line(6, 0, 999999, NULL, true), "busy, try again in 86400 s");
	ck_assert_str_eq(result_line(7, 0, 0, NULL, true), "internal error");
	ck_assert_str_eq(result_line(42, 0, 0, NULL, true), "refused (code 42)");
	ck_assert_str_eq(result_line(3, 0, 0, NULL, false),
	                 "(unauthenticated) unlock denied by administrator");
	/* The text on its own line. */
	strcpy(r.text, "checker \"ping\" failed");
	r.tlen = (uint16_t)strlen(r.text);
	p2line_result(&r, true, K, &l);
	ck_assert_str_eq(l.text, "client disabled (checker timed out)");
	ck_assert_str_eq(l.detail, "server says \"checker \"ping\" failed\"");
	p2line_result(&r, false, K, &l);
	ck_assert_str_eq(l.detail, "(unauthenticated) server says \"checker \"ping\" failed\"");
	/* Control bytes never reach the console, even if a parser let them through. */
	strcpy(r.text, "a\x1b[2Jb");
	r.tlen = 6;
	p2line_result(&r, true, K, &l);
	ck_assert_str_eq(l.detail, "server says \"a?[2Jb\"");
	/* State: the number of seconds is not part of it, the release-limit flag is. */
	ck_assert_int_eq(result_line(6, 1, 5, NULL, true) != NULL, 1);
	{
		P2Line a, b;
		P2Result x = {.code = 6, .flags = 1, .value = 5},
		         y = {.code = 6, .flags = 1, .value = 9};

		p2line_result(&x, true, K, &a);
		p2line_result(&y, true, K, &b);
		ck_assert_str_eq(a.state, b.state);
		y.flags = 0;
		p2line_result(&y, true, K, &b);
		ck_assert_str_ne(a.state, b.state);
	}
}
END_TEST

START_TEST(status_lines)
{
	P2Line l;
	P2Status st = {.code = 1, .flags = 1, .value = 55};

	p2line_status(&st, true, &l);
	ck_assert_str_eq(l.text, "waiting for approval (up to 55 s, then allow)");
	ck_assert_str_eq(l.detail, "");
	st.flags = 0;
	st.value = 40;
	p2line_status(&st, false, &l);
	ck_assert_str_eq(l.text, "(unauthenticated) waiting for approval (up to 40 s, then deny)");
	st.code = 9;
	strcpy(st.text, "hold on");
	st.tlen = 7;
	p2line_status(&st, true, &l);
	ck_assert_str_eq(l.text, "status 9 hold on");
	ck_assert_str_eq(l.detail, "");
}
END_TEST

START_TEST(txt_values)
{
	const char *txt[] = {"txtvers=1", "Proto=1,2", "keyid=ABC", "flag", NULL};

	ck_assert_str_eq(zeroconf_txt_get(txt, "proto"), "1,2");
	ck_assert_str_eq(zeroconf_txt_get(txt, "keyid"), "ABC");
	ck_assert_str_eq(zeroconf_txt_get(txt, "flag"), "");
	ck_assert_ptr_null(zeroconf_txt_get(txt, "prot"));
	ck_assert_ptr_null(zeroconf_txt_get(txt, "txt"));
	ck_assert_ptr_null(zeroconf_txt_get(NULL, "proto"));
}
END_TEST

static unsigned protos(const char *value)
{
	const char *txt[] = {"txtvers=1", value, NULL};

	return zeroconf_txt_protocols(txt);
}

START_TEST(txt_protocols)
{
	const unsigned present = ZEROCONF_PROTO_BIT(0), p1 = ZEROCONF_PROTO_BIT(1),
	               p2 = ZEROCONF_PROTO_BIT(2);

	ck_assert_uint_eq(protos("proto=1,2"), present | p1 | p2);
	ck_assert_uint_eq(protos("proto=1"), present | p1);
	ck_assert_uint_eq(protos("proto=2"), present | p2);
	/* A later protocol alone: there, but without 2 (protocol 1 first, unless pinned). */
	ck_assert_uint_eq(protos("proto=3"), present);
	ck_assert_uint_eq(protos("proto=1,3"), present | p1);
	ck_assert_uint_eq(protos("proto=12"), present);
	ck_assert_uint_eq(protos("proto="), present);
	/* Upstream's empty TXT, or other keys only: nothing known. */
	ck_assert_uint_eq(protos("keyid=AB"), 0);
	ck_assert_uint_eq(zeroconf_txt_protocols(NULL), 0);
}
END_TEST

START_TEST(servers_seen)
{
	char dir[] = "/tmp/test-seen.XXXXXX", path[64], *text = NULL;
	size_t len;
	struct stat st;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/run/servers-seen", dir);
	umask(077);
	ck_assert_int_eq(servers_seen_add(path, K, "[::1]:1"), 0);
	/* No duplicates, whatever the case or the address. */
	ck_assert_int_eq(servers_seen_add(path,
	                                  "a050837d85070582ccf7394b0988847cc312cb88259b894899f6f2"
	                                  "39cf1791a5",
	                                  "10.0.0.1:2"),
	                 0);
	ck_assert_int_eq(servers_seen_add(path,
	                                  "824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31C"
	                                  "EED41ECEE6",
	                                  "10.0.0.1:2"),
	                 0);
	ck_assert_int_eq(read_full_file(path, 4096, &text, &len), 0);
	ck_assert_str_eq(text, "A050837D85070582CCF7394B0988847CC312CB88259B894899F6F239CF1791A5 # "
	                       "[::1]:1\n"
	                       "824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6 # "
	                       "10.0.0.1:2\n");
	free(text);
	/* Key ids are public: 0644 and 0755 whatever the umask. */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	snprintf(path, sizeof(path), "%s/run", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	umask(022);
	/* A symbolic link is not followed. */
	snprintf(path, sizeof(path), "%s/run/link", dir);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	ck_assert_int_eq(servers_seen_add(path, K, "x:1"), -ELOOP);
	unlink(path);
	snprintf(path, sizeof(path), "%s/run/servers-seen", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/run", dir);
	rmdir(path);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mandos-client-p2");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, protocol_lists);
	tcase_add_test(tc, result_lines);
	tcase_add_test(tc, status_lines);
	tcase_add_test(tc, txt_values);
	tcase_add_test(tc, txt_protocols);
	tcase_add_test(tc, servers_seen);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
