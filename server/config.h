/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The server's settings: command line, mandos.conf, and each client of clients.conf. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ini.h"
#include "keyid.h"
#include "macro.h"
#include "secret-store.h"

/* Defaults of our own settings (mandos.conf extensions, see mandos.conf(5)). */
#define CONNECTION_TIMEOUT_DEFAULT_MSEC (10 * 1000)
#define MAX_CONNECTIONS_DEFAULT 1024U
#define STATE_SAVE_INTERVAL_DEFAULT_MSEC (60 * 1000)
#define SERVER_KEY_FILE_NAME "server-key.pem"
/* §A.7.4: per source (IPv4 /32, IPv6 /64) and in all. */
#define SOURCE_RATE_DEFAULT 20U
#define SOURCE_BURST_DEFAULT 10U
#define SOURCE_CONNECTIONS_DEFAULT 16U
#define UNAUTHENTICATED_CONNECTIONS_DEFAULT 256U

typedef struct ServerSettings {
	char *interface; /* "" for all */
	char *address;   /* "" for any */
	int port;        /* -1 when not set */
	bool debug;
	char *debuglevel; /* "" for the default (WARNING) */
	char *priority;
	char *servicename;
	bool use_dbus;
	bool use_ipv6;
	bool restore;
	char *statedir;
	int socket_fd; /* -1 when not set */
	bool foreground;
	bool zeroconf;
	char *configdir;
	bool check;
	bool check_config; /* --check-config: report every problem of the files, then exit */
	/* Warnings found in mandos.conf, and with check_config its errors. */
	unsigned config_problems;
	/* mandos.conf's warnings, one per line, for the caller to log once logging is set up
	 * (NULL when none; with check_config they are logged at once instead). */
	char *config_warnings;
	/* Our extensions. */
	char *pidfile; /* "" for upstream's choice (/run/mandos.pid) */
	uint64_t connection_timeout_msec;
	unsigned max_connections;
	uint64_t state_save_interval_msec;
	/* Protocol 2 (spec/protocol-2.md §A.9.1, §A.7.4). */
	unsigned protocols;  /* PROTOCOL_BIT() mask asked for (before the key is read) */
	char *server_key;    /* path of the PKCS#8 Ed25519 server key */
	bool print_key_id;   /* --print-key-id */
	unsigned source_rate;   /* new connections per second per source, 0 = no limit */
	unsigned source_burst;  /* the per-source token bucket's size */
	unsigned source_connections;          /* unauthenticated connections per source */
	unsigned unauthenticated_connections; /* unauthenticated connections in all */
	/* Fleet operations (issue 14; mandos.conf only, validated by server_settings_parse()). */
	bool state_etcd;        /* state_backend = etcd (default file) */
	char *etcd_endpoints;   /* "http(s)://HOST:PORT ..." (spaces or commas); "" unless etcd */
	char *etcd_prefix;      /* the key prefix, ending in '/' (default "/mandos/") */
	char *etcd_cacert;      /* "" for the system's CAs */
	char *etcd_cert;        /* TLS client certificate (PEM), "" for none */
	char *etcd_key;         /* its private key (PEM), "" for none */
	uint64_t etcd_max_staleness_msec; /* no quorum heard for this long: release nothing */
	char *server_name;      /* this server in the audit log and in etcd; "" = host name */
	char *audit_log;        /* "" off, "journal", or an absolute path */
	char *metrics_address;  /* "" off, "HOST:PORT" with a loopback HOST, or an absolute
	                         * path (a Unix socket) */
} ServerSettings;

void server_settings_done(ServerSettings *s);

/*
 * Read the command line, then $configdir/mandos.conf (a missing file means defaults), and
 * merge them as upstream: a command-line value wins when given.  Returns:
 *   0  settings in *ret, go on;
 *   1  --help or --version was printed, exit 0;
 *  -EINVAL  usage error, already printed: exit 2;
 *  -EBADMSG  bad mandos.conf, already logged ("FILE:LINE: reason"): exit EX_CONFIG;
 *  other -errno.
 * Unknown keys of mandos.conf are warnings ("FILE:LINE: unknown key ..."), counted in
 * config_problems and kept in config_warnings.  With --check-config a bad value or a syntax error
 * of mandos.conf is logged and counted too, and parsing goes on (0 is returned), so that every
 * problem is reported.
 */
int server_settings_parse(int argc, char **argv, ServerSettings *ret);

/*
 * The unknown keys of a parsed mandos.conf: only [DEFAULT] counts, as upstream ignores the
 * other sections.  See ini_check_unknown_keys(); returns how many, or -ENOMEM.
 */
int server_config_check_keys(const IniFile *ini, IniWarnFunc warn, void *userdata);

/* An IniWarnFunc that logs the message as a warning (userdata unused). */
void config_log_warning(const char *message, void *userdata);

/* Per-client settings that take part in upstream's state merge (spec 2.8). */
typedef struct ClientSettings {
	char *host;
	char *checker;                  /* after start-time %(x)s expansion */
	char key_id[KEYID_STRING_SIZE]; /* normalised; "" when not given */
	char *fingerprint;              /* uppercase, no spaces; "" when not given */
	uint64_t timeout;               /* all durations in milliseconds */
	uint64_t extended_timeout;
	uint64_t interval;
	uint64_t approval_delay;
	uint64_t approval_duration;
	bool approved_by_default;
	bool enabled;
} ClientSettings;

/* Bits for client_settings_diff(). */
enum {
	CS_HOST = 1 << 0,
	CS_CHECKER = 1 << 1,
	CS_KEY_ID = 1 << 2,
	CS_FINGERPRINT = 1 << 3,
	CS_TIMEOUT = 1 << 4,
	CS_EXTENDED_TIMEOUT = 1 << 5,
	CS_INTERVAL = 1 << 6,
	CS_APPROVAL_DELAY = 1 << 7,
	CS_APPROVAL_DURATION = 1 << 8,
	CS_APPROVED_BY_DEFAULT = 1 << 9,
	CS_ENABLED = 1 << 10,
	CS_ALL = (1 << 11) - 1,
};

void client_settings_done(ClientSettings *s);
/* Deep copy.  Returns 0 or -ENOMEM (then *dst is left empty). */
int client_settings_copy(const ClientSettings *src, ClientSettings *dst);
/* Which fields differ (CS_* bits). */
unsigned client_settings_diff(const ClientSettings *a, const ClientSettings *b);
/* Copy the fields in mask from src to dst.  Returns 0 or -ENOMEM. */
int client_settings_assign(ClientSettings *dst, const ClientSettings *src, unsigned mask);

/* Size of a secret's identity hash (not the secret; safe to keep in ordinary memory). */
#define SECRET_ID_SIZE 32

/* Protocol bits for ClientDelivery.protocols and the server's `protocols`. */
#define PROTOCOL_BIT(n) (1u << (n))
#define PROTOCOLS_DEFAULT (PROTOCOL_BIT(1) | PROTOCOL_BIT(2))

/*
 * A `protocols` value (mandos.conf and clients.conf, §A.9.1): "1" and "2" separated by spaces,
 * tabs or commas, at least one.  Returns 0 and the PROTOCOL_BIT() mask, or -EINVAL (*ret
 * untouched).
 */
int protocols_parse(const char *s, unsigned *ret);

/* The enabled protocols ascending, `sep` between ("1 2" for D-Bus, "1,2" for Zeroconf TXT). */
#define PROTOCOLS_STRING_SIZE 4
const char *protocols_format(unsigned protocols, char sep, char ret[PROTOCOLS_STRING_SIZE]);

/* clients.conf release_limit range (§A.5.2) and sealed box lengths (§A.6; P2_SEALED_MIN and
 * P2_SEALED_MAX of common/p2/p2.h, which the fuzz targets' sources do not include). */
#define RELEASE_LIMIT_MAX 1000000U
#define SEALED_MIN 49U
#define SEALED_MAX 65535U

/*
 * What a client may receive, and how (spec/protocol-2.md §A.5.2, §A.6, §A.9.1).  From
 * clients.conf only (never merged with the state file); replaced as a whole on reload.
 */
/* Escrow key sizes (§B.2; P2_SCALAR_LEN and P2_KID_LEN of common/p2, as above). */
#define ESCROW_SCALAR_LEN 32U
#define ESCROW_KID_LEN 16U
#define ESCROW_KEYS_MAX 64U /* per section: more is an ERROR, the rest left out */

/*
 * A client's escrow keys (§B.2): the union of `escrow_key` and `escrow_keyfile`, in that
 * order, bad keys left out.  The scalars are n × 32 bytes in the SecretStore (packed
 * sodium_malloc chunks, never one allocation per client), index i matching kids[i]; nothing
 * of them is ever written to the state file, D-Bus or a log.  The kids (not secret) are
 * malloc()ed and computed at their first use (client_escrow_kids()).
 */
typedef struct EscrowKids {
	bool ready;
	uint8_t kid[][ESCROW_KID_LEN];
} EscrowKids;

typedef struct ClientEscrow {
	Secret scalars;   /* n × ESCROW_SCALAR_LEN bytes, or all zero */
	EscrowKids *kids; /* room for n kids (n > 0), or NULL; read through client_escrow_kids() */
	size_t n;
	char *keyfile;   /* the expanded escrow_keyfile path, or NULL (for --shred) */
	char *inline_at; /* "FILE:LINE" of the section's escrow_key line, or NULL */
} ClientEscrow;

typedef struct ClientDelivery {
	unsigned protocols;     /* PROTOCOL_BIT(1) | PROTOCOL_BIT(2); default PROTOCOLS_DEFAULT */
	uint32_t release_limit; /* releases per rolling 24 h, 0 = unlimited */
	uint8_t *sealed;        /* crypto_box_seal ciphertext (not a secret), malloc()ed, or NULL */
	size_t sealed_len;
	ClientEscrow escrow;    /* Part B; its scalars live in the loader's SecretStore */
} ClientDelivery;

/* Drop the scalars from the store, free the rest, zero. */
void client_escrow_done(ClientEscrow *e, SecretStore *store);

/*
 * The n kids of e, index i belonging to scalar i; NULL when n is 0.  They are computed from
 * the scalars at the first call (s = [S]G costs about 20 µs a key: done at load, that would
 * be most of a 10,000-client start), so loading only checks the scalars.
 */
const uint8_t (*client_escrow_kids(const ClientEscrow *e))[ESCROW_KID_LEN];
/* Free what d owns (its escrow scalars are dropped from store) and zero it. */
void client_delivery_done(ClientDelivery *d, SecretStore *store);

typedef struct ClientConfig {
	char *name;
	unsigned line; /* of the section header */
	ClientSettings settings;
	Secret secret;    /* in the store given to clients_config_load() */
	Secret state_key; /* key for the secret in the state file, derived from `secret` */
	unsigned char secret_id[SECRET_ID_SIZE];
	ClientDelivery delivery;
} ClientConfig;

typedef struct ClientsConfig {
	ClientConfig *clients;
	size_t n;
	unsigned n_warnings; /* unknown keys, logged while loading */
	/* The sections that are in the file but were skipped (logged): their runtime state is
	 * kept for them (see manager_reload()).  malloc()ed names, in file order. */
	char **skipped;
	size_t n_skipped;
} ClientsConfig;

/*
 * Read clients.conf.  Secrets (base64 `secret`, or the raw bytes of `secfile`) go into
 * `store`.  A section with neither key_id nor fingerprint is logged and skipped (as upstream
 * 1.8.17).  Protocol 2 (§A.9.1): an invalid `protocols` or `release_limit` is logged as an
 * ERROR and the section skipped (fail closed); an invalid `sealed_secret`/`sealed_secfile`
 * is logged as an ERROR and left out; a section without secret/secfile is valid when its
 * protocols include 2.  Each unknown key is logged as a warning (see clients_config_check_keys()) and
 * counted in n_warnings; the file is still used, as upstream uses it.  Returns 0, or -errno
 * with a one-line "FILE:LINE: reason" in *ret_error (when the file is malformed); -ENOENT
 * when the file does not exist.
 */
int clients_config_load(const char *path, SecretStore *store, ClientsConfig *ret, char **ret_error);
void clients_config_done(ClientsConfig *c, SecretStore *store);

/*
 * For --check-config: read clients.conf as clients_config_load() does, keeping nothing, and
 * log every problem instead of stopping at the first: a syntax error, the first bad value
 * of each client section, each section skipped for want of a key_id, each unknown key, and
 * a file without clients.  Returns the number of problems (0: clean), or -errno when the
 * file cannot be read (-ENOENT when it does not exist; not logged).
 */
int clients_config_check(const char *path, SecretStore *store);

/*
 * The unknown keys of a clients.conf parsed by clients_config_parse_string() (or the loaders
 * above), whose built-in defaults are known keys: in [DEFAULT] and in each client section,
 * keys that are no client setting upstream knows (also those we ignore, such as fingerprint)
 * and that no "%(name)s" uses.  See ini_check_unknown_keys(); returns how many, or -ENOMEM.
 */
int clients_config_check_keys(const IniFile *ini, IniWarnFunc warn, void *userdata);

/* Parse clients.conf text with its built-in defaults, as the loaders do; see ini_parse_string(). */
int clients_config_parse_string(const char *name, const char *text, size_t len, IniFile **ret,
                                char **ret_error);

/* Size of the key that encrypts a secret in the state file. */
#define STATE_KEY_SIZE 32

/* The identity hash of a secret's bytes. */
void secret_id_compute(const void *data, size_t len, unsigned char ret[SECRET_ID_SIZE]);

