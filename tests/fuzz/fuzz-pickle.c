/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: read arbitrary bytes as upstream's clients.pickle, then import them. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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
	static char path[] = "/tmp/fuzz-pickle-XXXXXX";
	static int fd = -1;
	PickleValue *v = NULL;
	char *err = NULL;
	size_t n = 0;

	if (fd < 0) {
		log_set_max_level(LOG_CRIT);
		fd = mkstemp(path);
		if (fd < 0) {
			abort();
		}
		unlink(path);
	}
	/* The reader alone, from memory. */
	if (pickle_parse(data, size, NULL, &v, &err) == 0) {
		pickle_value_unref(v);
	}
	free(err);
	err = NULL;
	/* The import, from a file, as the server does it. */
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size) {
		abort();
	}
	{
		char proc[64];

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		(void)upstream_state_read(proc, count, &n, &err);
		free(err);
	}
	return 0;
}
