/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: read arbitrary bytes as upstream's clients.pickle, then import them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz-file.h"
#include "log.h"
#include "pickle.h"
#include "upstream-state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(SavedClient *sc, void *userdata)
{
	(*(size_t *)userdata)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	PickleValue *v = NULL;
	char *err = NULL;
	size_t n = 0;

	log_set_max_level(LOG_CRIT);
	/* The reader alone, from memory. */
	if (pickle_parse(data, size, NULL, &v, &err) == 0) {
		pickle_value_unref(v);
	}
	free(err);
	err = NULL;
	/* The import, from a file, as the server does it. */
	(void)upstream_state_read(fuzz_input_file(data, size), count, &n, &err);
	free(err);
	return 0;
}
