/*
 * stratum_session.h - what the method handlers (stratum_methods.c,
 * stratum_submit.c) share about one miner's session: answering it,
 * telling it a new difficulty, counting its protocol errors, and the
 * miner fields of its events.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * All of it runs on the connection's own I/O thread. Answers are queued
 * with conn_send (stratum_io.h) in the text stratum_reply.h formats; an
 * idt is a request id as JSON text (stratum_id_text, or submit_parse.h's).
 */
#ifndef CKPOOL_STRATUM_SESSION_H
#define CKPOOL_STRATUM_SESSION_H

#include <jansson.h>
#include <stdbool.h>

struct conn;
struct vardiff;

/* Why a difficulty changed, and the share rate vardiff saw (0 if none). */
struct diff_change {
	double old_diff;
	const char *reason;          /* "vardiff", "suggest_difficulty", "idle" */
	double shares_per_min;
};


/* {"id":..,"result":<result_json>,"error":null}; a result longer than a
 * stack line goes out from the heap (out of memory closes the connection). */
void session_reply_result_text(struct conn *c, const char *idt, const char *result_json);
void session_reply_result(struct conn *c, const json_t *id, const char *result_json);
/* {"id":..,"result":null,"error":[code,"msg",null]} (codes: stratum_reply.h). */
void session_reply_error_text(struct conn *c, const char *idt, int code, const char *msg);
void session_reply_error(struct conn *c, const json_t *id, int code, const char *msg);
/* A refused mining.authorize: result false, error 24. */
void session_reply_authorize_failure(struct conn *c, const json_t *id, const char *msg);
/* The mining.subscribe result for extranonce1 nonce1_hex. */
void session_reply_subscribe(struct conn *c, const json_t *id, const char *nonce1_hex,
			     int nonce2_len);
/* mining.set_difficulty with the connection's current difficulty. */
void session_send_difficulty(struct conn *c);

/* Fields every miner event carries: address, worker, client_id, ip. */
void session_add_miner_fields(json_t *data, const struct conn *c);

/* The share rate of the vardiff window about to close, counting `extra`
 * shares not yet in it. */
double session_window_shares_per_min(const struct vardiff *v, double extra, double now);
/* Announces a new c->vardiff.diff (set_difficulty once subscribed and
 * authorized, and diff_updated). `grace`: the pool changed it (vardiff), so
 * work the miner already has is judged at the lower of the old and new
 * difficulty for a while; a change the miner asked for gets no grace (and
 * ends any), so suggestions cannot stretch it. */
void session_change_difficulty(struct conn *c, const struct diff_change *why, bool grace);

/* Counts a protocol error; too many in a short time close the connection. */
void session_note_protocol_error(struct conn *c);

#endif
