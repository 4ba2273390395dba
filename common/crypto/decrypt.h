/* SPDX-License-Identifier: GPL-3.0-or-later */
/* OpenPGP decryption with GPGME in a private, temporary GnuPG home, into secure memory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"
#include "secmem.h"

/* Largest OpenPGP key file we import (armored keys made by mandos-keygen are a few KiB). */
#define DECRYPT_KEY_FILE_MAX (1024 * 1024)

typedef struct Decryptor Decryptor;

/*
 * Start GPGME and make a private GnuPG home "mandosXXXXXX" (mode 0700) in the first of
 * `tmpdirs` (a NULL-terminated list) where the directory can be made; a directory that does
 * not exist (ENOENT) is skipped, any other error stops.  The home is used for nothing but
 * this decryptor.  Returns 0, -ENOENT if no candidate exists, -ENOPKG if GPGME or its gpg
 * engine is unusable, or -errno.  On success *ret owns the home; decryptor_free() removes it.
 */
int decryptor_new(const char *const *tmpdirs, Decryptor **ret);

/*
 * Whether decryptor_decrypt() also demands a good signature by a key in the keyring (for
 * Mandos: the client's own key, which mandos-keygen signs secrets with), so that whoever has
 * only the public key cannot make us accept a message.  Off by default.
 */
void decryptor_require_signature(Decryptor *d, bool require);

/* The path of the private GnuPG home. */
const char *decryptor_home(const Decryptor *d);

/*
 * Import an OpenPGP key file (ASCII armored or binary; public or secret).  Returns the number
 * of keys imported or unchanged (> 0), -ENOKEY when the file held no usable key, or -errno.
 * When ret_detail is not NULL it gets a static description of a GPGME failure (or NULL).
 */
int decryptor_import_file(Decryptor *d, const char *path, const char **ret_detail);

/*
 * Import several key files (a NULL-terminated list) with one gpg run, their contents held in
 * secure memory.  Returns as decryptor_import_file(); when a file cannot be read, -errno and
 * *ret_detail is that path.
 */
int decryptor_import_files(Decryptor *d, const char *const *paths, const char **ret_detail);

/*
 * Decrypt one OpenPGP message.  The plaintext is appended to `out` without ever passing
 * through memory we don't wipe (GPGME hands it to a write callback that appends to the
 * SecBuf).  Returns 0, -EBADMSG when the data is not a message these keys can decrypt,
 * -EKEYREJECTED when a signature is required and missing or bad, -EFBIG if the plaintext
 * exceeds out->max, or -errno.  On failure
 * `out` has its previous length.  ret_detail as for decryptor_import_file().
 */
int decryptor_decrypt(Decryptor *d, const void *cipher, size_t len, SecBuf *out,
                      const char **ret_detail);

/*
 * Stop the gpg-agent GPGME may have started for the home, remove the home and everything in
 * it, free the decryptor.  Accepts NULL; returns NULL.
 */
Decryptor *decryptor_free(Decryptor *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Decryptor *, decryptor_free)

/*
 * Remove a directory tree (no symlinks followed; at most 8 levels deep).  Returns 0 or the
 * first -errno; keeps going after errors.  Exposed for the client's cleanup.
 */
int rm_rf_dir(const char *path);
