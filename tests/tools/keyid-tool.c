/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Print the Mandos key ID of each key file named on the command line, for the tests. */
#include <stdio.h>
#include <string.h>

#include "keyid.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char id[KEYID_STRING_SIZE];
		int r = keyid_from_file(argv[i], id);

		if (r < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
			return 1;
		}
		printf("%s\n", id);
	}
	return 0;
}
