/* SPDX-License-Identifier: GPL-3.0-or-later */
/* password-agent: answers systemd password questions with the Mandos client's password. */
#include <signal.h>
#include <stdlib.h>
#include <sysexits.h>

#include "agent.h"
#include "args.h"
#include "io-util.h"
#include "log.h"
#include "secmem.h"
#include "selftest.h"

int main(int argc, char **argv)
{
	Args args;
	int r, sig = 0;

	log_open("password-agent: ", NULL, LOG_TARGET_STDERR, 0);
	args_parse(argc, argv, &args);

	r = fd_ensure_stdio();
	if (r < 0) {
		return EX_OSERR;
	}
	if (secmem_init() < 0) {
		log_error("Failed to initialise libsodium");
		return EX_OSERR;
	}
	r = secmem_harden_process();
	if (r < 0) {
		log_warning_errno(r, "Failed to disable core dumps: %m");
	}

	/* A closed stderr must not kill us; the client gets SIG_DFL back before exec. */
	signal(SIGPIPE, SIG_IGN);

	if (args.test) {
		return selftest_run();
	}

	r = agent_run(&args.cfg, &sig);
	if (sig > 0) {
		/* Die of the signal that stopped us, as the service manager expects. */
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, sig);
		signal(sig, SIG_DFL);
		raise(sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
	return r;
}
