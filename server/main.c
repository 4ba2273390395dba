/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos: the Mandos server.  Only the start-up sequence lives here; the logic is in libserver. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "announce.h"
#include "audit.h"
#include "config.h"
#include "dbus.h"
#include "fleet.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "process.h"
#include "secmem.h"
#include "selfcheck.h"
#include "server-key.h"

static void setup_logging(const ServerSettings *s, bool started)
{
	static char ident[300];
	int level = LOG_WARNING;
	int targets = LOG_TARGET_SYSLOG;

	if (strcmp(s->servicename, "Mandos") == 0) {
		snprintf(ident, sizeof(ident), "Mandos");
	} else {
		snprintf(ident, sizeof(ident), "Mandos (%s)", s->servicename);
	}
	if (s->debug) {
		level = LOG_DEBUG;
	} else if (*s->debuglevel) {
		level = log_level_from_string(s->debuglevel);
	}
	/* Until the start is reported, errors also go to the terminal that started us. */
	if (s->debug || !started) {
		targets |= LOG_TARGET_STDERR;
	}
	log_open("mandos", ident, targets, LOG_STDERR_TIME | LOG_STDERR_PID | LOG_STDERR_LEVEL);
	log_set_max_level(level);
}

/*
 * --check-config: mandos.conf's problems were logged and counted while it was read; now
 * clients.conf's.  Returns the exit status: 0 when there was none, EX_CONFIG otherwise.
 */
static int check_config(const ServerSettings *s)
{
	_cleanup_(secret_store_freep) SecretStore *store = secret_store_new();
	_cleanup_free_ char *path = NULL;
	int n;

	if (!store || asprintf(&path, "%s/clients.conf", s->configdir) < 0) {
		log_oom();
		return EXIT_FAILURE;
	}
	n = clients_config_check(path, store);
	if (n == -ENOENT) {
		log_warning("%s: No such file: No clients defined", path);
		n = 1;
	} else if (n < 0) {
		log_error_errno(n, "Cannot read %s: %m", path);
		n = 1;
	}
	return s->config_problems == 0 && n == 0 ? EXIT_SUCCESS : EX_CONFIG;
}

/*
 * The start-up order follows upstream (spec 2.9), except that clients.conf and secfiles are
 * read before the privilege drop and the daemon forks first (see daemon_start()).
 */
static int run(int argc, char **argv)
{
	_cleanup_(manager_freep) Manager *m = NULL;
	MandosDbus *dbus = NULL;
	Zeroconf *zc = NULL;
	_cleanup_free_ char *pidfile_path = NULL;
	ServerSettings settings = {0};
	int report_fd = -1, pid_fd = -1, r, code = EXIT_FAILURE;
	RunUser user;

	log_open("mandos: ", NULL, LOG_TARGET_STDERR, 0);
	if (secmem_init() < 0) {
		log_error("Cannot initialise libsodium");
		return EX_SOFTWARE;
	}
	r = server_settings_parse(argc, argv, &settings);
	if (r == 1) {
		return EXIT_SUCCESS;
	}
	if (r == -EINVAL) {
		return 2; /* argparse's usage error */
	}
	if (r < 0) {
		return r == -EBADMSG ? EX_CONFIG : EXIT_FAILURE;
	}
	if (settings.print_key_id) {
		code = server_key_print_id(&settings);
		goto out;
	}
	if (settings.check) {
		code = selfcheck_run();
		goto out;
	}
	if (settings.check_config) {
		code = check_config(&settings);
		goto out;
	}
	setup_logging(&settings, false);
	if (settings.config_warnings) {
		log_warning("%s", settings.config_warnings); /* one line each */
	}
	if (!settings.foreground) {
		report_fd = daemon_start();
		if (report_fd < 0) {
			log_error_errno(report_fd, "Cannot become a daemon: %m");
			goto out;
		}
	}
	(void)secmem_harden_process();

	r = manager_new(&settings, &m);
	if (r < 0) {
		code = r == -EINVAL ? EX_CONFIG : EXIT_FAILURE;
		goto out;
	}
	r = manager_load_config(m);
	if (r < 0) {
		code = r == -EBADMSG ? EX_CONFIG : EXIT_FAILURE;
		goto out;
	}
	/* Before the privilege drop: the log may be in a directory only root can write. */
	r = audit_open(&settings);
	if (r < 0) {
		code = r == -ENOMEM ? EXIT_FAILURE : EX_CANTCREAT;
		goto out;
	}
	{
		/* Like clients.conf, the key is read before the privilege drop. */
		P2Identity *id = NULL;
		unsigned protocols = server_key_setup(&settings, &id);

		manager_set_protocols(m, protocols, id);
	}
	/* Before the port opens: a TERM that comes as soon as it accepts stays pending for the
	 * event loop, instead of killing the server before it can save its state. */
	manager_block_signals();
	r = manager_open_listener(m);
	if (r < 0) {
		code = EX_OSERR;
		goto out;
	}
	/* As the main port: bound while privileged (a root-owned socket directory). */
	r = metrics_listen(&settings);
	if (r < 0) {
		code = EX_OSERR;
		goto out;
	}
	if (!settings.foreground) {
		pid_fd = pidfile_open(settings.pidfile, &pidfile_path);
	}
	user = run_user_find();
	(void)statedir_prepare(settings.statedir, user);
	r = run_user_drop(user);
	if (r < 0) {
		code = EX_OSERR;
		goto out;
	}
	if (settings.debug) {
		/* Checkers get /dev/null as stdin. */
		FILE *f = freopen("/dev/null", "r", stdin);
		(void)f;
	}
	r = manager_setup_loop(m);
	if (r < 0) {
		goto out;
	}
	r = metrics_start(m);
	if (r < 0) {
		goto out;
	}
	if (settings.state_etcd) {
		r = fleet_new(m, &m->fleet);
		if (r < 0) {
			goto out;
		}
	}
	if (settings.use_dbus) {
		(void)mandos_dbus_new(m, &dbus); /* failure: logged, go on without */
	}
	r = manager_restore_state(m);
	if (r < 0) {
		goto out;
	}
	if (pid_fd >= 0) {
		(void)pidfile_write(pid_fd);
		pid_fd = -1;
	}
	r = manager_start(m);
	if (r < 0) {
		goto out;
	}
	/* With etcd down it starts all the same, and serves once the shared state is read. */
	r = fleet_start(m->fleet);
	if (r < 0) {
		goto out;
	}
	daemon_report(report_fd, 0);
	report_fd = -1;
	setup_logging(&settings, true);
	if (server_announce_start(m, &zc) < 0) {
		code = 1;
		goto out;
	}
	code = manager_run(m);
	if (pidfile_path) {
		(void)unlink(pidfile_path); /* works only where the server user may */
	}
out:
	if (pid_fd >= 0) {
		close(pid_fd);
	}
	daemon_report(report_fd, code);
	zc = zeroconf_free(zc);
	mandos_dbus_shutdown(dbus);
	metrics_stop();
	m = manager_free(m);
	dbus = mandos_dbus_free(dbus);
	audit_close(); /* after the connections: a request cut short by the exit is recorded */
	server_settings_done(&settings);
	return code;
}

int main(int argc, char **argv)
{
	return run(argc, argv);
}
