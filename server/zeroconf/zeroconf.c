/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Zeroconf announcement: an Avahi client and one entry group, following daemon restarts. */
#include "zeroconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>

#include "avahi-sd-event.h"
#include "log.h"

#define SERVICE_TYPE "_mandos._tcp"

struct Zeroconf {
	AvahiSdEventPoll *poll;
	AvahiClient *client;
	AvahiEntryGroup *group;
	char *name;
	AvahiStringList *txt; /* NULL: an empty TXT record */
	uint16_t port;
	int ifindex, protocol;
	unsigned renames;
	int established;
	ZeroconfCallbacks callbacks;
};

static void publish(Zeroconf *z);

static int rename_service(Zeroconf *z)
{
	char *alt;

	if (++z->renames > ZEROCONF_MAX_RENAMES) {
		log_critical("No suitable Zeroconf service name found after %u renames",
			     ZEROCONF_MAX_RENAMES);
		if (z->callbacks.failed) {
			z->callbacks.failed(-EADDRINUSE, z->callbacks.userdata);
		}
		return -EADDRINUSE;
	}
	alt = avahi_alternative_service_name(z->name);
	if (!alt) {
		return log_oom();
	}
	log_info("Changing Zeroconf service name to '%s' ...", alt);
	avahi_free(z->name);
	z->name = alt;
	if (z->callbacks.renamed) {
		z->callbacks.renamed(z->name, z->callbacks.userdata);
	}
	return 0;
}

static void on_group(AvahiEntryGroup *g, AvahiEntryGroupState state, void *userdata)
{
	Zeroconf *z = userdata;

	switch (state) {
	case AVAHI_ENTRY_GROUP_ESTABLISHED:
		z->established = 1;
		log_info("Zeroconf service '%s' of type '%s' established", z->name, SERVICE_TYPE);
		break;
	case AVAHI_ENTRY_GROUP_COLLISION:
		/* Someone else on the network announces this name: take the next one. */
		z->established = 0;
		log_warning("Zeroconf service name '%s' collides with another service", z->name);
		if (rename_service(z) >= 0) {
			avahi_entry_group_reset(g);
			publish(z);
		}
		break;
	case AVAHI_ENTRY_GROUP_FAILURE:
		z->established = 0;
		log_error("Zeroconf entry group failure: %s",
			  avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(g))));
		break;
	case AVAHI_ENTRY_GROUP_UNCOMMITED:
	case AVAHI_ENTRY_GROUP_REGISTERING:
		break;
	}
}

static void publish(Zeroconf *z)
{
	int r;

	if (!z->group) {
		z->group = avahi_entry_group_new(z->client, on_group, z);
		if (!z->group) {
			log_error("Could not create a Zeroconf entry group: %s",
				  avahi_strerror(avahi_client_errno(z->client)));
			return;
		}
	}
	if (!avahi_entry_group_is_empty(z->group)) {
		return;
	}
	for (;;) {
		r = avahi_entry_group_add_service_strlst(z->group, z->ifindex, z->protocol, 0,
							 z->name, SERVICE_TYPE, NULL, NULL, z->port,
							 z->txt);
		if (r != AVAHI_ERR_COLLISION) {
			break;
		}
		/* A local collision (another service of ours on this host). */
		if (rename_service(z) < 0) {
			return;
		}
	}
	if (r < 0) {
		log_error("Could not add Zeroconf service '%s': %s", z->name, avahi_strerror(r));
		return;
	}
	r = avahi_entry_group_commit(z->group);
	if (r < 0) {
		log_error("Could not publish Zeroconf service '%s': %s", z->name, avahi_strerror(r));
		return;
	}
	log_debug("Publishing Zeroconf service '%s' on port %u", z->name, z->port);
}

static int connect_client(Zeroconf *z);

static void on_client(AvahiClient *c, AvahiClientState state, void *userdata)
{
	Zeroconf *z = userdata;

	/* Called from inside avahi_client_new() too, before z->client is set. */
	z->client = c;
	switch (state) {
	case AVAHI_CLIENT_S_RUNNING:
		publish(z);
		break;
	case AVAHI_CLIENT_S_COLLISION:
	case AVAHI_CLIENT_S_REGISTERING:
		/* The host name is being (re)registered: withdraw until it settles. */
		z->established = 0;
		if (z->group) {
			avahi_entry_group_reset(z->group);
		}
		break;
	case AVAHI_CLIENT_CONNECTING:
		log_warning("Waiting for avahi-daemon to announce the Zeroconf service");
		break;
	case AVAHI_CLIENT_FAILURE:
		z->established = 0;
		if (avahi_client_errno(c) == AVAHI_ERR_DISCONNECTED) {
			/* avahi-daemon went away: start over and wait for it to come back. */
			log_warning("avahi-daemon disconnected; the service will be announced again "
				    "when it returns");
			z->group = NULL; /* freed with the client */
			avahi_client_free(c);
			z->client = NULL;
			(void)connect_client(z);
		} else {
			log_error("Avahi client failure: %s", avahi_strerror(avahi_client_errno(c)));
		}
		break;
	}
}

static int connect_client(Zeroconf *z)
{
	int error = 0;
	AvahiClient *c;

	c = avahi_client_new(avahi_sd_event_poll_get(z->poll), AVAHI_CLIENT_NO_FAIL, on_client, z,
			     &error);
	if (!c) {
		log_error("Could not create an Avahi client: %s", avahi_strerror(error));
		return error == AVAHI_ERR_NO_MEMORY ? -ENOMEM : -EIO;
	}
	z->client = c;
	return 0;
}

int zeroconf_new(sd_event *event, const ZeroconfConfig *config, const ZeroconfCallbacks *callbacks,
		 Zeroconf **ret)
{
	_cleanup_(zeroconf_freep) Zeroconf *z = NULL;
	int r;

	if (!avahi_is_valid_service_name(config->name)) {
		return -EINVAL;
	}
	z = calloc(1, sizeof(*z));
	if (!z) {
		return -ENOMEM;
	}
	z->name = avahi_strdup(config->name);
	z->poll = avahi_sd_event_poll_new(event);
	if (!z->name || !z->poll) {
		return -ENOMEM;
	}
	for (size_t i = 0; config->txt && config->txt[i]; i++) {
		AvahiStringList *l = avahi_string_list_add(z->txt, config->txt[i]);

		if (!l) {
			return -ENOMEM;
		}
		z->txt = l;
	}
	/* Avahi's list is built by prepending: reverse, to publish in the given order. */
	z->txt = avahi_string_list_reverse(z->txt);
	z->port = config->port;
	z->ifindex = config->ifindex;
	z->protocol = config->protocol;
	if (callbacks) {
		z->callbacks = *callbacks;
	}
	r = connect_client(z);
	if (r < 0) {
		return r;
	}
	*ret = TAKE_PTR(z);
	return 0;
}

Zeroconf *zeroconf_free(Zeroconf *z)
{
	if (!z) {
		return NULL;
	}
	/* The client owns the group; freeing it withdraws the service. */
	if (z->client) {
		avahi_client_free(z->client);
	}
	avahi_sd_event_poll_free(z->poll);
	avahi_string_list_free(z->txt);
	avahi_free(z->name);
	free(z);
	return NULL;
}

const char *zeroconf_service_name(const Zeroconf *z)
{
	return z->name;
}

int zeroconf_is_established(const Zeroconf *z)
{
	return z->established;
}
