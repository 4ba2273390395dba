/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The console lines of spec/protocol-2.md §A.4.3 for a server's RESULT and STATUS messages. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"

/* Room for the longest line: fixed words, numbers, and 200 bytes of server text. */
#define P2LINE_MAX 320

typedef struct P2Line {
	/* What the line reports, without the changing numbers ("result 6/1", "status 1/0"):
	 * a line is printed again only when this changes (§A.4.3, once per change of state). */
	char state[32];
	/* The line after "server S: ", with "(unauthenticated) " first when the server is not
	 * pinned. */
	char text[P2LINE_MAX];
	/* The second line after "server S: " (server says "TEXT"), or "" if the text is empty
	 * or already part of text. */
	char detail[P2LINE_MAX];
} P2Line;

/*
 * The lines for a refusal (any RESULT code but OK; for OK, text is "" and state "result 0").
 * own_key_id is the client's key id (64 hex), printed for UNKNOWN_CLIENT.
 */
void p2line_result(const P2Result *res, bool pinned, const char *own_key_id, P2Line *ret);

/* The lines for a STATUS. */
void p2line_status(const P2Status *st, bool pinned, P2Line *ret);

/* A TRY_LATER's value clamped into 1 … 86 400 s, as a client must (§A.4.3). */
uint32_t p2line_try_later_seconds(uint32_t value);
