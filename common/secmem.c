/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SecBuf and process hardening on top of libsodium's guarded allocations. */
#include "secmem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sodium.h>

/* No secret we handle is anywhere near this; it only stops size arithmetic from overflowing. */
#define SECBUF_ABSOLUTE_MAX ((size_t)1 << 30)

int secmem_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

int secmem_harden_process(void)
{
	const struct rlimit zero = {0, 0};

	if (setrlimit(RLIMIT_CORE, &zero) < 0) {
		return negative_errno();
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		return negative_errno();
	}
	return 0;
}

SecBuf *secbuf_new(size_t initial, size_t max)
{
	SecBuf *b;

	if (initial > max || max > SECBUF_ABSOLUTE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (secmem_init() < 0) {
		errno = ENOMEM;
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		return NULL;
	}
	b->data = sodium_malloc(initial + 1);
	if (!b->data) {
		free(b);
		errno = ENOMEM;
		return NULL;
	}
	b->data[0] = '\0';
	b->cap = initial;
	b->max = max;
	return b;
}

SecBuf *secbuf_free(SecBuf *b)
{
	if (!b) {
		return NULL;
	}
	/* sodium_free() wipes the whole allocation before unmapping it. */
	sodium_free(b->data);
	free(b);
	return NULL;
}

int secbuf_reserve(SecBuf *b, size_t extra)
{
	unsigned char *n;
	size_t want, cap;

	if (extra > b->max - b->len) {
		return -EFBIG;
	}
	want = b->len + extra;
	if (want <= b->cap) {
		return 0;
	}
	/* Grow geometrically, but never past max. */
	cap = b->cap < 64 ? 64 : b->cap;
	while (cap < want) {
		cap = cap > b->max / 2 ? b->max : cap * 2;
	}
	cap = MIN(cap, b->max);
	n = sodium_malloc(cap + 1);
	if (!n) {
		return -ENOMEM;
	}
	memcpy(n, b->data, b->len + 1);
	sodium_free(b->data);
	b->data = n;
	b->cap = cap;
	return 0;
}

int secbuf_append(SecBuf *b, const void *p, size_t n)
{
	int r = secbuf_reserve(b, n);

	if (r < 0) {
		return r;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

void secbuf_clear(SecBuf *b)
{
	sodium_memzero(b->data, b->cap + 1);
	b->len = 0;
}

ssize_t secbuf_read_once(SecBuf *b, int fd)
{
	ssize_t n;
	int r;

	if (b->len == b->max) {
		/* Full: find out whether more is coming, without keeping it. */
		unsigned char probe[256];

		n = RETRY_EINTR(read(fd, probe, sizeof(probe)));
		sodium_memzero(probe, sizeof(probe));
		if (n < 0) {
			return negative_errno();
		}
		return n == 0 ? 0 : -EFBIG;
	}
	r = secbuf_reserve(b, MIN((size_t)4096, b->max - b->len));
	if (r < 0) {
		return r;
	}
	n = RETRY_EINTR(read(fd, b->data + b->len, b->cap - b->len));
	if (n < 0) {
		return negative_errno();
	}
	b->len += (size_t)n;
	b->data[b->len] = '\0';
	return n;
}

int secbuf_read_all(SecBuf *b, int fd)
{
	for (;;) {
		ssize_t n = secbuf_read_once(b, fd);

		if (n < 0) {
			return (int)n;
		}
		if (n == 0) {
			return 0;
		}
	}
}

void secmem_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}

void *secmem_realloc(void *p, size_t old_size, size_t new_size)
{
	void *n = malloc(new_size ? new_size : 1);

	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	if (p) {
		memcpy(n, p, MIN(old_size, new_size));
		secmem_free(p, old_size);
	}
	return n;
}

void *secmem_free(void *p, size_t n)
{
	if (p) {
		sodium_memzero(p, n);
		free(p);
	}
	return NULL;
}

char *secmem_strfree(char *s)
{
	return s ? secmem_free(s, strlen(s)) : NULL;
}
