/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: runtime %(name)s expansion of an arbitrary checker command. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *lookup(const char *name, void *userdata)
{
	if (strcmp(name, "host") == 0) {
		return strdup("a host's name");
	}
	if (strcmp(name, "name") == 0) {
		return strdup("");
	}
	errno = ENOENT;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size), *out = NULL, *bad = NULL;

	if (!s) {
		return 0;
	}
	if (checker_expand(s, lookup, NULL, &out, &bad) == 0) {
		free(out);
	}
	free(bad);
	free(s);
	return 0;
}
