/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: read arbitrary bytes as the server's state file. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz-file.h"
#include "log.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(SavedClient *sc, void *userdata)
{
	(*(size_t *)userdata)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0;

	log_set_max_level(LOG_CRIT);
	(void)state_read(fuzz_input_file(data, size), count, &n);
	return 0;
}
