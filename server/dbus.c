/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The server's D-Bus API on the system bus (upstream's se.recompile.Mandos, spec 2.11). */
#include "dbus.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "dbus-delivery.h"
#include "format.h"
#include "hashmap.h"
#include "log.h"

#define BUS_NAME "se.recompile.Mandos"
#define BUS_NAME_OLD "se.bsnet.fukt.Mandos"
#define IFACE_SERVER "se.recompile.Mandos"
#define IFACE_SERVER_OLD "se.bsnet.fukt.Mandos"
#define IFACE_CLIENT "se.recompile.Mandos.Client"
#define IFACE_CLIENT_OLD "se.bsnet.fukt.Mandos.Client"
#define IFACE_PROPERTIES "org.freedesktop.DBus.Properties"
#define IFACE_INTROSPECTABLE "org.freedesktop.DBus.Introspectable"
#define IFACE_OBJECT_MANAGER "org.freedesktop.DBus.ObjectManager"
#define CLIENTS_PREFIX "/clients"

/* Error names as python-dbus makes them from upstream's exception classes. */
#define ERROR_NOT_FOUND "org.freedesktop.DBus.Python.__main__.DBusPropertyNotFound"
#define ERROR_ACCESS "org.freedesktop.DBus.Python.__main__.DBusPropertyAccessException"
#define ERROR_KEY "org.freedesktop.DBus.Python.KeyError"

/* The interfaces of a client object, as upstream's GetManagedObjects lists them. */
static const char *const client_interfaces[] = {
        IFACE_CLIENT, IFACE_CLIENT_OLD, IFACE_PROPERTIES, IFACE_INTROSPECTABLE,
        IFACE_DELIVERY, /* ours (protocol 2), after upstream's */
};

typedef struct DbusClient {
	Client *client; /* referenced */
	char *path;
	bool pending; /* exported, but InterfacesAdded/ClientAdded not sent yet */
} DbusClient;

struct MandosDbus {
	Manager *m;
	sd_bus *bus;
	sd_bus_slot *root_slot, *clients_slot;
	sd_event_source *exit_source;
	sd_event_source *trim_source;     /* give memory back after big messages went out */
	sd_event_source *announce_source; /* sends the pending InterfacesAdded in one go */
	DbusClient **list;                /* export order */
	size_t n_list, n_alloc;
	StrMap *by_path, *by_name; /* -> DbusClient */
	bool quiet;
};

/* Client properties, sorted by name as upstream's GetAll() returns them. */
typedef enum { ACC_READ, ACC_WRITE, ACC_READWRITE } Access;
typedef enum {
	ANN_NONE,
	ANN_CONST,
	ANN_CONST_DEPRECATED,
	ANN_INVALIDATES,
} Annotation;

typedef struct PropInfo {
	const char *name;
	const char *sig;
	Access access;
	Annotation ann;
} PropInfo;

static const PropInfo props[] = {
        {"ApprovalDelay", "t", ACC_READWRITE, ANN_NONE},
        {"ApprovalDuration", "t", ACC_READWRITE, ANN_NONE},
        {"ApprovalPending", "b", ACC_READ, ANN_NONE},
        {"ApprovedByDefault", "b", ACC_READWRITE, ANN_NONE},
        {"Checker", "s", ACC_READWRITE, ANN_NONE},
        {"CheckerRunning", "b", ACC_READWRITE, ANN_NONE},
        {"Created", "s", ACC_READ, ANN_CONST},
        {"Enabled", "b", ACC_READWRITE, ANN_NONE},
        {"Expires", "s", ACC_READ, ANN_NONE},
        {"ExtendedTimeout", "t", ACC_READWRITE, ANN_NONE},
        {"Fingerprint", "s", ACC_READ, ANN_CONST},
        {"Host", "s", ACC_READWRITE, ANN_NONE},
        {"Interval", "t", ACC_READWRITE, ANN_NONE},
        {"KeyID", "s", ACC_READ, ANN_CONST},
        {"LastApprovalRequest", "s", ACC_READ, ANN_NONE},
        {"LastCheckedOK", "s", ACC_READWRITE, ANN_NONE},
        {"LastCheckerStatus", "n", ACC_READ, ANN_NONE},
        {"LastEnabled", "s", ACC_READ, ANN_NONE},
        {"Name", "s", ACC_READ, ANN_CONST},
        {"ObjectPath", "o", ACC_READ, ANN_CONST_DEPRECATED},
        {"Secret", "ay", ACC_WRITE, ANN_INVALIDATES},
        {"Timeout", "t", ACC_READWRITE, ANN_NONE},
};

static const PropInfo *prop_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(props); i++) {
		if (strcmp(props[i].name, name) == 0) {
			return &props[i];
		}
	}
	return NULL;
}

char *mandos_dbus_client_path(const char *name)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = strlen(name);
	char *p = malloc(strlen(CLIENTS_PREFIX "/") + 3 * len + 2), *q;

	if (!p) {
		return NULL;
	}
	q = stpcpy(p, CLIENTS_PREFIX "/");
	for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_') {
			*q++ = (char)*s;
		} else if (*s == '.' || *s == '-') {
			*q++ = '_';
		} else {
			*q++ = '_';
			*q++ = hex[*s >> 4];
			*q++ = hex[*s & 15];
		}
	}
	if (len == 0) {
		*q++ = '_';
	}
	*q = '\0';
	return p;
}

/* Property values. */

static int append_time(sd_bus_message *msg, realtime_t t)
{
	char buf[TIMESTAMP_STRING_MAX];

	return sd_bus_message_append(msg, "s", timestamp_format_iso(t, buf, sizeof(buf)));
}

/* Append the value of a readable property (no variant around it). */
static int append_value(sd_bus_message *msg, const DbusClient *dc, const char *name)
{
	const Client *c = dc->client;
	const ClientSettings *s = &c->s;

	switch (name[0]) {
	case 'A':
		if (strcmp(name, "ApprovalDelay") == 0) {
			return sd_bus_message_append(msg, "t", s->approval_delay);
		}
		if (strcmp(name, "ApprovalDuration") == 0) {
			return sd_bus_message_append(msg, "t", s->approval_duration);
		}
		if (strcmp(name, "ApprovalPending") == 0) {
			return sd_bus_message_append(msg, "b", c->approvals_pending > 0);
		}
		if (strcmp(name, "ApprovedByDefault") == 0) {
			return sd_bus_message_append(msg, "b", s->approved_by_default);
		}
		break;
	case 'C':
		if (strcmp(name, "Checker") == 0) {
			return sd_bus_message_append(msg, "s", s->checker ? s->checker : "");
		}
		if (strcmp(name, "CheckerRunning") == 0) {
			return sd_bus_message_append(msg, "b", c->checker != NULL);
		}
		if (strcmp(name, "Created") == 0) {
			return append_time(msg, c->created);
		}
		break;
	case 'E':
		if (strcmp(name, "Enabled") == 0) {
			return sd_bus_message_append(msg, "b", s->enabled);
		}
		if (strcmp(name, "Expires") == 0) {
			return append_time(msg, c->expires);
		}
		if (strcmp(name, "ExtendedTimeout") == 0) {
			return sd_bus_message_append(msg, "t", s->extended_timeout);
		}
		break;
	case 'F':
		return sd_bus_message_append(msg, "s", s->fingerprint ? s->fingerprint : "");
	case 'H':
		return sd_bus_message_append(msg, "s", s->host ? s->host : "");
	case 'I':
		return sd_bus_message_append(msg, "t", s->interval);
	case 'K':
		return sd_bus_message_append(msg, "s", s->key_id);
	case 'L':
		if (strcmp(name, "LastApprovalRequest") == 0) {
			return append_time(msg, c->last_approval_request);
		}
		if (strcmp(name, "LastCheckedOK") == 0) {
			return append_time(msg, c->last_checked_ok);
		}
		if (strcmp(name, "LastCheckerStatus") == 0) {
			return sd_bus_message_append(msg, "n", (int16_t)c->last_checker_status);
		}
		if (strcmp(name, "LastEnabled") == 0) {
			return append_time(msg, c->last_enabled);
		}
		break;
	case 'N':
		return sd_bus_message_append(msg, "s", c->name);
	case 'O':
		return sd_bus_message_append(msg, "o", dc->path);
	case 'T':
		return sd_bus_message_append(msg, "t", s->timeout);
	default:
		break;
	}
	return -ENOENT;
}

static int append_variant(sd_bus_message *msg, const DbusClient *dc, const PropInfo *p)
{
	int r = sd_bus_message_open_container(msg, 'v', p->sig);

	if (r < 0) {
		return r;
	}
	r = append_value(msg, dc, p->name);
	if (r < 0) {
		return r;
	}
	return sd_bus_message_close_container(msg);
}

/* a{sv} of every readable property when `iface` is a client interface or "", else empty. */
static int append_all(sd_bus_message *msg, const DbusClient *dc, const char *iface)
{
	bool any =
	        !*iface || strcmp(iface, IFACE_CLIENT) == 0 || strcmp(iface, IFACE_CLIENT_OLD) == 0;
	int r;

	if (strcmp(iface, IFACE_DELIVERY) == 0) {
		return delivery_append_all(msg, dc->client);
	}
	r = sd_bus_message_open_container(msg, 'a', "{sv}");
	if (r < 0) {
		return r;
	}
	for (size_t i = 0; any && i < ELEMENTSOF(props); i++) {
		if (props[i].access == ACC_WRITE) {
			continue;
		}
		if ((r = sd_bus_message_open_container(msg, 'e', "sv")) < 0 ||
		    (r = sd_bus_message_append(msg, "s", props[i].name)) < 0 ||
		    (r = append_variant(msg, dc, &props[i])) < 0 ||
		    (r = sd_bus_message_close_container(msg)) < 0) {
			return r;
		}
	}
	return sd_bus_message_close_container(msg);
}

/* a{sa{sv}}: every interface of a client object with its properties. */
static int append_interfaces(sd_bus_message *msg, const DbusClient *dc)
{
	int r = sd_bus_message_open_container(msg, 'a', "{sa{sv}}");

	if (r < 0) {
		return r;
	}
	for (size_t i = 0; i < ELEMENTSOF(client_interfaces); i++) {
		if ((r = sd_bus_message_open_container(msg, 'e', "sa{sv}")) < 0 ||
		    (r = sd_bus_message_append(msg, "s", client_interfaces[i])) < 0 ||
		    (r = append_all(msg, dc, client_interfaces[i])) < 0 ||
		    (r = sd_bus_message_close_container(msg)) < 0) {
			return r;
		}
	}
	return sd_bus_message_close_container(msg);
}

/* Replies and signals about thousands of clients take megabytes that glibc keeps. */
#define TRIM_AFTER_CLIENTS 500
#define TRIM_DELAY_USEC (2 * 1000 * 1000ULL)

static int on_trim(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)malloc_trim(0);
	return 0;
}

/* Trim a little later, when the bus has taken the queued messages. */
static void schedule_trim(MandosDbus *d)
{
	if (d->n_list < TRIM_AFTER_CLIENTS || !d->trim_source) {
		return;
	}
	(void)sd_event_source_set_time_relative(d->trim_source, TRIM_DELAY_USEC);
	(void)sd_event_source_set_enabled(d->trim_source, SD_EVENT_ONESHOT);
}

/* Signals. */

static void log_signal_error(int r, const char *member)
{
	if (r < 0) {
		log_warning_errno(r, "Cannot send the D-Bus signal %s: %m", member);
	}
}

/* Emit `member` on both the current and the deprecated interface, as upstream does. */
#define EMIT_BOTH(d, path, iface, iface_old, member, types, ...)                                   \
	do {                                                                                       \
		log_signal_error(sd_bus_emit_signal((d)->bus, (path), (iface), (member), (types),  \
		                                    __VA_ARGS__),                                  \
		                 (member));                                                        \
		log_signal_error(sd_bus_emit_signal((d)->bus, (path), (iface_old), (member),       \
		                                    (types), __VA_ARGS__),                         \
		                 (member));                                                        \
	} while (0)

static DbusClient *dbus_client_of(MandosDbus *d, const Client *c)
{
	if (!d || d->quiet || !d->by_name) {
		return NULL;
	}
	return strmap_get(d->by_name, c->name);
}

static int emit_property_changed(MandosDbus *d, DbusClient *dc, const PropInfo *p)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	const char *ifaces[] = {IFACE_CLIENT, IFACE_CLIENT_OLD};
	int r;

	if (p->access != ACC_WRITE) {
		/* The deprecated PropertyChanged(s, v), on both interfaces. */
		for (size_t i = 0; i < ELEMENTSOF(ifaces); i++) {
			_cleanup_(sd_bus_message_unrefp) sd_bus_message *old = NULL;

			if ((r = sd_bus_message_new_signal(d->bus, &old, dc->path, ifaces[i],
			                                   "PropertyChanged")) < 0 ||
			    (r = sd_bus_message_append(old, "s", p->name)) < 0 ||
			    (r = append_variant(old, dc, p)) < 0 ||
			    (r = sd_bus_send(d->bus, old, NULL)) < 0) {
				return r;
			}
		}
	}
	/* The standard signal, on the current interface only (as upstream). */
	if ((r = sd_bus_message_new_signal(d->bus, &msg, dc->path, IFACE_PROPERTIES,
	                                   "PropertiesChanged")) < 0 ||
	    (r = sd_bus_message_append(msg, "s", IFACE_CLIENT)) < 0 ||
	    (r = sd_bus_message_open_container(msg, 'a', "{sv}")) < 0) {
		return r;
	}
	if (p->access != ACC_WRITE) {
		if ((r = sd_bus_message_open_container(msg, 'e', "sv")) < 0 ||
		    (r = sd_bus_message_append(msg, "s", p->name)) < 0 ||
		    (r = append_variant(msg, dc, p)) < 0 ||
		    (r = sd_bus_message_close_container(msg)) < 0) {
			return r;
		}
	}
	if ((r = sd_bus_message_close_container(msg)) < 0) {
		return r;
	}
	if (p->access == ACC_WRITE) {
		r = sd_bus_message_append(msg, "as", 1, p->name);
	} else {
		r = sd_bus_message_append(msg, "as", 0);
	}
	if (r < 0) {
		return r;
	}
	return sd_bus_send(d->bus, msg, NULL);
}

static void on_property_changed(Client *c, ClientProperty cp, void *userdata)
{
	MandosDbus *d = userdata;
	DbusClient *dc = dbus_client_of(d, c);
	const char *name = client_property_name(cp);
	const PropInfo *p = name ? prop_find(name) : NULL;

	if (dc && !dc->pending && cp == CLIENT_PROP_DELIVERY) {
		log_signal_error(delivery_emit_changed(d->bus, dc->path, c, NULL),
		                 "PropertiesChanged");
		return;
	}
	if (cp == CLIENT_PROP_APPROVED_UNTIL) {
		if (dc && !dc->pending) {
			log_signal_error(delivery_emit_changed(d->bus, dc->path, c, name),
			                 "PropertiesChanged");
		}
		return;
	}
	if (!dc || !p || dc->pending) {
		return;
	}
	log_signal_error(emit_property_changed(d, dc, p), "PropertiesChanged");
}

static void on_checker_started(Client *c, const char *command, void *userdata)
{
	MandosDbus *d = userdata;
	DbusClient *dc = dbus_client_of(d, c);

	if (dc) {
		EMIT_BOTH(d, dc->path, IFACE_CLIENT, IFACE_CLIENT_OLD, "CheckerStarted", "s",
		          command);
	}
}

static void on_checker_completed(Client *c, int exitcode, int64_t waitstatus, const char *command,
                                 void *userdata)
{
	MandosDbus *d = userdata;
	DbusClient *dc = dbus_client_of(d, c);

	if (dc) {
		EMIT_BOTH(d, dc->path, IFACE_CLIENT, IFACE_CLIENT_OLD, "CheckerCompleted", "nxs",
		          (int16_t)exitcode, waitstatus, command);
	}
}

static void on_got_secret(Client *c, void *userdata)
{
	MandosDbus *d = userdata;
	DbusClient *dc = dbus_client_of(d, c);

	if (dc) {
		EMIT_BOTH(d, dc->path, IFACE_CLIENT, IFACE_CLIENT_OLD, "GotSecret", NULL, NULL);
	}
}

static void on_need_approval(Client *c, uint64_t delay_msec, bool approved_by_default,
                             void *userdata)
{
	MandosDbus *d = userdata;
	DbusClient *dc = dbus_client_of(d, c);

	if (dc) {
		EMIT_BOTH(d, dc->path, IFACE_CLIENT, IFACE_CLIENT_OLD, "NeedApproval", "tb",
		          delay_msec, (int)approved_by_default);
	}
}

static void on_rejected(Client *c, const char *reason, void *userdata)
{
	MandosDbus *d = userdata;
	DbusClient *dc = dbus_client_of(d, c);

	if (dc) {
		EMIT_BOTH(d, dc->path, IFACE_CLIENT, IFACE_CLIENT_OLD, "Rejected", "s", reason);
	}
}

static void on_client_not_found(const char *key_id, const char *address, void *userdata)
{
	MandosDbus *d = userdata;

	if (d && !d->quiet) {
		EMIT_BOTH(d, "/", IFACE_SERVER, IFACE_SERVER_OLD, "ClientNotFound", "ss", key_id,
		          address);
	}
}

/* The client index (StrMap has no removal: rebuild after one). */
static int rebuild_maps(MandosDbus *d)
{
	StrMap *paths = strmap_new(d->n_list + 1), *names = strmap_new(d->n_list + 1);

	if (!paths || !names) {
		strmap_free(paths);
		strmap_free(names);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d->n_list; i++) {
		if (strmap_add(paths, d->list[i]->path, d->list[i]) < 0 ||
		    strmap_add(names, d->list[i]->client->name, d->list[i]) < 0) {
			strmap_free(paths);
			strmap_free(names);
			return -ENOMEM;
		}
	}
	strmap_free(d->by_path);
	strmap_free(d->by_name);
	d->by_path = paths;
	d->by_name = names;
	return 0;
}

static DbusClient *dbus_client_free(DbusClient *dc)
{
	if (dc) {
		client_unref(dc->client);
		free(dc->path);
		free(dc);
	}
	return NULL;
}

static void emit_added(MandosDbus *d, DbusClient *dc)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
	int r;

	if ((r = sd_bus_message_new_signal(d->bus, &msg, "/", IFACE_OBJECT_MANAGER,
	                                   "InterfacesAdded")) < 0 ||
	    (r = sd_bus_message_append(msg, "o", dc->path)) < 0 ||
	    (r = append_interfaces(msg, dc)) < 0 || (r = sd_bus_send(d->bus, msg, NULL)) < 0) {
		log_signal_error(r, "InterfacesAdded");
	}
	EMIT_BOTH(d, "/", IFACE_SERVER, IFACE_SERVER_OLD, "ClientAdded", "o", dc->path);
}

static void emit_removed(MandosDbus *d, DbusClient *dc)
{
	log_signal_error(sd_bus_emit_signal(d->bus, "/", IFACE_OBJECT_MANAGER, "InterfacesRemoved",
	                                    "oas", dc->path, 5, client_interfaces[0],
	                                    client_interfaces[1], client_interfaces[2],
	                                    client_interfaces[3], client_interfaces[4]),
	                 "InterfacesRemoved");
	EMIT_BOTH(d, "/", IFACE_SERVER, IFACE_SERVER_OLD, "ClientRemoved", "os", dc->path,
	          dc->client->name);
}

static void on_client_added(Client *c, void *userdata)
{
	MandosDbus *d = userdata;
	DbusClient *dc;
	char *path;

	if (!d || d->quiet || strmap_get(d->by_name, c->name)) {
		return;
	}
	path = mandos_dbus_client_path(c->name);
	if (path && strmap_get(d->by_path, path)) {
		/* Two names mangled alike: number the later ones. */
		char *p2 = NULL;

		for (unsigned n = 2; path && (!p2 || strmap_get(d->by_path, p2)); n++) {
			free(p2);
			if (asprintf(&p2, "%s_%u", path, n) < 0) {
				p2 = NULL;
				break;
			}
		}
		free(path);
		path = p2;
	}
	if (d->n_list == d->n_alloc) {
		size_t n = d->n_alloc * 2 + 16;
		DbusClient **l = reallocarray(d->list, n, sizeof(*l));

		if (l) {
			d->list = l;
			d->n_alloc = n;
		}
	}
	dc = calloc(1, sizeof(*dc));
	if (!path || !dc || d->n_list == d->n_alloc) {
		free(path);
		free(dc);
		log_oom();
		return;
	}
	dc->client = client_ref(c);
	dc->path = path;
	d->list[d->n_list++] = dc;
	if (strmap_add(d->by_path, dc->path, dc) < 0 || strmap_add(d->by_name, c->name, dc) < 0) {
		log_oom();
	}
	/*
	 * The signals go out together from the next loop iteration: at start-up that keeps
	 * thousands of signal messages apart from the clients' own small allocations, so their
	 * memory can go back to the system once sent.
	 */
	dc->pending = true;
	if (d->announce_source) {
		(void)sd_event_source_set_enabled(d->announce_source, SD_EVENT_ONESHOT);
	} else {
		dc->pending = false;
		emit_added(d, dc);
	}
}

static int on_announce(sd_event_source *s, void *userdata)
{
	MandosDbus *d = userdata;

	for (size_t i = 0; i < d->n_list; i++) {
		if (d->list[i]->pending) {
			d->list[i]->pending = false;
			emit_added(d, d->list[i]);
		}
	}
	schedule_trim(d);
	return 0;
}

static void unexport(MandosDbus *d, DbusClient *dc)
{
	for (size_t i = 0; i < d->n_list; i++) {
		if (d->list[i] == dc) {
			memmove(&d->list[i], &d->list[i + 1],
			        (d->n_list - i - 1) * sizeof(*d->list));
			d->n_list--;
			break;
		}
	}
	if (rebuild_maps(d) < 0) {
		log_oom();
	}
	dbus_client_free(dc);
}

static void on_client_removed(Client *c, void *userdata)
{
	MandosDbus *d = userdata;
	DbusClient *dc = dbus_client_of(d, c);

	if (!dc) {
		return;
	}
	if (dc->pending) {
		dc->pending = false;
		emit_added(d, dc);
	}
	emit_removed(d, dc);
	unexport(d, dc);
}

static const ClientObserver dbus_observer = {
        .property_changed = on_property_changed,
        .checker_started = on_checker_started,
        .checker_completed = on_checker_completed,
        .got_secret = on_got_secret,
        .need_approval = on_need_approval,
        .rejected = on_rejected,
        .client_added = on_client_added,
        .client_removed = on_client_removed,
        .client_not_found = on_client_not_found,
};

/* Introspection, with upstream's interfaces, members and annotations. */

#define XML_DOCTYPE                                                                                \
	"<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"       \
	"\"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n"
#define XML_DEPRECATED "<annotation name=\"org.freedesktop.DBus.Deprecated\" value=\"true\"/>"
#define XML_INTROSPECTABLE                                                                         \
	"<interface name=\"" IFACE_INTROSPECTABLE "\">"                                            \
	"<method name=\"Introspect\"><arg direction=\"out\" name=\"xml_data\" type=\"s\"/>"        \
	"</method></interface>"
#define XML_PROPERTIES                                                                             \
	"<interface name=\"" IFACE_PROPERTIES "\">"                                                \
	"<method name=\"Get\"><arg direction=\"in\" name=\"interface_name\" type=\"s\"/>"          \
	"<arg direction=\"in\" name=\"property_name\" type=\"s\"/>"                                \
	"<arg direction=\"out\" name=\"value\" type=\"v\"/></method>"                              \
	"<method name=\"GetAll\"><arg direction=\"in\" name=\"interface_name\" type=\"s\"/>"       \
	"<arg direction=\"out\" name=\"props\" type=\"a{sv}\"/></method>"                          \
	"<method name=\"Set\"><arg direction=\"in\" name=\"interface_name\" type=\"s\"/>"          \
	"<arg direction=\"in\" name=\"property_name\" type=\"s\"/>"                                \
	"<arg direction=\"in\" name=\"value\" type=\"v\"/></method>"                               \
	"<signal name=\"PropertiesChanged\"><arg name=\"interface_name\" type=\"s\"/>"             \
	"<arg name=\"changed_properties\" type=\"a{sv}\"/>"                                        \
	"<arg name=\"invalidated_properties\" type=\"as\"/></signal></interface>"
#define XML_OBJECT_MANAGER                                                                         \
	"<interface name=\"" IFACE_OBJECT_MANAGER "\">"                                            \
	"<method name=\"GetManagedObjects\">"                                                      \
	"<arg direction=\"out\" name=\"objpath_interfaces_and_properties\" "                       \
	"type=\"a{oa{sa{sv}}}\"/></method>"                                                        \
	"<signal name=\"InterfacesAdded\"><arg name=\"object_path\" type=\"o\"/>"                  \
	"<arg name=\"interfaces_and_properties\" type=\"a{sa{sv}}\"/></signal>"                    \
	"<signal name=\"InterfacesRemoved\"><arg name=\"object_path\" type=\"o\"/>"                \
	"<arg name=\"interfaces\" type=\"as\"/></signal></interface>"
#define XML_SERVER_MEMBERS                                                                         \
	"<method name=\"GetAllClients\"><arg direction=\"out\" type=\"ao\"/>" XML_DEPRECATED       \
	"</method>"                                                                                \
	"<method name=\"GetAllClientsWithProperties\"><arg direction=\"out\" "                     \
	"type=\"a{oa{sv}}\"/>" XML_DEPRECATED "</method>"                                          \
	"<method name=\"RemoveClient\"><arg direction=\"in\" name=\"object_path\" type=\"o\"/>"    \
	"</method>"                                                                                \
	"<signal name=\"ClientAdded\"><arg name=\"objpath\" type=\"o\"/></signal>"                 \
	"<signal name=\"ClientNotFound\"><arg name=\"key_id\" type=\"s\"/>"                        \
	"<arg name=\"address\" type=\"s\"/></signal>"                                              \
	"<signal name=\"ClientRemoved\"><arg name=\"objpath\" type=\"o\"/>"                        \
	"<arg name=\"name\" type=\"s\"/>" XML_DEPRECATED "</signal>"
#define XML_CLIENT_MEMBERS                                                                         \
	"<method name=\"Approve\"><arg direction=\"in\" name=\"value\" type=\"b\"/></method>"      \
	"<method name=\"CheckedOK\"/>"                                                             \
	"<method name=\"Disable\">" XML_DEPRECATED "</method>"                                     \
	"<method name=\"Enable\">" XML_DEPRECATED "</method>"                                      \
	"<method name=\"StartChecker\">" XML_DEPRECATED "</method>"                                \
	"<method name=\"StopChecker\">" XML_DEPRECATED "</method>"                                 \
	"<signal name=\"CheckerCompleted\"><arg name=\"exitcode\" type=\"n\"/>"                    \
	"<arg name=\"waitstatus\" type=\"x\"/><arg name=\"command\" type=\"s\"/></signal>"         \
	"<signal name=\"CheckerStarted\"><arg name=\"command\" type=\"s\"/></signal>"              \
	"<signal name=\"GotSecret\"/>"                                                             \
	"<signal name=\"NeedApproval\"><arg name=\"timeout\" type=\"t\"/>"                         \
	"<arg name=\"default\" type=\"b\"/></signal>"                                              \
	"<signal name=\"PropertyChanged\"><arg name=\"property\" type=\"s\"/>"                     \
	"<arg name=\"value\" type=\"v\"/>" XML_DEPRECATED "</signal>"                              \
	"<signal name=\"Rejected\"><arg name=\"reason\" type=\"s\"/></signal>"

static void xml_client_properties(FILE *f)
{
	static const char *const access[] = {"read", "write", "readwrite"};

	for (size_t i = 0; i < ELEMENTSOF(props); i++) {
		const PropInfo *p = &props[i];

		fprintf(f, "<property access=\"%s\" name=\"%s\" type=\"%s\"", access[p->access],
		        p->name, p->sig);
		switch (p->ann) {
		case ANN_NONE:
			fputs("/>", f);
			break;
		case ANN_CONST:
			fputs("><annotation "
			      "name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" "
			      "value=\"const\"/></property>",
			      f);
			break;
		case ANN_CONST_DEPRECATED:
			fputs("><annotation "
			      "name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" "
			      "value=\"const\"/>" XML_DEPRECATED "</property>",
			      f);
			break;
		case ANN_INVALIDATES:
			fputs("><annotation "
			      "name=\"org.freedesktop.DBus.Property.EmitsChangedSignal\" "
			      "value=\"invalidates\"/></property>",
			      f);
			break;
		}
	}
}

/* Build the introspection XML for `path`; *ret malloc()ed.  -ENOENT for no such object. */
static int introspect(MandosDbus *d, const char *path, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f) {
		return -ENOMEM;
	}
	fprintf(f, XML_DOCTYPE "<node name=\"%s\">", path);
	if (strcmp(path, "/") == 0) {
		fputs(XML_INTROSPECTABLE XML_OBJECT_MANAGER
		      "<interface name=\"" IFACE_SERVER "\">" XML_SERVER_MEMBERS
		      "</interface><interface name=\"" IFACE_SERVER_OLD
		      "\">" XML_SERVER_MEMBERS XML_DEPRECATED "</interface>",
		      f);
		if (d->n_list > 0) {
			fputs("<node name=\"clients\"/>", f);
		}
	} else if (strcmp(path, CLIENTS_PREFIX) == 0) {
		fputs(XML_INTROSPECTABLE, f);
		for (size_t i = 0; i < d->n_list; i++) {
			fprintf(f, "<node name=\"%s\"/>",
			        d->list[i]->path + strlen(CLIENTS_PREFIX "/"));
		}
	} else if (strmap_get(d->by_path, path)) {
		fputs(XML_INTROSPECTABLE XML_PROPERTIES "<interface name=\"" IFACE_CLIENT
		                                        "\">" XML_CLIENT_MEMBERS,
		      f);
		xml_client_properties(f);
		fputs("</interface><interface name=\"" IFACE_CLIENT_OLD "\">" XML_CLIENT_MEMBERS,
		      f);
		xml_client_properties(f);
		fputs(XML_DEPRECATED "</interface>", f);
		delivery_introspect(f);
	} else {
		fclose(f);
		return -ENOENT;
	}
	fputs("</node>\n", f);
	if (fclose(f) != 0) {
		return -ENOMEM;
	}
	*ret = TAKE_PTR(buf);
	return 0;
}

/* Method calls. */

static int reply_introspect(MandosDbus *d, sd_bus_message *msg)
{
	_cleanup_free_ char *xml = NULL;
	int r = introspect(d, sd_bus_message_get_path(msg), &xml);

	if (r == -ENOENT) {
		return 0;
	}
	if (r < 0) {
		return r;
	}
	return sd_bus_reply_method_return(msg, "s", xml);
}

static int reply_managed_objects(MandosDbus *d, sd_bus_message *msg, bool with_interfaces)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r = sd_bus_message_new_method_return(msg, &reply);

	if (r < 0) {
		return r;
	}
	r = sd_bus_message_open_container(reply, 'a',
	                                  with_interfaces ? "{oa{sa{sv}}}" : "{oa{sv}}");
	if (r < 0) {
		return r;
	}
	for (size_t i = 0; i < d->n_list; i++) {
		DbusClient *dc = d->list[i];

		if ((r = sd_bus_message_open_container(
		             reply, 'e', with_interfaces ? "oa{sa{sv}}" : "oa{sv}")) < 0 ||
		    (r = sd_bus_message_append(reply, "o", dc->path)) < 0 ||
		    (r = with_interfaces ? append_interfaces(reply, dc)
		                         : append_all(reply, dc, IFACE_CLIENT)) < 0 ||
		    (r = sd_bus_message_close_container(reply)) < 0) {
			return r;
		}
	}
	if ((r = sd_bus_message_close_container(reply)) < 0) {
		return r;
	}
	schedule_trim(d);
	return sd_bus_send(NULL, reply, NULL);
}

static int reply_all_clients(MandosDbus *d, sd_bus_message *msg)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r = sd_bus_message_new_method_return(msg, &reply);

	if (r < 0 || (r = sd_bus_message_open_container(reply, 'a', "o")) < 0) {
		return r;
	}
	for (size_t i = 0; i < d->n_list; i++) {
		if ((r = sd_bus_message_append(reply, "o", d->list[i]->path)) < 0) {
			return r;
		}
	}
	if ((r = sd_bus_message_close_container(reply)) < 0) {
		return r;
	}
	return sd_bus_send(NULL, reply, NULL);
}

static int on_root_message(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	MandosDbus *d = userdata;
	const char *iface = sd_bus_message_get_interface(msg);
	const char *member = sd_bus_message_get_member(msg);

	if (d->quiet || !sd_bus_message_is_method_call(msg, NULL, NULL) || !member) {
		return 0;
	}
	if (strcmp(sd_bus_message_get_path(msg), "/") != 0) {
		return 0;
	}
	if ((!iface || strcmp(iface, IFACE_INTROSPECTABLE) == 0) &&
	    strcmp(member, "Introspect") == 0) {
		return reply_introspect(d, msg);
	}
	if ((!iface || strcmp(iface, IFACE_OBJECT_MANAGER) == 0) &&
	    strcmp(member, "GetManagedObjects") == 0) {
		return reply_managed_objects(d, msg, true);
	}
	if (iface && strcmp(iface, IFACE_SERVER) != 0 && strcmp(iface, IFACE_SERVER_OLD) != 0) {
		return 0;
	}
	if (strcmp(member, "GetAllClients") == 0) {
		return reply_all_clients(d, msg);
	}
	if (strcmp(member, "GetAllClientsWithProperties") == 0) {
		return reply_managed_objects(d, msg, false);
	}
	if (strcmp(member, "RemoveClient") == 0) {
		const char *path;
		DbusClient *dc;
		int r = sd_bus_message_read(msg, "o", &path);

		if (r < 0) {
			return r;
		}
		dc = strmap_get(d->by_path, path);
		if (!dc) {
			return sd_bus_reply_method_errorf(msg, ERROR_KEY, "dbus.ObjectPath('%s')",
			                                  path);
		}
		/* The manager disables quietly and tells us (client_removed) to unexport. */
		(void)manager_remove_client(d->m, dc->client);
		return sd_bus_reply_method_return(msg, NULL);
	}
	return 0;
}

/*
 * The property a Get or Set call names (its interface and name come first).  When there is
 * none, or it is only `denied` (ACC_WRITE for Get, ACC_READ for Set), *ret is NULL and the
 * error has been replied.  A property of the Delivery interface goes to *ret_delivery (Get
 * only: ret_delivery NULL means Set, and they are read-only).  Returns what reading or
 * replying returned.
 */
static int call_property(DbusClient *dc, sd_bus_message *msg, Access denied,
                         const PropInfo **ret, const DeliveryProp **ret_delivery)
{
	const char *iface, *name;
	const PropInfo *p;
	int r = sd_bus_message_read(msg, "ss", &iface, &name);

	*ret = NULL;
	if (r < 0) {
		return r;
	}
	if (strcmp(iface, IFACE_DELIVERY) == 0) {
		const DeliveryProp *dp = delivery_prop_find(name);

		if (!dp) {
			return sd_bus_reply_method_errorf(msg, ERROR_NOT_FOUND, "%s:%s.%s",
			                                  dc->path, iface, name);
		}
		if (!ret_delivery) {
			return sd_bus_reply_method_errorf(msg, ERROR_ACCESS, "%s", name);
		}
		*ret_delivery = dp;
		return 0;
	}
	p = prop_find(name);
	if (!p || (strcmp(iface, IFACE_CLIENT) != 0 && strcmp(iface, IFACE_CLIENT_OLD) != 0)) {
		return sd_bus_reply_method_errorf(msg, ERROR_NOT_FOUND, "%s:%s.%s", dc->path, iface,
		                                  name);
	}
	if (p->access == denied) {
		return sd_bus_reply_method_errorf(msg, ERROR_ACCESS, "%s", name);
	}
	*ret = p;
	return 0;
}

static int property_get(MandosDbus *d, DbusClient *dc, sd_bus_message *msg)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const DeliveryProp *dp = NULL;
	const PropInfo *p;
	int r = call_property(dc, msg, ACC_WRITE, &p, &dp);

	if (!p && !dp) {
		return r;
	}
	if ((r = sd_bus_message_new_method_return(msg, &reply)) < 0 ||
	    (r = p ? append_variant(reply, dc, p)
	           : delivery_append_variant(reply, dc->client, dp)) < 0) {
		return r;
	}
	return sd_bus_send(NULL, reply, NULL);
}

static int property_get_all(MandosDbus *d, DbusClient *dc, sd_bus_message *msg)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *iface;
	int r = sd_bus_message_read(msg, "s", &iface);

	if (r < 0) {
		return r;
	}
	if ((r = sd_bus_message_new_method_return(msg, &reply)) < 0 ||
	    (r = append_all(reply, dc, iface)) < 0) {
		return r;
	}
	return sd_bus_send(NULL, reply, NULL);
}

/*
 * Read a variant holding a number or a boolean, as python-dbus would convert it for upstream
 * (mandos-ctl sends durations as Python ints, that is "i" or "x", not "t").  Negative numbers
 * and non-integral doubles are refused.
 */
static int read_number(sd_bus_message *msg, uint64_t *ret)
{
	const char *contents;
	char type;
	union {
		uint8_t y;
		int16_t n;
		uint16_t q;
		int32_t i;
		uint32_t u;
		int64_t x;
		uint64_t t;
		double d;
		int b;
	} v;
	int64_t signed_value = 0;
	uint64_t value = 0;
	int r = sd_bus_message_peek_type(msg, &type, &contents);

	if (r < 0) {
		return r;
	}
	if (type != 'v' || strlen(contents) != 1 || !strchr("ynqiuxtdb", contents[0])) {
		return -EINVAL;
	}
	if ((r = sd_bus_message_enter_container(msg, 'v', contents)) < 0 ||
	    (r = sd_bus_message_read_basic(msg, contents[0], &v)) < 0 ||
	    (r = sd_bus_message_exit_container(msg)) < 0) {
		return r;
	}
	switch (contents[0]) {
	case 'y':
		value = v.y;
		break;
	case 'q':
		value = v.q;
		break;
	case 'u':
		value = v.u;
		break;
	case 't':
		value = v.t;
		break;
	case 'b':
		value = v.b != 0;
		break;
	case 'n':
		signed_value = v.n;
		break;
	case 'i':
		signed_value = v.i;
		break;
	case 'x':
		signed_value = v.x;
		break;
	case 'd':
		if (!(v.d >= 0 && v.d < 18446744073709551616.0) || v.d != (double)(uint64_t)v.d) {
			return -EINVAL;
		}
		value = (uint64_t)v.d;
		break;
	default:
		return -EINVAL;
	}
	if (signed_value < 0) {
		return -ERANGE;
	}
	if (signed_value > 0) {
		value = (uint64_t)signed_value;
	}
	*ret = value;
	return 0;
}

static int read_string(sd_bus_message *msg, const char **ret)
{
	int r = sd_bus_message_enter_container(msg, 'v', "s");

	if (r < 0) {
		return r;
	}
	r = sd_bus_message_read_basic(msg, 's', ret);
	if (r < 0) {
		return r;
	}
	return sd_bus_message_exit_container(msg);
}

static int property_set(MandosDbus *d, DbusClient *dc, sd_bus_message *msg, sd_bus_error *error)
{
	Client *c = dc->client;
	const PropInfo *p;
	const char *name;
	int r = call_property(dc, msg, ACC_READ, &p, NULL);

	if (!p) {
		return r;
	}
	name = p->name;
	if (strcmp(p->sig, "ay") == 0) {
		const void *data;
		size_t len;

		if ((r = sd_bus_message_enter_container(msg, 'v', "ay")) < 0 ||
		    (r = sd_bus_message_read_array(msg, 'y', &data, &len)) < 0) {
			return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS,
			                        "Secret must be a byte array");
		}
		r = client_set_secret(c, data, len);
		/* Our copy is in the secret store; leave none in the message buffer. */
		explicit_bzero((void *)(uintptr_t)data, len);
		if (r == -EFBIG) {
			return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
			                         "A secret may have at most %zu bytes", SECRET_MAX);
		}
		if (r < 0) {
			return r;
		}
	} else if (p->sig[0] == 't') {
		uint64_t v;

		if (read_number(msg, &v) < 0) {
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
			                         "%s must be a number", name);
		}
		if (strcmp(name, "ApprovalDelay") == 0) {
			client_set_approval_delay(c, v);
		} else if (strcmp(name, "ApprovalDuration") == 0) {
			client_set_approval_duration(c, v);
		} else if (strcmp(name, "ExtendedTimeout") == 0) {
			client_set_extended_timeout(c, v);
		} else if (strcmp(name, "Interval") == 0) {
			client_set_interval(c, v);
		} else {
			client_set_timeout(c, v);
		}
	} else if (p->sig[0] == 'b') {
		uint64_t v;

		if (read_number(msg, &v) < 0) {
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
			                         "%s must be a boolean", name);
		}
		if (strcmp(name, "ApprovedByDefault") == 0) {
			client_set_approved_by_default(c, v != 0);
		} else if (strcmp(name, "Enabled") == 0) {
			client_set_enabled(c, v != 0);
		} else {
			client_set_checker_running(c, v != 0);
		}
	} else {
		const char *v = NULL;

		/* LastCheckedOK takes any value (upstream ignores it). */
		if (strcmp(name, "LastCheckedOK") != 0 && read_string(msg, &v) < 0) {
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
			                         "%s must be of type s", name);
		}
		if (strcmp(name, "Host") == 0) {
			r = client_set_host(c, v);
		} else if (strcmp(name, "Checker") == 0) {
			r = client_set_checker_command(c, v);
		} else {
			/* LastCheckedOK: any value means "checked OK now". */
			client_checked_ok(c);
			r = 0;
		}
		if (r < 0) {
			return r;
		}
	}
	return sd_bus_reply_method_return(msg, NULL);
}

static int client_method(MandosDbus *d, DbusClient *dc, sd_bus_message *msg, const char *member,
                         sd_bus_error *error)
{
	_cleanup_(client_unrefp) Client *c = client_ref(dc->client);

	if (strcmp(member, "Approve") == 0) {
		int v, r = sd_bus_message_read(msg, "b", &v);

		if (r < 0) {
			return r;
		}
		client_approve(c, v);
	} else if (strcmp(member, "CheckedOK") == 0) {
		client_checked_ok(c);
	} else if (strcmp(member, "Enable") == 0) {
		client_enable(c);
	} else if (strcmp(member, "Disable") == 0) {
		client_disable(c, false);
	} else if (strcmp(member, "StartChecker") == 0) {
		client_set_checker_running(c, true);
	} else if (strcmp(member, "StopChecker") == 0) {
		client_set_checker_running(c, false);
	} else {
		return 0;
	}
	return sd_bus_reply_method_return(msg, NULL);
}

/* ShredEscrowKeys() → s (decisions.md): see client_shred_escrow(). */
static int shred_escrow_keys(DbusClient *dc, sd_bus_message *msg)
{
	_cleanup_(client_unrefp) Client *c = client_ref(dc->client);
	_cleanup_free_ char *text = NULL;
	int r;

	if (!sd_bus_message_has_signature(msg, "")) {
		return sd_bus_reply_method_errorf(msg, SD_BUS_ERROR_INVALID_ARGS,
		                                  "ShredEscrowKeys takes no arguments");
	}
	r = client_shred_escrow(c, &text);
	switch (r) {
	case 0:
		return sd_bus_reply_method_return(msg, "s", text);
	case -EPERM:
		return sd_bus_reply_method_errorf(
		        msg, ERROR_ESCROW_INLINE,
		        "the escrow keys of %s are written in %s: delete that line there (and in "
		        "every copy and backup), then reload",
		        c->name, c->delivery.escrow.inline_at);
	case -ENOENT:
		return sd_bus_reply_method_errorf(msg, ERROR_NO_ESCROW, "%s has no escrow keys",
		                                  c->name);
	default:
		return sd_bus_reply_method_errorf(msg, ERROR_SHRED_FAILED, "%s",
		                                  text ? text : "cannot shred the escrow keyfile");
	}
}

/* ApproveFor(t milliseconds) (issue 14): see client_approve_for(); 0 cancels. */
static int approve_for(DbusClient *dc, sd_bus_message *msg)
{
	_cleanup_(client_unrefp) Client *c = client_ref(dc->client);
	uint64_t msec;
	int r;

	if (!sd_bus_message_has_signature(msg, "t")) {
		return sd_bus_reply_method_errorf(
		        msg, SD_BUS_ERROR_INVALID_ARGS,
		        "ApproveFor takes one argument: milliseconds (t)");
	}
	r = sd_bus_message_read(msg, "t", &msec);
	if (r < 0) {
		return r;
	}
	client_approve_for(c, msec);
	return sd_bus_reply_method_return(msg, NULL);
}

static int on_clients_message(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
	MandosDbus *d = userdata;
	const char *path = sd_bus_message_get_path(msg);
	const char *iface = sd_bus_message_get_interface(msg);
	const char *member = sd_bus_message_get_member(msg);
	DbusClient *dc;

	if (d->quiet || !sd_bus_message_is_method_call(msg, NULL, NULL) || !member) {
		return 0;
	}
	if ((!iface || strcmp(iface, IFACE_INTROSPECTABLE) == 0) &&
	    strcmp(member, "Introspect") == 0) {
		return reply_introspect(d, msg);
	}
	dc = strmap_get(d->by_path, path);
	if (!dc) {
		return 0;
	}
	if (iface && strcmp(iface, IFACE_PROPERTIES) == 0) {
		if (strcmp(member, "Get") == 0) {
			return property_get(d, dc, msg);
		}
		if (strcmp(member, "GetAll") == 0) {
			return property_get_all(d, dc, msg);
		}
		if (strcmp(member, "Set") == 0) {
			return property_set(d, dc, msg, error);
		}
		return 0;
	}
	if ((!iface || strcmp(iface, IFACE_DELIVERY) == 0) && strcmp(member, DELIVERY_SHRED) == 0) {
		return shred_escrow_keys(dc, msg);
	}
	if ((!iface || strcmp(iface, IFACE_DELIVERY) == 0) &&
	    strcmp(member, DELIVERY_APPROVE_FOR) == 0) {
		return approve_for(dc, msg);
	}
	if (iface && strcmp(iface, IFACE_CLIENT) != 0 && strcmp(iface, IFACE_CLIENT_OLD) != 0) {
		return 0;
	}
	return client_method(d, dc, msg, member, error);
}

/* The runtime expansion "%%(dbus_object_path)s" in checker commands (spec 2.5). */
static char *expand_object_path(const Client *c, const char *name, void *userdata)
{
	MandosDbus *d = userdata;
	DbusClient *dc;

	if (strcmp(name, "dbus_object_path") != 0 || !(dc = dbus_client_of(d, c))) {
		errno = ENOENT;
		return NULL;
	}
	return strdup(dc->path);
}

/* Set-up and tear-down. */

/* The loop is ending: say goodbye before sd-bus's own exit handler closes the connection. */
static int on_loop_exit(sd_event_source *s, void *userdata)
{
	mandos_dbus_shutdown(userdata);
	return 0;
}

int mandos_dbus_new(Manager *m, MandosDbus **ret)
{
	_cleanup_(mandos_dbus_freep) MandosDbus *d = NULL;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d) {
		return log_oom();
	}
	d->m = m;
	d->by_path = strmap_new(m->n_clients + 1);
	d->by_name = strmap_new(m->n_clients + 1);
	if (!d->by_path || !d->by_name) {
		return log_oom();
	}
	r = sd_bus_open_system(&d->bus);
	if (r < 0) {
		return log_error_errno(r, "Disabling D-Bus: cannot connect to the system bus: %m");
	}
	r = sd_bus_request_name(d->bus, BUS_NAME, 0);
	if (r >= 0) {
		r = sd_bus_request_name(d->bus, BUS_NAME_OLD, 0);
	}
	if (r < 0) {
		return log_error_errno(r, "Disabling D-Bus: cannot own the bus name %s: %m",
		                       BUS_NAME);
	}
	r = sd_bus_add_object(d->bus, &d->root_slot, "/", on_root_message, d);
	if (r >= 0) {
		r = sd_bus_add_fallback(d->bus, &d->clients_slot, CLIENTS_PREFIX,
		                        on_clients_message, d);
	}
	if (r >= 0) {
		r = sd_bus_attach_event(d->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
	}
	if (r >= 0) {
		r = sd_event_add_exit(m->event, &d->exit_source, on_loop_exit, d);
	}
	if (r >= 0) {
		r = sd_event_source_set_priority(d->exit_source, SD_EVENT_PRIORITY_IMPORTANT);
	}
	if (r >= 0) {
		r = sd_event_add_time_relative(m->event, &d->trim_source, CLOCK_MONOTONIC,
		                               TRIM_DELAY_USEC, 100 * 1000, on_trim, d);
	}
	if (r >= 0) {
		r = sd_event_source_set_enabled(d->trim_source, SD_EVENT_OFF);
	}
	if (r >= 0) {
		r = sd_event_add_defer(m->event, &d->announce_source, on_announce, d);
	}
	if (r >= 0) {
		r = sd_event_source_set_priority(d->announce_source, SD_EVENT_PRIORITY_IMPORTANT);
	}
	if (r >= 0) {
		r = sd_event_source_set_enabled(d->announce_source, SD_EVENT_OFF);
	}
	if (r < 0) {
		return log_error_errno(r, "Disabling D-Bus: %m");
	}
	r = client_context_add_observer(&m->ctx, &dbus_observer, d);
	if (r < 0) {
		return log_error_errno(r, "Disabling D-Bus: too many client observers: %m");
	}
	m->ctx.expansion_hook = expand_object_path;
	m->ctx.expansion_userdata = d;
	log_debug("D-Bus: serving %s on the system bus", BUS_NAME);
	*ret = TAKE_PTR(d);
	return 0;
}

void mandos_dbus_shutdown(MandosDbus *d)
{
	if (!d || d->quiet) {
		return;
	}
	while (d->n_list > 0) {
		DbusClient *dc = d->list[d->n_list - 1];

		if (!dc->pending) {
			emit_removed(d, dc);
		}
		d->n_list--;
		dbus_client_free(dc);
	}
	(void)rebuild_maps(d);
	d->quiet = true;
	if (d->m->ctx.expansion_userdata == d) {
		d->m->ctx.expansion_hook = NULL;
		d->m->ctx.expansion_userdata = NULL;
	}
	(void)sd_bus_flush(d->bus);
}

MandosDbus *mandos_dbus_free(MandosDbus *d)
{
	if (!d) {
		return NULL;
	}
	for (size_t i = 0; i < d->n_list; i++) {
		dbus_client_free(d->list[i]);
	}
	free(d->list);
	strmap_free(d->by_path);
	strmap_free(d->by_name);
	sd_event_source_disable_unref(d->exit_source);
	sd_event_source_disable_unref(d->trim_source);
	sd_event_source_disable_unref(d->announce_source);
	sd_bus_slot_unref(d->root_slot);
	sd_bus_slot_unref(d->clients_slot);
	if (d->bus) {
		(void)sd_bus_flush(d->bus);
		(void)sd_bus_detach_event(d->bus);
		d->bus = sd_bus_flush_close_unref(d->bus);
	}
	free(d);
	return NULL;
}
