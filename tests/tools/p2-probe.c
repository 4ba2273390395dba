/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A protocol 2 test client for the server's integration tests: an unlock built on common/p2
 * (prints STATUS and RESULT, opens a SEALED item, sends escrow items from binding files or
 * raw kids and unblinds and opens the ESCROW items, Part B), and --case NAME for every
 * negative case of spec/protocol-2.md §A.12.4 and §B.6.3, crafted with raw libsodium,
 * reporting what the server sent after the faulty step.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "escrow.h"
#include "keys.h"
#include "macro.h"
#include "msg.h"
#include "p2.h"
#include "sealed.h"
#include "transport.h"

#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_PUSH crypto_secretstream_xchacha20poly1305_TAG_PUSH
#define TAG_REKEY crypto_secretstream_xchacha20poly1305_TAG_REKEY
#define TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL

static const char *arg_connect;
static const char *arg_key;
static const char *arg_seal;
static const char *arg_case;
static long arg_flags = -1;
static bool arg_abort_on_status;
static unsigned arg_timeout = 15;

/* Escrow items to send (--escrow=FILE, --escrow-kid=HEX), in the order given. */
typedef struct EscrowArg {
	P2Binding binding; /* n_keys 0: a raw kid with a random x */
	uint8_t E[P2_SCALAR_LEN];
	const char *name;
} EscrowArg;
static EscrowArg arg_escrow[P2_MAX_ESCROW_ITEMS];
static P2EscrowItem escrow_items[P2_MAX_ESCROW_ITEMS];
static uint8_t n_escrow;

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int connect_to(const char *spec)
{
	char host[256];
	const char *port, *colon = strrchr(spec, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *ai;
	int fd, one = 1;
	size_t hl;

	if (!colon || colon == spec) {
		fprintf(stderr, "p2-probe: --connect=ADDRESS:PORT\n");
		exit(2);
	}
	port = colon + 1;
	hl = (size_t)(colon - spec);
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		exit(2);
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (getaddrinfo(host, port, &hints, &ai) != 0) {
		fprintf(stderr, "p2-probe: bad address %s\n", host);
		exit(2);
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		fprintf(stderr, "p2-probe: connect: %m\n");
		exit(1);
	}
	freeaddrinfo(ai);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR) {
				continue;
			}
			fprintf(stderr, "p2-probe: send: %m\n");
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Send one buffer as one segment (TCP_CORK), optionally with the FIN in it. */
static void send_segment(int fd, const uint8_t *p, size_t n, bool fin)
{
	int on = 1, off = 0;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on));
	write_all(fd, p, n);
	if (fin) {
		(void)shutdown(fd, SHUT_WR);
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
}

/* Read exactly n bytes within the timeout; false on EOF, error or timeout. */
static bool read_exact(int fd, uint8_t *p, size_t n)
{
	uint64_t end = now_usec() + arg_timeout * 1000000ULL;

	while (n > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint64_t now = now_usec();
		ssize_t r;

		if (now >= end || poll(&pfd, 1, (int)((end - now) / 1000) + 1) <= 0) {
			return false;
		}
		r = recv(fd, p, n, 0);
		if (r <= 0) {
			return false;
		}
		p += r;
		n -= (size_t)r;
	}
	return true;
}

/*
 * After the faulty step: count what the server sends until it closes (EOF or RST) or the
 * timeout passes.  Prints the report; returns the exit status (0: nothing sent, closed).
 */
static int expect_close(int fd, const char *after)
{
	uint64_t start = now_usec(), end = start + arg_timeout * 1000000ULL;
	size_t got = 0;
	const char *how = NULL;

	while (!how) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint8_t buf[4096];
		uint64_t now = now_usec();
		ssize_t r;

		if (now >= end) {
			break;
		}
		if (poll(&pfd, 1, (int)((end - now) / 1000) + 1) <= 0) {
			continue;
		}
		r = recv(fd, buf, sizeof(buf), 0);
		if (r > 0) {
			got += (size_t)r;
		} else if (r == 0) {
			how = "EOF";
		} else if (errno == ECONNRESET) {
			how = "RST";
		} else if (errno != EINTR) {
			how = "error";
		}
	}
	printf("case %s: after %s the server sent %zu bytes and %s%s (%.1f s)\n", arg_case, after,
	       got, how ? "closed: " : "did not close", how ? how : "",
	       (double)(now_usec() - start) / 1e6);
	return got == 0 && how ? 0 : 1;
}

/* ---- the raw client: the seed's transport by hand, so that any step can be broken ---- */

typedef struct Raw {
	int fd;
	uint8_t kx_pk[32], kx_sk[32];
	uint8_t ch[P2_CLIENT_HELLO_LEN], sh[P2_SERVER_HELLO_LEN], ch2[P2_CLIENT_HELLO2_LEN];
	crypto_secretstream_xchacha20poly1305_state push, pull;
	uint8_t th[32];
	uint8_t out[8192];
	size_t out_len;
} Raw;

static void raw_add(Raw *w, const void *p, size_t n)
{
	if (w->out_len + n > sizeof(w->out)) {
		exit(99);
	}
	memcpy(w->out + w->out_len, p, n);
	w->out_len += n;
}

/* A DataMessage: magic ‖ N (LE64) ‖ push(plain, tag). */
static void raw_dm(Raw *w, const char *magic, const uint8_t *plain, size_t len, uint8_t tag,
                   size_t flip_bit)
{
	uint8_t hdr[P2_DATAMSG_HEADER_LEN], ct[1024];
	uint64_t n = len + P2_STREAM_ABYTES;

	if (n > sizeof(ct)) {
		exit(99);
	}
	memcpy(hdr, magic, 8);
	for (int i = 0; i < 8; i++) {
		hdr[8 + i] = (uint8_t)(n >> (8 * i));
	}
	crypto_secretstream_xchacha20poly1305_push(&w->push, ct, NULL, plain, len, NULL, 0, tag);
	if (flip_bit) {
		ct[flip_bit / 8 % n] ^= (uint8_t)(1u << (flip_bit % 8));
	}
	raw_add(w, hdr, sizeof(hdr));
	raw_add(w, ct, (size_t)n);
}

/* Connect and send the line and ClientHello (magic and key as given). */
static void raw_hello(Raw *w, const char *line, size_t line_len, const char *magic, bool zero_kx)
{
	uint8_t first[128];

	w->fd = connect_to(arg_connect);
	crypto_kx_keypair(w->kx_pk, w->kx_sk);
	memcpy(w->ch, magic, 16);
	if (zero_kx) {
		memset(w->ch + 16, 0, 32);
	} else {
		memcpy(w->ch + 16, w->kx_pk, 32);
	}
	memcpy(first, line, line_len);
	memcpy(first + line_len, w->ch, sizeof(w->ch));
	send_segment(w->fd, first, line_len + sizeof(w->ch), false);
}

/* Receive ServerHello and set up both streams; ClientHello2 (with this magic) goes to out. */
static void raw_streams(Raw *w, const char *ch2_magic)
{
	uint8_t rx[crypto_kx_SESSIONKEYBYTES], tx[crypto_kx_SESSIONKEYBYTES];

	if (!read_exact(w->fd, w->sh, sizeof(w->sh)) || memcmp(w->sh, P2_MAGIC_SERVER, 16) != 0) {
		printf("case %s: no ServerHello\n", arg_case);
		exit(1);
	}
	if (crypto_kx_client_session_keys(rx, tx, w->kx_pk, w->kx_sk, w->sh + 16) != 0 ||
	    crypto_secretstream_xchacha20poly1305_init_pull(&w->pull, w->sh + 48, rx) != 0) {
		exit(1);
	}
	memcpy(w->ch2, ch2_magic, 8);
	crypto_secretstream_xchacha20poly1305_init_push(&w->push, w->ch2 + 8, tx);
	p2_transcript_hash(w->ch, w->sh, w->ch2, w->th);
	raw_add(w, w->ch2, sizeof(w->ch2));
}

/* sigC over "mandos-p2 client auth" ‖ TH ‖ CA[0..34) ‖ CA[98..end) (§A.3.2). */
static void sign_ca(const uint8_t sk[64], const uint8_t th[32], uint8_t *ca, size_t len)
{
	static const char label[] = "mandos-p2 client auth";
	uint8_t m[sizeof(label) - 1 + 32 + P2_CLIENT_AUTH_MAX + 64];
	size_t n = 0;

	memcpy(m, label, sizeof(label) - 1);
	n += sizeof(label) - 1;
	memcpy(m + n, th, 32);
	n += 32;
	memcpy(m + n, ca, MIN(len, 34));
	n += MIN(len, 34);
	if (len > 98) {
		memcpy(m + n, ca + 98, len - 98);
		n += len - 98;
	}
	crypto_sign_detached(ca + 34, NULL, m, n, sk);
}

/* A CLIENT_AUTH plaintext: ver 1, type 1, our pk, flags, n, items (each kid ‖ x). */
static size_t build_ca(uint8_t *ca, const P2Identity *id, uint32_t flags, uint8_t n, size_t n_items,
                       const uint8_t (*kids)[P2_KID_LEN], const uint8_t (*xs)[P2_POINT_LEN])
{
	size_t len = 103 + 48 * n_items;

	memset(ca, 0, len);
	ca[0] = P2_MSG_VERSION;
	ca[1] = P2_MSG_CLIENT_AUTH;
	memcpy(ca + 2, id->pk, 32);
	for (int i = 0; i < 4; i++) {
		ca[98 + i] = (uint8_t)(flags >> (8 * i));
	}
	ca[102] = n;
	for (size_t i = 0; i < n_items; i++) {
		memcpy(ca + 103 + 48 * i, kids[i], P2_KID_LEN);
		memcpy(ca + 103 + 48 * i + P2_KID_LEN, xs[i], P2_POINT_LEN);
	}
	return len;
}

static P2Identity *load_identity(void)
{
	P2Identity *id = NULL;
	const char *why = NULL;
	int r;

	if (!arg_key) {
		fprintf(stderr, "p2-probe: --tls-privkey=FILE is needed\n");
		exit(2);
	}
	r = p2_identity_load(arg_key, &id, &why);
	if (r < 0) {
		fprintf(stderr, "p2-probe: %s: %s\n", arg_key, why ? why : strerror(-r));
		exit(2);
	}
	return id;
}

#define WANT (P2_FLAG_WANT_SEALED | P2_FLAG_SHOWS_STATUS)

/* The negative cases of §A.12.4 (the ones the server must close on). */
static int run_case(const char *name)
{
	static const struct {
		const char *name;
		const char *line;
	} lines[] = {
	        {"line-lf", "2\n"},
	        {"line-extra", "2 x\r\n"},
	        {"line-3", "3\r\n"},
	};
	Raw w = {.fd = -1};
	P2Identity *id;
	uint8_t ca[P2_CLIENT_AUTH_MAX + 8], kids[P2_MAX_ESCROW_ITEMS + 1][P2_KID_LEN];
	uint8_t xs[P2_MAX_ESCROW_ITEMS + 1][P2_POINT_LEN];
	uint32_t flags = WANT;
	size_t len, n_items = 0;
	uint8_t n = 0;
	bool fin = false;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (strcmp(name, lines[i].name) == 0) {
			raw_hello(&w, lines[i].line, strlen(lines[i].line), P2_MAGIC_CLIENT, false);
			return expect_close(w.fd, "the version line");
		}
	}
	if (strcmp(name, "line-long") == 0) {
		uint8_t junk[100];

		memset(junk, 'x', sizeof(junk));
		w.fd = connect_to(arg_connect);
		send_segment(w.fd, junk, sizeof(junk), false);
		return expect_close(w.fd, "the version line");
	}
	if (strcmp(name, "magic-wrong") == 0 || strcmp(name, "magic-tomsg") == 0) {
		raw_hello(&w, P2_VERSION_LINE, P2_VERSION_LINE_LEN,
		          name[6] == 'w' ? "mandos v2 clienX" : "tomsg v01 client", false);
		return expect_close(w.fd, "ClientHello");
	}
	if (strcmp(name, "kx-zero") == 0) {
		raw_hello(&w, P2_VERSION_LINE, P2_VERSION_LINE_LEN, P2_MAGIC_CLIENT, true);
		return expect_close(w.fd, "ClientHello");
	}
	if (strcmp(name, "stall-hello") == 0) {
		w.fd = connect_to(arg_connect);
		send_segment(w.fd, (const uint8_t *)P2_VERSION_LINE, P2_VERSION_LINE_LEN, false);
		return expect_close(w.fd, "the version line");
	}

	/* The rest: a good ClientHello, ServerHello, then the fault (after ServerHello). */
	id = load_identity();
	raw_hello(&w, P2_VERSION_LINE, P2_VERSION_LINE_LEN, P2_MAGIC_CLIENT, false);
	raw_streams(&w, strcmp(name, "ch2-magic") == 0 ? "cheader1" : P2_MAGIC_CHEADER);
	for (size_t i = 0; i <= P2_MAX_ESCROW_ITEMS; i++) {
		randombytes_buf(kids[i], P2_KID_LEN);
		crypto_core_ristretto255_random(xs[i]);
	}
	/* --escrow-kid: the first items name these kids (a client's real keys, §B.6.3). */
	for (size_t i = 0; i < n_escrow; i++) {
		memcpy(kids[i], escrow_items[i].kid, P2_KID_LEN);
	}
	if (strcmp(name, "stall-auth") == 0 || strcmp(name, "ch2-magic") == 0) {
		send_segment(w.fd, w.out, w.out_len, false);
		return expect_close(w.fd, "ServerHello");
	}
	if (strcmp(name, "n-small") == 0 || strcmp(name, "n-large") == 0) {
		uint8_t hdr[P2_DATAMSG_HEADER_LEN];
		uint64_t bad = name[2] == 's' ? 16 : P2_C2S_N_MAX + 1;

		memcpy(hdr, P2_MAGIC_DATAMSG, 8);
		for (int i = 0; i < 8; i++) {
			hdr[8 + i] = (uint8_t)(bad >> (8 * i));
		}
		raw_add(&w, hdr, sizeof(hdr));
		send_segment(w.fd, w.out, w.out_len, false);
		return expect_close(w.fd, "ServerHello");
	}
	if (strcmp(name, "final-empty") == 0 || strcmp(name, "final-payload") == 0) {
		uint8_t one = 0;

		raw_dm(&w, P2_MAGIC_DATAMSG, &one, name[6] == 'p' ? 1 : 0, TAG_FINAL, 0);
		send_segment(w.fd, w.out, w.out_len, false);
		return expect_close(w.fd, "ServerHello");
	}

	/* Cases in CLIENT_AUTH: build, break, sign (unless the signature is the fault). */
	if (strcmp(name, "n-9") == 0) {
		flags |= P2_FLAG_WANT_ESCROW;
		n = 9;
		n_items = 8;
	} else if (strncmp(name, "x-", 2) == 0 || strcmp(name, "dup-kid") == 0) {
		flags |= P2_FLAG_WANT_ESCROW;
		n = n_items = strcmp(name, "dup-kid") == 0 ? 2 : 1;
		if (n_items == 2) {
			memcpy(kids[1], kids[0], P2_KID_LEN);
		} else if (strcmp(name, "x-zero") == 0) {
			memset(xs[0], 0, P2_POINT_LEN);
		} else if (strcmp(name, "x-ff") == 0) {
			memset(xs[0], 0xff, P2_POINT_LEN);
		} else if (strcmp(name, "x-topbit") == 0) {
			xs[0][31] |= 0x80;
		} else if (strcmp(name, "x-noncanonical") == 0) {
			memset(xs[0], 0xff, P2_POINT_LEN);
			xs[0][0] = 0xed;
			xs[0][31] = 0x7f;
		} else {
			goto unknown;
		}
	} else if (strcmp(name, "escrow-flag-n0") == 0) {
		flags |= P2_FLAG_WANT_ESCROW;
	} else if (strcmp(name, "items-without-flag") == 0) {
		n = n_items = 1;
	}
	len = build_ca(ca, id, flags, n, n_items, (const uint8_t(*)[P2_KID_LEN])kids,
	               (const uint8_t(*)[P2_POINT_LEN])xs);
	if (strcmp(name, "ver-2") == 0) {
		ca[0] = 2;
	} else if (strcmp(name, "type-9") == 0) {
		ca[1] = 9;
	} else if (strcmp(name, "len-plus1") == 0) {
		ca[len++] = 0;
	} else if (strcmp(name, "len-minus1") == 0) {
		len--;
	}
	if (strcmp(name, "sig-otherkey") == 0) {
		uint8_t pk[32], sk[64];

		crypto_sign_keypair(pk, sk);
		sign_ca(sk, w.th, ca, len);
	} else if (strcmp(name, "sig-otherth") == 0) {
		uint8_t th[32];

		memcpy(th, w.th, 32);
		th[0] ^= 1;
		sign_ca(id->sk, th, ca, len);
	} else {
		sign_ca(id->sk, w.th, ca, len);
	}

	if (strcmp(name, "dm-magic") == 0) {
		raw_dm(&w, "datamsg1", ca, len, TAG_MESSAGE, 0);
	} else if (strcmp(name, "flip-bit") == 0) {
		raw_dm(&w, P2_MAGIC_DATAMSG, ca, len, TAG_MESSAGE, 8 * 40 + 3);
	} else if (strcmp(name, "tag-push") == 0) {
		raw_dm(&w, P2_MAGIC_DATAMSG, ca, len, TAG_PUSH, 0);
	} else if (strcmp(name, "tag-rekey") == 0) {
		raw_dm(&w, P2_MAGIC_DATAMSG, ca, len, TAG_REKEY, 0);
	} else if (strcmp(name, "dup-auth") == 0) {
		raw_dm(&w, P2_MAGIC_DATAMSG, ca, len, TAG_MESSAGE, 0);
		raw_dm(&w, P2_MAGIC_DATAMSG, ca, len, TAG_MESSAGE, 0);
	} else if (strcmp(name, "half-close") == 0) {
		raw_dm(&w, P2_MAGIC_DATAMSG, ca, len, TAG_MESSAGE, 0);
		fin = true;
	} else if (strcmp(name, "ver-2") == 0 || strcmp(name, "type-9") == 0 ||
	           strcmp(name, "n-9") == 0 || strcmp(name, "len-plus1") == 0 ||
	           strcmp(name, "len-minus1") == 0 || strcmp(name, "sig-otherkey") == 0 ||
	           strcmp(name, "sig-otherth") == 0 || strncmp(name, "x-", 2) == 0 ||
	           strcmp(name, "escrow-flag-n0") == 0 || strcmp(name, "items-without-flag") == 0 ||
	           strcmp(name, "dup-kid") == 0) {
		raw_dm(&w, P2_MAGIC_DATAMSG, ca, len, TAG_MESSAGE, 0);
	} else {
		goto unknown;
	}
	send_segment(w.fd, w.out, w.out_len, fin);
	p2_identity_free(id);
	return expect_close(w.fd, "ServerHello");
unknown:
	fprintf(stderr, "p2-probe: unknown case %s\n", name);
	return 2;
}

/* ---- an unlock with the library's client session ---- */

/* --escrow=FILE: a binding's item, blinded now; --escrow-kid=HEX: that kid, a random x. */
static void add_escrow(const char *arg, bool raw)
{
	EscrowArg *a = &arg_escrow[n_escrow];
	P2EscrowItem *it = &escrow_items[n_escrow];
	const char *why = NULL;
	unsigned line = 0;
	int r;

	if (n_escrow >= P2_MAX_ESCROW_ITEMS) {
		fprintf(stderr, "p2-probe: at most %d escrow items\n", P2_MAX_ESCROW_ITEMS);
		exit(2);
	}
	a->name = arg;
	if (raw) {
		if (sodium_hex2bin(it->kid, P2_KID_LEN, arg, strlen(arg), NULL, NULL, NULL) != 0 ||
		    strlen(arg) != 2 * P2_KID_LEN) {
			fprintf(stderr, "p2-probe: --escrow-kid=HEX (32 digits)\n");
			exit(2);
		}
		crypto_core_ristretto255_random(it->point);
		n_escrow++;
		return;
	}
	r = p2_binding_load(arg, &a->binding, &line, &why);
	if (r < 0 || a->binding.threshold != 0) {
		fprintf(stderr, "p2-probe: %s:%u: %s\n", arg, line,
		        r < 0 ? (why ? why : strerror(-r)) : "a threshold binding");
		exit(2);
	}
	memcpy(it->kid, a->binding.keys[0].kid, P2_KID_LEN);
	if (p2_escrow_blind(a->binding.keys[0].c, a->E, it->point) < 0) {
		exit(2);
	}
	n_escrow++;
}

/*
 * An ESCROW item (kid ‖ y): "ESCROW kid=HEX" on stderr; for a binding's kid, unblind and
 * open the box: the password to stdout, or "ESCROW kid=HEX does not open".  -1 when y is
 * unusable or the kid was not asked for (the session's parser already refuses both).
 */
static int open_escrow(const P2Identity *id, const uint8_t *data)
{
	char hex[2 * P2_KID_LEN + 1],
	        yb[sodium_base64_ENCODED_LEN(P2_POINT_LEN, sodium_base64_VARIANT_ORIGINAL)];
	uint8_t K[P2_POINT_LEN], key_id_raw[P2_KEY_ID_LEN];
	SecBuf *pw = NULL;

	sodium_bin2hex(hex, sizeof(hex), data, P2_KID_LEN);
	p2_base64_encode(data + P2_KID_LEN, P2_POINT_LEN, yb, sizeof(yb));
	fprintf(stderr, "ESCROW kid=%s y=%s\n", hex, yb);
	for (size_t i = 0; i < n_escrow; i++) {
		EscrowArg *a = &arg_escrow[i];

		if (memcmp(escrow_items[i].kid, data, P2_KID_LEN) != 0) {
			continue;
		}
		if (a->binding.n_keys == 0) {
			return 0;
		}
		p2_key_id_raw(id->pk, key_id_raw);
		if (p2_escrow_unblind(a->E, a->binding.keys[0].s, data + P2_KID_LEN, K) < 0 ||
		    p2_escrow_open(&a->binding, key_id_raw, K, &pw) < 0) {
			fprintf(stderr, "ESCROW kid=%s does not open\n", hex);
			sodium_memzero(K, sizeof(K));
			return 0;
		}
		sodium_memzero(K, sizeof(K));
		fprintf(stderr, "ESCROW kid=%s opened\n", hex);
		fwrite(pw->data, 1, pw->len, stdout);
		secbuf_free(pw);
		return 0;
	}
	return -1;
}

static int unlock(const P2Identity *id, const P2SealKey *seal, uint32_t extra_flags,
                  const P2EscrowItem *items, uint8_t n_items)
{
	P2ClientConfig cfg = {
	        .identity = id,
	        .seal = seal,
	        .flags = extra_flags,
	        .n_items = n_items,
	        .items = items,
	};
	P2ClientSession *c = NULL;
	uint64_t end = now_usec() + arg_timeout * 1000000ULL;
	int fd = connect_to(arg_connect), r;

	r = p2_client_new(&cfg, now_usec(), &c);
	if (r < 0) {
		fprintf(stderr, "p2-probe: %s\n", strerror(-r));
		return 1;
	}
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint8_t buf[4096];
		size_t len = 0, off = 0;
		const uint8_t *out = p2_client_output(c, &len);
		uint64_t now = now_usec(), deadline = MIN(end, p2_client_deadline(c));
		ssize_t n;

		if (len > 0) {
			write_all(fd, out, len);
			p2_client_output_consume(c, len);
		}
		if (now >= deadline) {
			fprintf(stderr, "TIMEOUT\n");
			return 1;
		}
		if (poll(&pfd, 1, (int)((deadline - now) / 1000) + 1) <= 0) {
			continue;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			fprintf(stderr, "CLOSED %m\n");
			return 1;
		}
		do {
			const char *why = NULL;
			size_t used = 0;
			int ev = p2_client_feed(c, buf + off, (size_t)n - off, now_usec(), &used,
			                        &why);

			off += used;
			if (ev < 0) {
				fprintf(stderr, "FAILED %s (%s)\n", strerror(-ev), why ? why : "-");
				return 1;
			}
			if (ev == P2_EV_AUTHENTICATED) {
				fprintf(stderr, "SERVER key ID %s\n", p2_client_server_key_id(c));
			} else if (ev == P2_EV_STATUS) {
				const P2Status *st = p2_client_status(c);

				fprintf(stderr, "STATUS code=%u flags=%u value=%u text=\"%s\"\n",
				        st->code, st->flags, st->value, st->text);
				if (arg_abort_on_status) {
					size_t fl = 0;
					const uint8_t *fo;

					p2_client_send_final(c);
					fo = p2_client_output(c, &fl);
					write_all(fd, fo, fl);
					close(fd);
					fprintf(stderr, "ABORTED\n");
					p2_client_free(c);
					return 0;
				}
			} else if (ev == P2_EV_RESULT) {
				const P2Result *res = p2_client_result(c);
				size_t fl = 0;
				const uint8_t *fo = p2_client_output(c, &fl);

				write_all(fd, fo, fl);
				close(fd);
				fprintf(stderr,
				        "RESULT code=%u flags=%u value=%u text=\"%s\" items=%u\n",
				        res->code, res->flags, res->value, res->text, res->n_items);
				for (unsigned i = 0; i < res->n_items; i++) {
					SecBuf *secret = NULL;

					if (res->items[i].kind == P2_ITEM_ESCROW) {
						if (open_escrow(id, res->items[i].data) < 0) {
							return 1;
						}
						continue;
					}
					if (res->items[i].kind != P2_ITEM_SEALED || !seal) {
						continue;
					}
					r = p2_sealed_open(res->items[i].data, res->items[i].len,
					                   seal, &secret);
					if (r < 0) {
						fprintf(stderr, "SEALED does not open\n");
						return 1;
					}
					fwrite(secret->data, 1, secret->len, stdout);
					secbuf_free(secret);
				}
				p2_client_free(c);
				return 0;
			}
		} while (off < (size_t)n);
	}
}

static int answered_case(const char *name)
{
	P2Identity *id;
	int r;

	if (strcmp(name, "unknown-client") == 0) {
		uint8_t seed[32];

		randombytes_buf(seed, sizeof(seed));
		if (p2_identity_from_seed(seed, &id) < 0) {
			return 99;
		}
		r = unlock(id, NULL, P2_FLAG_WANT_SEALED, NULL, 0);
	} else {
		P2EscrowItem item;

		id = load_identity();
		randombytes_buf(item.kid, sizeof(item.kid));
		crypto_core_ristretto255_random(item.point);
		r = unlock(id, NULL, 0, &item, 1);
	}
	p2_identity_free(id);
	return r;
}

static void usage(void)
{
	printf("Usage: p2-probe --connect=ADDRESS:PORT [--tls-privkey=FILE] [--seal-key=FILE]\n"
	       "         [--escrow=BINDING-FILE]... [--escrow-kid=HEX]...\n"
	       "         [--flags=N] [--abort-on-status] [--timeout=SECONDS] [--case=NAME]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"connect", required_argument, NULL, 'c'},
	        {"tls-privkey", required_argument, NULL, 'k'},
	        {"seal-key", required_argument, NULL, 's'},
	        {"case", required_argument, NULL, 'C'},
	        {"flags", required_argument, NULL, 'f'},
	        {"abort-on-status", no_argument, NULL, 'a'},
	        {"timeout", required_argument, NULL, 't'},
	        {"escrow", required_argument, NULL, 'e'},
	        {"escrow-kid", required_argument, NULL, 'K'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	P2Identity *id;
	P2SealKey *seal = NULL;
	int o, r;

	if (sodium_init() < 0) {
		return 99;
	}
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'e':
		case 'K':
			add_escrow(optarg, o == 'K');
			break;
		case 'c':
			arg_connect = optarg;
			break;
		case 'k':
			arg_key = optarg;
			break;
		case 's':
			arg_seal = optarg;
			break;
		case 'C':
			arg_case = optarg;
			break;
		case 'f':
			arg_flags = strtol(optarg, NULL, 0);
			break;
		case 'a':
			arg_abort_on_status = true;
			break;
		case 't':
			arg_timeout = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (!arg_connect) {
		usage();
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (arg_case) {
		if (strcmp(arg_case, "unknown-client") == 0 ||
		    strcmp(arg_case, "foreign-kid") == 0) {
			return answered_case(arg_case);
		}
		return run_case(arg_case);
	}
	id = load_identity();
	if (arg_seal) {
		const char *why = NULL;

		r = p2_seal_key_load(arg_seal, &seal, &why);
		if (r < 0) {
			fprintf(stderr, "p2-probe: %s: %s\n", arg_seal, why ? why : strerror(-r));
			return 2;
		}
	}
	if (arg_flags >= 0 && !(arg_flags & P2_FLAG_WANT_SEALED)) {
		/* The session adds WANT_SEALED when it has a seal key: keep it for opening only. */
		r = unlock(id, NULL, (uint32_t)arg_flags, escrow_items, n_escrow);
	} else {
		r = unlock(id, seal, arg_flags >= 0 ? (uint32_t)arg_flags : 0, escrow_items,
		           n_escrow);
	}
	for (size_t i = 0; i < n_escrow; i++) {
		p2_binding_done(&arg_escrow[i].binding);
		sodium_memzero(arg_escrow[i].E, P2_SCALAR_LEN);
	}
	p2_seal_key_free(seal);
	p2_identity_free(id);
	return r;
}
