/*
 * stratum_reply.h - the JSON-RPC lines the engine writes to miners: a
 * result, an error [code, "message", null], and the notifications
 * mining.set_difficulty and mining.notify, each formatted into a caller's
 * buffer and ending in '\n'. Sending them is stratum_session.c's job.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Every formatter returns the length of the whole line (without a NUL),
 * like snprintf: when that is len or more, out holds nothing usable and
 * the caller formats again into a buffer of that length + 1. The request
 * id travels as JSON text (stratum_id_text, or submit_parse.h's idt).
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_STRATUM_REPLY_H
#define CKPOOL_STRATUM_REPLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "submit_parse.h"

struct workbase;

/* The error codes miners see (the de facto Stratum V1 set). */
enum stratum_error {
	STRATUM_ERR_OTHER = 20,          /* anything else, malformed requests */
	STRATUM_ERR_JOB = 21,            /* job not found or stale */
	STRATUM_ERR_DUPLICATE = 22,
	STRATUM_ERR_LOW_DIFF = 23,
	STRATUM_ERR_UNAUTHORIZED = 24,
	STRATUM_ERR_NOT_SUBSCRIBED = 25,
};

/* Room for a request id as JSON text. */
#define STRATUM_ID_TEXT_MAX SUBMIT_ID_TEXT_MAX
/* An error message is cut so that, escaped, it stays under this many bytes. */
#define STRATUM_MESSAGE_MAX 400
/* Every error, set_difficulty and subscribe line with an id of up to
 * STRATUM_ID_TEXT_MAX fits in this many bytes (with its NUL); results
 * carry caller JSON of any length. */
#define STRATUM_LINE_MAX 1024

/* True when s has at most max bytes, all printable ASCII except '"' and
 * '\\' (so it can be quoted in JSON as it is). */
bool stratum_is_plain_text(const char *s, size_t max);

/* The request id as JSON text into out: integers, finite reals and plain
 * strings of up to STRATUM_ID_TEXT_MAX - 3 bytes echoed, anything else
 * (absent, null, objects, long or escaped strings) as null. Returns out. */
const char *stratum_id_text(const json_t *id, char out[STRATUM_ID_TEXT_MAX]);

/* {"id":<idt>,"result":<result_json>,"error":null} */
size_t stratum_format_result(char *out, size_t len, const char *idt, const char *result_json);

/* {"id":<idt>,"result":<result>,"error":[code,"msg",null]} where result is
 * JSON text ("null", or "false" for a refused mining.authorize). msg is
 * ours but may quote miner input: bytes outside printable ASCII are
 * dropped, '"' and '\\' escaped, and the escaped text cut before it
 * reaches STRATUM_MESSAGE_MAX bytes (an escape is never split). */
size_t stratum_format_error(char *out, size_t len, const char *idt, const char *result, int code,
			    const char *msg);

/* The mining.subscribe result: both subscriptions named by the hex
 * extranonce1 (which is also the session id to resume), then extranonce1
 * and the extranonce2 size. */
size_t stratum_format_subscribe(char *out, size_t len, const char *idt, const char *nonce1_hex,
				int nonce2_len);

/* {"id":null,"method":"mining.set_difficulty","params":[diff]} (%.15g). */
size_t stratum_format_set_difficulty(char *out, size_t len, double diff);

/* Bytes a mining.notify for wb with these coinbase halves may need. */
size_t stratum_notify_size(const struct workbase *wb, size_t cb1_len, size_t cb2_len);

/* mining.notify [job_id, prevhash, coinb1, coinb2, [branch], version,
 * nbits, ntime, clean_jobs]; coinbase holds coinb1 then coinb2. The job id
 * is wb->id as 16 hex digits. Writes nothing and returns
 * stratum_notify_size when len is smaller than that. */
size_t stratum_format_notify(char *out, size_t len, const struct workbase *wb,
			     const uint8_t *coinbase, size_t cb1_len, size_t cb2_len, bool clean);

#endif
