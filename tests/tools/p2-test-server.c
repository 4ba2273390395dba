/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A protocol 2 server that answers every client the same scripted way, for mandos-client's tests.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "escrow.h"
#include "keys.h"
#include "msg.h"
#include "p2.h"
#include "secmem.h"
#include "transport.h"

/*
 * Usage: p2-test-server PORT SERVER-KEY.PEM ANSWER...  on [::1]:PORT, one connection at a
 * time; "listening" on stdout once it listens.  ANSWER, in order:
 *   status CODE FLAGS VALUE TEXT   a STATUS (then a second's pause)
 *   result CODE FLAGS VALUE TEXT   a refusal RESULT, then FINAL
 *   sealed BASE64                  RESULT OK with this SEALED item, then FINAL
 *   escrow MODE BASE64-S           RESULT OK with one ESCROW item for the request's kid of the
 *                                  escrow key S (NO_MATERIAL if it has none), then FINAL; MODE:
 *                                  good ([S]x), wrong ([S']x for a random S': a valid point
 *                                  that opens nothing), garbage (a random point), topbit (good
 *                                  with the top bit set), zero (32 zero bytes), unrequested
 *                                  (good, for a kid the client did not ask for)
 *   nofinal                        (before result/sealed) leave the FINAL out
 *   hang                           send nothing more; wait for the client to go
 */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Write the session's output, less `keep` bytes at its end. */
static int flush_out(int fd, P2ServerSession *s, size_t keep)
{
	size_t n;
	const uint8_t *o = p2_server_output(s, &n);

	n = n > keep ? n - keep : 0;
	while (n > 0) {
		/* A client that went away (it had its secret from other servers) is no reason
		 * to die of SIGPIPE: the next connection still needs an answer. */
		ssize_t w = send(fd, o, n, MSG_NOSIGNAL);

		if (w <= 0) {
			return -1;
		}
		p2_server_output_consume(s, (size_t)w);
		o += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read and feed until the request (or failure).  Returns 0 at P2_EV_REQUEST. */
static int read_request(int fd, P2ServerSession *s)
{
	uint8_t buf[4096];
	char line[P2_VERSION_LINE_LEN];
	const char *why = NULL;

	if (read(fd, line, sizeof(line)) != (ssize_t)sizeof(line) ||
	    memcmp(line, P2_VERSION_LINE, sizeof(line)) != 0) {
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		size_t off = 0;

		if (n <= 0) {
			return -1;
		}
		while (off < (size_t)n) {
			size_t used = 0;
			int ev = p2_server_feed(s, buf + off, (size_t)n - off, now_us(), &used,
			                        &why);

			if (ev < 0) {
				fprintf(stderr, "p2-test-server: %s\n", why ? why : "error");
				return -1;
			}
			off += used;
			if (ev == P2_EV_REQUEST) {
				return flush_out(fd, s, 0);
			}
			if (used == 0) {
				break;
			}
		}
		if (flush_out(fd, s, 0) < 0) {
			return -1;
		}
	}
}

static void fill(P2Result *r, char **a)
{
	r->code = (uint8_t)atoi(a[0]);
	r->flags = (uint8_t)atoi(a[1]);
	r->value = (uint32_t)strtoul(a[2], NULL, 10);
	snprintf(r->text, sizeof(r->text), "%s", a[3]);
	r->tlen = (uint16_t)strlen(r->text);
}

/*
 * The ESCROW item of an "escrow MODE S" answer into item/data (48 bytes).  Returns 1 with the
 * item, 0 when the request has no item for S's kid, -1 on a bad argument.
 */
static int escrow_item(const P2ClientAuth *req, const char *mode, const char *S_b64,
                       uint8_t data[P2_ESCROW_ITEM_LEN])
{
	uint8_t S[P2_SCALAR_LEN], s[P2_POINT_LEN], kid[P2_KID_LEN], *y = data + P2_KID_LEN;
	const P2EscrowItem *it = NULL;

	if (p2_base64_decode(S_b64, strlen(S_b64), S, sizeof(S)) != P2_SCALAR_LEN ||
	    p2_escrow_server_key(S, s, kid) < 0) {
		fprintf(stderr, "p2-test-server: bad escrow scalar\n");
		return -1;
	}
	for (size_t i = 0; i < req->n_items; i++) {
		if (memcmp(req->items[i].kid, kid, P2_KID_LEN) == 0) {
			it = &req->items[i];
		}
	}
	if (!it) {
		return 0;
	}
	memcpy(data, kid, P2_KID_LEN);
	if (strcmp(mode, "wrong") == 0) {
		crypto_core_ristretto255_scalar_random(S);
	}
	if (strcmp(mode, "garbage") == 0) {
		crypto_core_ristretto255_random(y);
	} else if (strcmp(mode, "zero") == 0) {
		memset(y, 0, P2_POINT_LEN);
	} else if (p2_escrow_evaluate(S, it->point, y) < 0) {
		return -1;
	}
	if (strcmp(mode, "topbit") == 0) {
		y[P2_POINT_LEN - 1] |= 0x80;
	}
	if (strcmp(mode, "unrequested") == 0) {
		data[0] ^= 1;
	}
	sodium_memzero(S, sizeof(S));
	return 1;
}

static void serve(int fd, const P2Identity *id, int argc, char **argv)
{
	static uint8_t item[P2_ESCROW_ITEM_LEN];
	static uint8_t box[P2_SEALED_MAX];
	P2ServerSession *s = NULL;
	bool nofinal = false, hang = false;
	uint8_t buf[256];

	if (p2_server_new(id, NULL, now_us(), &s) < 0 || read_request(fd, s) < 0) {
		goto out;
	}
	for (int i = 0; i < argc; i++) {
		P2Result res = {0};

		if (strcmp(argv[i], "nofinal") == 0) {
			nofinal = true;
		} else if (strcmp(argv[i], "hang") == 0) {
			hang = true;
			break;
		} else if (strcmp(argv[i], "status") == 0 && i + 4 < argc) {
			P2Status st = {0};

			fill(&res, argv + i + 1);
			st.code = res.code;
			st.flags = res.flags;
			st.value = res.value;
			memcpy(st.text, res.text, sizeof(st.text));
			st.tlen = res.tlen;
			i += 4;
			if (p2_server_send_status(s, &st) < 0 || flush_out(fd, s, 0) < 0) {
				goto out;
			}
			sleep(1);
		} else if ((strcmp(argv[i], "result") == 0 && i + 4 < argc) ||
		           (strcmp(argv[i], "sealed") == 0 && i + 1 < argc) ||
		           (strcmp(argv[i], "escrow") == 0 && i + 2 < argc)) {
			if (argv[i][0] == 'r') {
				fill(&res, argv + i + 1);
			} else if (argv[i][0] == 'e') {
				int r = escrow_item(p2_server_request(s), argv[i + 1], argv[i + 2],
				                    item);

				if (r < 0) {
					goto out;
				}
				if (r == 0) {
					res.code = P2_NO_MATERIAL;
				} else {
					res.n_items = 1;
					res.items[0] = (P2ResultItem){.kind = P2_ITEM_ESCROW,
					                              .len = P2_ESCROW_ITEM_LEN,
					                              .data = item};
				}
			} else {
				ssize_t n = p2_base64_decode(argv[i + 1], strlen(argv[i + 1]), box,
				                             sizeof(box));

				if (n < 0) {
					goto out;
				}
				res.n_items = 1;
				res.items[0] = (P2ResultItem){
				        .kind = P2_ITEM_SEALED, .len = (uint16_t)n, .data = box};
			}
			if (p2_server_send_result(s, &res) < 0) {
				fprintf(stderr, "p2-test-server: bad RESULT\n");
				goto out;
			}
			/* The FINAL is the last DataMessage: an empty push. */
			(void)flush_out(fd, s,
			                nofinal ? P2_DATAMSG_HEADER_LEN + P2_STREAM_ABYTES : 0);
			break;
		}
	}
	/* Linger until the client is done, as a server does (hang: with our side open). */
	if (!hang) {
		(void)shutdown(fd, SHUT_WR);
	}
	while (read(fd, buf, sizeof(buf)) > 0) {
	}
out:
	p2_server_free(s);
	close(fd);
}

int main(int argc, char **argv)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	P2Identity *id = NULL;
	const char *why = NULL;
	const int one = 1;
	int ls;

	if (argc < 4) {
		fprintf(stderr, "usage: %s PORT SERVER-KEY.PEM ANSWER...\n", argv[0]);
		return 64;
	}
	if (secmem_init() < 0 || p2_check_sizes() < 0) {
		return 70;
	}
	if (p2_identity_load(argv[2], &id, &why) < 0) {
		fprintf(stderr, "%s: %s\n", argv[2], why ? why : "cannot read");
		return 66;
	}
	ls = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin6_port = htons((uint16_t)atoi(argv[1]));
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 16) < 0) {
		perror("p2-test-server");
		return 71;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			serve(fd, id, argc - 3, argv + 3);
		}
	}
}
