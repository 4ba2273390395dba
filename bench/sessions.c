/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Whole protocol 2 unlocks between common/p2's two sessions over socketpairs, timed per thread. */
#include "sessions.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "clock.h"
#include "keys.h"
#include "macro.h"
#include "p2.h"
#include "sealed.h"
#include "transport.h"

typedef struct Shared {
	unsigned n;
	int fds[2]; /* a pipe: the client thread passes each connection's server end */
	const P2Identity *server;
	P2Result result; /* RESULT OK with the sealed box */
	uint64_t server_ns;
	int server_error;
} Shared;

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One server connection: the version line, then the session until DONE. */
static int serve(Shared *sh, int fd)
{
	P2ServerSession *s = NULL;
	uint8_t buf[4096];
	size_t have = 0, off;
	int r = 0;

	while (have < P2_VERSION_LINE_LEN) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);

		if (n <= 0) {
			return -EPROTO;
		}
		have += (size_t)n;
	}
	if (memcmp(buf, P2_VERSION_LINE, P2_VERSION_LINE_LEN) != 0) {
		return -EPROTO;
	}
	r = p2_server_new(sh->server, NULL, mono_usec(), &s);
	if (r < 0) {
		return r;
	}
	off = P2_VERSION_LINE_LEN;
	for (;;) {
		const uint8_t *out;
		size_t used, len;
		ssize_t n;
		int ev = P2_EV_NONE;

		while (off < have || have == 0) {
			ev = p2_server_feed(s, buf + off, have - off, mono_usec(), &used, NULL);
			if (ev < 0) {
				r = ev;
				goto out;
			}
			off += used;
			if (ev == P2_EV_REQUEST) {
				r = p2_server_send_result(s, &sh->result);
				if (r < 0) {
					goto out;
				}
			}
			if (ev == P2_EV_DONE || have == 0 || (used == 0 && ev == P2_EV_NONE)) {
				break;
			}
		}
		out = p2_server_output(s, &len);
		if (len > 0) {
			r = write_all(fd, out, len);
			if (r < 0) {
				goto out;
			}
			p2_server_output_consume(s, len);
		}
		if (ev == P2_EV_DONE) {
			break;
		}
		if (have == 0) {
			r = -EPROTO; /* EOF before DONE */
			goto out;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			r = -errno;
			goto out;
		}
		have = (size_t)n;
		off = 0;
	}
out:
	p2_server_free(s);
	return r;
}

static void *server_thread(void *userdata)
{
	Shared *sh = userdata;
	uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);

	for (unsigned i = 0; i < sh->n; i++) {
		int fd, r;

		if (read(sh->fds[0], &fd, sizeof(fd)) != sizeof(fd)) {
			sh->server_error = -EIO;
			break;
		}
		r = serve(sh, fd);
		close(fd);
		if (r < 0 && sh->server_error == 0) {
			sh->server_error = r;
		}
	}
	sh->server_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
	return NULL;
}

/* One client unlock on fd: true when the box opened. */
static bool unlock(const P2ClientConfig *cfg, int fd)
{
	P2ClientSession *c = NULL;
	uint8_t buf[4096];
	bool ok = false;

	if (p2_client_new(cfg, mono_usec(), &c) < 0) {
		return false;
	}
	for (;;) {
		const uint8_t *out;
		size_t len, off = 0;
		ssize_t n;
		int ev = P2_EV_NONE;

		out = p2_client_output(c, &len);
		if (len > 0) {
			if (write_all(fd, out, len) < 0) {
				break;
			}
			p2_client_output_consume(c, len);
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			break;
		}
		do {
			size_t used = 0;

			ev = p2_client_feed(c, buf + off, (size_t)n - off, mono_usec(), &used,
			                    NULL);
			off += used;
		} while (ev >= 0 && ev != P2_EV_RESULT && off < (size_t)n);
		if (ev < 0 || n == 0) {
			break;
		}
		if (ev == P2_EV_RESULT) {
			const P2Result *res = p2_client_result(c);
			SecBuf *secret = NULL;

			ok = res->code == P2_OK && res->n_items == 1 &&
			     p2_sealed_open(res->items[0].data, res->items[0].len, cfg->seal,
			                    &secret) == 0;
			secbuf_free(secret);
			out = p2_client_output(c, &len); /* our FINAL */
			ok = ok && write_all(fd, out, len) == 0;
			break;
		}
	}
	p2_client_free(c);
	return ok;
}

int sessions_run(unsigned n, size_t secret_len, SessionCost *ret)
{
	Shared sh = {.n = n, .fds = {-1, -1}};
	P2Identity *server = NULL, *client = NULL;
	P2SealKey *seal = NULL;
	uint8_t seed[32], *secret = NULL, *box = NULL;
	unsigned unlocks = 0;
	uint64_t t0, client_ns;
	pthread_t thread;
	int r;

	randombytes_buf(seed, sizeof(seed));
	r = p2_identity_from_seed(seed, &server);
	if (r >= 0) {
		randombytes_buf(seed, sizeof(seed));
		r = p2_identity_from_seed(seed, &client);
	}
	if (r >= 0) {
		randombytes_buf(seed, sizeof(seed));
		r = p2_seal_key_from_secret(seed, &seal);
	}
	sodium_memzero(seed, sizeof(seed));
	secret = malloc(secret_len);
	box = malloc(secret_len + crypto_box_SEALBYTES);
	if (r < 0 || !secret || !box) {
		r = r < 0 ? r : -ENOMEM;
		goto out;
	}
	randombytes_buf(secret, secret_len);
	r = p2_seal(secret, secret_len, seal->pk, box, secret_len + crypto_box_SEALBYTES);
	if (r < 0) {
		goto out;
	}
	sh.server = server;
	sh.result = (P2Result){.code = P2_OK, .n_items = 1};
	sh.result.items[0] = (P2ResultItem){.kind = P2_ITEM_SEALED,
	                                    .len = (uint16_t)(secret_len + crypto_box_SEALBYTES),
	                                    .data = box};
	if (pipe2(sh.fds, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	r = -pthread_create(&thread, NULL, server_thread, &sh);
	if (r < 0) {
		goto out;
	}
	{
		const P2ClientConfig cfg = {.identity = client, .seal = seal};

		t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		for (unsigned i = 0; i < n; i++) {
			int sp[2];

			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 ||
			    write(sh.fds[1], &sp[1], sizeof(sp[1])) != sizeof(sp[1])) {
				break;
			}
			unlocks += unlock(&cfg, sp[0]);
			close(sp[0]);
		}
		client_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
	}
	close(sh.fds[1]); /* the server thread stops at EOF if the client stopped early */
	sh.fds[1] = -1;
	pthread_join(thread, NULL);
	if (unlocks != n || sh.server_error < 0) {
		r = sh.server_error < 0 ? sh.server_error : -EBADMSG;
		goto out;
	}
	*ret = (SessionCost){
	        .server_us = (double)sh.server_ns / 1e3 / n,
	        .client_us = (double)client_ns / 1e3 / n,
	        .unlocks = unlocks,
	};
	r = 0;
out:
	if (sh.fds[0] >= 0) {
		close(sh.fds[0]);
	}
	if (sh.fds[1] >= 0) {
		close(sh.fds[1]);
	}
	free(secret);
	free(box);
	p2_seal_key_free(seal);
	p2_identity_free(client);
	p2_identity_free(server);
	return r;
}
