/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A client of etcd's v3 API through its JSON gateway (POST /v3/kv/range, /v3/kv/txn,
 * /v3/kv/deleterange, /v3/watch), with libcurl's multi interface driven by the sd-event loop:
 * nothing here ever blocks.  Keys and values are base64 in the JSON (libsodium's base64),
 * 64-bit numbers strings; answers are parsed with json-c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

typedef struct EtcdClient EtcdClient;
typedef struct EtcdRequest EtcdRequest;

typedef struct EtcdOptions {
	char **endpoints; /* "http(s)://HOST:PORT", at least one; copied */
	size_t n_endpoints;
	const char *cacert, *cert, *key; /* NULL or "" for none; paths copied */
	uint64_t timeout_msec;           /* each unary request, connect included */
} EtcdOptions;

/* One key-value pair as etcd returns it (mvccpb.KeyValue). */
typedef struct EtcdKv {
	char *key;      /* NUL-terminated (our keys are text) */
	uint8_t *value; /* NUL-terminated too, value_len bytes before it */
	size_t value_len;
	int64_t create_revision, mod_revision, version;
} EtcdKv;

typedef struct EtcdResponse {
	/* 0, or -ETIMEDOUT, -ECONNREFUSED/-EHOSTUNREACH (transport, TLS included),
	 * -ECONNRESET (the connection broke), -EPROTO (an answer that is not etcd's JSON, or
	 * larger than 16 MiB), -EIO (etcd's error, e.g. no leader: see message), -ENOMEM. */
	int error;
	const char *message; /* etcd's or curl's error text, or NULL */
	int64_t revision;    /* header.revision: the store's revision when answered */
	bool succeeded;      /* txn: whether the compare held */
	EtcdKv *kvs;         /* range, or txn's failure branch (the key's current value) */
	size_t n_kvs;
	int64_t deleted;     /* deleterange */
} EtcdResponse;

/* A unary request's answer, exactly once unless cancelled; resp and its kvs are valid only
 * during the call.  The request is freed after the callback returns. */
typedef void (*etcd_done_t)(EtcdClient *ec, const EtcdResponse *resp, void *userdata);

/*
 * A client on this event loop (it holds a reference to it).  Requests go to one endpoint at a
 * time; any failure there (transport, timeout, or an etcd error such as no leader) moves to
 * the next for later requests and watches (the failed one is reported, not retried: the
 * caller decides).  timeout_msec 0 means 5 s.  Returns 0, -EINVAL (no endpoints) or -ENOMEM.
 * Every callback comes from the event loop, never from inside a call of this API.
 */
int etcd_client_new(sd_event *event, const EtcdOptions *o, EtcdClient **ret);
/* Cancel everything (no callbacks) and free; also from inside a callback.  Accepts NULL,
 * returns NULL. */
EtcdClient *etcd_client_free(EtcdClient *ec);

/*
 * Range: one key, or with prefix every key starting with `key` (range_end computed).  A
 * linearizable read, so a success means a quorum answered.  *ret (may be NULL) for
 * etcd_request_cancel().  Returns 0 (the callback comes later, never from inside) or -errno.
 */
int etcd_get(EtcdClient *ec, const char *key, bool prefix, etcd_done_t done, void *userdata,
             EtcdRequest **ret);

/*
 * A transaction: if the key's mod_revision equals `mod_revision` (0: the key does not exist),
 * put value; otherwise range the key (resp->kvs then holds its current value, or nothing when
 * it is gone) and resp->succeeded is false.  Compare-and-swap for read-modify-write.
 */
int etcd_put_if(EtcdClient *ec, const char *key, const void *value, size_t len,
                int64_t mod_revision, etcd_done_t done, void *userdata, EtcdRequest **ret);

/* Delete one key (or with prefix every key under it).  resp->deleted says how many. */
int etcd_delete(EtcdClient *ec, const char *key, bool prefix, etcd_done_t done, void *userdata,
                EtcdRequest **ret);

/* Cancel a request that has not answered (its callback never comes).  Accepts NULL. */
void etcd_request_cancel(EtcdRequest *r);

typedef enum EtcdEventType { ETCD_EVENT_PUT, ETCD_EVENT_DELETE } EtcdEventType;

typedef struct EtcdWatchOps {
	/* One event, in revision order; kv valid during the call (for DELETE only key and
	 * mod_revision are set). */
	void (*event)(EtcdEventType type, const EtcdKv *kv, void *userdata);
	/* The stream is live (the created response came), or a progress notification:
	 * revision is the store's.  Optional. */
	void (*progress)(int64_t revision, void *userdata);
	/* The watch ended: error as EtcdResponse.error (-ECONNRESET when the stream ended or
	 * broke, -EIO when etcd cancelled it, e.g. its member lost the leader, or the transport
	 * error of a unary request to the same endpoint: a hung member's stream stays silent,
	 * so a request that fails there ends the watch too); compacted true
	 * (error -ESTALE) when start_revision is older than etcd keeps (re-read everything, then
	 * watch from the new revision).  Called once; the watch is freed after it returns. */
	void (*ended)(int error, bool compacted, void *userdata);
} EtcdWatchOps;

typedef struct EtcdWatch EtcdWatch;

/*
 * Watch every key under prefix from start_revision on (the gateway's streaming POST
 * /v3/watch, with progress_notify), until etcd_watch_cancel() or an error (ops->ended).
 * Returns 0 or -errno.
 */
int etcd_watch(EtcdClient *ec, const char *prefix, int64_t start_revision,
               const EtcdWatchOps *ops, void *userdata, EtcdWatch **ret);
/* Stop (no ended callback; also from inside one of its callbacks).  Accepts NULL. */
void etcd_watch_cancel(EtcdWatch *w);
