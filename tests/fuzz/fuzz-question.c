/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: password-agent's parser for systemd's ask.* question files. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "question.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *reason = NULL;
	Question *q = NULL;
	int r;

	r = question_parse("ask.fuzz", (const char *)data, size, &q, &reason);
	if (r == 0) {
		/* What the agent relies on after a successful parse. */
		if (!q || q->pid <= 0 || !q->socket_path[0] || strcmp(q->name, "ask.fuzz") != 0) {
			abort();
		}
	} else if (q || (r == -EBADMSG && !reason)) {
		abort();
	}
	question_free(q);
	return 0;
}
