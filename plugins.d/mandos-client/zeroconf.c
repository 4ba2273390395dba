/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Embedded mDNS (avahi-core, no daemon): browse _mandos._tcp, resolve, hand servers to the client.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <avahi-common/error.h>
#include <avahi-core/core.h>
#include <avahi-core/log.h>
#include <avahi-core/lookup.h>

#include "client.h"
#include "log.h"

typedef struct Zeroconf {
	AvahiServer *server;
	AvahiSServiceBrowser *browser;
} Zeroconf;

static void avahi_log_cb(AvahiLogLevel level, const char *txt)
{
	log_debug("Avahi: %s", txt);
}

static bool interface_allowed(Client *c, AvahiIfIndex iface)
{
	char name[IF_NAMESIZE];

	if (!c->selected || c->args.n_interfaces == 0) {
		return true;
	}
	if (!if_indextoname((unsigned)iface, name)) {
		return false;
	}
	for (char **i = c->selected; *i; i++) {
		if (strcmp(*i, name) == 0) {
			return true;
		}
	}
	return false;
}

static void resolve_cb(AvahiSServiceResolver *r, AvahiIfIndex iface, AvahiProtocol proto,
                       AvahiResolverEvent event, const char *name, const char *type,
                       const char *domain, const char *host, const AvahiAddress *a, uint16_t port,
                       AvahiStringList *txt, AvahiLookupResultFlags flags, void *userdata)
{
	Client *c = userdata;
	struct sockaddr_storage ss = {0};
	char addr[AVAHI_ADDRESS_STR_MAX], label[512];
	socklen_t len;
	int ifindex = iface > 0 ? iface : 0;

	if (event != AVAHI_RESOLVER_FOUND) {
		log_debug("Could not resolve Mandos service \"%s\"", name);
		goto out;
	}
	if (!interface_allowed(c, iface)) {
		log_debug("Ignoring Mandos server \"%s\" on interface %d", name, iface);
		goto out;
	}
	avahi_address_snprint(addr, sizeof(addr), a);
	if (a->proto == AVAHI_PROTO_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, &a->data.ipv6, sizeof(s6->sin6_addr));
		if (IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr)) {
			s6->sin6_scope_id = (uint32_t)ifindex;
		}
		len = sizeof(*s6);
		snprintf(label, sizeof(label), "\"%s\" [%s]:%u", name, addr, port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, &a->data.ipv4, sizeof(s4->sin_addr));
		len = sizeof(*s4);
		snprintf(label, sizeof(label), "\"%s\" %s:%u", name, addr, port);
	}
	log_debug("Mandos server %s found on interface %d", label, iface);
	if (client_add_server(c, label, (struct sockaddr *)&ss, len, ifindex, true) < 0) {
		log_oom();
	}
out:
	avahi_s_service_resolver_free(r);
}

static void browse_cb(AvahiSServiceBrowser *b, AvahiIfIndex iface, AvahiProtocol proto,
                      AvahiBrowserEvent event, const char *name, const char *type,
                      const char *domain, AvahiLookupResultFlags flags, void *userdata)
{
	Client *c = userdata;
	Zeroconf *z = c->zeroconf;

	switch (event) {
	case AVAHI_BROWSER_NEW:
		log_debug("Found Mandos service \"%s\" on interface %d", name, iface);
		if (!avahi_s_service_resolver_new(z->server, iface, proto, name, type, domain,
		                                  proto, 0, resolve_cb, c)) {
			log_warning("Failed to resolve service \"%s\": %s", name,
			            avahi_strerror(avahi_server_errno(z->server)));
		}
		break;
	case AVAHI_BROWSER_FAILURE:
		log_error("Avahi browser failure: %s",
		          avahi_strerror(avahi_server_errno(z->server)));
		client_fail(c, EX_UNAVAILABLE);
		break;
	case AVAHI_BROWSER_REMOVE:
	case AVAHI_BROWSER_CACHE_EXHAUSTED:
	case AVAHI_BROWSER_ALL_FOR_NOW:
		break;
	}
}

static void server_cb(AvahiServer *s, AvahiServerState state, void *userdata)
{
	if (state == AVAHI_SERVER_FAILURE) {
		log_error("Avahi server failure: %s", avahi_strerror(avahi_server_errno(s)));
		client_fail(userdata, EX_UNAVAILABLE);
	}
}

int zeroconf_start(Client *c)
{
	AvahiServerConfig config;
	Zeroconf *z;
	int error = 0;

	avahi_set_log_function(avahi_log_cb);
	z = calloc(1, sizeof(*z));
	if (!z) {
		return log_oom();
	}
	c->zeroconf = z;
	avahi_server_config_init(&config);
	config.publish_hinfo = 0;
	config.publish_addresses = 0;
	config.publish_workstation = 0;
	config.publish_domain = 0;
	config.disable_publishing = 1;
	config.use_ipv4 = 1;
	config.use_ipv6 = 1;
	config.allow_point_to_point = 1;
	z->server = avahi_server_new(c->api, &config, server_cb, c, &error);
	avahi_server_config_free(&config);
	if (!z->server) {
		log_error("Failed to create the Avahi server: %s", avahi_strerror(error));
		return -ENOPKG;
	}
	z->browser = avahi_s_service_browser_new(
	        z->server, c->ifindex > 0 ? c->ifindex : AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
	        "_mandos._tcp", NULL, 0, browse_cb, c);
	if (!z->browser) {
		log_error("Failed to create the service browser: %s",
		          avahi_strerror(avahi_server_errno(z->server)));
		return -ENOPKG;
	}
	log_debug("Browsing for _mandos._tcp");
	return 0;
}

void zeroconf_stop(Client *c)
{
	Zeroconf *z = c->zeroconf;

	if (!z) {
		return;
	}
	if (z->browser) {
		avahi_s_service_browser_free(z->browser);
	}
	if (z->server) {
		avahi_server_free(z->server);
	}
	free(z);
	c->zeroconf = NULL;
}
