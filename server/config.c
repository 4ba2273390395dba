/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The server's settings: command line, mandos.conf, and each client of clients.conf. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli-util.h"
#include "duration.h"
#include "format.h"
#include "ini.h"
#include "log.h"
#include "parse-util.h"
#include "priority.h"
#include "secmem.h"

void server_settings_done(ServerSettings *s)
{
	free(s->interface);
	free(s->address);
	free(s->debuglevel);
	free(s->priority);
	free(s->servicename);
	free(s->statedir);
	free(s->configdir);
	free(s->pidfile);
	*s = (ServerSettings){0};
}

/* clang-format off */
static const char *const server_defaults[] = {
	"interface", "",
	"address", "",
	"port", "",
	"debug", "False",
	"priority", MANDOS_DEFAULT_PRIORITY,
	"servicename", "Mandos",
	"use_dbus", "True",
	"use_ipv6", "True",
	"debuglevel", "",
	"restore", "True",
	"socket", "",
	"statedir", "/var/lib/mandos",
	"foreground", "False",
	"zeroconf", "True",
	"pidfile", "",
	"connection_timeout", "PT10S",
	"max_connections", "1024",
	"state_save_interval", "PT1M",
	NULL,
};
/* clang-format on */

/* Command-line values; NULL or -1 when not given. */
typedef struct CmdLine {
	const char *interface, *address, *port, *debuglevel, *priority, *servicename, *configdir,
	        *statedir, *socket, *pidfile;
	int debug, use_dbus, use_ipv6, restore, foreground, zeroconf;
	bool check;
} CmdLine;

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
	        "usage: %s [-h] [-v] [-i IF] [-a ADDRESS] [-p PORT] [--check] [--debug]\n"
	        "       [--debuglevel LEVEL] [--priority PRIORITY] [--servicename NAME]\n"
	        "       [--configdir DIR] [--no-dbus] [--no-ipv6] [--no-restore] [--socket "
	        "SOCKET]\n"
	        "       [--statedir DIR] [--foreground] [--no-zeroconf] [--pidfile FILE]\n",
	        prog);
}

static void help(const char *prog)
{
	usage(stdout, prog);
	printf("\noptions:\n"
	       "  -h, --help            show this help message and exit\n"
	       "  -v, --version         show version number and exit\n"
	       "  -i IF, --interface IF Bind to interface IF\n"
	       "  -a ADDRESS, --address ADDRESS\n"
	       "                        Address to listen for requests on\n"
	       "  -p PORT, --port PORT  Port number to receive requests on\n"
	       "  --check               Run self-test\n"
	       "  --debug               Debug mode; run in foreground and log to terminal\n"
	       "  --debuglevel LEVEL    Debug level for stdout output\n"
	       "  --priority PRIORITY   GnuTLS priority string (see GnuTLS documentation)\n"
	       "  --servicename NAME    Zeroconf service name\n"
	       "  --configdir DIR       Directory to search for configuration files\n"
	       "  --no-dbus             Do not provide D-Bus system bus interface\n"
	       "  --no-ipv6             Do not use IPv6\n"
	       "  --no-restore          Do not restore stored state\n"
	       "  --socket SOCKET       Specify a file descriptor to a network socket to use\n"
	       "                        instead of creating one\n"
	       "  --statedir DIR        Directory to save/restore state in\n"
	       "  --foreground          Run in foreground\n"
	       "  --no-zeroconf         Do not use Zeroconf\n"
	       "  --pidfile FILE        Where to write the PID (default /run/mandos.pid)\n");
}

static _printf_(2, 3) int usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	usage(stderr, prog);
	fprintf(stderr, "%s: error: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

enum {
	OPT_CHECK = 0x100,
	OPT_DEBUG,
	OPT_DEBUGLEVEL,
	OPT_PRIORITY,
	OPT_SERVICENAME,
	OPT_CONFIGDIR,
	OPT_NO_DBUS,
	OPT_NO_IPV6,
	OPT_NO_RESTORE,
	OPT_SOCKET,
	OPT_STATEDIR,
	OPT_FOREGROUND,
	OPT_NO_ZEROCONF,
	OPT_PIDFILE,
};

static int parse_cmdline(int argc, char **argv, CmdLine *c)
{
	static const struct option options[] = {
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'v'},
	        {"interface", required_argument, NULL, 'i'},
	        {"address", required_argument, NULL, 'a'},
	        {"port", required_argument, NULL, 'p'},
	        {"check", no_argument, NULL, OPT_CHECK},
	        {"debug", no_argument, NULL, OPT_DEBUG},
	        {"debuglevel", required_argument, NULL, OPT_DEBUGLEVEL},
	        {"priority", required_argument, NULL, OPT_PRIORITY},
	        {"servicename", required_argument, NULL, OPT_SERVICENAME},
	        {"configdir", required_argument, NULL, OPT_CONFIGDIR},
	        {"no-dbus", no_argument, NULL, OPT_NO_DBUS},
	        {"no-ipv6", no_argument, NULL, OPT_NO_IPV6},
	        {"no-restore", no_argument, NULL, OPT_NO_RESTORE},
	        {"socket", required_argument, NULL, OPT_SOCKET},
	        {"statedir", required_argument, NULL, OPT_STATEDIR},
	        {"foreground", no_argument, NULL, OPT_FOREGROUND},
	        {"no-zeroconf", no_argument, NULL, OPT_NO_ZEROCONF},
	        {"pidfile", required_argument, NULL, OPT_PIDFILE},
	        {0},
	};
	const char *prog = "mandos";
	int o;

	*c = (CmdLine){.debug = -1,
	               .use_dbus = -1,
	               .use_ipv6 = -1,
	               .restore = -1,
	               .foreground = -1,
	               .zeroconf = -1};
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, ":hvi:a:p:", options, NULL)) >= 0) {
		switch (o) {
		case 'h':
			help(prog);
			return 1;
		case 'v':
			printf("%s" CLI_VERSION_TAIL "\n", prog);
			return 1;
		case 'i':
			c->interface = optarg;
			break;
		case 'a':
			c->address = optarg;
			break;
		case 'p':
			c->port = optarg;
			break;
		case OPT_CHECK:
			c->check = true;
			break;
		case OPT_DEBUG:
			c->debug = 1;
			break;
		case OPT_DEBUGLEVEL:
			c->debuglevel = optarg;
			break;
		case OPT_PRIORITY:
			c->priority = optarg;
			break;
		case OPT_SERVICENAME:
			c->servicename = optarg;
			break;
		case OPT_CONFIGDIR:
			c->configdir = optarg;
			break;
		case OPT_NO_DBUS:
			c->use_dbus = 0;
			break;
		case OPT_NO_IPV6:
			c->use_ipv6 = 0;
			break;
		case OPT_NO_RESTORE:
			c->restore = 0;
			break;
		case OPT_SOCKET:
			c->socket = optarg;
			break;
		case OPT_STATEDIR:
			c->statedir = optarg;
			break;
		case OPT_FOREGROUND:
			c->foreground = 1;
			break;
		case OPT_NO_ZEROCONF:
			c->zeroconf = 0;
			break;
		case OPT_PIDFILE:
			c->pidfile = optarg;
			break;
		case ':':
			return usage_error(prog, "argument %s: expected one argument",
			                   argv[optind - 1]);
		default:
			return usage_error(prog, "unrecognized arguments: %s", argv[optind - 1]);
		}
	}
	if (optind < argc) {
		return usage_error(prog, "unrecognized arguments: %s", argv[optind]);
	}
	return 0;
}

/* mandos.conf strings are used raw, as upstream reads them with defaults(): no interpolation. */
static int conf_string(IniFile *ini, const char *key, const char *given, char **ret)
{
	const char *raw = given ? given : ini_get_raw(ini, "DEFAULT", key);
	char *v = strdup(raw ? raw : "");

	if (!v) {
		return -ENOMEM;
	}
	*ret = v;
	return 0;
}

static int conf_bool(IniFile *ini, const char *key, int given, bool *ret)
{
	_cleanup_free_ char *err = NULL;
	int r;

	if (given >= 0) {
		*ret = given;
		return 0;
	}
	r = ini_get_bool(ini, "DEFAULT", key, ret, &err);
	if (r < 0) {
		if (err) {
			log_error("%s", err);
			return -EBADMSG;
		}
		return r;
	}
	return 0;
}

static const char *skip_space(const char *s, char **end_trimmed)
{
	while (*s == ' ' || *s == '\t') {
		s++;
	}
	return s;
}

/* An integer as Python's int() reads a config value: surrounding blanks allowed. */
static int conf_int(IniFile *ini, const char *key, const char *given, int64_t min, int64_t max,
                    int *ret)
{
	_cleanup_free_ char *v = NULL;
	char *e;
	int64_t n;
	int r;

	r = conf_string(ini, key, given, &v);
	if (r < 0) {
		return r;
	}
	e = v + strlen(v);
	while (e > v && (e[-1] == ' ' || e[-1] == '\t')) {
		*--e = '\0';
	}
	if (!*skip_space(v, NULL)) {
		*ret = -1;
		return 0;
	}
	r = parse_int64(skip_space(v, NULL), min, max, &n);
	if (r < 0) {
		if (given) {
			return -EINVAL;
		}
		_cleanup_free_ char *m = ini_error_message(ini, ini_key_line(ini, "DEFAULT", key),
		                                           "%s: invalid value '%s'", key, v);
		log_error("%s", m ? m : "invalid value in mandos.conf");
		return -EBADMSG;
	}
	*ret = (int)n;
	return 0;
}

static int conf_duration(IniFile *ini, const char *key, uint64_t *ret)
{
	_cleanup_free_ char *v = NULL;
	int r;

	r = conf_string(ini, key, NULL, &v);
	if (r < 0) {
		return r;
	}
	if (duration_parse(v, ret) < 0) {
		_cleanup_free_ char *m = ini_error_message(ini, ini_key_line(ini, "DEFAULT", key),
		                                           "%s: invalid duration '%s'", key, v);
		log_error("%s", m ? m : "invalid duration in mandos.conf");
		return -EBADMSG;
	}
	return 0;
}

int server_settings_parse(int argc, char **argv, ServerSettings *ret)
{
	_cleanup_ini_free_ IniFile *ini = NULL;
	_cleanup_free_ char *path = NULL, *err = NULL;
	ServerSettings s = {.port = -1, .socket_fd = -1};
	CmdLine c;
	int r, n;

	r = parse_cmdline(argc, argv, &c);
	if (r != 0) {
		return r;
	}
	s.check = c.check;
	s.configdir = strdup(c.configdir ? c.configdir : "/etc/mandos");
	if (!s.configdir || asprintf(&path, "%s/mandos.conf", s.configdir) < 0) {
		server_settings_done(&s);
		return -ENOMEM;
	}
	r = ini_parse_file(path, NULL, server_defaults, &ini, &err);
	if (r == -ENOENT) {
		free(err);
		err = NULL;
		r = ini_parse_string(path, "", 0, server_defaults, &ini, &err);
	}
	if (r < 0) {
		if (err) {
			log_error("%s", err);
			r = -EBADMSG;
		} else {
			log_error_errno(r, "Cannot read %s: %m", path);
		}
		server_settings_done(&s);
		return r;
	}

	if ((r = conf_string(ini, "interface", c.interface, &s.interface)) < 0 ||
	    (r = conf_string(ini, "address", c.address, &s.address)) < 0 ||
	    (r = conf_bool(ini, "debug", c.debug, &s.debug)) < 0 ||
	    (r = conf_string(ini, "debuglevel", c.debuglevel, &s.debuglevel)) < 0 ||
	    (r = conf_string(ini, "priority", c.priority, &s.priority)) < 0 ||
	    (r = conf_string(ini, "servicename", c.servicename, &s.servicename)) < 0 ||
	    (r = conf_bool(ini, "use_dbus", c.use_dbus, &s.use_dbus)) < 0 ||
	    (r = conf_bool(ini, "use_ipv6", c.use_ipv6, &s.use_ipv6)) < 0 ||
	    (r = conf_bool(ini, "restore", c.restore, &s.restore)) < 0 ||
	    (r = conf_string(ini, "statedir", c.statedir, &s.statedir)) < 0 ||
	    (r = conf_bool(ini, "foreground", c.foreground, &s.foreground)) < 0 ||
	    (r = conf_bool(ini, "zeroconf", c.zeroconf, &s.zeroconf)) < 0 ||
	    (r = conf_string(ini, "pidfile", c.pidfile, &s.pidfile)) < 0 ||
	    (r = conf_duration(ini, "connection_timeout", &s.connection_timeout_msec)) < 0 ||
	    (r = conf_duration(ini, "state_save_interval", &s.state_save_interval_msec)) < 0) {
		server_settings_done(&s);
		return r;
	}
	r = conf_int(ini, "port", c.port, 0, 65535, &s.port);
	if (r == -EINVAL) {
		server_settings_done(&s);
		return usage_error("mandos", "argument -p/--port: invalid int value: '%s'", c.port);
	}
	if (r >= 0) {
		r = conf_int(ini, "socket", c.socket, 0, INT32_MAX, &s.socket_fd);
		if (r == -EINVAL) {
			server_settings_done(&s);
			return usage_error("mandos", "argument --socket: invalid int value: '%s'",
			                   c.socket);
		}
	}
	if (r >= 0) {
		r = conf_int(ini, "max_connections", NULL, 1, 1000000, &n);
		s.max_connections = n < 0 ? MAX_CONNECTIONS_DEFAULT : (unsigned)n;
	}
	if (r < 0) {
		server_settings_done(&s);
		return r;
	}
	if (s.connection_timeout_msec == 0) {
		s.connection_timeout_msec = CONNECTION_TIMEOUT_DEFAULT_MSEC;
	}
	if (s.state_save_interval_msec < 1000) {
		s.state_save_interval_msec = 1000; /* PT0S would mean a save in every loop turn */
	}
	if (s.debug) {
		s.foreground = true;
	}
	if (*s.debuglevel && log_level_from_string(s.debuglevel) < 0) {
		usage_error("mandos", "invalid debug level: '%s'", s.debuglevel);
		server_settings_done(&s);
		return -EINVAL;
	}
	if (!s.zeroconf && s.port < 0 && s.socket_fd < 0 && !getenv("LISTEN_FDS")) {
		usage_error("mandos", "%s", "Needs port or socket to work without Zeroconf");
		server_settings_done(&s);
		return -EINVAL;
	}
	*ret = s;
	return 0;
}

/* Clients. */

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

static bool var_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

char *path_expand(const char *s)
{
	_cleanup_free_ char *vars = NULL;
	char *out = NULL;
	size_t len = 0, cap = 0;
	const char *p = s;

	/* expandvars */
	while (*p) {
		if (*p == '$') {
			const char *name = p + 1, *end;
			bool brace = *name == '{';
			size_t n;

			if (brace) {
				name++;
			}
			for (end = name; var_char(*end); end++) {
			}
			n = (size_t)(end - name);
			if (n > 0 && (!brace || *end == '}') && n < 256) {
				char key[256];
				const char *v;

				memcpy(key, name, n);
				key[n] = '\0';
				v = getenv(key);
				if (v) {
					if (strbuf_add(&vars, &len, &cap, v, strlen(v)) < 0) {
						return NULL;
					}
					p = end + (brace ? 1 : 0);
					continue;
				}
			}
		}
		if (strbuf_add(&vars, &len, &cap, p, 1) < 0) {
			return NULL;
		}
		p++;
	}
	if (!vars) {
		return strdup("");
	}
	/* expanduser */
	if (vars[0] == '~') {
		const char *slash = strchr(vars, '/');
		size_t n = slash ? (size_t)(slash - vars - 1) : strlen(vars) - 1;
		const char *home = NULL;

		if (n == 0) {
			home = getenv("HOME");
			if (!home) {
				struct passwd *pw = getpwuid(getuid());
				home = pw ? pw->pw_dir : NULL;
			}
		} else if (n < 256) {
			char user[256];
			struct passwd *pw;

			memcpy(user, vars + 1, n);
			user[n] = '\0';
			pw = getpwnam(user);
			home = pw ? pw->pw_dir : NULL;
		}
		if (home) {
			const char *rest = vars + 1 + n;
			size_t hl = strlen(home);

			/* Python strips a trailing slash of the home directory. */
			while (hl > 1 && home[hl - 1] == '/') {
				hl--;
			}
			if (asprintf(&out, "%.*s%s", (int)hl, home, rest) < 0) {
				return NULL;
			}
			return out;
		}
	}
	return TAKE_PTR(vars);
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

/* Context for reading one client: the file and a scratch buffer for secrets. */
typedef struct Loader {
	IniFile *ini;
	SecretStore *store;
	SecBuf *scratch;
	char **error;
} Loader;

static _printf_(4, 5) int client_error(Loader *l, const char *section, const char *key,
                                       const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int n;
	unsigned line = key ? ini_key_line(l->ini, section, key) : 0;
	size_t i;

	if (line == 0) {
		for (i = 0; i < ini_section_count(l->ini); i++) {
			if (strcmp(ini_section_name(l->ini, i), section) == 0) {
				line = ini_section_line(l->ini, i);
			}
		}
	}
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		return -ENOMEM;
	}
	*l->error = ini_error_message(l->ini, line, "%s", msg);
	return *l->error ? -EINVAL : -ENOMEM;
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
	_cleanup_free_ char *secret = NULL, *secfile = NULL;
	int r;

	secbuf_clear(l->scratch);
	r = get_value(l, section, "secret", &secret);
	if (r < 0) {
		return r;
	}
	if (secret) {
		r = base64_decode_secbuf(secret, strlen(secret), l->scratch);
		secmem_wipe(secret, strlen(secret));
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

/* Returns 1 when the section was loaded, 0 when skipped, or -errno. */
static int load_client(Loader *l, const char *section, unsigned line, ClientConfig *cc)
{
	_cleanup_free_ char *key_id = NULL, *fingerprint = NULL;
	ClientSettings *s = &cc->settings;
	int r;

	*cc = (ClientConfig){.line = line};
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
	return 1;
}

static void client_config_done(ClientConfig *cc, SecretStore *store)
{
	free(cc->name);
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
	*c = (ClientsConfig){0};
}

int clients_config_load(const char *path, SecretStore *store, ClientsConfig *ret, char **ret_error)
{
	_cleanup_ini_free_ IniFile *ini = NULL;
	_cleanup_secbuf_ SecBuf *scratch = NULL;
	ClientsConfig c = {0};
	char *error = NULL;
	Loader l;
	size_t n;
	int r;

	r = ini_parse_file(path, NULL, client_defaults, &ini, ret_error);
	if (r < 0) {
		return r;
	}
	scratch = secbuf_new(4096, SECRET_MAX);
	n = ini_section_count(ini);
	c.clients = calloc(MAX(n, 1), sizeof(ClientConfig));
	if (!scratch || !c.clients) {
		free(c.clients);
		return -ENOMEM;
	}
	l = (Loader){.ini = ini, .store = store, .scratch = scratch, .error = &error};
	for (size_t i = 0; i < n; i++) {
		ClientConfig *cc = &c.clients[c.n];

		r = load_client(&l, ini_section_name(ini, i), ini_section_line(ini, i), cc);
		if (r < 0) {
			client_config_done(cc, store);
			clients_config_done(&c, store);
			if (ret_error) {
				*ret_error = error;
			} else {
				free(error);
			}
			return r;
		}
		if (r > 0) {
			c.n++;
		}
	}
	*ret = c;
	return 0;
}
