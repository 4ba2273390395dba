/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Upstream's state file (clients.pickle) read into our saved-client records, for a switch-over. */
#include "upstream-state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "keyid.h"
#include "log.h"
#include "pickle.h"

typedef struct Import {
	const char *name; /* the client being read, for messages */
	char *error;
} Import;

_printf_(2, 3) static int bad(Import *im, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		msg = NULL;
	}
	va_end(ap);
	free(im->error);
	im->error = NULL;
	if (msg && im->name) {
		if (asprintf(&im->error, "client '%s': %s", im->name, msg) < 0) {
			im->error = NULL;
		}
		free(msg);
	} else {
		im->error = msg;
	}
	return -EBADMSG;
}

/* The value of `key` in a client's dict, of type `want`, or (when `may_be_none`) None. */
static int get(Import *im, const PickleValue *d, const char *key, PickleType want, bool may_be_none,
               const PickleValue **ret)
{
	const PickleValue *v = pickle_dict_get(d, key);

	if (!v) {
		return bad(im, "'%s' is missing", key);
	}
	if (v->type == PICKLE_NONE && may_be_none) {
		*ret = NULL;
		return 0;
	}
	if (v->type != want) {
		return bad(im, "'%s' is a %s, not a %s", key, pickle_type_name(v->type),
		           pickle_type_name(want));
	}
	*ret = v;
	return 0;
}

static int get_str(Import *im, const PickleValue *d, const char *key, bool optional, char **field)
{
	const PickleValue *v = NULL;
	char *s;
	int r;

	if (!optional || pickle_dict_get(d, key)) {
		r = get(im, d, key, PICKLE_STR, false, &v);
		if (r < 0) {
			return r;
		}
		if (strlen(v->str.data) != v->str.len) {
			return bad(im, "'%s' holds a NUL byte", key);
		}
	}
	s = strdup(v ? v->str.data : "");
	if (!s) {
		return -ENOMEM;
	}
	free(*field);
	*field = s;
	return 0;
}

static int get_msec(Import *im, const PickleValue *d, const char *key, uint64_t *field)
{
	const PickleValue *v = NULL;
	int r = get(im, d, key, PICKLE_TIMEDELTA, false, &v);

	if (r < 0) {
		return r;
	}
	if (pickle_timedelta_msec(v, field) < 0) {
		return bad(im, "'%s' is negative", key);
	}
	return 0;
}

/* A datetime, or None (0); an absent key is None too when `optional`. */
static int get_time(Import *im, const PickleValue *d, const char *key, bool optional,
                    realtime_t *field)
{
	const PickleValue *v = NULL;
	int r;

	*field = 0;
	if (optional && !pickle_dict_get(d, key)) {
		return 0;
	}
	r = get(im, d, key, PICKLE_DATETIME, true, &v);
	if (r < 0) {
		return r;
	}
	if (v && pickle_datetime_usec(v, field) < 0) {
		return bad(im, "'%s' is before 1970", key);
	}
	return 0;
}

static int get_bool(Import *im, const PickleValue *d, const char *key, bool *field)
{
	const PickleValue *v = NULL;
	int r = get(im, d, key, PICKLE_BOOL, false, &v);

	if (r < 0) {
		return r;
	}
	*field = v->b;
	return 0;
}

/*
 * The settings our merge compares, from a client's attributes or its clients.conf values of
 * that run (the same names in both).
 */
static int get_settings(Import *im, const PickleValue *d, ClientSettings *s)
{
	_cleanup_free_ char *key_id = NULL;
	int r;

	*s = (ClientSettings){0};
	if ((r = get_str(im, d, "host", false, &s->host)) < 0 ||
	    (r = get_str(im, d, "checker_command", false, &s->checker)) < 0 ||
	    /* Older versions had only one of the two. */
	    (r = get_str(im, d, "key_id", true, &key_id)) < 0 ||
	    (r = get_str(im, d, "fingerprint", true, &s->fingerprint)) < 0 ||
	    (r = get_msec(im, d, "timeout", &s->timeout)) < 0 ||
	    (r = get_msec(im, d, "extended_timeout", &s->extended_timeout)) < 0 ||
	    (r = get_msec(im, d, "interval", &s->interval)) < 0 ||
	    (r = get_msec(im, d, "approval_delay", &s->approval_delay)) < 0 ||
	    (r = get_msec(im, d, "approval_duration", &s->approval_duration)) < 0 ||
	    (r = get_bool(im, d, "approved_by_default", &s->approved_by_default)) < 0 ||
	    (r = get_bool(im, d, "enabled", &s->enabled)) < 0) {
		return r;
	}
	if (*key_id && keyid_normalize(key_id, s->key_id) < 0) {
		return bad(im, "'key_id' is not 64 hex digits");
	}
	return 0;
}

static int get_client(Import *im, const PickleValue *runtime, const PickleValue *config,
                      SavedClient *sc)
{
	const PickleValue *v = NULL;
	int r;

	if ((r = get_settings(im, runtime, &sc->s)) < 0 ||
	    (r = get_settings(im, config, &sc->config)) < 0 ||
	    /* Upstream makes `created` now when it lacks one. */
	    (r = get_time(im, runtime, "created", true, &sc->created)) < 0 ||
	    (r = get_time(im, runtime, "last_enabled", false, &sc->last_enabled)) < 0 ||
	    (r = get_time(im, runtime, "expires", false, &sc->expires)) < 0 ||
	    (r = get_time(im, runtime, "last_checked_ok", false, &sc->last_checked_ok)) < 0 ||
	    (r = get_time(im, runtime, "last_approval_request", false,
	                  &sc->last_approval_request)) < 0 ||
	    (r = get(im, runtime, "last_checker_status", PICKLE_INT, false, &v)) < 0) {
		return r;
	}
	if (v->i < -2 || v->i > 255) {
		return bad(im, "'last_checker_status' %" PRId64 " is out of range", v->i);
	}
	sc->last_checker_status = (int)v->i;
	return 0;
}

/* A client that upstream removed at run time: as its configuration said, but disabled. */
static int get_removed(Import *im, const PickleValue *config, SavedClient *sc)
{
	int r;

	if ((r = get_settings(im, config, &sc->config)) < 0 ||
	    (r = client_settings_copy(&sc->config, &sc->s)) < 0) {
		return r;
	}
	sc->s.enabled = false;
	sc->last_checker_status = -2;
	return 0;
}

/* Index a name -> dict map, the last entry winning as in Python.  Checks every type. */
static int index_dict(Import *im, const PickleValue *d, const char *what, StrMap **ret)
{
	_cleanup_(strmap_freep) StrMap *m = strmap_new(d->seq.n / 2);

	if (!m) {
		return -ENOMEM;
	}
	for (size_t i = d->seq.n; i >= 2; i -= 2) {
		const PickleValue *k = d->seq.items[i - 2];
		PickleValue *v = d->seq.items[i - 1];

		if (strlen(k->str.data) != k->str.len) {
			return bad(im, "a client name in %s holds a NUL byte", what);
		}
		if (v->type != PICKLE_DICT) {
			return bad(im, "client '%s' in %s is a %s, not a dict", k->str.data, what,
			           pickle_type_name(v->type));
		}
		if (strmap_add(m, k->str.data, v) < 0) {
			return -ENOMEM;
		}
	}
	*ret = TAKE_PTR(m);
	return 0;
}

typedef struct Clients {
	SavedClient *v;
	size_t n;
	size_t n_live; /* v[0..n_live) are in `clients`; the rest were removed at run time */
} Clients;

static void clients_done(Clients *cl)
{
	for (size_t i = 0; i < cl->n; i++) {
		saved_client_done(&cl->v[i]);
	}
	free(cl->v);
}

static int convert(Import *im, const PickleValue *top, Clients *out)
{
	_cleanup_(strmap_freep) StrMap *runtime = NULL, *config = NULL;
	const PickleValue *clients, *settings;
	int r;

	if (top->type != PICKLE_TUPLE || top->seq.n != 2 ||
	    top->seq.items[0]->type != PICKLE_DICT || top->seq.items[1]->type != PICKLE_DICT) {
		return bad(im, "not a tuple of two dicts (clients, client_settings) but a %s",
		           pickle_type_name(top->type));
	}
	clients = top->seq.items[0];
	settings = top->seq.items[1];
	if ((r = index_dict(im, clients, "clients", &runtime)) < 0 ||
	    (r = index_dict(im, settings, "client_settings", &config)) < 0) {
		return r;
	}
	out->v = calloc(MAX(strmap_size(config) + strmap_size(runtime), 1), sizeof(*out->v));
	if (!out->v) {
		return -ENOMEM;
	}
	/* In the file's order, each name once (its last entry). */
	for (int pass = 0; pass < 2; pass++) {
		const PickleValue *d = pass == 0 ? clients : settings;
		StrMap *own = pass == 0 ? runtime : config;

		for (size_t i = 0; i < d->seq.n; i += 2) {
			const char *name = d->seq.items[i]->str.data;
			const PickleValue *v = d->seq.items[i + 1], *cfg;
			SavedClient *sc = &out->v[out->n];

			if (strmap_get(own, name) != v ||
			    (pass == 1 && strmap_get(runtime, name))) {
				continue; /* a later duplicate won, or done in the first pass */
			}
			im->name = name;
			*sc = (SavedClient){0};
			sc->name = strdup(name);
			if (!sc->name) {
				return -ENOMEM;
			}
			out->n++;
			if (pass == 0) {
				cfg = strmap_get(config, name);
				if (!cfg) {
					return bad(im, "not in client_settings");
				}
				r = get_client(im, v, cfg, sc);
			} else {
				r = get_removed(im, v, sc);
			}
			if (r < 0) {
				return r;
			}
		}
		if (pass == 0) {
			out->n_live = out->n;
		}
	}
	im->name = NULL;
	return 0;
}

int upstream_state_read(const char *path, state_client_cb_t cb, void *userdata, char **ret_error)
{
	_cleanup_(pickle_value_unrefp) PickleValue *top = NULL;
	Import im = {0};
	Clients cl = {0};
	int r;

	r = pickle_load(path, NULL, &top, &im.error);
	if (r >= 0) {
		r = convert(&im, top, &cl);
		/* The tree is large and no longer needed: free it before the clients change. */
		top = pickle_value_unref(top);
	}
	for (size_t i = 0; r >= 0 && i < cl.n; i++) {
		if (i >= cl.n_live) {
			log_info("Client %s was removed at run time on upstream's server: if "
			         "clients.conf has it, it starts disabled",
			         cl.v[i].name);
		}
		r = cb(&cl.v[i], userdata);
	}
	if (r >= 0) {
		r = (int)MIN(cl.n, (size_t)INT32_MAX);
	}
	clients_done(&cl);
	if (r < 0 && ret_error && im.error) {
		*ret_error = TAKE_PTR(im.error);
	}
	free(im.error);
	return r;
}
