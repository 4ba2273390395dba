/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Announce a _mandos._tcp service with the server's Zeroconf module until SIGTERM (for tests).
 * Usage: zeroconf-announce NAME PORT [INTERFACE|-] [inet|inet6] */
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <avahi-common/address.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "parse-util.h"
#include "zeroconf.h"

static void renamed(const char *name, void *userdata)
{
	printf("renamed %s\n", name);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	ZeroconfConfig cfg = {.ifindex = AVAHI_IF_UNSPEC, .protocol = AVAHI_PROTO_INET6};
	ZeroconfCallbacks cb = {.renamed = renamed};
	_cleanup_(zeroconf_freep) Zeroconf *z = NULL;
	sd_event *e = NULL;
	sigset_t ss;
	int r;

	log_open("zeroconf-announce: ", NULL, LOG_TARGET_STDERR, LOG_STDERR_LEVEL);
	log_set_max_level(LOG_DEBUG);
	if (argc < 3 || parse_port(argv[2], &cfg.port) < 0) {
		fprintf(stderr, "usage: zeroconf-announce NAME PORT [INTERFACE|-] [inet|inet6]\n");
		return 2;
	}
	cfg.name = argv[1];
	if (argc > 3 && strcmp(argv[3], "-") != 0) {
		cfg.ifindex = (int)if_nametoindex(argv[3]);
		if (cfg.ifindex == 0) {
			fprintf(stderr, "no interface %s\n", argv[3]);
			return 1;
		}
	}
	if (argc > 4 && strcmp(argv[4], "inet") == 0) {
		cfg.protocol = AVAHI_PROTO_INET;
	}
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	if (sd_event_default(&e) < 0 || sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL) < 0 ||
	    sd_event_add_signal(e, NULL, SIGINT, NULL, NULL) < 0) {
		return 1;
	}
	r = zeroconf_new(e, &cfg, &cb, &z);
	if (r < 0) {
		log_error_errno(r, "zeroconf_new: %m");
		return 1;
	}
	r = sd_event_loop(e);
	z = zeroconf_free(z);
	sd_event_unref(e);
	return r < 0 ? 1 : 0;
}
