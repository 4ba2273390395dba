/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-keygen-p2: the protocol 2 crypto that the mandos-keygen script calls (spec §A.10). */
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
#include "io-util.h"
#include "keys.h"
#include "log.h"
#include "macro.h"
#include "p2.h"
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
	        "Exit status: 0, 1 (\"no\" for pinned), 64 usage, 65 bad key or id, 66 missing\n"
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
	log_error("Unknown command or wrong number of arguments: %s", cmd);
	usage(stderr);
	return EX_USAGE;
}

int main(int argc, char **argv)
{
	log_open("mandos-keygen: ", NULL, LOG_TARGET_STDERR, 0);
	return run(argc, argv);
}
