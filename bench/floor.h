/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The floor's byte counts: what goes over the wire in one sealed protocol 2 unlock with
 * bench/run.sh's 15-byte secret, as `strace -e trace=network` shows our server doing it
 * (server/p2-conn.c, common/p2/transport.c).  mandos-floor-server and mandos-loadgen
 * --protocol=floor exchange these many bytes, in these flights, with no cryptography.
 */
#pragma once

/* Client: "2\r\n" and the ClientHello, in one send(). */
#define FLOOR_CLIENT_HELLO_LEN 51
/* Server: the ServerHello. */
#define FLOOR_SERVER_HELLO_LEN 72
/* Client: ClientHello2 and CLIENT_AUTH, in one send(). */
#define FLOOR_CLIENT_AUTH_LEN 168
/* Server: SERVER_AUTH, RESULT (the sealed box of 15 bytes) and FINAL, then its FIN. */
#define FLOOR_RESULT_LEN 274
/* Client: its FINAL, then close. */
#define FLOOR_CLIENT_FINAL_LEN 33
