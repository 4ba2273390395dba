/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Dump a config file as "[section] key=value" lines after interpolation, or print its error. */
#include <stdio.h>
#include <string.h>

#include "ini.h"

int main(int argc, char **argv)
{
	_cleanup_ini_free_ IniFile *ini = NULL;
	char *err = NULL;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: ini-tool FILE\n");
		return 2;
	}
	r = ini_parse_file(argv[1], NULL, NULL, &ini, &err);
	if (r < 0) {
		fprintf(stderr, "%s\n", err ? err : strerror(-r));
		free(err);
		return 1;
	}
	for (size_t s = 0; s <= ini_section_count(ini); s++) {
		const char *sec = s == 0 ? "DEFAULT" : ini_section_name(ini, s - 1);

		for (size_t k = 0; k < ini_key_count(ini, sec); k++) {
			const char *key = ini_key_name(ini, sec, k);
			char *v = NULL;

			r = ini_get(ini, sec, key, &v, &err);
			if (r < 0) {
				fprintf(stderr, "%s\n", err ? err : strerror(-r));
				free(err);
				return 1;
			}
			printf("[%s] %s=%s\n", sec, key, v);
			free(v);
		}
	}
	return 0;
}
