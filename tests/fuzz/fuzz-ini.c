/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: parse arbitrary text as a config file, read every value, find unknown keys. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ini.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore_warning(const char *message, void *userdata)
{
	(void)message;
	(void)userdata;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const defaults[] = {"checker", "fping -q -- %%(host)s", "timeout",
	                                       "PT5M", NULL};
	static const char *const known[] = {"key_id", "secret", NULL};
	IniFile *ini = NULL;
	char *err = NULL;

	if (ini_parse_string("fuzz.conf", (const char *)data, size, defaults, &ini, &err) < 0) {
		free(err);
		return 0;
	}
	for (size_t s = 0; s <= ini_section_count(ini); s++) {
		const char *sec = s == 0 ? "DEFAULT" : ini_section_name(ini, s - 1);

		(void)ini_check_unknown_keys(ini, sec, known, ignore_warning, NULL);
		for (size_t k = 0; k < ini_key_count(ini, sec); k++) {
			char *v = NULL;
			bool b;

			err = NULL;
			if (ini_get(ini, sec, ini_key_name(ini, sec, k), &v, &err) == 0) {
				free(v);
			}
			free(err);
			err = NULL;
			(void)ini_get_bool(ini, sec, ini_key_name(ini, sec, k), &b, &err);
			free(err);
		}
	}
	ini_free(ini);
	return 0;
}
