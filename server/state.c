/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The persistent state file: our own line format, written atomically, secrets encrypted. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "io-util.h"
#include "log.h"
#include "parse-util.h"
#include "secmem.h"

#define STATE_MAGIC "mandos-c-state 1"
/* Longest line accepted: a secret of SECRET_MAX bytes in base64 and then some. */
#define STATE_LINE_MAX (SECRET_MAX * 2)

void saved_state_done(SavedState *st)
{
	for (size_t i = 0; i < st->n; i++) {
		saved_client_done(&st->clients[i]);
	}
	free(st->clients);
	*st = (SavedState){0};
}

/* Writing. */

static int put_str(FILE *f, const char *key, const char *v)
{
	_cleanup_free_ char *e = state_escape(v, strlen(v));

	if (!e) {
		return -ENOMEM;
	}
	fprintf(f, "%s %s\n", key, e);
	return 0;
}

static int put_settings(FILE *f, const char *p, const ClientSettings *s)
{
	char key[32];
	int r;

#define KEY(name) (snprintf(key, sizeof(key), "%s.%s", p, name), key)
	if ((r = put_str(f, KEY("host"), s->host)) < 0 ||
	    (r = put_str(f, KEY("checker"), s->checker)) < 0 ||
	    (r = put_str(f, KEY("key_id"), s->key_id)) < 0 ||
	    (r = put_str(f, KEY("fingerprint"), s->fingerprint)) < 0) {
		return r;
	}
	fprintf(f, "%s %" PRIu64 "\n", KEY("timeout"), s->timeout);
	fprintf(f, "%s %" PRIu64 "\n", KEY("extended_timeout"), s->extended_timeout);
	fprintf(f, "%s %" PRIu64 "\n", KEY("interval"), s->interval);
	fprintf(f, "%s %" PRIu64 "\n", KEY("approval_delay"), s->approval_delay);
	fprintf(f, "%s %" PRIu64 "\n", KEY("approval_duration"), s->approval_duration);
	fprintf(f, "%s %d\n", KEY("approved_by_default"), s->approved_by_default);
	fprintf(f, "%s %d\n", KEY("enabled"), s->enabled);
#undef KEY
	return 0;
}

/* One client record's fields, from a running client or from a kept SavedClient. */
typedef struct Record {
	const char *name;
	realtime_t created, last_enabled, expires, last_checked_ok, last_approval_request;
	realtime_t approved_until;
	int last_checker_status;
	const ClientSettings *s, *config;
	const unsigned char *secret_box; /* nonce + box, or NULL */
	size_t secret_box_len;
	const realtime_t *releases;
	size_t n_releases;
} Record;

/* The secret of `c` in a new box (nonce + crypto_secretbox) under its state key: 0 and
 * *ret NULL when it has no state key. */
static int seal_secret(const Client *c, unsigned char **ret, size_t *ret_len)
{
	size_t len = c->secret.len;
	size_t box_len = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
	const unsigned char *key = secret_data(&c->state_key);
	unsigned char *box;

	*ret = NULL;
	*ret_len = 0;
	if (!key || c->state_key.len != STATE_KEY_SIZE) {
		return 0;
	}
	box = malloc(box_len);
	if (!box) {
		return -ENOMEM;
	}
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES,
	                      len ? secret_data(&c->secret) : (const unsigned char *)"", len, box,
	                      key);
	*ret = box;
	*ret_len = box_len;
	return 0;
}

static int put_record(FILE *f, const Record *rec)
{
	_cleanup_free_ char *name = state_escape(rec->name, strlen(rec->name));
	int r;

	if (!name) {
		return -ENOMEM;
	}
	fprintf(f, "client %s\n", name);
	fprintf(f, "created %" PRIu64 "\n", rec->created);
	fprintf(f, "last_enabled %" PRIu64 "\n", rec->last_enabled);
	fprintf(f, "expires %" PRIu64 "\n", rec->expires);
	fprintf(f, "last_checked_ok %" PRIu64 "\n", rec->last_checked_ok);
	fprintf(f, "last_approval_request %" PRIu64 "\n", rec->last_approval_request);
	fprintf(f, "approved_until %" PRIu64 "\n", rec->approved_until);
	fprintf(f, "last_checker_status %d\n", rec->last_checker_status);
	if ((r = put_settings(f, "s", rec->s)) < 0 || (r = put_settings(f, "c", rec->config)) < 0) {
		return r;
	}
	if (rec->secret_box) {
		size_t b64_len = sodium_base64_encoded_len(rec->secret_box_len,
		                                           sodium_base64_VARIANT_ORIGINAL);
		_cleanup_free_ char *b64 = malloc(b64_len);

		if (!b64) {
			return -ENOMEM;
		}
		sodium_bin2base64(b64, b64_len, rec->secret_box, rec->secret_box_len,
		                  sodium_base64_VARIANT_ORIGINAL);
		fprintf(f, "secret %s\n", b64);
	}
	for (size_t i = 0; i < rec->n_releases; i++) {
		fprintf(f, "release %" PRIu64 "\n", rec->releases[i]);
	}
	fputs("end\n", f);
	return 0;
}

/* The Record of a Client or a SavedClient (same field names), its secret box left out. */
#define RECORD_OF(x)                                                                               \
	((Record){                                                                                 \
	        .name = (x)->name,                                                                 \
	        .created = (x)->created,                                                           \
	        .last_enabled = (x)->last_enabled,                                                 \
	        .expires = (x)->expires,                                                           \
	        .last_checked_ok = (x)->last_checked_ok,                                           \
	        .last_approval_request = (x)->last_approval_request,                               \
	        .approved_until = (x)->approved_until,                                             \
	        .last_checker_status = (x)->last_checker_status,                                   \
	        .s = &(x)->s,                                                                      \
	        .config = &(x)->config,                                                            \
	        .releases = (x)->releases,                                                         \
	        .n_releases = (x)->n_releases,                                                     \
	})

static int put_client(FILE *f, const Client *c)
{
	_cleanup_free_ unsigned char *box = NULL;
	Record rec = RECORD_OF(c);
	int r = seal_secret(c, &box, &rec.secret_box_len);

	if (r < 0) {
		return r;
	}
	rec.secret_box = box;
	return put_record(f, &rec);
}

static int put_saved(FILE *f, const SavedClient *sc)
{
	Record rec = RECORD_OF(sc);

	rec.secret_box = sc->secret_box;
	rec.secret_box_len = sc->secret_box_len;
	return put_record(f, &rec);
}

int state_snapshot(const Client *c, SavedClient *ret)
{
	SavedClient sc = {
	        .created = c->created,
	        .last_enabled = c->last_enabled,
	        .expires = c->expires,
	        .last_checked_ok = c->last_checked_ok,
	        .last_approval_request = c->last_approval_request,
	        .approved_until = c->approved_until,
	        .last_checker_status = c->last_checker_status,
	};
	int r;

	sc.name = strdup(c->name);
	if (!sc.name || client_settings_copy(&c->s, &sc.s) < 0 ||
	    client_settings_copy(&c->config, &sc.config) < 0) {
		saved_client_done(&sc);
		return -ENOMEM;
	}
	if (c->n_releases) {
		sc.releases = malloc(c->n_releases * sizeof(*sc.releases));
		if (!sc.releases) {
			saved_client_done(&sc);
			return -ENOMEM;
		}
		memcpy(sc.releases, c->releases, c->n_releases * sizeof(*sc.releases));
		sc.n_releases = c->n_releases;
	}
	r = seal_secret(c, &sc.secret_box, &sc.secret_box_len);
	if (r < 0) {
		saved_client_done(&sc);
		return r;
	}
	*ret = sc;
	return 0;
}

int state_save(const char *dir, Client *const *clients, size_t n, const SavedState *kept)
{
	_cleanup_free_ char *tmp = NULL, *path = NULL;
	_cleanup_close_ int dfd = -EBADF;
	FILE *f = NULL;
	int fd, r = 0;

	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, STATE_FILE_NAME) < 0 ||
	    asprintf(&path, "%s/%s", dir, STATE_FILE_NAME) < 0) {
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		return negative_errno();
	}
	(void)fchmod(fd, 0600);
	f = fdopen(fd, "w");
	if (!f) {
		r = negative_errno();
		close(fd);
		unlink(tmp);
		return r;
	}
	fprintf(f, "%s\n", STATE_MAGIC);
	for (size_t i = 0; i < n && r >= 0; i++) {
		r = put_client(f, clients[i]);
	}
	for (size_t i = 0; kept && i < kept->n && r >= 0; i++) {
		r = put_saved(f, &kept->clients[i]);
	}
	if (r >= 0 && fflush(f) != 0) {
		r = negative_errno();
	}
	if (r >= 0 && fsync(fileno(f)) < 0) {
		r = negative_errno();
	}
	if (fclose(f) != 0 && r >= 0) {
		r = negative_errno();
	}
	if (r >= 0 && rename(tmp, path) < 0) {
		r = negative_errno();
	}
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
	}
	return 0;
}

/* Reading. */

typedef struct Reader {
	const char *path;
	unsigned line;
} Reader;

static int bad(Reader *rd, const char *what)
{
	log_warning("%s:%u: %s", rd->path, rd->line, what);
	return -EBADMSG;
}

static int get_str(Reader *rd, const char *v, char **field)
{
	char *s;

	if (state_unescape(v, &s, NULL) < 0) {
		return bad(rd, "bad escaped value");
	}
	free(*field);
	*field = s;
	return 0;
}

static int get_u64(Reader *rd, const char *v, uint64_t *field)
{
	if (parse_uint64(v, UINT64_MAX, field) < 0) {
		return bad(rd, "bad number");
	}
	return 0;
}

static int get_settings(Reader *rd, ClientSettings *s, const char *key, const char *v)
{
	_cleanup_free_ char *tmp = NULL;
	uint64_t n;
	int r;

	if (strcmp(key, "host") == 0) {
		return get_str(rd, v, &s->host);
	}
	if (strcmp(key, "checker") == 0) {
		return get_str(rd, v, &s->checker);
	}
	if (strcmp(key, "fingerprint") == 0) {
		return get_str(rd, v, &s->fingerprint);
	}
	if (strcmp(key, "key_id") == 0) {
		r = get_str(rd, v, &tmp);
		if (r < 0) {
			return r;
		}
		if (*tmp && keyid_normalize(tmp, s->key_id) < 0) {
			return bad(rd, "bad key_id");
		}
		if (!*tmp) {
			s->key_id[0] = '\0';
		}
		return 0;
	}
	if (strcmp(key, "timeout") == 0) {
		return get_u64(rd, v, &s->timeout);
	}
	if (strcmp(key, "extended_timeout") == 0) {
		return get_u64(rd, v, &s->extended_timeout);
	}
	if (strcmp(key, "interval") == 0) {
		return get_u64(rd, v, &s->interval);
	}
	if (strcmp(key, "approval_delay") == 0) {
		return get_u64(rd, v, &s->approval_delay);
	}
	if (strcmp(key, "approval_duration") == 0) {
		return get_u64(rd, v, &s->approval_duration);
	}
	if (strcmp(key, "approved_by_default") == 0 || strcmp(key, "enabled") == 0) {
		r = get_u64(rd, v, &n);
		if (r < 0 || n > 1) {
			return bad(rd, "bad boolean");
		}
		if (key[0] == 'e') {
			s->enabled = n;
		} else {
			s->approved_by_default = n;
		}
		return 0;
	}
	return 0; /* unknown keys: a newer version wrote them */
}

static int settings_init(ClientSettings *s)
{
	*s = (ClientSettings){0};
	s->host = strdup("");
	s->checker = strdup("");
	s->fingerprint = strdup("");
	return s->host && s->checker && s->fingerprint ? 0 : -ENOMEM;
}

static int get_line(Reader *rd, SavedClient *sc, const char *key, const char *v)
{
	uint64_t n;
	int r;

	if (strncmp(key, "s.", 2) == 0) {
		return get_settings(rd, &sc->s, key + 2, v);
	}
	if (strncmp(key, "c.", 2) == 0) {
		return get_settings(rd, &sc->config, key + 2, v);
	}
	if (strcmp(key, "last_checker_status") == 0) {
		int64_t st;

		if (parse_int64(v, -2, 255, &st) < 0) {
			return bad(rd, "bad checker status");
		}
		sc->last_checker_status = (int)st;
		return 0;
	}
	if (strcmp(key, "release") == 0) {
		realtime_t *a;

		r = get_u64(rd, v, &n);
		if (r < 0) {
			return r;
		}
		if (sc->n_releases >= STATE_RELEASES_MAX) {
			return bad(rd, "too many releases");
		}
		/* Grow by doubling: n_releases is a power of two whenever the array is full. */
		if ((sc->n_releases & (sc->n_releases - 1)) == 0) {
			a = realloc(sc->releases, MAX(sc->n_releases * 2, 1) * sizeof(*a));
			if (!a) {
				return -ENOMEM;
			}
			sc->releases = a;
		}
		sc->releases[sc->n_releases++] = n;
		return 0;
	}
	if (strcmp(key, "secret") == 0) {
		size_t len = strlen(v), out_len;
		unsigned char *box = malloc(len + 1);

		if (!box) {
			return -ENOMEM;
		}
		if (sodium_base642bin(box, len + 1, v, len, NULL, &out_len, NULL,
		                      sodium_base64_VARIANT_ORIGINAL) < 0) {
			free(box);
			return bad(rd, "bad secret");
		}
		free(sc->secret_box);
		sc->secret_box = box;
		sc->secret_box_len = out_len;
		return 0;
	}
	{
		static const struct {
			const char *name;
			size_t off;
		} times[] = {
		        {"created", offsetof(SavedClient, created)},
		        {"last_enabled", offsetof(SavedClient, last_enabled)},
		        {"expires", offsetof(SavedClient, expires)},
		        {"last_checked_ok", offsetof(SavedClient, last_checked_ok)},
		        {"last_approval_request", offsetof(SavedClient, last_approval_request)},
		        {"approved_until", offsetof(SavedClient, approved_until)},
		};
		for (size_t i = 0; i < ELEMENTSOF(times); i++) {
			if (strcmp(key, times[i].name) == 0) {
				r = get_u64(rd, v, &n);
				if (r < 0) {
					return r;
				}
				*(realtime_t *)((char *)sc + times[i].off) = n;
				return 0;
			}
		}
	}
	return 0;
}

void saved_client_done(SavedClient *sc)
{
	free(sc->name);
	client_settings_done(&sc->s);
	client_settings_done(&sc->config);
	free(sc->secret_box);
	free(sc->releases);
	*sc = (SavedClient){0};
}

int state_read(const char *path, state_client_cb_t cb, void *userdata)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	SavedClient cur = {0};
	bool in_client = false;
	size_t cap = 0;
	Reader rd = {.path = path};
	ssize_t n;
	int r = 0;

	f = fopen(path, "re");
	if (!f) {
		return negative_errno();
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *sp;

		rd.line++;
		if ((size_t)n > STATE_LINE_MAX) {
			r = bad(&rd, "line too long");
			break;
		}
		if (n > 0 && line[n - 1] == '\n') {
			line[--n] = '\0';
		}
		if ((size_t)n != strlen(line)) {
			r = bad(&rd, "NUL byte in state file");
			break;
		}
		if (rd.line == 1) {
			if (strcmp(line, STATE_MAGIC) != 0) {
				r = bad(&rd, "not a state file of this program");
				break;
			}
			continue;
		}
		if (*line == '\0') {
			continue;
		}
		if (strcmp(line, "end") == 0) {
			if (!in_client) {
				r = bad(&rd, "'end' outside a client");
				break;
			}
			r = cb(&cur, userdata);
			saved_client_done(&cur);
			in_client = false;
			if (r < 0) {
				break;
			}
			continue;
		}
		sp = strchr(line, ' ');
		if (!sp) {
			r = bad(&rd, "line without a value");
			break;
		}
		*sp++ = '\0';
		if (strcmp(line, "client") == 0) {
			if (in_client) {
				r = bad(&rd, "client without 'end'");
				break;
			}
			in_client = true;
			cur = (SavedClient){.last_checker_status = -2};
			if (settings_init(&cur.s) < 0 || settings_init(&cur.config) < 0) {
				r = -ENOMEM;
				break;
			}
			r = get_str(&rd, sp, &cur.name);
		} else if (!in_client) {
			r = bad(&rd, "value outside a client");
		} else {
			r = get_line(&rd, &cur, line, sp);
		}
		if (r < 0) {
			break;
		}
	}
	if (r >= 0 && ferror(f)) {
		r = -EIO;
	}
	if (r >= 0 && rd.line == 0) {
		r = bad(&rd, "empty state file");
	}
	if (r >= 0 && in_client) {
		r = bad(&rd, "truncated state file");
	}
	saved_client_done(&cur);
	return r;
}

int saved_state_append(SavedState *st, SavedClient *sc)
{
	SavedClient *n;

	n = realloc(st->clients, (st->n + 1) * sizeof(*n));
	if (!n) {
		return -ENOMEM;
	}
	st->clients = n;
	st->clients[st->n++] = *sc;
	*sc = (SavedClient){0};
	return 0;
}

static int collect(SavedClient *sc, void *userdata)
{
	return saved_state_append(userdata, sc);
}

int state_load(const char *path, SavedState *ret)
{
	SavedState st = {0};
	int r = state_read(path, collect, &st);

	if (r < 0) {
		saved_state_done(&st);
		return r;
	}
	*ret = st;
	return 0;
}

int state_decrypt_secret(const SavedClient *sc, const Secret *state_key, SecBuf *out)
{
	const unsigned char *key = secret_data(state_key);
	size_t len;
	int r;

	secbuf_clear(out);
	if (!sc->secret_box || !key || state_key->len != STATE_KEY_SIZE ||
	    sc->secret_box_len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
		return -EBADMSG;
	}
	len = sc->secret_box_len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	if (len > SECRET_MAX) {
		return -EBADMSG;
	}
	r = secbuf_reserve(out, len);
	if (r < 0) {
		return r;
	}
	if (crypto_secretbox_open_easy(out->data, sc->secret_box + crypto_secretbox_NONCEBYTES,
	                               sc->secret_box_len - crypto_secretbox_NONCEBYTES,
	                               sc->secret_box, key) != 0) {
		secbuf_clear(out);
		return -EBADMSG;
	}
	out->len = len;
	out->data[len] = '\0';
	return 0;
}
