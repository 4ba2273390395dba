/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The audit log: its JSON lines, the file and its reopen, one report per connection, and the
 * receiving interface of a socket. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit.h"
#include "conn-decision.h"
#include "io-util.h"
#include "unit-main.h"

/* 2024-01-02 03:04:05.123456 UTC */
#define T0 1704164645123456ULL

static void check_line(const DecisionRecord *d, const char *want)
{
	char *line = audit_format_json(d, "srv", T0);

	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(line, want);
	free(line);
}

START_TEST(json_fields)
{
	DecisionRecord d = {
	        .protocol = 2,
	        .result = DECISION_GRANTED,
	        .client = "foo",
	        .key_id = "AB12",
	        .address = "::1",
	        .interface = "lo",
	        .reason = "sealed",
	        .latency_usec = 1234,
	};

	check_line(&d, "{\"time\":\"2024-01-02T03:04:05.123456Z\",\"server\":\"srv\","
	               "\"client\":\"foo\",\"key_id\":\"AB12\",\"address\":\"::1\","
	               "\"interface\":\"lo\",\"protocol\":2,\"decision\":\"granted\","
	               "\"reason\":\"sealed\",\"latency_ms\":1.234}\n");
	d = (DecisionRecord){.protocol = 1,
	                     .result = DECISION_UNKNOWN_CLIENT,
	                     .address = "::1",
	                     .latency_usec = 60000005};
	check_line(&d, "{\"time\":\"2024-01-02T03:04:05.123456Z\",\"server\":\"srv\","
	               "\"client\":null,\"key_id\":null,\"address\":\"::1\",\"interface\":null,"
	               "\"protocol\":1,\"decision\":\"unknown_client\",\"reason\":null,"
	               "\"latency_ms\":60000.005}\n");
}
END_TEST

START_TEST(json_escaping)
{
	DecisionRecord d = {
	        .protocol = 1,
	        .result = DECISION_DENIED,
	        /* quote, backslash, newline, tab, a control byte, DEL, é, an invalid byte, a
	         * surrogate (ED A0 80), an overlong '/' (C0 AF), a cut sequence at the end */
	        .client = "a\"b\\c\nd\te\001f\177g\303\251h\377i\355\240\200j\300\257k\342\202",
	        .address = "::1",
	};
	char *line = audit_format_json(&d, "srv", T0);

	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, "\"client\":\"a\\\"b\\\\c\\nd\\te\\u0001f\\u007fg"
	                                   "\303\251h\\ufffdi\\ufffd\\ufffd\\ufffdj\\ufffd\\ufffdk"
	                                   "\\ufffd\\ufffd\","));
	free(line);
}
END_TEST

static char *read_file(const char *path)
{
	char *data = NULL;
	size_t len = 0;

	ck_assert_int_eq(read_full_file(path, 1 << 20, &data, &len), 0);
	return data;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++) {
		n += *s == '\n';
	}
	return n;
}

START_TEST(file_and_reopen)
{
	char dir[] = "/tmp/test-audit.XXXXXX", path[64], moved[80], name[] = "unit";
	ServerSettings s = {0};
	DecisionRecord d = {.protocol = 2, .result = DECISION_DISABLED, .address = "::1"};
	ConnDecision cd;
	char *data;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	snprintf(moved, sizeof(moved), "%s/audit.log.1", dir);
	s.audit_log = path;
	s.server_name = name;
	ck_assert_int_eq(audit_open(&s), 0);
	ck_assert(audit_enabled());
	audit_record(&d);
	/* One report per connection, whatever comes after. */
	conn_decision_init(&cd, -1, "192.0.2.1", 0);
	conn_decision_report(&cd, 1, DECISION_GRANTED, "foo", NULL, NULL);
	conn_decision_report(&cd, 1, DECISION_ABORTED, "foo", NULL, "client went away");
	data = read_file(path);
	ck_assert_uint_eq(count_lines(data), 2);
	ck_assert_ptr_nonnull(strstr(data, "\"server\":\"unit\""));
	ck_assert_ptr_nonnull(strstr(data, "\"address\":\"192.0.2.1\",\"interface\":null"));
	ck_assert_ptr_null(strstr(data, "aborted"));
	free(data);

	/* logrotate: mv, reopen; the next line goes to the new file. */
	ck_assert_int_eq(rename(path, moved), 0);
	ck_assert_int_eq(audit_reopen(), 0);
	audit_record(&d);
	data = read_file(path);
	ck_assert_uint_eq(count_lines(data), 1);
	free(data);
	data = read_file(moved);
	ck_assert_uint_eq(count_lines(data), 2);
	free(data);
	audit_close();
	ck_assert(!audit_enabled());
	audit_record(&d); /* dropped */
	data = read_file(path);
	ck_assert_uint_eq(count_lines(data), 1);
	free(data);

	/* A path that cannot be opened: -errno, nothing enabled. */
	snprintf(path, sizeof(path), "%s/missing/audit.log", dir);
	ck_assert_int_eq(audit_open(&s), -ENOENT);
	ck_assert(!audit_enabled());
	audit_close();
	unlink(moved);
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* The interface of the accepted end of a TCP connection from and to addr on family. */
static int accepted_interface(int family, const char *listen_addr, const char *connect_addr,
                              char ret[IF_NAMESIZE])
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int l, c, a, r;

	l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(l, 0);
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		int off = 0;

		(void)setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
		s6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, listen_addr, &s6->sin6_addr), 1);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, listen_addr, &s4->sin_addr), 1);
		len = sizeof(*s4);
	}
	if (bind(l, (struct sockaddr *)&ss, len) < 0) {
		close(l);
		return -errno;
	}
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&ss, &len), 0);
	{
		/* Connect to connect_addr on the listener's port. */
		struct sockaddr_storage to = {0};
		socklen_t tolen;

		if (strchr(connect_addr, ':')) {
			struct sockaddr_in6 *t6 = (struct sockaddr_in6 *)&to;

			t6->sin6_family = AF_INET6;
			t6->sin6_port = family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
			                                   : ((struct sockaddr_in *)&ss)->sin_port;
			ck_assert_int_eq(inet_pton(AF_INET6, connect_addr, &t6->sin6_addr), 1);
			tolen = sizeof(*t6);
		} else {
			struct sockaddr_in *t4 = (struct sockaddr_in *)&to;

			t4->sin_family = AF_INET;
			t4->sin_port = family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
			                                  : ((struct sockaddr_in *)&ss)->sin_port;
			ck_assert_int_eq(inet_pton(AF_INET, connect_addr, &t4->sin_addr), 1);
			tolen = sizeof(*t4);
		}
		c = socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(c, 0);
		ck_assert_int_eq(connect(c, (struct sockaddr *)&to, tolen), 0);
	}
	a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(a, 0);
	r = socket_interface_name(a, ret);
	close(a);
	close(c);
	close(l);
	return r;
}

static void check_loopback(int family, const char *listen_addr, const char *connect_addr)
{
	char name[IF_NAMESIZE] = "";
	int r = accepted_interface(family, listen_addr, connect_addr, name);

	if (r == -EADDRNOTAVAIL || r == -EAFNOSUPPORT) {
		return; /* no such address here (no IPv6) */
	}
	ck_assert_int_eq(r, 0);
	ck_assert_str_eq(name, "lo");
}

START_TEST(interfaces)
{
	char name[IF_NAMESIZE];

	check_loopback(AF_INET, "127.0.0.1", "127.0.0.1");
	/* Not listed on lo, but received there. */
	check_loopback(AF_INET, "127.0.0.2", "127.0.0.2");
	check_loopback(AF_INET6, "::1", "::1");
	/* A dual-stack socket: the local address is ::ffff:127.0.0.1. */
	check_loopback(AF_INET6, "::", "127.0.0.1");
	/* Not a socket. */
	ck_assert_int_lt(socket_interface_name(STDIN_FILENO, name), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, json_fields);
	tcase_add_test(tc, json_escaping);
	tcase_add_test(tc, file_and_reopen);
	tcase_add_test(tc, interfaces);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
