/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The D-Bus interface se.recompile.Mandos.Client.Delivery: read-only properties (§A.11). */
#include "dbus-delivery.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "format.h"
#include "release.h"

/* Sorted by name, as the other client properties. */
static const DeliveryProp props[] = {
        {"EscrowKeyIds", "as", true},
        {"HasSealedSecret", "b", true},
        {"Protocols", "s", true},
        {"ReleaseLimit", "u", true},
        {"ReleasesLeft", "i", false},
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

int delivery_append_value(sd_bus_message *msg, const Client *c, const DeliveryProp *p)
{
	const ClientDelivery *d = &c->delivery;

	if (p == &props[0]) {
		/* Escrow keys are Part B: none yet. */
		return sd_bus_message_append(msg, "as", 0);
	}
	if (p == &props[1]) {
		return sd_bus_message_append(msg, "b", d->sealed != NULL);
	}
	if (p == &props[2]) {
		char buf[PROTOCOLS_STRING_SIZE];

		return sd_bus_message_append(msg, "s", protocols_format(d->protocols, ' ', buf));
	}
	if (p == &props[3]) {
		return sd_bus_message_append(msg, "u", d->release_limit);
	}
	if (p == &props[4]) {
		int64_t left = release_left(c, now_realtime());

		return sd_bus_message_append(msg, "i", (int32_t)MIN(left, (int64_t)INT32_MAX));
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

/* The entries {sv} of the properties, all or only those that emit PropertiesChanged. */
static int append_entries(sd_bus_message *msg, const Client *c, bool only_emitting)
{
	int r = sd_bus_message_open_container(msg, 'a', "{sv}");

	if (r < 0) {
		return r;
	}
	for (size_t i = 0; i < ELEMENTSOF(props); i++) {
		if (only_emitting && !props[i].emits_changed) {
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
	return append_entries(msg, c, false);
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
	fputs("</interface>", f);
}

int delivery_emit_changed(sd_bus *bus, const char *path, const Client *c)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	int r;

	if ((r = sd_bus_message_new_signal(bus, &msg, path, "org.freedesktop.DBus.Properties",
	                                   "PropertiesChanged")) < 0 ||
	    (r = sd_bus_message_append(msg, "s", IFACE_DELIVERY)) < 0 ||
	    (r = append_entries(msg, c, true)) < 0 ||
	    (r = sd_bus_message_append(msg, "as", 0)) < 0) {
		return r;
	}
	return sd_bus_send(bus, msg, NULL);
}
