/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Mandos key IDs: uppercase hex SHA-256 of a raw public key's DER SubjectPublicKeyInfo. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* 64 hex digits and a NUL. */
#define KEYID_STRING_SIZE 65

/*
 * SHA-256 of the empty string: buggy 1.8.0 clients sent an empty key, so this ID is never
 * accepted, whatever clients.conf says.
 */
#define KEYID_EMPTY "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"

/*
 * Key ID of DER bytes exactly as given (the raw public key as carried in the TLS Certificate
 * message).  Writes 64 uppercase hex digits and a NUL.  Returns 0 or -EIO.
 */
int keyid_from_der(const void *der, size_t len, char ret[KEYID_STRING_SIZE]);

/*
 * Key ID of a public key in a PEM ("BEGIN PUBLIC KEY") or DER SubjectPublicKeyInfo, or of the
 * public half of a PEM/DER PKCS#8 private key.  The key is parsed and re-encoded as DER first.
 * Returns 0, -EBADMSG when the data is not a key, -ENOMEM.
 */
int keyid_from_key_data(const void *data, size_t len, char ret[KEYID_STRING_SIZE]);

/* As keyid_from_key_data() for a file.  Also -errno from opening or reading it. */
int keyid_from_file(const char *path, char ret[KEYID_STRING_SIZE]);

/*
 * Normalise a key ID as written in clients.conf: spaces removed, hex folded to uppercase; it
 * must then be exactly 64 hex digits.  Returns 0 or -EINVAL.
 */
int keyid_normalize(const char *text, char ret[KEYID_STRING_SIZE]);

/* Whether this (normalised) key ID may ever be matched: false for KEYID_EMPTY. */
bool keyid_is_acceptable(const char *keyid);
