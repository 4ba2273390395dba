/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A string-keyed open-addressing hash map (key ID and client name lookups among 10,000 clients). */
#pragma once

#include <stddef.h>

#include "macro.h"

typedef struct StrMap StrMap;

/* A map sized for about `expected` entries (it grows as needed).  NULL on ENOMEM. */
StrMap *strmap_new(size_t expected);
/* Free the map; keys and values are borrowed and not freed.  Accepts NULL. */
StrMap *strmap_free(StrMap *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(StrMap *, strmap_free)

/*
 * Add key -> value unless the key is present (the first entry wins, as upstream's "first
 * client in order" lookup).  The key string must outlive the map.  Returns 1 when added, 0
 * when already present, -ENOMEM.
 */
int strmap_add(StrMap *m, const char *key, void *value);

/* The value for a key, or NULL. */
void *strmap_get(const StrMap *m, const char *key);

size_t strmap_size(const StrMap *m);
