/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-client: the Mandos plugin that gets the disk password from a Mandos server. */
#include "client.h"

int main(int argc, char **argv)
{
	return client_main(argc, argv);
}
