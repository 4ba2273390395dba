/* SPDX-License-Identifier: GPL-3.0-or-later */
/* LD_PRELOAD shim for tests: a libsodium whose crypto_box_sealbytes() is not 48 (spec §A.2.3). */
#include <stddef.h>

size_t crypto_box_sealbytes(void);

/* One byte short: what a libsodium with other sizes than the code assumes would answer. */
size_t crypto_box_sealbytes(void)
{
	return 47;
}
