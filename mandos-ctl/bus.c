/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Mandos server's D-Bus API as mandos-ctl uses it, with upstream's --debug log lines. */
#include "bus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "macro.h"
#include "pyfmt.h"

struct MandosBus {
	sd_bus *bus;
	bool debug;
	char **seen_paths; /* objects already "connected to", for the debug log */
	size_t n_seen;
};

static const Value *props_get(const Property *props, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(props[i].name, name) == 0) {
			return &props[i].v;
		}
	}
	return NULL;
}

const Value *client_get(const Client *c, const char *name)
{
	return props_get(c->props, c->n_props, name);
}

const Value *client_get_delivery(const Client *c, const char *name)
{
	return props_get(c->delivery, c->n_delivery, name);
}

static void value_done(Value *v)
{
	if (v->type == VAL_STRING) {
		free(v->s);
	} else if (v->type == VAL_STRV) {
		strv_free(v->strv);
	}
	v->type = VAL_NONE;
}

static void props_free(Property *props, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		free(props[k].name);
		value_done(&props[k].v);
	}
	free(props);
}

static void client_done(Client *c)
{
	props_free(c->props, c->n_props);
	props_free(c->delivery, c->n_delivery);
	free(c->path);
	*c = (Client){0};
}

void client_list_done(ClientList *l)
{
	for (size_t i = 0; i < l->n; i++) {
		client_done(&l->clients[i]);
	}
	free(l->clients);
	*l = (ClientList){0};
}

MandosBus *mandos_bus_free(MandosBus *b)
{
	if (!b) {
		return NULL;
	}
	sd_bus_flush_close_unref(b->bus);
	for (size_t i = 0; i < b->n_seen; i++) {
		free(b->seen_paths[i]);
	}
	free(b->seen_paths);
	free(b);
	return NULL;
}

static char *error_message(const sd_bus_error *e, int r)
{
	char *s = NULL;

	if (sd_bus_error_is_set(e) && e->message) {
		s = strdup(e->message);
	} else if (sd_bus_error_is_set(e)) {
		s = strdup(e->name);
	} else {
		s = strdup(strerror(r < 0 ? -r : r));
	}
	return s;
}

static int fail(int r, const sd_bus_error *e, char **ret_msg)
{
	*ret_msg = error_message(e, r);
	return r < 0 ? r : -EIO;
}

/* Upstream logs "Connect to" the first time it makes a proxy for an object. */
static void debug_connect(MandosBus *b, const char *path)
{
	char *copy;
	char **n;

	for (size_t i = 0; i < b->n_seen; i++) {
		if (strcmp(b->seen_paths[i], path) == 0) {
			return;
		}
	}
	if (b->debug) {
		_cleanup_free_ char *buf = NULL;
		size_t size = 0;
		FILE *f = open_memstream(&buf, &size);

		if (f) {
			fputs("D-Bus: Connect to: (busname=", f);
			py_repr_str(f, MANDOS_BUS_NAME);
			fputs(", path=", f);
			py_repr_str(f, path);
			fputc(')', f);
			if (fclose(f) == 0) {
				fprintf(stderr, "%s\n", buf);
			}
		}
	}
	copy = strdup(path);
	n = reallocarray(b->seen_paths, b->n_seen + 1, sizeof(char *));
	if (!copy || !n) {
		free(copy);
		if (n) {
			b->seen_paths = n;
		}
		return; /* only affects the debug log */
	}
	b->seen_paths = n;
	b->seen_paths[b->n_seen++] = copy;
}

/* "D-Bus: se.recompile.Mandos:/clients/foo:IFACE.METHOD(ARGS)"; args already formatted. */
static void debug_call(MandosBus *b, const char *path, const char *iface, const char *method,
                       const char *args)
{
	if (b->debug) {
		fprintf(stderr, "D-Bus: %s:%s:%s.%s(%s)\n", MANDOS_BUS_NAME, path, iface, method,
		        args);
	}
}

int mandos_bus_connect(bool debug, MandosBus **ret, char **ret_msg)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	MandosBus *b;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b) {
		return -ENOMEM;
	}
	b->debug = debug;
	debug_connect(b, MANDOS_SERVER_PATH);
	r = sd_bus_open_system(&b->bus);
	if (r < 0) {
		mandos_bus_free(b);
		if (asprintf(ret_msg, "Failed to connect to the system bus: %s", strerror(-r)) <
		    0) {
			*ret_msg = NULL;
		}
		return r;
	}
	/* As dbus-python does: ask for the owner, and try activation if there is none. */
	r = sd_bus_call_method(b->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
	                       "org.freedesktop.DBus", "GetNameOwner", &e, &reply, "s",
	                       MANDOS_BUS_NAME);
	if (r < 0 && sd_bus_error_has_name(&e, "org.freedesktop.DBus.Error.NameHasNoOwner")) {
		sd_bus_error_free(&e);
		reply = sd_bus_message_unref(reply);
		r = sd_bus_call_method(b->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
		                       "org.freedesktop.DBus", "StartServiceByName", &e, &reply,
		                       "su", MANDOS_BUS_NAME, (uint32_t)0);
	}
	if (r < 0) {
		r = fail(r, &e, ret_msg);
		mandos_bus_free(b);
		return r;
	}
	*ret = b;
	return 0;
}

/* A variant "as" as a VAL_STRV. */
static int read_strv(sd_bus_message *m, Value *v)
{
	char **strv = NULL;
	int r;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, "as");
	if (r < 0) {
		return r;
	}
	r = sd_bus_message_read_strv(m, &strv);
	if (r < 0) {
		return r;
	}
	*v = (Value){.type = VAL_STRV, .strv = strv};
	return sd_bus_message_exit_container(m);
}

/* A variant as a Value; one of a type not shown is VAL_NONE, "as" only with allow_strv. */
static int read_value(sd_bus_message *m, Value *v, bool allow_strv)
{
	const char *contents = NULL;
	char type;
	int r;

	r = sd_bus_message_peek_type(m, &type, &contents);
	if (r < 0) {
		return r;
	}
	if (type != SD_BUS_TYPE_VARIANT || !contents) {
		return -EBADMSG;
	}
	*v = (Value){VAL_NONE};
	if (allow_strv && strcmp(contents, "as") == 0) {
		return read_strv(m, v);
	}
	if (strlen(contents) != 1) {
		return sd_bus_message_skip(m, "v");
	}
	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
	if (r < 0) {
		return r;
	}
	switch (contents[0]) {
	case SD_BUS_TYPE_BOOLEAN:
	case SD_BUS_TYPE_BYTE:
	case SD_BUS_TYPE_INT16:
	case SD_BUS_TYPE_UINT16:
	case SD_BUS_TYPE_INT32:
	case SD_BUS_TYPE_UINT32:
	case SD_BUS_TYPE_INT64:
	case SD_BUS_TYPE_UINT64:
	case SD_BUS_TYPE_DOUBLE:
	case SD_BUS_TYPE_STRING:
	case SD_BUS_TYPE_OBJECT_PATH:
	case SD_BUS_TYPE_SIGNATURE: {
		/* sd-bus stores each basic type in its own C type. */
		union {
			int b;
			uint8_t y;
			int16_t n;
			uint16_t q;
			int32_t i;
			uint32_t u;
			int64_t x;
			uint64_t t;
			double d;
			const char *s;
		} x;

		r = sd_bus_message_read_basic(m, contents[0], &x);
		if (r < 0) {
			break;
		}
		switch (contents[0]) {
		case SD_BUS_TYPE_BOOLEAN:
			*v = (Value){.type = VAL_BOOL, .b = x.b != 0};
			break;
		case SD_BUS_TYPE_BYTE:
			*v = (Value){.type = VAL_UINT, .u = x.y};
			break;
		case SD_BUS_TYPE_INT16:
			*v = (Value){.type = VAL_INT, .i = x.n};
			break;
		case SD_BUS_TYPE_UINT16:
			*v = (Value){.type = VAL_UINT, .u = x.q};
			break;
		case SD_BUS_TYPE_INT32:
			*v = (Value){.type = VAL_INT, .i = x.i};
			break;
		case SD_BUS_TYPE_UINT32:
			*v = (Value){.type = VAL_UINT, .u = x.u};
			break;
		case SD_BUS_TYPE_INT64:
			*v = (Value){.type = VAL_INT, .i = x.x};
			break;
		case SD_BUS_TYPE_UINT64:
			*v = (Value){.type = VAL_UINT, .u = x.t};
			break;
		case SD_BUS_TYPE_DOUBLE:
			*v = (Value){.type = VAL_DOUBLE, .d = x.d};
			break;
		default: {
			char *copy = strdup(x.s);

			if (!copy) {
				return -ENOMEM;
			}
			*v = (Value){.type = VAL_STRING, .s = copy};
		}
		}
		break;
	}
	default:
		r = sd_bus_message_skip(m, contents);
	}
	if (r < 0) {
		return r;
	}
	return sd_bus_message_exit_container(m);
}

/* An a{sv} appended to *props (of *n); "as" values kept only with allow_strv. */
static int read_properties(sd_bus_message *m, Property **props, size_t *n_props, bool allow_strv)
{
	int r;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0) {
		return r;
	}
	while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
		Property *n;
		const char *name;

		r = sd_bus_message_read_basic(m, 's', &name);
		if (r < 0) {
			return r;
		}
		n = reallocarray(*props, *n_props + 1, sizeof(Property));
		if (!n) {
			return -ENOMEM;
		}
		*props = n;
		n[*n_props] = (Property){strdup(name), {VAL_NONE}};
		if (!n[*n_props].name) {
			return -ENOMEM;
		}
		(*n_props)++;
		r = read_value(m, &n[*n_props - 1].v, allow_strv);
		if (r < 0) {
			return r;
		}
		r = sd_bus_message_exit_container(m);
		if (r < 0) {
			return r;
		}
	}
	if (r < 0) {
		return r;
	}
	return sd_bus_message_exit_container(m);
}

static int read_objects(sd_bus_message *m, ClientList *l)
{
	int r;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{oa{sa{sv}}}");
	if (r < 0) {
		return r;
	}
	while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "oa{sa{sv}}")) > 0) {
		const char *path;
		Client c = {0};
		bool found = false;

		r = sd_bus_message_read_basic(m, 'o', &path);
		if (r < 0) {
			return r;
		}
		r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sa{sv}}");
		if (r < 0) {
			return r;
		}
		while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sa{sv}")) >
		       0) {
			const char *iface;

			r = sd_bus_message_read_basic(m, 's', &iface);
			if (r >= 0 && strcmp(iface, MANDOS_CLIENT_IFACE) == 0 && !found) {
				found = true;
				r = read_properties(m, &c.props, &c.n_props, false);
			} else if (r >= 0 && strcmp(iface, MANDOS_DELIVERY_IFACE) == 0 &&
			           !c.has_delivery) {
				c.has_delivery = true;
				r = read_properties(m, &c.delivery, &c.n_delivery, true);
			} else if (r >= 0) {
				r = sd_bus_message_skip(m, "a{sv}");
			}
			if (r >= 0) {
				r = sd_bus_message_exit_container(m);
			}
			if (r < 0) {
				break;
			}
		}
		if (r >= 0) {
			r = sd_bus_message_exit_container(m);
		}
		if (r >= 0) {
			r = sd_bus_message_exit_container(m);
		}
		if (r >= 0 && found) {
			Client *n;

			c.path = strdup(path);
			n = c.path ? reallocarray(l->clients, l->n + 1, sizeof(Client)) : NULL;
			if (n) {
				l->clients = n;
				l->clients[l->n++] = c;
				continue;
			}
			r = -ENOMEM;
		}
		client_done(&c);
		if (r < 0) {
			return r;
		}
	}
	if (r < 0) {
		return r;
	}
	return sd_bus_message_exit_container(m);
}

int mandos_bus_get_clients(MandosBus *b, ClientList *ret, char **ret_msg)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	ClientList l = {0};
	int r;

	debug_connect(b, MANDOS_SERVER_PATH);
	debug_call(b, MANDOS_SERVER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
	           "");
	r = sd_bus_call_method(b->bus, MANDOS_BUS_NAME, MANDOS_SERVER_PATH,
	                       "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &e,
	                       &reply, NULL);
	if (r < 0) {
		return fail(r, &e, ret_msg);
	}
	r = read_objects(reply, &l);
	if (r < 0) {
		client_list_done(&l);
		if (asprintf(ret_msg, "Malformed reply to GetManagedObjects: %s", strerror(-r)) <
		    0) {
			*ret_msg = NULL;
		}
		return r;
	}
	*ret = l;
	return 0;
}

/* Format a Python value for the debug log as repr() would show it. */
static void format_value(FILE *f, const Value *v, const void *secret, size_t secret_len)
{
	if (secret) {
		fputs("dbus.ByteArray(", f);
		py_repr_bytes(f, secret, secret_len);
		fputc(')', f);
		return;
	}
	switch (v->type) {
	case VAL_BOOL:
		fputs(v->b ? "True" : "False", f);
		break;
	case VAL_INT:
		fprintf(f, "%" PRId64, v->i);
		break;
	case VAL_UINT:
		fprintf(f, "%" PRIu64, v->u);
		break;
	case VAL_DOUBLE:
		fprintf(f, "%.17g", v->d);
		break;
	case VAL_STRING:
		py_repr_str(f, v->s);
		break;
	case VAL_STRV:
	case VAL_NONE:
		fputs("None", f);
		break;
	}
}

static int append_value(sd_bus_message *m, const Value *v, const void *secret, size_t secret_len)
{
	if (secret) {
		int r = sd_bus_message_open_container(m, SD_BUS_TYPE_VARIANT, "ay");

		if (r >= 0) {
			r = sd_bus_message_append_array(m, 'y', secret, secret_len);
		}
		if (r >= 0) {
			r = sd_bus_message_close_container(m);
		}
		return r;
	}
	switch (v->type) {
	case VAL_BOOL:
		return sd_bus_message_append(m, "v", "b", (int)v->b);
	case VAL_UINT:
		return sd_bus_message_append(m, "v", "t", v->u);
	case VAL_INT:
		return sd_bus_message_append(m, "v", "x", v->i);
	case VAL_DOUBLE:
		return sd_bus_message_append(m, "v", "d", v->d);
	case VAL_STRING:
		return sd_bus_message_append(m, "v", "s", v->s);
	case VAL_STRV:
	case VAL_NONE:
		break;
	}
	return -EINVAL;
}

int mandos_bus_set(MandosBus *b, const char *path, const char *key, const Value *v,
                   const void *secret, size_t secret_len, char **ret_msg)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	int r;

	debug_connect(b, path);
	if (b->debug) {
		_cleanup_free_ char *args = NULL;
		size_t size = 0;
		FILE *f = open_memstream(&args, &size);

		if (!f) {
			return -ENOMEM;
		}
		py_repr_str(f, MANDOS_CLIENT_IFACE);
		fputs(", ", f);
		py_repr_str(f, key);
		fputs(", ", f);
		format_value(f, v, secret, secret_len);
		if (fclose(f) != 0) {
			return -ENOMEM;
		}
		debug_call(b, path, "org.freedesktop.DBus.Properties", "Set", args);
	}
	r = sd_bus_message_new_method_call(b->bus, &m, MANDOS_BUS_NAME, path,
	                                   "org.freedesktop.DBus.Properties", "Set");
	if (r >= 0) {
		r = sd_bus_message_append(m, "ss", MANDOS_CLIENT_IFACE, key);
	}
	if (r >= 0) {
		r = append_value(m, v, secret, secret_len);
	}
	if (r >= 0) {
		r = sd_bus_call(b->bus, m, 0, &e, &reply);
	}
	if (r < 0) {
		return fail(r, &e, ret_msg);
	}
	return 0;
}

int mandos_bus_approve(MandosBus *b, const char *path, bool approve, char **ret_msg)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	debug_connect(b, path);
	debug_call(b, path, MANDOS_CLIENT_IFACE, "Approve", approve ? "True" : "False");
	r = sd_bus_call_method(b->bus, MANDOS_BUS_NAME, path, MANDOS_CLIENT_IFACE, "Approve", &e,
	                       NULL, "b", (int)approve);
	return r < 0 ? fail(r, &e, ret_msg) : 0;
}

int mandos_bus_approve_for(MandosBus *b, const char *path, uint64_t msec, char **ret_msg)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	char args[24];
	int r;

	snprintf(args, sizeof(args), "%" PRIu64, msec);
	debug_connect(b, path);
	debug_call(b, path, MANDOS_DELIVERY_IFACE, "ApproveFor", args);
	r = sd_bus_call_method(b->bus, MANDOS_BUS_NAME, path, MANDOS_DELIVERY_IFACE, "ApproveFor",
	                       &e, NULL, "t", msec);
	return r < 0 ? fail(r, &e, ret_msg) : 0;
}

int mandos_bus_remove(MandosBus *b, const char *path, char **ret_msg)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	debug_connect(b, MANDOS_SERVER_PATH);
	if (b->debug) {
		_cleanup_free_ char *args = NULL;
		size_t size = 0;
		FILE *f = open_memstream(&args, &size);

		if (!f) {
			return -ENOMEM;
		}
		py_repr_str(f, path);
		if (fclose(f) != 0) {
			return -ENOMEM;
		}
		debug_call(b, MANDOS_SERVER_PATH, MANDOS_SERVER_IFACE, "RemoveClient", args);
	}
	r = sd_bus_call_method(b->bus, MANDOS_BUS_NAME, MANDOS_SERVER_PATH, MANDOS_SERVER_IFACE,
	                       "RemoveClient", &e, NULL, "o", path);
	return r < 0 ? fail(r, &e, ret_msg) : 0;
}

int mandos_bus_shred(MandosBus *b, const char *path, char **ret_path, char **ret_error,
                     char **ret_msg)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *deleted;
	int r;

	*ret_error = NULL;
	debug_connect(b, path);
	debug_call(b, path, MANDOS_DELIVERY_IFACE, "ShredEscrowKeys", "");
	r = sd_bus_call_method(b->bus, MANDOS_BUS_NAME, path, MANDOS_DELIVERY_IFACE,
	                       "ShredEscrowKeys", &e, &reply, NULL);
	if (r < 0) {
		if (sd_bus_error_is_set(&e)) {
			*ret_error = strdup(e.name);
			if (!*ret_error) {
				return -ENOMEM;
			}
		}
		return fail(r, &e, ret_msg);
	}
	r = sd_bus_message_read(reply, "s", &deleted);
	if (r < 0) {
		if (asprintf(ret_msg, "Malformed reply to ShredEscrowKeys: %s", strerror(-r)) < 0) {
			*ret_msg = NULL;
		}
		return r;
	}
	*ret_path = strdup(deleted);
	return *ret_path ? 0 : -ENOMEM;
}
