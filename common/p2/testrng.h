/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The deterministic RNG of §A.12.1, for tests and test-vector runs only. */
#pragma once

/* Install it with randombytes_set_implementation(); call before sodium_init(). */
void p2_test_rng_install(void);

/*
 * Start a party (this thread): seed = BLAKE2b-256(label), counter 0.  Draws before the first
 * call (on this thread) go to the OS RNG.
 */
void p2_test_rng_start(const char *label);
