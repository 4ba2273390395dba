/* SPDX-License-Identifier: GPL-3.0-or-later */
/* State shared by several servers through etcd: one JSON document per client, merged, watched. */
#include "fleet.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etcd.h"
#include "fleet-doc.h"
#include "log.h"
#include "manager.h"

typedef struct FleetEntry FleetEntry;
struct FleetEntry {
	Fleet *f;
	Client *c; /* referenced */
	char *key;
	FleetDoc doc;         /* the shared value as last read or written */
	bool known;           /* doc and mod_revision are etcd's (the key may not exist: 0) */
	int64_t mod_revision; /* of doc; 0 = no such key */
	/* What this server decided last, and when (the "newest wins" fields). */
	realtime_t local_changed;
	bool local_approve;
	realtime_t local_approval_at, local_approval_until;
	realtime_t local_au, local_au_at;
	bool seen;   /* in the read that is being applied */
	bool dirty;  /* a local change to write */
	bool queued; /* in the flush list */
	bool retry;  /* the last write failed: again at the next tick */
	EtcdRequest *req;
	FleetDoc pending; /* what req writes */
	uint64_t sent;    /* CLOCK_MONOTONIC µs req was sent */
	FleetEntry *next_queued;
};

struct Fleet {
	Manager *m;
	sd_event *event;
	EtcdClient *ec;
	char *clients_prefix;
	char *heartbeat_key;
	char *beat_key; /* PREFIX "servers/" NAME: written so that the watch shows it is alive */
	char *server_name;
	uint64_t staleness_usec, period_usec;

	FleetEntry **entries;
	size_t n_entries, cap_entries;
	StrMap *by_name;
	FleetEntry *queue;

	bool applying; /* our own changes to clients: not echoed to etcd */
	bool started, synced, reread;
	bool blocked; /* as last logged */
	bool served;  /* unblocked once: later ends of a block are logged */
	bool read_failed_logged;
	uint64_t started_at;  /* CLOCK_MONOTONIC µs */
	uint64_t last_quorum; /* CLOCK_MONOTONIC µs of the send of the latest answered request */
	realtime_t last_quorum_real;
	EtcdRequest *read_req, *beat_req, *write_beat_req;
	uint64_t read_sent, beat_sent;
	/* The watch is alive while it brings back our own writes of beat_key: `fresh` is when
	 * the latest write it brought back was sent (or the latest full read, applied).  A
	 * stream that stops without a word (its member hung, or cut off from the others) is
	 * replaced after half the staleness without one. */
	uint64_t fresh, watch_started, beat_written, beat_write_usec;
	int64_t beat_rev;
	sd_event_source *tick, *flush;
	EtcdWatch *watch;
	int64_t watch_rev; /* the newest revision the watch or a read delivered */
	uint64_t watch_retry_at;
	uint64_t requests_failed, conflicts;
};

#define USEC_PER_SEC_F UINT64_C(1000000)
#define USEC_PER_MSEC_F UINT64_C(1000)

static uint64_t now_mono(Fleet *f)
{
	uint64_t now = 0;

	(void)sd_event_now(f->event, CLOCK_MONOTONIC, &now);
	return now;
}

/* Entries: one per local client. */

static FleetEntry *entry_get(Fleet *f, const char *name)
{
	return f->by_name ? strmap_get(f->by_name, name) : NULL;
}

static void entry_free(FleetEntry *e)
{
	if (!e) {
		return;
	}
	etcd_request_cancel(e->req);
	fleet_doc_done(&e->doc);
	fleet_doc_done(&e->pending);
	client_unref(e->c);
	free(e->key);
	free(e);
}

static int rebuild_names(Fleet *f)
{
	StrMap *m = strmap_new(f->n_entries);

	if (!m) {
		return log_oom();
	}
	for (size_t i = 0; i < f->n_entries; i++) {
		if (strmap_add(m, f->entries[i]->c->name, f->entries[i]) < 0) {
			strmap_free(m);
			return log_oom();
		}
	}
	strmap_free(f->by_name);
	f->by_name = m;
	return 0;
}

static void queue_flush(Fleet *f)
{
	if (f->flush) {
		(void)sd_event_source_set_enabled(f->flush, SD_EVENT_ONESHOT);
	}
}

/* A local change of e's client: write it soon (several changes in one turn make one write). */
static void mark_dirty(FleetEntry *e)
{
	Fleet *f = e->f;

	e->dirty = true;
	if (!e->queued) {
		e->queued = true;
		e->next_queued = f->queue;
		f->queue = e;
	}
	queue_flush(f);
}

/* Remote → local. */

/* Make the client what the shared document says, where that is newer than what we know. */
static void apply_doc(FleetEntry *e)
{
	Fleet *f = e->f;
	Client *c = e->c;
	const FleetDoc *d = &e->doc;
	realtime_t now = now_realtime();
	bool was = f->applying;

	f->applying = true;
	if (d->changed >= e->local_changed) {
		/* The same decision as we knew: our own deadline passed, the shared one did not. */
		bool same = d->changed == e->local_changed;

		e->local_changed = d->changed;
		if (d->enabled && !c->s.enabled && !c->removed) {
			if (same && c->disabled_by == CLIENT_DISABLED_BY_TIMEOUT) {
				log_info("Client %s enabled again: another server's checker "
				         "succeeded",
				         c->name);
			} else {
				log_info("Client %s enabled by %s", c->name,
				         d->changed_by && *d->changed_by ? d->changed_by
				                                         : "another server");
			}
			client_enable(c);
			/* client_enable() counts from now: the shared deadline is the one. */
			if (d->expires > now) {
				client_set_expires(c, d->expires);
			}
		} else if (!d->enabled && c->s.enabled) {
			log_info("Client %s disabled by %s (%s)", c->name,
			         d->changed_by && *d->changed_by ? d->changed_by : "another server",
			         d->reason == CLIENT_DISABLED_BY_TIMEOUT ? "timeout"
			         : d->reason == CLIENT_DISABLED_BY_ADMIN ? "admin"
			                                                 : "as it was");
			client_disable_as(c, d->reason, true);
		}
	}
	if (c->s.enabled && d->enabled && d->expires > c->expires) {
		client_set_expires(c, d->expires);
	}
	if (d->last_checked_ok > c->last_checked_ok) {
		client_set_last_checked_ok(c, d->last_checked_ok);
	}
	if (c->s.enabled && d->last_enabled > c->last_enabled) {
		client_set_last_enabled(c, d->last_enabled);
	}
	if (d->n_releases && client_merge_releases(c, d->releases, d->n_releases)) {
		f->m->state_dirty = true;
	}
	if (d->approval_at > e->local_approval_at) {
		e->local_approval_at = d->approval_at;
		e->local_approve = d->approve;
		e->local_approval_until = d->approval_until;
		client_set_approval(c, d->approve, d->approval_until);
	}
	if (d->approved_until_at > e->local_au_at) {
		e->local_au_at = d->approved_until_at;
		e->local_au = d->approved_until;
		if (c->approved_until != d->approved_until) {
			client_set_approved_until(c, d->approved_until);
		}
	}
	f->applying = was;
}

/* A value of e's key as etcd has it now (kv NULL: the key does not exist). */
static int take_value(FleetEntry *e, const EtcdKv *kv)
{
	FleetDoc d = {0};
	int r;

	if (kv) {
		r = fleet_doc_parse(kv->value, kv->value_len, &d);
		if (r == -ENOMEM) {
			return log_oom();
		}
		if (r < 0) {
			log_warning("etcd: %s is not a JSON object; it will be rewritten", kv->key);
			d = (FleetDoc){0};
		}
	}
	fleet_doc_done(&e->doc);
	e->doc = d;
	e->mod_revision = kv ? kv->mod_revision : 0;
	e->known = true;
	if (kv) {
		apply_doc(e); /* no key: the client's state is the one to write */
		if (e->local_au_at > e->doc.approved_until_at) {
			mark_dirty(e); /* a restored ApproveFor window etcd does not know */
		}
	}
	return 0;
}

/* Another server removed the client (its key was deleted): drop it here too. */
static void remote_removed(FleetEntry *e)
{
	Fleet *f = e->f;
	Client *c = client_ref(e->c);

	log_info("Client %s was removed on another server; dropped until the next reload", c->name);
	f->applying = true;
	(void)manager_remove_client(f->m, c); /* client_removed frees e */
	f->applying = false;
	client_unref(c);
}

/* Local → remote. */

/* The merge of the client's state into `from` (etcd's, or nothing when !exists), as the
 * rules at the top say. */
static int merge(FleetEntry *e, const FleetDoc *from, bool exists, FleetDoc *ret)
{
	Fleet *f = e->f;
	Client *c = e->c;
	realtime_t now = now_realtime();
	FleetDoc d;
	size_t keep = MAX((size_t)c->delivery.release_limit, (size_t)1);
	realtime_t *rel = NULL;
	size_t n_rel = 0;
	int r;

	r = fleet_doc_copy(from, &d);
	if (r < 0) {
		return r;
	}
	if (!exists || e->local_changed > from->changed) {
		if (exists && !c->s.enabled && c->disabled_by == CLIENT_DISABLED_BY_TIMEOUT &&
		    from->enabled && from->expires > now) {
			/* Our deadline passed, but another server's checker succeeded since. */
			log_info("Client %s: another server's checker succeeded; kept enabled",
			         c->name);
			e->local_changed = from->changed;
		} else {
			char *by = strdup(f->server_name);

			if (!by) {
				fleet_doc_done(&d);
				return -ENOMEM;
			}
			free(d.changed_by);
			d.changed_by = by;
			d.enabled = c->s.enabled;
			d.reason = c->s.enabled ? CLIENT_DISABLED_BY_NONE : c->disabled_by;
			/* A new key without a decision of ours says 0: the state as we had it. */
			d.changed = e->local_changed;
			d.expires = c->s.enabled ? c->expires : 0;
		}
	}
	if (d.enabled && c->s.enabled) {
		d.expires = MAX(d.expires, c->expires);
	}
	d.last_checked_ok = MAX(d.last_checked_ok, c->last_checked_ok);
	if (c->s.enabled) {
		d.last_enabled = MAX(d.last_enabled, c->last_enabled);
	}
	if (e->local_approval_at > d.approval_at) {
		d.approve = e->local_approve;
		d.approval_at = e->local_approval_at;
		d.approval_until = e->local_approval_until;
	}
	if (e->local_au_at > d.approved_until_at) {
		d.approved_until = e->local_au;
		d.approved_until_at = e->local_au_at;
	}
	r = release_times_merge(d.releases, d.n_releases, c->releases, c->n_releases, keep, now,
	                        &rel, &n_rel);
	if (r < 0) {
		fleet_doc_done(&d);
		return r;
	}
	free(d.releases);
	d.releases = rel;
	d.n_releases = n_rel;
	*ret = d;
	return 0;
}

static void quorum_heard(Fleet *f, uint64_t sent);
static void write_entry(FleetEntry *e);

static void on_written(EtcdClient *ec, const EtcdResponse *resp, void *userdata)
{
	FleetEntry *e = userdata;
	Fleet *f = e->f;

	e->req = NULL;
	if (resp->error < 0) {
		f->requests_failed++;
		log_debug("etcd: cannot write %s: %s", e->key,
		          resp->message ? resp->message : strerror(-resp->error));
		fleet_doc_done(&e->pending);
		e->retry = true;
		return;
	}
	quorum_heard(f, e->sent);
	if (resp->succeeded) {
		fleet_doc_done(&e->doc);
		e->doc = e->pending;
		e->pending = (FleetDoc){0};
		/* Not the watch's revision: others may have written before it, unseen yet. */
		e->mod_revision = resp->revision;
		apply_doc(e);
		if (e->dirty) {
			mark_dirty(e);
		}
		return;
	}
	/* Another server wrote first: take its value, merge again, write again. */
	fleet_doc_done(&e->pending);
	f->conflicts++;
	log_debug("etcd: %s changed meanwhile; merging again", e->key);
	if (resp->n_kvs == 0) {
		remote_removed(e);
		return;
	}
	if (take_value(e, &resp->kvs[0]) < 0) {
		e->retry = true;
		return;
	}
	e->dirty = true;
	write_entry(e);
}

static void write_entry(FleetEntry *e)
{
	Fleet *f = e->f;
	_cleanup_free_ char *json = NULL;
	FleetDoc d = {0};
	int r;

	if (!f->synced || !e->known || e->req) {
		return; /* after the read, or when the write in flight answers */
	}
	e->dirty = false;
	e->retry = false;
	r = merge(e, &e->doc, e->mod_revision > 0, &d);
	if (r < 0) {
		log_oom();
		e->retry = true;
		return;
	}
	if (e->mod_revision > 0 && fleet_doc_equal(&d, &e->doc)) {
		fleet_doc_done(&d);
		apply_doc(e);
		return;
	}
	json = fleet_doc_format(&d);
	if (!json) {
		fleet_doc_done(&d);
		log_oom();
		e->retry = true;
		return;
	}
	e->pending = d;
	e->sent = now_mono(f);
	r = etcd_put_if(f->ec, e->key, json, strlen(json), e->mod_revision, on_written, e, &e->req);
	if (r < 0) {
		log_debug_errno(r, "etcd: cannot send a write of %s: %m", e->key);
		fleet_doc_done(&e->pending);
		e->req = NULL;
		e->retry = true;
	}
}

static int on_flush(sd_event_source *s, void *userdata)
{
	Fleet *f = userdata;
	FleetEntry *q = f->queue;

	f->queue = NULL;
	while (q) {
		FleetEntry *e = q;

		q = e->next_queued;
		e->queued = false;
		e->next_queued = NULL;
		if (e->dirty) {
			write_entry(e);
		}
	}
	return 0;
}

/* Fail closed. */

static uint64_t quorum_age(const Fleet *f, uint64_t now)
{
	uint64_t since = f->last_quorum ? f->last_quorum : f->started_at;

	return now > since ? now - since : 0;
}

static uint64_t state_age(const Fleet *f, uint64_t now)
{
	return now > f->fresh ? now - f->fresh : 0;
}

static bool is_blocked(const Fleet *f, uint64_t now)
{
	return !f->synced || quorum_age(f, now) > f->staleness_usec;
}

/* Log the start and the end of a block, once each. */
static void update_blocked(Fleet *f)
{
	uint64_t now = now_mono(f);
	bool b = is_blocked(f, now);

	if (b == f->blocked) {
		return;
	}
	f->blocked = b;
	if (!b && !f->served) {
		f->served = true; /* the first read: on_read() said so */
		return;
	}
	if (b) {
		log_warning("etcd quorum not heard from for %" PRIu64
		            " s (etcd_max_staleness): releasing no secrets until it answers",
		            quorum_age(f, now) / USEC_PER_SEC_F);
	} else {
		log_info("etcd quorum heard again: the shared state is read, serving");
	}
}

static bool releases_blocked(char *why, size_t why_size, void *userdata)
{
	Fleet *f = userdata;
	uint64_t now = now_mono(f);

	update_blocked(f);
	if (!is_blocked(f, now)) {
		return false;
	}
	snprintf(why, why_size, "etcd quorum not heard from for %" PRIu64 " s",
	         quorum_age(f, now) / USEC_PER_SEC_F);
	return true;
}

static void quorum_heard(Fleet *f, uint64_t sent)
{
	if (sent > f->last_quorum) {
		f->last_quorum = sent;
		f->last_quorum_real = now_realtime();
	}
}

/* The watch. */

static void on_watch_event(EtcdEventType type, const EtcdKv *kv, void *userdata)
{
	Fleet *f = userdata;
	size_t plen = strlen(f->clients_prefix);
	FleetEntry *e;

	if (kv->mod_revision > f->watch_rev) {
		f->watch_rev = kv->mod_revision;
	}
	if (type == ETCD_EVENT_PUT && strcmp(kv->key, f->beat_key) == 0) {
		uint64_t sent = 0, now = now_mono(f);

		/* Our own write, back through the watch: what it shows is that fresh. */
		if (sscanf((const char *)kv->value, "{\"mono\":%" SCNu64, &sent) == 1 &&
		    sent <= now && sent > f->fresh) {
			f->fresh = sent;
		}
		return;
	}
	if (strncmp(kv->key, f->clients_prefix, plen) != 0) {
		return;
	}
	e = entry_get(f, kv->key + plen);
	if (!e || !e->known || kv->mod_revision <= e->mod_revision) {
		return; /* not ours, not read yet (the read comes), or our own write's echo */
	}
	if (type == ETCD_EVENT_DELETE) {
		remote_removed(e);
		return;
	}
	(void)take_value(e, kv);
	if (e->dirty) {
		mark_dirty(e);
	}
}

static void on_watch_ended(int error, bool compacted, void *userdata)
{
	Fleet *f = userdata;

	f->watch = NULL;
	f->requests_failed++;
	if (compacted) {
		log_info("etcd: the watch fell behind compaction; reading everything again");
		f->reread = true;
	} else {
		log_debug("etcd: the watch ended (%s); again from revision %" PRId64,
		          strerror(error < 0 ? -error : EIO), f->watch_rev + 1);
	}
	f->watch_retry_at = now_mono(f) + f->period_usec;
}

static const EtcdWatchOps watch_ops = {
        .event = on_watch_event,
        .ended = on_watch_ended,
};

static void start_watch(Fleet *f)
{
	int r = etcd_watch(f->ec, f->m->settings->etcd_prefix, f->watch_rev + 1, &watch_ops, f,
	                   &f->watch);

	f->watch_started = now_mono(f);

	if (r < 0) {
		f->watch = NULL;
		f->watch_retry_at = now_mono(f) + f->period_usec;
		log_debug_errno(r, "etcd: cannot start the watch: %m");
	}
}

/* Reading everything, and the heartbeat. */

static void on_read(EtcdClient *ec, const EtcdResponse *resp, void *userdata)
{
	Fleet *f = userdata;
	size_t plen = strlen(f->clients_prefix), n_found = 0;
	bool first = !f->synced;

	f->read_req = NULL;
	if (resp->error < 0) {
		f->requests_failed++;
		if (!f->read_failed_logged) {
			f->read_failed_logged = true;
			log_warning(
			        "etcd: cannot read the shared state (%s); serving nothing until "
			        "it answers",
			        resp->message ? resp->message : strerror(-resp->error));
		}
		return;
	}
	f->read_failed_logged = false;
	f->reread = false;
	for (size_t j = 0; j < f->n_entries; j++) {
		f->entries[j]->seen = false;
	}
	quorum_heard(f, f->read_sent);
	f->fresh = MAX(f->fresh, f->read_sent);
	for (size_t i = 0; i < resp->n_kvs; i++) {
		const EtcdKv *kv = &resp->kvs[i];
		FleetEntry *e;

		if (strncmp(kv->key, f->clients_prefix, plen) != 0) {
			continue;
		}
		e = entry_get(f, kv->key + plen);
		if (!e) {
			continue;
		}
		e->seen = true;
		n_found++;
		if (!e->known || kv->mod_revision > e->mod_revision) {
			(void)take_value(e, kv);
		}
	}
	/* Keys that are not there: new clients (created now), or removed by another server. */
	for (size_t j = f->n_entries; j > 0; j--) {
		FleetEntry *e = f->entries[j - 1];

		if (e->seen) {
			continue;
		}
		/* Known to exist at or before this read's revision, and gone in it: deleted.  (A
		 * write of ours that etcd took after the read is no removal.) */
		if (e->known && e->mod_revision > 0 && e->mod_revision <= resp->revision) {
			remote_removed(e);
			continue;
		}
		if (!e->known) {
			(void)take_value(e, NULL);
		}
	}
	f->synced = true;
	if (first) {
		log_info("etcd: read the shared state of %zu clients (%zu of %zu here); serving",
		         resp->n_kvs, n_found, f->n_entries);
	}
	update_blocked(f);
	if (!f->watch) {
		f->watch_rev = resp->revision;
		start_watch(f);
	}
	/* Whatever changed here meanwhile, or what the keys lack. */
	for (size_t j = 0; j < f->n_entries; j++) {
		mark_dirty(f->entries[j]);
	}
}

static void start_read(Fleet *f)
{
	int r;

	f->read_sent = now_mono(f);
	r = etcd_get(f->ec, f->clients_prefix, true, on_read, f, &f->read_req);
	if (r < 0) {
		f->read_req = NULL;
		f->requests_failed++;
		log_debug_errno(r, "etcd: cannot send the read: %m");
	}
}

static void on_beat(EtcdClient *ec, const EtcdResponse *resp, void *userdata)
{
	Fleet *f = userdata;

	f->beat_req = NULL;
	if (resp->error < 0) {
		f->requests_failed++;
		log_debug("etcd: heartbeat failed: %s",
		          resp->message ? resp->message : strerror(-resp->error));
		return;
	}
	/* Once blocked, only a full read (applied) ends it. */
	if (!is_blocked(f, now_mono(f))) {
		quorum_heard(f, f->beat_sent);
	}
}

static void on_beat_written(EtcdClient *ec, const EtcdResponse *resp, void *userdata)
{
	Fleet *f = userdata;

	f->write_beat_req = NULL;
	if (resp->error < 0) {
		f->requests_failed++;
		return;
	}
	if (resp->succeeded) {
		f->beat_rev = resp->revision;
	} else {
		/* Written before (an earlier run, or a server of the same name): go on from it. */
		f->beat_rev = resp->n_kvs ? resp->kvs[0].mod_revision : 0;
	}
}

static void write_beat(Fleet *f, uint64_t now)
{
	char v[96];

	snprintf(v, sizeof(v), "{\"mono\":%" PRIu64 ",\"at\":%" PRIu64 "}", now,
	         (uint64_t)now_realtime());
	f->beat_written = now;
	if (etcd_put_if(f->ec, f->beat_key, v, strlen(v), f->beat_rev, on_beat_written, f,
	                &f->write_beat_req) < 0) {
		f->write_beat_req = NULL;
		f->requests_failed++;
	}
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	Fleet *f = userdata;
	uint64_t now = now_mono(f);

	(void)sd_event_source_set_time(s, usec + f->period_usec);
	update_blocked(f);
	/* Not serving: the catch-up is a full read (a linearizable one, so also the quorum's
	 * answer), and serving resumes only once it is applied. */
	if (f->reread || is_blocked(f, now)) {
		if (!f->read_req) {
			start_read(f);
		}
	} else if (!f->beat_req) {
		f->beat_sent = now;
		if (etcd_get(f->ec, f->heartbeat_key, false, on_beat, f, &f->beat_req) < 0) {
			f->beat_req = NULL;
			f->requests_failed++;
		}
	}
	if (f->synced && !f->write_beat_req && now >= f->beat_written + f->beat_write_usec) {
		write_beat(f, now);
	}
	/* A watch that brings nothing back for half the staleness is stuck: a new one (on the
	 * member the requests use now, if its own stopped answering). */
	if (f->watch && state_age(f, now) > f->staleness_usec / 2 &&
	    now > f->watch_started + f->staleness_usec / 2) {
		log_debug("etcd: the watch brought nothing back for %" PRIu64 " ms; a new one",
		          state_age(f, now) / 1000);
		etcd_watch_cancel(f->watch);
		f->watch = NULL;
		start_watch(f);
	}
	if (f->synced && !f->watch && now >= f->watch_retry_at) {
		start_watch(f);
	}
	for (size_t i = 0; i < f->n_entries; i++) {
		FleetEntry *e = f->entries[i];

		if (e->retry && !e->req) {
			e->retry = false;
			mark_dirty(e);
		}
	}
	return 0;
}

/* The observer: local changes. */

static FleetEntry *entry_of(Fleet *f, Client *c)
{
	FleetEntry *e = entry_get(f, c->name);

	return e && e->c == c ? e : NULL;
}

static void on_property_changed(Client *c, ClientProperty p, void *userdata)
{
	Fleet *f = userdata;
	FleetEntry *e;

	if (f->applying || !(e = entry_of(f, c))) {
		return;
	}
	switch (p) {
	case CLIENT_PROP_ENABLED:
		if (c->removed) {
			return; /* removal is not a disable */
		}
		e->local_changed = MAX(now_realtime(), e->doc.changed + 1);
		break;
	case CLIENT_PROP_APPROVED_UNTIL: {
		realtime_t now = now_realtime();

		/* Its end (the timer) is no cancel: every server comes to it by itself. */
		if (c->approved_until == 0 && e->local_au != 0 && e->local_au <= now) {
			e->local_au = 0;
			return;
		}
		e->local_au = c->approved_until;
		e->local_au_at = MAX(now, e->doc.approved_until_at + 1);
		break;
	}
	case CLIENT_PROP_EXPIRES:
	case CLIENT_PROP_LAST_CHECKED_OK:
	case CLIENT_PROP_LAST_ENABLED:
		break;
	default:
		return;
	}
	mark_dirty(e);
}

static void on_approved(Client *c, bool approve, void *userdata)
{
	Fleet *f = userdata;
	FleetEntry *e;
	realtime_t now = now_realtime();

	if (f->applying || !(e = entry_of(f, c))) {
		return;
	}
	e->local_approve = approve;
	e->local_approval_at = MAX(now, e->doc.approval_at + 1);
	e->local_approval_until = now + c->s.approval_duration * USEC_PER_MSEC_F;
	mark_dirty(e);
}

static void on_got_secret(Client *c, void *userdata)
{
	Fleet *f = userdata;
	FleetEntry *e = entry_of(f, c);

	if (e) {
		mark_dirty(e); /* the release time, and the deadline it moved */
	}
}

static void on_client_added(Client *c, void *userdata)
{
	Fleet *f = userdata;
	FleetEntry *e;

	if (entry_get(f, c->name)) {
		return;
	}
	if (f->n_entries == f->cap_entries) {
		size_t cap = MAX(f->cap_entries * 2, (size_t)16);
		FleetEntry **n = realloc(f->entries, cap * sizeof(*n));

		if (!n) {
			log_oom();
			return;
		}
		f->entries = n;
		f->cap_entries = cap;
	}
	e = calloc(1, sizeof(*e));
	if (!e || asprintf(&e->key, "%s%s", f->clients_prefix, c->name) < 0) {
		free(e);
		log_oom();
		return;
	}
	e->f = f;
	e->c = client_ref(c);
	if (c->approved_until > now_realtime()) {
		/* A window from the state file: older than any decision a server wrote (those
		 * win), but shared when etcd has none. */
		e->local_au = c->approved_until;
		e->local_au_at = 1;
	}
	f->entries[f->n_entries++] = e;
	if (strmap_add(f->by_name, c->name, e) < 0) {
		(void)rebuild_names(f);
	}
}

static void on_client_removed(Client *c, void *userdata)
{
	Fleet *f = userdata;
	FleetEntry *e = entry_of(f, c);
	size_t i;

	if (!e) {
		return;
	}
	for (i = 0; i < f->n_entries && f->entries[i] != e; i++) {
	}
	memmove(&f->entries[i], &f->entries[i + 1], (f->n_entries - i - 1) * sizeof(*f->entries));
	f->n_entries--;
	/* Out of the flush list too. */
	for (FleetEntry **q = &f->queue; *q; q = &(*q)->next_queued) {
		if (*q == e) {
			*q = e->next_queued;
			break;
		}
	}
	(void)rebuild_names(f);
	entry_free(e);
}

static const ClientObserver fleet_observer = {
        .property_changed = on_property_changed,
        .approved = on_approved,
        .got_secret = on_got_secret,
        .client_added = on_client_added,
        .client_removed = on_client_removed,
};

/* Public. */

static void on_deleted(EtcdClient *ec, const EtcdResponse *resp, void *userdata)
{
	char *key = userdata;

	if (resp->error < 0) {
		log_warning("etcd: cannot delete %s: %s; other servers keep the client", key,
		            resp->message ? resp->message : strerror(-resp->error));
	}
	free(key);
}

void fleet_client_deleted(Fleet *f, const Client *c)
{
	char *key = NULL;

	if (!f || f->applying) {
		return;
	}
	if (asprintf(&key, "%s%s", f->clients_prefix, c->name) < 0) {
		log_oom();
		return;
	}
	if (etcd_delete(f->ec, key, false, on_deleted, key, NULL) < 0) {
		log_warning("etcd: cannot delete %s; other servers keep the client", key);
		free(key);
	}
}

/* "a b,c" → {"a", "b", "c"}. */
static int split_endpoints(const char *s, char ***ret, size_t *ret_n)
{
	_cleanup_free_ char *copy = strdup(s);
	char **v = NULL, *save = NULL;
	size_t n = 0;

	if (!copy) {
		return -ENOMEM;
	}
	for (char *t = strtok_r(copy, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
		char **nv = realloc(v, (n + 2) * sizeof(*v));

		if (!nv || !(nv[n] = strdup(t))) {
			v = nv ? nv : v;
			for (size_t i = 0; i < n; i++) {
				free(v[i]);
			}
			free(v);
			return -ENOMEM;
		}
		v = nv;
		v[++n] = NULL;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int fleet_new(Manager *m, Fleet **ret)
{
	const ServerSettings *s = m->settings;
	_cleanup_(fleet_freep) Fleet *f = NULL;
	char **endpoints = NULL, host[256] = "";
	size_t n = 0;
	int r;

	f = calloc(1, sizeof(*f));
	if (!f) {
		return log_oom();
	}
	f->m = m;
	f->event = m->event;
	f->staleness_usec = s->etcd_max_staleness_msec * USEC_PER_MSEC_F;
	f->period_usec = MIN(USEC_PER_SEC_F, f->staleness_usec / 3);
	f->beat_write_usec = MAX(f->period_usec, f->staleness_usec / 6);
	if (*s->server_name) {
		f->server_name = strdup(s->server_name);
	} else {
		(void)gethostname(host, sizeof(host) - 1);
		f->server_name = strdup(host);
	}
	f->by_name = strmap_new(m->n_clients);
	if (!f->server_name || !f->by_name ||
	    asprintf(&f->clients_prefix, "%sclients/", s->etcd_prefix) < 0 ||
	    asprintf(&f->heartbeat_key, "%sheartbeat", s->etcd_prefix) < 0 ||
	    asprintf(&f->beat_key, "%sservers/%s", s->etcd_prefix, f->server_name) < 0) {
		return log_oom();
	}
	r = split_endpoints(s->etcd_endpoints, &endpoints, &n);
	if (r < 0) {
		return log_oom();
	}
	r = etcd_client_new(
	        m->event,
	        &(EtcdOptions){
	                .endpoints = endpoints,
	                .n_endpoints = n,
	                .cacert = s->etcd_cacert,
	                .cert = s->etcd_cert,
	                .key = s->etcd_key,
	                /* An answer later than this is no quorum we can use. */
	                .timeout_msec = MIN(MAX(s->etcd_max_staleness_msec / 2, (uint64_t)1000),
	                                    (uint64_t)10000),
	        },
	        &f->ec);
	for (size_t i = 0; i < n; i++) {
		free(endpoints[i]);
	}
	free(endpoints);
	if (r < 0) {
		return log_error_errno(r, "Cannot set up the etcd client: %m");
	}
	r = sd_event_add_defer(m->event, &f->flush, on_flush, f);
	if (r >= 0) {
		r = sd_event_source_set_enabled(f->flush, SD_EVENT_OFF);
	}
	if (r < 0) {
		return log_error_errno(r, "Cannot set up the etcd writes: %m");
	}
	r = client_context_add_observer(&m->ctx, &fleet_observer, f);
	if (r < 0) {
		return log_error_errno(r, "Cannot watch the clients for etcd: %m");
	}
	m->ctx.releases_blocked = releases_blocked;
	m->ctx.releases_blocked_userdata = f;
	f->blocked = true; /* until the first read: nothing to say yet */
	*ret = TAKE_PTR(f);
	return 0;
}

int fleet_start(Fleet *f)
{
	int r;

	if (!f) {
		return 0;
	}
	f->started = true;
	f->started_at = now_mono(f);
	r = sd_event_add_time(f->event, &f->tick, CLOCK_MONOTONIC, f->started_at + f->period_usec,
	                      10000, on_tick, f);
	if (r >= 0) {
		r = sd_event_source_set_enabled(f->tick, SD_EVENT_ON);
	}
	if (r < 0) {
		return log_error_errno(r, "Cannot set up the etcd heartbeat: %m");
	}
	log_info("etcd: state shared through %s as %s; serving once it is read",
	         f->m->settings->etcd_endpoints, f->server_name);
	start_read(f);
	return 0;
}

void fleet_clients_changed(Fleet *f)
{
	if (f && f->synced) {
		f->reread = true; /* new clients: their keys are read (or made) with the rest */
		if (!f->read_req) {
			start_read(f);
		}
	}
}

Fleet *fleet_free(Fleet *f)
{
	if (!f) {
		return NULL;
	}
	if (f->m && f->m->ctx.releases_blocked_userdata == f) {
		f->m->ctx.releases_blocked = NULL;
		f->m->ctx.releases_blocked_userdata = NULL;
	}
	/* Observers cannot be unregistered: no client may call us any more. */
	if (f->m) {
		ClientContext *ctx = &f->m->ctx;

		for (size_t i = 0; i < ctx->n_observers; i++) {
			if (ctx->observers[i].userdata == f &&
			    ctx->observers[i].ops == &fleet_observer) {
				memmove(&ctx->observers[i], &ctx->observers[i + 1],
				        (ctx->n_observers - i - 1) * sizeof(ctx->observers[0]));
				ctx->n_observers--;
				break;
			}
		}
	}
	etcd_watch_cancel(f->watch);
	etcd_request_cancel(f->read_req);
	etcd_request_cancel(f->beat_req);
	etcd_request_cancel(f->write_beat_req);
	for (size_t i = 0; i < f->n_entries; i++) {
		entry_free(f->entries[i]);
	}
	free(f->entries);
	strmap_free(f->by_name);
	f->ec = etcd_client_free(f->ec);
	sd_event_source_disable_unref(f->tick);
	sd_event_source_disable_unref(f->flush);
	free(f->clients_prefix);
	free(f->heartbeat_key);
	free(f->beat_key);
	free(f->server_name);
	free(f);
	return NULL;
}

void fleet_health(const Fleet *f, FleetHealth *ret)
{
	uint64_t now = 0;

	*ret = (FleetHealth){.serving = true};
	if (!f) {
		return;
	}
	(void)sd_event_now(f->event, CLOCK_MONOTONIC, &now);
	ret->serving = !is_blocked(f, now);
	ret->synced = f->synced;
	ret->last_quorum = f->last_quorum ? f->last_quorum_real : 0;
	ret->requests_failed = f->requests_failed;
	ret->conflicts = f->conflicts;
}
