/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Sealed secrets (§A.6): crypto_box_seal to the client's X25519 seal key. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "keys.h"
#include "secmem.h"

/* Seal secret (1..65487 bytes) to seal_pk.  Writes len + 48 bytes.  0 or -EINVAL/-EIO. */
int p2_seal(const uint8_t *secret, size_t len, const uint8_t seal_pk[32], uint8_t *ret,
            size_t ret_size);

/* Open a sealed box straight into a new SecBuf.  0, -EBADMSG (does not open), -ENOMEM. */
int p2_sealed_open(const uint8_t *box, size_t len, const P2SealKey *key, SecBuf **ret);
