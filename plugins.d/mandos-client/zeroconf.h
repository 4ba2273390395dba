/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-client's Zeroconf browser (embedded avahi-core): reports each _mandos._tcp server. */
#pragma once

#include <stdint.h>
#include <sys/socket.h>

#include <avahi-common/watch.h>

#include "macro.h"

typedef struct ZeroconfBrowser ZeroconfBrowser;

/* A resolved server.  Everything in it is valid only during the callback. */
typedef struct ZeroconfService {
	const char *name;  /* the service instance name */
	const char *label; /* for messages: "\"NAME\" [ADDR]:PORT", "\"NAME\" A.B.C.D:PORT" */
	const struct sockaddr *addr; /* with the port; IPv6 link-local: ifindex as the scope */
	socklen_t addr_len;
	uint16_t port;
	int ifindex;            /* the interface it was seen on, 0 if unknown */
	const char *const *txt; /* the TXT record's strings ("key=value"), NULL-terminated; strings
	                           with a NUL byte inside are left out */
} ZeroconfService;

typedef struct ZeroconfBrowserCallbacks {
	/* A server was found and resolved.  Required. */
	void (*found)(const ZeroconfService *service, void *userdata);
	/* Browsing cannot go on (Avahi reported a failure, already logged).  May be NULL. */
	void (*failed)(void *userdata);
	void *userdata;
} ZeroconfBrowserCallbacks;

/*
 * Start browsing on the interface ifindex (0: every interface) through api.  Callbacks are
 * copied.  Returns 0 and *ret, or -ENOMEM, -ENOPKG (Avahi could not start; logged).
 */
int zeroconf_browser_new(const AvahiPoll *api, int ifindex,
                         const ZeroconfBrowserCallbacks *callbacks, ZeroconfBrowser **ret);

/* Stop browsing and free.  Accepts NULL; returns NULL. */
ZeroconfBrowser *zeroconf_browser_free(ZeroconfBrowser *z);
DEFINE_TRIVIAL_CLEANUP_FUNC(ZeroconfBrowser *, zeroconf_browser_free)

/*
 * The value of key in a TXT list as ZeroconfService.txt holds it ("key=value", the key
 * compared without regard to case as DNS-SD says), or NULL if absent.  A key without "=" has
 * the value "".
 */
const char *zeroconf_txt_get(const char *const *txt, const char *key);

/* Bit n stands for protocol n in zeroconf_txt_protocols(); bit 0 for "proto= is there". */
#define ZEROCONF_PROTO_BIT(n) (1u << (n))

/*
 * The protocols a Mandos server's TXT proto= lists ("1,2", "1", "2"; other numbers are
 * ignored), with ZEROCONF_PROTO_BIT(0) set when proto= is there at all; 0 without proto=
 * (upstream's servers publish an empty TXT).
 */
unsigned zeroconf_txt_protocols(const char *const *txt);
