/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The shared document of one client in etcd (fleet.c): its fields, and its JSON text. */
#include "fleet-doc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "macro.h"

void fleet_doc_done(FleetDoc *d)
{
	free(d->changed_by);
	free(d->releases);
	*d = (FleetDoc){0};
}

int fleet_doc_copy(const FleetDoc *from, FleetDoc *to)
{
	FleetDoc d = *from;

	d.changed_by = from->changed_by ? strdup(from->changed_by) : NULL;
	d.releases = malloc(MAX(from->n_releases, (size_t)1) * sizeof(*d.releases));
	if ((from->changed_by && !d.changed_by) || !d.releases) {
		free(d.changed_by);
		free(d.releases);
		return -ENOMEM;
	}
	if (from->n_releases) {
		memcpy(d.releases, from->releases, from->n_releases * sizeof(*d.releases));
	}
	*to = d;
	return 0;
}

bool fleet_doc_equal(const FleetDoc *a, const FleetDoc *b)
{
	return a->enabled == b->enabled && a->reason == b->reason && a->changed == b->changed &&
	       a->last_enabled == b->last_enabled && a->last_checked_ok == b->last_checked_ok &&
	       a->expires == b->expires && a->approve == b->approve &&
	       a->approval_at == b->approval_at && a->approval_until == b->approval_until &&
	       a->approved_until == b->approved_until &&
	       a->approved_until_at == b->approved_until_at && a->n_releases == b->n_releases &&
	       (a->n_releases == 0 ||
	        memcmp(a->releases, b->releases, a->n_releases * sizeof(*a->releases)) == 0) &&
	       ((!a->changed_by && !b->changed_by) ||
	        (a->changed_by && b->changed_by && strcmp(a->changed_by, b->changed_by) == 0));
}

static const char *reason_name(ClientDisabledBy by)
{
	switch (by) {
	case CLIENT_DISABLED_BY_ADMIN:
		return "admin";
	case CLIENT_DISABLED_BY_TIMEOUT:
		return "timeout";
	default:
		return "";
	}
}

static realtime_t get_time(json_object *o, const char *name)
{
	json_object *v;
	int64_t t;

	if (!o || !json_object_object_get_ex(o, name, &v)) {
		return 0;
	}
	t = json_object_get_int64(v);
	return t > 0 ? (realtime_t)t : 0;
}

/* Parse a document (len bytes).  Returns 0, -EBADMSG (not a JSON object) or -ENOMEM. */
int fleet_doc_parse(const uint8_t *data, size_t len, FleetDoc *ret)
{
	json_tokener *tok = json_tokener_new();
	json_object *o, *v, *a;
	FleetDoc d = {0};
	int r = 0;

	if (!tok) {
		return -ENOMEM;
	}
	o = json_tokener_parse_ex(tok, (const char *)data, (int)MIN(len, (size_t)INT32_MAX));
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EBADMSG;
	}
	d.enabled = json_object_object_get_ex(o, "enabled", &v) && json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "disabled_reason", &v) &&
	    json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		d.reason = strcmp(s, "admin") == 0     ? CLIENT_DISABLED_BY_ADMIN
		           : strcmp(s, "timeout") == 0 ? CLIENT_DISABLED_BY_TIMEOUT
		                                       : CLIENT_DISABLED_BY_NONE;
	}
	d.changed = get_time(o, "changed");
	if (json_object_object_get_ex(o, "changed_by", &v) &&
	    json_object_is_type(v, json_type_string)) {
		d.changed_by = strdup(json_object_get_string(v));
		if (!d.changed_by) {
			r = -ENOMEM;
		}
	}
	d.last_enabled = get_time(o, "last_enabled");
	d.last_checked_ok = get_time(o, "last_checked_ok");
	d.expires = get_time(o, "expires");
	if (json_object_object_get_ex(o, "approval", &a) &&
	    json_object_is_type(a, json_type_object)) {
		d.approve =
		        json_object_object_get_ex(a, "approve", &v) && json_object_get_boolean(v);
		d.approval_at = get_time(a, "at");
		d.approval_until = get_time(a, "until");
	}
	d.approved_until = get_time(o, "approved_until");
	d.approved_until_at = get_time(o, "approved_until_at");
	if (r == 0 && json_object_object_get_ex(o, "releases", &a) &&
	    json_object_is_type(a, json_type_array)) {
		size_t n = json_object_array_length(a);

		d.releases = malloc(MAX(n, (size_t)1) * sizeof(*d.releases));
		if (!d.releases) {
			r = -ENOMEM;
		}
		for (size_t i = 0; r == 0 && i < n; i++) {
			int64_t t = json_object_get_int64(json_object_array_get_idx(a, i));

			if (t > 0) {
				d.releases[d.n_releases++] = (realtime_t)t;
			}
		}
	}
	json_object_put(o);
	if (r < 0) {
		fleet_doc_done(&d);
		return r;
	}
	*ret = d;
	return 0;
}

static int add_time(json_object *o, const char *name, realtime_t t)
{
	return json_object_object_add(o, name, json_object_new_int64((int64_t)t));
}

/* The JSON text of a document, malloc()ed, or NULL (ENOMEM). */
char *fleet_doc_format(const FleetDoc *d)
{
	json_object *o = json_object_new_object(), *a = NULL, *rel = json_object_new_array();
	char *s = NULL;

	if (!o || !rel) {
		goto out;
	}
	json_object_object_add(o, "enabled", json_object_new_boolean(d->enabled));
	json_object_object_add(o, "disabled_reason",
	                       json_object_new_string(d->enabled ? "" : reason_name(d->reason)));
	add_time(o, "changed", d->changed);
	json_object_object_add(o, "changed_by", json_object_new_string(d->changed_by ?: ""));
	add_time(o, "last_enabled", d->last_enabled);
	add_time(o, "last_checked_ok", d->last_checked_ok);
	add_time(o, "expires", d->expires);
	if (d->approval_at) {
		a = json_object_new_object();
		if (!a) {
			goto out;
		}
		json_object_object_add(a, "approve", json_object_new_boolean(d->approve));
		add_time(a, "at", d->approval_at);
		add_time(a, "until", d->approval_until);
	}
	json_object_object_add(o, "approval", a);
	add_time(o, "approved_until", d->approved_until);
	add_time(o, "approved_until_at", d->approved_until_at);
	for (size_t i = 0; i < d->n_releases; i++) {
		json_object_array_add(rel, json_object_new_int64((int64_t)d->releases[i]));
	}
	json_object_object_add(o, "releases", rel);
	rel = NULL;
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
out:
	json_object_put(rel);
	json_object_put(o);
	return s;
}
