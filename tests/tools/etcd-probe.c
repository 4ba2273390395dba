/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The test of server/etcd.c against a real etcd (tests/integration/etcd-client.sh starts it):
 *   etcd-probe [--timeout=MS] ENDPOINT[,ENDPOINT...] CASE [ARGS]
 * Each CASE runs the client on an sd-event loop and checks what comes back; it prints what it
 * saw and exits 0, or prints "FAIL: ..." and exits 1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "etcd.h"
#include "macro.h"

static sd_event *event;
static EtcdClient *ec;
static uint64_t arg_timeout = 2000;
/* Set around every call that starts something: a callback must never come from inside. */
static bool in_call;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL: %s:%d: %s: ", __FILE__, __LINE__, #cond);           \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static uint64_t now_msec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Run the loop until *flag, at most msec. */
static void run_until_within(const bool *flag, uint64_t msec)
{
	uint64_t deadline = now_msec() + msec;

	while (!*flag) {
		CHECK(now_msec() < deadline, "nothing came");
		CHECK(sd_event_run(event, 100000) >= 0, "sd_event_run");
	}
}

/* Run the loop until *flag; a hang is a failure (generous: the suite's timeout is longer). */
static void run_until(const bool *flag)
{
	run_until_within(flag, 60000);
}

/* Run the loop for msec (to see that nothing comes). */
static void run_for(uint64_t msec)
{
	uint64_t end = now_msec() + msec;

	while (now_msec() < end) {
		CHECK(sd_event_run(event, (end - now_msec()) * 1000 + 1) >= 0, "sd_event_run");
	}
}

/* What one unary request answered (copied). */
typedef struct Result {
	bool done;
	int error;
	char message[256];
	int64_t revision, deleted;
	bool succeeded;
	size_t n_kvs;
	EtcdKv kvs[8];
} Result;

static void on_done(EtcdClient *c, const EtcdResponse *resp, void *userdata)
{
	Result *res = userdata;

	CHECK(!in_call, "a callback from inside the call that started it");
	CHECK(!res->done, "a second callback");
	CHECK(c == ec, "another client");
	res->done = true;
	res->error = resp->error;
	snprintf(res->message, sizeof(res->message), "%s", resp->message ? resp->message : "");
	res->revision = resp->revision;
	res->deleted = resp->deleted;
	res->succeeded = resp->succeeded;
	res->n_kvs = resp->n_kvs;
	for (size_t i = 0; i < resp->n_kvs && i < ELEMENTSOF(res->kvs); i++) {
		EtcdKv *kv = &res->kvs[i];

		*kv = resp->kvs[i];
		kv->key = strdup(resp->kvs[i].key);
		kv->value = malloc(kv->value_len + 1);
		CHECK(kv->key && kv->value, "out of memory");
		memcpy(kv->value, resp->kvs[i].value, kv->value_len + 1);
		CHECK(kv->value[kv->value_len] == 0, "value not NUL-terminated");
	}
}

static void result_clear(Result *res)
{
	for (size_t i = 0; i < res->n_kvs && i < ELEMENTSOF(res->kvs); i++) {
		free(res->kvs[i].key);
		free(res->kvs[i].value);
	}
	*res = (Result){0};
}

typedef int (*range_fn)(EtcdClient *, const char *, bool, etcd_done_t, void *, EtcdRequest **);

/* etcd_get() or etcd_delete(), and wait for the answer. */
static void range_call(range_fn fn, const char *key, bool prefix, Result *res)
{
	int r;

	result_clear(res);
	in_call = true;
	r = fn(ec, key, prefix, on_done, res, NULL);
	in_call = false;
	CHECK(r == 0, "etcd_get/etcd_delete: %s", strerror(-r));
	run_until(&res->done);
}

static void get(const char *key, bool prefix, Result *res)
{
	range_call(etcd_get, key, prefix, res);
}

static void put_if(const char *key, const void *value, size_t len, int64_t rev, Result *res)
{
	int r;

	result_clear(res);
	in_call = true;
	r = etcd_put_if(ec, key, value, len, rev, on_done, res, NULL);
	in_call = false;
	CHECK(r == 0, "etcd_put_if: %s", strerror(-r));
	run_until(&res->done);
}

static void del(const char *key, bool prefix, Result *res)
{
	range_call(etcd_delete, key, prefix, res);
}

static void check_ok(const Result *res, const char *what)
{
	CHECK(res->error == 0, "%s: %s (%s)", what, strerror(-res->error), res->message);
}

static char *key_of(const char *prefix, const char *name)
{
	char *k;

	CHECK(asprintf(&k, "%s%s", prefix, name) >= 0, "out of memory");
	return k;
}

/* get (single, prefix, missing), put_if (create, right revision, stale), delete. */
static void case_kv(const char *prefix)
{
	_cleanup_free_ char *k1 = key_of(prefix, "one"), *k2 = key_of(prefix, "two");
	_cleanup_free_ char *k3 = key_of(prefix, "big"), *big = malloc(200000);
	static const uint8_t binary[] = {0, 1, 2, 0xff, 0, 'x'};
	Result res = {0};
	int64_t m1;

	get(k1, false, &res);
	check_ok(&res, "get missing");
	CHECK(res.n_kvs == 0 && res.revision > 0, "missing key: %zu kvs", res.n_kvs);

	put_if(k1, "v1", 2, 0, &res);
	check_ok(&res, "create");
	CHECK(res.succeeded, "create with 0 did not succeed");
	m1 = res.revision;

	put_if(k1, "v1b", 3, 0, &res);
	check_ok(&res, "create again");
	CHECK(!res.succeeded && res.n_kvs == 1, "second create: succeeded %d", res.succeeded);
	CHECK(strcmp((char *)res.kvs[0].value, "v1") == 0 && res.kvs[0].mod_revision == m1,
	      "second create shows %s at %" PRId64, res.kvs[0].value, res.kvs[0].mod_revision);

	put_if(k1, "v2", 2, m1, &res);
	check_ok(&res, "update");
	CHECK(res.succeeded && res.revision > m1, "update on the right revision");

	put_if(k1, "v3", 2, m1, &res);
	check_ok(&res, "stale update");
	CHECK(!res.succeeded && res.n_kvs == 1 && strcmp((char *)res.kvs[0].value, "v2") == 0 &&
	              res.kvs[0].mod_revision > m1 && res.kvs[0].version == 2,
	      "stale update: succeeded %d, current %s", res.succeeded,
	      res.n_kvs ? (char *)res.kvs[0].value : "none");
	printf("put_if: stale revision %" PRId64 " refused, current at %" PRId64 "\n", m1,
	       res.kvs[0].mod_revision);

	put_if(k2, binary, sizeof(binary), 0, &res);
	check_ok(&res, "binary");
	CHECK(res.succeeded, "binary create");
	CHECK(big, "out of memory");
	for (size_t i = 0; i < 200000; i++) {
		big[i] = (char)('a' + i % 26);
	}
	put_if(k3, big, 200000, 0, &res);
	check_ok(&res, "200 kB value");

	get(k1, false, &res);
	check_ok(&res, "get one");
	CHECK(res.n_kvs == 1 && strcmp(res.kvs[0].key, k1) == 0 && res.kvs[0].value_len == 2 &&
	              memcmp(res.kvs[0].value, "v2", 2) == 0,
	      "get one: %zu kvs", res.n_kvs);

	get(prefix, true, &res);
	check_ok(&res, "get prefix");
	CHECK(res.n_kvs == 3, "prefix: %zu kvs", res.n_kvs);
	/* Sorted by key: big, one, two. */
	CHECK(strcmp(res.kvs[0].key, k3) == 0 && res.kvs[0].value_len == 200000 &&
	              memcmp(res.kvs[0].value, big, 200000) == 0,
	      "the 200 kB value");
	CHECK(strcmp(res.kvs[1].key, k1) == 0, "second key %s", res.kvs[1].key);
	CHECK(strcmp(res.kvs[2].key, k2) == 0 && res.kvs[2].value_len == sizeof(binary) &&
	              memcmp(res.kvs[2].value, binary, sizeof(binary)) == 0,
	      "the binary value");

	del(k1, false, &res);
	check_ok(&res, "delete");
	CHECK(res.deleted == 1, "deleted %" PRId64, res.deleted);
	get(k1, false, &res);
	check_ok(&res, "get deleted");
	CHECK(res.n_kvs == 0, "deleted key still there");
	put_if(k1, "v4", 2, m1, &res);
	check_ok(&res, "update of a deleted key");
	CHECK(!res.succeeded && res.n_kvs == 0, "update of a deleted key: %d, %zu kvs",
	      res.succeeded, res.n_kvs);
	del(prefix, true, &res);
	check_ok(&res, "delete prefix");
	CHECK(res.deleted == 2, "prefix deleted %" PRId64, res.deleted);
	get(prefix, true, &res);
	CHECK(res.n_kvs == 0, "prefix not empty after delete");
	result_clear(&res);
	printf("kv: ok\n");
}

/* What a watch saw. */
typedef struct Seen {
	EtcdEventType type[16];
	char key[16][64], value[16][16];
	int64_t mod_revision[16];
	size_t n;
	size_t n_progress;
	int64_t progress_revision;
	bool ended, compacted;
	int error;
	EtcdWatch *w;
	bool cancel_on_event;    /* etcd_watch_cancel() from inside the first event */
	EtcdClient *free_client; /* etcd_client_free() it from inside the first event */
	bool freed;
} Seen;

static void on_event(EtcdEventType type, const EtcdKv *kv, void *userdata)
{
	Seen *s = userdata;

	CHECK(!in_call, "a watch callback from inside a call");
	CHECK(!s->ended, "an event after the end");
	CHECK(s->n < ELEMENTSOF(s->type), "too many events");
	s->type[s->n] = type;
	snprintf(s->key[s->n], sizeof(s->key[0]), "%s", kv->key);
	snprintf(s->value[s->n], sizeof(s->value[0]), "%s",
	         type == ETCD_EVENT_PUT ? (char *)kv->value : "");
	s->mod_revision[s->n] = kv->mod_revision;
	s->n++;
	if (s->cancel_on_event) {
		etcd_watch_cancel(s->w);
	}
	if (s->free_client) {
		s->free_client = etcd_client_free(s->free_client);
		s->freed = true;
	}
}

static void on_progress(int64_t revision, void *userdata)
{
	Seen *s = userdata;

	CHECK(!in_call, "a progress callback from inside a call");
	s->n_progress++;
	s->progress_revision = revision;
}

static void on_ended(int error, bool compacted, void *userdata)
{
	Seen *s = userdata;

	CHECK(!in_call, "an ended callback from inside a call");
	CHECK(!s->ended, "ended twice");
	s->ended = true;
	s->error = error;
	s->compacted = compacted;
}

static const EtcdWatchOps watch_ops = {
        .event = on_event,
        .progress = on_progress,
        .ended = on_ended,
};

static EtcdWatch *watch(const char *prefix, int64_t rev, Seen *s)
{
	int r;

	in_call = true;
	r = etcd_watch(ec, prefix, rev, &watch_ops, s, &s->w);
	in_call = false;
	CHECK(r == 0, "etcd_watch: %s", strerror(-r));
	return s->w;
}

static bool got_events(const Seen *s, size_t n)
{
	return s->n >= n;
}

static void run_until_events(const Seen *s, size_t n)
{
	uint64_t deadline = now_msec() + 60000;

	while (!got_events(s, n)) {
		CHECK(!s->ended, "the watch ended: %s", strerror(-s->error));
		CHECK(now_msec() < deadline, "%zu events, not %zu", s->n, n);
		CHECK(sd_event_run(event, 100000) >= 0, "sd_event_run");
	}
}

static void run_until_progress(const Seen *s, size_t n)
{
	uint64_t deadline = now_msec() + 60000;

	while (s->n_progress < n) {
		CHECK(!s->ended, "the watch ended: %s", strerror(-s->error));
		CHECK(now_msec() < deadline, "%zu progress calls, not %zu", s->n_progress, n);
		CHECK(sd_event_run(event, 100000) >= 0, "sd_event_run");
	}
}

/* PUT and DELETE events in order; progress; cancel from inside a callback. */
static void case_watch(const char *prefix, bool want_notify)
{
	_cleanup_free_ char *ka = key_of(prefix, "a"), *kb = key_of(prefix, "b");
	Seen s = {0}, c = {0};
	Result res = {0};
	int64_t rev, ma;

	get(prefix, true, &res);
	check_ok(&res, "get");
	rev = res.revision;
	watch(prefix, rev + 1, &s);
	c.cancel_on_event = true;
	watch(prefix, rev + 1, &c);
	/* The created answer comes as progress at the store's revision. */
	run_until_progress(&s, 1);
	CHECK(s.progress_revision >= rev, "created at %" PRId64 " < %" PRId64, s.progress_revision,
	      rev);

	put_if(ka, "A1", 2, 0, &res);
	CHECK(res.error == 0 && res.succeeded, "put a");
	ma = res.revision;
	put_if(kb, "B1", 2, 0, &res);
	CHECK(res.error == 0 && res.succeeded, "put b");
	put_if(ka, "A2", 2, ma, &res);
	CHECK(res.error == 0 && res.succeeded, "update a");
	del(ka, false, &res);
	CHECK(res.error == 0 && res.deleted == 1, "delete a");
	run_until_events(&s, 4);
	CHECK(s.type[0] == ETCD_EVENT_PUT && strcmp(s.key[0], ka) == 0 &&
	              strcmp(s.value[0], "A1") == 0 && s.mod_revision[0] == ma,
	      "event 1: %d %s=%s", s.type[0], s.key[0], s.value[0]);
	CHECK(s.type[1] == ETCD_EVENT_PUT && strcmp(s.key[1], kb) == 0 &&
	              strcmp(s.value[1], "B1") == 0,
	      "event 2: %d %s=%s", s.type[1], s.key[1], s.value[1]);
	CHECK(s.type[2] == ETCD_EVENT_PUT && strcmp(s.key[2], ka) == 0 &&
	              strcmp(s.value[2], "A2") == 0,
	      "event 3: %d %s=%s", s.type[2], s.key[2], s.value[2]);
	CHECK(s.type[3] == ETCD_EVENT_DELETE && strcmp(s.key[3], ka) == 0 &&
	              s.mod_revision[3] == res.revision,
	      "event 4: %d %s at %" PRId64, s.type[3], s.key[3], s.mod_revision[3]);
	for (size_t i = 1; i < 4; i++) {
		CHECK(s.mod_revision[i] > s.mod_revision[i - 1], "revisions out of order");
	}
	printf("watch: PUT a, PUT b, PUT a, DELETE a in order\n");
	/* The watch that cancelled itself in its first event saw just that one, no end. */
	CHECK(c.n == 1 && !c.ended, "cancelled watch: %zu events, ended %d", c.n, c.ended);

	if (want_notify) {
		size_t before = s.n_progress;

		/* etcd runs with a progress interval of a second (ETCD_EXTRA_ARGS). */
		run_until_progress(&s, before + 1);
		CHECK(s.progress_revision >= res.revision, "progress at %" PRId64,
		      s.progress_revision);
		printf("watch: progress notification at %" PRId64 "\n", s.progress_revision);
	}
	etcd_watch_cancel(s.w);
	run_for(200);
	CHECK(!s.ended, "ended after cancel");
	del(prefix, true, &res);
	result_clear(&res);
}

/* A watch from a compacted revision ends with compacted. */
static void case_compacted(const char *prefix, int64_t rev)
{
	Seen s = {0};

	watch(prefix, rev, &s);
	run_until(&s.ended);
	CHECK(s.compacted && s.error < 0, "ended: error %d, compacted %d", s.error, s.compacted);
	CHECK(s.n == 0, "%zu events from a compacted revision", s.n);
	printf("compacted: ok\n");
}

/* Every request fails with -ETIMEDOUT, in the timeout (or a little later). */
static void case_timeout(uint64_t slack_msec)
{
	Result res = {0};
	Seen s = {0};
	uint64_t t0 = now_msec(), dt;

	get("/probe/x", false, &res);
	dt = now_msec() - t0;
	CHECK(res.error == -ETIMEDOUT, "get: %s (%s)", strerror(-res.error), res.message);
	CHECK(dt + 50 >= arg_timeout && dt <= arg_timeout + slack_msec,
	      "timed out after %" PRIu64 " ms (timeout %" PRIu64 ")", dt, arg_timeout);
	printf("timeout: get -ETIMEDOUT after %" PRIu64 " ms\n", dt);
	t0 = now_msec();
	put_if("/probe/x", "v", 1, 0, &res);
	dt = now_msec() - t0;
	CHECK(res.error == -ETIMEDOUT && dt <= arg_timeout + slack_msec, "put_if: %s",
	      strerror(-res.error));
	/* A watch's connect has the same timeout; after that it hangs like any stream, so only
	 * see that it does not end with a success. */
	watch("/probe/", 0, &s);
	run_for(200);
	etcd_watch_cancel(s.w);
	CHECK(s.n == 0 && s.n_progress == 0, "a watch on a dead member saw something");
	result_clear(&res);
}

/* The first endpoint is dead (refused or silent): its request fails, the next goes to the
 * second, which works; then the watch goes there too. */
static void case_rotate(const char *prefix)
{
	_cleanup_free_ char *k = key_of(prefix, "r");
	Result res = {0};
	Seen s = {0};

	get(k, false, &res);
	CHECK(res.error == -ECONNREFUSED || res.error == -ETIMEDOUT, "first endpoint: %s (%s)",
	      strerror(-res.error), res.message);
	printf("rotate: first endpoint %s\n", strerror(-res.error));
	get(k, false, &res);
	check_ok(&res, "second endpoint");
	watch(prefix, res.revision + 1, &s);
	run_until_progress(&s, 1);
	put_if(k, "x", 1, 0, &res);
	check_ok(&res, "put on the second endpoint");
	run_until_events(&s, 1);
	etcd_watch_cancel(s.w);
	del(k, false, &res);
	result_clear(&res);
	printf("rotate: ok\n");
}

static void on_never(EtcdClient *c, const EtcdResponse *resp, void *userdata)
{
	CHECK(false, "the callback of a cancelled request came");
}

static void on_free_client(EtcdClient *c, const EtcdResponse *resp, void *userdata)
{
	bool *flag = userdata;

	CHECK(!*flag, "a callback after the client was freed");
	*flag = true;
	ec = etcd_client_free(ec);
}

/* A request of a client that a watch event frees: it may answer before, never after. */
static void on_before_free(EtcdClient *c, const EtcdResponse *resp, void *userdata)
{
	const Seen *s = userdata;

	CHECK(!s->freed, "a callback after the client was freed");
}

static const EtcdWatchOps never_ops = {
        .event = on_event,
        .progress = on_progress,
        .ended = on_ended,
};

/* Cancel requests and watches; free the client from inside callbacks. */
static void case_cancel(const char *prefix, const EtcdOptions *o)
{
	_cleanup_free_ char *k = key_of(prefix, "c");
	EtcdRequest *r1 = NULL, *r2 = NULL, *r3 = NULL;
	Result res = {0};
	Seen s = {0}, s2 = {0};
	bool freed = false;

	CHECK(etcd_get(ec, k, false, on_never, NULL, &r1) == 0, "get");
	CHECK(etcd_put_if(ec, k, "v", 1, 0, on_never, NULL, &r2) == 0, "put_if");
	CHECK(etcd_delete(ec, k, true, on_never, NULL, &r3) == 0, "delete");
	etcd_request_cancel(r2);
	etcd_request_cancel(r1);
	etcd_request_cancel(NULL);
	CHECK(etcd_watch(ec, prefix, 0, &never_ops, &s, &s.w) == 0, "watch");
	etcd_watch_cancel(s.w);
	etcd_watch_cancel(NULL);
	etcd_request_cancel(r3);
	run_for(20);
	/* A request after them answers, and none of theirs came. */
	get(k, false, &res);
	check_ok(&res, "get after the cancels");
	CHECK(res.n_kvs == 0, "the cancelled put happened");
	CHECK(!s.ended && s.n_progress == 0, "the cancelled watch called back");

	/* Free the client from a request's callback while others and a watch are running. */
	CHECK(etcd_watch(ec, prefix, 0, &never_ops, &s2, &s2.w) == 0, "watch");
	CHECK(etcd_get(ec, k, false, on_free_client, &freed, NULL) == 0, "get");
	CHECK(etcd_get(ec, k, false, on_free_client, &freed, NULL) == 0, "get");
	CHECK(etcd_get(ec, k, true, on_free_client, &freed, NULL) == 0, "get");
	run_until(&freed);
	CHECK(!ec, "not freed");
	run_for(300);
	CHECK(!s2.ended, "the watch ended after the client was freed");

	/* Free it from inside a watch event, with a request outstanding that must never answer
	 * after that. */
	{
		EtcdClient *mine = NULL;
		Result r = {0};

		CHECK(etcd_client_new(event, o, &mine) == 0, "etcd_client_new");
		CHECK(etcd_client_new(event, o, &ec) == 0, "etcd_client_new");
		s2 = (Seen){.free_client = mine};
		CHECK(etcd_watch(mine, prefix, 0, &never_ops, &s2, &s2.w) == 0, "watch");
		run_until_progress(&s2, 1);
		CHECK(etcd_get(mine, k, false, on_before_free, &s2, NULL) == 0, "get");
		/* Another client writes; ours sees the event and is freed in it. */
		put_if(k, "z", 1, 0, &r);
		check_ok(&r, "put");
		run_until(&s2.freed);
		run_for(300);
		CHECK(s2.n == 1 && !s2.ended, "after free: %zu events, ended %d", s2.n, s2.ended);
		del(k, false, &r);
		result_clear(&r);
	}
	/* And free it with everything outstanding, outside any callback. */
	CHECK(etcd_get(ec, k, false, on_never, NULL, NULL) == 0, "get");
	CHECK(etcd_watch(ec, prefix, 0, &never_ops, &s, NULL) == 0, "watch");
	ec = etcd_client_free(ec);
	run_for(200);
	CHECK(etcd_client_free(NULL) == NULL, "free(NULL)");
	result_clear(&res);
	printf("cancel: ok\n");
}

/* A watch on a member that hangs (the test stops it once "created" is out, then writes a
 * line to our stdin): a request there times out, and that ends the watch too. */
static void case_hung(const char *prefix)
{
	Seen s = {0};
	Result res = {0};
	char line[16];

	watch(prefix, 0, &s);
	run_until_progress(&s, 1);
	printf("created\n");
	fflush(stdout);
	CHECK(fgets(line, sizeof(line), stdin), "no go from the test");
	get(prefix, true, &res);
	CHECK(res.error == -ETIMEDOUT, "get on a stopped member: %s", strerror(-res.error));
	/* In the same turn of the loop as the request's answer. */
	run_until_within(&s.ended, 5000);
	CHECK(s.error == -ETIMEDOUT && !s.compacted, "the watch ended with %s", strerror(-s.error));
	printf("hung: the watch ended with the request's timeout\n");
	result_clear(&res);
}

/* Watch until the stream ends (the test kills the member): print how. */
static void case_watch_end(const char *prefix)
{
	Seen s = {0};

	watch(prefix, 0, &s);
	run_until_progress(&s, 1);
	printf("created\n");
	fflush(stdout);
	run_until(&s.ended);
	CHECK(s.error < 0 && !s.compacted, "ended: %d, compacted %d", s.error, s.compacted);
	printf("ended: %s\n", strerror(-s.error));
}

/* A prefix whose answer is larger than 16 MiB: -EPROTO, and the client still works. */
static void case_big(const char *prefix)
{
	size_t len = 1400 * 1024;
	_cleanup_free_ char *v = malloc(len);
	Result res = {0};
	int n = 0;

	CHECK(v, "out of memory");
	memset(v, 'x', len);
	/* 13 values of 1.4 MB: about 24 MiB of base64. */
	for (int i = 0; i < 13; i++) {
		_cleanup_free_ char *k = NULL;

		CHECK(asprintf(&k, "%sbig%02d", prefix, i) >= 0, "out of memory");
		put_if(k, v, len, 0, &res);
		check_ok(&res, "put");
		n++;
	}
	/* etcd's own error: a request over its 1.5 MiB limit. */
	{
		_cleanup_free_ char *k = key_of(prefix, "huge"), *huge = calloc(1, 2 << 20);

		CHECK(huge, "out of memory");
		put_if(k, huge, 2 << 20, 0, &res);
		CHECK(res.error == -EIO && strstr(res.message, "large"), "a 2 MiB value: %s (%s)",
		      strerror(-res.error), res.message);
		printf("big: a 2 MiB value: -EIO (%s)\n", res.message);
	}
	get(prefix, true, &res);
	CHECK(res.error == -EPROTO, "a %d x 1.4 MB answer: %s", n, strerror(-res.error));
	printf("big: -EPROTO (%s)\n", res.message);
	get(prefix, false, &res);
	check_ok(&res, "after the big answer");
	del(prefix, true, &res);
	check_ok(&res, "delete");
	result_clear(&res);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"timeout", required_argument, NULL, 't'},
	        {},
	};
	char *eps[8], *list, *tok, *save = NULL;
	EtcdOptions o = {.endpoints = eps};
	const char *cmd;
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 't') {
			arg_timeout = strtoull(optarg, NULL, 10);
		} else {
			return 2;
		}
	}
	if (argc - optind < 2) {
		fprintf(stderr, "usage: etcd-probe [--timeout=MS] ENDPOINT[,...] CASE [ARGS]\n");
		return 2;
	}
	list = argv[optind];
	for (tok = strtok_r(list, ",", &save); tok && o.n_endpoints < ELEMENTSOF(eps);
	     tok = strtok_r(NULL, ",", &save)) {
		eps[o.n_endpoints++] = tok;
	}
	o.timeout_msec = arg_timeout;
	cmd = argv[optind + 1];
	CHECK(sd_event_default(&event) >= 0, "sd_event_default");
	{
		EtcdOptions none = {.endpoints = eps, .n_endpoints = 0};
		EtcdClient *x = NULL;

		CHECK(etcd_client_new(event, &none, &x) == -EINVAL && !x, "no endpoints");
	}
	CHECK(etcd_client_new(event, &o, &ec) == 0, "etcd_client_new");
	if (strcmp(cmd, "kv") == 0 && argc - optind == 3) {
		case_kv(argv[optind + 2]);
	} else if (strcmp(cmd, "watch") == 0 && argc - optind >= 3) {
		case_watch(argv[optind + 2], argc - optind == 4);
	} else if (strcmp(cmd, "compacted") == 0 && argc - optind == 4) {
		case_compacted(argv[optind + 2], strtoll(argv[optind + 3], NULL, 10));
	} else if (strcmp(cmd, "timeout") == 0 && argc - optind == 3) {
		case_timeout(strtoull(argv[optind + 2], NULL, 10));
	} else if (strcmp(cmd, "rotate") == 0 && argc - optind == 3) {
		case_rotate(argv[optind + 2]);
	} else if (strcmp(cmd, "cancel") == 0 && argc - optind == 3) {
		case_cancel(argv[optind + 2], &o);
	} else if (strcmp(cmd, "hung") == 0 && argc - optind == 3) {
		case_hung(argv[optind + 2]);
	} else if (strcmp(cmd, "watch-end") == 0 && argc - optind == 3) {
		case_watch_end(argv[optind + 2]);
	} else if (strcmp(cmd, "big") == 0 && argc - optind == 3) {
		case_big(argv[optind + 2]);
	} else {
		fprintf(stderr, "etcd-probe: unknown case or arguments: %s\n", cmd);
		return 2;
	}
	ec = etcd_client_free(ec);
	sd_event_unref(event);
	return 0;
}
