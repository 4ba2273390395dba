/* SPDX-License-Identifier: GPL-3.0-or-later */
/* etcd's v3 API through its JSON gateway, with libcurl's multi interface on the sd-event loop. */
/*
 * Why the gateway and not gRPC: Debian 12 packages no maintained C gRPC client for etcd, while
 * libcurl is in every Debian installation and the JSON gateway is etcd's documented v3 API (the
 * same methods, the same revisions and transactions).  json-c parses, libsodium does base64;
 * the cost is HTTP/1.1 and base64, small beside a quorum write.
 */
#include "etcd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <sodium.h>

#include "log.h"
#include "macro.h"

/* The largest answer (a unary body, one object of the watch stream) we hold. */
#define ETCD_ANSWER_MAX (16u << 20)

/* What CURLINFO_PRIVATE points at: a request or a watch, told apart by this first member. */
typedef struct EtcdTransfer {
	bool is_watch;
} EtcdTransfer;

/* One socket curl asked us to watch; the io source has a dup of it (see ec_socket_cb). */
typedef struct EtcdSocket {
	EtcdClient *ec;
	curl_socket_t fd;
	sd_event_source *source;
	struct EtcdSocket *prev, *next;
} EtcdSocket;

typedef enum EtcdKind { KIND_RANGE, KIND_TXN, KIND_DELETE } EtcdKind;

struct EtcdRequest {
	EtcdTransfer t;
	EtcdClient *ec;
	EtcdRequest *prev, *next; /* in ec->active, or in ec->done once finished */
	EtcdKind kind;
	CURL *easy;
	size_t endpoint;
	etcd_done_t done;
	void *userdata;
	char *body;
	size_t len, cap;
	bool too_big, oom, finished, delivering;
	CURLcode result;
	long http_code, os_errno;
	char errbuf[CURL_ERROR_SIZE];
};

struct EtcdWatch {
	EtcdTransfer t;
	EtcdClient *ec;
	EtcdWatch *prev, *next; /* in ec->watches until cancelled or ended */
	unsigned n_ref;
	CURL *easy;
	size_t endpoint;
	EtcdWatchOps ops;
	void *userdata;
	json_tokener *tok;
	size_t object_bytes; /* fed into the tokener since the last complete object */
	json_object **queue; /* complete objects not delivered yet, from queue_head on */
	size_t queue_head, n_queue, cap_queue;
	int error;           /* to end with: -EPROTO, -ENOMEM, or its endpoint's failure */
	const char *message; /* and why (static), or NULL */
	bool finished, gone;
	CURLcode result;
	long os_errno;
	char errbuf[CURL_ERROR_SIZE];
};

struct EtcdClient {
	unsigned n_ref;
	bool freed;
	sd_event *event;
	CURLM *multi;
	sd_event_source *timer, *dispatch;
	struct curl_slist *headers, *watch_headers;
	char **endpoints;
	size_t n_endpoints, current;
	char *cacert, *cert, *key;
	uint64_t timeout_msec;
	EtcdRequest *active, *done, *done_tail;
	EtcdWatch *watches;
	EtcdSocket *sockets;
};

/* Doubly linked lists through prev/next, head pointer given. */
#define LIST_PREPEND(head, item)                                                                   \
	do {                                                                                       \
		(item)->prev = NULL;                                                               \
		(item)->next = (head);                                                             \
		if (head) {                                                                        \
			(head)->prev = (item);                                                     \
		}                                                                                  \
		(head) = (item);                                                                   \
	} while (0)
#define LIST_REMOVE(head, item)                                                                    \
	do {                                                                                       \
		if ((item)->prev) {                                                                \
			(item)->prev->next = (item)->next;                                         \
		} else {                                                                           \
			(head) = (item)->next;                                                     \
		}                                                                                  \
		if ((item)->next) {                                                                \
			(item)->next->prev = (item)->prev;                                         \
		}                                                                                  \
		(item)->prev = (item)->next = NULL;                                                \
	} while (0)

static void json_object_putp(json_object **o)
{
	if (*o) {
		json_object_put(*o);
	}
}
#define _cleanup_json_ _cleanup_(json_object_putp)
DEFINE_TRIVIAL_CLEANUP_FUNC(json_tokener *, json_tokener_free)

static void ec_kick(EtcdClient *ec)
{
	(void)sd_event_source_set_enabled(ec->dispatch, SD_EVENT_ONESHOT);
}

static EtcdClient *ec_ref(EtcdClient *ec)
{
	ec->n_ref++;
	return ec;
}

static void ec_unref(EtcdClient *ec)
{
	if (--ec->n_ref > 0) {
		return;
	}
	for (size_t i = 0; i < ec->n_endpoints; i++) {
		free(ec->endpoints[i]);
	}
	free(ec->endpoints);
	free(ec->cacert);
	free(ec->cert);
	free(ec->key);
	free(ec);
}

/* ---- base64 and JSON helpers ---- */

static int b64_encode(const void *data, size_t len, char **ret)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n);

	if (!s) {
		return -ENOMEM;
	}
	sodium_bin2base64(s, n, data, len, sodium_base64_VARIANT_ORIGINAL);
	*ret = s;
	return 0;
}

/* Decode into a NUL-terminated buffer of *ret_len bytes (plus the NUL). */
static int b64_decode(const char *s, uint8_t **ret, size_t *ret_len)
{
	size_t slen = strlen(s), len = 0;
	const char *end = NULL;
	_cleanup_free_ uint8_t *bin = malloc(slen / 4 * 3 + 3 + 1);

	if (!bin) {
		return -ENOMEM;
	}
	if (sodium_base642bin(bin, slen / 4 * 3 + 3, s, slen, NULL, &len, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + slen) {
		return -EPROTO;
	}
	bin[len] = 0;
	*ret = TAKE_PTR(bin);
	*ret_len = len;
	return 0;
}

/* Add "name": base64(data) to o. */
static int json_add_b64(json_object *o, const char *name, const void *data, size_t len)
{
	_cleanup_free_ char *s = NULL;
	json_object *v;
	int r = b64_encode(data, len, &s);

	if (r < 0) {
		return r;
	}
	v = json_object_new_string(s);
	if (!v || json_object_object_add(o, name, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int json_add(json_object *o, const char *name, json_object *v)
{
	if (!v || json_object_object_add(o, name, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int json_array_add(json_object *a, json_object *v)
{
	if (!v || json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* An int64 field: absent is 0 (proto3 omits defaults), a string (how the gateway writes int64)
 * or a number. */
static int json_get_i64(json_object *parent, const char *name, int64_t *ret)
{
	json_object *v;
	const char *s;
	char *end;
	long long n;

	*ret = 0;
	if (!parent || !json_object_object_get_ex(parent, name, &v) || !v) {
		return 0;
	}
	if (json_object_is_type(v, json_type_int)) {
		*ret = json_object_get_int64(v);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string)) {
		return -EPROTO;
	}
	s = json_object_get_string(v);
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != 0) {
		return -EPROTO;
	}
	*ret = n;
	return 0;
}

static json_object *json_get(json_object *parent, const char *name, json_type type)
{
	json_object *v;

	if (!parent || !json_object_object_get_ex(parent, name, &v) ||
	    !json_object_is_type(v, type)) {
		return NULL;
	}
	return v;
}

static void kv_clear(EtcdKv *kv)
{
	free(kv->key);
	free(kv->value);
	*kv = (EtcdKv){0};
}

static void kvs_free(EtcdKv *kvs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		kv_clear(&kvs[i]);
	}
	free(kvs);
}

static int kv_parse(json_object *o, EtcdKv *kv)
{
	json_object *key = json_get(o, "key", json_type_string);
	json_object *value = json_get(o, "value", json_type_string);
	size_t klen;
	int r;

	*kv = (EtcdKv){0};
	if (!key) {
		return -EPROTO;
	}
	r = b64_decode(json_object_get_string(key), (uint8_t **)&kv->key, &klen);
	if (r >= 0) {
		r = b64_decode(value ? json_object_get_string(value) : "", &kv->value,
		               &kv->value_len);
	}
	if (r >= 0) {
		r = json_get_i64(o, "create_revision", &kv->create_revision);
	}
	if (r >= 0) {
		r = json_get_i64(o, "mod_revision", &kv->mod_revision);
	}
	if (r >= 0) {
		r = json_get_i64(o, "version", &kv->version);
	}
	if (r < 0) {
		kv_clear(kv);
	}
	return r;
}

/* The "kvs" array of a range answer (absent: none). */
static int kvs_parse(json_object *range, EtcdKv **ret, size_t *ret_n)
{
	json_object *arr = json_get(range, "kvs", json_type_array);
	size_t n = arr ? json_object_array_length(arr) : 0;
	EtcdKv *kvs;

	*ret = NULL;
	*ret_n = 0;
	if (n == 0) {
		return 0;
	}
	kvs = calloc(n, sizeof(*kvs));
	if (!kvs) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		int r = kv_parse(json_object_array_get_idx(arr, i), &kvs[i]);

		if (r < 0) {
			kvs_free(kvs, i);
			return r;
		}
	}
	*ret = kvs;
	*ret_n = n;
	return 0;
}

/* Parse exactly one JSON value filling buf[0..len) (whitespace around it allowed). */
static json_object *json_parse_buffer(const char *buf, size_t len)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = NULL;
	json_object *o;
	size_t end;

	if (len > INT_MAX || !(tok = json_tokener_new())) {
		return NULL;
	}
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o) {
		return NULL;
	}
	for (end = json_tokener_get_parse_end(tok); end < len; end++) {
		if (!strchr(" \t\r\n", buf[end])) {
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

/* etcd's error answer: {"error": "...", "code": N, "message": "..."}, or in a stream
 * {"error": {"grpc_code": N, "message": "..."}}.  Returns the message or NULL if not one. */
static const char *etcd_error_message(json_object *o)
{
	json_object *e, *m;

	if (!o || !json_object_object_get_ex(o, "error", &e)) {
		return NULL;
	}
	if ((m = json_get(o, "message", json_type_string)) ||
	    (m = json_get(e, "message", json_type_string))) {
		return json_object_get_string(m);
	}
	if (json_object_is_type(e, json_type_string)) {
		return json_object_get_string(e);
	}
	return "etcd error";
}

/* A curl failure as -errno. */
static int curl_to_errno(CURLcode c, long os_errno)
{
	switch (c) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return os_errno == EHOSTUNREACH || os_errno == ENETUNREACH ? -EHOSTUNREACH
		                                                           : -ECONNREFUSED;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
		return -ECONNREFUSED;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	default:
		return -EIO;
	}
}

/* ---- curl on sd-event ---- */

static void ec_collect(EtcdClient *ec);

static void ec_action(EtcdClient *ec, curl_socket_t fd, int mask)
{
	int running;

	(void)curl_multi_socket_action(ec->multi, fd, mask, &running);
	ec_collect(ec);
}

static int ec_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	EtcdSocket *es = userdata;
	int mask = 0;

	if (revents & EPOLLIN) {
		mask |= CURL_CSELECT_IN;
	}
	if (revents & EPOLLOUT) {
		mask |= CURL_CSELECT_OUT;
	}
	if (revents & (EPOLLERR | EPOLLHUP)) {
		mask |= CURL_CSELECT_ERR;
	}
	/* es may go (CURL_POLL_REMOVE) during the action. */
	ec_action(es->ec, es->fd, mask);
	return 0;
}

static void etcd_socket_free(EtcdSocket *es)
{
	LIST_REMOVE(es->ec->sockets, es);
	sd_event_source_disable_unref(es->source);
	free(es);
}

/*
 * curl closes a socket before it says CURL_POLL_REMOVE, and its number may be reused by then:
 * epoll gets a dup of it (systemd's curl glue does the same), owned by the io source.
 */
static int ec_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	EtcdClient *ec = userp;
	EtcdSocket *es = socketp;
	uint32_t events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (es) {
			etcd_socket_free(es);
		}
		return 0;
	}
	if (what & CURL_POLL_IN) {
		events |= EPOLLIN;
	}
	if (what & CURL_POLL_OUT) {
		events |= EPOLLOUT;
	}
	if (!es) {
		int dup_fd;

		es = calloc(1, sizeof(*es));
		if (!es) {
			return -1;
		}
		es->ec = ec;
		es->fd = fd;
		dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (dup_fd < 0 ||
		    sd_event_add_io(ec->event, &es->source, dup_fd, events, ec_on_io, es) < 0) {
			safe_close(dup_fd);
			free(es);
			return -1;
		}
		(void)sd_event_source_set_io_fd_own(es->source, true);
		(void)sd_event_source_set_description(es->source, "etcd-io");
		LIST_PREPEND(ec->sockets, es);
		if (curl_multi_assign(ec->multi, fd, es) != CURLM_OK) {
			etcd_socket_free(es);
			return -1;
		}
	} else if (sd_event_source_set_io_events(es->source, events) < 0) {
		return -1;
	}
	return sd_event_source_set_enabled(es->source, events ? SD_EVENT_ON : SD_EVENT_OFF) < 0 ? -1
	                                                                                        : 0;
}

static int ec_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	ec_action(userdata, CURL_SOCKET_TIMEOUT, 0);
	return 0;
}

static int ec_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	EtcdClient *ec = userp;
	struct timespec ts;
	uint64_t at;

	if (timeout_ms < 0) {
		if (ec->timer) {
			(void)sd_event_source_set_enabled(ec->timer, SD_EVENT_OFF);
		}
		return 0;
	}
	/* Never act from inside curl (its rule): 0 means as soon as the loop runs. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	at = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u +
	     (uint64_t)timeout_ms * 1000u;
	if (!ec->timer) {
		if (sd_event_add_time(ec->event, &ec->timer, CLOCK_MONOTONIC, at, 1000, ec_on_timer,
		                      ec) < 0) {
			return -1;
		}
		(void)sd_event_source_set_description(ec->timer, "etcd-timer");
		return 0;
	}
	if (sd_event_source_set_time(ec->timer, at) < 0 ||
	    sd_event_source_set_enabled(ec->timer, SD_EVENT_ONESHOT) < 0) {
		return -1;
	}
	return 0;
}

/* Finished transfers: detach them from curl and queue them for ec_dispatch. */
static void ec_collect(EtcdClient *ec)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(ec->multi, &left))) {
		CURL *easy = m->easy_handle;
		CURLcode result = m->data.result;
		EtcdTransfer *t = NULL;
		long os_errno = 0;

		if (m->msg != CURLMSG_DONE) {
			continue;
		}
		(void)curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
		(void)curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
		if (t->is_watch) {
			EtcdWatch *w = (EtcdWatch *)t;

			w->finished = true;
			w->result = result;
			w->os_errno = os_errno;
			(void)curl_multi_remove_handle(ec->multi, easy);
			curl_easy_cleanup(TAKE_PTR(w->easy));
		} else {
			EtcdRequest *r = (EtcdRequest *)t;

			r->result = result;
			r->os_errno = os_errno;
			(void)curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->http_code);
			(void)curl_multi_remove_handle(ec->multi, easy);
			curl_easy_cleanup(TAKE_PTR(r->easy));
			LIST_REMOVE(ec->active, r);
			r->finished = true;
			r->next = NULL;
			r->prev = ec->done_tail;
			if (ec->done_tail) {
				ec->done_tail->next = r;
			} else {
				ec->done = r;
			}
			ec->done_tail = r;
		}
		ec_kick(ec);
	}
}

/* A new POST to the current endpoint's path, with our options. */
static CURL *ec_easy_new(EtcdClient *ec, const char *path, const char *body, bool watch,
                         EtcdTransfer *t, char *errbuf)
{
	_cleanup_free_ char *url = NULL;
	CURL *easy;
	const char *ep = ec->endpoints[ec->current];
	size_t eplen = strlen(ep);
	bool ok;

	while (eplen > 0 && ep[eplen - 1] == '/') {
		eplen--;
	}
	if (asprintf(&url, "%.*s%s", (int)eplen, ep, path) < 0) {
		url = NULL;
		return NULL;
	}
	easy = curl_easy_init();
	if (!easy) {
		return NULL;
	}
	errbuf[0] = 0;
	ok = curl_easy_setopt(easy, CURLOPT_URL, url) == CURLE_OK &&
	     curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	     curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
	     curl_easy_setopt(easy, CURLOPT_PRIVATE, t) == CURLE_OK &&
	     curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
	     curl_easy_setopt(easy, CURLOPT_HTTPHEADER, watch ? ec->watch_headers : ec->headers) ==
	             CURLE_OK &&
	     curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, body) == CURLE_OK &&
	     curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)ec->timeout_msec) == CURLE_OK;
	if (ok && !watch) {
		ok = curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)ec->timeout_msec) == CURLE_OK;
	}
	if (ok && watch) {
		ok = curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK;
	}
	if (ok && ec->cacert) {
		ok = curl_easy_setopt(easy, CURLOPT_CAINFO, ec->cacert) == CURLE_OK;
	}
	if (ok && ec->cert) {
		ok = curl_easy_setopt(easy, CURLOPT_SSLCERT, ec->cert) == CURLE_OK;
	}
	if (ok && ec->key) {
		ok = curl_easy_setopt(easy, CURLOPT_SSLKEY, ec->key) == CURLE_OK;
	}
	if (!ok) {
		curl_easy_cleanup(easy);
		return NULL;
	}
	return easy;
}

/* ---- unary requests ---- */

static void request_free(EtcdRequest *r)
{
	if (r->easy) {
		(void)curl_multi_remove_handle(r->ec->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	free(r->body);
	free(r);
}

static size_t request_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	EtcdRequest *r = userdata;
	size_t n = size * nmemb;

	if (n > ETCD_ANSWER_MAX - r->len) {
		r->too_big = true;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = MAX(r->cap * 2, r->len + n + 1);
		char *b = realloc(r->body, MAX(cap, 4096u));

		if (!b) {
			r->oom = true;
			return 0;
		}
		r->body = b;
		r->cap = MAX(cap, 4096u);
	}
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = 0;
	return n;
}

static int request_start(EtcdClient *ec, EtcdKind kind, const char *path, json_object *body,
                         etcd_done_t done, void *userdata, EtcdRequest **ret)
{
	EtcdRequest *r;
	const char *s;

	if (!ec || ec->freed || !done) {
		return -EINVAL;
	}
	s = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	if (!s) {
		return -ENOMEM;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		return -ENOMEM;
	}
	r->ec = ec;
	r->kind = kind;
	r->done = done;
	r->userdata = userdata;
	r->endpoint = ec->current;
	r->easy = ec_easy_new(ec, path, s, false, &r->t, r->errbuf);
	if (!r->easy ||
	    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, request_write) != CURLE_OK ||
	    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r) != CURLE_OK) {
		request_free(r);
		return -ENOMEM;
	}
	if (curl_multi_add_handle(ec->multi, r->easy) != CURLM_OK) {
		curl_easy_cleanup(TAKE_PTR(r->easy));
		request_free(r);
		return -ENOMEM;
	}
	LIST_PREPEND(ec->active, r);
	if (ret) {
		*ret = r;
	}
	return 0;
}

/* The answer of a finished request, into resp; *ret_root and resp->kvs are the caller's. */
static void request_answer(EtcdRequest *r, EtcdResponse *resp, json_object **ret_root)
{
	json_object *root, *header;
	const char *msg;
	int e;

	*resp = (EtcdResponse){0};
	*ret_root = NULL;
	if (r->too_big) {
		resp->error = -EPROTO;
		resp->message = "etcd's answer is larger than 16 MiB";
		return;
	}
	if (r->oom) {
		resp->error = -ENOMEM;
		return;
	}
	if (r->result != CURLE_OK) {
		resp->error = curl_to_errno(r->result, r->os_errno);
		resp->message = r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->result);
		return;
	}
	root = *ret_root = r->body ? json_parse_buffer(r->body, r->len) : NULL;
	if (!root || !json_object_is_type(root, json_type_object)) {
		resp->error = -EPROTO;
		resp->message = "etcd's answer is not JSON";
		return;
	}
	if ((msg = etcd_error_message(root)) || r->http_code != 200) {
		resp->error = -EIO;
		resp->message = msg ? msg : "etcd answered an HTTP error";
		return;
	}
	header = json_get(root, "header", json_type_object);
	e = json_get_i64(header, "revision", &resp->revision);
	switch (r->kind) {
	case KIND_RANGE:
		if (e >= 0) {
			e = kvs_parse(root, &resp->kvs, &resp->n_kvs);
		}
		break;
	case KIND_TXN: {
		json_object *s = json_get(root, "succeeded", json_type_boolean);
		json_object *rs = json_get(root, "responses", json_type_array);

		resp->succeeded = s && json_object_get_boolean(s);
		if (e >= 0 && !resp->succeeded && rs && json_object_array_length(rs) > 0) {
			json_object *rr = json_get(json_object_array_get_idx(rs, 0),
			                           "response_range", json_type_object);

			e = kvs_parse(rr, &resp->kvs, &resp->n_kvs);
		}
		break;
	}
	case KIND_DELETE:
		if (e >= 0) {
			e = json_get_i64(root, "deleted", &resp->deleted);
		}
		break;
	}
	if (e < 0) {
		resp->error = e;
		resp->message = e == -ENOMEM ? NULL : "etcd's answer does not parse";
	}
}

static void ec_rotate(EtcdClient *ec, size_t failed, int error, const char *message)
{
	if (failed != ec->current || ec->n_endpoints < 2) {
		return;
	}
	ec->current = (ec->current + 1) % ec->n_endpoints;
	log_debug_errno(error, "etcd: %s failed (%s: %m), next: %s", ec->endpoints[failed],
	                message ? message : "", ec->endpoints[ec->current]);
}

static void request_deliver(EtcdRequest *r)
{
	EtcdClient *ec = r->ec;
	_cleanup_json_ json_object *root = NULL;
	EtcdResponse resp;

	request_answer(r, &resp, &root);
	if (resp.error < 0 && resp.error != -ENOMEM) {
		ec_rotate(ec, r->endpoint, resp.error, resp.message);
	}
	if (resp.error == -ETIMEDOUT || resp.error == -ECONNREFUSED ||
	    resp.error == -EHOSTUNREACH || resp.error == -ECONNRESET) {
		/* A hung member keeps a watch's stream open and silent: end the watches there
		 * too, so that they start again on the next endpoint. */
		for (EtcdWatch *w = ec->watches; w; w = w->next) {
			if (w->endpoint == r->endpoint && !w->error) {
				w->error = resp.error;
				w->message = "a request to its endpoint failed";
				ec_kick(ec);
			}
		}
	}
	r->delivering = true;
	r->done(ec, &resp, r->userdata);
	kvs_free(resp.kvs, resp.n_kvs);
	request_free(r);
}

void etcd_request_cancel(EtcdRequest *r)
{
	EtcdClient *ec;

	if (!r || r->delivering) {
		return;
	}
	ec = r->ec;
	if (r->finished) {
		if (r->prev) {
			r->prev->next = r->next;
		} else {
			ec->done = r->next;
		}
		if (r->next) {
			r->next->prev = r->prev;
		} else {
			ec->done_tail = r->prev;
		}
	} else {
		LIST_REMOVE(ec->active, r);
	}
	request_free(r);
}

/* range_end for every key starting with key[0..len): the key with its last byte incremented
 * (trailing 0xff bytes dropped); "\0" (every key from key on) when there is no such key. */
static int prefix_end(const char *key, size_t len, char **ret, size_t *ret_len)
{
	char *e = malloc(len + 1);

	if (!e) {
		return -ENOMEM;
	}
	memcpy(e, key, len);
	while (len > 0 && (uint8_t)e[len - 1] == 0xff) {
		len--;
	}
	if (len == 0) {
		e[0] = 0;
		len = 1;
	} else {
		e[len - 1]++;
	}
	*ret = e;
	*ret_len = len;
	return 0;
}

/* {"key": .., "range_end": ..} of a key or a prefix into o. */
static int add_range(json_object *o, const char *key, bool prefix)
{
	size_t len = strlen(key);
	int r;

	if (!prefix) {
		return json_add_b64(o, "key", key, len);
	}
	{
		_cleanup_free_ char *end = NULL;
		size_t end_len;

		/* The empty prefix: from "\0", the first key, to the end. */
		r = json_add_b64(o, "key", len ? key : "", len ? len : 1);
		if (r >= 0) {
			r = prefix_end(key, len, &end, &end_len);
		}
		if (r >= 0) {
			r = json_add_b64(o, "range_end", end, end_len);
		}
	}
	return r;
}

/* A range or deleterange of a key or a prefix. */
static int range_request(EtcdClient *ec, EtcdKind kind, const char *path, const char *key,
                         bool prefix, etcd_done_t done, void *userdata, EtcdRequest **ret)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	int r;

	if (!o) {
		return -ENOMEM;
	}
	r = add_range(o, key, prefix);
	if (r < 0) {
		return r;
	}
	return request_start(ec, kind, path, o, done, userdata, ret);
}

int etcd_get(EtcdClient *ec, const char *key, bool prefix, etcd_done_t done, void *userdata,
             EtcdRequest **ret)
{
	return range_request(ec, KIND_RANGE, "/v3/kv/range", key, prefix, done, userdata, ret);
}

int etcd_delete(EtcdClient *ec, const char *key, bool prefix, etcd_done_t done, void *userdata,
                EtcdRequest **ret)
{
	return range_request(ec, KIND_DELETE, "/v3/kv/deleterange", key, prefix, done, userdata,
	                     ret);
}

int etcd_put_if(EtcdClient *ec, const char *key, const void *value, size_t len,
                int64_t mod_revision, etcd_done_t done, void *userdata, EtcdRequest **ret)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *cmps, *cmp, *succ, *put_op, *put, *fail, *range_op, *range;
	size_t klen = strlen(key);
	int r;

	/* {"compare": [{key, target MOD, result EQUAL, mod_revision}],
	 *  "success": [{"request_put": {key, value}}], "failure": [{"request_range": {key}}]};
	 * each part goes into its parent at once, so freeing o frees everything. */
	if (!o) {
		return -ENOMEM;
	}
	if ((r = json_add(o, "compare", cmps = json_object_new_array())) < 0 ||
	    (r = json_array_add(cmps, cmp = json_object_new_object())) < 0 ||
	    (r = json_add_b64(cmp, "key", key, klen)) < 0 ||
	    (r = json_add(cmp, "target", json_object_new_string("MOD"))) < 0 ||
	    (r = json_add(cmp, "result", json_object_new_string("EQUAL"))) < 0 ||
	    (r = json_add(cmp, "mod_revision", json_object_new_int64(mod_revision))) < 0 ||
	    (r = json_add(o, "success", succ = json_object_new_array())) < 0 ||
	    (r = json_array_add(succ, put_op = json_object_new_object())) < 0 ||
	    (r = json_add(put_op, "request_put", put = json_object_new_object())) < 0 ||
	    (r = json_add_b64(put, "key", key, klen)) < 0 ||
	    (r = json_add_b64(put, "value", value, len)) < 0 ||
	    (r = json_add(o, "failure", fail = json_object_new_array())) < 0 ||
	    (r = json_array_add(fail, range_op = json_object_new_object())) < 0 ||
	    (r = json_add(range_op, "request_range", range = json_object_new_object())) < 0 ||
	    (r = json_add_b64(range, "key", key, klen)) < 0) {
		return r;
	}
	return request_start(ec, KIND_TXN, "/v3/kv/txn", o, done, userdata, ret);
}

/* ---- watches ---- */

static EtcdWatch *watch_ref(EtcdWatch *w)
{
	w->n_ref++;
	return w;
}

static void watch_unref(EtcdWatch *w)
{
	if (--w->n_ref > 0) {
		return;
	}
	for (size_t i = w->queue_head; i < w->n_queue; i++) {
		json_object_put(w->queue[i]);
	}
	free(w->queue);
	if (w->tok) {
		json_tokener_free(w->tok);
	}
	free(w);
}

/* Out of the client, no more callbacks; the memory goes with the last reference. */
static void watch_detach(EtcdWatch *w)
{
	if (w->gone) {
		return;
	}
	w->gone = true;
	LIST_REMOVE(w->ec->watches, w);
	if (w->easy) {
		(void)curl_multi_remove_handle(w->ec->multi, w->easy);
		curl_easy_cleanup(TAKE_PTR(w->easy));
	}
	watch_unref(w);
}

void etcd_watch_cancel(EtcdWatch *w)
{
	if (w) {
		watch_detach(w);
	}
}

static int watch_push(EtcdWatch *w, json_object *o)
{
	if (w->n_queue == w->cap_queue) {
		size_t cap = MAX(w->cap_queue * 2, 8u);
		json_object **q;

		if (w->queue_head > 0) {
			/* Reuse the consumed front first. */
			memmove(w->queue, w->queue + w->queue_head,
			        (w->n_queue - w->queue_head) * sizeof(*q));
			w->n_queue -= w->queue_head;
			w->queue_head = 0;
		}
		if (w->n_queue == w->cap_queue) {
			q = realloc(w->queue, cap * sizeof(*q));
			if (!q) {
				return -ENOMEM;
			}
			w->queue = q;
			w->cap_queue = cap;
		}
	}
	w->queue[w->n_queue++] = o;
	return 0;
}

/* The stream: one JSON object after another, each parsed as soon as it is complete; callbacks
 * come later, from ec_dispatch (never from inside curl). */
static size_t watch_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	EtcdWatch *w = userdata;
	size_t n = size * nmemb, total = n;

	while (n > 0) {
		int chunk = (int)MIN(n, (size_t)INT_MAX);
		json_object *o = json_tokener_parse_ex(w->tok, ptr, chunk);
		enum json_tokener_error e = json_tokener_get_error(w->tok);

		if (o) {
			size_t used = json_tokener_get_parse_end(w->tok);

			json_tokener_reset(w->tok);
			w->object_bytes = 0;
			if (watch_push(w, o) < 0) {
				json_object_put(o);
				w->error = -ENOMEM;
				return 0;
			}
			ec_kick(w->ec);
			if (used == 0) {
				used = 1;
			}
			ptr += used;
			n -= MIN(used, n);
			continue;
		}
		if (e != json_tokener_continue) {
			w->error = -EPROTO;
			w->message = "a watch answer that is not etcd's JSON";
			return 0;
		}
		w->object_bytes += (size_t)chunk;
		if (w->object_bytes > ETCD_ANSWER_MAX) {
			w->error = -EPROTO;
			w->message = "a watch answer larger than 16 MiB";
			return 0;
		}
		n -= (size_t)chunk;
	}
	return total;
}

int etcd_watch(EtcdClient *ec, const char *prefix, int64_t start_revision, const EtcdWatchOps *ops,
               void *userdata, EtcdWatch **ret)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *c = json_object_new_object();
	EtcdWatch *w;
	const char *s;
	int r;

	if (!ec || ec->freed || !ops || !ops->event || !ops->ended) {
		json_object_put(c);
		return -EINVAL;
	}
	if (!o || json_add(o, "create_request", c) < 0) {
		return -ENOMEM;
	}
	if ((r = add_range(c, prefix, true)) < 0 ||
	    (r = json_add(c, "start_revision", json_object_new_int64(start_revision))) < 0 ||
	    (r = json_add(c, "progress_notify", json_object_new_boolean(true))) < 0) {
		return r;
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	w = calloc(1, sizeof(*w));
	if (!s || !w) {
		free(w);
		return -ENOMEM;
	}
	w->t.is_watch = true;
	w->n_ref = 1;
	w->ec = ec;
	w->ops = *ops;
	w->userdata = userdata;
	w->endpoint = ec->current;
	w->tok = json_tokener_new();
	w->easy = ec_easy_new(ec, "/v3/watch", s, true, &w->t, w->errbuf);
	if (!w->tok || !w->easy ||
	    curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, watch_write) != CURLE_OK ||
	    curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w) != CURLE_OK ||
	    curl_multi_add_handle(ec->multi, w->easy) != CURLM_OK) {
		if (w->easy) {
			curl_easy_cleanup(w->easy);
		}
		w->easy = NULL;
		watch_unref(w);
		return -ENOMEM;
	}
	LIST_PREPEND(ec->watches, w);
	if (ret) {
		*ret = w;
	}
	return 0;
}

/* End the watch with ops->ended (once), unless it is gone already. */
static void watch_end(EtcdWatch *w, int error, bool compacted, const char *message)
{
	EtcdClient *ec = w->ec;

	if (w->gone) {
		return;
	}
	if (!compacted) {
		ec_rotate(ec, w->endpoint, error, message);
	}
	log_debug_errno(error, "etcd: watch on %s ended%s: %s (%m)", ec->endpoints[w->endpoint],
	                compacted ? " (compacted)" : "", message ? message : "");
	/* Out of the client first: ended may start a new watch, or free the client. */
	w->gone = true;
	LIST_REMOVE(ec->watches, w);
	if (w->easy) {
		(void)curl_multi_remove_handle(ec->multi, w->easy);
		curl_easy_cleanup(TAKE_PTR(w->easy));
	}
	w->ops.ended(error, compacted, w->userdata);
	watch_unref(w);
}

/* One object of the stream: events, progress, or the end. */
static void watch_handle(EtcdWatch *w, json_object *o)
{
	json_object *res = json_get(o, "result", json_type_object), *events, *b;
	const char *msg = etcd_error_message(o);
	int64_t revision = 0, compact = 0;

	if (msg || !res) {
		watch_end(w, msg ? -EIO : -EPROTO, false, msg ? msg : "not a watch response");
		return;
	}
	if (json_get_i64(json_get(res, "header", json_type_object), "revision", &revision) < 0 ||
	    json_get_i64(res, "compact_revision", &compact) < 0) {
		watch_end(w, -EPROTO, false, "a watch response does not parse");
		return;
	}
	if (compact > 0) {
		watch_end(w, -ESTALE, true, "the start revision is compacted");
		return;
	}
	if ((b = json_get(res, "canceled", json_type_boolean)) && json_object_get_boolean(b)) {
		json_object *reason = json_get(res, "cancel_reason", json_type_string);

		watch_end(w, -EIO, false,
		          reason ? json_object_get_string(reason) : "etcd cancelled the watch");
		return;
	}
	events = json_get(res, "events", json_type_array);
	if (!events || json_object_array_length(events) == 0) {
		/* The created answer, or a progress notification. */
		if (w->ops.progress) {
			w->ops.progress(revision, w->userdata);
		}
		return;
	}
	for (size_t i = 0; i < json_object_array_length(events) && !w->gone; i++) {
		json_object *ev = json_object_array_get_idx(events, i);
		json_object *type = json_get(ev, "type", json_type_string);
		json_object *kvo = json_get(ev, "kv", json_type_object);
		EtcdEventType t = ETCD_EVENT_PUT;
		EtcdKv kv;
		int r;

		if (type && strcmp(json_object_get_string(type), "DELETE") == 0) {
			t = ETCD_EVENT_DELETE;
		} else if (type && strcmp(json_object_get_string(type), "PUT") != 0) {
			watch_end(w, -EPROTO, false, "an unknown watch event type");
			return;
		}
		r = kvo ? kv_parse(kvo, &kv) : -EPROTO;
		if (r < 0) {
			watch_end(w, r, false, "a watch event does not parse");
			return;
		}
		w->ops.event(t, &kv, w->userdata);
		kv_clear(&kv);
	}
}

/* Deliver what a watch has: its queued objects in order, then its end. */
static void watch_deliver(EtcdWatch *w)
{
	while (!w->gone && w->queue_head < w->n_queue) {
		_cleanup_json_ json_object *o = w->queue[w->queue_head];

		w->queue[w->queue_head++] = NULL;
		watch_handle(w, o);
	}
	if (!w->gone && w->queue_head == w->n_queue) {
		w->queue_head = w->n_queue = 0;
	}
	if (!w->gone && (w->finished || w->error)) {
		int e = w->error;

		if (e == 0) {
			e = w->result == CURLE_OK ? -ECONNRESET
			                          : curl_to_errno(w->result, w->os_errno);
		}
		watch_end(w, e, false,
		          w->message              ? w->message
		          : w->errbuf[0]          ? w->errbuf
		          : w->result == CURLE_OK ? "the watch stream ended"
		                                  : curl_easy_strerror(w->result));
	}
}

static bool watch_pending(EtcdWatch *w)
{
	return w->queue_head < w->n_queue || w->finished || w->error;
}

/* Every callback comes from here: finished requests in order, then the watches' news.  A
 * callback may start, cancel or free anything, the client included. */
static int ec_dispatch(sd_event_source *s, void *userdata)
{
	EtcdClient *ec = ec_ref(userdata);

	while (!ec->freed && ec->done) {
		EtcdRequest *r = ec->done;

		ec->done = r->next;
		if (ec->done) {
			ec->done->prev = NULL;
		} else {
			ec->done_tail = NULL;
		}
		r->next = r->prev = NULL;
		request_deliver(r);
	}
	while (!ec->freed) {
		EtcdWatch *w;

		for (w = ec->watches; w && !watch_pending(w); w = w->next) {
		}
		if (!w) {
			break;
		}
		watch_ref(w);
		watch_deliver(w);
		watch_unref(w);
	}
	ec_unref(ec);
	return 0;
}

/* ---- the client ---- */

int etcd_client_new(sd_event *event, const EtcdOptions *o, EtcdClient **ret)
{
	static bool curl_ready = false;
	EtcdClient *ec;

	if (!event || !o || o->n_endpoints == 0 || !ret) {
		return -EINVAL;
	}
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			return -ENOMEM;
		}
		curl_ready = true;
	}
	ec = calloc(1, sizeof(*ec));
	if (!ec) {
		return -ENOMEM;
	}
	ec->n_ref = 1;
	ec->event = sd_event_ref(event);
	ec->timeout_msec = o->timeout_msec ? o->timeout_msec : 5000;
	ec->endpoints = calloc(o->n_endpoints, sizeof(char *));
	if (!ec->endpoints) {
		goto fail;
	}
	for (size_t i = 0; i < o->n_endpoints; i++) {
		if (!o->endpoints[i] || !*o->endpoints[i]) {
			etcd_client_free(ec);
			return -EINVAL;
		}
		if (!(ec->endpoints[i] = strdup(o->endpoints[i]))) {
			goto fail;
		}
		ec->n_endpoints++;
	}
	if ((o->cacert && *o->cacert && !(ec->cacert = strdup(o->cacert))) ||
	    (o->cert && *o->cert && !(ec->cert = strdup(o->cert))) ||
	    (o->key && *o->key && !(ec->key = strdup(o->key)))) {
		goto fail;
	}
	/* No "Expect: 100-continue" wait on larger bodies.  A watch asks to end when its member
	 * loses the leader (etcd's "hasleader" metadata), rather than go quiet. */
	ec->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (ec->headers) {
		struct curl_slist *h = curl_slist_append(ec->headers, "Expect:");

		ec->headers = h ? h : ec->headers;
		if (!h) {
			goto fail;
		}
	}
	ec->watch_headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (ec->watch_headers) {
		struct curl_slist *h =
		        curl_slist_append(ec->watch_headers, "Grpc-Metadata-hasleader: true");

		ec->watch_headers = h ? h : ec->watch_headers;
		if (!h) {
			goto fail;
		}
	}
	ec->multi = curl_multi_init();
	if (!ec->headers || !ec->watch_headers || !ec->multi ||
	    curl_multi_setopt(ec->multi, CURLMOPT_SOCKETFUNCTION, ec_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(ec->multi, CURLMOPT_SOCKETDATA, ec) != CURLM_OK ||
	    curl_multi_setopt(ec->multi, CURLMOPT_TIMERFUNCTION, ec_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(ec->multi, CURLMOPT_TIMERDATA, ec) != CURLM_OK ||
	    sd_event_add_defer(event, &ec->dispatch, ec_dispatch, ec) < 0 ||
	    sd_event_source_set_enabled(ec->dispatch, SD_EVENT_OFF) < 0) {
		goto fail;
	}
	(void)sd_event_source_set_description(ec->dispatch, "etcd-dispatch");
	*ret = ec;
	return 0;
fail:
	etcd_client_free(ec);
	return -ENOMEM;
}

EtcdClient *etcd_client_free(EtcdClient *ec)
{
	if (!ec || ec->freed) {
		return NULL;
	}
	ec->freed = true;
	while (ec->active) {
		EtcdRequest *r = ec->active;

		LIST_REMOVE(ec->active, r);
		request_free(r);
	}
	while (ec->done) {
		EtcdRequest *r = ec->done;

		ec->done = r->next;
		request_free(r);
	}
	ec->done_tail = NULL;
	while (ec->watches) {
		watch_detach(ec->watches);
	}
	if (ec->multi) {
		curl_multi_cleanup(ec->multi);
		ec->multi = NULL;
	}
	while (ec->sockets) {
		etcd_socket_free(ec->sockets);
	}
	ec->timer = sd_event_source_disable_unref(ec->timer);
	ec->dispatch = sd_event_source_disable_unref(ec->dispatch);
	curl_slist_free_all(ec->headers);
	curl_slist_free_all(ec->watch_headers);
	ec->headers = ec->watch_headers = NULL;
	if (ec->event) {
		sd_event_unref(ec->event);
		ec->event = NULL;
	}
	ec_unref(ec);
	return NULL;
}
