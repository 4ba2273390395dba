/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-ctl: control or query the Mandos server (the logic is in ctl.c). */
#include "ctl.h"

int main(int argc, char **argv)
{
	return ctl_main(argc, argv);
}
