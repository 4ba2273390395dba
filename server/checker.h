/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Checker commands: runtime %(name)s expansion with shell quoting, and /bin/sh process groups. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "macro.h"

/*
 * Value of a runtime expansion name, unquoted, as a malloc()ed string; NULL with errno ENOENT
 * for a name that is not allowed, or ENOMEM.
 */
typedef char *(*checker_lookup_t)(const char *name, void *userdata);

/*
 * Expand "%(name)s" (the file's "%%(name)s" after start-time expansion) and "%%" in a checker
 * command, as Python's "cmd % dict": each value shell-quoted (shell_quote()).  Returns 0 with
 * a malloc()ed *ret; -EINVAL for any other "%" use (upstream: "Could not format string");
 * -ENOENT for an unknown name (*ret_bad_name, when not NULL, is set to a malloc()ed copy);
 * -ENOMEM.
 */
int checker_expand(const char *command, checker_lookup_t lookup, void *userdata, char **ret,
                   char **ret_bad_name);

typedef struct Checker Checker;

/*
 * Called once when the checker's shell exits: exitcode 0..255, or -1 and the signal when it
 * was killed; waitstatus as the kernel reports it.  The Checker is freed after the call.
 */
typedef void (*checker_done_t)(Checker *ch, int exitcode, int signal, int64_t waitstatus,
                               void *userdata);

/*
 * Run `/bin/sh -c command` in its own process group, in "/", stdin from /dev/null, stdout
 * and stderr inherited or (output_to_null) /dev/null, every other fd closed (all ours are
 * CLOEXEC), default signal mask and dispositions.  SIGCHLD must be blocked (sd-event child
 * sources).  Returns 0 and *ret, or -errno.
 */
int checker_spawn(sd_event *e, const char *command, bool output_to_null, checker_done_t done,
                  void *userdata, Checker **ret);

/*
 * Stop a checker: SIGTERM to its whole process group (so a hung grandchild dies too), and
 * SIGKILL to the group if the shell has not exited 5 s later.  The done callback is never
 * called afterwards; the Checker frees itself once the shell is reaped.  Accepts NULL.
 */
void checker_stop(Checker *ch);

/*
 * Free the bookkeeping of stopped checkers not yet reaped (at exit, before the event loop is
 * freed; the processes have been signalled already).
 */
void checker_forget_stopped(void);

/* The expanded command this checker runs. */
const char *checker_command(const Checker *ch);
int checker_pid(const Checker *ch);
