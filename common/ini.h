/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A reader for upstream's config files, compatible with Python's ConfigParser as upstream uses it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/*
 * What is accepted, as Python 3's ConfigParser (strict mode, BasicInterpolation) reads it:
 *
 *  - "[NAME]" starts a section; names are case-sensitive and kept verbatim.  "[DEFAULT]"
 *    holds defaults for every section and may appear more than once.  A section name used
 *    twice is an error.  An option before any header is an error.
 *  - "key = value" or "key: value"; the key ends at the first "=" or ":"; keys are folded to
 *    lowercase; spaces around key and value are dropped.  A key set twice in one section
 *    (including across two [DEFAULT] blocks) is an error.
 *  - A line indented deeper than its key's line continues the value; pieces are joined with
 *    "\n"; blank lines inside a value are kept, trailing ones dropped.
 *  - Lines whose first non-blank character is "#" or ";" are comments, also inside values.
 *    There are no inline comments.
 *  - Values are interpolated when read with ini_get(): "%(name)s" is the (interpolated) value
 *    of key `name` from the same section or from [DEFAULT]; "%%" is "%"; any other "%" is an
 *    error; nesting deeper than 10 is an error.
 *
 * Errors are one line: "FILE:LINE: what was expected".
 *
 * Values may be secrets (clients.conf's secret and escrow_key): the reader wipes every copy it
 * lets go of (the file's text, values being assembled or replaced, ini_free()'s values).
 */

typedef struct IniFile IniFile;

/* Longest line and longest file accepted. */
#define INI_LINE_MAX (64 * 1024)
#define INI_FILE_MAX ((size_t)256 * 1024 * 1024)

/*
 * Parse a file.  `defaults` is NULL or a NULL-terminated list of key, value pairs placed in
 * [DEFAULT] before the file is read (upstream's built-in defaults: the file may override
 * them, they take part in interpolation).  On success returns 0 and *ret.  On failure returns
 * -errno (-ENOENT for a missing file, -EINVAL for a syntax error, -EFBIG, -ENOMEM...) and, for
 * syntax errors and when ret_error is not NULL, a malloc()ed one-line message in *ret_error.
 * `display_name` names the file in messages (NULL: the path).
 */
int ini_parse_file(const char *path, const char *display_name, const char *const *defaults,
                   IniFile **ret, char **ret_error);

/* Parse text already in memory; `name` is used in messages. */
int ini_parse_string(const char *name, const char *text, size_t len, const char *const *defaults,
                     IniFile **ret, char **ret_error);

IniFile *ini_free(IniFile *ini);
DEFINE_TRIVIAL_CLEANUP_FUNC(IniFile *, ini_free)
#define _cleanup_ini_free_ _cleanup_(ini_freep)

/* The name used in messages. */
const char *ini_file_name(const IniFile *ini);

/* Sections other than [DEFAULT], in file order. */
size_t ini_section_count(const IniFile *ini);
const char *ini_section_name(const IniFile *ini, size_t i);
unsigned ini_section_line(const IniFile *ini, size_t i);

/* Whether a section exists; "DEFAULT" always does. */
bool ini_has_section(const IniFile *ini, const char *section);

/*
 * Keys visible in a section: [DEFAULT]'s (built-in ones first) then the section's own, each
 * once.  Returns the count; ini_key_name() gives the i-th.  For an unknown section, 0.
 */
size_t ini_key_count(const IniFile *ini, const char *section);
const char *ini_key_name(const IniFile *ini, const char *section, size_t i);

/*
 * The raw (uninterpolated) value of a key in a section, falling back to [DEFAULT]; NULL when
 * neither has it.  `key` is matched case-insensitively.
 */
const char *ini_get_raw(const IniFile *ini, const char *section, const char *key);

/* Line where the key's effective value was set; 0 for a built-in default or a missing key. */
unsigned ini_key_line(const IniFile *ini, const char *section, const char *key);

/*
 * The interpolated value of a key.  Returns 0 with a malloc()ed *ret_value (free a secret's
 * with secmem_strfree()); -ENOENT when the key is absent (nothing else set); -EINVAL for an
 * interpolation error, with a message in *ret_error if not NULL; -ENOMEM.
 */
int ini_get(const IniFile *ini, const char *section, const char *key, char **ret_value,
            char **ret_error);

/*
 * An interpolated boolean (see parse_boolean()).  -ENOENT when absent; -EINVAL with a
 * message naming file, line and key for a value that is not a boolean.
 */
int ini_get_bool(const IniFile *ini, const char *section, const char *key, bool *ret,
                 char **ret_error);

/*
 * Format a message "FILE:LINE: ..." (or "FILE: ..." when line is 0) for a value the caller
 * found wrong.  Returns a malloc()ed string or NULL.
 */
char *ini_error_message(const IniFile *ini, unsigned line, const char *fmt, ...) _printf_(3, 4);

/* Receives one warning, "FILE:LINE: ..." (the string is valid only during the call). */
typedef void (*IniWarnFunc)(const char *message, void *userdata);

/*
 * Find the unknown keys of a section: those the file sets in it (for "DEFAULT", the ones the
 * file sets, not the built-in defaults) that have no built-in default, are not in `known`
 * (NULL or a NULL-terminated list of lowercase names), and that no "%(name)s" refers to.
 * ConfigParser files carry text for interpolation in keys of their own (mandos-keygen writes
 * "ssh_fingerprint" for its checker), so a key is not unknown when a value of the same section or
 * of [DEFAULT] refers to it; for a [DEFAULT] key, a value of any section.  For each, in file order,
 * warn() gets "FILE:LINE: unknown key 'KEY' in section [SECTION]", with " (did you mean 'K'?)" when
 * a known key K (or one with a built-in default) is at most two edits away.  Returns how many were
 * found, or -ENOMEM.
 */
int ini_check_unknown_keys(const IniFile *ini, const char *section, const char *const *known,
                           IniWarnFunc warn, void *userdata);
