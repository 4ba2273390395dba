/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Announce the server as a Zeroconf "_mandos._tcp" service through avahi-daemon (spec 2.10). */
#pragma once

#include <stdint.h>

#include <systemd/sd-event.h>

#include "macro.h"

/* Renames are bounded as upstream bounds them; past this the announcement gives up. */
#define ZEROCONF_MAX_RENAMES 32768

typedef struct Zeroconf Zeroconf;

typedef struct ZeroconfConfig {
	const char *name;  /* service instance name, e.g. "Mandos" */
	uint16_t port;     /* the bound port */
	int ifindex;       /* an interface index, or -1 (AVAHI_IF_UNSPEC) for all */
	int protocol;      /* AVAHI_PROTO_INET6 or AVAHI_PROTO_INET */
	/* TXT record strings ("key=value"), NULL-terminated, copied; NULL for an empty TXT. */
	const char *const *txt;
} ZeroconfConfig;

typedef struct ZeroconfCallbacks {
	/* The service now has another name ("Mandos #2") after a collision.  May be NULL. */
	void (*renamed)(const char *new_name, void *userdata);
	/* The announcement cannot go on (too many renames).  May be NULL. */
	void (*failed)(int error, void *userdata);
	void *userdata;
} ZeroconfCallbacks;

/*
 * Start announcing.  Unlike upstream, an absent avahi-daemon is not fatal: the service is
 * published as soon as the daemon is there, withdrawn when it goes, and published again when
 * it comes back.  Returns 0 or -errno (-ENOMEM, -EINVAL for a name Avahi rejects).
 */
int zeroconf_new(sd_event *event, const ZeroconfConfig *config, const ZeroconfCallbacks *callbacks,
		 Zeroconf **ret);

/* Withdraw the service and free everything.  Accepts NULL; returns NULL. */
Zeroconf *zeroconf_free(Zeroconf *z);
DEFINE_TRIVIAL_CLEANUP_FUNC(Zeroconf *, zeroconf_free)

/* The name currently announced (or to be announced). */
const char *zeroconf_service_name(const Zeroconf *z);

/* Whether avahi-daemon has confirmed the service (entry group established). */
int zeroconf_is_established(const Zeroconf *z);
