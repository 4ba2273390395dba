/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The server's Zeroconf announcement: the bound port, interface and protocol, renames (spec 2.10).
 */
#include "announce.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include <avahi-common/address.h>

#include "log.h"
#include "p2.h"

static void on_renamed(const char *new_name, void *userdata)
{
	Manager *m = userdata;
	static char ident[300];
	int targets = LOG_TARGET_SYSLOG;

	/* As upstream: the syslog identity follows the service name. */
	snprintf(ident, sizeof(ident), "Mandos (%s)", new_name);
	if (m->settings->debug) {
		targets |= LOG_TARGET_STDERR;
	}
	log_open("mandos", ident, targets, LOG_STDERR_TIME | LOG_STDERR_PID | LOG_STDERR_LEVEL);
}

static void on_failed(int error, void *userdata)
{
	Manager *m = userdata;

	log_critical_errno(error, "Zeroconf: giving up on announcing the service: %m");
	(void)sd_event_exit(m->event, error < 0 ? error : -error);
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		return -errno;
	}
	if (ss.ss_family == AF_INET6) {
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	if (ss.ss_family == AF_INET) {
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	return -EAFNOSUPPORT;
}

int server_announce_start(Manager *m, Zeroconf **ret)
{
	const ServerSettings *s = m->settings;
	ZeroconfConfig cfg = {
	        .name = s->servicename,
	        .ifindex = AVAHI_IF_UNSPEC,
	        .protocol = s->use_ipv6 ? AVAHI_PROTO_INET6 : AVAHI_PROTO_INET,
	};
	ZeroconfCallbacks cb = {.renamed = on_renamed, .failed = on_failed, .userdata = m};
	char protocols[PROTOCOLS_STRING_SIZE], proto[sizeof("proto=") + PROTOCOLS_STRING_SIZE];
	char keyid[sizeof("keyid=") + P2_KEY_ID_HEX_SIZE];
	const char *txt[4] = {"txtvers=1", proto, NULL, NULL};
	int port, r;

	*ret = NULL;
	if (!s->zeroconf) {
		return 0;
	}
	port = bound_port(m->listen_fd);
	if (port < 0) {
		return log_critical_errno(port, "Zeroconf: cannot find the bound port: %m");
	}
	cfg.port = (uint16_t)port;
	/* §A.3.4: the enabled protocols, ascending, and the key id when protocol 2 is on. */
	snprintf(proto, sizeof(proto), "proto=%s", protocols_format(m->protocols, ',', protocols));
	if (m->p2_identity && (m->protocols & PROTOCOL_BIT(2))) {
		char hex[P2_KEY_ID_HEX_SIZE];

		p2_key_id_hex(m->p2_identity->pk, hex);
		snprintf(keyid, sizeof(keyid), "keyid=%s", hex);
		txt[2] = keyid;
	}
	cfg.txt = txt;
	if (*s->interface) {
		unsigned idx = if_nametoindex(s->interface);

		if (idx == 0) {
			log_warning("Zeroconf: no interface %s; announcing on all", s->interface);
		} else {
			cfg.ifindex = (int)idx;
		}
	}
	r = zeroconf_new(m->event, &cfg, &cb, ret);
	if (r < 0) {
		return log_critical_errno(r, "Zeroconf: cannot announce '%s': %m", s->servicename);
	}
	return 0;
}
