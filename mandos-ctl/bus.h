/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Mandos server's D-Bus API as mandos-ctl uses it, with upstream's --debug log lines. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MANDOS_BUS_NAME "se.recompile.Mandos"
#define MANDOS_SERVER_PATH "/"
#define MANDOS_SERVER_IFACE "se.recompile.Mandos"
#define MANDOS_CLIENT_IFACE "se.recompile.Mandos.Client"
/* Protocol 2 (spec/protocol-2.md §A.11): our server only, not upstream's. */
#define MANDOS_DELIVERY_IFACE "se.recompile.Mandos.Client.Delivery"
#define MANDOS_ERROR_ESCROW_KEYS_INLINE "se.recompile.Mandos.Error.EscrowKeysInline"
#define MANDOS_ERROR_NO_ESCROW_KEYS "se.recompile.Mandos.Error.NoEscrowKeys"
#define MANDOS_ERROR_SHRED_FAILED "se.recompile.Mandos.Error.ShredFailed"

typedef enum ValueType {
	VAL_NONE, /* a type mandos-ctl does not show */
	VAL_BOOL,
	VAL_INT,
	VAL_UINT,
	VAL_DOUBLE,
	VAL_STRING,
	VAL_STRV, /* "as": read only from the delivery interface */
} ValueType;

typedef struct Value {
	ValueType type;
	union {
		bool b;
		int64_t i;
		uint64_t u;
		double d;
		char *s;
		char **strv; /* NULL-terminated */
	};
} Value;

typedef struct Property {
	char *name;
	Value v;
} Property;

/*
 * One client object: its path, its se.recompile.Mandos.Client properties in bus order, and
 * those of the protocol 2 interface se.recompile.Mandos.Client.Delivery if it has that.
 */
typedef struct Client {
	char *path;
	Property *props;
	size_t n_props;
	bool has_delivery;
	Property *delivery;
	size_t n_delivery;
} Client;

typedef struct ClientList {
	Client *clients;
	size_t n;
} ClientList;

typedef struct MandosBus MandosBus;

/* A property value, or NULL if the client lacks it. */
const Value *client_get(const Client *c, const char *name);
/* The same for a property of the delivery interface. */
const Value *client_get_delivery(const Client *c, const char *name);

void client_list_done(ClientList *l);

/*
 * Connect to the system bus and find the Mandos server, logging at debug level what upstream
 * logs.  Returns 0, or -errno with *ret_msg (malloc()ed) saying why, as upstream's message.
 */
int mandos_bus_connect(bool debug, MandosBus **ret, char **ret_msg);
MandosBus *mandos_bus_free(MandosBus *b);

/* GetManagedObjects on the server: every object with the client interface. */
int mandos_bus_get_clients(MandosBus *b, ClientList *ret, char **ret_msg);

/* Set a client property.  For "Secret" pass the bytes in secret/secret_len (sent as "ay"). */
int mandos_bus_set(MandosBus *b, const char *path, const char *key, const Value *v,
                   const void *secret, size_t secret_len, char **ret_msg);

/* Client method Approve(b), and the server's RemoveClient(o). */
int mandos_bus_approve(MandosBus *b, const char *path, bool approve, char **ret_msg);
int mandos_bus_remove(MandosBus *b, const char *path, char **ret_msg);

/* The delivery interface's ApproveFor(t msec) (our server only; 0 cancels). */
int mandos_bus_approve_for(MandosBus *b, const char *path, uint64_t msec, char **ret_msg);

/*
 * The delivery interface's ShredEscrowKeys() on a client.  Returns 0 with *ret_path (the
 * deleted key file, malloc()ed), or -errno with *ret_msg saying why and *ret_error the D-Bus
 * error's name (malloc()ed; NULL when the call did not get an error reply).
 */
int mandos_bus_shred(MandosBus *b, const char *path, char **ret_path, char **ret_error,
                     char **ret_msg);
