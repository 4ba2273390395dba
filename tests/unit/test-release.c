/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The release decision (server/release.c) on a real sd-event loop: limit, cap, approval. */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "client.h"
#include "escrow.h"
#include "log.h"
#include "p2.h"
#include "release.h"

#define HOUR_USEC (3600ULL * 1000000)

static sd_event *event;
static SecretStore *store;
static ClientContext ctx;
static unsigned n_rejected, n_got_secret, n_need_approval, pending_changes, until_changes;
static char last_rejected[64];

typedef struct Outcome {
	unsigned n_decided, n_waiting;
	ReleaseVerdict v;
	uint32_t value, last_left;
	bool last_default;
	bool free_inside; /* release_free() from inside decided */
	Release *r;
} Outcome;

static void on_rejected(Client *c, const char *reason, void *userdata)
{
	n_rejected++;
	snprintf(last_rejected, sizeof(last_rejected), "%s", reason);
}

static void on_got_secret(Client *c, void *userdata)
{
	n_got_secret++;
}

static void on_need_approval(Client *c, uint64_t delay, bool by_default, void *userdata)
{
	n_need_approval++;
}

static void on_prop(Client *c, ClientProperty p, void *userdata)
{
	if (p == CLIENT_PROP_APPROVAL_PENDING) {
		pending_changes++;
	}
	if (p == CLIENT_PROP_APPROVED_UNTIL) {
		until_changes++;
	}
}

static const ClientObserver observer = {
        .property_changed = on_prop,
        .got_secret = on_got_secret,
        .need_approval = on_need_approval,
        .rejected = on_rejected,
};

static void decided(Release *r, ReleaseVerdict v, uint32_t value, void *userdata)
{
	Outcome *o = userdata;

	o->n_decided++;
	o->v = v;
	o->value = value;
	if (o->free_inside) {
		o->r = release_free(r);
	}
}

static void waiting(Release *r, uint32_t left, bool by_default, void *userdata)
{
	Outcome *o = userdata;

	o->n_waiting++;
	o->last_left = left;
	o->last_default = by_default;
}

static const ReleaseOps ops = {.decided = decided, .waiting = waiting};

static void setup(void)
{
	sigset_t ss;

	sigemptyset(&ss);
	sigaddset(&ss, SIGCHLD);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	ck_assert_int_ge(sd_event_new(&event), 0);
	store = secret_store_new();
	ctx = (ClientContext){.event = event, .store = store, .checker_output_to_null = true};
	client_context_add_observer(&ctx, &observer, NULL);
	n_rejected = n_got_secret = n_need_approval = pending_changes = until_changes = 0;
	last_rejected[0] = '\0';
}

static void teardown(void)
{
	checker_forget_stopped();
	secret_store_free(store);
	sd_event_unref(event);
}

static Client *make(uint64_t approval_delay_msec, bool by_default, uint32_t limit)
{
	static const uint8_t box[60] = {1, 2, 3};
	ClientConfig cc = {0};
	Client *c;

	cc.name = strdup("c1");
	cc.settings.host = strdup("h");
	cc.settings.checker = strdup("true");
	cc.settings.fingerprint = strdup("");
	strcpy(cc.settings.key_id,
	       "DD3677011AFDB724949F3FB96A511E42494FD2B7059AADE2C9AE7BECA78B91B8");
	cc.settings.timeout = 300000;
	cc.settings.extended_timeout = 900000;
	cc.settings.interval = 120000;
	cc.settings.approval_delay = approval_delay_msec;
	cc.settings.approval_duration = 1000;
	cc.settings.approved_by_default = by_default;
	cc.settings.enabled = true;
	ck_assert_int_eq(secret_store_put(store, "s3cret", 6, &cc.secret), 0);
	cc.delivery.protocols = PROTOCOLS_DEFAULT;
	cc.delivery.release_limit = limit;
	cc.delivery.sealed = malloc(sizeof(box));
	memcpy(cc.delivery.sealed, box, sizeof(box));
	cc.delivery.sealed_len = sizeof(box);
	ck_assert_int_eq(client_new(&ctx, &cc, &c), 0);
	free(cc.name);
	client_settings_done(&cc.settings);
	return c;
}

static void run_until(const unsigned *counter, unsigned want, unsigned max_msec)
{
	uint64_t now, end;

	sd_event_now(event, CLOCK_MONOTONIC, &now);
	end = now + max_msec * 1000ULL;
	while (*counter < want && sd_event_now(event, CLOCK_MONOTONIC, &now) >= 0 && now < end) {
		sd_event_run(event, end - now);
	}
}

/* One release of c, granted at once and committed. */
static void release_once(Client *c, int protocol)
{
	Outcome o = {0};
	const uint8_t *data;
	size_t len;
	uint32_t value;

	ck_assert_int_eq(release_begin(event, c, protocol, &ops, &o, &o.r), 0);
	ck_assert_uint_eq(o.n_decided, 1);
	ck_assert_int_eq(o.v, RELEASE_GRANTED);
	ck_assert_int_eq(release_commit(o.r, protocol == 1 ? RELEASE_PROTOCOL_1 : RELEASE_SEALED,
	                                &data, &len, &value),
	                 0);
	ck_assert_uint_eq(len, protocol == 1 ? 6 : 60);
	/* One commit per grant. */
	ck_assert_int_eq(release_commit(o.r, RELEASE_SEALED, &data, &len, &value), -EPERM);
	release_free(o.r);
}

/* A release that is decided at once: its outcome in *o (the release already freed). */
static ReleaseVerdict decide_now(Client *c, int protocol, Outcome *o)
{
	*o = (Outcome){0};
	ck_assert_int_eq(release_begin(event, c, protocol, &ops, o, &o->r), 0);
	ck_assert_uint_eq(o->n_decided, 1);
	o->r = release_free(o->r);
	return o->v;
}

START_TEST(material)
{
	Client *c = make(0, true, 0);

	ck_assert(release_has_material(c, 1, 0, NULL, 0));
	ck_assert(release_has_material(c, 2, P2_FLAG_WANT_SEALED | P2_FLAG_SHOWS_STATUS, NULL, 0));
	ck_assert(!release_has_material(c, 2, P2_FLAG_SHOWS_STATUS, NULL, 0));
	c->delivery.protocols = PROTOCOL_BIT(2);
	ck_assert(!release_has_material(c, 1, 0, NULL, 0));
	c->delivery.protocols = PROTOCOLS_DEFAULT;
	secret_store_drop(store, &c->secret);
	ck_assert(!release_has_material(c, 1, 0, NULL, 0));
	c->delivery.protocols = PROTOCOL_BIT(1);
	ck_assert(!release_has_material(c, 2, P2_FLAG_WANT_SEALED, NULL, 0));
	client_unref(c);
}
END_TEST

/* Two escrow keys on c (scalars in the store, kids left to compute at first use, as the
 * loader leaves them); their scalars in S. */
static void add_escrow(Client *c, uint8_t S[2][P2_SCALAR_LEN])
{
	ClientEscrow *e = &c->delivery.escrow;

	e->kids = calloc(1, sizeof(EscrowKids) + 2 * ESCROW_KID_LEN);
	ck_assert_ptr_nonnull(e->kids);
	for (int i = 0; i < 2; i++) {
		crypto_core_ristretto255_scalar_random(S[i]);
	}
	ck_assert_int_eq(secret_store_put(store, S, 2 * P2_SCALAR_LEN, &e->scalars), 0);
	e->n = 2;
}

START_TEST(escrow_evaluation)
{
	Client *c = make(0, true, 0);
	uint8_t S[2][P2_SCALAR_LEN], y[P2_POINT_LEN];
	P2ClientAuth req = {.flags = P2_FLAG_WANT_ESCROW | P2_FLAG_SHOWS_STATUS, .n_items = 3};
	ReleaseP2 out;
	Outcome o = {0};
	uint32_t value = 0;

	add_escrow(c, S);
	/* A foreign kid, then key 2, then key 1. */
	randombytes_buf(req.items[0].kid, P2_KID_LEN);
	memcpy(req.items[1].kid, client_escrow_kids(&c->delivery.escrow)[1], P2_KID_LEN);
	memcpy(req.items[2].kid, client_escrow_kids(&c->delivery.escrow)[0], P2_KID_LEN);
	for (int i = 0; i < 3; i++) {
		crypto_core_ristretto255_random(req.items[i].point);
	}
	ck_assert(!release_has_material(c, 2, req.flags, req.items, 1));
	ck_assert(release_has_material(c, 2, req.flags, req.items, 2));
	ck_assert(release_has_material(c, 2, req.flags, req.items + 2, 1));

	ck_assert_int_eq(release_begin(event, c, 2, &ops, &o, &o.r), 0);
	ck_assert_int_eq(o.v, RELEASE_GRANTED);
	/* Granted, but nothing of the request is this client's: no count, no evaluation. */
	req.n_items = 1;
	ck_assert_int_eq(release_commit_p2(o.r, &req, &out, &value), -ENOENT);
	ck_assert_uint_eq(c->n_releases, 0);
	ck_assert_uint_eq(n_got_secret, 0);
	req.n_items = 3;
	ck_assert_int_eq(release_commit_p2(o.r, &req, &out, &value), 0);
	ck_assert_uint_eq(c->n_releases, 1);
	ck_assert_uint_eq(n_got_secret, 1);
	ck_assert_ptr_null(out.sealed);
	ck_assert_uint_eq(out.n_escrow, 2);
	/* Request order, each with its own key. */
	ck_assert_mem_eq(out.escrow[0], req.items[1].kid, P2_KID_LEN);
	ck_assert_int_eq(crypto_scalarmult_ristretto255(y, S[1], req.items[1].point), 0);
	ck_assert_mem_eq(out.escrow[0] + P2_KID_LEN, y, P2_POINT_LEN);
	ck_assert_mem_eq(out.escrow[1], req.items[2].kid, P2_KID_LEN);
	ck_assert_int_eq(crypto_scalarmult_ristretto255(y, S[0], req.items[2].point), 0);
	ck_assert_mem_eq(out.escrow[1] + P2_KID_LEN, y, P2_POINT_LEN);
	/* One commit per grant. */
	ck_assert_int_eq(release_commit_p2(o.r, &req, &out, &value), -EPERM);
	release_free(o.r);

	/* With WANT_SEALED: the sealed box too. */
	req.flags |= P2_FLAG_WANT_SEALED;
	o = (Outcome){0};
	ck_assert_int_eq(release_begin(event, c, 2, &ops, &o, &o.r), 0);
	ck_assert_int_eq(release_commit_p2(o.r, &req, &out, &value), 0);
	ck_assert_ptr_eq(out.sealed, c->delivery.sealed);
	ck_assert_uint_eq(out.n_escrow, 2);
	release_free(o.r);
	sodium_memzero(S, sizeof(S));
	client_unref(c);
}
END_TEST

START_TEST(limit_both_protocols)
{
	Client *c = make(0, true, 2);
	realtime_t now = now_realtime();
	Outcome o = {0};

	ck_assert_int_eq(release_left(c, now), 2);
	release_once(c, 1);
	release_once(c, 2);
	ck_assert_uint_eq(n_got_secret, 2);
	ck_assert_uint_eq(c->n_releases, 2);
	ck_assert_int_eq(release_left(c, now_realtime()), 0);
	ck_assert_int_eq(decide_now(c, 2, &o), RELEASE_LIMIT);
	/* Seconds until the oldest leaves the window: a full day, rounded up. */
	ck_assert_uint_ge(o.value, 86399);
	ck_assert_uint_le(o.value, 86400);
	ck_assert_str_eq(last_rejected, "Release limit");
	/* Protocol 1 as well. */
	ck_assert_int_eq(decide_now(c, 1, &o), RELEASE_LIMIT);
	ck_assert_uint_eq(n_got_secret, 2);
	client_unref(c);
}
END_TEST

START_TEST(limit_window)
{
	Client *c = make(0, true, 2);
	realtime_t now = now_realtime();
	Outcome o = {0};

	/* One 25 h old (outside), one 23 h old, one in the future (inside). */
	c->releases = malloc(3 * sizeof(realtime_t));
	c->releases[0] = now - 25 * HOUR_USEC;
	c->releases[1] = now - 23 * HOUR_USEC;
	c->releases[2] = now + HOUR_USEC;
	c->n_releases = 3;
	ck_assert_int_eq(release_left(c, now), 0);
	ck_assert_int_eq(decide_now(c, 2, &o), RELEASE_LIMIT);
	/* The 23 h old one leaves in about an hour. */
	ck_assert_uint_ge(o.value, 3599);
	ck_assert_uint_le(o.value, 3601);
	/* With a limit of 3 one more goes; the stale time is pruned, the limit kept. */
	c->delivery.release_limit = 3;
	release_once(c, 2);
	ck_assert_uint_eq(c->n_releases, 3);
	ck_assert_uint_eq(c->releases[0], now - 23 * HOUR_USEC);
	ck_assert_uint_eq(c->releases[1], now + HOUR_USEC);
	/* Unlimited: only the latest is kept, and releases never stop. */
	c->delivery.release_limit = 0;
	ck_assert_int_eq(release_left(c, now), -1);
	release_once(c, 1);
	ck_assert_uint_eq(c->n_releases, 1);
	client_unref(c);
}
END_TEST

START_TEST(disabled_reasons)
{
	Client *c = make(0, true, 0);
	Outcome o;

	/* Disabled in an earlier run (as the state file restores it): the checker tells. */
	c->s.enabled = false;
	ck_assert_int_eq(decide_now(c, 2, &o), RELEASE_DISABLED);
	ck_assert_uint_eq(o.value, P2_DISABLED_NEVER_OK);
	ck_assert_str_eq(last_rejected, "Disabled");
	c->last_checked_ok = now_realtime();
	c->last_checker_status = 1;
	ck_assert_int_eq(decide_now(c, 2, &o), RELEASE_DISABLED);
	ck_assert_uint_eq(o.value, P2_DISABLED_CHECKER);
	c->last_checked_ok = 0;
	c->s.enabled = true;

	/* By an administrator, before any check and after one. */
	client_disable(c, true);
	decide_now(c, 2, &o);
	ck_assert_uint_eq(o.value, P2_DISABLED_BY_ADMIN);
	client_enable(c);
	client_checked_ok(c);
	client_disable(c, true);
	decide_now(c, 2, &o);
	ck_assert_uint_eq(o.value, P2_DISABLED_BY_ADMIN);

	/* Timed out after a good check (the disable timer's path). */
	client_enable(c);
	client_checked_ok(c);
	client_bump_timeout(c, 1);
	for (int i = 0; i < 100 && c->s.enabled; i++) {
		sd_event_run(event, 20000); /* until the disable timer fired */
	}
	ck_assert(!c->s.enabled);
	ck_assert_int_eq(c->disabled_by, CLIENT_DISABLED_BY_TIMEOUT);
	decide_now(c, 2, &o);
	ck_assert_uint_eq(o.value, P2_DISABLED_CHECKER);

	client_mark_removed(c);
	ck_assert_int_eq(decide_now(c, 2, &o), RELEASE_REMOVED);
	client_unref(c);
}
END_TEST

START_TEST(busy_cap)
{
	Client *c = make(60000, false, 0);
	Outcome o[6] = {0};

	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(release_begin(event, c, 2, &ops, &o[i], &o[i].r), 0);
		ck_assert_uint_eq(o[i].n_decided, 0);
		ck_assert_uint_eq(o[i].n_waiting, 1);
	}
	ck_assert_uint_eq(c->releases_deciding, 4);
	ck_assert_int_eq(release_begin(event, c, 2, &ops, &o[4], &o[4].r), 0);
	ck_assert_int_eq(o[4].v, RELEASE_BUSY);
	ck_assert_uint_eq(o[4].value, 10);
	release_free(o[4].r);
	/* Protocol 1 has no cap. */
	ck_assert_int_eq(release_begin(event, c, 1, &ops, &o[5], &o[5].r), 0);
	ck_assert_uint_eq(o[5].n_decided, 0);
	release_free(o[5].r);
	/* One ends: room for another. */
	o[0].r = release_free(o[0].r);
	ck_assert_uint_eq(c->releases_deciding, 3);
	o[4] = (Outcome){0};
	ck_assert_int_eq(release_begin(event, c, 2, &ops, &o[4], &o[4].r), 0);
	ck_assert_uint_eq(o[4].n_decided, 0);
	for (int i = 1; i < 5; i++) {
		release_free(o[i].r);
	}
	ck_assert_uint_eq(c->releases_deciding, 0);
	ck_assert_uint_eq(c->approvals_pending, 0);
	client_unref(c);
}
END_TEST

START_TEST(approval_approve)
{
	Client *c = make(60000, false, 0);
	Outcome o = {.free_inside = true};

	ck_assert_int_eq(release_begin(event, c, 2, &ops, &o, &o.r), 0);
	ck_assert_uint_eq(o.n_decided, 0);
	ck_assert_uint_eq(o.n_waiting, 1);
	ck_assert_uint_ge(o.last_left, 59);
	ck_assert(!o.last_default);
	ck_assert_uint_eq(n_need_approval, 1);
	ck_assert_uint_eq(c->approvals_pending, 1);
	client_approve(c, true);
	run_until(&o.n_decided, 1, 2000);
	ck_assert_int_eq(o.v, RELEASE_GRANTED);
	ck_assert_ptr_null(o.r); /* freed from inside decided */
	ck_assert_uint_eq(c->approvals_pending, 0);
	client_unref(c);
}
END_TEST

static bool blocked;

static bool blocked_hook(char *why, size_t n, void *userdata)
{
	snprintf(why, n, "etcd quorum not heard from for 7 s");
	return blocked;
}

/* The shared state unavailable (fleet.h): RELEASE_UNAVAILABLE, at the start and at a grant
 * after an approval wait, nothing counted; served again when it is back. */
START_TEST(releases_blocked)
{
	Client *c = make(60000, false, 3);
	Outcome o = {.free_inside = true};

	ctx.releases_blocked = blocked_hook;
	blocked = true;
	ck_assert_int_eq(decide_now(c, 2, &o), RELEASE_UNAVAILABLE);
	ck_assert_uint_eq(o.value, 10);
	ck_assert_uint_eq(n_need_approval, 0);
	/* Not blocked at the start, blocked when the approval comes. */
	blocked = false;
	o = (Outcome){.free_inside = true};
	ck_assert_int_eq(release_begin(event, c, 2, &ops, &o, &o.r), 0);
	ck_assert_uint_eq(o.n_decided, 0);
	blocked = true;
	client_approve(c, true);
	run_until(&o.n_decided, 1, 2000);
	ck_assert_int_eq(o.v, RELEASE_UNAVAILABLE);
	ck_assert_uint_eq(o.value, 10);
	ck_assert_uint_eq(c->approvals_pending, 0);
	ck_assert_uint_eq(c->n_releases, 0);
	blocked = false;
	release_once(c, 2);
	ck_assert_uint_eq(c->n_releases, 1);
	ctx.releases_blocked = NULL;
	client_unref(c);
}
END_TEST

/* The union of release times (the shared state's merge): sorted, once each, the window, the
 * newest `keep`. */
START_TEST(release_times_union)
{
	realtime_t now = 100 * HOUR_USEC, *t = NULL;
	realtime_t a[] = {now - 1, now - 25 * HOUR_USEC, now - 3, 0};
	realtime_t b[] = {now - 2, now - 1, now + 5};
	Client *c = make(0, false, 3);
	size_t n = 0;

	ck_assert_int_eq(release_times_merge(a, 4, b, 3, 10, now, &t, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(t[0], now - 3);
	ck_assert_uint_eq(t[1], now - 2);
	ck_assert_uint_eq(t[2], now - 1);
	ck_assert_uint_eq(t[3], now + 5);
	free(t);
	ck_assert_int_eq(release_times_merge(a, 4, b, 3, 2, now, &t, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(t[0], now - 1);
	ck_assert_uint_eq(t[1], now + 5);
	free(t);
	ck_assert_int_eq(release_times_merge(NULL, 0, NULL, 0, 1, now, &t, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(t);
	/* Into a client: another server's releases count against its limit.  (Seconds before
	 * ours: microseconds could be the very time of ours, which the union keeps once.) */
	release_once(c, 2);
	{
		realtime_t other[] = {now_realtime() - 5 * HOUR_USEC / 3600,
		                      now_realtime() - 6 * HOUR_USEC / 3600};

		ck_assert(client_merge_releases(c, other, 2));
		ck_assert(!client_merge_releases(c, other, 2));
	}
	ck_assert_uint_eq(c->n_releases, 3);
	ck_assert_int_eq(release_left(c, now_realtime()), 0);
	ck_assert_int_eq(decide_now(c, 2, &(Outcome){0}), RELEASE_LIMIT);
	client_unref(c);
}
END_TEST

START_TEST(approval_deny_and_timeout)
{
	Client *c = make(300, false, 0);
	Outcome o = {0};

	ck_assert_int_eq(release_begin(event, c, 2, &ops, &o, &o.r), 0);
	client_approve(c, false);
	run_until(&o.n_decided, 1, 2000);
	ck_assert_int_eq(o.v, RELEASE_DENIED);
	ck_assert_str_eq(last_rejected, "Denied");
	release_free(o.r);
	run_until(&n_rejected, 99, 1100); /* the denial lapses after approval_duration */
	o = (Outcome){0};
	ck_assert_int_eq(release_begin(event, c, 2, &ops, &o, &o.r), 0);
	run_until(&o.n_decided, 1, 2000);
	ck_assert_int_eq(o.v, RELEASE_APPROVAL_TIMEOUT);
	ck_assert_str_eq(last_rejected, "Approval timed out");
	release_free(o.r);
	/* approved_by_default: granted when the delay passes. */
	client_set_approved_by_default(c, true);
	o = (Outcome){0};
	ck_assert_int_eq(release_begin(event, c, 1, &ops, &o, &o.r), 0);
	ck_assert(o.last_default);
	run_until(&o.n_decided, 1, 2000);
	ck_assert_int_eq(o.v, RELEASE_GRANTED);
	release_free(o.r);
	client_unref(c);
}
END_TEST

/* STATUS keepalives: at the start of the wait, then every 15 s (this test takes 15 s). */
START_TEST(status_every_15s)
{
	Client *c = make(20000, true, 0);
	Outcome o = {0};

	ck_assert_int_eq(release_begin(event, c, 2, &ops, &o, &o.r), 0);
	ck_assert_uint_eq(o.n_waiting, 1);
	ck_assert_uint_eq(o.last_left, 20);
	/* A change of the client re-enters the wait; the default did not change: no STATUS. */
	client_set_approval_duration(c, 2000);
	client_approve(c, false);
	client_approve(c, true);
	run_until(&o.n_decided, 1, 100);
	ck_assert_uint_eq(o.n_decided, 1); /* approved: granted at once */
	release_free(o.r);

	run_until(&n_rejected, 99, 2100); /* the approval lapses */
	o = (Outcome){0};
	ck_assert_int_eq(release_begin(event, c, 2, &ops, &o, &o.r), 0);
	ck_assert_uint_eq(o.n_waiting, 1);
	run_until(&o.n_waiting, 2, 17000);
	ck_assert_uint_eq(o.n_waiting, 2);
	ck_assert_uint_eq(o.n_decided, 0);
	ck_assert_uint_ge(o.last_left, 4);
	ck_assert_uint_le(o.last_left, 5);
	ck_assert(o.last_default);
	release_free(o.r);
	client_unref(c);
}
END_TEST

START_TEST(abort_drops_pending)
{
	Client *c = make(60000, true, 0);
	Outcome o = {0};

	ck_assert_int_eq(release_begin(event, c, 2, &ops, &o, &o.r), 0);
	ck_assert_uint_eq(c->approvals_pending, 1);
	ck_assert_uint_eq(pending_changes, 1);
	release_abort(o.r);
	ck_assert_uint_eq(c->approvals_pending, 0);
	ck_assert_uint_eq(pending_changes, 2);
	ck_assert_uint_eq(c->releases_deciding, 0);
	/* Nothing decides after an abort, not even a change of the client. */
	client_approve(c, true);
	run_until(&o.n_decided, 1, 200);
	ck_assert_uint_eq(o.n_decided, 0);
	release_free(o.r);
	/* Disabled meanwhile: DISABLED. */
	o = (Outcome){0};
	ck_assert_int_eq(release_begin(event, c, 2, &ops, &o, &o.r), 0);
	ck_assert_uint_eq(o.n_decided, 1); /* the approval above still holds */
	release_free(o.r);
	run_until(&n_rejected, 99, 1100);
	o = (Outcome){0};
	ck_assert_int_eq(release_begin(event, c, 2, &ops, &o, &o.r), 0);
	ck_assert_uint_eq(o.n_decided, 0);
	client_disable(c, true);
	run_until(&o.n_decided, 1, 2000);
	ck_assert_int_eq(o.v, RELEASE_DISABLED);
	release_free(o.r);
	client_unref(c);
}
END_TEST

/* A request of c waits (nothing decided at once); then it is aborted and freed. */
static void assert_waits(Client *c, int protocol)
{
	Outcome o = {0};

	ck_assert_int_eq(release_begin(event, c, protocol, &ops, &o, &o.r), 0);
	ck_assert_uint_eq(o.n_decided, 0);
	release_free(o.r);
}

/* ApproveFor: granted at once (no NeedApproval, no ApprovalPending), for both protocols. */
START_TEST(approve_for_at_once)
{
	Client *c = make(60000, false, 0);

	client_approve_for(c, 60000);
	ck_assert_uint_eq(until_changes, 1);
	ck_assert_uint_gt(c->approved_until, now_realtime() + 59 * 1000000ULL);
	for (int i = 0; i < 3; i++) {
		release_once(c, 1);
		release_once(c, 2);
	}
	ck_assert_uint_eq(n_need_approval, 0);
	ck_assert_uint_eq(pending_changes, 0);
	ck_assert_uint_eq(n_got_secret, 6);
	/* 0 cancels: the next request waits again. */
	client_approve_for(c, 0);
	ck_assert_uint_eq(c->approved_until, 0);
	ck_assert_uint_eq(until_changes, 2);
	assert_waits(c, 2);
	ck_assert_uint_eq(n_need_approval, 1);
	/* A time in the past clears it; setting the same time again tells nobody. */
	client_set_approved_until(c, 1);
	ck_assert_uint_eq(c->approved_until, 0);
	ck_assert_uint_eq(until_changes, 2);
	client_unref(c);
}
END_TEST

/* A request that waits is released by ApproveFor; the window ends by its timer. */
START_TEST(approve_for_wakes_and_ends)
{
	Client *c = make(60000, false, 0);
	Outcome o = {0};

	ck_assert_int_eq(release_begin(event, c, 1, &ops, &o, &o.r), 0);
	ck_assert_uint_eq(o.n_decided, 0);
	ck_assert_uint_eq(c->approvals_pending, 1);
	client_approve_for(c, 300);
	run_until(&o.n_decided, 1, 2000);
	ck_assert_int_eq(o.v, RELEASE_GRANTED);
	ck_assert_uint_eq(c->approvals_pending, 0);
	release_free(o.r);
	run_until(&until_changes, 2, 3000); /* the timer ends the window */
	ck_assert_uint_eq(c->approved_until, 0);
	assert_waits(c, 2);
	client_unref(c);
}
END_TEST

/* A denial of a waiting request still denies it; ApproveFor after it wins over the denial's
 * approval_duration. */
START_TEST(approve_for_and_deny)
{
	Client *c = make(60000, false, 0);
	Outcome o = {0};

	client_set_approval_duration(c, 3600 * 1000);
	ck_assert_int_eq(release_begin(event, c, 2, &ops, &o, &o.r), 0);
	client_approve(c, false);
	run_until(&o.n_decided, 1, 2000);
	ck_assert_int_eq(o.v, RELEASE_DENIED);
	release_free(o.r);
	ck_assert_int_eq(decide_now(c, 2, &o), RELEASE_DENIED); /* the denial holds */
	client_approve_for(c, 60000);
	ck_assert_int_eq(decide_now(c, 2, &o), RELEASE_GRANTED);
	ck_assert_int_eq(decide_now(c, 1, &o), RELEASE_GRANTED);
	/* Disabled: ApproveFor changes nothing of that. */
	client_disable(c, true);
	ck_assert_int_eq(decide_now(c, 2, &o), RELEASE_DISABLED);
	client_unref(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("release");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	log_set_max_level(LOG_CRIT);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, material);
	tcase_add_test(tc, escrow_evaluation);
	tcase_add_test(tc, limit_both_protocols);
	tcase_add_test(tc, limit_window);
	tcase_add_test(tc, disabled_reasons);
	tcase_add_test(tc, busy_cap);
	tcase_add_test(tc, approval_approve);
	tcase_add_test(tc, approval_deny_and_timeout);
	tcase_add_test(tc, abort_drops_pending);
	tcase_add_test(tc, status_every_15s);
	tcase_add_test(tc, approve_for_at_once);
	tcase_add_test(tc, approve_for_wakes_and_ends);
	tcase_add_test(tc, approve_for_and_deny);
	tcase_add_test(tc, releases_blocked);
	tcase_add_test(tc, release_times_union);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
