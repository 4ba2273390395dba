/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-client's network interfaces: selection, bring-up with raised privileges, take-down. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* What the command line asks for (see mandos-client(8mandos), --interface). */
typedef struct InterfacesRequest {
	char *const *names; /* --interface names except "none", in order */
	size_t n_names;
	size_t n_bring_up;         /* how many of names come before the first "none" */
	bool saw_none;             /* "none" given: no autodetection */
	bool allow_point_to_point; /* autodetection may pick point-to-point links (--connect) */
	double delay;              /* longest wait for the interfaces to be RUNNING, seconds */
} InterfacesRequest;

typedef struct Interfaces {
	char **selected;   /* interfaces in use (existing ones), NULL-terminated, or NULL */
	char **brought_up; /* the ones we brought up, to take down at exit */
	int ifindex;       /* the only interface in use, or 0 */
	bool restricted;   /* names were given: servers seen elsewhere are not used */
} Interfaces;

/*
 * Select the interfaces (the named ones that exist, or autodetected ones when no name and no
 * "none" was given), bring up those that are down (the named ones only up to the first
 * "none"), with privileges raised and the kernel's console messages held back, then wait
 * until every selected one is RUNNING, at most req->delay seconds.  The wait ends early when
 * sigfd (a signalfd, or -1) becomes readable; the signal is left unread for the caller.
 * Failures to bring one up are logged and not fatal.  Returns 0, -ENODEV (autodetection
 * found nothing; logged), -ENOMEM, or -errno (logged).  ifs must be zeroed before.
 */
int interfaces_setup(Interfaces *ifs, const InterfacesRequest *req, int sigfd);

/* Whether a server seen on interface ifindex (0: unknown) may be used. */
bool interfaces_allowed(const Interfaces *ifs, int ifindex);

/* Take down every interface we brought up (errors logged), and free everything. */
void interfaces_done(Interfaces *ifs);
