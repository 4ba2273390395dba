/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2 (spec/protocol-2.md Part A): constants, the size check, key ids. libc + libsodium. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* §A.1: the only version line that selects protocol 2. */
#define P2_VERSION_LINE "2\r\n"
#define P2_VERSION_LINE_LEN 3

/* §A.2.1 / §A.2.2 wire sizes and magics (not NUL-terminated on the wire). */
#define P2_MAGIC_CLIENT "mandos v2 client"
#define P2_MAGIC_SERVER "mandos v2 server"
#define P2_MAGIC_CHEADER "cheader0"
#define P2_MAGIC_DATAMSG "datamsg0"
#define P2_CLIENT_HELLO_LEN 48
#define P2_SERVER_HELLO_LEN 72
#define P2_CLIENT_HELLO2_LEN 32
#define P2_DATAMSG_HEADER_LEN 16
#define P2_STREAM_ABYTES 17

/* §A.7.1: DataMessage N limits, checked on the header before the body is read. */
#define P2_C2S_N_MAX (17 + 512)
#define P2_S2C_N_MAX (17 + 66560)

/* §A.4.1 application messages. */
#define P2_MSG_VERSION 0x01
#define P2_MSG_CLIENT_AUTH 0x01
#define P2_MSG_SERVER_AUTH 0x02
#define P2_MSG_STATUS 0x03
#define P2_MSG_RESULT 0x04

#define P2_FLAG_WANT_SEALED (1u << 0)
#define P2_FLAG_WANT_ESCROW (1u << 1)
#define P2_FLAG_SHOWS_STATUS (1u << 2)

#define P2_MAX_ESCROW_ITEMS 8
#define P2_MAX_RESULT_ITEMS 9
#define P2_TEXT_MAX 200
#define P2_CLIENT_AUTH_MIN 103
#define P2_CLIENT_AUTH_MAX (103 + 48 * P2_MAX_ESCROW_ITEMS)
#define P2_SERVER_AUTH_LEN 98
#define P2_KID_LEN 16
#define P2_POINT_LEN 32

#define P2_ITEM_SEALED 1
#define P2_ITEM_ESCROW 2
#define P2_SEALED_MIN 49
#define P2_SEALED_MAX 65535
#define P2_SECRET_MAX 65487

/* §A.4.3 RESULT codes, STATUS codes, and their value/flags meanings. */
typedef enum P2Code {
	P2_OK = 0,
	P2_UNKNOWN_CLIENT = 1,
	P2_DISABLED = 2,
	P2_DENIED = 3,
	P2_APPROVAL_TIMEOUT = 4,
	P2_NO_MATERIAL = 5,
	P2_TRY_LATER = 6,
	P2_INTERNAL = 7,
} P2Code;

#define P2_DISABLED_BY_ADMIN 1
#define P2_DISABLED_CHECKER 2
#define P2_DISABLED_NEVER_OK 3
#define P2_TRY_LATER_RELEASE_LIMIT (1u << 0)
#define P2_TRY_LATER_MIN 1
#define P2_TRY_LATER_MAX 86400

#define P2_STATUS_AWAITING_APPROVAL 1
#define P2_STATUS_APPROVED_BY_DEFAULT (1u << 0)

/* Key ids: 32 raw bytes (SHA-256 of the Ed25519 SPKI DER), 64 uppercase hex + NUL as text. */
#define P2_KEY_ID_LEN 32
#define P2_KEY_ID_HEX_SIZE 65

/*
 * §A.2.3: compare libsodium's run-time sizes with the ones this code assumes.  Call after
 * sodium_init() and before touching a key or socket.  Returns 0, or -ENOTSUP on a mismatch
 * (the caller logs "libsodium size assumptions do not hold").
 */
int p2_check_sizes(void);

/* key_id_raw of an Ed25519 public key: SHA-256(302a300506032b6570032100 ‖ pk). */
void p2_key_id_raw(const uint8_t pk[32], uint8_t ret[P2_KEY_ID_LEN]);

/* The same as 64 uppercase hex digits and a NUL. */
void p2_key_id_hex(const uint8_t pk[32], char ret[P2_KEY_ID_HEX_SIZE]);

/* Raw key id to uppercase hex. */
void p2_hex_upper(const uint8_t *raw, size_t n, char *ret /* 2n + 1 */);

/*
 * Parse a key id as written by people (§A.9.3): spaces ignored, hex of either case, exactly
 * 64 digits.  Returns 0 or -EINVAL (ret untouched).
 */
int p2_key_id_parse(const char *text, size_t len, uint8_t ret[P2_KEY_ID_LEN]);

/*
 * Base64 (standard alphabet, padding required) with ASCII whitespace anywhere ignored, as in
 * clients.conf values.  Decodes into ret (at most max bytes).  Returns the decoded length, or
 * -EINVAL (bad base64) or -EFBIG (longer than max).
 */
ssize_t p2_base64_decode(const char *text, size_t len, uint8_t *ret, size_t max);

/* Standard base64 with padding, NUL-terminated; ret must hold sodium_base64_ENCODED_LEN. */
void p2_base64_encode(const uint8_t *data, size_t len, char *ret, size_t ret_size);

/* Whether text is only bytes 0x20..0x7e (the rule for STATUS/RESULT text, §A.4.1). */
bool p2_text_printable(const uint8_t *text, size_t len);

/*
 * §A.4.2 step 5 / §B.1: a point as the protocol accepts it: top bit clear, not 32 zero
 * bytes, crypto_core_ristretto255_is_valid_point().
 */
bool p2_point_acceptable(const uint8_t p[P2_POINT_LEN]);
