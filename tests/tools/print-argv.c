/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A test plugin that prints each of its arguments, argv[0] included, on a line of its own. */
#include <stdio.h>

int main(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		printf("%s\n", argv[i]);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
