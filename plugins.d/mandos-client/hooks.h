/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Network hooks: executables run as root before interface selection ("start") and at exit ("stop").
 */
#pragma once

#include <stdbool.h>

typedef struct HookEnv {
	const char *device;  /* DEVICE: the --interface list as given, comma-joined ("" if none) */
	const char *connect; /* CONNECT: the --connect value, or NULL (then not set) */
	double delay;        /* DELAY */
	bool debug;          /* VERBOSITY=1 */
} HookEnv;

/* Whether a file name is one a hook may have: only A-Z a-z 0-9 _ . - (and not empty). */
bool hook_name_valid(const char *name);

/*
 * Run every hook in `dir` in alphabetical order, one at a time, each waited for: as root,
 * argv = {NAME, MODE}, environment MANDOSNETHOOKDIR, DEVICE, MODE, VERBOSITY, DELAY and
 * CONNECT on top of ours.  A missing dir is not an error.  A hook that fails is reported and
 * the others still run.  Returns 0, -EINTR if a signal arrived on `sigfd` (the running hook
 * is stopped and no more are started), or -errno if the directory can't be read.
 */
int hooks_run(const char *dir, const char *mode, const HookEnv *env, int sigfd);
