/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One connection's decision record: latency, peer, receiving interface; reported once. */
#include "conn-decision.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "audit.h"
#include "p2.h"

void conn_decision_init(ConnDecision *d, int fd, const char *ip, uint64_t accepted)
{
	*d = (ConnDecision){.fd = fd, .ip = ip, .accepted = accepted};
}

static uint64_t now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void copy_name(char ret[IF_NAMESIZE], const char *name)
{
	strncpy(ret, name, IF_NAMESIZE - 1);
	ret[IF_NAMESIZE - 1] = '\0';
}

/* Whether sa (of the family looked for) is v4 (AF_INET) or v6 (AF_INET6). */
static bool same_address(const struct sockaddr *sa, const struct in_addr *v4,
                         const struct in6_addr *v6)
{
	if (sa->sa_family == AF_INET) {
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == v4->s_addr;
	}
	return IN6_ARE_ADDR_EQUAL(&((const struct sockaddr_in6 *)sa)->sin6_addr, v6);
}

int socket_interface_name(int fd, char ret[IF_NAMESIZE])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct ifaddrs *ifs = NULL;
	struct in_addr v4 = {0};
	struct in6_addr v6 = IN6ADDR_ANY_INIT;
	int family, r = -ENXIO;
	bool loopback;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		return -errno;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

		if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) && s6->sin6_scope_id != 0) {
			char name[IF_NAMESIZE];

			if (!if_indextoname(s6->sin6_scope_id, name)) {
				return -errno;
			}
			copy_name(ret, name);
			return 0;
		}
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			family = AF_INET;
			memcpy(&v4, &s6->sin6_addr.s6_addr[12], sizeof(v4));
		} else {
			family = AF_INET6;
			v6 = s6->sin6_addr;
		}
	} else if (ss.ss_family == AF_INET) {
		family = AF_INET;
		v4 = ((const struct sockaddr_in *)&ss)->sin_addr;
	} else {
		return -EAFNOSUPPORT;
	}
	loopback = family == AF_INET ? (ntohl(v4.s_addr) >> 24) == 127 : IN6_IS_ADDR_LOOPBACK(&v6);
	if (getifaddrs(&ifs) < 0) {
		return -errno;
	}
	for (const struct ifaddrs *i = ifs; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family) {
			continue;
		}
		if (same_address(i->ifa_addr, &v4, &v6)) {
			copy_name(ret, i->ifa_name);
			r = 0;
			break;
		}
	}
	if (r < 0 && loopback) {
		/* 127.0.0.2 and the like: on the loopback interface without being listed. */
		for (const struct ifaddrs *i = ifs; i; i = i->ifa_next) {
			if (i->ifa_flags & IFF_LOOPBACK) {
				copy_name(ret, i->ifa_name);
				r = 0;
				break;
			}
		}
	}
	freeifaddrs(ifs);
	return r;
}

void conn_decision_report(ConnDecision *d, int protocol, DecisionResult result, const char *client,
                          const char *key_id, const char *reason)
{
	DecisionRecord rec = {
	        .protocol = protocol,
	        .result = result,
	        .client = client,
	        .key_id = key_id,
	        .address = d->ip,
	        .reason = reason,
	};
	uint64_t now = now_mono();

	if (d->reported) {
		return;
	}
	d->reported = true;
	rec.latency_usec = now > d->accepted ? now - d->accepted : 0;
	if (audit_enabled() && !d->if_looked_up) {
		d->if_looked_up = true;
		if (socket_interface_name(d->fd, d->ifname) < 0) {
			d->ifname[0] = '\0';
		}
	}
	rec.interface = d->ifname[0] ? d->ifname : NULL;
	decision_report(&rec);
}

const char *conn_decision_disabled_reason(uint32_t value)
{
	switch (value) {
	case P2_DISABLED_BY_ADMIN:
		return "disabled by an administrator";
	case P2_DISABLED_CHECKER:
		return "checker timed out";
	case P2_DISABLED_NEVER_OK:
		return "never checked OK";
	}
	return NULL;
}
