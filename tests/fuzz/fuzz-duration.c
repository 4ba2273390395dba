/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: every duration parser, and RFC 3339 formatting read back exactly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[DURATION_STRING_MAX];
	uint64_t v, back;
	int legacy;

	if (!s) {
		return 0;
	}
	memcpy(s, data, size);
	s[size] = '\0';
	if (duration_parse(s, &v) == 0) {
		duration_format_python(v, buf, sizeof(buf));
		duration_format_ctl(v, buf, sizeof(buf));
		duration_format_rfc3339(v, buf, sizeof(buf));
		if (duration_parse_rfc3339(buf, &back) != 0 || back != v / 1000 * 1000) {
			abort();
		}
	}
	(void)duration_parse_ctl(s, &v, &legacy);
	free(s);
	return 0;
}
