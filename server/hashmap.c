/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A string-keyed open-addressing hash map (key ID and client name lookups among 10,000 clients). */
#include "hashmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct Entry {
	const char *key;
	void *value;
	uint64_t hash;
} Entry;

struct StrMap {
	Entry *entries;
	size_t cap; /* power of two */
	size_t n;
};

static uint64_t hash_string(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return h ^ (h >> 29);
}

StrMap *strmap_new(size_t expected)
{
	StrMap *m = calloc(1, sizeof(*m));
	size_t cap = 16;

	if (!m) {
		return NULL;
	}
	while (cap < expected * 2) {
		cap *= 2;
	}
	m->entries = calloc(cap, sizeof(Entry));
	if (!m->entries) {
		free(m);
		return NULL;
	}
	m->cap = cap;
	return m;
}

StrMap *strmap_free(StrMap *m)
{
	if (m) {
		free(m->entries);
		free(m);
	}
	return NULL;
}

static Entry *find_slot(Entry *entries, size_t cap, const char *key, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);

	for (;;) {
		Entry *e = &entries[i];

		if (!e->key || (e->hash == h && strcmp(e->key, key) == 0)) {
			return e;
		}
		i = (i + 1) & (cap - 1);
	}
}

static int grow(StrMap *m)
{
	size_t cap = m->cap * 2;
	Entry *n = calloc(cap, sizeof(Entry));

	if (!n) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->entries[i].key) {
			*find_slot(n, cap, m->entries[i].key, m->entries[i].hash) = m->entries[i];
		}
	}
	free(m->entries);
	m->entries = n;
	m->cap = cap;
	return 0;
}

int strmap_add(StrMap *m, const char *key, void *value)
{
	uint64_t h = hash_string(key);
	Entry *e;

	if ((m->n + 1) * 2 > m->cap && grow(m) < 0) {
		return -ENOMEM;
	}
	e = find_slot(m->entries, m->cap, key, h);
	if (e->key) {
		return 0;
	}
	*e = (Entry){.key = key, .value = value, .hash = h};
	m->n++;
	return 1;
}

void *strmap_get(const StrMap *m, const char *key)
{
	Entry *e = find_slot(m->entries, m->cap, key, hash_string(key));

	return e->key ? e->value : NULL;
}

size_t strmap_size(const StrMap *m)
{
	return m->n;
}
