/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The D-Bus interface se.recompile.Mandos.Client.Delivery (spec/protocol-2.md §A.11): the
 * read-only properties of how a client gets its secret, never any key material (of escrow
 * keys only the kids, the keyfile's path and where inline keys are written), ApprovedUntil,
 * and the methods ShredEscrowKeys and ApproveFor.  Values and introspection only; dbus.c routes
 * the calls.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <systemd/sd-bus.h>

#include "client.h"

#define IFACE_DELIVERY "se.recompile.Mandos.Client.Delivery"
/* Its methods: ShredEscrowKeys (Part B, decisions.md) and the errors it replies, and
 * ApproveFor(t milliseconds) (issue 14; 0 cancels), whose end is the property ApprovedUntil. */
#define DELIVERY_SHRED "ShredEscrowKeys"
#define DELIVERY_APPROVE_FOR "ApproveFor"
#define ERROR_ESCROW_INLINE "se.recompile.Mandos.Error.EscrowKeysInline"
#define ERROR_NO_ESCROW "se.recompile.Mandos.Error.NoEscrowKeys"
#define ERROR_SHRED_FAILED "se.recompile.Mandos.Error.ShredFailed"

typedef struct DeliveryProp {
	const char *name;
	const char *sig;
	bool emits_changed; /* PropertiesChanged on reload; false: computed when read */
} DeliveryProp;

/* The property of this name, or NULL. */
const DeliveryProp *delivery_prop_find(const char *name);

/* Append the value of p for c (no variant around it).  Returns sd-bus's result. */
int delivery_append_value(sd_bus_message *msg, const Client *c, const DeliveryProp *p);

/* Append p's value in a variant. */
int delivery_append_variant(sd_bus_message *msg, const Client *c, const DeliveryProp *p);

/* Append a{sv} of every property (GetAll, GetManagedObjects, InterfacesAdded). */
int delivery_append_all(sd_bus_message *msg, const Client *c);

/* The <interface> element of the introspection XML. */
void delivery_introspect(FILE *f);

/* PropertiesChanged on this interface with the property `name`, or with every property that
 * a reload can change when name is NULL (all that emit it but ApprovedUntil). */
int delivery_emit_changed(sd_bus *bus, const char *path, const Client *c, const char *name);
