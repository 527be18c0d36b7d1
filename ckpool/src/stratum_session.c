/*
 * stratum_session.c - owns what every method handler does to one miner's
 * session besides its own method: sending answers (stratum_reply.c
 * formats them), the protocol-error score, difficulty changes with their
 * diff_updated event, and the miner fields events share.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "stratum_session.h"
#include "connection.h"
#include "events.h"
#include "stratum_io.h"
#include "stratum_reply.h"
#include "util.h"

#include <stdlib.h>

/* Protocol errors (unparseable lines, malformed requests, refused logins)
 * add one each to a score that drains by one every PROTOCOL_ERROR_DECAY_S;
 * at MAX_BAD_LINES the connection is closed. */
#define MAX_BAD_LINES 10
#define PROTOCOL_ERROR_DECAY_S 30.0

/* Error, subscribe and set_difficulty lines always fit (stratum_reply.h). */
static void send_line(struct conn *c, const char *line, size_t n)
{
	if (n < STRATUM_LINE_MAX)
		conn_send(c, line, n);
	else
		conn_close_soon(c, "reply longer than STRATUM_LINE_MAX");
}

void session_reply_result_text(struct conn *c, const char *idt, const char *result_json)
{
	char line[256], *big;
	size_t n = stratum_format_result(line, sizeof(line), idt, result_json);

	if (n < sizeof(line)) {
		conn_send(c, line, n);
		return;
	}
	big = malloc(n + 1);
	if (big && stratum_format_result(big, n + 1, idt, result_json) == n)
		conn_send(c, big, n);
	else
		conn_close_soon(c, "out of memory");
	free(big);
}

void session_reply_result(struct conn *c, const json_t *id, const char *result_json)
{
	char idt[STRATUM_ID_TEXT_MAX];

	session_reply_result_text(c, stratum_id_text(id, idt), result_json);
}

void session_reply_error_text(struct conn *c, const char *idt, int code, const char *msg)
{
	char line[STRATUM_LINE_MAX];

	send_line(c, line, stratum_format_error(line, sizeof(line), idt, "null", code, msg));
}

void session_reply_error(struct conn *c, const json_t *id, int code, const char *msg)
{
	char idt[STRATUM_ID_TEXT_MAX];

	session_reply_error_text(c, stratum_id_text(id, idt), code, msg);
}

void session_reply_authorize_failure(struct conn *c, const json_t *id, const char *msg)
{
	char idt[STRATUM_ID_TEXT_MAX], line[STRATUM_LINE_MAX];

	send_line(c, line, stratum_format_error(line, sizeof(line), stratum_id_text(id, idt),
						"false", STRATUM_ERR_UNAUTHORIZED, msg));
}

void session_reply_subscribe(struct conn *c, const json_t *id, const char *nonce1_hex,
			     int nonce2_len)
{
	char idt[STRATUM_ID_TEXT_MAX], line[STRATUM_LINE_MAX];

	send_line(c, line, stratum_format_subscribe(line, sizeof(line), stratum_id_text(id, idt),
						    nonce1_hex, nonce2_len));
}

void session_send_difficulty(struct conn *c)
{
	char line[STRATUM_LINE_MAX];

	send_line(c, line, stratum_format_set_difficulty(line, sizeof(line), c->vardiff.diff));
}

void session_add_miner_fields(json_t *data, const struct conn *c)
{
	char address[ADDRESS_MAX_LEN + 1];

	json_object_set_new(data, "address", json_string(conn_address(c, address,
									sizeof(address))));
	json_object_set_new(data, "worker", json_string(conn_worker(c)));
	json_object_set_new(data, "client_id", json_integer((json_int_t)c->id));
	json_object_set_new(data, "ip", json_string(c->ip));
}

double session_window_shares_per_min(const struct vardiff *v, double extra, double now)
{
	double elapsed = now - v->window_start;

	return elapsed > 0 ? ((double)v->shares + extra) * 60.0 / elapsed : 0;
}

static void emit_diff_updated(const struct conn *c, const struct diff_change *why)
{
	json_t *data;

	if (!c->authorized || !events_wanted("diff_updated"))
		return;
	data = json_object();
	session_add_miner_fields(data, c);
	json_object_set_new(data, "old", json_real(why->old_diff));
	json_object_set_new(data, "new", json_real(c->vardiff.diff));
	json_object_set_new(data, "direction",
			    json_string(c->vardiff.diff > why->old_diff ? "up" : "down"));
	json_object_set_new(data, "reason", json_string(why->reason));
	json_object_set_new(data, "shares_per_min", json_real(why->shares_per_min));
	events_emit("diff_updated", data);
}

void session_change_difficulty(struct conn *c, const struct diff_change *why, bool grace)
{
	c->old_diff_until = grace ? now_monotonic() + stratum_settings()->old_diff_grace_s : 0;
	if (c->subscribed && c->authorized)
		session_send_difficulty(c);
	emit_diff_updated(c, why);
}

void session_note_protocol_error(struct conn *c)
{
	double now = now_monotonic();
	double drained = c->bad_lines - (now - c->bad_lines_at) / PROTOCOL_ERROR_DECAY_S;

	c->bad_lines = (float)(drained > 0 ? drained : 0) + 1;
	c->bad_lines_at = now;
	/* The previous errors have drained a little since: the tenth in a row
	 * (or within a few seconds) closes. */
	if (c->bad_lines > MAX_BAD_LINES - 1)
		conn_close_for_abuse(c, "too many malformed lines");
}
