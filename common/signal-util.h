/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Ending the way a signal asked, so that the parent sees that signal as the cause. */
#pragma once

#include <signal.h>
#include <unistd.h>

#include "macro.h"

/*
 * Die by sig: its default action, unblocked, raised.  The _exit() is only reached when sig's
 * default action does not end the process.
 */
_noreturn_ static inline void die_by_signal(int sig)
{
	sigset_t mask;

	(void)signal(sig, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, sig);
	(void)sigprocmask(SIG_UNBLOCK, &mask, NULL);
	(void)raise(sig);
	_exit(128 + sig);
}
