/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The D-Bus interface se.recompile.Mandos.Client.Delivery: its properties (§A.11) and
 * ShredEscrowKeys. */
#include "dbus-delivery.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "format.h"
#include "release.h"

enum {
	P_APPROVED_UNTIL,
	P_ESCROW_KEY_FILE,
	P_ESCROW_KEY_IDS,
	P_ESCROW_KEY_INLINE,
	P_HAS_SEALED_SECRET,
	P_PROTOCOLS,
	P_RELEASE_LIMIT,
	P_RELEASES_LEFT,
};

/* Sorted by name, as the other client properties; indexed by the enum above. */
static const DeliveryProp props[] = {
        [P_APPROVED_UNTIL] = {"ApprovedUntil", "s", true},
        [P_ESCROW_KEY_FILE] = {"EscrowKeyFile", "s", true},
        [P_ESCROW_KEY_IDS] = {"EscrowKeyIds", "as", true},
        [P_ESCROW_KEY_INLINE] = {"EscrowKeyInline", "s", true},
        [P_HAS_SEALED_SECRET] = {"HasSealedSecret", "b", true},
        [P_PROTOCOLS] = {"Protocols", "s", true},
        [P_RELEASE_LIMIT] = {"ReleaseLimit", "u", true},
        [P_RELEASES_LEFT] = {"ReleasesLeft", "i", false},
};

const DeliveryProp *delivery_prop_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(props); i++) {
		if (strcmp(props[i].name, name) == 0) {
			return &props[i];
		}
	}
	return NULL;
}

/* The kids as 32 lowercase hex digits each, in key order (never anything of the scalars). */
static int append_kids(sd_bus_message *msg, const ClientEscrow *e)
{
	const uint8_t(*kids)[ESCROW_KID_LEN] = client_escrow_kids(e);
	int r = sd_bus_message_open_container(msg, 'a', "s");

	for (size_t i = 0; r >= 0 && i < e->n; i++) {
		char hex[2 * ESCROW_KID_LEN + 1];

		sodium_bin2hex(hex, sizeof(hex), kids[i], ESCROW_KID_LEN);
		r = sd_bus_message_append(msg, "s", hex);
	}
	return r < 0 ? r : sd_bus_message_close_container(msg);
}

int delivery_append_value(sd_bus_message *msg, const Client *c, const DeliveryProp *p)
{
	const ClientDelivery *d = &c->delivery;

	switch (p - props) {
	case P_APPROVED_UNTIL: {
		char buf[TIMESTAMP_STRING_MAX];

		return sd_bus_message_append(
		        msg, "s", timestamp_format_iso(c->approved_until, buf, sizeof(buf)));
	}
	case P_ESCROW_KEY_FILE:
		return sd_bus_message_append(msg, "s", d->escrow.keyfile ? d->escrow.keyfile : "");
	case P_ESCROW_KEY_IDS:
		return append_kids(msg, &d->escrow);
	case P_ESCROW_KEY_INLINE:
		return sd_bus_message_append(msg, "s",
		                             d->escrow.inline_at ? d->escrow.inline_at : "");
	case P_HAS_SEALED_SECRET:
		return sd_bus_message_append(msg, "b", d->sealed != NULL);
	case P_PROTOCOLS: {
		char buf[PROTOCOLS_STRING_SIZE];

		return sd_bus_message_append(msg, "s", protocols_format(d->protocols, ' ', buf));
	}
	case P_RELEASE_LIMIT:
		return sd_bus_message_append(msg, "u", d->release_limit);
	case P_RELEASES_LEFT: {
		int64_t left = release_left(c, now_realtime());

		return sd_bus_message_append(msg, "i", (int32_t)MIN(left, (int64_t)INT32_MAX));
	}
	}
	return -ENOENT;
}

int delivery_append_variant(sd_bus_message *msg, const Client *c, const DeliveryProp *p)
{
	int r = sd_bus_message_open_container(msg, 'v', p->sig);

	if (r < 0 || (r = delivery_append_value(msg, c, p)) < 0) {
		return r;
	}
	return sd_bus_message_close_container(msg);
}

/* The entries {sv} of the properties: all, only those that emit PropertiesChanged, or only
 * `one` (when not NULL). */
static int append_entries(sd_bus_message *msg, const Client *c, bool only_emitting,
                          const DeliveryProp *one)
{
	int r = sd_bus_message_open_container(msg, 'a', "{sv}");

	if (r < 0) {
		return r;
	}
	for (size_t i = 0; i < ELEMENTSOF(props); i++) {
		if ((only_emitting && !props[i].emits_changed) || (one && one != &props[i])) {
			continue;
		}
		/* A reload leaves ApprovedUntil alone: it is sent by itself when it changes. */
		if (only_emitting && !one && i == P_APPROVED_UNTIL) {
			continue;
		}
		if ((r = sd_bus_message_open_container(msg, 'e', "sv")) < 0 ||
		    (r = sd_bus_message_append(msg, "s", props[i].name)) < 0 ||
		    (r = delivery_append_variant(msg, c, &props[i])) < 0 ||
		    (r = sd_bus_message_close_container(msg)) < 0) {
			return r;
		}
	}
	return sd_bus_message_close_container(msg);
}

int delivery_append_all(sd_bus_message *msg, const Client *c)
{
	return append_entries(msg, c, false, NULL);
}

void delivery_introspect(FILE *f)
{
	fputs("<interface name=\"" IFACE_DELIVERY "\">", f);
	for (size_t i = 0; i < ELEMENTSOF(props); i++) {
		fprintf(f, "<property access=\"read\" name=\"%s\" type=\"%s\"", props[i].name,
		        props[i].sig);
		if (props[i].emits_changed) {
			fputs("/>", f);
		} else {
			fputs("><annotation "
			      "name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" "
			      "value=\"false\"/></property>",
			      f);
		}
	}
	fputs("<method name=\"" DELIVERY_APPROVE_FOR "\"><arg direction=\"in\" "
	      "name=\"milliseconds\" type=\"t\"/></method>",
	      f);
	fputs("<method name=\"" DELIVERY_SHRED "\"><arg direction=\"out\" name=\"path\" "
	      "type=\"s\"/></method>",
	      f);
	fputs("</interface>", f);
}

int delivery_emit_changed(sd_bus *bus, const char *path, const Client *c, const char *name)
{
	const DeliveryProp *one = name ? delivery_prop_find(name) : NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	int r;

	if ((r = sd_bus_message_new_signal(bus, &msg, path, "org.freedesktop.DBus.Properties",
	                                   "PropertiesChanged")) < 0 ||
	    (r = sd_bus_message_append(msg, "s", IFACE_DELIVERY)) < 0 ||
	    (r = append_entries(msg, c, true, one)) < 0 ||
	    (r = sd_bus_message_append(msg, "as", 0)) < 0) {
		return r;
	}
	return sd_bus_send(bus, msg, NULL);
}
