/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-client-iprouteadddel: add or delete a host route on an interface, for mandos-client. */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/route.h>

#include "cli-util.h"
#include "log.h"
#include "macro.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: mandos-client-iprouteadddel [--debug] {add|delete} ADDRESS INTERFACE\n"
	           "Add or delete a host route to ADDRESS on INTERFACE (scope link, protocol "
	           "boot),\nlike \"ip route add ADDRESS dev INTERFACE proto boot scope link\".\n");
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_sock *, nl_socket_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_route *, rtnl_route_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_addr *, nl_addr_put)

static int run(bool add, const char *address, const char *ifname)
{
	_cleanup_(nl_socket_freep) struct nl_sock *sk = NULL;
	_cleanup_(rtnl_route_putp) struct rtnl_route *route = NULL;
	_cleanup_(nl_addr_putp) struct nl_addr *dst = NULL;
	struct rtnl_nexthop *nh;
	unsigned ifindex;
	int r, family;

	r = nl_addr_parse(address, AF_UNSPEC, &dst);
	if (r < 0 || !dst) {
		log_error("Failed to parse address \"%s\": %s", address, nl_geterror(r));
		return EX_USAGE;
	}
	family = nl_addr_get_family(dst);
	if (family != AF_INET && family != AF_INET6) {
		log_error("Not an IP address: \"%s\"", address);
		return EX_USAGE;
	}
	/* A host route, whatever prefix length the text had. */
	nl_addr_set_prefixlen(dst, family == AF_INET ? 32 : 128);

	ifindex = if_nametoindex(ifname);
	if (ifindex == 0) {
		log_error_errno(errno, "Failed to find interface \"%s\": %m", ifname);
		return EX_OSERR;
	}
	sk = nl_socket_alloc();
	route = rtnl_route_alloc();
	nh = rtnl_route_nh_alloc();
	if (!sk || !route || !nh) {
		if (nh) {
			rtnl_route_nh_free(nh);
		}
		log_oom();
		return EX_OSERR;
	}
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		rtnl_route_nh_free(nh);
		log_error("Failed to connect to netlink: %s", nl_geterror(r));
		return EX_OSERR;
	}
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_type(route, RTN_UNICAST);
	rtnl_route_set_scope(route, RT_SCOPE_LINK);
	rtnl_route_set_protocol(route, RTPROT_BOOT);
	rtnl_route_set_family(route, (uint8_t)family);
	r = rtnl_route_set_dst(route, dst);
	if (r < 0) {
		rtnl_route_nh_free(nh);
		log_error("Failed to set the route destination: %s", nl_geterror(r));
		return EX_OSERR;
	}
	rtnl_route_nh_set_ifindex(nh, (int)ifindex);
	rtnl_route_add_nexthop(route, nh); /* the route owns nh now */

	if (add) {
		r = rtnl_route_add(sk, route, NLM_F_EXCL);
	} else {
		r = rtnl_route_delete(sk, route, 0);
	}
	if (r < 0) {
		log_error("Failed to %s route to %s on %s: %s", add ? "add" : "delete", address,
		          ifname, nl_geterror(r));
		return EX_OSERR;
	}
	log_debug("%s route to %s on %s", add ? "Added" : "Deleted", address, ifname);
	return EX_OK;
}

int main(int argc, char **argv)
{
	const char *pos[3];
	size_t n = 0;
	bool add;

	log_open("Mandos plugin helper mandos-client-iprouteadddel: ", NULL, LOG_TARGET_STDERR, 0);
	log_set_max_level(LOG_INFO);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--debug") == 0) {
			log_set_max_level(LOG_DEBUG);
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-?") == 0) {
			usage(stdout);
			return EX_OK;
		} else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
			printf("mandos-client-iprouteadddel" CLI_VERSION_TAIL "\n");
			return EX_OK;
		} else if (strcmp(argv[i], "--") == 0) {
			for (i++; i < argc; i++) {
				if (n == ELEMENTSOF(pos)) {
					usage(stderr);
					return EX_USAGE;
				}
				pos[n++] = argv[i];
			}
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			log_error("Unknown option: %s", argv[i]);
			usage(stderr);
			return EX_USAGE;
		} else {
			if (n == ELEMENTSOF(pos)) {
				usage(stderr);
				return EX_USAGE;
			}
			pos[n++] = argv[i];
		}
	}
	if (n != 3) {
		log_error(n < 3 ? "Missing arguments" : "Too many arguments");
		usage(stderr);
		return EX_USAGE;
	}
	if (strcasecmp(pos[0], "add") == 0) {
		add = true;
	} else if (strcasecmp(pos[0], "delete") == 0) {
		add = false;
	} else {
		log_error("Unknown command \"%s\": use add or delete", pos[0]);
		return EX_USAGE;
	}
	return run(add, pos[1], pos[2]);
}
