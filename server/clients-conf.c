/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Each client of clients.conf: reading the file, its secrets, and the settings merge helpers. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "duration.h"
#include "format.h"
#include "ini.h"
#include "io-util.h"
#include "log.h"
#include "parse-util.h"
#include "path-expand.h"
#include "escrow.h"
#include "p2.h"
#include "secmem.h"

void client_settings_done(ClientSettings *s)
{
	free(s->host);
	free(s->checker);
	free(s->fingerprint);
	*s = (ClientSettings){0};
}

int client_settings_copy(const ClientSettings *src, ClientSettings *dst)
{
	ClientSettings d = *src;

	d.host = strdup(src->host);
	d.checker = strdup(src->checker);
	d.fingerprint = strdup(src->fingerprint);
	if (!d.host || !d.checker || !d.fingerprint) {
		client_settings_done(&d);
		*dst = (ClientSettings){0};
		return -ENOMEM;
	}
	*dst = d;
	return 0;
}

unsigned client_settings_diff(const ClientSettings *a, const ClientSettings *b)
{
	unsigned m = 0;

	m |= strcmp(a->host, b->host) ? CS_HOST : 0;
	m |= strcmp(a->checker, b->checker) ? CS_CHECKER : 0;
	m |= strcmp(a->key_id, b->key_id) ? CS_KEY_ID : 0;
	m |= strcmp(a->fingerprint, b->fingerprint) ? CS_FINGERPRINT : 0;
	m |= a->timeout != b->timeout ? CS_TIMEOUT : 0;
	m |= a->extended_timeout != b->extended_timeout ? CS_EXTENDED_TIMEOUT : 0;
	m |= a->interval != b->interval ? CS_INTERVAL : 0;
	m |= a->approval_delay != b->approval_delay ? CS_APPROVAL_DELAY : 0;
	m |= a->approval_duration != b->approval_duration ? CS_APPROVAL_DURATION : 0;
	m |= a->approved_by_default != b->approved_by_default ? CS_APPROVED_BY_DEFAULT : 0;
	m |= a->enabled != b->enabled ? CS_ENABLED : 0;
	return m;
}

static int replace_string(char **dst, const char *src)
{
	char *n = strdup(src);

	if (!n) {
		return -ENOMEM;
	}
	free(*dst);
	*dst = n;
	return 0;
}

int client_settings_assign(ClientSettings *dst, const ClientSettings *src, unsigned mask)
{
	if ((mask & CS_HOST) && replace_string(&dst->host, src->host) < 0) {
		return -ENOMEM;
	}
	if ((mask & CS_CHECKER) && replace_string(&dst->checker, src->checker) < 0) {
		return -ENOMEM;
	}
	if ((mask & CS_FINGERPRINT) && replace_string(&dst->fingerprint, src->fingerprint) < 0) {
		return -ENOMEM;
	}
	if (mask & CS_KEY_ID) {
		memcpy(dst->key_id, src->key_id, sizeof(dst->key_id));
	}
	if (mask & CS_TIMEOUT) {
		dst->timeout = src->timeout;
	}
	if (mask & CS_EXTENDED_TIMEOUT) {
		dst->extended_timeout = src->extended_timeout;
	}
	if (mask & CS_INTERVAL) {
		dst->interval = src->interval;
	}
	if (mask & CS_APPROVAL_DELAY) {
		dst->approval_delay = src->approval_delay;
	}
	if (mask & CS_APPROVAL_DURATION) {
		dst->approval_duration = src->approval_duration;
	}
	if (mask & CS_APPROVED_BY_DEFAULT) {
		dst->approved_by_default = src->approved_by_default;
	}
	if (mask & CS_ENABLED) {
		dst->enabled = src->enabled;
	}
	return 0;
}

void secret_id_compute(const void *data, size_t len, unsigned char ret[SECRET_ID_SIZE])
{
	static const unsigned char context[16] = "mandos-secret-id";

	crypto_generichash(ret, SECRET_ID_SIZE, data, len, context, sizeof(context));
}

/* clang-format off */
static const char *const client_defaults[] = {
	"timeout", "PT5M",
	"extended_timeout", "PT15M",
	"interval", "PT2M",
	"checker", "fping -q -- %%(host)s",
	"host", "",
	"approval_delay", "PT0S",
	"approval_duration", "PT1S",
	"approved_by_default", "True",
	"enabled", "True",
	NULL,
};

/* clang-format on */

/*
 * The keys a client may set besides those of client_defaults (fingerprint is ignored).  The
 * protocol 2 keys have their defaults in the code, not in client_defaults, so that %(name)s
 * and the [DEFAULT] section stay as upstream's ConfigParser sees them.
 */
static const char *const client_known_keys[] = {
        "key_id",
        "fingerprint",
        "secret",
        "secfile",
        "protocols",
        "release_limit",
        "sealed_secret",
        "sealed_secfile",
        "escrow_key",
        "escrow_keyfile",
        NULL,
};

int protocols_parse(const char *s, unsigned *ret)
{
	unsigned mask = 0;

	for (const char *p = s; *p;) {
		size_t n;

		if (strchr(" \t,", *p)) {
			p++;
			continue;
		}
		n = strcspn(p, " \t,");
		if (n != 1 || (*p != '1' && *p != '2')) {
			return -EINVAL;
		}
		mask |= PROTOCOL_BIT(*p - '0');
		p += n;
	}
	if (mask == 0) {
		return -EINVAL;
	}
	*ret = mask;
	return 0;
}

const char *protocols_format(unsigned protocols, char sep, char ret[PROTOCOLS_STRING_SIZE])
{
	size_t n = 0;

	for (int p = 1; p <= 2; p++) {
		if (protocols & PROTOCOL_BIT(p)) {
			if (n > 0) {
				ret[n++] = sep;
			}
			ret[n++] = (char)('0' + p);
		}
	}
	ret[n] = '\0';
	return ret;
}

int clients_config_parse_string(const char *name, const char *text, size_t len, IniFile **ret,
                                char **ret_error)
{
	return ini_parse_string(name, text, len, client_defaults, ret, ret_error);
}

int clients_config_check_keys(const IniFile *ini, IniWarnFunc warn, void *userdata)
{
	int r, n;

	n = ini_check_unknown_keys(ini, "DEFAULT", client_known_keys, warn, userdata);
	for (size_t i = 0; n >= 0 && i < ini_section_count(ini); i++) {
		r = ini_check_unknown_keys(ini, ini_section_name(ini, i), client_known_keys, warn,
		                           userdata);
		n = r < 0 ? r : n + r;
	}
	return n;
}

/* Context for reading one client: the file and a scratch buffer for secrets. */
typedef struct Loader {
	IniFile *ini;
	SecretStore *store;
	SecBuf *scratch;
	char **error;
	unsigned n_errors; /* errors logged that did not stop the loading */
} Loader;

/* "FILE:LINE: message" for a key of a section (its own line, else the section's), or NULL. */
static _printf_(4, 0) char *client_message(Loader *l, const char *section, const char *key,
                                            const char *fmt, va_list ap)
{
	_cleanup_free_ char *msg = NULL;
	unsigned line = key ? ini_key_line(l->ini, section, key) : 0;
	size_t i;

	if (line == 0) {
		for (i = 0; i < ini_section_count(l->ini); i++) {
			if (strcmp(ini_section_name(l->ini, i), section) == 0) {
				line = ini_section_line(l->ini, i);
			}
		}
	}
	if (vasprintf(&msg, fmt, ap) < 0) {
		return NULL;
	}
	return ini_error_message(l->ini, line, "%s", msg);
}

/* An error that stops the loading: its message goes to *l->error.  Returns -EINVAL/-ENOMEM. */
static _printf_(4, 5) int client_error(Loader *l, const char *section, const char *key,
                                       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*l->error = client_message(l, section, key, fmt, ap);
	va_end(ap);
	return *l->error ? -EINVAL : -ENOMEM;
}

/* An error logged at once, after which the loading goes on (a section skipped, a key left out). */
static _printf_(4, 5) void client_log_error(Loader *l, const char *section, const char *key,
                                            const char *fmt, ...)
{
	_cleanup_free_ char *m = NULL;
	va_list ap;

	va_start(ap, fmt);
	m = client_message(l, section, key, fmt, ap);
	va_end(ap);
	log_error("%s", m ? m : "clients.conf: error (out of memory for its message)");
	l->n_errors++;
}

static int get_value(Loader *l, const char *section, const char *key, char **ret)
{
	int r = ini_get(l->ini, section, key, ret, l->error);

	if (r == -ENOENT) {
		*ret = NULL;
		return 0;
	}
	return r;
}

static int get_duration(Loader *l, const char *section, const char *key, uint64_t *ret)
{
	_cleanup_free_ char *v = NULL;
	int r = get_value(l, section, key, &v);

	if (r < 0) {
		return r;
	}
	if (duration_parse(v, ret) < 0) {
		return client_error(l, section, key, "invalid duration '%s'", v);
	}
	return 0;
}

static int get_bool(Loader *l, const char *section, const char *key, bool *ret)
{
	return ini_get_bool(l->ini, section, key, ret, l->error);
}

static int load_secret(Loader *l, const char *section, ClientConfig *cc)
{
	_cleanup_wipe_free_ char *secret = NULL;
	_cleanup_free_ char *secfile = NULL;
	int r;

	secbuf_clear(l->scratch);
	r = get_value(l, section, "secret", &secret);
	if (r < 0) {
		return r;
	}
	if (secret) {
		r = base64_decode_secbuf(secret, strlen(secret), l->scratch);
		if (r == -EINVAL) {
			return client_error(l, section, "secret", "%s: invalid base64 secret",
			                    section);
		}
		if (r < 0) {
			return client_error(l, section, "secret", "%s: secret too large", section);
		}
	} else {
		_cleanup_free_ char *path = NULL;
		_cleanup_close_ int fd = -EBADF;

		r = get_value(l, section, "secfile", &secfile);
		if (r < 0) {
			return r;
		}
		if (!secfile && (cc->delivery.protocols & PROTOCOL_BIT(2))) {
			return 0; /* protocol 2 only needs no OpenPGP secret */
		}
		if (!secfile) {
			return client_error(l, section, NULL, "client %s has no secret or secfile",
			                    section);
		}
		path = path_expand(secfile);
		if (!path) {
			return -ENOMEM;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			_cleanup_free_ char *m = NULL;

			r = negative_errno();
			if (asprintf(&m, "cannot open secfile '%s': %s", path, strerror(-r)) < 0) {
				return -ENOMEM;
			}
			return client_error(l, section, "secfile", "%s", m);
		}
		r = secbuf_read_all(l->scratch, fd);
		if (r < 0) {
			return client_error(l, section, "secfile", "cannot read secfile '%s'",
			                    path);
		}
	}
	r = secret_store_put(l->store, l->scratch->data, l->scratch->len, &cc->secret);
	if (r < 0) {
		return r;
	}
	secret_id_compute(l->scratch->data, l->scratch->len, cc->secret_id);
	{
		static const unsigned char context[16] = "mandos-state-key";
		unsigned char key[STATE_KEY_SIZE];

		crypto_generichash(key, sizeof(key), l->scratch->data, l->scratch->len, context,
		                   sizeof(context));
		r = secret_store_put(l->store, key, sizeof(key), &cc->state_key);
		secmem_wipe(key, sizeof(key));
		if (r < 0) {
			return r;
		}
	}
	secbuf_clear(l->scratch);
	return 0;
}

static char *normalize_fingerprint(const char *s)
{
	char *r = malloc(strlen(s) + 1), *p = r;

	if (!r) {
		return NULL;
	}
	for (; *s; s++) {
		if (*s != ' ') {
			*p++ = (*s >= 'a' && *s <= 'z') ? (char)(*s - 'a' + 'A') : *s;
		}
	}
	*p = '\0';
	return r;
}

/*
 * protocols and release_limit (§A.9.1): policy, so a bad value skips the whole section (fail
 * closed).  Returns 1 when valid, 0 when the section is skipped (logged), or -errno.
 */
static int load_policy(Loader *l, const char *section, ClientDelivery *d)
{
	_cleanup_free_ char *protocols = NULL, *limit = NULL;
	uint64_t n;
	int r;

	if ((r = get_value(l, section, "protocols", &protocols)) < 0 ||
	    (r = get_value(l, section, "release_limit", &limit)) < 0) {
		return r;
	}
	if (protocols && protocols_parse(protocols, &d->protocols) < 0) {
		client_log_error(l, section, "protocols",
		                 "client %s: invalid protocols '%s' (1 and 2, separated by spaces "
		                 "or commas); skipping the client",
		                 section, protocols);
		return 0;
	}
	if (limit && parse_uint64(limit, RELEASE_LIMIT_MAX, &n) < 0) {
		client_log_error(l, section, "release_limit",
		                 "client %s: invalid release_limit '%s' (0 to %u); skipping the "
		                 "client",
		                 section, limit, RELEASE_LIMIT_MAX);
		return 0;
	}
	d->release_limit = limit ? (uint32_t)n : 0;
	return 1;
}

/* Take a sealed box of `len` bytes when its length is acceptable (§A.6); else log it. */
static int keep_sealed(Loader *l, const char *section, const char *key, const void *data,
                       size_t len, ClientDelivery *d)
{
	if (len < SEALED_MIN || len > SEALED_MAX) {
		client_log_error(l, section, key,
		                 "client %s: %s of %zu bytes is not %u to %u bytes long; left out",
		                 section, key, len, SEALED_MIN, SEALED_MAX);
		return 0;
	}
	d->sealed = malloc(len);
	if (!d->sealed) {
		return -ENOMEM;
	}
	memcpy(d->sealed, data, len);
	d->sealed_len = len;
	return 0;
}

/*
 * sealed_secret (base64) or sealed_secfile (raw bytes, expanded as secfile); sealed_secret
 * wins.  Material, so a bad value is logged and left out and the section loads without it.
 * Returns 0 or -ENOMEM.
 */
static int load_sealed(Loader *l, const char *section, ClientDelivery *d)
{
	_cleanup_wipe_free_ char *text = NULL;
	_cleanup_free_ char *file = NULL, *path = NULL;
	char *data = NULL;
	size_t len;
	int r;

	r = get_value(l, section, "sealed_secret", &text);
	if (r < 0) {
		return r;
	}
	if (text) {
		secbuf_clear(l->scratch);
		r = base64_decode_secbuf(text, strlen(text), l->scratch);
		if (r == -ENOMEM) {
			return r;
		}
		if (r < 0) {
			client_log_error(l, section, "sealed_secret",
			                 "client %s: sealed_secret is not valid base64; left out",
			                 section);
			return 0;
		}
		r = keep_sealed(l, section, "sealed_secret", l->scratch->data, l->scratch->len, d);
		secbuf_clear(l->scratch);
		return r;
	}
	r = get_value(l, section, "sealed_secfile", &file);
	if (r < 0 || !file) {
		return r;
	}
	path = path_expand(file);
	if (!path) {
		return -ENOMEM;
	}
	r = read_full_file(path, SEALED_MAX, &data, &len);
	if (r == -ENOMEM) {
		return r;
	}
	if (r == -EFBIG) {
		client_log_error(l, section, "sealed_secfile",
		                 "client %s: sealed_secfile '%s' is longer than %u bytes; left out",
		                 section, path, SEALED_MAX);
		return 0;
	}
	if (r < 0) {
		client_log_error(l, section, "sealed_secfile",
		                 "client %s: cannot read sealed_secfile '%s': %s; left out", section,
		                 path, strerror(-r));
		return 0;
	}
	r = keep_sealed(l, section, "sealed_secfile", data, len, d);
	secmem_free(data, len);
	return r;
}

/* ---- escrow keys (§B.2) ---- */

/* The escrow keys of one section while they are read: scalars in l->scratch, n × 32. */
typedef struct EscrowLoad {
	Loader *l;
	const char *section;
	size_t n;
	bool full_logged; /* the ESCROW_KEYS_MAX error was logged */
} EscrowLoad;

/*
 * One base64 token: check it (§B.1, §B.2) and append its scalar.  A kid repeats exactly when
 * the scalar does (s = [S]G is one-to-one on canonical scalars), so no kid is computed here
 * but for the message.  `where` is the
 * message prefix, `keyfile` whether it comes from a keyfile (for the wording).  Returns 0
 * (taken or left out, logged) or -ENOMEM.
 */
static int escrow_take(EscrowLoad *e, const char *where, bool keyfile, unsigned i,
                       const char *token, size_t len)
{
	const char *what = keyfile ? "escrow key" : "escrow_key";
	uint8_t S[ESCROW_SCALAR_LEN + 1], s[P2_POINT_LEN], kid[P2_KID_LEN];
	char hex[2 * ESCROW_KID_LEN + 1];
	const char *why = NULL;
	ssize_t n;
	int r = 0;

	n = p2_base64_decode(token, len, S, sizeof(S));
	if (n == -EINVAL) {
		why = "not base64";
	} else if (n != ESCROW_SCALAR_LEN) {
		why = "not 32 bytes";
	} else if (sodium_is_zero(S, ESCROW_SCALAR_LEN)) {
		why = "zero";
	} else if (!p2_scalar_acceptable(S)) {
		why = "not canonical";
	}
	if (why) {
		goto log;
	}
	for (size_t j = 0; j < e->n; j++) {
		if (sodium_memcmp(e->l->scratch->data + j * ESCROW_SCALAR_LEN, S,
		                  ESCROW_SCALAR_LEN) == 0) {
			(void)p2_escrow_server_key(S, s, kid);
			sodium_bin2hex(hex, sizeof(hex), kid, sizeof(kid));
			log_error("%s client %s: %s #%u: repeats kid %s; left out", where,
			          e->section, what, i, hex);
			e->l->n_errors++;
			goto out;
		}
	}
	if (e->n >= ESCROW_KEYS_MAX) {
		if (!e->full_logged) {
			log_error("%s client %s: more than %u escrow keys; the rest left out",
			          where, e->section, ESCROW_KEYS_MAX);
			e->l->n_errors++;
			e->full_logged = true;
		}
		goto out;
	}
	r = secbuf_append(e->l->scratch, S, ESCROW_SCALAR_LEN);
	if (r < 0) {
		goto out;
	}
	e->n++;
	goto out;
log:
	log_error("%s client %s: %s #%u: %s; left out", where, e->section, what, i, why);
	e->l->n_errors++;
out:
	sodium_memzero(S, sizeof(S));
	return r;
}

/* The tokens of text (whitespace separated; with comments, lines starting with '#' skipped). */
static int escrow_tokens(EscrowLoad *e, const char *text, size_t len, bool keyfile,
                         const char *file, unsigned first_line)
{
	unsigned line = first_line, i = 0;
	bool line_start = true; /* only blanks so far on this line */
	size_t p = 0;
	int r;

	while (p < len) {
		_cleanup_free_ char *where = NULL;
		size_t start;

		if (text[p] == '\n') {
			/* A keyfile's lines are its own; a value's pieces are named by its key line
			 * (comment lines inside a value are not in it, so its lines do not count). */
			line += keyfile;
			line_start = true;
			p++;
			continue;
		}
		if (strchr(" \t\r\f\v", text[p])) {
			p++;
			continue;
		}
		if (keyfile && line_start && text[p] == '#') {
			while (p < len && text[p] != '\n') {
				p++;
			}
			continue;
		}
		line_start = false;
		start = p;
		while (p < len && !strchr(" \t\r\f\v\n", text[p])) {
			p++;
		}
		i++;
		if (asprintf(&where, "%s:%u:", file, line) < 0) {
			return -ENOMEM;
		}
		r = escrow_take(e, where, keyfile, i, text + start, p - start);
		if (r < 0) {
			return r;
		}
	}
	return 0;
}

/*
 * The value of a key set in the section itself (a [DEFAULT] value is not inherited), or NULL;
 * an empty value counts as not set.
 */
static const char *own_value(Loader *l, const char *section, const char *key)
{
	const char *v = ini_get_raw(l->ini, section, key);

	if (!v || v == ini_get_raw(l->ini, "DEFAULT", key) || v[strspn(v, " \t\r\n")] == '\0') {
		return NULL;
	}
	return v;
}

/* escrow_keyfile: read it (secret) into a scratch SecBuf and take its tokens. */
static int escrow_keyfile(EscrowLoad *e, const char *path)
{
	_cleanup_secbuf_ SecBuf *text = secbuf_new(4096, 1024 * 1024);
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	if (!text) {
		return -ENOMEM;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = negative_errno();
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto fail;
	}
	if (st.st_mode & 077) {
		log_warning("client %s: escrow_keyfile %s has mode %04o: others may read it "
		            "(chmod 600 it)",
		            e->section, path, (unsigned)(st.st_mode & 07777));
	}
	r = secbuf_read_all(text, fd);
	if (r == -ENOMEM) {
		return r;
	}
	if (r < 0) {
		goto fail;
	}
	return escrow_tokens(e, (const char *)text->data, text->len, true, path, 1);
fail:
	log_error("client %s: cannot read escrow_keyfile %s: %s", e->section, path,
	          r == -EINVAL ? "not a regular file" : strerror(-r));
	e->l->n_errors++;
	return 0;
}

/*
 * escrow_key, then escrow_keyfile (§B.2): the union, bad keys left out (logged).  The
 * scalars go into the store in one piece.  Returns 0, -ENOMEM, or -EINVAL (with *l->error)
 * for a keyfile path whose "%(name)s" cannot be interpolated, as for any other value.
 */
static int load_escrow(Loader *l, const char *section, ClientEscrow *ret)
{
	const char *inline_keys = own_value(l, section, "escrow_key");
	_cleanup_free_ char *file = NULL;
	EscrowLoad e = {.l = l, .section = section};
	int r = 0;

	/* The path is expanded as secfile's: "%(name)s" first, then $VAR and ~ (§B.2). */
	if (own_value(l, section, "escrow_keyfile")) {
		r = get_value(l, section, "escrow_keyfile", &file);
		if (r < 0) {
			return r;
		}
	}
	if (!inline_keys && !file) {
		return 0;
	}
	secbuf_clear(l->scratch);
	if (inline_keys) {
		unsigned line = ini_key_line(l->ini, section, "escrow_key");

		if (asprintf(&ret->inline_at, "%s:%u", ini_file_name(l->ini), line) < 0) {
			ret->inline_at = NULL;
			return -ENOMEM;
		}
		r = escrow_tokens(&e, inline_keys, strlen(inline_keys), false,
		                  ini_file_name(l->ini), line);
	}
	if (r >= 0 && file) {
		ret->keyfile = path_expand(file);
		r = ret->keyfile ? escrow_keyfile(&e, ret->keyfile) : -ENOMEM;
	}
	if (r >= 0 && e.n > 0) {
		ret->kids = malloc(sizeof(EscrowKids) + e.n * ESCROW_KID_LEN);
		r = ret->kids ? secret_store_put(l->store, l->scratch->data, l->scratch->len,
		                                 &ret->scalars)
		              : -ENOMEM;
	}
	secbuf_clear(l->scratch);
	if (r < 0 || e.n == 0) {
		free(ret->kids);
		ret->kids = NULL;
		return r;
	}
	ret->kids->ready = false;
	ret->n = e.n;
	return 0;
}

/* Returns 1 when the section was loaded, 0 when skipped, or -errno. */
static int load_client(Loader *l, const char *section, unsigned line, ClientConfig *cc)
{
	_cleanup_free_ char *key_id = NULL, *fingerprint = NULL;
	ClientSettings *s = &cc->settings;
	int r;

	*cc = (ClientConfig){.line = line, .delivery = {.protocols = PROTOCOLS_DEFAULT}};
	r = get_value(l, section, "key_id", &key_id);
	if (r < 0) {
		return r;
	}
	r = get_value(l, section, "fingerprint", &fingerprint);
	if (r < 0) {
		return r;
	}
	if ((!key_id || !*key_id) && (!fingerprint || !*fingerprint)) {
		log_error("Skipping client %s without key_id or fingerprint", section);
		return 0;
	}
	if (key_id && *key_id) {
		if (keyid_normalize(key_id, s->key_id) < 0) {
			return client_error(l, section, "key_id",
			                    "key_id '%s' is not 64 hexadecimal digits", key_id);
		}
	}
	r = load_policy(l, section, &cc->delivery);
	if (r <= 0) {
		return r;
	}
	s->fingerprint = normalize_fingerprint(fingerprint ? fingerprint : "");
	cc->name = strdup(section);
	if (!s->fingerprint || !cc->name) {
		return -ENOMEM;
	}
	if ((r = get_value(l, section, "host", &s->host)) < 0 ||
	    (r = get_value(l, section, "checker", &s->checker)) < 0 ||
	    (r = get_duration(l, section, "timeout", &s->timeout)) < 0 ||
	    (r = get_duration(l, section, "extended_timeout", &s->extended_timeout)) < 0 ||
	    (r = get_duration(l, section, "interval", &s->interval)) < 0 ||
	    (r = get_duration(l, section, "approval_delay", &s->approval_delay)) < 0 ||
	    (r = get_duration(l, section, "approval_duration", &s->approval_duration)) < 0 ||
	    (r = get_bool(l, section, "approved_by_default", &s->approved_by_default)) < 0 ||
	    (r = get_bool(l, section, "enabled", &s->enabled)) < 0) {
		return r;
	}
	if (s->interval == 0) {
		return client_error(l, section, "interval", "%s: interval must not be zero",
		                    section);
	}
	r = load_secret(l, section, cc);
	if (r < 0) {
		return r;
	}
	r = load_sealed(l, section, &cc->delivery);
	if (r < 0) {
		return r;
	}
	r = load_escrow(l, section, &cc->delivery.escrow);
	if (r < 0) {
		return r;
	}
	return 1;
}

const uint8_t (*client_escrow_kids(const ClientEscrow *e))[ESCROW_KID_LEN]
{
	const uint8_t *S = secret_data(&e->scalars);

	if (e->n == 0 || !e->kids) {
		return NULL;
	}
	if (!e->kids->ready) {
		for (size_t i = 0; i < e->n; i++) {
			uint8_t s[P2_POINT_LEN];

			/* Every scalar was checked at load: this cannot fail. */
			(void)p2_escrow_server_key(S + i * ESCROW_SCALAR_LEN, s, e->kids->kid[i]);
		}
		e->kids->ready = true;
	}
	return (const uint8_t(*)[ESCROW_KID_LEN])e->kids->kid;
}

void client_escrow_done(ClientEscrow *e, SecretStore *store)
{
	secret_store_drop(store, &e->scalars);
	free(e->kids);
	free(e->keyfile);
	free(e->inline_at);
	*e = (ClientEscrow){0};
}

void client_delivery_done(ClientDelivery *d, SecretStore *store)
{
	secmem_free(d->sealed, d->sealed_len);
	client_escrow_done(&d->escrow, store);
	*d = (ClientDelivery){0};
}

static void client_config_done(ClientConfig *cc, SecretStore *store)
{
	free(cc->name);
	client_delivery_done(&cc->delivery, store);
	client_settings_done(&cc->settings);
	secret_store_drop(store, &cc->secret);
	secret_store_drop(store, &cc->state_key);
	*cc = (ClientConfig){0};
}

void clients_config_done(ClientsConfig *c, SecretStore *store)
{
	for (size_t i = 0; i < c->n; i++) {
		client_config_done(&c->clients[i], store);
	}
	free(c->clients);
	for (size_t i = 0; i < c->n_skipped; i++) {
		free(c->skipped[i]);
	}
	free(c->skipped);
	*c = (ClientsConfig){0};
}

/*
 * Read the file.  Normally the first error ends it (-errno, and its message in *ret_error).
 * With `problems` (for --check-config), each error and each skipped section is logged and
 * counted there, and reading goes on with the next section.
 */
static int load_file(const char *path, SecretStore *store, ClientsConfig *ret, char **ret_error,
                     unsigned *problems)
{
	_cleanup_ini_free_ IniFile *ini = NULL;
	_cleanup_secbuf_ SecBuf *scratch = NULL;
	ClientsConfig c = {0};
	Loader l;
	size_t n;
	int r;

	r = ini_parse_file(path, NULL, client_defaults, &ini, ret_error);
	if (r < 0) {
		return r;
	}
	r = clients_config_check_keys(ini, config_log_warning, NULL);
	if (r < 0) {
		return r;
	}
	c.n_warnings = (unsigned)r;
	for (const char *const *k = (const char *const[]){"escrow_key", "escrow_keyfile", NULL}; *k;
	     k++) {
		if (ini_get_raw(ini, "DEFAULT", *k)) {
			_cleanup_free_ char *m = ini_error_message(
			        ini, ini_key_line(ini, "DEFAULT", *k),
			        "%s is a key of one client, not of [DEFAULT]; ignored", *k);

			log_error("%s", m ? m : *k);
			if (problems) {
				(*problems)++;
			}
		}
	}
	scratch = secbuf_new(4096, SECRET_MAX);
	n = ini_section_count(ini);
	c.clients = calloc(MAX(n, 1), sizeof(ClientConfig));
	c.skipped = calloc(MAX(n, 1), sizeof(char *));
	if (!scratch || !c.clients || !c.skipped) {
		free(c.clients);
		free(c.skipped);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		ClientConfig *cc = &c.clients[c.n];
		_cleanup_free_ char *error = NULL;

		l = (Loader){.ini = ini, .store = store, .scratch = scratch, .error = &error};
		r = load_client(&l, ini_section_name(ini, i), ini_section_line(ini, i), cc);
		if (problems) {
			*problems += l.n_errors;
		}
		if (r < 0 && problems && error) {
			log_error("%s", error);
			client_config_done(cc, store);
			(*problems)++;
			continue;
		}
		if (r < 0) {
			client_config_done(cc, store);
			clients_config_done(&c, store);
			if (ret_error) {
				*ret_error = TAKE_PTR(error);
			}
			return r;
		}
		if (r > 0) {
			c.n++;
		} else {
			client_config_done(cc, store);
			c.skipped[c.n_skipped] = strdup(ini_section_name(ini, i));
			if (!c.skipped[c.n_skipped]) {
				clients_config_done(&c, store);
				return -ENOMEM;
			}
			c.n_skipped++;
			if (problems && l.n_errors == 0) {
				(*problems)++; /* skipped, and logged */
			}
		}
	}
	*ret = c;
	return 0;
}

int clients_config_load(const char *path, SecretStore *store, ClientsConfig *ret, char **ret_error)
{
	return load_file(path, store, ret, ret_error, NULL);
}

int clients_config_check(const char *path, SecretStore *store)
{
	_cleanup_free_ char *error = NULL;
	ClientsConfig c = {0};
	unsigned problems = 0;
	int r;

	r = load_file(path, store, &c, &error, &problems);
	if (r < 0 && error) {
		log_error("%s", error);
		return 1;
	}
	if (r < 0) {
		return r;
	}
	problems += c.n_warnings;
	if (c.n == 0 && problems == 0) {
		log_warning("%s: No clients defined", path);
		problems++;
	}
	clients_config_done(&c, store);
	return (int)problems;
}
