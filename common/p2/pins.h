/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The client's server-pins file and --server-key-id values (§A.3.4, §A.9.3). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2.h"

#define P2_PINS_MAX 256
#define P2_PINS_FILE_MAX 65536

typedef struct P2Pins {
	/* True once a pins file was read (even one with only invalid lines) or an id was added:
	 * then every server must match one of ids (fail closed). */
	bool configured;
	size_t n;
	uint8_t ids[P2_PINS_MAX][P2_KEY_ID_LEN];
} P2Pins;

/*
 * Called for each line that is not a valid pin (1-based line number, static reason).  The
 * line matches nothing; parsing goes on.
 */
typedef void (*P2PinsBadLine)(unsigned line, const char *why, void *userdata);

/*
 * Parse pins text: one key id per line (case and spaces ignored), '#' starts a comment (whole
 * line or after the id), blank lines ignored.  Sets pins->configured.  Duplicates are kept
 * once.  Returns 0, or -E2BIG past P2_PINS_MAX ids (the extra ones are reported as bad).
 */
int p2_pins_parse(P2Pins *pins, const char *text, size_t len, P2PinsBadLine bad, void *userdata);

/* Read a pins file.  -ENOENT leaves pins unconfigured; other -errno, -EFBIG. */
int p2_pins_load(P2Pins *pins, const char *path, P2PinsBadLine bad, void *userdata);

/* Add one id (--server-key-id).  Returns 0, -EINVAL (not an id), -E2BIG. */
int p2_pins_add(P2Pins *pins, const char *hex);

/* Whether id is pinned (constant-time compare of each entry). */
bool p2_pins_match(const P2Pins *pins, const uint8_t id[P2_KEY_ID_LEN]);
