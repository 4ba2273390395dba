/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mandos-keygen-p2: the protocol 2 crypto that the mandos-keygen script calls (spec §A.10, and
 * §B.5: escrow and threshold bindings).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <sodium.h>

#include "cli-util.h"
#include "escrow.h"
#include "io-util.h"
#include "keys.h"
#include "log.h"
#include "macro.h"
#include "p2.h"
#include "parse-util.h"
#include "path-expand.h"
#include "pins.h"
#include "sealed.h"
#include "secmem.h"

/* The width of base64 lines, as mandos-keygen prints `secret` (§A.10). */
#define B64_LINE 64

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: mandos-keygen-p2 COMMAND ARGS...\n"
	        "The protocol 2 key work of mandos-keygen(8); not meant to be run by hand.\n"
	        "  seal-keygen PRIV PUB    make an X25519 seal key pair (0600 / 0644)\n"
	        "  server-keygen PRIV PUB  make an Ed25519 server key pair (0600 / 0644),\n"
	        "                          print its key ID\n"
	        "  seal PUB                seal the password on standard input to the seal key,\n"
	        "                          print base64 in lines of %d characters\n"
	        "  opens PRIV              check that the base64 sealed secret on standard\n"
	        "                          input opens with the seal key; print its length\n"
	        "  key-id FILE             print the key ID of an Ed25519 key file\n"
	        "  check FILE...           check protocol 2 key files (known by their names)\n"
	        "  pinned PINS KEYID       exit 0 if KEYID is pinned in the file PINS, else 1\n"
	        "  pin PINS KEYID [NAME]   append KEYID (with \"# NAME\") unless pinned\n"
	        "  escrow HEAD TAIL TLSPUB DIR KEYFILE [SERVER...]\n"
	        "                          make a single escrow binding of the password on\n"
	        "                          standard input in DIR, print its section (HEAD, the\n"
	        "                          escrow line, TAIL; KEYFILE \"\" for escrow_key)\n"
	        "  threshold HEAD TAIL TLSPUB DIR K KEYFILE KEYID[@ADDR:PORT]...\n"
	        "                          make a K-of-N threshold binding in DIR, print the N\n"
	        "                          sections\n"
	        "  rewrap FILE TLSPUB      put the password on standard input into the binding\n"
	        "                          FILE (replaced atomically, the old one overwritten)\n"
	        "  escrow-check TLSPUB DIR check that the escrow keys on standard input open\n"
	        "                          the bindings in DIR; print what opened (lengths)\n"
	        "  expand-path PATH        print PATH with $VAR, ${VAR} and ~ expanded as the\n"
	        "                          server expands secfile and escrow_keyfile\n"
	        "Exit status: 0, 1 (\"no\" for pinned, or an escrow key that does not open),\n"
	        "64 usage, 65 bad key or id, 66 missing\n"
	        "input, 70 libsodium size mismatch, 73 cannot create, 74 I/O error.\n",
	        B64_LINE);
}

/* An -errno from reading a file, as an exit status. */
static int exit_status_of(int r)
{
	switch (r) {
	case -ENOENT:
	case -EACCES:
		return EX_NOINPUT;
	case -EBADMSG:
	case -EFBIG:
	case -EINVAL:
		return EX_DATAERR;
	case -ENOMEM:
		return EX_OSERR;
	default:
		return EX_IOERR;
	}
}

/* The kind of a protocol 2 key file, from its name (§A.9.2, §A.9.4); -EINVAL if none. */
static int kind_of_path(const char *path, P2KeyKind *ret)
{
	static const struct {
		const char *suffix;
		P2KeyKind kind;
	} names[] = {
	        {"seal-privkey.pem", P2_KEY_X25519_PRIVATE},
	        {"seal-pubkey.pem", P2_KEY_X25519_PUBLIC},
	        {"tls-privkey.pem", P2_KEY_ED25519_PRIVATE},
	        {"tls-pubkey.pem", P2_KEY_ED25519_PUBLIC},
	        {"server-key.pem", P2_KEY_ED25519_PRIVATE},
	        {"server-pubkey.pem", P2_KEY_ED25519_PUBLIC},
	};
	size_t len = strlen(path);

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		size_t n = strlen(names[i].suffix);
		if (len >= n && strcmp(path + len - n, names[i].suffix) == 0 &&
		    (len == n || path[len - n - 1] == '/')) {
			*ret = names[i].kind;
			return 0;
		}
	}
	return -EINVAL;
}

/* Report a key file that p2_key_load() & co. refused as "FILE: reason"; the exit status. */
static int key_error(int r, const char *path, const char *why)
{
	if (r == -EBADMSG) {
		log_error("%s: %s", path, why ? why : "not a valid key file");
		return EX_DATAERR;
	}
	if (r == -EFBIG) {
		log_error("%s: too big for a key file", path);
		return EX_DATAERR;
	}
	log_error_errno(r, "Failed to read %s: %m", path);
	return exit_status_of(r);
}

/* Load a key file and report a bad one.  Returns 0 or an exit status. */
static int load_key(P2KeyKind kind, const char *path, uint8_t key[32])
{
	const char *why = NULL;
	int r = p2_key_load(kind, path, key, &why);

	return r < 0 ? key_error(r, path, why) : 0;
}

/*
 * Write text to a new file (O_EXCL: an existing file is never replaced; mandos-keygen moves old
 * keys aside first).  On failure the partial file is removed.  Returns 0 or an exit status.
 */
static int write_new_file(const char *path, const char *text, size_t len, mode_t mode)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		log_error_errno(errno, "Failed to create %s: %m", path);
		return EX_CANTCREAT;
	}
	/* The umask must not decide the mode: 0644 for a public key is what §A.10 says. */
	if (fchmod(fd, mode) < 0) {
		r = negative_errno();
		goto fail;
	}
	r = loop_write(fd, text, len);
	if (r < 0) {
		goto fail;
	}
	if (fsync(fd) < 0) {
		r = negative_errno();
		goto fail;
	}
	if (close(TAKE_FD(fd)) < 0) {
		r = negative_errno();
		goto fail;
	}
	return 0;
fail:
	(void)unlink(path);
	return log_error_errno(r, "Failed to write %s: %m", path), EX_IOERR;
}

/* Write a key pair: the private file first, both removed again if the public one fails. */
static int write_pair(P2KeyKind priv_kind, const uint8_t priv[32], const char *priv_path,
                      P2KeyKind pub_kind, const uint8_t pub[32], const char *pub_path)
{
	char pub_pem[P2_PEM_MAX];
	char *priv_pem;
	ssize_t n;
	int r;

	priv_pem = sodium_malloc(P2_PEM_MAX);
	if (!priv_pem) {
		return log_oom(), EX_OSERR;
	}
	n = p2_key_format(priv_kind, priv, priv_pem, P2_PEM_MAX);
	if (n < 0) {
		sodium_free(priv_pem);
		log_error_errno((int)n, "Failed to format the private key: %m");
		return EX_SOFTWARE;
	}
	r = write_new_file(priv_path, priv_pem, (size_t)n, 0600);
	sodium_free(priv_pem);
	if (r != 0) {
		return r;
	}
	n = p2_key_format(pub_kind, pub, pub_pem, sizeof(pub_pem));
	if (n < 0) {
		(void)unlink(priv_path);
		log_error_errno((int)n, "Failed to format the public key: %m");
		return EX_SOFTWARE;
	}
	r = write_new_file(pub_path, pub_pem, (size_t)n, 0644);
	if (r != 0) {
		(void)unlink(priv_path);
	}
	return r;
}

static int cmd_seal_keygen(const char *priv_path, const char *pub_path)
{
	P2SealKey *key;
	int r;

	/* P2SealKey's layout, in locked memory, for the new pair. */
	key = sodium_malloc(sizeof(*key));
	if (!key) {
		return log_oom(), EX_OSERR;
	}
	if (crypto_box_keypair(key->pk, key->sk) != 0) {
		sodium_free(key);
		log_error("crypto_box_keypair failed");
		return EX_SOFTWARE;
	}
	r = write_pair(P2_KEY_X25519_PRIVATE, key->sk, priv_path, P2_KEY_X25519_PUBLIC, key->pk,
	               pub_path);
	sodium_free(key);
	return r;
}

static int cmd_server_keygen(const char *priv_path, const char *pub_path)
{
	char hex[P2_KEY_ID_HEX_SIZE];
	uint8_t *seed;
	P2Identity *id = NULL;
	int r;

	seed = sodium_malloc(32);
	if (!seed) {
		return log_oom(), EX_OSERR;
	}
	randombytes_buf(seed, 32);
	r = p2_identity_from_seed(seed, &id);
	if (r < 0) {
		sodium_free(seed);
		return log_oom(), EX_OSERR;
	}
	r = write_pair(P2_KEY_ED25519_PRIVATE, seed, priv_path, P2_KEY_ED25519_PUBLIC, id->pk,
	               pub_path);
	sodium_free(seed);
	if (r == 0) {
		p2_key_id_hex(id->pk, hex);
		printf("%s\n", hex);
	}
	p2_identity_free(id);
	return r;
}

/* Print base64 of data in lines of B64_LINE characters. */
static int print_base64_lines(const uint8_t *data, size_t len)
{
	size_t size = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	_cleanup_free_ char *b64 = malloc(size);
	size_t n;

	if (!b64) {
		return log_oom(), EX_OSERR;
	}
	p2_base64_encode(data, len, b64, size);
	n = strlen(b64);
	for (size_t i = 0; i < n; i += B64_LINE) {
		printf("%.*s\n", (int)MIN((size_t)B64_LINE, n - i), b64 + i);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		return log_error_errno(errno, "Failed to write standard output: %m"), EX_IOERR;
	}
	return 0;
}

/*
 * Read the password on standard input (all of it, exactly) into a new SecBuf.  Returns 0, or
 * an exit status after saying why (empty, too long, unreadable).
 */
static int read_password(SecBuf **ret)
{
	_cleanup_secbuf_ SecBuf *pw = NULL;
	int r;

	/* secbuf_read_all() fails with -EFBIG past the protocol's limit. */
	pw = secbuf_new(4096, P2_SECRET_MAX);
	if (!pw) {
		return log_oom(), EX_OSERR;
	}
	r = secbuf_read_all(pw, STDIN_FILENO);
	if (r == -EFBIG) {
		log_error("The password is longer than %d bytes", P2_SECRET_MAX);
		return EX_DATAERR;
	}
	if (r < 0) {
		return log_error_errno(r, "Failed to read the password: %m"), EX_IOERR;
	}
	if (pw->len == 0) {
		log_error("Empty password");
		return EX_DATAERR;
	}
	*ret = TAKE_PTR(pw);
	return 0;
}

static int cmd_seal(const char *pub_path)
{
	_cleanup_secbuf_ SecBuf *pw = NULL;
	_cleanup_free_ uint8_t *box = NULL;
	uint8_t pk[32];
	size_t box_len;
	int r;

	r = load_key(P2_KEY_X25519_PUBLIC, pub_path, pk);
	if (r != 0) {
		return r;
	}
	r = read_password(&pw);
	if (r != 0) {
		return r;
	}
	box_len = pw->len + crypto_box_SEALBYTES;
	box = malloc(box_len);
	if (!box) {
		return log_oom(), EX_OSERR;
	}
	r = p2_seal(pw->data, pw->len, pk, box, box_len);
	if (r < 0) {
		return log_error_errno(r, "Failed to seal the password: %m"), EX_SOFTWARE;
	}
	return print_base64_lines(box, box_len);
}

static int cmd_opens(const char *priv_path)
{
	_cleanup_secbuf_ SecBuf *opened = NULL;
	_cleanup_free_ uint8_t *box = NULL;
	_cleanup_free_ char *text = NULL;
	P2SealKey *key = NULL;
	const char *why = NULL;
	size_t text_len;
	ssize_t n;
	int r;

	/* Base64 of at most P2_SEALED_MAX bytes, with whitespace and continuation lines. */
	r = read_full_fd(STDIN_FILENO, 4 * P2_SEALED_MAX, &text, &text_len);
	if (r < 0) {
		return log_error_errno(r, "Failed to read the sealed secret: %m"), EX_DATAERR;
	}
	box = malloc(P2_SEALED_MAX);
	if (!box) {
		return log_oom(), EX_OSERR;
	}
	n = p2_base64_decode(text, text_len, box, P2_SEALED_MAX);
	if (n < 0) {
		log_error("The sealed secret is not valid base64 or too long");
		return EX_DATAERR;
	}
	if (n < P2_SEALED_MIN) {
		log_error("The sealed secret is too short (%zd bytes, at least %d)", n,
		          P2_SEALED_MIN);
		return EX_DATAERR;
	}
	r = p2_seal_key_load(priv_path, &key, &why);
	if (r < 0) {
		return key_error(r, priv_path, why);
	}
	r = p2_sealed_open(box, (size_t)n, key, &opened);
	p2_seal_key_free(key);
	if (r == -EBADMSG) {
		log_error("The sealed secret does not open with %s", priv_path);
		return 1;
	}
	if (r < 0) {
		return log_error_errno(r, "Failed to open the sealed secret: %m"), EX_OSERR;
	}
	printf("%zu\n", opened->len);
	return 0;
}

static int cmd_key_id(const char *path)
{
	char hex[P2_KEY_ID_HEX_SIZE];
	P2Identity *id = NULL;
	const char *why = NULL;
	uint8_t pk[32];
	int r;

	/* A public key file, or else a private one (its public key derived). */
	r = p2_key_load(P2_KEY_ED25519_PUBLIC, path, pk, &why);
	if (r == -EBADMSG) {
		r = p2_identity_load(path, &id, &why);
		if (r >= 0) {
			memcpy(pk, id->pk, sizeof(pk));
			id = p2_identity_free(id);
		}
	}
	if (r < 0) {
		return key_error(r, path, why);
	}
	p2_key_id_hex(pk, hex);
	printf("%s\n", hex);
	return 0;
}

/* check FILE...: each file by its kind; a private key must match a public key beside it. */
static int cmd_check(int n, char **paths)
{
	int ret = 0;

	for (int i = 0; i < n; i++) {
		P2KeyKind kind;
		uint8_t *key;
		int r;

		if (kind_of_path(paths[i], &kind) < 0) {
			log_error("%s: not the name of a protocol 2 key file", paths[i]);
			return EX_USAGE;
		}
		key = sodium_malloc(32);
		if (!key) {
			return log_oom(), EX_OSERR;
		}
		r = load_key(kind, paths[i], key);
		sodium_free(key);
		if (r != 0) {
			ret = ret ? ret : r;
			continue;
		}
		printf("%s: ok\n", paths[i]);
	}
	return ret;
}

/* The pins file being read, for the messages about its bad lines. */
static const char *bad_lines_path;

static void report_bad_pin(unsigned line, const char *why, void *userdata)
{
	log_warning("%s:%u: %s", bad_lines_path, line, why);
}

/* Load a pins file; a missing one is an empty list.  Returns 0 or an exit status. */
static int load_pins(const char *path, P2Pins *pins)
{
	int r;

	bad_lines_path = path;
	r = p2_pins_load(pins, path, report_bad_pin, NULL);

	if (r == -ENOENT || r == -E2BIG) {
		return 0;
	}
	if (r < 0) {
		log_error_errno(r, "Failed to read %s: %m", path);
		return exit_status_of(r);
	}
	return 0;
}

static int parse_key_id(const char *text, uint8_t id[P2_KEY_ID_LEN])
{
	if (p2_key_id_parse(text, strlen(text), id) < 0) {
		log_error("Not a key ID (64 hexadecimal digits): \"%s\"", text);
		return EX_DATAERR;
	}
	return 0;
}

static int cmd_pinned(const char *pins_path, const char *key_id)
{
	_cleanup_free_ P2Pins *pins = calloc(1, sizeof(*pins));
	uint8_t id[P2_KEY_ID_LEN];
	int r;

	if (!pins) {
		return log_oom(), EX_OSERR;
	}
	r = parse_key_id(key_id, id);
	if (r == 0) {
		r = load_pins(pins_path, pins);
	}
	if (r != 0) {
		return r;
	}
	return p2_pins_match(pins, id) ? 0 : 1;
}

/* A comment for a pins line: printable ASCII only, so one pin stays one line. */
static bool comment_ok(const char *c)
{
	return p2_text_printable((const uint8_t *)c, strlen(c)) && strlen(c) <= P2_TEXT_MAX;
}

static int cmd_pin(const char *pins_path, const char *key_id, const char *comment)
{
	_cleanup_free_ P2Pins *pins = calloc(1, sizeof(*pins));
	_cleanup_free_ char *old = NULL;
	_cleanup_close_ int fd = -EBADF;
	char hex[P2_KEY_ID_HEX_SIZE];
	char line[P2_KEY_ID_HEX_SIZE + 4 + P2_TEXT_MAX + 2];
	uint8_t id[P2_KEY_ID_LEN];
	size_t old_len = 0;
	int r, n;

	if (!pins) {
		return log_oom(), EX_OSERR;
	}
	if (comment && !comment_ok(comment)) {
		log_error("A pin's name must be printable ASCII, at most %d characters",
		          P2_TEXT_MAX);
		return EX_DATAERR;
	}
	r = parse_key_id(key_id, id);
	if (r == 0) {
		r = load_pins(pins_path, pins);
	}
	if (r != 0) {
		return r;
	}
	p2_hex_upper(id, P2_KEY_ID_LEN, hex);
	if (p2_pins_match(pins, id)) {
		printf("%s already pinned\n", hex);
		return 0;
	}
	if (pins->n >= P2_PINS_MAX) {
		log_error("%s: already %d pins", pins_path, P2_PINS_MAX);
		return EX_DATAERR;
	}
	/* Pins are public (§A.9.3): a new file is 0644 whatever the umask; an existing one keeps
	 * the mode its owner gave it. */
	fd = open(pins_path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd >= 0) {
		(void)fchmod(fd, 0644);
	} else if (errno == EEXIST) {
		fd = open(pins_path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		log_error_errno(errno, "Failed to open %s: %m", pins_path);
		return EX_CANTCREAT;
	}
	/* A last line without a newline must not swallow the new pin. */
	r = read_full_file(pins_path, P2_PINS_FILE_MAX, &old, &old_len);
	if (r < 0) {
		log_error_errno(r, "Failed to read %s: %m", pins_path);
		return exit_status_of(r);
	}
	if (!comment) {
		comment = "";
	}
	n = snprintf(line, sizeof(line), "%s%s%s%s\n",
	             old_len > 0 && old[old_len - 1] != '\n' ? "\n" : "", hex,
	             *comment ? " # " : "", comment);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		return EX_SOFTWARE;
	}
	r = loop_write(fd, line, (size_t)n);
	if (r >= 0 && fsync(fd) < 0) {
		r = negative_errno();
	}
	if (r < 0) {
		return log_error_errno(r, "Failed to write %s: %m", pins_path), EX_IOERR;
	}
	printf("%s pinned\n", hex);
	return 0;
}

/* ---- Part B: escrow and threshold bindings (spec §B.3, §B.5) ---- */

/* The longest `address` hint a share gets ("[IPv6%IFACE]:PORT" fits with room to spare). */
#define ADDRESS_MAX 255

/* The client key ID (SHA-256 of the SPKI) of the Ed25519 public key file tls_pub. */
static int load_client_key_id(const char *tls_pub, uint8_t ret[P2_KEY_ID_LEN])
{
	uint8_t pk[32];
	int r = load_key(P2_KEY_ED25519_PUBLIC, tls_pub, pk);

	if (r != 0) {
		return r;
	}
	p2_key_id_raw(pk, ret);
	return 0;
}

/* Whether name is one of the binding files mandos-client reads: escrow-*.conf. */
static bool is_binding_name(const char *name)
{
	size_t len = strlen(name);

	return len > strlen("escrow-.conf") && strncmp(name, "escrow-", 7) == 0 &&
	       strcmp(name + len - 5, ".conf") == 0;
}

/* Report a binding file p2_binding_load() refused, as "FILE:LINE: reason"; the exit status. */
static int binding_error(int r, const char *path, unsigned line, const char *why)
{
	if (r == -EBADMSG) {
		if (line > 0) {
			log_error("%s:%u: %s", path, line, why ? why : "not a valid binding file");
		} else {
			log_error("%s: %s", path, why ? why : "not a valid binding file");
		}
		return EX_DATAERR;
	}
	if (r == -EFBIG) {
		log_error("%s: too big for a binding file", path);
		return EX_DATAERR;
	}
	log_error_errno(r, "Failed to read %s: %m", path);
	return exit_status_of(r);
}

/*
 * The escrow items the binding files in dir give mandos-client now (one per single binding,
 * N per threshold binding, §B.3).  A file it would reject is reported and counts none.
 * Returns 0 and sets *ret, or an exit status.
 */
static int count_items(const char *dir, unsigned *ret)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	unsigned n = 0;

	d = opendir(dir);
	if (!d) {
		log_error_errno(errno, "Failed to open %s: %m", dir);
		return exit_status_of(negative_errno());
	}
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL;
		P2Binding b = {0};
		const char *why = NULL;
		unsigned line = 0;
		int r;

		if (!is_binding_name(de->d_name)) {
			continue;
		}
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			return log_oom(), EX_OSERR;
		}
		r = p2_binding_load(path, &b, &line, &why);
		if (r < 0) {
			(void)binding_error(r, path, line, why);
			log_warning("%s: mandos-client would not use it; not counted", path);
			continue;
		}
		n += b.n_keys;
		p2_binding_done(&b);
	}
	*ret = n;
	return 0;
}

/* Refuse a binding of `adding` items when dir's bindings and it would pass the client's 8. */
static int check_item_room(const char *dir, unsigned adding)
{
	unsigned have = 0;
	int r = count_items(dir, &have);

	if (r != 0) {
		return r;
	}
	if (have + adding > P2_MAX_ESCROW_ITEMS) {
		log_error("%s has %u escrow item%s already; %u more would pass the limit of %d per "
		          "client (a single binding is one item, a threshold binding one per share): "
		          "remove a binding first",
		          dir, have, have == 1 ? "" : "s", adding, P2_MAX_ESCROW_ITEMS);
		return EX_DATAERR;
	}
	return 0;
}

/* The text of a small file the script wrote (a section's first or last lines). */
static int read_text(const char *path, char **ret)
{
	size_t len;
	int r = read_full_file(path, 64 * 1024, ret, &len);

	if (r < 0) {
		log_error_errno(r, "Failed to read %s: %m", path);
		return exit_status_of(r);
	}
	if (strlen(*ret) != len) {
		*ret = secmem_free(*ret, len);
		log_error("%s: a NUL byte", path);
		return EX_DATAERR;
	}
	return 0;
}

/* Write text to standard output with write(2), after what stdio holds. */
static int out(const char *text, size_t len)
{
	int r;

	if (fflush(stdout) != 0) {
		return log_error_errno(errno, "Failed to write standard output: %m"), EX_IOERR;
	}
	r = loop_write(STDOUT_FILENO, text, len);
	if (r < 0) {
		return log_error_errno(r, "Failed to write standard output: %m"), EX_IOERR;
	}
	return 0;
}

/*
 * One clients.conf section: head, the escrow line, tail (the script's lines around it).  With
 * a keyfile the section names it, and after it come the comment of §B.5 and the scalar: the
 * server's user must own the file (decisions.md "Keyfile ownership").  The scalar goes out
 * through write(2) from locked memory, never stdio.
 */
static int print_section(const char *head, const char *tail, const uint8_t S[P2_SCALAR_LEN],
                         const char *keyfile)
{
	/* "escrow_key = " + 44 base64 characters + "\n" */
	enum { LINE = 64 };
	char *line;
	int r;

	line = sodium_malloc(LINE);
	if (!line) {
		return log_oom(), EX_OSERR;
	}
	r = out(head, strlen(head));
	if (r == 0 && keyfile) {
		printf("escrow_keyfile = %s\n", keyfile);
	} else if (r == 0) {
		memcpy(line, "escrow_key = ", 13);
		p2_base64_encode(S, P2_SCALAR_LEN, line + 13, LINE - 13);
		strcat(line, "\n");
		r = out(line, strlen(line));
	}
	if (r == 0) {
		r = out(tail, strlen(tail));
	}
	if (r == 0 && keyfile) {
		printf("\n# Save the next line alone as %s on the server (mode 0600, owned by the "
		       "server's user, e.g. _mandos, as in /var/lib/mandos/escrow/), outside "
		       "backups:\n",
		       keyfile);
		p2_base64_encode(S, P2_SCALAR_LEN, line, LINE);
		strcat(line, "\n");
		r = out(line, strlen(line));
	}
	sodium_free(line);
	if (r == 0 && fflush(stdout) != 0) {
		r = (log_error_errno(errno, "Failed to write standard output: %m"), EX_IOERR);
	}
	return r;
}

/* A keyfile path for the section: printable, no spaces (one line of clients.conf), no '%'
 * (the server interpolates "%(name)s" in it, as in every value). */
static int check_keyfile(const char *keyfile)
{
	if (!*keyfile || !p2_text_printable((const uint8_t *)keyfile, strlen(keyfile)) ||
	    strpbrk(keyfile, " \t#;%") || strlen(keyfile) > 4096) {
		log_error("Not a usable escrow keyfile path (printable, no spaces, '#', ';' or "
		          "'%%'): \"%s\"",
		          keyfile);
		return EX_USAGE;
	}
	return 0;
}

/*
 * Write a new binding file (0600, never replacing one) in the layout of
 * p2_binding_format().  Returns 0 or an exit status.
 */
static int write_binding(const char *path, const P2Binding *b)
{
	_cleanup_free_ char *text = p2_binding_format(b);

	if (!text) {
		return log_oom(), EX_OSERR;
	}
	return write_new_file(path, text, strlen(text), 0600);
}

/* Parse distinct server key IDs into keys (n of them, at most max). */
static int parse_servers(char **ids, int n, int max, uint8_t (*keys)[P2_KEY_ID_LEN])
{
	if (n > max) {
		log_error("At most %d servers per binding (--escrow-server), not %d", max, n);
		return EX_USAGE;
	}
	for (int i = 0; i < n; i++) {
		int r = parse_key_id(ids[i], keys[i]);

		if (r != 0) {
			return r;
		}
		for (int j = 0; j < i; j++) {
			if (memcmp(keys[i], keys[j], P2_KEY_ID_LEN) == 0) {
				log_error("Server key ID %s given twice", ids[i]);
				return EX_USAGE;
			}
		}
	}
	return 0;
}

/* What --escrow and --threshold read before they draw anything. */
typedef struct Enrolment {
	uint8_t key_id_raw[P2_KEY_ID_LEN];
	char *head, *tail; /* the section's lines before and after the escrow line */
	const char *keyfile;   /* NULL for escrow_key */
	SecBuf *pw;
} Enrolment;

static void enrolment_done(Enrolment *e)
{
	/* The head holds the section's secret = (and sealed_secret =) lines. */
	secmem_strfree(e->head);
	secmem_strfree(e->tail);
	secbuf_free(e->pw);
	*e = (Enrolment){0};
}

/*
 * Check the keyfile path ("" for none), read the client's key ID, the section's lines and
 * the password, after checking that dir has room for `items` more escrow items.  Returns 0
 * or an exit status (e then holds nothing).
 */
static int enrolment_start(Enrolment *e, const char *head_path, const char *tail_path,
                           const char *tls_pub, const char *dir, const char *keyfile,
                           unsigned items)
{
	int r = 0;

	*e = (Enrolment){0};
	if (*keyfile) {
		r = check_keyfile(keyfile);
		e->keyfile = keyfile;
	}
	if (r == 0) {
		r = load_client_key_id(tls_pub, e->key_id_raw);
	}
	if (r == 0) {
		r = read_text(head_path, &e->head);
	}
	if (r == 0) {
		r = read_text(tail_path, &e->tail);
	}
	if (r == 0) {
		r = check_item_room(dir, items);
	}
	if (r == 0) {
		r = read_password(&e->pw);
	}
	if (r != 0) {
		enrolment_done(e);
	}
	return r;
}

/*
 * Write the binding b as dir/name, then print its sections (one per key; for a threshold
 * binding each after its "# share I of N" line, with the server key ID in ids[I - 1]).  If
 * the printing fails the file goes again: without the S values it opens nothing.
 */
static int enrolment_finish(const Enrolment *e, const char *dir, const char *name,
                            const P2Binding *b, const uint8_t (*S)[P2_SCALAR_LEN],
                            const uint8_t (*ids)[P2_KEY_ID_LEN])
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		return log_oom(), EX_OSERR;
	}
	r = write_binding(path, b);
	for (unsigned i = 0; i < b->n_keys && r == 0; i++) {
		if (b->threshold > 0) {
			char hex[2 * P2_KEY_ID_LEN + 1];

			p2_hex_upper(ids[i], P2_KEY_ID_LEN, hex);
			printf("%s# share %u of %u (threshold %u): only for the server with key ID "
			       "%s\n",
			       i > 0 ? "\n" : "", i + 1, b->n_keys, b->threshold, hex);
		}
		r = print_section(e->head, e->tail, S[i], e->keyfile);
		if (r != 0) {
			(void)unlink(path);
		}
	}
	if (r == 0) {
		fprintf(stderr, "Wrote %s\n", path);
	}
	return r;
}

/*
 * escrow HEAD TAIL TLSPUB DIR KEYFILE [SERVER...], the password on standard input: a single
 * binding (§B.5 --escrow) in DIR/escrow-<kid>.conf, and its section on standard output.
 * KEYFILE "" means escrow_key in the section.
 */
static int cmd_escrow(const char *head_path, const char *tail_path, const char *tls_pub,
                      const char *dir, const char *keyfile, int n_servers, char **servers)
{
	uint8_t ids[P2_BINDING_SERVERS_MAX][P2_KEY_ID_LEN];
	char name[80];
	char kid_hex[2 * P2_KID_LEN + 1];
	P2Binding b = {0};
	Enrolment e;
	uint8_t (*S)[P2_SCALAR_LEN];
	int r;

	r = parse_servers(servers, n_servers, P2_BINDING_SERVERS_MAX, ids);
	if (r == 0) {
		r = enrolment_start(&e, head_path, tail_path, tls_pub, dir, keyfile, 1);
	}
	if (r != 0) {
		return r;
	}
	S = sodium_malloc(P2_SCALAR_LEN);
	if (!S) {
		enrolment_done(&e);
		return log_oom(), EX_OSERR;
	}
	r = p2_escrow_enrol(e.key_id_raw, e.pw->data, e.pw->len, &b, S[0]);
	e.pw = secbuf_free(e.pw);
	if (r < 0) {
		r = (log_error_errno(r, "Failed to make the escrow binding: %m"), EX_SOFTWARE);
	} else {
		/* (p2_escrow_enrol() leaves the servers empty: they go in after it.) */
		memcpy(b.keys[0].servers, ids, (size_t)n_servers * P2_KEY_ID_LEN);
		b.keys[0].n_servers = (uint8_t)n_servers;
		sodium_bin2hex(kid_hex, sizeof(kid_hex), b.keys[0].kid, P2_KID_LEN);
		snprintf(name, sizeof(name), "escrow-%s.conf", kid_hex);
		r = enrolment_finish(&e, dir, name, &b, (const uint8_t (*)[P2_SCALAR_LEN])S, NULL);
	}
	sodium_free(S);
	p2_binding_done(&b);
	enrolment_done(&e);
	return r;
}

/*
 * A share's "KEYID[@ADDR:PORT]" into its key ID and a malloc()ed address (NULL if none).  The
 * address must end in ":PORT" (1 … 65535), with a non-empty host before it: a name, an IPv4
 * address or a bracketed IPv6 one; printable, no spaces.
 */
static int parse_share(const char *text, uint8_t id[P2_KEY_ID_LEN], char **ret_address)
{
	_cleanup_free_ char *copy = strdup(text);
	char *at, *colon, *host;
	unsigned port;
	int r;

	if (!copy) {
		return log_oom(), EX_OSERR;
	}
	at = strchr(copy, '@');
	if (at) {
		*at = '\0';
	}
	r = parse_key_id(copy, id);
	if (r != 0 || !at) {
		*ret_address = NULL;
		return r;
	}
	host = at + 1;
	colon = strrchr(host, ':');
	if (!colon || colon == host || strlen(host) > ADDRESS_MAX ||
	    !p2_text_printable((const uint8_t *)host, strlen(host)) || strpbrk(host, " \t#;@") ||
	    parse_uint(colon + 1, 65535, &port) < 0 || port == 0) {
		log_error("Not an address HOST:PORT (an IPv6 address in brackets): \"%s\"", host);
		return EX_USAGE;
	}
	/* Only a bracketed host may have colons of its own. */
	*colon = '\0';
	if (host[0] == '[' ? host[strlen(host) - 1] != ']' || strlen(host) < 3
	                   : strchr(host, ':') || strpbrk(host, "[]")) {
		*colon = ':';
		log_error("Not an address HOST:PORT (an IPv6 address in brackets): \"%s\"", host);
		return EX_USAGE;
	}
	*colon = ':';
	*ret_address = strdup(host);
	return *ret_address ? 0 : (log_oom(), EX_OSERR);
}

/*
 * threshold HEAD TAIL TLSPUB DIR K KEYFILE SHARE..., the password on standard input: a k-of-n
 * binding (§B.4.1, §B.5 --threshold) in DIR/escrow-<K>of<N>-<kid1>.conf, and N sections on
 * standard output, each after its "# share I of N" line.  Each SHARE is KEYID[@ADDR:PORT].
 */
static int cmd_threshold(const char *head_path, const char *tail_path, const char *tls_pub,
                         const char *dir, const char *k_text, const char *keyfile, int n,
                         char **shares)
{
	uint8_t ids[P2_SHARES_MAX][P2_KEY_ID_LEN];
	char *addresses[P2_SHARES_MAX] = {0};
	char name[80];
	char kid_hex[2 * P2_KID_LEN + 1];
	uint8_t (*S)[P2_SCALAR_LEN] = NULL;
	P2Binding b = {0};
	Enrolment e = {0};
	unsigned k;
	int r = 0;

	if (parse_uint(k_text, 255, &k) < 0) {
		log_error("--threshold needs a number, not \"%s\"", k_text);
		return EX_USAGE;
	}
	if (n > P2_SHARES_MAX) {
		log_error("At most %d shares (--share-server), not %d", P2_SHARES_MAX, n);
		return EX_USAGE;
	}
	if (k < 2 || (unsigned)n < k) {
		log_error("--threshold=%u with %d share server%s: need 2 <= K <= N (N = the "
		          "--share-server options, at most %d)",
		          k, n, n == 1 ? "" : "s", P2_SHARES_MAX);
		return EX_USAGE;
	}
	for (int i = 0; i < n && r == 0; i++) {
		r = parse_share(shares[i], ids[i], &addresses[i]);
		for (int j = 0; j < i && r == 0; j++) {
			if (memcmp(ids[i], ids[j], P2_KEY_ID_LEN) == 0) {
				log_error("Share server key ID given twice: %s", shares[i]);
				r = EX_USAGE;
			}
		}
	}
	if (r == 0) {
		r = enrolment_start(&e, head_path, tail_path, tls_pub, dir, keyfile, (unsigned)n);
	}
	if (r == 0) {
		S = sodium_malloc(P2_SHARES_MAX * P2_SCALAR_LEN);
		if (!S) {
			r = (log_oom(), EX_OSERR);
		}
	}
	if (r == 0) {
		r = p2_threshold_enrol(e.key_id_raw, k, (unsigned)n, e.pw->data, e.pw->len, &b, S);
		e.pw = secbuf_free(e.pw);
		if (r < 0) {
			r = (log_error_errno(r, "Failed to make the threshold binding: %m"),
			     EX_SOFTWARE);
		}
	}
	if (r == 0) {
		for (int i = 0; i < n; i++) {
			memcpy(b.keys[i].servers[0], ids[i], P2_KEY_ID_LEN);
			b.keys[i].n_servers = 1;
			b.keys[i].address = TAKE_PTR(addresses[i]);
		}
		sodium_bin2hex(kid_hex, sizeof(kid_hex), b.keys[0].kid, P2_KID_LEN);
		snprintf(name, sizeof(name), "escrow-%uof%d-%s.conf", k, n, kid_hex);
		r = enrolment_finish(&e, dir, name, &b, (const uint8_t (*)[P2_SCALAR_LEN])S,
		                     (const uint8_t (*)[P2_KEY_ID_LEN])ids);
	}
	if (S) {
		sodium_free(S);
	}
	p2_binding_done(&b);
	enrolment_done(&e);
	for (int i = 0; i < n; i++) {
		free(addresses[i]);
	}
	return r;
}

/*
 * rewrap FILE TLSPUB, the new password on standard input: §B.5 --escrow-rewrap.  The new
 * binding goes to a temporary file beside FILE, is renamed over it (atomic), and the old
 * file's bytes, still open, are overwritten with zeros (shredded): with the server's S they
 * would open the old password.
 */
static int cmd_rewrap(const char *path, const char *tls_pub)
{
	_cleanup_secbuf_ SecBuf *pw = NULL;
	_cleanup_free_ char *text = NULL, *tmp = NULL, *dir = NULL;
	_cleanup_close_ int old_fd = -EBADF, fd = -EBADF, dir_fd = -EBADF;
	uint8_t key_id_raw[P2_KEY_ID_LEN];
	const char *why = NULL, *slash;
	P2Binding b = {0};
	unsigned line = 0;
	struct stat st;
	int r;

	r = load_client_key_id(tls_pub, key_id_raw);
	if (r != 0) {
		return r;
	}
	r = p2_binding_load(path, &b, &line, &why);
	if (r < 0) {
		return binding_error(r, path, line, why);
	}
	r = read_password(&pw);
	if (r == 0) {
		r = p2_binding_rewrap(&b, key_id_raw, pw->data, pw->len);
		pw = secbuf_free(pw);
		if (r < 0) {
			r = (log_error_errno(r, "Failed to rewrap %s: %m", path), EX_SOFTWARE);
		}
	}
	if (r == 0) {
		text = p2_binding_format(&b);
		if (!text) {
			r = (log_oom(), EX_OSERR);
		}
	}
	p2_binding_done(&b);
	if (r != 0) {
		return r;
	}
	slash = strrchr(path, '/');
	dir = slash ? strndup(path, (size_t)(slash - path + (slash == path))) : strdup(".");
	if (!dir || asprintf(&tmp, "%s/.%s.XXXXXX", dir, slash ? slash + 1 : path) < 0) {
		return log_oom(), EX_OSERR;
	}
	old_fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (old_fd < 0 || fstat(old_fd, &st) < 0) {
		log_error_errno(errno, "Failed to open %s: %m", path);
		return exit_status_of(negative_errno());
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		return log_error_errno(errno, "Failed to create %s: %m", tmp), EX_CANTCREAT;
	}
	r = 0;
	if (fchmod(fd, 0600) < 0 || (fchown(fd, st.st_uid, st.st_gid) < 0 && errno != EPERM)) {
		r = negative_errno();
	}
	if (r == 0) {
		r = loop_write(fd, text, strlen(text));
	}
	if (r == 0 && fsync(fd) < 0) {
		r = negative_errno();
	}
	if (r == 0 && rename(tmp, path) < 0) {
		r = negative_errno();
	}
	if (r < 0) {
		(void)unlink(tmp);
		return log_error_errno(r, "Failed to replace %s: %m", path), EX_IOERR;
	}
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd >= 0) {
		(void)fsync(dir_fd);
	}
	/* The old binding, unlinked now but still open: zeros over every byte. */
	{
		static const char zeros[4096];
		off_t left = st.st_size;

		while (r == 0 && left > 0) {
			size_t n = (size_t)MIN(left, (off_t)sizeof(zeros));
			if (pwrite(old_fd, zeros, n, st.st_size - left) != (ssize_t)n) {
				r = negative_errno();
			}
			left -= (off_t)n;
		}
		if (r == 0 && fdatasync(old_fd) < 0) {
			r = negative_errno();
		}
		if (r < 0) {
			log_warning_errno(r, "The new binding is in %s, but the old one could not be "
			                  "overwritten: %m", path);
		}
	}
	printf("Rewrapped %s: the new password opens with the same server keys (no change on "
	       "the server)\n",
	       path);
	return 0;
}

/* The bindings escrow-check looks at, and its slots of locked memory: S, K, each binding's
 * opened d values, and the k values passed to the reconstruction. */
#define CHECK_BINDINGS_MAX 64
#define SLOT_D(i, j) (2 + (i) * P2_SHARES_MAX + (j))
#define SLOT_REC SLOT_D(CHECK_BINDINGS_MAX, 0)
#define SLOTS (SLOT_REC + P2_SHARES_MAX)

/* One binding of the key directory, for escrow-check. */
typedef struct CheckedBinding {
	char *name;
	P2Binding b;
	uint8_t opened[P2_SHARES_MAX]; /* share x-coordinates opened, ascending order kept */
	size_t n_opened;
} CheckedBinding;

/* expand-path PATH: the server's expansion of a path setting (mandos-keygen --test). */
static int cmd_expand_path(const char *path)
{
	_cleanup_free_ char *p = path_expand(path);

	if (!p) {
		log_oom();
		return EX_OSERR;
	}
	if (printf("%s\n", p) < 0 || fflush(stdout) != 0) {
		return EX_IOERR;
	}
	return 0;
}

/*
 * escrow-check TLSPUB DIR, a section's escrow keys on standard input (base64 scalars separated
 * by whitespace, '#' comment lines, as escrow_key and keyfiles hold them): for each, the
 * binding in DIR with its kid must open with it (K = [S]c, which the server and client
 * compute apart at boot).  A threshold binding with K of its shares open must give the
 * secret.  Prints what opened (lengths only); exits 1 if a key matches no binding or does not
 * open it.
 */
static int cmd_escrow_check(const char *tls_pub, const char *dir)
{
	_cleanup_secbuf_ SecBuf *in = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	CheckedBinding bs[CHECK_BINDINGS_MAX];
	uint8_t key_id_raw[P2_KEY_ID_LEN];
	uint8_t (*secrets)[P2_SCALAR_LEN] = NULL; /* S, K, then the d of every share */
	size_t n_bs = 0, n_keys = 0;
	struct dirent *de;
	int ret = 0, r;

	r = load_client_key_id(tls_pub, key_id_raw);
	if (r != 0) {
		return r;
	}
	in = secbuf_new(4096, 256 * 1024);
	secrets = sodium_malloc(SLOTS * P2_SCALAR_LEN);
	if (!in || !secrets) {
		if (secrets) {
			sodium_free(secrets);
		}
		return log_oom(), EX_OSERR;
	}
	r = secbuf_read_all(in, STDIN_FILENO);
	if (r < 0) {
		sodium_free(secrets);
		return log_error_errno(r, "Failed to read the escrow keys: %m"), EX_DATAERR;
	}
	d = opendir(dir);
	if (!d) {
		sodium_free(secrets);
		log_error_errno(errno, "Failed to open %s: %m", dir);
		return exit_status_of(negative_errno());
	}
	while ((de = readdir(d)) && n_bs < ELEMENTSOF(bs)) {
		_cleanup_free_ char *path = NULL;
		const char *why = NULL;
		unsigned line = 0;

		if (!is_binding_name(de->d_name)) {
			continue;
		}
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			ret = (log_oom(), EX_OSERR);
			break;
		}
		memset(&bs[n_bs], 0, sizeof(bs[n_bs]));
		r = p2_binding_load(path, &bs[n_bs].b, &line, &why);
		if (r < 0) {
			(void)binding_error(r, path, line, why);
			continue;
		}
		bs[n_bs].name = strdup(de->d_name);
		if (!bs[n_bs].name) {
			p2_binding_done(&bs[n_bs].b);
			ret = (log_oom(), EX_OSERR);
			break;
		}
		n_bs++;
	}
	/* Each token of the input is one scalar. */
	for (size_t pos = 0; ret == 0 && pos < in->len;) {
		const char *t = (const char *)in->data + pos;
		size_t len = 0;
		uint8_t *S = secrets[0], *K = secrets[1];
		uint8_t s[P2_POINT_LEN], kid[P2_KID_LEN];
		char kid_hex[2 * P2_KID_LEN + 1];
		bool found = false;

		if (*t == '#' && (pos == 0 || in->data[pos - 1] == '\n')) {
			while (pos < in->len && in->data[pos] != '\n') {
				pos++;
			}
			continue;
		}
		if (strchr(" \t\r\n", *t)) {
			pos++;
			continue;
		}
		while (pos + len < in->len && !strchr(" \t\r\n", t[len])) {
			len++;
		}
		pos += len;
		n_keys++;
		if (p2_base64_decode(t, len, S, P2_SCALAR_LEN) != P2_SCALAR_LEN ||
		    p2_escrow_server_key(S, s, kid) < 0) {
			printf("escrow key #%zu: not a usable scalar (44 base64 characters, "
			       "canonical, not zero)\n",
			       n_keys);
			ret = 1;
			continue;
		}
		sodium_bin2hex(kid_hex, sizeof(kid_hex), kid, P2_KID_LEN);
		for (size_t i = 0; i < n_bs && !found; i++) {
			P2Binding *b = &bs[i].b;

			for (unsigned j = 0; j < b->n_keys && !found; j++) {
				_cleanup_secbuf_ SecBuf *opened = NULL;

				if (memcmp(b->keys[j].kid, kid, P2_KID_LEN) != 0) {
					continue;
				}
				found = true;
				/* K = [C]s = [S]c */
				r = p2_escrow_evaluate(S, b->keys[j].c, K);
				if (r == 0 && b->threshold == 0) {
					r = p2_escrow_open(b, key_id_raw, K, &opened);
				} else if (r == 0) {
					r = p2_share_open(b, key_id_raw, j + 1, K,
					                  secrets[SLOT_D(i, j)]);
				}
				if (r < 0 && b->threshold == 0) {
					printf("escrow key #%zu (kid %s): the binding %s does NOT "
					       "open with it\n",
					       n_keys, kid_hex, bs[i].name);
					ret = 1;
				} else if (r < 0) {
					printf("escrow key #%zu (kid %s): share %u of %s does NOT "
					       "open with it\n",
					       n_keys, kid_hex, j + 1, bs[i].name);
					ret = 1;
				} else if (b->threshold == 0) {
					printf("escrow key #%zu (kid %s): the binding %s opens "
					       "(%zu bytes)\n",
					       n_keys, kid_hex, bs[i].name, opened->len);
				} else {
					bool again = false;

					for (size_t q = 0; q < bs[i].n_opened; q++) {
						again |= bs[i].opened[q] == j + 1;
					}
					printf("escrow key #%zu (kid %s): share %u of %s opens\n",
					       n_keys, kid_hex, j + 1, bs[i].name);
					if (!again) {
						bs[i].opened[bs[i].n_opened++] = (uint8_t)(j + 1);
					}
				}
			}
		}
		if (!found) {
			printf("escrow key #%zu (kid %s): no binding in %s has it\n", n_keys,
			       kid_hex, dir);
			ret = 1;
		}
	}
	if (ret == 0 && n_keys == 0) {
		printf("no escrow keys\n");
		ret = 1;
	}
	/* Threshold bindings: the secret from the k lowest-numbered open shares. */
	for (size_t i = 0; i < n_bs; i++) {
		CheckedBinding *c = &bs[i];
		uint8_t xs[P2_SHARES_MAX];
		uint8_t (*ds)[P2_SCALAR_LEN] = secrets + SLOT_REC;
		_cleanup_secbuf_ SecBuf *opened = NULL;
		size_t m = 0;

		if (ret > 1 || c->b.threshold == 0 || c->n_opened == 0) {
			continue;
		}
		if (c->n_opened < c->b.threshold) {
			printf("%s: %zu of %u shares here (the other servers' sections hold the "
			       "rest)\n",
			       c->name, c->n_opened, c->b.threshold);
			continue;
		}
		for (unsigned x = 1; x <= c->b.n_keys && m < c->b.threshold; x++) {
			for (size_t q = 0; q < c->n_opened; q++) {
				if (c->opened[q] == x) {
					xs[m] = (uint8_t)x;
					memcpy(ds[m], secrets[SLOT_D(i, x - 1)],
					       P2_SCALAR_LEN);
					m++;
				}
			}
		}
		r = p2_threshold_open(&c->b, key_id_raw, xs, (const uint8_t (*)[P2_SCALAR_LEN])ds,
		                      m, &opened);
		if (r < 0) {
			printf("%s: the shares do NOT reconstruct the secret (binding corrupt?)\n",
			       c->name);
			ret = 1;
		} else {
			printf("%s: %zu of %u shares open the secret (%zu bytes)\n", c->name, m,
			       c->b.threshold, opened->len);
		}
	}
	for (size_t i = 0; i < n_bs; i++) {
		free(bs[i].name);
		p2_binding_done(&bs[i].b);
	}
	sodium_free(secrets);
	if (fflush(stdout) != 0) {
		return EX_IOERR;
	}
	return ret;
}

static int run(int argc, char **argv)
{
	const char *cmd;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		cli_print_version();
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	/* §A.2.3: the sizes this code assumes, before any key is touched. */
	if (secmem_init() < 0) {
		log_error("libsodium cannot start");
		return EX_SOFTWARE;
	}
	if (p2_check_sizes() < 0) {
		log_error("libsodium size assumptions do not hold");
		return EX_SOFTWARE;
	}
	(void)secmem_harden_process();

	cmd = argv[1];
	argc -= 2;
	argv += 2;
	if (strcmp(cmd, "seal-keygen") == 0 && argc == 2) {
		return cmd_seal_keygen(argv[0], argv[1]);
	}
	if (strcmp(cmd, "server-keygen") == 0 && argc == 2) {
		return cmd_server_keygen(argv[0], argv[1]);
	}
	if (strcmp(cmd, "seal") == 0 && argc == 1) {
		return cmd_seal(argv[0]);
	}
	if (strcmp(cmd, "opens") == 0 && argc == 1) {
		return cmd_opens(argv[0]);
	}
	if (strcmp(cmd, "key-id") == 0 && argc == 1) {
		return cmd_key_id(argv[0]);
	}
	if (strcmp(cmd, "check") == 0 && argc >= 1) {
		return cmd_check(argc, argv);
	}
	if (strcmp(cmd, "pinned") == 0 && argc == 2) {
		return cmd_pinned(argv[0], argv[1]);
	}
	if (strcmp(cmd, "pin") == 0 && (argc == 2 || argc == 3)) {
		return cmd_pin(argv[0], argv[1], argc == 3 ? argv[2] : NULL);
	}
	if (strcmp(cmd, "escrow") == 0 && argc >= 5) {
		return cmd_escrow(argv[0], argv[1], argv[2], argv[3], argv[4], argc - 5, argv + 5);
	}
	if (strcmp(cmd, "threshold") == 0 && argc >= 7) {
		return cmd_threshold(argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], argc - 6,
		                     argv + 6);
	}
	if (strcmp(cmd, "rewrap") == 0 && argc == 2) {
		return cmd_rewrap(argv[0], argv[1]);
	}
	if (strcmp(cmd, "escrow-check") == 0 && argc == 2) {
		return cmd_escrow_check(argv[0], argv[1]);
	}
	if (strcmp(cmd, "expand-path") == 0 && argc == 1) {
		return cmd_expand_path(argv[0]);
	}
	log_error("Unknown command or wrong number of arguments: %s", cmd);
	usage(stderr);
	return EX_USAGE;
}

int main(int argc, char **argv)
{
	log_open("mandos-keygen: ", NULL, LOG_TARGET_STDERR, 0);
	return run(argc, argv);
}
