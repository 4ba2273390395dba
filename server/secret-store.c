/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Client secrets packed into a few sodium_malloc() chunks instead of one mapping per client. */
#include "secret-store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "secmem.h"

#define CHUNK_SIZE ((size_t)256 * 1024)

struct SecretChunk {
	SecBuf *buf;
	size_t live; /* secrets still referring to this chunk */
	SecretChunk *prev, *next;
};

struct SecretStore {
	SecretChunk *chunks; /* the first one is where new secrets go */
	size_t n_chunks;
};

SecretStore *secret_store_new(void)
{
	return calloc(1, sizeof(SecretStore));
}

static void chunk_unlink_free(SecretStore *store, SecretChunk *c)
{
	if (c->prev) {
		c->prev->next = c->next;
	} else {
		store->chunks = c->next;
	}
	if (c->next) {
		c->next->prev = c->prev;
	}
	secbuf_free(c->buf);
	free(c);
	store->n_chunks--;
}

SecretStore *secret_store_free(SecretStore *store)
{
	if (!store) {
		return NULL;
	}
	while (store->chunks) {
		chunk_unlink_free(store, store->chunks);
	}
	free(store);
	return NULL;
}

int secret_store_put(SecretStore *store, const void *data, size_t len, Secret *ret)
{
	SecretChunk *c = store->chunks;
	int r;

	if (len > SECRET_MAX) {
		return -EFBIG;
	}
	if (len == 0) {
		*ret = (Secret){0};
		return 0;
	}
	if (!c || c->buf->cap - c->buf->len < len) {
		size_t cap = MAX(CHUNK_SIZE, len);

		c = calloc(1, sizeof(*c));
		if (!c) {
			return -ENOMEM;
		}
		c->buf = secbuf_new(cap, cap);
		if (!c->buf) {
			free(c);
			return -ENOMEM;
		}
		c->next = store->chunks;
		if (c->next) {
			c->next->prev = c;
		}
		store->chunks = c;
		store->n_chunks++;
	}
	*ret = (Secret){.chunk = c, .off = c->buf->len, .len = len};
	r = secbuf_append(c->buf, data, len);
	if (r < 0) {
		return r; /* cannot happen: room was checked */
	}
	c->live++;
	return 0;
}

void secret_store_drop(SecretStore *store, Secret *s)
{
	SecretChunk *c = s->chunk;

	if (!c) {
		*s = (Secret){0};
		return;
	}
	secmem_wipe(c->buf->data + s->off, s->len);
	*s = (Secret){0};
	if (--c->live > 0) {
		return;
	}
	if (c == store->chunks) {
		/* The chunk new secrets go to: keep it, empty. */
		secbuf_clear(c->buf);
		return;
	}
	chunk_unlink_free(store, c);
}

const unsigned char *secret_data(const Secret *s)
{
	return s->chunk ? s->chunk->buf->data + s->off : NULL;
}

size_t secret_store_chunks(const SecretStore *store)
{
	return store->n_chunks;
}
