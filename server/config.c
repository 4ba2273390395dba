/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The server's own settings: the command line and mandos.conf, merged as upstream does. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-util.h"
#include "duration.h"
#include "ini.h"
#include "log.h"
#include "parse-util.h"
#include "priority.h"

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
	free(s->config_warnings);
	free(s->server_key);
	free(s->etcd_endpoints);
	free(s->etcd_prefix);
	free(s->etcd_cacert);
	free(s->etcd_cert);
	free(s->etcd_key);
	free(s->server_name);
	free(s->audit_log);
	free(s->metrics_address);
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
	"protocols", "1 2",
	"server_key", "",
	"source_rate", "20",
	"source_burst", "10",
	"source_connections", "16",
	"unauthenticated_connections", "256",
	"state_backend", "file",
	"etcd_endpoints", "",
	"etcd_prefix", "/mandos/",
	"etcd_cacert", "",
	"etcd_cert", "",
	"etcd_key", "",
	"etcd_max_staleness", "PT1M",
	"server_name", "",
	"audit_log", "",
	"metrics_address", "",
	NULL,
};
/* clang-format on */

/* Every key mandos.conf knows has a built-in default (server_defaults). */
int server_config_check_keys(const IniFile *ini, IniWarnFunc warn, void *userdata)
{
	return ini_check_unknown_keys(ini, "DEFAULT", NULL, warn, userdata);
}

void config_log_warning(const char *message, void *userdata)
{
	log_warning("%s", message);
}

/* Command-line values; NULL or -1 when not given. */
typedef struct CmdLine {
	const char *interface, *address, *port, *debuglevel, *priority, *servicename, *configdir,
	        *statedir, *socket, *pidfile, *protocols, *server_key;
	int debug, use_dbus, use_ipv6, restore, foreground, zeroconf;
	bool check, check_config, print_key_id;
} CmdLine;

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
	        "usage: %s [-h] [-v] [-i IF] [-a ADDRESS] [-p PORT] [--check] [--debug]\n"
	        "       [--debuglevel LEVEL] [--priority PRIORITY] [--servicename NAME]\n"
	        "       [--configdir DIR] [--no-dbus] [--no-ipv6] [--no-restore] [--socket "
	        "SOCKET]\n"
	        "       [--statedir DIR] [--foreground] [--no-zeroconf] [--pidfile FILE]\n"
	        "       [--check-config] [--protocols LIST] [--server-key FILE]\n"
	        "       [--print-key-id]\n",
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
	       "  --pidfile FILE        Where to write the PID (default /run/mandos.pid)\n"
	       "  --check-config        Report every error and warning of mandos.conf and\n"
	       "                        clients.conf, then exit (0: none, 78: some)\n"
	       "  --protocols LIST      Protocols to serve: 1 and/or 2 (default \"1 2\")\n"
	       "  --server-key FILE     Protocol 2 server key (default server-key.pem in the\n"
	       "                        configuration directory)\n"
	       "  --print-key-id        Print the server key ID and exit\n");
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
	OPT_CHECK_CONFIG,
	OPT_PROTOCOLS,
	OPT_SERVER_KEY,
	OPT_PRINT_KEY_ID,
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
	        {"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
	        {"protocols", required_argument, NULL, OPT_PROTOCOLS},
	        {"server-key", required_argument, NULL, OPT_SERVER_KEY},
	        {"print-key-id", no_argument, NULL, OPT_PRINT_KEY_ID},
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
		case OPT_CHECK_CONFIG:
			c->check_config = true;
			break;
		case OPT_PROTOCOLS:
			c->protocols = optarg;
			break;
		case OPT_SERVER_KEY:
			c->server_key = optarg;
			break;
		case OPT_PRINT_KEY_ID:
			c->print_key_id = true;
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

static bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* An ERROR "mandos.conf:LINE: KEY: ..." for a fleet option; -EBADMSG. */
static int conf_bad(IniFile *ini, const char *key, const char *what, const char *v)
{
	_cleanup_free_ char *m = ini_error_message(ini, ini_key_line(ini, "DEFAULT", key),
	                                           "%s: %s '%s'", key, what, v);
	log_error("%s", m ? m : "invalid value in mandos.conf");
	return -EBADMSG;
}

/* Is this "HOST:PORT" (HOST a loopback address, [::1] bracketed) or an absolute path? */
static bool metrics_address_valid(const char *v)
{
	const char *colon = strrchr(v, ':');
	_cleanup_free_ char *host = NULL;
	int64_t port;

	if (v[0] == '/') {
		return strlen(v) < 108; /* sun_path */
	}
	if (!colon || parse_int64(colon + 1, 1, 65535, &port) < 0) {
		return false;
	}
	host = strndup(v, (size_t)(colon - v));
	if (!host) {
		return false;
	}
	return streq(host, "[::1]") || streq(host, "localhost") ||
	       (strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == strlen(host));
}

/*
 * The fleet options of issue 14: state_backend (file or etcd), etcd_* (endpoints required with
 * etcd, each http:// or https://), etcd_max_staleness, server_name, audit_log ("", "journal"
 * or an absolute path) and metrics_address (loopback or a Unix socket path).  A bad value is
 * an ERROR with FILE:LINE and -EBADMSG (the server does not start: fail closed).
 */
static int conf_fleet(IniFile *ini, ServerSettings *s)
{
	_cleanup_free_ char *backend = NULL;
	int r;

	if ((r = conf_string(ini, "state_backend", NULL, &backend)) < 0 ||
	    (r = conf_string(ini, "etcd_endpoints", NULL, &s->etcd_endpoints)) < 0 ||
	    (r = conf_string(ini, "etcd_prefix", NULL, &s->etcd_prefix)) < 0 ||
	    (r = conf_string(ini, "etcd_cacert", NULL, &s->etcd_cacert)) < 0 ||
	    (r = conf_string(ini, "etcd_cert", NULL, &s->etcd_cert)) < 0 ||
	    (r = conf_string(ini, "etcd_key", NULL, &s->etcd_key)) < 0 ||
	    (r = conf_string(ini, "server_name", NULL, &s->server_name)) < 0 ||
	    (r = conf_string(ini, "audit_log", NULL, &s->audit_log)) < 0 ||
	    (r = conf_string(ini, "metrics_address", NULL, &s->metrics_address)) < 0 ||
	    (r = conf_duration(ini, "etcd_max_staleness", &s->etcd_max_staleness_msec)) < 0) {
		return r;
	}
	if (streq(backend, "etcd")) {
		s->state_etcd = true;
	} else if (!streq(backend, "file")) {
		return conf_bad(ini, "state_backend", "not \"file\" or \"etcd\":", backend);
	}
	if (s->state_etcd) {
		_cleanup_free_ char *list = strdup(s->etcd_endpoints);
		char *save = NULL;
		size_t n = 0;

		if (!list) {
			return -ENOMEM;
		}
		for (char *e = strtok_r(list, " \t,", &save); e; e = strtok_r(NULL, " \t,", &save)) {
			if (strncmp(e, "http://", 7) != 0 && strncmp(e, "https://", 8) != 0) {
				return conf_bad(ini, "etcd_endpoints",
				                "not an http:// or https:// URL:", e);
			}
			n++;
		}
		if (n == 0) {
			/* Named at state_backend's line when etcd_endpoints is not there at all. */
			bool given = ini_key_line(ini, "DEFAULT", "etcd_endpoints") > 0;

			return conf_bad(ini, given ? "etcd_endpoints" : "state_backend",
			                "etcd needs etcd_endpoints (one or more http(s):// URLs), not",
			                s->etcd_endpoints);
		}
		size_t plen = strlen(s->etcd_prefix);

		if (plen < 2 || s->etcd_prefix[0] != '/' || s->etcd_prefix[plen - 1] != '/') {
			return conf_bad(ini, "etcd_prefix", "must start and end with '/':",
			                s->etcd_prefix);
		}
		if (s->etcd_max_staleness_msec < 1000) {
			return conf_bad(ini, "etcd_max_staleness", "must be at least 1 second:",
			                ini_get_raw(ini, "DEFAULT", "etcd_max_staleness"));
		}
	}
	if (*s->audit_log && !streq(s->audit_log, "journal") && s->audit_log[0] != '/') {
		return conf_bad(ini, "audit_log", "not \"journal\" or an absolute path:",
		                s->audit_log);
	}
	if (*s->metrics_address && !metrics_address_valid(s->metrics_address)) {
		return conf_bad(ini, "metrics_address",
		                "not a loopback HOST:PORT or an absolute socket path:",
		                s->metrics_address);
	}
	return 0;
}

/*
 * `protocols`: from the command line (a bad value is a usage error, -EINVAL), else from
 * mandos.conf (a bad value is an ERROR and the default applies, §A.9.1; counted for
 * --check-config).
 */
static int conf_protocols(IniFile *ini, const char *given, ServerSettings *s)
{
	_cleanup_free_ char *v = NULL;
	int r;

	s->protocols = PROTOCOLS_DEFAULT;
	if (given) {
		return protocols_parse(given, &s->protocols);
	}
	r = conf_string(ini, "protocols", NULL, &v);
	if (r < 0) {
		return r;
	}
	if (protocols_parse(v, &s->protocols) < 0) {
		_cleanup_free_ char *m = ini_error_message(
		        ini, ini_key_line(ini, "DEFAULT", "protocols"),
		        "protocols: invalid value '%s' (1 and 2, separated by spaces or commas); "
		        "using the default \"1 2\"",
		        v);
		log_error("%s", m ? m : "invalid protocols in mandos.conf");
		s->config_problems += s->check_config ? 1 : 0;
	}
	return 0;
}

/* server_key: relative to nothing (as given), "" meaning server-key.pem in the config dir. */
static int conf_server_key(IniFile *ini, const char *given, ServerSettings *s)
{
	int r = conf_string(ini, "server_key", given, &s->server_key);

	if (r < 0) {
		return r;
	}
	if (!*s->server_key) {
		free(s->server_key);
		s->server_key = NULL;
		if (asprintf(&s->server_key, "%s/%s", s->configdir, SERVER_KEY_FILE_NAME) < 0) {
			s->server_key = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

/*
 * A bad value of mandos.conf has been logged (-EBADMSG).  Normally that stops the start; with
 * --check-config it is counted, the setting keeps its default, and the next one is read.
 */
static int conf_result(ServerSettings *s, int r)
{
	if (r == -EBADMSG && s->check_config) {
		s->config_problems++;
		return 0;
	}
	return r;
}

/* Keep a warning for server_settings_parse()'s caller, who logs it where the server logs. */
static void keep_warning(const char *message, void *userdata)
{
	ServerSettings *s = userdata;
	char *joined;

	if (s->check_config) {
		log_warning("%s", message);
		return;
	}
	if (asprintf(&joined, "%s%s%s", s->config_warnings ? s->config_warnings : "",
	             s->config_warnings ? "\n" : "", message) < 0) {
		log_warning("%s", message); /* out of memory: here, then */
		return;
	}
	free(s->config_warnings);
	s->config_warnings = joined;
}

static int read_mandos_conf(const char *path, ServerSettings *s, IniFile **ret)
{
	_cleanup_free_ char *err = NULL;
	int r;

	r = ini_parse_file(path, NULL, server_defaults, ret, &err);
	if (r == -ENOENT) {
		free(err);
		err = NULL;
		r = ini_parse_string(path, "", 0, server_defaults, ret, &err);
	}
	if (r < 0) {
		if (err) {
			log_error("%s", err);
			r = -EBADMSG;
		} else {
			log_error_errno(r, "Cannot read %s: %m", path);
		}
		r = conf_result(s, r);
		if (r < 0) {
			return r;
		}
		/* --check-config: go on with the defaults, to check the command line. */
		return ini_parse_string(path, "", 0, server_defaults, ret, NULL);
	}
	r = server_config_check_keys(*ret, keep_warning, s);
	if (r < 0) {
		return r;
	}
	s->config_problems += (unsigned)r;
	return 0;
}

int server_settings_parse(int argc, char **argv, ServerSettings *ret)
{
	_cleanup_ini_free_ IniFile *ini = NULL;
	_cleanup_free_ char *path = NULL;
	/* The booleans start as their defaults, for --check-config past a bad value. */
	ServerSettings s = {.port = -1,
	                    .socket_fd = -1,
	                    .use_dbus = true,
	                    .use_ipv6 = true,
	                    .restore = true,
	                    .zeroconf = true};
	CmdLine c;
	int r, n = -1;

	r = parse_cmdline(argc, argv, &c);
	if (r != 0) {
		return r;
	}
	s.check = c.check;
	s.check_config = c.check_config;
	s.configdir = strdup(c.configdir ? c.configdir : "/etc/mandos");
	if (!s.configdir || asprintf(&path, "%s/mandos.conf", s.configdir) < 0) {
		server_settings_done(&s);
		return -ENOMEM;
	}
	r = read_mandos_conf(path, &s, &ini);
	if (r < 0) {
		server_settings_done(&s);
		return r;
	}

	if ((r = conf_string(ini, "interface", c.interface, &s.interface)) < 0 ||
	    (r = conf_string(ini, "address", c.address, &s.address)) < 0 ||
	    (r = conf_result(&s, conf_bool(ini, "debug", c.debug, &s.debug))) < 0 ||
	    (r = conf_string(ini, "debuglevel", c.debuglevel, &s.debuglevel)) < 0 ||
	    (r = conf_string(ini, "priority", c.priority, &s.priority)) < 0 ||
	    (r = conf_string(ini, "servicename", c.servicename, &s.servicename)) < 0 ||
	    (r = conf_result(&s, conf_bool(ini, "use_dbus", c.use_dbus, &s.use_dbus))) < 0 ||
	    (r = conf_result(&s, conf_bool(ini, "use_ipv6", c.use_ipv6, &s.use_ipv6))) < 0 ||
	    (r = conf_result(&s, conf_bool(ini, "restore", c.restore, &s.restore))) < 0 ||
	    (r = conf_string(ini, "statedir", c.statedir, &s.statedir)) < 0 ||
	    (r = conf_result(&s, conf_bool(ini, "foreground", c.foreground, &s.foreground))) < 0 ||
	    (r = conf_result(&s, conf_bool(ini, "zeroconf", c.zeroconf, &s.zeroconf))) < 0 ||
	    (r = conf_string(ini, "pidfile", c.pidfile, &s.pidfile)) < 0 ||
	    (r = conf_result(&s, conf_duration(ini, "connection_timeout",
	                                       &s.connection_timeout_msec))) < 0 ||
	    (r = conf_result(&s, conf_duration(ini, "state_save_interval",
	                                       &s.state_save_interval_msec))) < 0) {
		server_settings_done(&s);
		return r;
	}
	r = conf_result(&s, conf_int(ini, "port", c.port, 0, 65535, &s.port));
	if (r == -EINVAL) {
		server_settings_done(&s);
		return usage_error("mandos", "argument -p/--port: invalid int value: '%s'", c.port);
	}
	if (r >= 0) {
		r = conf_result(&s, conf_int(ini, "socket", c.socket, 0, INT32_MAX, &s.socket_fd));
		if (r == -EINVAL) {
			server_settings_done(&s);
			return usage_error("mandos", "argument --socket: invalid int value: '%s'",
			                   c.socket);
		}
	}
	if (r >= 0) {
		r = conf_result(&s, conf_int(ini, "max_connections", NULL, 1, 1000000, &n));
		s.max_connections = n < 0 ? MAX_CONNECTIONS_DEFAULT : (unsigned)n;
	}
	/* §A.7.4's limits; an empty value means the default. */
	static const struct {
		const char *key;
		int64_t min, max;
		unsigned def;
		size_t off;
	} limits[] = {
	        {"source_rate", 0, 1000000, SOURCE_RATE_DEFAULT,
	         offsetof(ServerSettings, source_rate)},
	        {"source_burst", 1, 1000000, SOURCE_BURST_DEFAULT,
	         offsetof(ServerSettings, source_burst)},
	        {"source_connections", 1, 1000000, SOURCE_CONNECTIONS_DEFAULT,
	         offsetof(ServerSettings, source_connections)},
	        {"unauthenticated_connections", 1, 1000000, UNAUTHENTICATED_CONNECTIONS_DEFAULT,
	         offsetof(ServerSettings, unauthenticated_connections)},
	};
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(limits); i++) {
		n = -1;
		r = conf_result(&s, conf_int(ini, limits[i].key, NULL, limits[i].min,
		                             limits[i].max, &n));
		*(unsigned *)((char *)&s + limits[i].off) = n < 0 ? limits[i].def : (unsigned)n;
	}
	if (r >= 0) {
		r = conf_protocols(ini, c.protocols, &s);
		if (r == -EINVAL) {
			server_settings_done(&s);
			return usage_error("mandos", "argument --protocols: invalid value: '%s'",
			                   c.protocols);
		}
	}
	if (r >= 0) {
		r = conf_server_key(ini, c.server_key, &s);
	}
	if (r >= 0) {
		r = conf_result(&s, conf_fleet(ini, &s));
	}
	s.print_key_id = c.print_key_id;
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
	if (!s.zeroconf && !s.print_key_id && s.port < 0 && s.socket_fd < 0 &&
	    !getenv("LISTEN_FDS")) {
		if (s.check_config) {
			/* Not a usage error here: the file would stop the start. */
			log_error("%s: Needs port or socket to work without Zeroconf", path);
			s.config_problems++;
		} else {
			usage_error("mandos", "%s",
			            "Needs port or socket to work without Zeroconf");
			server_settings_done(&s);
			return -EINVAL;
		}
	}
	*ret = s;
	return 0;
}
