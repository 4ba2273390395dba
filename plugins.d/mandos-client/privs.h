/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Privileges of a setuid-root plugin run by an unprivileged user: lower, raise, drop, run as root.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/*
 * Remember the real uid and gid, set every gid to the real gid and the effective uid to the
 * real uid (the saved uid stays 0 so privs_raise() works).  Returns 0 or -errno.
 */
int privs_init(void);

/* Effective uid 0 / back to the real uid.  Return 0 or -errno (not setuid: -EPERM). */
int privs_raise(void);
int privs_lower(void);

/* Give up root for good: every uid becomes the real uid.  Returns 0 or -errno. */
int privs_drop(void);

/*
 * A regular file owned by root:root given to the real user (with privileges raised for the
 * chown), so that the lowered process can read it: the key files the initramfs holds as root
 * (Debian bug #633582).  Nothing happens when we run as root or the file is not root's;
 * failures are only logged at debug level.
 */
void privs_give_root_file(const char *path);

uid_t privs_uid(void);
gid_t privs_gid(void);

/*
 * Run a program as root (uid 0, gid 0, no supplementary groups, if we can; as ourselves
 * otherwise), with stdin from /dev/null, stdout to our stderr, the signal mask cleared, and
 * `env` (NULL-terminated "NAME=value" strings) set on top of our environment.  Waits for it,
 * while watching `sigfd` (a signalfd, or -1): if a signal arrives the program is sent SIGTERM,
 * reaped, and -EINTR returned.  Returns the wait status (>= 0) or -errno.
 */
int run_as_root(const char *path, const char *const argv[], char *const env[], int sigfd);
