/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Interface selection and bring-up for mandos-client, on top of netif.c's flag operations. */
#include "interfaces.h"

#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>

#include "log.h"
#include "macro.h"
#include "netif.h"
#include "privs.h"

static int strv_push(char ***v, const char *s)
{
	size_t n = 0;
	char **nv;

	while (*v && (*v)[n]) {
		n++;
	}
	nv = realloc(*v, (n + 2) * sizeof(char *));
	if (!nv) {
		return -ENOMEM;
	}
	*v = nv;
	nv[n] = strdup(s);
	nv[n + 1] = NULL;
	return nv[n] ? 0 : -ENOMEM;
}

static bool strv_contains(char **v, const char *s)
{
	for (; v && *v; v++) {
		if (strcmp(*v, s) == 0) {
			return true;
		}
	}
	return false;
}

static int ms_of(double seconds)
{
	double ms = seconds * 1000.0;

	return ms > 2147483647.0 ? 2147483647 : (int)ms;
}

/* Bring an interface up with the kernel's console messages held back. */
static int bring_up(Interfaces *ifs, const char *name)
{
	int r, old_level = -1;
	FILE *f;

	if (privs_raise() < 0) {
		return log_warning_errno(EPERM, "Failed to raise privileges to bring up %s", name);
	}
	f = fopen("/proc/sys/kernel/printk", "re");
	if (f) {
		if (fscanf(f, "%d", &old_level) != 1) {
			old_level = -1;
		}
		fclose(f);
	}
	if (old_level > 5) {
		(void)klogctl(8, NULL, 5);
	}
	r = netif_set_up(name, true);
	if (old_level > 5) {
		(void)klogctl(8, NULL, old_level);
	}
	(void)privs_lower();
	if (r < 0) {
		return log_warning_errno(r, "Failed to bring up interface \"%s\": %m", name);
	}
	log_debug("Brought up interface \"%s\"", name);
	return strv_push(&ifs->brought_up, name);
}

static void bring_up_if_down(Interfaces *ifs, const char *name)
{
	unsigned flags;

	if (netif_get_flags(name, &flags) == 0 && !(flags & IFF_UP)) {
		(void)bring_up(ifs, name);
	}
}

/* Wait until every interface in use is RUNNING, at most delay seconds, in 0.25 s steps. */
static void wait_running(const Interfaces *ifs, double delay, int sigfd)
{
	int waited = 0, limit = ms_of(delay);

	for (;;) {
		bool all = true;

		for (char **i = ifs->selected; i && *i; i++) {
			unsigned flags;

			if (netif_get_flags(*i, &flags) == 0 && !(flags & IFF_RUNNING)) {
				all = false;
			}
		}
		if (all || waited >= limit) {
			if (!all) {
				log_debug("Not every interface is running after %g s", delay);
			}
			return;
		}
		{
			struct pollfd p = {.fd = sigfd, .events = POLLIN};
			int step = MIN(250, limit - waited);

			if (poll(&p, sigfd >= 0 ? 1 : 0, step) > 0) {
				return;
			}
			waited += step;
		}
	}
}

int interfaces_setup(Interfaces *ifs, const InterfacesRequest *req, int sigfd)
{
	ifs->restricted = req->n_names > 0;
	for (size_t i = 0; i < req->n_names; i++) {
		const char *name = req->names[i];

		if (if_nametoindex(name) == 0) {
			log_warning("Not using nonexisting interface \"%s\"", name);
			continue;
		}
		if (strv_contains(ifs->selected, name)) {
			continue;
		}
		if (strv_push(&ifs->selected, name) < 0) {
			return log_oom();
		}
		if (i < req->n_bring_up) {
			bring_up_if_down(ifs, name);
		}
	}
	if (!ifs->selected && req->n_names == 0 && !req->saw_none) {
		int n = netif_autodetect(req->allow_point_to_point, &ifs->selected);

		if (n < 0) {
			return log_error_errno(n, "Failed to list network interfaces: %m");
		}
		if (n == 0) {
			log_error("Could not find a network interface");
			return -ENODEV;
		}
		for (char **i = ifs->selected; *i; i++) {
			bring_up_if_down(ifs, *i);
		}
	}
	if (ifs->selected && ifs->selected[0] && !ifs->selected[1]) {
		ifs->ifindex = (int)if_nametoindex(ifs->selected[0]);
		log_debug("Using only interface \"%s\"", ifs->selected[0]);
	}
	wait_running(ifs, req->delay, sigfd);
	return 0;
}

bool interfaces_allowed(const Interfaces *ifs, int ifindex)
{
	char name[IF_NAMESIZE];

	if (!ifs->selected || !ifs->restricted) {
		return true;
	}
	if (ifindex <= 0 || !if_indextoname((unsigned)ifindex, name)) {
		return false;
	}
	return strv_contains(ifs->selected, name);
}

void interfaces_done(Interfaces *ifs)
{
	for (char **i = ifs->brought_up; i && *i; i++) {
		int r;

		if (privs_raise() < 0) {
			log_warning("Failed to raise privileges to take down %s", *i);
			continue;
		}
		r = netif_set_up(*i, false);
		(void)privs_lower();
		if (r == -ENODEV) {
			log_debug("Interface \"%s\" is gone (removed by a hook?)", *i);
		} else if (r < 0) {
			log_warning_errno(r, "Failed to take down interface \"%s\": %m", *i);
		} else {
			log_debug("Took down interface \"%s\"", *i);
		}
	}
	strv_free(ifs->brought_up);
	strv_free(ifs->selected);
	*ifs = (Interfaces){0};
}
