/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Setup (keys, protocols, interfaces, Zeroconf), the event loop, output and cleanup. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "hooks.h"
#include "io-util.h"
#include "log.h"
#include "interfaces.h"
#include "macro.h"
#include "privs.h"

/* Upstream's exit status when no network interface can be used (not a sysexits code). */
#define EXIT_NO_INTERFACE 1

/* Largest decrypted secret (a LUKS passphrase or key file). */
#define PASSWORD_MAX (64 * 1024)

static const int quit_signals[] = {SIGTERM, SIGINT, SIGHUP};
static sigset_t blocked_signals;

/* Children (gpg started by GPGME, hooks) must not inherit our blocked signals. */
static void atfork_child(void)
{
	sigprocmask(SIG_UNBLOCK, &blocked_signals, NULL);
}

/* Stop the event loop with an error exit code. */
static void client_fail(Client *c, int exit_code)
{
	c->loop_error = exit_code;
	avahi_simple_poll_quit(c->simple_poll);
}

static void signal_cb(AvahiWatch *w, int fd, AvahiWatchEvent ev, void *userdata)
{
	Client *c = userdata;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		log_debug("Got signal %u", si.ssi_signo);
		c->quit_signal = (int)si.ssi_signo;
		avahi_simple_poll_quit(c->simple_poll);
	}
}

/* A signal that arrived while we were not in the event loop. */
static bool signal_pending(Client *c)
{
	struct signalfd_siginfo si;

	if (c->quit_signal) {
		return true;
	}
	if (read(c->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		c->quit_signal = (int)si.ssi_signo;
		return true;
	}
	return false;
}

static int setup_signals(Client *c)
{
	sigemptyset(&blocked_signals);
	for (size_t i = 0; i < ELEMENTSOF(quit_signals); i++) {
		struct sigaction old;

		/* A signal ignored by our parent stays ignored. */
		if (sigaction(quit_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) {
			continue;
		}
		sigaddset(&blocked_signals, quit_signals[i]);
	}
	if (sigprocmask(SIG_BLOCK, &blocked_signals, NULL) < 0) {
		return negative_errno();
	}
	if (pthread_atfork(NULL, NULL, atfork_child) != 0) {
		return -ENOMEM;
	}
	c->sigfd = signalfd(-1, &blocked_signals, SFD_CLOEXEC | SFD_NONBLOCK);
	return c->sigfd < 0 ? negative_errno() : 0;
}

/* Default key files installed root:root are given to the plugin user (Debian bug #633582). */
static void chown_default_file(const char *path, const char *deflt)
{
	if (strcmp(path, deflt) == 0) {
		privs_give_root_file(path);
	}
}

/*
 * The protocols to use (§A.8.1): --protocol, or 2,1 when protocol 2 has material (a seal
 * key) and 1 otherwise; never 1 with server pins; 1 only as a fallback with OpenPGP keys.
 * Returns 0 or an exit code.
 */
static int setup_protocols(Client *c)
{
	const Args *a = &c->args;
	int want[2] = {1, 0};
	size_t n_want = 1;
	bool material, openpgp;
	int r;

	r = p2setup_pins(&c->p2, a->server_pins, a->server_key_ids);
	if (r < 0) {
		return EX_USAGE;
	}
	if (a->n_protocols == 0 || client_has_protocol(a->protocols, a->n_protocols, 2)) {
		r = bindings_load(&c->escrow, a->escrow_dir,
		                  strcmp(a->escrow_dir, MC_DEFAULT_ESCROW_DIR) == 0);
		if (r < 0) {
			log_oom();
			return EX_OSERR;
		}
		r = p2setup_keys(&c->p2, a->tls_privkey, a->seal_key, a->seal_key_given,
		                 c->escrow.n_items > 0, (unsigned)client_ms_of(a->timeout));
		if (r == -ENOENT && a->n_protocols > 0) {
			log_error("No seal key %s: protocol 2 has nothing to ask for", a->seal_key);
		}
	}
	material = p2setup_ready(&c->p2);
	if (a->n_protocols > 0) {
		memcpy(want, a->protocols, sizeof(want));
		n_want = a->n_protocols;
	} else if (material) {
		want[0] = 2;
		want[1] = 1;
		n_want = 2;
	}
	openpgp = access(a->pubkey, F_OK) == 0 && access(a->seckey, F_OK) == 0;
	c->n_protocols = 0;
	for (size_t i = 0; i < n_want; i++) {
		if (want[i] == 2 && !material) {
			continue;
		}
		if (want[i] == 1 && !p1_built_in) {
			if (a->n_protocols > 0) {
				log_warning("This build (mandos-client-p2only) has no protocol 1");
			} else {
				log_debug("This build has no protocol 1");
			}
			continue;
		}
		if (want[i] == 1 && material && !openpgp) {
			log_debug("No OpenPGP keys (%s, %s): not using protocol 1", a->pubkey,
			          a->seckey);
			continue;
		}
		if (want[i] == 1 && c->p2.pins.configured) {
			/* A downgrade would undo the pins (§A.8.1). */
			log_warning("server pins configured: not using protocol 1");
			continue;
		}
		c->protocols[c->n_protocols++] = want[i];
	}
	if (c->n_protocols == 0 && !p1_built_in) {
		log_error(
		        "No protocol left to use: protocol 2 needs a seal key (%s) or an escrow "
		        "binding (%s/escrow-*.conf), and this build (mandos-client-p2only) has no "
		        "protocol 1",
		        a->seal_key, a->escrow_dir);
		return EX_UNAVAILABLE;
	}
	if (c->n_protocols == 0) {
		log_error("No protocol left to use: protocol 2 needs a seal key (%s) or an escrow "
		          "binding (%s/escrow-*.conf), protocol 1 OpenPGP keys and no server pins",
		          a->seal_key, a->escrow_dir);
		return EX_UNAVAILABLE;
	}
	return 0;
}

static char *join_interfaces(char **list)
{
	size_t n = 1;
	char *s;

	for (char **i = list; i && *i; i++) {
		n += strlen(*i) + 1;
	}
	s = calloc(1, n);
	if (!s) {
		return NULL;
	}
	for (char **i = list; i && *i; i++) {
		if (*s) {
			strcat(s, ",");
		}
		strcat(s, *i);
	}
	return s;
}

static int setup_interfaces(Client *c)
{
	const Args *a = &c->args;
	InterfacesRequest req = {
	        .names = a->interfaces,
	        .n_names = a->n_interfaces,
	        .n_bring_up = a->n_bring_up,
	        .saw_none = a->saw_none,
	        .allow_point_to_point = a->n_connect > 0,
	        .delay = a->delay,
	};

	return interfaces_setup(&c->ifs, &req, c->sigfd);
}

/*
 * Add the n servers of list (--connect, --server or share address hints).  A link-local
 * address without an interface is an error (-ENODEV, -EINVAL), or with hints only a warning.
 */
static int add_targets(Client *c, ConnectTarget *list, size_t n, bool hints)
{
	for (size_t i = 0; i < n; i++) {
		ConnectTarget *t = &list[i];
		int ifindex = 0, r;

		if (t->family == AF_INET6 && t->link_local) {
			if (t->ifname[0]) {
				ifindex = (int)if_nametoindex(t->ifname);
				if (ifindex == 0 && hints) {
					log_warning("No interface \"%s\" for %s; not used",
					            t->ifname, t->text);
					continue;
				}
				if (ifindex == 0) {
					log_error("No interface \"%s\" for %s", t->ifname, t->text);
					return -ENODEV;
				}
			} else if (c->ifs.ifindex > 0) {
				ifindex = c->ifs.ifindex;
			} else if (hints) {
				log_warning("An IPv6 link-local address is incomplete without a "
				            "network interface: %s; not used",
				            t->text);
				continue;
			} else {
				log_error("An IPv6 link-local address is incomplete without a "
				          "network interface: %s",
				          t->text);
				return -EINVAL;
			}
			((struct sockaddr_in6 *)&t->addr)->sin6_scope_id = (uint32_t)ifindex;
		}
		r = client_add_server(c, t->text, (struct sockaddr *)&t->addr, t->addr_len, ifindex,
		                      false, 0);
		if (r < 0) {
			return log_oom();
		}
	}
	return 0;
}

/* Servers known without Zeroconf: --server and the share address hints. */
static size_t n_static_servers(const Client *c)
{
	return c->args.n_servers + c->n_hints;
}

static void zeroconf_found(const ZeroconfService *svc, void *userdata)
{
	Client *c = userdata;

	if (!interfaces_allowed(&c->ifs, svc->ifindex)) {
		log_debug("Ignoring Mandos server \"%s\" on interface %d", svc->name, svc->ifindex);
		return;
	}
	log_debug("Mandos server %s found on interface %d%s%s%s", svc->label, svc->ifindex,
	          zeroconf_txt_get(svc->txt, "proto") ? " (TXT proto=" : "",
	          zeroconf_txt_get(svc->txt, "proto") ?: "",
	          zeroconf_txt_get(svc->txt, "proto") ? ")" : "");
	if (client_add_server(c, svc->label, svc->addr, svc->addr_len, svc->ifindex, true,
	                      zeroconf_txt_protocols(svc->txt)) < 0) {
		log_oom();
	}
}

static void zeroconf_failed(void *userdata)
{
	Client *c = userdata;

	/* --server and the share addresses still have their chance. */
	if (n_static_servers(c) == 0) {
		client_fail(c, EX_UNAVAILABLE);
	}
}

static int start_zeroconf(Client *c)
{
	const ZeroconfBrowserCallbacks cb = {
	        .found = zeroconf_found,
	        .failed = zeroconf_failed,
	        .userdata = c,
	};
	int r = zeroconf_browser_new(c->api, c->ifs.ifindex, &cb, &c->zeroconf);

	if (r == -ENOMEM) {
		log_oom();
	}
	return r;
}

static int write_password(Client *c)
{
	int r = loop_write(STDOUT_FILENO, c->password->data, c->password->len);

	if (r < 0) {
		/* Maybe a part was written: let plugin-runner start us again. */
		log_error_errno(r, "Failed to write the password: %m");
		return EX_TEMPFAIL;
	}
	return EX_OK;
}

static void client_cleanup(Client *c)
{
	HookEnv env = {0};
	_cleanup_free_ char *device = NULL;

	c->zeroconf = zeroconf_browser_free(c->zeroconf);
	client_servers_free(c);
	if (c->sigwatch) {
		c->api->watch_free(c->sigwatch);
	}
	if (c->hooks_started) {
		device = join_interfaces(c->args.interfaces);
		env = (HookEnv){.device = device ? device : "",
		                .connect = c->args.n_connect ? c->args.connect[0].text : NULL,
		                .delay = c->args.delay,
		                .debug = c->args.debug};
		(void)hooks_run(c->args.hook_dir, "stop", &env, -1);
	}
	interfaces_done(&c->ifs);
	p2setup_done(&c->p2);
	bindings_done(&c->escrow);
	connect_targets_free(c->hints, c->n_hints);
	c->password = secbuf_free(c->password);
	if (c->simple_poll) {
		avahi_simple_poll_free(c->simple_poll);
	}
	safe_close(c->sigfd);
	args_done(&c->args);
	p1_done(c);
}

static int client_setup_and_run(Client *c)
{
	_cleanup_free_ char *device = NULL;
	HookEnv env;
	int r;

	r = setup_signals(c);
	if (r < 0) {
		log_error_errno(r, "Failed to set up signals: %m");
		return EX_OSERR;
	}
	r = p1_init(c->args.debug);
	if (r != 0) {
		return r;
	}
	c->password = secbuf_new(256, PASSWORD_MAX);
	if (!c->password) {
		log_oom();
		return EX_OSERR;
	}
	chown_default_file(c->args.pubkey, MC_DEFAULT_PUBKEY);
	chown_default_file(c->args.seckey, MC_DEFAULT_SECKEY);
	chown_default_file(c->args.tls_pubkey, MC_DEFAULT_TLS_PUBKEY);
	chown_default_file(c->args.tls_privkey, MC_DEFAULT_TLS_PRIVKEY);
	chown_default_file(c->args.seal_key, MC_DEFAULT_SEAL_KEY);
	if (!c->args.dh_params_given) {
		chown_default_file(c->args.dh_params, MC_DEFAULT_DH_PARAMS);
	}
	r = setup_protocols(c);
	if (r != 0) {
		return r;
	}
	r = p1_setup(c);
	if (r != 0) {
		return r;
	}
	if (signal_pending(c)) {
		return EX_OK;
	}

	device = join_interfaces(c->args.interfaces);
	if (!device) {
		log_oom();
		return EX_OSERR;
	}
	env = (HookEnv){.device = device,
	                .connect = c->args.n_connect ? c->args.connect[0].text : NULL,
	                .delay = c->args.delay,
	                .debug = c->args.debug};
	c->hooks_started = true;
	r = hooks_run(c->args.hook_dir, "start", &env, c->sigfd);
	if (r == -EINTR || signal_pending(c)) {
		if (r == -EINTR && !c->quit_signal) {
			(void)signal_pending(c);
		}
		return EX_OK;
	}

	r = setup_interfaces(c);
	if (r == -ENODEV) {
		return EXIT_NO_INTERFACE;
	}
	if (r < 0) {
		return EX_OSERR;
	}
	if (signal_pending(c)) {
		return EX_OK;
	}

	c->simple_poll = avahi_simple_poll_new();
	if (!c->simple_poll) {
		log_oom();
		return EX_OSERR;
	}
	c->api = avahi_simple_poll_get(c->simple_poll);
	c->sigwatch = c->api->watch_new(c->api, c->sigfd, AVAHI_WATCH_IN, signal_cb, c);
	if (!c->sigwatch) {
		log_oom();
		return EX_OSERR;
	}
	if (c->args.n_connect > 0) {
		r = add_targets(c, c->args.connect, c->args.n_connect, false);
		if (r < 0) {
			return r == -ENOMEM ? EX_OSERR : EX_USAGE;
		}
	} else {
		/* §B.4.3 step 1: Zeroconf's servers, every --server, every share address. */
		r = bindings_address_targets(&c->escrow, &c->hints, &c->n_hints);
		if (r < 0) {
			log_oom();
			return EX_OSERR;
		}
		r = start_zeroconf(c);
		if (r < 0 && n_static_servers(c) == 0) {
			return EX_UNAVAILABLE;
		}
		r = add_targets(c, c->args.servers, c->args.n_servers, false);
		if (r >= 0) {
			r = add_targets(c, c->hints, c->n_hints, true);
		}
		if (r < 0) {
			return r == -ENOMEM ? EX_OSERR : EX_USAGE;
		}
	}
	if (!c->have_password) {
		r = avahi_simple_poll_loop(c->simple_poll);
		if (r < 0 && !c->quit_signal && !c->have_password) {
			log_error("The event loop failed");
			return EX_OSERR;
		}
	}
	if (c->quit_signal && !c->have_password) {
		return EX_OK;
	}
	if (c->have_password) {
		return write_password(c);
	}
	return c->loop_error ? c->loop_error : EX_SOFTWARE;
}

int client_main(int argc, char **argv)
{
	Client c = {.sigfd = -EBADF};
	int r, sig;

	log_open("Mandos plugin mandos-client: ", NULL, LOG_TARGET_STDERR, 0);
	if (secmem_init() < 0) {
		return EX_OSERR;
	}
	/* §A.2.3: before touching any key or socket. */
	if (p2_check_sizes() < 0) {
		log_error("libsodium size assumptions do not hold");
		return EX_SOFTWARE;
	}
	(void)secmem_harden_process();
	r = privs_init();
	if (r < 0) {
		log_warning_errno(r, "Failed to lower privileges: %m");
	}
	r = args_parse(&c.args, argc, argv);
	if (r != 0) {
		args_done(&c.args);
		return r;
	}
	log_set_max_level(c.args.debug ? LOG_DEBUG : LOG_WARNING);

	r = client_setup_and_run(&c);
	client_cleanup(&c);
	(void)privs_drop();
	sig = c.quit_signal;
	if (sig && !(r == EX_OK && c.have_password)) {
		struct sigaction sa = {.sa_handler = SIG_DFL};
		sigset_t s;

		log_debug("Exiting by signal %d", sig);
		sigaction(sig, &sa, NULL);
		sigemptyset(&s);
		sigaddset(&s, sig);
		raise(sig);
		sigprocmask(SIG_UNBLOCK, &s, NULL);
		/* Not reached unless the signal could not kill us. */
		return EX_SOFTWARE;
	}
	if (r == EX_OK && !c.have_password) {
		/* Never claim success without a password. */
		return EX_SOFTWARE;
	}
	return r;
}
