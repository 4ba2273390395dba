/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Embedded mDNS (avahi-core, no daemon): browse _mandos._tcp, resolve, report through callbacks.
 */
#include "zeroconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <avahi-common/error.h>
#include <avahi-core/core.h>
#include <avahi-core/log.h>
#include <avahi-core/lookup.h>

#include "log.h"

/* TXT records are at most a few hundred bytes in practice; more entries are ignored. */
#define TXT_MAX_ENTRIES 64

struct ZeroconfBrowser {
	AvahiServer *server;
	AvahiSServiceBrowser *browser;
	ZeroconfBrowserCallbacks cb;
};

static void avahi_log_cb(AvahiLogLevel level, const char *txt)
{
	log_debug("Avahi: %s", txt);
}

static void failed(ZeroconfBrowser *z)
{
	if (z->cb.failed) {
		z->cb.failed(z->cb.userdata);
	}
}

/* The TXT strings as a NULL-terminated array (NULL only when out of memory). */
static char **txt_to_strv(AvahiStringList *txt)
{
	size_t n = 0;
	char **v = calloc(TXT_MAX_ENTRIES + 1, sizeof(char *));

	if (!v) {
		return NULL;
	}
	for (AvahiStringList *l = txt; l && n < TXT_MAX_ENTRIES; l = l->next) {
		if (memchr(l->text, '\0', l->size)) {
			continue;
		}
		v[n] = strndup((const char *)l->text, l->size);
		if (!v[n]) {
			strv_free(v);
			return NULL;
		}
		n++;
	}
	return v;
}

const char *zeroconf_txt_get(const char *const *txt, const char *key)
{
	size_t klen = strlen(key);

	for (; txt && *txt; txt++) {
		if (strncasecmp(*txt, key, klen) != 0) {
			continue;
		}
		if ((*txt)[klen] == '=') {
			return *txt + klen + 1;
		}
		if ((*txt)[klen] == '\0') {
			return *txt + klen;
		}
	}
	return NULL;
}

/*
 * The protocols a server's TXT proto= lists ("1,2", "1", "2"), with ZEROCONF_PROTO_BIT(0) marking
 * that proto= was there at all; 0 without proto= (upstream's servers publish no TXT).
 */
unsigned zeroconf_txt_protocols(const char *const *txt)
{
	const char *v = zeroconf_txt_get(txt, "proto");
	unsigned bits = ZEROCONF_PROTO_BIT(0);

	if (!v) {
		return 0;
	}
	for (const char *tok = v; *tok;) {
		size_t n = strcspn(tok, ",");

		if (n == 1 && (*tok == '1' || *tok == '2')) {
			bits |= ZEROCONF_PROTO_BIT(*tok - '0');
		}
		tok += n;
		tok += *tok == ',';
	}
	return bits;
}

static void resolve_cb(AvahiSServiceResolver *r, AvahiIfIndex iface, AvahiProtocol proto,
                       AvahiResolverEvent event, const char *name, const char *type,
                       const char *domain, const char *host, const AvahiAddress *a, uint16_t port,
                       AvahiStringList *txt, AvahiLookupResultFlags flags, void *userdata)
{
	ZeroconfBrowser *z = userdata;
	struct sockaddr_storage ss = {0};
	char addr[AVAHI_ADDRESS_STR_MAX], label[512];
	_cleanup_strv_free_ char **txtv = NULL;
	ZeroconfService svc = {.name = name, .label = label, .port = port};
	int ifindex = iface > 0 ? iface : 0;

	if (event != AVAHI_RESOLVER_FOUND) {
		log_debug("Could not resolve Mandos service \"%s\"", name);
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
		svc.addr_len = sizeof(*s6);
		snprintf(label, sizeof(label), "\"%s\" [%s]:%u", name, addr, port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, &a->data.ipv4, sizeof(s4->sin_addr));
		svc.addr_len = sizeof(*s4);
		snprintf(label, sizeof(label), "\"%s\" %s:%u", name, addr, port);
	}
	txtv = txt_to_strv(txt);
	if (!txtv) {
		log_oom();
		goto out;
	}
	svc.addr = (const struct sockaddr *)&ss;
	svc.ifindex = ifindex;
	svc.txt = (const char *const *)txtv;
	z->cb.found(&svc, z->cb.userdata);
out:
	avahi_s_service_resolver_free(r);
}

static void browse_cb(AvahiSServiceBrowser *b, AvahiIfIndex iface, AvahiProtocol proto,
                      AvahiBrowserEvent event, const char *name, const char *type,
                      const char *domain, AvahiLookupResultFlags flags, void *userdata)
{
	ZeroconfBrowser *z = userdata;

	switch (event) {
	case AVAHI_BROWSER_NEW:
		log_debug("Found Mandos service \"%s\" on interface %d", name, iface);
		if (!avahi_s_service_resolver_new(z->server, iface, proto, name, type, domain,
		                                  proto, 0, resolve_cb, z)) {
			log_warning("Failed to resolve service \"%s\": %s", name,
			            avahi_strerror(avahi_server_errno(z->server)));
		}
		break;
	case AVAHI_BROWSER_FAILURE:
		log_error("Avahi browser failure: %s",
		          avahi_strerror(avahi_server_errno(z->server)));
		failed(z);
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
		failed(userdata);
	}
}

int zeroconf_browser_new(const AvahiPoll *api, int ifindex,
                         const ZeroconfBrowserCallbacks *callbacks, ZeroconfBrowser **ret)
{
	_cleanup_(zeroconf_browser_freep) ZeroconfBrowser *z = NULL;
	AvahiServerConfig config;
	int error = 0;

	avahi_set_log_function(avahi_log_cb);
	z = calloc(1, sizeof(*z));
	if (!z) {
		return -ENOMEM;
	}
	z->cb = *callbacks;
	avahi_server_config_init(&config);
	config.publish_hinfo = 0;
	config.publish_addresses = 0;
	config.publish_workstation = 0;
	config.publish_domain = 0;
	config.disable_publishing = 1;
	config.use_ipv4 = 1;
	config.use_ipv6 = 1;
	config.allow_point_to_point = 1;
	z->server = avahi_server_new(api, &config, server_cb, z, &error);
	avahi_server_config_free(&config);
	if (!z->server) {
		log_error("Failed to create the Avahi server: %s", avahi_strerror(error));
		return -ENOPKG;
	}
	z->browser = avahi_s_service_browser_new(z->server, ifindex > 0 ? ifindex : AVAHI_IF_UNSPEC,
	                                         AVAHI_PROTO_UNSPEC, "_mandos._tcp", NULL, 0,
	                                         browse_cb, z);
	if (!z->browser) {
		log_error("Failed to create the service browser: %s",
		          avahi_strerror(avahi_server_errno(z->server)));
		return -ENOPKG;
	}
	log_debug("Browsing for _mandos._tcp");
	*ret = TAKE_PTR(z);
	return 0;
}

ZeroconfBrowser *zeroconf_browser_free(ZeroconfBrowser *z)
{
	if (!z) {
		return NULL;
	}
	if (z->browser) {
		avahi_s_service_browser_free(z->browser);
	}
	if (z->server) {
		avahi_server_free(z->server);
	}
	free(z);
	return NULL;
}
