/*
 * stratum_methods.c - owns what miners say and what they are told: line
 * parsing and method dispatch, mining.subscribe, mining.authorize,
 * mining.configure and mining.suggest_difficulty (mining.submit is
 * stratum_submit.c's), per-miner jobs (coinbase + mining.notify),
 * housekeeping ticks, and the miner_connected / miner_disconnected events.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "stratum_methods.h"
#include "best_diff.h"
#include "coinbase.h"
#include "coinbase_sigs.h"
#include "connection.h"
#include "events.h"
#include "hex.h"
#include "jobs.h"
#include "log.h"
#include "stats.h"
#include "stratum_io.h"
#include "stratum_reply.h"
#include "stratum_session.h"
#include "stratum_submit.h"
#include "submit_parse.h"
#include "util.h"
#include "workbase.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_USERNAME 128
#define MAX_USER_AGENT 64
/* A suggest_difficulty arriving sooner than this after the last one that
 * changed the difficulty waits (the latest wins) for the next tick. */
#define SUGGEST_MIN_INTERVAL_S 5.0

static struct log_limit refusal_log_limit;

/* ---- jobs ---- */

static __thread struct buf coinb1_buf, coinb2_buf;

void stratum_methods_thread_exit(void)
{
	buf_free(&coinb1_buf);
	buf_free(&coinb2_buf);
}

static int build_coinbase(struct conn *c, const struct workbase *wb)
{
	const struct config *cfg = stratum_settings()->cfg;
	char address[ADDRESS_MAX_LEN + 1], sig[MINER_SIG_MAX + 1], err[256];
	struct coinbase_params p = {
		.script = c->script,
		.script_len = c->script_len,
		.pool_sig = *cfg->btcsig ? cfg->btcsig : NULL,
		.miner_sig = coinbase_sigs_lookup(conn_address(c, address, sizeof(address)), sig),
		.nonce1_len = (size_t)cfg->nonce1length,
		.nonce2_len = (size_t)cfg->nonce2length,
	};

	buf_reset(&coinb1_buf);
	buf_reset(&coinb2_buf);
	if (coinbase_build(wb, &p, &coinb1_buf, &coinb2_buf, err, sizeof(err))) {
		log_error("stratum", "client %llu: cannot build coinbase: %s",
			  (unsigned long long)c->id, err);
		return -1;
	}
	return 0;
}

void stratum_send_job(struct conn *c, struct workbase *wb, uint64_t block_seq, bool clean)
{
	size_t cb1, cb2, need;
	uint8_t *coinbase;
	char *msg;

	if (build_coinbase(c, wb))
		return;
	cb1 = coinb1_buf.len;
	cb2 = coinb2_buf.len;
	coinbase = malloc(cb1 + cb2);
	need = stratum_notify_size(wb, cb1, cb2);
	msg = malloc(need);
	if (!coinbase || !msg) {
		free(coinbase);
		free(msg);
		conn_close_soon(c, "out of memory");
		return;
	}
	memcpy(coinbase, coinb1_buf.data, cb1);
	memcpy(coinbase + cb1, coinb2_buf.data, cb2);
	conn_add_job(c, workbase_ref(wb), block_seq, coinbase, cb1, cb2);
	conn_send(c, msg, stratum_format_notify(msg, need, wb, coinbase, cb1, cb2, clean));
	free(msg);
}

/* The current job after subscribe + authorize (both, in either order). */
static void send_first_work(struct conn *c)
{
	uint64_t seq;
	struct workbase *wb;

	if (!c->subscribed || !c->authorized)
		return;
	session_send_difficulty(c);
	wb = jobs_current(&seq, NULL);
	if (wb) {
		stratum_send_job(c, wb, seq, true);
		workbase_unref(wb);
	}
}

/* ---- mining.subscribe ---- */

static void remember_user_agent(struct conn *c, const json_t *params)
{
	const json_t *agent = json_array_get(params, 0);
	char clean[MAX_USER_AGENT + 1];
	size_t n = 0;

	if (!json_is_string(agent) || c->user_agent)
		return;
	for (const char *s = json_string_value(agent); *s && n < MAX_USER_AGENT; s++)
		if (*s >= 0x20 && *s <= 0x7e && *s != '"' && *s != '\\')
			clean[n++] = *s;
	clean[n] = '\0';
	c->user_agent = strdup(clean);
}

static void handle_subscribe(struct conn *c, const json_t *id, const json_t *params)
{
	size_t n1 = (size_t)stratum_settings()->cfg->nonce1length;
	const json_t *session = json_array_get(params, 1);
	uint8_t wanted[8];
	char nonce1[17];
	bool resume = json_is_string(session)
		      && !hex_decode_exact(json_string_value(session), wanted, n1);

	remember_user_agent(c, params);
	if (!nonce1_assign(c, n1, resume ? wanted : NULL)) {
		unsigned long suppressed;

		if (log_limit_allow(&refusal_log_limit, 5, 10.0, &suppressed))
			log_warn("stratum", "client %llu (%s): subscribe refused: every extranonce1 "
				 "is in use (%lu more refusals not logged)",
				 (unsigned long long)c->id, c->ip, suppressed);
		session_reply_error(c, id, STRATUM_ERR_OTHER, "No extranonce1 available, try again later");
		conn_close_soon(c, "extranonce1 space exhausted");
		return;
	}
	hex_encode(c->nonce1, n1, nonce1);
	session_reply_subscribe(c, id, nonce1, stratum_settings()->cfg->nonce2length);
	if (!c->subscribed) {
		c->subscribed = true;
		send_first_work(c);
	}
}

/* ---- mining.authorize ---- */

/* Address encodings as events name them. */
static const char *address_encoding(enum address_type t)
{
	switch (t) {
	case ADDR_P2PKH: return "legacy";
	case ADDR_P2SH: return "p2sh";
	case ADDR_P2WPKH: case ADDR_P2WSH: return "bech32";
	default: return "bech32m";
	}
}

static void emit_miner_connected(const struct conn *c)
{
	char address[ADDRESS_MAX_LEN + 1], sig[MINER_SIG_MAX + 1];
	json_t *data;

	if (!events_wanted("miner_connected"))
		return;
	data = json_object();
	session_add_miner_fields(data, c);
	json_object_set_new(data, "user_agent", json_string(c->user_agent ? c->user_agent : ""));
	json_object_set_new(data, "address_type",
			    json_string(address_encoding((enum address_type)c->address_type)));
	json_object_set_new(data, "has_custom_sig",
			    json_boolean(coinbase_sigs_lookup(conn_address(c, address,
									   sizeof(address)),
							      sig) != NULL));
	json_object_set_new(data, "initial_diff", json_real(c->vardiff.diff));
	events_emit("miner_connected", data);
}

static int validate_username(const char *user, char *address, uint8_t *script,
			     size_t *script_len, enum address_type *type, char *err,
			     size_t errlen)
{
	const char *dot = strchr(user, '.');
	size_t alen = dot ? (size_t)(dot - user) : strlen(user);
	char why[160];

	if (alen == 0 || alen > ADDRESS_MAX_LEN) {
		snprintf(err, errlen, "username must be a Bitcoin address, optionally followed "
				      "by .worker");
		return -1;
	}
	memcpy(address, user, alen);
	address[alen] = '\0';
	if (address_to_script(address, stratum_settings()->net, script, script_len, type, why,
			      sizeof(why))) {
		snprintf(err, errlen, "invalid payout address '%s': %s", address, why);
		return -1;
	}
	if (*type == ADDR_WITNESS_OTHER) {
		snprintf(err, errlen, "payout address '%s' uses a future witness version "
				      "(witness_unknown) that no wallet can spend yet; use a "
				      "P2PKH, P2SH, P2WPKH, P2WSH or P2TR address", address);
		return -1;
	}
	/* Bech32 is valid in either case (not mixed): the lower-case form is
	 * the one key for signatures, best difficulties, hashrates and events. */
	if (*type != ADDR_P2PKH && *type != ADDR_P2SH)
		for (char *p = address; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return 0;
}

static void log_refusal(const struct conn *c, const char *why)
{
	unsigned long suppressed;

	if (log_limit_allow(&refusal_log_limit, 5, 10.0, &suppressed))
		log_fields(LOG_INFO, "stratum", "authorize refused",
			   json_pack("{s:I, s:s, s:s, s:I}", "client_id", (json_int_t)c->id, "ip",
				     c->ip, "reason", why, "suppressed", (json_int_t)suppressed));
}

/* Takes the miner's identity: the username is stored as the canonical
 * address, then the worker as typed. False when out of memory (the
 * connection is then closing). */
static bool take_identity(struct conn *c, const char *user, const char *address,
			  const uint8_t *script, size_t script_len, enum address_type type)
{
	const char *worker = user + strlen(address);

	c->username = malloc(strlen(address) + strlen(worker) + 1);
	if (!c->username) {
		conn_close_soon(c, "out of memory");
		return false;
	}
	strcpy(c->username, address);
	strcat(c->username, worker);
	c->address_len = (uint8_t)strlen(address);
	c->address_type = (uint8_t)type;
	memcpy(c->script, script, script_len);
	c->script_len = (uint8_t)script_len;
	return true;
}

static void handle_authorize(struct conn *c, const json_t *id, const json_t *params)
{
	const json_t *user = json_array_get(params, 0);
	char address[ADDRESS_MAX_LEN + 1], err[300], current[ADDRESS_MAX_LEN + 1];
	uint8_t script[ADDRESS_SCRIPT_MAX];
	enum address_type type;
	size_t script_len;

	if (!json_is_string(user)
	    || !stratum_is_plain_text(json_string_value(user), MAX_USERNAME)) {
		session_reply_authorize_failure(c, id, "username must be a Bitcoin "
						"address[.worker] of printable characters");
		session_note_protocol_error(c);
		return;
	}
	if (validate_username(json_string_value(user), address, script, &script_len, &type, err,
			      sizeof(err))) {
		log_refusal(c, err);
		session_reply_authorize_failure(c, id, err);
		session_note_protocol_error(c);
		return;
	}
	if (c->authorized) {
		if (strcmp(conn_address(c, current, sizeof(current)), address))
			session_reply_authorize_failure(c, id, "connection already authorized "
							"for another address");
		else
			session_reply_result(c, id, "true");
		return;
	}
	if (!take_identity(c, json_string_value(user), address, script, script_len, type))
		return;
	c->authorized = true;
	atomic_fetch_add(&g_stats.miners_authorized, 1);
	session_reply_result(c, id, "true");
	log_fields(LOG_INFO, "stratum", "miner authorized",
		   json_pack("{s:I, s:s, s:s, s:s}", "client_id", (json_int_t)c->id, "address",
			     address, "worker", conn_worker(c), "ip", c->ip));
	emit_miner_connected(c);
	send_first_work(c);
}

/* ---- mining.configure (BIP310) ---- */

static json_t *configure_version_rolling(struct conn *c, const json_t *options)
{
	const json_t *mask = json_object_get(options, "version-rolling.mask");
	uint32_t miner_mask = 0xffffffffu;
	char text[9];
	json_t *out = json_object();

	if (mask) {
		const char *hex = json_is_string(mask) ? json_string_value(mask) : "";
		size_t len = strlen(hex);

		if (len == 0 || len > 8 || !hex_is_valid(hex, len)) {
			json_object_set_new(out, "version-rolling", json_false());
			return out;
		}
		miner_mask = (uint32_t)strtoul(hex, NULL, 16);
	}
	c->version_mask = POOL_VERSION_MASK & miner_mask;
	snprintf(text, sizeof(text), "%08x", c->version_mask);
	json_object_set_new(out, "version-rolling", json_boolean(c->version_mask != 0));
	json_object_set_new(out, "version-rolling.mask", json_string(text));
	return out;
}

static void handle_configure(struct conn *c, const json_t *id, const json_t *params)
{
	const json_t *extensions = json_array_get(params, 0);
	const json_t *options = json_array_get(params, 1);
	json_t *result = json_object(), *ext;
	size_t i;
	char *text;

	if (!json_is_array(extensions)) {
		json_decref(result);
		session_reply_error(c, id, STRATUM_ERR_OTHER,
				    "mining.configure needs [[extensions], {options}]");
		session_note_protocol_error(c);
		return;
	}
	json_array_foreach(extensions, i, ext) {
		if (!json_is_string(ext))
			continue;
		if (!strcmp(json_string_value(ext), "version-rolling")) {
			json_t *rolling = configure_version_rolling(c, options);

			json_object_update(result, rolling);
			json_decref(rolling);
		} else if (strlen(json_string_value(ext)) < 64)
			json_object_set_new(result, json_string_value(ext), json_false());
	}
	text = json_dumps(result, JSON_COMPACT);
	json_decref(result);
	if (text)
		session_reply_result(c, id, text);
	free(text);
}

/* ---- mining.suggest_difficulty ---- */

/* Moves to a suggested difficulty (clamped to [mindiff, maxdiff or
 * STRATUM_DIFF_CEILING] by the vardiff policy). */
static void apply_suggestion(struct conn *c, double suggested, double now)
{
	struct diff_change why = { c->vardiff.diff, "suggest_difficulty", 0 };
	double fresh;

	c->pending_suggest = 0;
	if (vardiff_suggest(&c->vardiff, &stratum_settings()->vardiff, suggested, now, &fresh)) {
		c->last_suggest_at = now;
		session_change_difficulty(c, &why, false);
	}
}

static void handle_suggest_difficulty(struct conn *c, const json_t *id, const json_t *params)
{
	const json_t *v = json_array_get(params, 0);
	double suggested = json_is_number(v) ? json_number_value(v)
			   : json_is_string(v) ? strtod(json_string_value(v), NULL) : 0;
	double now = now_monotonic();

	if (!isfinite(suggested) || suggested <= 0) {
		session_reply_error(c, id, STRATUM_ERR_OTHER,
				    "mining.suggest_difficulty needs a positive number");
		session_note_protocol_error(c);
		return;
	}
	/* vardiff honours a suggestion as a floor even above maxdiff: cap it
	 * here (the policy's maxdiff is never 0, see stratum.c). */
	if (suggested > stratum_settings()->vardiff.maxdiff)
		suggested = stratum_settings()->vardiff.maxdiff;
	/* Changes the miner hears about (set_difficulty, diff_updated) come at
	 * most every SUGGEST_MIN_INTERVAL_S; a burst ends at its last value. */
	if (c->authorized && c->last_suggest_at > 0
	    && now - c->last_suggest_at < SUGGEST_MIN_INTERVAL_S)
		c->pending_suggest = suggested;
	else
		apply_suggestion(c, suggested, now);
	if (!json_is_null(id))
		session_reply_result(c, id, "true");
}

/* ---- dispatch ---- */

void stratum_conn_init(struct conn *c)
{
	const struct stratum_settings *st = stratum_settings();

	vardiff_init(&c->vardiff, &st->vardiff, st->cfg->startdiff, now_monotonic());
}

static void handle_garbage(struct conn *c, const char *why)
{
	session_reply_error(c, NULL, STRATUM_ERR_OTHER, why);
	session_note_protocol_error(c);
}

static void dispatch(struct conn *c, const char *method, const json_t *id, const json_t *params)
{
	if (!strcmp(method, "mining.submit"))
		stratum_submit_json(c, id, params);
	else if (!strcmp(method, "mining.subscribe"))
		handle_subscribe(c, id, params);
	else if (!strcmp(method, "mining.authorize"))
		handle_authorize(c, id, params);
	else if (!strcmp(method, "mining.configure"))
		handle_configure(c, id, params);
	else if (!strcmp(method, "mining.suggest_difficulty"))
		handle_suggest_difficulty(c, id, params);
	else if (!strcmp(method, "mining.extranonce.subscribe"))
		session_reply_result(c, id, "true");
	else {
		char msg[128];

		snprintf(msg, sizeof(msg), "Unknown method '%.64s'", method);
		session_reply_error(c, id, STRATUM_ERR_OTHER, msg);
		session_note_protocol_error(c);
	}
}

/* ---- mining.submit without jansson ----
 *
 * Nearly every line is a share: submit_parse.h reads the common shape of a
 * submit without building a JSON tree. Anything it refuses goes through
 * jansson, which then decides exactly as before; on what it accepts, both
 * read the same id, method and params (fuzz/fuzz_submit_parse.c). */

/* True when the line was a submit of the common shape and is handled. */
static bool try_fast_submit(struct conn *c, const char *line, size_t len)
{
	struct submit_fast f;

	if (!submit_parse_fast(line, len, &f))
		return false;
	stratum_submit(c, f.idt, &f.params);
	return true;
}

void stratum_handle_line(struct conn *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req;
	const json_t *method, *params, *id;

	if (try_fast_submit(c, line, len))
		return;
	req = json_loadb(line, len, 0, &jerr);

	if (!req || !json_is_object(req)) {
		json_decref(req);
		handle_garbage(c, "Parse error: expected a JSON-RPC request object");
		return;
	}
	method = json_object_get(req, "method");
	params = json_object_get(req, "params");
	id = json_object_get(req, "id");
	if (!json_is_string(method)) {
		session_reply_error(c, id, STRATUM_ERR_OTHER, "Missing method");
		session_note_protocol_error(c);
		json_decref(req);
		return;
	}
	if (!params || json_is_null(params))
		params = NULL;
	else if (!json_is_array(params)) {
		session_reply_error(c, id, STRATUM_ERR_OTHER, "params must be an array");
		session_note_protocol_error(c);
		json_decref(req);
		return;
	}
	dispatch(c, json_string_value(method), id, params);
	json_decref(req);
}

/* ---- housekeeping ---- */

void stratum_conn_tick(struct conn *c, double now)
{
	struct diff_change why = { c->vardiff.diff, "idle", 0 };
	double fresh;

	if (!c->authorized)
		return;
	if (c->pending_suggest > 0 && now - c->last_suggest_at >= SUGGEST_MIN_INTERVAL_S) {
		apply_suggestion(c, c->pending_suggest, now);
		return;
	}
	why.shares_per_min = session_window_shares_per_min(&c->vardiff,
							   c->vardiff.shares ? 0 : 1, now);
	if (vardiff_on_tick(&c->vardiff, &stratum_settings()->vardiff, now, &fresh)) {
		if (fresh > why.old_diff)
			why.reason = "vardiff";
		session_change_difficulty(c, &why, true);
	}
}

/* The close reasons of stratum.c, in the four classes events use. */
static const char *disconnect_class(const char *why)
{
	if (!strcmp(why, "closed by miner"))
		return "clean";
	if (strstr(why, "timeout"))
		return "timeout";
	if (!strcmp(why, "engine shutting down"))
		return "shutdown";
	return "error";
}

static void emit_miner_disconnected(const struct conn *c, const char *why)
{
	double duration = now_monotonic() - c->connected_at;
	json_t *data = json_object();

	session_add_miner_fields(data, c);
	json_object_set_new(data, "reason", json_string(disconnect_class(why)));
	json_object_set_new(data, "detail", json_string(why));
	json_object_set_new(data, "session_duration_s", json_real(duration));
	json_object_set_new(data, "shares_accepted", json_integer((json_int_t)c->shares_accepted));
	json_object_set_new(data, "shares_rejected", json_integer((json_int_t)c->shares_rejected));
	json_object_set_new(data, "best_diff_session", json_real(c->best_diff));
	json_object_set_new(data, "avg_hashrate",
			    json_real(duration > 0 ? c->diff_accepted * 4294967296.0 / duration
						   : 0));
	events_emit("miner_disconnected", data);
}

void stratum_conn_closed(struct conn *c, const char *why)
{
	char address[ADDRESS_MAX_LEN + 1];

	if (!c->authorized)
		return;
	atomic_fetch_sub(&g_stats.miners_authorized, 1);
	if (c->best_joined && best_diff_global())
		best_diff_session_leave(best_diff_global(),
					conn_address(c, address, sizeof(address)));
	if (events_wanted("miner_disconnected"))
		emit_miner_disconnected(c, why);
}
