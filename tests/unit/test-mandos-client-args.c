/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-client: --connect parsing, --interface lists with "none", hook names, interface flags. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "hooks.h"
#include "netif.h"

static void parse_ok(const char *s, int family, const char *addr, unsigned port, bool ll)
{
	ConnectTarget t;
	const char *err = NULL;
	char buf[INET6_ADDRSTRLEN];

	ck_assert_msg(connect_target_parse(s, &t, &err) == 0, "%s: %s", s, err);
	ck_assert_int_eq(t.family, family);
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t.addr;

		inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
		ck_assert_uint_eq(ntohs(s6->sin6_port), port);
		ck_assert_int_eq(t.addr_len, sizeof(*s6));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&t.addr;

		inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf));
		ck_assert_uint_eq(ntohs(s4->sin_port), port);
	}
	ck_assert_str_eq(buf, addr);
	ck_assert_int_eq(t.link_local, ll);
	ck_assert_str_eq(t.text, s);
	free(t.text);
}

static void parse_bad(const char *s, const char *why)
{
	ConnectTarget t;
	const char *err = NULL;

	ck_assert_int_eq(connect_target_parse(s, &t, &err), -EINVAL);
	ck_assert_str_eq(err, why);
}

START_TEST(connect_forms)
{
	parse_ok("127.0.0.1:19999", AF_INET, "127.0.0.1", 19999, false);
	parse_ok("::1:19999", AF_INET6, "::1", 19999, false);
	parse_ok("[::1]:19999", AF_INET6, "::1", 19999, false);
	parse_ok("[2001:db8::1]:1", AF_INET6, "2001:db8::1", 1, false);
	parse_ok("fe80::1:65535", AF_INET6, "fe80::1", 65535, true);
	parse_ok("[fe80::1%lo]:80", AF_INET6, "fe80::1", 80, true);
	parse_bad("foo", "No colon in address");
	parse_bad("127.0.0.1", "No colon in address");
	parse_bad("127.0.0.1:65536", "Bad port number");
	parse_bad("127.0.0.1:-1", "Bad port number");
	parse_bad("127.0.0.1:", "Bad port number");
	parse_bad("127.0.0.1:80x", "Bad port number");
	parse_bad("localhost:80", "Bad IPv4 address");
	parse_bad("[::g]:80", "Bad IPv6 address");
	parse_bad("[fe80::1%]:80", "Bad interface name in address");
}
END_TEST

START_TEST(interface_lists)
{
	Args a = {0};

	ck_assert_int_eq(args_add_interfaces(&a, "eth0,eth1"), 0);
	ck_assert_int_eq(args_add_interfaces(&a, ",,eth2"), 0);
	ck_assert_uint_eq(a.n_interfaces, 3);
	ck_assert_uint_eq(a.n_bring_up, 3);
	ck_assert_int_eq(args_add_interfaces(&a, "none,eth3"), 0);
	ck_assert_int_eq(args_add_interfaces(&a, "eth4,none"), 0);
	ck_assert_uint_eq(a.n_interfaces, 5);
	/* Only the names before the first "none" are brought up; every "none" is dropped. */
	ck_assert_uint_eq(a.n_bring_up, 3);
	ck_assert(a.saw_none);
	ck_assert_str_eq(a.interfaces[3], "eth3");
	ck_assert_str_eq(a.interfaces[4], "eth4");
	ck_assert_ptr_null(a.interfaces[5]);
	args_done(&a);

	ck_assert_int_eq(args_add_interfaces(&a, "none"), 0);
	ck_assert_uint_eq(a.n_interfaces, 0);
	ck_assert_uint_eq(a.n_bring_up, 0);
	ck_assert(a.saw_none);
	args_done(&a);
}
END_TEST

START_TEST(parse_command_line)
{
	char a0[] = "mandos-client", a1[] = "--connect=[::1]:1", a2[] = "-c", a3[] = "10.0.0.1:2",
	     a4[] = "--delay=3", a5[] = "--interface=a,none", a6[] = "-i", a7[] = "b",
	     a8[] = "--debug";
	char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, NULL};
	Args a;

	ck_assert_int_eq(args_parse(&a, 9, argv), 0);
	ck_assert_uint_eq(a.n_connect, 2);
	/* --delay does not touch --retry (upstream bug). */
	ck_assert(a.delay == 3.0);
	ck_assert(a.retry == 10.0);
	ck_assert(a.timeout == 10.0);
	ck_assert_uint_eq(a.n_interfaces, 2);
	ck_assert_uint_eq(a.n_bring_up, 1);
	ck_assert(a.debug);
	ck_assert_str_eq(a.pubkey, MC_DEFAULT_PUBKEY);
	args_done(&a);
}
END_TEST

START_TEST(hook_names)
{
	ck_assert(hook_name_valid("bridge"));
	ck_assert(hook_name_valid("10-open_vpn.sh"));
	ck_assert(!hook_name_valid(""));
	ck_assert(!hook_name_valid("a b"));
	ck_assert(!hook_name_valid("x~"));
	ck_assert(!hook_name_valid("#x#"));
}
END_TEST

START_TEST(interface_flags)
{
	ck_assert(netif_flags_usable(IFF_BROADCAST | IFF_UP, false));
	ck_assert(!netif_flags_usable(IFF_BROADCAST | IFF_LOOPBACK, false));
	ck_assert(!netif_flags_usable(IFF_BROADCAST | IFF_NOARP, false));
	ck_assert(!netif_flags_usable(IFF_POINTOPOINT, false));
	ck_assert(netif_flags_usable(IFF_POINTOPOINT | IFF_NOARP, true));
	ck_assert(!netif_flags_usable(IFF_LOOPBACK | IFF_POINTOPOINT, true));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mandos-client-args");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, connect_forms);
	tcase_add_test(tc, interface_lists);
	tcase_add_test(tc, parse_command_line);
	tcase_add_test(tc, hook_names);
	tcase_add_test(tc, interface_flags);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
