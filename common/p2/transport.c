/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2 sessions: the seed's transport (§A.2) and the message order of §A.4, byte-fed. */
#include "transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "macro.h"
#include "p2.h"

#define SEC 1000000ULL

const P2Timeouts p2_default_timeouts = {
        .hello = 10 * SEC,
        .auth = 10 * SEC,
        .idle = 45 * SEC,
        .final = 10 * SEC,
        .linger = 2 * SEC,
};

const P2Timeouts p2_client_default_timeouts = {
        .hello = 5 * SEC,
        .auth = 5 * SEC,
        .idle = 45 * SEC,
        .final = 10 * SEC,
        .linger = 2 * SEC,
};

/* Output queues hold ciphertext only; a peer that never reads cannot make them grow past this. */
#define OUT_MAX (1u << 20)

/* §A.7.1 STATUS limits on the client. */
#define STATUS_BUCKET (10 * SEC)
#define STATUS_COST SEC
#define STATUS_MAX_PER_CONNECTION 1000

typedef struct OutBuf {
	uint8_t *data;
	size_t start, len, cap;
} OutBuf;

static int out_reserve(OutBuf *o, size_t extra, uint8_t **ret)
{
	if (o->start > 0 && o->start + o->len + extra > o->cap) {
		memmove(o->data, o->data + o->start, o->len);
		o->start = 0;
	}
	if (o->start + o->len + extra > o->cap) {
		size_t cap = MAX(o->cap * 2, o->len + extra + 256);
		uint8_t *d;

		if (o->len + extra > OUT_MAX) {
			return -ENOBUFS;
		}
		d = realloc(o->data, cap);
		if (d == NULL) {
			return -ENOMEM;
		}
		o->data = d;
		o->cap = cap;
	}
	*ret = o->data + o->start + o->len;
	return 0;
}

static int out_append(OutBuf *o, const void *p, size_t n)
{
	uint8_t *dst;
	int r = out_reserve(o, n, &dst);

	if (r < 0) {
		return r;
	}
	memcpy(dst, p, n);
	o->len += n;
	return 0;
}

static void out_consume(OutBuf *o, size_t n)
{
	n = MIN(n, o->len);
	o->start += n;
	o->len -= n;
	if (o->len == 0) {
		o->start = 0;
	}
}

static void out_free(OutBuf *o)
{
	free(o->data);
	*o = (OutBuf){0};
}

/* Push one application message (or the empty FINAL) as a DataMessage onto o. */
static int dm_push(OutBuf *o, crypto_secretstream_xchacha20poly1305_state *st, const uint8_t *m,
                   size_t mlen, uint8_t tag)
{
	uint64_t n = mlen + P2_STREAM_ABYTES;
	uint8_t *dst;
	int r = out_reserve(o, P2_DATAMSG_HEADER_LEN + n, &dst);

	if (r < 0) {
		return r;
	}
	memcpy(dst, P2_MAGIC_DATAMSG, 8);
	for (int i = 0; i < 8; i++) {
		dst[8 + i] = (uint8_t)(n >> (8 * i));
	}
	crypto_secretstream_xchacha20poly1305_push(st, dst + P2_DATAMSG_HEADER_LEN, NULL, m, mlen,
	                                           NULL, 0, tag);
	o->len += P2_DATAMSG_HEADER_LEN + n;
	return 0;
}

/* Check what is in of a DataMessage header: the magic once 8 bytes are in, N once 16 are. */
static int dm_check_header(const uint8_t *buf, size_t have, uint64_t n_min, uint64_t n_max,
                           uint64_t *ret_n, const char **why)
{
	uint64_t n = 0;

	if (have >= 8 && memcmp(buf, P2_MAGIC_DATAMSG, 8) != 0) {
		*why = "wrong DataMessage magic";
		return -EBADMSG;
	}
	if (have < P2_DATAMSG_HEADER_LEN) {
		return 0;
	}
	for (int i = 0; i < 8; i++) {
		n |= (uint64_t)buf[8 + i] << (8 * i);
	}
	if (n < n_min || n > n_max) {
		*why = "DataMessage length out of range";
		return -EBADMSG;
	}
	*ret_n = n;
	return 1;
}

/*
 * Accumulate one DataMessage in buf (*have bytes so far) from in[*used..len).  The header is
 * checked as soon as its bytes are in, before any body byte is awaited (n-large fails at
 * once).  Returns 1 with *ret_n (N) when the whole message is in buf, 0 when all of in is used
 * and more is needed, or -EBADMSG.
 */
static int dm_take(uint8_t *buf, size_t *have, const uint8_t *in, size_t len, size_t *used,
                   uint64_t n_min, uint64_t n_max, size_t *ret_n, const char **why)
{
	for (;;) {
		uint64_t n = 0;
		size_t need;
		int r = dm_check_header(buf, *have, n_min, n_max, &n, why);

		if (r < 0) {
			return r;
		}
		if (r > 0 && *have == P2_DATAMSG_HEADER_LEN + n) {
			*ret_n = (size_t)n;
			return 1;
		}
		if (*used >= len) {
			return 0;
		}
		need = r > 0 ? P2_DATAMSG_HEADER_LEN + (size_t)n - *have
		             : P2_DATAMSG_HEADER_LEN - *have;
		need = MIN(need, len - *used);
		memcpy(buf + *have, in + *used, need);
		*have += need;
		*used += need;
	}
}

/*
 * Open a complete DataMessage body: 0 with the plaintext for TAG_MESSAGE, 1 for an empty
 * FINAL, -EBADMSG for anything else (§A.2.1).
 */
static int dm_open(crypto_secretstream_xchacha20poly1305_state *st, const uint8_t *c, size_t n,
                   uint8_t *plain, size_t *ret_len, const char **why)
{
	unsigned long long mlen = 0;
	unsigned char tag = 0;

	if (crypto_secretstream_xchacha20poly1305_pull(st, plain, &mlen, &tag, c, n, NULL, 0) !=
	    0) {
		*why = "DataMessage does not decrypt";
		return -EBADMSG;
	}
	if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
		if (mlen != 0) {
			*why = "FINAL with a payload";
			return -EBADMSG;
		}
		return 1;
	}
	if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
		*why = "DataMessage with a forbidden tag";
		return -EBADMSG;
	}
	*ret_len = (size_t)mlen;
	return 0;
}

/* What dm_receive() found. */
enum {
	DM_MORE = 0,    /* all input used, the message is not complete yet */
	DM_MESSAGE = 1, /* a TAG_MESSAGE plaintext */
	DM_FINAL = 2,   /* the peer's empty FINAL */
};

/* dm_take() then dm_open(): DM_MORE, DM_MESSAGE (plaintext in plain), DM_FINAL, or -EBADMSG. */
static int dm_receive(crypto_secretstream_xchacha20poly1305_state *st, uint8_t *buf, size_t *have,
                      const uint8_t *in, size_t len, size_t *used, uint64_t n_min, uint64_t n_max,
                      uint8_t *plain, size_t *ret_len, const char **why)
{
	size_t n = 0;
	int r = dm_take(buf, have, in, len, used, n_min, n_max, &n, why);

	if (r <= 0) {
		return r;
	}
	*have = 0;
	r = dm_open(st, buf + P2_DATAMSG_HEADER_LEN, n, plain, ret_len, why);
	if (r < 0) {
		return r;
	}
	return r == 1 ? DM_FINAL : DM_MESSAGE;
}

/*
 * Accumulate a fixed-size hello (size bytes, starting with magic) from in[*used..len).
 * Returns 1 when complete, 0 when more is needed, -EBADMSG as soon as the magic is wrong.
 */
static int take_fixed(uint8_t *buf, size_t size, size_t *have, const char *magic, size_t magic_len,
                      const uint8_t *in, size_t len, size_t *used)
{
	size_t take = MIN(size - *have, len - *used);

	memcpy(buf + *have, in + *used, take);
	*have += take;
	*used += take;
	if (*have >= magic_len && memcmp(buf, magic, magic_len) != 0) {
		return -EBADMSG;
	}
	return *have == size;
}

static uint64_t monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- server ---- */

/*
 * sodium_malloc() and sodium_free() cost mmap, mprotect, mlock and munmap calls, about 20 µs
 * together, a tenth of a server's whole unlock (§A.13).  Wiped server session blocks are kept
 * for reuse instead: still guarded, locked sodium_malloc memory.  At most as many as were in
 * use at once, up to 256 (a page each, locked): 64 clients at once keep a few more sessions
 * than 64 alive (the ones just accepted, the ones whose client just closed).
 */
#define SESSION_CACHE_MAX 256

static struct {
	pthread_mutex_t lock;
	size_t n;
	void *blocks[SESSION_CACHE_MAX];
} session_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *session_alloc(size_t size)
{
	void *p = NULL;

	pthread_mutex_lock(&session_cache.lock);
	if (session_cache.n > 0) {
		p = session_cache.blocks[--session_cache.n];
	}
	pthread_mutex_unlock(&session_cache.lock);
	return p ? p : sodium_malloc(size);
}

static void session_release(void *p, size_t size)
{
	sodium_memzero(p, size);
	pthread_mutex_lock(&session_cache.lock);
	if (session_cache.n < SESSION_CACHE_MAX) {
		session_cache.blocks[session_cache.n++] = p;
		p = NULL;
	}
	pthread_mutex_unlock(&session_cache.lock);
	if (p) {
		sodium_free(p);
	}
}


typedef enum ServerState {
	SV_HELLO,   /* waiting for ClientHello */
	SV_HELLO2,  /* ServerHello queued, waiting for ClientHello2 */
	SV_AUTH,    /* waiting for CLIENT_AUTH */
	SV_REQUEST, /* REQUEST given; the application decides */
	SV_LINGER,  /* RESULT and FINAL queued; waiting for the client's FINAL or EOF */
	SV_DONE,    /* finished (linger over, or our abort FINAL queued, or the client's FINAL) */
	SV_FAILED,
} ServerState;

struct P2ServerSession {
	const P2Identity *id;
	P2Timeouts t;
	ServerState state;
	int error;
	const char *error_why;
	uint64_t deadline;
	crypto_secretstream_xchacha20poly1305_state push, pull;
	uint8_t rx[32]; /* c2s key, only between ServerHello and ClientHello2 */
	uint8_t ch[P2_CLIENT_HELLO_LEN], sh[P2_SERVER_HELLO_LEN], ch2[P2_CLIENT_HELLO2_LEN];
	size_t have;
	uint8_t th[32];
	uint8_t in[P2_DATAMSG_HEADER_LEN + P2_C2S_N_MAX];
	uint8_t plain[P2_C2S_N_MAX];
	P2ClientAuth request;
	char key_id[P2_KEY_ID_HEX_SIZE];
	OutBuf out;
	size_t out_mark; /* output length when the current feed began */
};

int p2_server_new(const P2Identity *server, const P2Timeouts *t, uint64_t now,
                  P2ServerSession **ret)
{
	P2ServerSession *s = session_alloc(sizeof(*s));

	if (s == NULL) {
		return -ENOMEM;
	}
	memset(s, 0, sizeof(*s));
	s->id = server;
	s->t = t ? *t : p2_default_timeouts;
	s->state = SV_HELLO;
	s->deadline = now + s->t.hello;
	*ret = s;
	return 0;
}

P2ServerSession *p2_server_free(P2ServerSession *s)
{
	if (s != NULL) {
		out_free(&s->out);
		session_release(s, sizeof(*s));
	}
	return NULL;
}

static int server_fail(P2ServerSession *s, int r, const char *why, const char **ret_why)
{
	/* Whatever this feed queued goes: nothing is sent after a faulty step. */
	s->out.len = MIN(s->out.len, s->out_mark);
	s->state = SV_FAILED;
	s->error = r;
	s->error_why = why;
	s->deadline = 0;
	sodium_memzero(s->rx, sizeof(s->rx));
	if (ret_why) {
		*ret_why = why;
	}
	return r;
}

/* ClientHello is complete: kx, init_push, queue ServerHello (§A.2.1, server). */
static int server_on_hello(P2ServerSession *s, uint64_t now, const char **why)
{
	uint8_t kx_pk[32], kx_sk[32], tx[crypto_kx_SESSIONKEYBYTES], rx[crypto_kx_SESSIONKEYBYTES];
	int r = 0;

	crypto_kx_keypair(kx_pk, kx_sk);
	if (crypto_kx_server_session_keys(rx, tx, kx_pk, kx_sk, s->ch + 16) != 0) {
		*why = "key exchange failed (bad client key)";
		r = -EBADMSG;
		goto out;
	}
	memcpy(s->sh, P2_MAGIC_SERVER, 16);
	memcpy(s->sh + 16, kx_pk, 32);
	crypto_secretstream_xchacha20poly1305_init_push(&s->push, s->sh + 48, tx);
	memcpy(s->rx, rx, 32);
	r = out_append(&s->out, s->sh, sizeof(s->sh));
	if (r < 0) {
		*why = "out of memory";
		goto out;
	}
	s->deadline = now + s->t.auth;
out:
	sodium_memzero(kx_sk, sizeof(kx_sk));
	sodium_memzero(tx, sizeof(tx));
	sodium_memzero(rx, sizeof(rx));
	return r;
}

/* CLIENT_AUTH is in s->plain (plen bytes): steps 3-6 of §A.4.2, then queue SERVER_AUTH. */
static int server_on_auth(P2ServerSession *s, size_t plen, const char **why)
{
	uint8_t sa[P2_SERVER_AUTH_LEN];
	int r;

	r = p2_client_auth_parse(s->plain, plen, s->th, &s->request, why);
	if (r < 0) {
		return r;
	}
	p2_key_id_hex(s->request.client_pk, s->key_id);
	p2_server_auth_build(s->id, s->th, s->plain, plen, sa);
	r = dm_push(&s->out, &s->push, sa, sizeof(sa),
	            crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
	if (r < 0) {
		*why = "out of memory";
		return r;
	}
	return 0;
}

/* A DataMessage after the request: only the client's empty FINAL is acceptable (1). */
static int server_take_final(P2ServerSession *s, const uint8_t *in, size_t len, size_t *u,
                             const char **why)
{
	size_t plen = 0;
	int r = dm_receive(&s->pull, s->in, &s->have, in, len, u, P2_STREAM_ABYTES,
	                   P2_STREAM_ABYTES, s->plain, &plen, why);

	if (r == DM_MESSAGE) {
		*why = "client sent a message after CLIENT_AUTH";
		return -EBADMSG;
	}
	return r == DM_FINAL ? 1 : r;
}

int p2_server_feed(P2ServerSession *s, const uint8_t *in, size_t len, uint64_t now,
                   size_t *ret_used, const char **ret_why)
{
	const char *why = NULL;
	size_t u = 0;
	int r;

	if (ret_used) {
		*ret_used = 0;
	}
	if (s->state == SV_FAILED) {
		if (ret_why) {
			*ret_why = s->error_why;
		}
		return s->error;
	}
	s->out_mark = s->out.len;
	if (len == 0) {
		switch (s->state) {
		case SV_HELLO:
		case SV_HELLO2:
		case SV_AUTH:
			return server_fail(s, -EPROTO, "EOF before CLIENT_AUTH", ret_why);
		case SV_REQUEST:
			return server_fail(s, -EPROTO, "EOF before the RESULT", ret_why);
		default:
			s->state = SV_DONE;
			s->deadline = UINT64_MAX;
			return P2_EV_DONE;
		}
	}
	while (u < len) {
		size_t plen = 0;

		switch (s->state) {
		case SV_HELLO:
			r = take_fixed(s->ch, sizeof(s->ch), &s->have, P2_MAGIC_CLIENT, 16, in, len,
			               &u);
			if (r < 0) {
				return server_fail(s, r, "wrong ClientHello magic", ret_why);
			}
			if (r > 0) {
				r = server_on_hello(s, now, &why);
				if (r < 0) {
					return server_fail(s, r, why, ret_why);
				}
				s->have = 0;
				s->state = SV_HELLO2;
			}
			break;
		case SV_HELLO2:
			r = take_fixed(s->ch2, sizeof(s->ch2), &s->have, P2_MAGIC_CHEADER, 8, in,
			               len, &u);
			if (r < 0) {
				return server_fail(s, r, "wrong ClientHello2 magic", ret_why);
			}
			if (r > 0) {
				if (crypto_secretstream_xchacha20poly1305_init_pull(
				            &s->pull, s->ch2 + 8, s->rx) != 0) {
					return server_fail(s, -EBADMSG, "bad client stream header",
					                   ret_why);
				}
				sodium_memzero(s->rx, sizeof(s->rx));
				p2_transcript_hash(s->ch, s->sh, s->ch2, s->th);
				s->have = 0;
				s->state = SV_AUTH;
			}
			break;
		case SV_AUTH:
			r = dm_receive(&s->pull, s->in, &s->have, in, len, &u, P2_STREAM_ABYTES,
			               P2_C2S_N_MAX, s->plain, &plen, &why);
			if (r == DM_FINAL) {
				return server_fail(s, -EPROTO,
				                   "client aborted (FINAL) before CLIENT_AUTH",
				                   ret_why);
			}
			if (r == DM_MESSAGE) {
				r = server_on_auth(s, plen, &why);
				if (r == 0) {
					r = DM_MESSAGE;
				}
			}
			if (r < 0) {
				return server_fail(s, r, why, ret_why);
			}
			if (r == DM_MORE) {
				break;
			}
			s->state = SV_REQUEST;
			s->deadline = UINT64_MAX;
			if (ret_used) {
				*ret_used = u;
			}
			return P2_EV_REQUEST;
		case SV_REQUEST:
			/* §A.4.2 step 7 and §A.5: any byte aborts; a whole FINAL is a valid abort.
			 */
			r = server_take_final(s, in, len, &u, &why);
			if (r == 0) {
				return server_fail(s, -EPROTO, "client sent data before the RESULT",
				                   ret_why);
			}
			if (r < 0) {
				return server_fail(s, r, why, ret_why);
			}
			s->state = SV_DONE;
			s->deadline = UINT64_MAX;
			if (ret_used) {
				*ret_used = u;
			}
			return P2_EV_PEER_FINAL;
		case SV_LINGER:
			r = server_take_final(s, in, len, &u, &why);
			if (r < 0) {
				return server_fail(s, r, why, ret_why);
			}
			if (r == 1) {
				s->state = SV_DONE;
				s->deadline = UINT64_MAX;
				if (ret_used) {
					*ret_used = u;
				}
				return P2_EV_DONE;
			}
			break;
		case SV_DONE:
			u = len;
			if (ret_used) {
				*ret_used = u;
			}
			return P2_EV_DONE;
		case SV_FAILED:
			break;
		}
	}
	if (ret_used) {
		*ret_used = u;
	}
	return P2_EV_NONE;
}

const P2ClientAuth *p2_server_request(const P2ServerSession *s)
{
	return s->state >= SV_REQUEST && s->state != SV_FAILED ? &s->request : NULL;
}

const char *p2_server_client_key_id(const P2ServerSession *s)
{
	return s->key_id[0] ? s->key_id : NULL;
}

int p2_server_send_status(P2ServerSession *s, const P2Status *st)
{
	uint8_t m[10 + P2_TEXT_MAX];
	ssize_t n;

	if (s->state != SV_REQUEST) {
		return -EINVAL;
	}
	if (!(s->request.flags & P2_FLAG_SHOWS_STATUS)) {
		return 0;
	}
	n = p2_status_build(st, m, sizeof(m));
	if (n < 0) {
		return (int)n;
	}
	return dm_push(&s->out, &s->push, m, (size_t)n,
	               crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

int p2_server_send_result(P2ServerSession *s, const P2Result *res)
{
	size_t size = p2_result_size(res);
	uint8_t *m;
	ssize_t n;
	int r;

	if (s->state != SV_REQUEST) {
		return -EINVAL;
	}
	m = malloc(size);
	if (m == NULL) {
		return -ENOMEM;
	}
	n = p2_result_build(res, m, size);
	if (n < 0) {
		free(m);
		return (int)n;
	}
	r = dm_push(&s->out, &s->push, m, (size_t)n,
	            crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
	free(m);
	if (r < 0) {
		return r;
	}
	r = dm_push(&s->out, &s->push, NULL, 0, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
	if (r < 0) {
		return r;
	}
	s->state = SV_LINGER;
	s->have = 0;
	s->deadline = monotonic_usec() + s->t.linger;
	return 0;
}

int p2_server_send_final(P2ServerSession *s)
{
	int r;

	if (s->state != SV_AUTH && s->state != SV_REQUEST) {
		return s->state == SV_LINGER || s->state == SV_DONE ? 0 : -ENOTCONN;
	}
	r = dm_push(&s->out, &s->push, NULL, 0, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
	if (r < 0) {
		return r;
	}
	s->state = SV_DONE;
	s->deadline = UINT64_MAX;
	return 0;
}

const uint8_t *p2_server_output(const P2ServerSession *s, size_t *ret_len)
{
	*ret_len = s->out.len;
	return s->out.data ? s->out.data + s->out.start : NULL;
}

void p2_server_output_consume(P2ServerSession *s, size_t n)
{
	out_consume(&s->out, n);
}

uint64_t p2_server_deadline(const P2ServerSession *s)
{
	return s->deadline;
}

/* ---- client ---- */

typedef enum ClientState {
	CL_SHELLO, /* waiting for ServerHello */
	CL_SAUTH,  /* ClientHello2 and CLIENT_AUTH queued, waiting for SERVER_AUTH */
	CL_WAIT,   /* authenticated, waiting for STATUS or RESULT */
	CL_RFINAL, /* RESULT in, our FINAL queued, waiting for the server's FINAL */
	CL_DONE,   /* RESULT given, or our abort FINAL queued */
	CL_FAILED,
} ClientState;

struct P2ClientSession {
	P2ClientConfig cfg;
	P2Timeouts t;
	ClientState state;
	int error;
	const char *error_why;
	uint64_t deadline;
	uint8_t kx_pk[32], kx_sk[32];
	crypto_secretstream_xchacha20poly1305_state push, pull;
	uint8_t ch[P2_CLIENT_HELLO_LEN], sh[P2_SERVER_HELLO_LEN], ch2[P2_CLIENT_HELLO2_LEN];
	size_t have;
	bool got_bytes;
	uint8_t th[32];
	uint8_t ca[P2_CLIENT_AUTH_MAX];
	size_t ca_len;
	P2ClientAuth request;
	P2EscrowItem items[P2_MAX_ESCROW_ITEMS];
	uint8_t server_pk[32];
	char server_key_id[P2_KEY_ID_HEX_SIZE];
	bool pinned;
	uint64_t bucket, bucket_at;
	unsigned n_status;
	P2Status status;
	P2Result result;
	bool have_result;        /* RESULT and the server's FINAL are in */
	bool result_unconfirmed; /* RESULT in, the server's FINAL not */
	/* Big buffers (ciphertext and public plaintext) in ordinary memory. */
	uint8_t *in;      /* P2_DATAMSG_HEADER_LEN + P2_S2C_N_MAX */
	uint8_t *plain;   /* P2_S2C_N_MAX */
	uint8_t *res_buf; /* the RESULT plaintext the result's items point into */
	OutBuf out;
	size_t out_mark; /* output length when the current feed began */
};

int p2_client_new(const P2ClientConfig *cfg, uint64_t now, P2ClientSession **ret)
{
	P2ClientSession *c;
	uint8_t line_hello[P2_VERSION_LINE_LEN + P2_CLIENT_HELLO_LEN];

	if (cfg == NULL || cfg->identity == NULL || cfg->n_items > P2_MAX_ESCROW_ITEMS ||
	    (cfg->n_items > 0 && cfg->items == NULL)) {
		return -EINVAL;
	}
	for (size_t i = 0; i < cfg->n_items; i++) {
		for (size_t j = i + 1; j < cfg->n_items; j++) {
			if (memcmp(cfg->items[i].kid, cfg->items[j].kid, P2_KID_LEN) == 0) {
				return -EINVAL;
			}
		}
	}
	c = sodium_malloc(sizeof(*c));
	if (c == NULL) {
		return -ENOMEM;
	}
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	if (cfg->n_items > 0) {
		memcpy(c->items, cfg->items, sizeof(P2EscrowItem) * cfg->n_items);
	}
	c->cfg.items = c->items;
	c->t = cfg->timeouts ? *cfg->timeouts : p2_client_default_timeouts;
	c->cfg.timeouts = NULL;
	c->in = malloc(P2_DATAMSG_HEADER_LEN + P2_S2C_N_MAX);
	c->plain = malloc(P2_S2C_N_MAX);
	c->res_buf = malloc(P2_S2C_N_MAX);
	if (c->in == NULL || c->plain == NULL || c->res_buf == NULL) {
		p2_client_free(c);
		return -ENOMEM;
	}
	crypto_kx_keypair(c->kx_pk, c->kx_sk);
	memcpy(c->ch, P2_MAGIC_CLIENT, 16);
	memcpy(c->ch + 16, c->kx_pk, 32);
	memcpy(line_hello, P2_VERSION_LINE, P2_VERSION_LINE_LEN);
	memcpy(line_hello + P2_VERSION_LINE_LEN, c->ch, sizeof(c->ch));
	if (out_append(&c->out, line_hello, sizeof(line_hello)) < 0) {
		p2_client_free(c);
		return -ENOMEM;
	}
	c->state = CL_SHELLO;
	c->deadline = now + c->t.hello;
	c->bucket = STATUS_BUCKET;
	c->bucket_at = now;
	*ret = c;
	return 0;
}

P2ClientSession *p2_client_free(P2ClientSession *c)
{
	if (c != NULL) {
		out_free(&c->out);
		free(c->in);
		free(c->plain);
		free(c->res_buf);
		sodium_memzero(c, sizeof(*c));
		sodium_free(c);
	}
	return NULL;
}

static int client_fail(P2ClientSession *c, int r, const char *why, const char **ret_why)
{
	c->out.len = MIN(c->out.len, c->out_mark);
	c->state = CL_FAILED;
	c->error = r;
	c->error_why = why;
	c->deadline = 0;
	sodium_memzero(c->kx_sk, sizeof(c->kx_sk));
	if (ret_why) {
		*ret_why = why;
	}
	return r;
}

/* ServerHello is complete: kx, both streams, queue ClientHello2 and CLIENT_AUTH. */
static int client_on_hello(P2ClientSession *c, uint64_t now, const char **why)
{
	uint8_t rx[crypto_kx_SESSIONKEYBYTES], tx[crypto_kx_SESSIONKEYBYTES];
	int r = -EBADMSG;
	ssize_t n;

	if (crypto_kx_client_session_keys(rx, tx, c->kx_pk, c->kx_sk, c->sh + 16) != 0) {
		*why = "key exchange failed (bad server key)";
		goto out;
	}
	if (crypto_secretstream_xchacha20poly1305_init_pull(&c->pull, c->sh + 48, rx) != 0) {
		*why = "bad server stream header";
		goto out;
	}
	memcpy(c->ch2, P2_MAGIC_CHEADER, 8);
	crypto_secretstream_xchacha20poly1305_init_push(&c->push, c->ch2 + 8, tx);
	p2_transcript_hash(c->ch, c->sh, c->ch2, c->th);

	memset(&c->request, 0, sizeof(c->request));
	c->request.flags = c->cfg.flags | P2_FLAG_SHOWS_STATUS;
	if (c->cfg.seal != NULL) {
		c->request.flags |= P2_FLAG_WANT_SEALED;
	}
	if (c->cfg.n_items > 0) {
		c->request.flags |= P2_FLAG_WANT_ESCROW;
	}
	if (c->cfg.n_items > 0 && c->cfg.blind != NULL &&
	    c->cfg.blind(c->cfg.blind_userdata, c->items, c->cfg.n_items) < 0) {
		*why = "cannot blind the escrow items";
		goto out;
	}
	c->request.n_items = c->cfg.n_items;
	memcpy(c->request.items, c->items, sizeof(P2EscrowItem) * c->cfg.n_items);
	n = p2_client_auth_build(&c->request, c->cfg.identity, c->th, c->ca);
	if (n < 0) {
		*why = "cannot build CLIENT_AUTH";
		r = (int)n;
		goto out;
	}
	c->ca_len = (size_t)n;
	r = out_append(&c->out, c->ch2, sizeof(c->ch2));
	if (r == 0) {
		r = dm_push(&c->out, &c->push, c->ca, c->ca_len,
		            crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
	}
	if (r < 0) {
		*why = "out of memory";
		goto out;
	}
	c->deadline = now + c->t.auth;
out:
	sodium_memzero(c->kx_sk, sizeof(c->kx_sk));
	sodium_memzero(rx, sizeof(rx));
	sodium_memzero(tx, sizeof(tx));
	return r;
}

/* SERVER_AUTH is in c->plain: sigS, then the pins (§A.3.4). */
static int client_on_server_auth(P2ClientSession *c, size_t plen, const char **why)
{
	if (p2_server_auth_parse(c->plain, plen, c->th, c->ca, c->ca_len, c->server_pk) < 0) {
		*why = "bad SERVER_AUTH";
		return -EBADMSG;
	}
	p2_key_id_hex(c->server_pk, c->server_key_id);
	if (c->cfg.pins != NULL && c->cfg.pins->configured) {
		uint8_t id[P2_KEY_ID_LEN];

		p2_key_id_raw(c->server_pk, id);
		if (!p2_pins_match(c->cfg.pins, id)) {
			*why = "server key is not pinned";
			return -EPERM;
		}
		c->pinned = true;
	}
	return 0;
}

/* The §A.7.1 STATUS token bucket: 10, refilled 1 per second, at most 1000 per connection. */
static bool client_status_allowed(P2ClientSession *c, uint64_t now)
{
	if (now > c->bucket_at) {
		c->bucket = MIN(STATUS_BUCKET, c->bucket + (now - c->bucket_at));
		c->bucket_at = now;
	}
	if (c->bucket < STATUS_COST || c->n_status >= STATUS_MAX_PER_CONNECTION) {
		return false;
	}
	c->bucket -= STATUS_COST;
	c->n_status++;
	return true;
}

int p2_client_feed(P2ClientSession *c, const uint8_t *in, size_t len, uint64_t now,
                   size_t *ret_used, const char **ret_why)
{
	const char *why = NULL;
	size_t u = 0;
	int r;

	if (ret_used) {
		*ret_used = 0;
	}
	if (c->state == CL_FAILED) {
		if (ret_why) {
			*ret_why = c->error_why;
		}
		return c->error;
	}
	c->out_mark = c->out.len;
	if (len == 0) {
		switch (c->state) {
		case CL_SHELLO:
			if (!c->got_bytes) {
				return client_fail(c, -ECONNRESET, "closed before ServerHello",
				                   ret_why);
			}
			return client_fail(c, -EPROTO, "EOF in ServerHello", ret_why);
		case CL_SAUTH:
		case CL_WAIT:
			return client_fail(c, -EPROTO, "EOF before the RESULT", ret_why);
		case CL_RFINAL:
			return client_fail(c, -EPROTO, "no FINAL after RESULT", ret_why);
		default:
			return P2_EV_NONE;
		}
	}
	c->got_bytes = true;
	while (u < len) {
		size_t plen = 0;

		switch (c->state) {
		case CL_SHELLO:
			r = take_fixed(c->sh, sizeof(c->sh), &c->have, P2_MAGIC_SERVER, 16, in, len,
			               &u);
			if (r < 0) {
				return client_fail(c, r, "wrong ServerHello magic", ret_why);
			}
			if (r > 0) {
				r = client_on_hello(c, now, &why);
				if (r < 0) {
					return client_fail(c, r, why, ret_why);
				}
				c->have = 0;
				c->state = CL_SAUTH;
			}
			break;
		case CL_SAUTH:
			r = dm_receive(&c->pull, c->in, &c->have, in, len, &u,
			               P2_STREAM_ABYTES + P2_SERVER_AUTH_LEN,
			               P2_STREAM_ABYTES + P2_SERVER_AUTH_LEN, c->plain, &plen,
			               &why);
			if (r == DM_FINAL) {
				return client_fail(c, -EBADMSG, "FINAL instead of SERVER_AUTH",
				                   ret_why);
			}
			if (r == DM_MESSAGE) {
				r = client_on_server_auth(c, plen, &why);
				if (r == 0) {
					r = DM_MESSAGE;
				}
			}
			if (r < 0) {
				return client_fail(c, r, why, ret_why);
			}
			if (r == DM_MORE) {
				break;
			}
			c->state = CL_WAIT;
			c->deadline = now + c->t.idle;
			if (ret_used) {
				*ret_used = u;
			}
			return P2_EV_AUTHENTICATED;
		case CL_WAIT:
			r = dm_receive(&c->pull, c->in, &c->have, in, len, &u, P2_STREAM_ABYTES,
			               P2_S2C_N_MAX, c->plain, &plen, &why);
			if (r == DM_FINAL) {
				return client_fail(c, -EPROTO,
				                   "server ended the stream without a RESULT",
				                   ret_why);
			}
			if (r < 0) {
				return client_fail(c, r, why, ret_why);
			}
			if (r == DM_MORE) {
				break;
			}
			if (plen >= 2 && c->plain[0] == P2_MSG_VERSION &&
			    c->plain[1] == P2_MSG_STATUS) {
				if (p2_status_parse(c->plain, plen, &c->status) < 0) {
					return client_fail(c, -EBADMSG, "malformed STATUS",
					                   ret_why);
				}
				if (!client_status_allowed(c, now)) {
					return client_fail(c, -EBADMSG, "too many STATUS messages",
					                   ret_why);
				}
				c->deadline = now + c->t.idle;
				if (ret_used) {
					*ret_used = u;
				}
				return P2_EV_STATUS;
			}
			if (plen >= 2 && c->plain[0] == P2_MSG_VERSION &&
			    c->plain[1] == P2_MSG_RESULT) {
				memcpy(c->res_buf, c->plain, plen);
				if (p2_result_parse(c->res_buf, plen, &c->request, &c->result) <
				    0) {
					return client_fail(c, -EBADMSG, "malformed RESULT",
					                   ret_why);
				}
				r = dm_push(&c->out, &c->push, NULL, 0,
				            crypto_secretstream_xchacha20poly1305_TAG_FINAL);
				if (r < 0) {
					return client_fail(c, r, "out of memory", ret_why);
				}
				c->state = CL_RFINAL;
				c->result_unconfirmed = true;
				c->deadline = now + c->t.final;
				break;
			}
			return client_fail(c, -EBADMSG, "unexpected message from the server",
			                   ret_why);
		case CL_RFINAL:
			r = dm_receive(&c->pull, c->in, &c->have, in, len, &u, P2_STREAM_ABYTES,
			               P2_S2C_N_MAX, c->plain, &plen, &why);
			if (r == DM_MESSAGE) {
				return client_fail(c, -EBADMSG, "no FINAL after RESULT", ret_why);
			}
			if (r < 0) {
				return client_fail(c, r, why, ret_why);
			}
			if (r == DM_MORE) {
				break;
			}
			c->state = CL_DONE;
			c->have_result = true;
			c->result_unconfirmed = false;
			c->deadline = UINT64_MAX;
			if (ret_used) {
				*ret_used = u;
			}
			return P2_EV_RESULT;
		case CL_DONE:
			return client_fail(c, -EBADMSG, "data after the end of the stream",
			                   ret_why);
		case CL_FAILED:
			break;
		}
	}
	if (ret_used) {
		*ret_used = u;
	}
	return P2_EV_NONE;
}

const char *p2_client_server_key_id(const P2ClientSession *c)
{
	return c->server_key_id[0] ? c->server_key_id : NULL;
}

bool p2_client_server_pinned(const P2ClientSession *c)
{
	return c->pinned;
}

const P2Status *p2_client_status(const P2ClientSession *c)
{
	return &c->status;
}

const P2Result *p2_client_result(const P2ClientSession *c)
{
	return c->have_result ? &c->result : NULL;
}

bool p2_client_result_unconfirmed(const P2ClientSession *c)
{
	return c->result_unconfirmed;
}

int p2_client_send_final(P2ClientSession *c)
{
	int r;

	if (c->state == CL_RFINAL || c->state == CL_DONE) {
		return 0;
	}
	if (c->state != CL_SAUTH && c->state != CL_WAIT) {
		return -ENOTCONN;
	}
	r = dm_push(&c->out, &c->push, NULL, 0, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
	if (r < 0) {
		return r;
	}
	c->state = CL_DONE;
	c->deadline = UINT64_MAX;
	return 0;
}

const uint8_t *p2_client_output(const P2ClientSession *c, size_t *ret_len)
{
	*ret_len = c->out.len;
	return c->out.data ? c->out.data + c->out.start : NULL;
}

void p2_client_output_consume(P2ClientSession *c, size_t n)
{
	out_consume(&c->out, n);
}

uint64_t p2_client_deadline(const P2ClientSession *c)
{
	return c->deadline;
}
