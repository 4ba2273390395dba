/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 1 left out: mandos-client-p2only, with neither GnuTLS nor GPGME. */
#include "p1.h"

#include <errno.h>

#include "client.h"

const bool p1_built_in = false;

int p1_check_priority(const char *priority)
{
	/* Only protocol 1 uses it. */
	return 0;
}

int p1_init(bool debug)
{
	return 0;
}

int p1_setup(Client *c)
{
	/* setup_protocols() never keeps protocol 1 in this build. */
	client_drop_protocol(c, 1);
	return 0;
}

bool p1_ready(Client *c)
{
	client_drop_protocol(c, 1);
	return false;
}

int p1_start(Server *s)
{
	return -EPROTONOSUPPORT;
}

void p1_stop(Server *s)
{
}

void p1_done(Client *c)
{
}
