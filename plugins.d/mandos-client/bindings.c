/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Loads mandos-client's escrow bindings and opens what servers' ESCROW answers unlock. */
#include "bindings.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "macro.h"
#include "privs.h"

static void binding_free(EscrowBinding *e)
{
	p2_binding_done(&e->b);
	if (e->d) {
		sodium_free(e->d);
	}
	for (size_t i = 0; i < P2_SHARES_MAX; i++) {
		free(e->from_where[i]);
	}
	free(e->path);
	*e = (EscrowBinding){};
}

void bindings_done(EscrowBindings *bs)
{
	for (size_t i = 0; i < bs->n; i++) {
		binding_free(&bs->list[i]);
	}
	free(bs->list);
	*bs = (EscrowBindings){};
}

static bool is_binding_name(const char *name)
{
	size_t n = strlen(name);

	return n > strlen("escrow-") + strlen(".conf") && strncmp(name, "escrow-", 7) == 0 &&
	       strcmp(name + n - 5, ".conf") == 0;
}

static int cmp_names(const void *a, const void *b)
{
	/* C-locale order whatever the environment says: bytes. */
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted escrow-*.conf names in dir (NULL-terminated).  -ENOENT when there is no dir. */
static int list_names(const char *dir, char ***ret)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	_cleanup_strv_free_ char **names = NULL;
	size_t n = 0;
	struct dirent *de;

	if (!d) {
		return negative_errno();
	}
	names = calloc(1, sizeof(char *));
	if (!names) {
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		char **nn;

		if (!is_binding_name(de->d_name)) {
			continue;
		}
		nn = realloc(names, (n + 2) * sizeof(char *));
		if (!nn) {
			return -ENOMEM;
		}
		names = nn;
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			return -ENOMEM;
		}
		names[++n] = NULL;
	}
	qsort(names, n, sizeof(char *), cmp_names);
	*ret = TAKE_PTR(names);
	return 0;
}

/* The file (earlier in the list) that holds kid already, or NULL. */
static const EscrowBinding *kid_owner(const EscrowBindings *bs, const uint8_t kid[P2_KID_LEN])
{
	for (size_t q = 0; q < bs->n_items; q++) {
		const EscrowBinding *o = &bs->list[bs->items[q].binding];

		if (memcmp(o->b.keys[bs->items[q].key].kid, kid, P2_KID_LEN) == 0) {
			return o;
		}
	}
	return NULL;
}

/* Take a parsed binding in: its items (up to the limit), its share memory.  Owns e. */
static int bindings_add(EscrowBindings *bs, EscrowBinding *e)
{
	EscrowBinding *n;
	size_t room = P2_MAX_ESCROW_ITEMS - bs->n_items;

	for (size_t i = 0; i < e->b.n_keys; i++) {
		const EscrowBinding *o = kid_owner(bs, e->b.keys[i].kid);

		if (o) {
			char hex[2 * P2_KID_LEN + 1];

			sodium_bin2hex(hex, sizeof(hex), e->b.keys[i].kid, P2_KID_LEN);
			log_error("%s: kid %s is in %s already; file not used", e->path, hex,
			          o->path);
			binding_free(e);
			return 0;
		}
	}
	if (room == 0 || room < e->b.n_keys) {
		log_error("%s: %zu of its %u escrow items left out (at most %d in all)", e->path,
		          e->b.n_keys - MIN(room, e->b.n_keys), e->b.n_keys, P2_MAX_ESCROW_ITEMS);
		if (room == 0) {
			binding_free(e);
			return 0;
		}
	}
	e->n_used = (uint8_t)MIN(room, e->b.n_keys);
	if (e->b.threshold) {
		e->d = sodium_malloc(P2_SHARES_MAX * P2_SCALAR_LEN);
		if (!e->d) {
			binding_free(e);
			return -ENOMEM;
		}
		sodium_memzero(e->d, P2_SHARES_MAX * P2_SCALAR_LEN);
	}
	n = realloc(bs->list, (bs->n + 1) * sizeof(*n));
	if (!n) {
		binding_free(e);
		return -ENOMEM;
	}
	bs->list = n;
	for (uint8_t i = 0; i < e->n_used; i++) {
		bs->items[bs->n_items++] = (EscrowItemRef){.binding = bs->n, .key = i};
	}
	if (e->b.threshold) {
		bs->any_threshold = true;
		log_warning("threshold %s: need %u of %u shares", e->file, e->b.threshold,
		            e->b.n_keys);
	}
	bs->list[bs->n++] = *e;
	*e = (EscrowBinding){};
	return 0;
}

int bindings_load(EscrowBindings *bs, const char *dir, bool give_to_user)
{
	_cleanup_strv_free_ char **names = NULL;
	int r;

	*bs = (EscrowBindings){};
	r = list_names(dir, &names);
	if (r == -ENOENT || r == -ENOTDIR) {
		log_debug("No escrow directory %s", dir);
		return 0;
	}
	if (r == -ENOMEM) {
		return r;
	}
	if (r < 0) {
		log_error_errno(r, "Failed to read the escrow directory %s: %m", dir);
		return 0;
	}
	for (char **i = names; *i; i++) {
		EscrowBinding e = {};
		const char *why = NULL;
		unsigned line = 0;

		if (asprintf(&e.path, "%s/%s", dir, *i) < 0) {
			return -ENOMEM;
		}
		e.file = e.path + strlen(dir) + 1;
		if (give_to_user) {
			privs_give_root_file(e.path);
		}
		r = p2_binding_load(e.path, &e.b, &line, &why);
		if (r == -EBADMSG && line > 0) {
			log_error("%s:%u: %s; file not used", e.path, line, why ? why : "bad line");
		} else if (r == -EBADMSG) {
			log_error("%s: %s; file not used", e.path, why ? why : "malformed");
		} else if (r == -ENOMEM) {
			binding_free(&e);
			return r;
		} else if (r < 0) {
			log_error_errno(r, "Failed to read the escrow binding %s: %m", e.path);
		}
		if (r < 0) {
			binding_free(&e);
			continue;
		}
		log_debug("Escrow binding %s: %s, %u key(s)", e.path,
		          e.b.threshold ? "threshold" : "single", e.b.n_keys);
		r = bindings_add(bs, &e);
		if (r < 0) {
			return r;
		}
	}
	return 0;
}

int bindings_address_targets(const EscrowBindings *bs, ConnectTarget **ret, size_t *ret_n)
{
	ConnectTarget *list = NULL;
	size_t n = 0;

	for (size_t i = 0; i < bs->n; i++) {
		const EscrowBinding *e = &bs->list[i];

		for (size_t k = 0; k < e->n_used; k++) {
			const char *a = e->b.keys[k].address, *why = NULL;
			ConnectTarget t, *nl;
			int r;

			if (!a) {
				continue;
			}
			r = connect_target_parse(a, &t, &why);
			if (r == -ENOMEM) {
				goto oom;
			}
			if (r < 0) {
				log_warning("%s: share %zu: address %s: %s; not used", e->path,
				            k + 1, a, why);
				continue;
			}
			nl = realloc(list, (n + 1) * sizeof(*nl));
			if (!nl) {
				free(t.text);
				goto oom;
			}
			list = nl;
			list[n++] = t;
		}
	}
	*ret = list;
	*ret_n = n;
	return 0;
oom:
	for (size_t i = 0; i < n; i++) {
		free(list[i].text);
	}
	free(list);
	return -ENOMEM;
}

EscrowSession *bindings_session_free(EscrowSession *ses)
{
	if (ses) {
		sodium_free(ses); /* wipes E */
	}
	return NULL;
}

int bindings_session_new(const EscrowBindings *bs, EscrowSession **ret)
{
	EscrowSession *ses = sodium_malloc(sizeof(*ses));

	if (!ses) {
		return -ENOMEM;
	}
	sodium_memzero(ses, sizeof(*ses));
	for (size_t q = 0; q < bs->n_items; q++) {
		memcpy(ses->items[q].kid,
		       bs->list[bs->items[q].binding].b.keys[bs->items[q].key].kid, P2_KID_LEN);
	}
	ses->n = bs->n_items;
	*ret = ses;
	return 0;
}

int bindings_session_blind(const EscrowBindings *bs, EscrowSession *ses, P2EscrowItem *items,
                           size_t n)
{
	if (n != ses->n || n != bs->n_items) {
		return -EINVAL;
	}
	for (size_t q = 0; q < n; q++) {
		const P2BindingKey *k = &bs->list[bs->items[q].binding].b.keys[bs->items[q].key];
		int r;

		if (memcmp(items[q].kid, k->kid, P2_KID_LEN) != 0) {
			return -EINVAL;
		}
		r = p2_escrow_blind(k->c, ses->E[q], items[q].point);
		if (r < 0) {
			sodium_memzero(ses->E, sizeof(ses->E));
			return r;
		}
		memcpy(ses->items[q].point, items[q].point, P2_POINT_LEN);
	}
	return 0;
}

/* Whether the key `k` names the server with this key id (raw). */
static bool key_names(const P2BindingKey *k, const uint8_t id[P2_KEY_ID_LEN])
{
	for (size_t i = 0; i < k->n_servers; i++) {
		if (sodium_memcmp(k->servers[i], id, P2_KEY_ID_LEN) == 0) {
			return true;
		}
	}
	return false;
}

/* k shares are open: reconstruct.  Returns 1 and *ret, 0 (corrupt: now unusable), -ENOMEM. */
static int threshold_reconstruct(EscrowBinding *e, const uint8_t key_id_raw[P2_KEY_ID_LEN],
                                 SecBuf **ret)
{
	uint8_t xs[P2_SHARES_MAX];
	uint8_t(*d)[P2_SCALAR_LEN] = NULL;
	size_t k = 0;
	int r;

	/* The d values must stay in locked memory: gather them in place at the front of a
	 * second locked block. */
	d = sodium_malloc(P2_SHARES_MAX * P2_SCALAR_LEN);
	if (!d) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < e->b.n_keys && k < e->b.threshold; i++) {
		if (e->opened[i]) {
			xs[k] = (uint8_t)(i + 1);
			memcpy(d[k], e->d[i], P2_SCALAR_LEN);
			k++;
		}
	}
	r = p2_threshold_open(&e->b, key_id_raw, xs, (const uint8_t(*)[P2_SCALAR_LEN])d, k, ret);
	sodium_free(d);
	if (r == -ENOMEM) {
		return r;
	}
	if (r < 0) {
		log_warning("threshold %s: the shares do not reconstruct the secret (binding "
		            "corrupt?)",
		            e->file);
		e->unusable = true;
		sodium_memzero(e->d, P2_SHARES_MAX * P2_SCALAR_LEN);
		return 0;
	}
	log_warning("threshold %s: %u of %u shares, secret recovered", e->file, e->b.threshold,
	            e->b.threshold);
	return 1;
}

/* One ESCROW item for item q.  Returns as bindings_answer(). */
static int answer_item(EscrowBindings *bs, const EscrowSession *ses, size_t q,
                       const uint8_t y[P2_POINT_LEN], const char *where, const char *server_key_id,
                       const uint8_t server_raw[P2_KEY_ID_LEN],
                       const uint8_t key_id_raw[P2_KEY_ID_LEN], SecBuf **ret_secret,
                       const EscrowBinding **ret_binding)
{
	EscrowBinding *e = &bs->list[bs->items[q].binding];
	unsigned i = bs->items[q].key; /* 0-based; share i + 1 */
	const P2BindingKey *k = &e->b.keys[i];
	uint8_t *K = NULL;
	int r;

	if (e->b.threshold && (e->unusable || e->opened[i])) {
		log_debug("%s: share %u from %s not needed", e->file, i + 1, where);
		return 0;
	}
	if (k->n_servers > 0 && !key_names(k, server_raw)) {
		log_warning(
		        "server %s: ignoring its answer for %s%s: server key ID %s is not named "
		        "there",
		        where, e->file, e->b.threshold ? " (a share)" : "", server_key_id);
		return 0;
	}
	K = sodium_malloc(P2_POINT_LEN);
	if (!K) {
		return -ENOMEM;
	}
	r = p2_escrow_unblind(ses->E[q], k->s, y, K);
	if (r >= 0 && !e->b.threshold) {
		r = p2_escrow_open(&e->b, key_id_raw, K, ret_secret);
	} else if (r >= 0) {
		r = p2_share_open(&e->b, key_id_raw, i + 1, K, e->d[i]);
	}
	sodium_free(K);
	if (r == -ENOMEM) {
		return r;
	}
	if (r < 0) {
		if (e->b.threshold) {
			sodium_memzero(e->d[i], P2_SCALAR_LEN);
			log_warning("server %s: its answer for %s (share %u) does not open (wrong "
			            "escrow key?)",
			            where, e->file, i + 1);
		} else {
			log_warning(
			        "server %s: its answer for %s does not open (wrong escrow key?)",
			        where, e->file);
		}
		return 0;
	}
	if (!e->b.threshold) {
		log_debug("Opened the escrow binding %s with the answer of %s", e->file, where);
		*ret_binding = e;
		return 1;
	}
	e->opened[i] = true;
	e->n_opened++;
	memcpy(e->from[i], server_key_id, P2_KEY_ID_HEX_SIZE - 1);
	e->from[i][P2_KEY_ID_HEX_SIZE - 1] = '\0';
	free(e->from_where[i]);
	e->from_where[i] = strdup(where); /* for servers-seen only: may stay NULL */
	log_warning("threshold %s: share %u opened, from server %s (%u of %u)", e->file, i + 1,
	            server_key_id, e->n_opened, e->b.threshold);
	if (e->n_opened < e->b.threshold) {
		return 0;
	}
	r = threshold_reconstruct(e, key_id_raw, ret_secret);
	if (r == 1) {
		*ret_binding = e;
	}
	return r;
}

int bindings_answer(EscrowBindings *bs, const EscrowSession *ses, const P2Result *res,
                    const char *where, const char *server_key_id,
                    const uint8_t key_id_raw[P2_KEY_ID_LEN], SecBuf **ret_secret,
                    const EscrowBinding **ret_binding)
{
	uint8_t server_raw[P2_KEY_ID_LEN];

	if (!ses || !server_key_id ||
	    p2_key_id_parse(server_key_id, strlen(server_key_id), server_raw) < 0) {
		return 0;
	}
	for (size_t j = 0; j < res->n_items; j++) {
		const P2ResultItem *it = &res->items[j];
		size_t q;
		int r;

		if (it->kind != P2_ITEM_ESCROW || it->len != P2_ESCROW_ITEM_LEN) {
			continue;
		}
		/* The session checked that it is one of ours, in order, once. */
		for (q = 0; q < ses->n && q < bs->n_items; q++) {
			if (memcmp(ses->items[q].kid, it->data, P2_KID_LEN) == 0) {
				break;
			}
		}
		if (q == ses->n || q == bs->n_items) {
			continue;
		}
		r = answer_item(bs, ses, q, it->data + P2_KID_LEN, where, server_key_id, server_raw,
		                key_id_raw, ret_secret, ret_binding);
		if (r != 0) {
			return r;
		}
	}
	return 0;
}

bool bindings_want_from(const EscrowBindings *bs, const char *server_key_id)
{
	uint8_t raw[P2_KEY_ID_LEN];

	if (!server_key_id || p2_key_id_parse(server_key_id, strlen(server_key_id), raw) < 0) {
		return true;
	}
	for (size_t q = 0; q < bs->n_items; q++) {
		const EscrowBinding *e = &bs->list[bs->items[q].binding];
		unsigned i = bs->items[q].key;
		const P2BindingKey *k = &e->b.keys[i];

		if (e->b.threshold && (e->unusable || e->opened[i])) {
			continue;
		}
		if (k->n_servers == 0 || key_names(k, raw)) {
			return true;
		}
	}
	return false;
}

void bindings_say_waiting(const EscrowBindings *bs)
{
	for (size_t i = 0; i < bs->n; i++) {
		const EscrowBinding *e = &bs->list[i];

		if (e->b.threshold && !e->unusable && e->n_opened < e->b.threshold) {
			log_warning("threshold %s: %u of %u shares; waiting for more servers",
			            e->file, e->n_opened, e->b.threshold);
		}
	}
}
