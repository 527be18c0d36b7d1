/*
 * stratum_methods.c - owns what miners say and what they are told: method
 * dispatch, which answer or error each request gets (stratum_reply.c
 * writes the text), per-miner jobs (coinbase + mining.notify), difficulty
 * changes, share validation with its accounting, block hand-off to
 * submit, and the miner events.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "stratum_methods.h"
#include "best_diff.h"
#include "block.h"
#include "coinbase.h"
#include "coinbase_sigs.h"
#include "connection.h"
#include "events.h"
#include "hashrate.h"
#include "hex.h"
#include "jobs.h"
#include "log.h"
#include "share.h"
#include "stats.h"
#include "stratum_io.h"
#include "stratum_reply.h"
#include "submit.h"
#include "submit_parse.h"
#include "util.h"
#include "workbase.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_USERNAME 128
#define MAX_USER_AGENT 64
#define ID_TEXT_MAX STRATUM_ID_TEXT_MAX
/* Protocol errors (unparseable lines, malformed requests, refused logins)
 * add one each to a score that drains by one every PROTOCOL_ERROR_DECAY_S;
 * at MAX_BAD_LINES the connection is closed. */
#define MAX_BAD_LINES 10
#define PROTOCOL_ERROR_DECAY_S 30.0
/* A suggest_difficulty arriving sooner than this after the last one that
 * changed the difficulty waits (the latest wins) for the next tick. */
#define SUGGEST_MIN_INTERVAL_S 5.0

static struct log_limit refusal_log_limit;

/* ---- sending (the text is stratum_reply.c's) ---- */

/* Error, subscribe and set_difficulty lines always fit (stratum_reply.h). */
static void send_line(struct conn *c, const char *line, size_t n)
{
	if (n < STRATUM_LINE_MAX)
		conn_send(c, line, n);
	else
		conn_close_soon(c, "reply longer than STRATUM_LINE_MAX");
}

static void reply_result_text(struct conn *c, const char *idt, const char *result_json)
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

static void reply_result(struct conn *c, const json_t *id, const char *result_json)
{
	char idt[ID_TEXT_MAX];

	reply_result_text(c, stratum_id_text(id, idt), result_json);
}

static void reply_error_text(struct conn *c, const char *idt, int code, const char *msg)
{
	char line[STRATUM_LINE_MAX];

	send_line(c, line, stratum_format_error(line, sizeof(line), idt, "null", code, msg));
}

static void reply_error(struct conn *c, const json_t *id, int code, const char *msg)
{
	char idt[ID_TEXT_MAX];

	reply_error_text(c, stratum_id_text(id, idt), code, msg);
}

static void reply_authorize_failure(struct conn *c, const json_t *id, const char *msg)
{
	char idt[ID_TEXT_MAX], line[STRATUM_LINE_MAX];

	send_line(c, line, stratum_format_error(line, sizeof(line), stratum_id_text(id, idt),
						"false", STRATUM_ERR_UNAUTHORIZED, msg));
}

static void send_difficulty(struct conn *c)
{
	char line[STRATUM_LINE_MAX];

	send_line(c, line, stratum_format_set_difficulty(line, sizeof(line), c->vardiff.diff));
}

/* ---- events ---- */

static void add_miner_fields(json_t *data, const struct conn *c)
{
	char address[ADDRESS_MAX_LEN + 1];

	json_object_set_new(data, "address", json_string(conn_address(c, address,
									sizeof(address))));
	json_object_set_new(data, "worker", json_string(conn_worker(c)));
	json_object_set_new(data, "client_id", json_integer((json_int_t)c->id));
	json_object_set_new(data, "ip", json_string(c->ip));
}

/* Why a difficulty changed, and the share rate vardiff saw (0 if none). */
struct diff_change {
	double old_diff;
	const char *reason;          /* "vardiff", "suggest_difficulty", "idle" */
	double shares_per_min;
};

/* The share rate of the vardiff window about to close, counting `extra`
 * shares not yet in it. */
static double window_shares_per_min(const struct vardiff *v, double extra, double now)
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
	add_miner_fields(data, c);
	json_object_set_new(data, "old", json_real(why->old_diff));
	json_object_set_new(data, "new", json_real(c->vardiff.diff));
	json_object_set_new(data, "direction",
			    json_string(c->vardiff.diff > why->old_diff ? "up" : "down"));
	json_object_set_new(data, "reason", json_string(why->reason));
	json_object_set_new(data, "shares_per_min", json_real(why->shares_per_min));
	events_emit("diff_updated", data);
}

/* Announces a new c->vardiff.diff. `grace`: the pool changed it (vardiff),
 * so work the miner already has is judged at the lower of the old and new
 * difficulty for a while; a change the miner asked for gets no grace (and
 * ends any), so suggestions cannot stretch it. */
static void change_difficulty(struct conn *c, const struct diff_change *why, bool grace)
{
	c->old_diff_until = grace ? now_monotonic() + stratum_settings()->old_diff_grace_s : 0;
	if (c->subscribed && c->authorized)
		send_difficulty(c);
	emit_diff_updated(c, why);
}

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
	send_difficulty(c);
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
	char idt[ID_TEXT_MAX], nonce1[17], line[STRATUM_LINE_MAX];
	bool resume = json_is_string(session)
		      && !hex_decode_exact(json_string_value(session), wanted, n1);

	remember_user_agent(c, params);
	if (!nonce1_assign(c, n1, resume ? wanted : NULL)) {
		unsigned long suppressed;

		if (log_limit_allow(&refusal_log_limit, 5, 10.0, &suppressed))
			log_warn("stratum", "client %llu (%s): subscribe refused: every extranonce1 "
				 "is in use (%lu more refusals not logged)",
				 (unsigned long long)c->id, c->ip, suppressed);
		reply_error(c, id, STRATUM_ERR_OTHER, "No extranonce1 available, try again later");
		conn_close_soon(c, "extranonce1 space exhausted");
		return;
	}
	hex_encode(c->nonce1, n1, nonce1);
	send_line(c, line, stratum_format_subscribe(line, sizeof(line), stratum_id_text(id, idt),
						    nonce1, stratum_settings()->cfg->nonce2length));
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
	add_miner_fields(data, c);
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

/* Counts a protocol error; too many in a short time close the connection. */
static void note_protocol_error(struct conn *c)
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

static void handle_authorize(struct conn *c, const json_t *id, const json_t *params)
{
	const json_t *user = json_array_get(params, 0);
	char address[ADDRESS_MAX_LEN + 1], err[300], current[ADDRESS_MAX_LEN + 1];
	uint8_t script[ADDRESS_SCRIPT_MAX];
	enum address_type type;
	size_t script_len;
	const char *worker;
	unsigned long suppressed;

	if (!json_is_string(user)
	    || !stratum_is_plain_text(json_string_value(user), MAX_USERNAME)) {
		reply_authorize_failure(c, id, "username must be a Bitcoin address[.worker] of "
					       "printable characters");
		note_protocol_error(c);
		return;
	}
	if (validate_username(json_string_value(user), address, script, &script_len, &type, err,
			      sizeof(err))) {
		if (log_limit_allow(&refusal_log_limit, 5, 10.0, &suppressed))
			log_fields(LOG_INFO, "stratum", "authorize refused",
				   json_pack("{s:I, s:s, s:s, s:I}", "client_id",
					     (json_int_t)c->id, "ip", c->ip, "reason", err,
					     "suppressed", (json_int_t)suppressed));
		reply_authorize_failure(c, id, err);
		note_protocol_error(c);
		return;
	}
	if (c->authorized) {
		if (strcmp(conn_address(c, current, sizeof(current)), address))
			reply_authorize_failure(c, id, "connection already authorized for another "
						       "address");
		else
			reply_result(c, id, "true");
		return;
	}
	/* Stored with the canonical address, then the worker as typed. */
	worker = json_string_value(user) + strlen(address);
	c->username = malloc(strlen(address) + strlen(worker) + 1);
	if (!c->username) {
		conn_close_soon(c, "out of memory");
		return;
	}
	strcpy(c->username, address);
	strcat(c->username, worker);
	c->address_len = (uint8_t)strlen(address);
	c->address_type = (uint8_t)type;
	memcpy(c->script, script, script_len);
	c->script_len = (uint8_t)script_len;
	c->authorized = true;
	atomic_fetch_add(&g_stats.miners_authorized, 1);
	reply_result(c, id, "true");
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
		reply_error(c, id, STRATUM_ERR_OTHER,
			    "mining.configure needs [[extensions], {options}]");
		note_protocol_error(c);
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
		reply_result(c, id, text);
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
		change_difficulty(c, &why, false);
	}
}

static void handle_suggest_difficulty(struct conn *c, const json_t *id, const json_t *params)
{
	const json_t *v = json_array_get(params, 0);
	double suggested = json_is_number(v) ? json_number_value(v)
			   : json_is_string(v) ? strtod(json_string_value(v), NULL) : 0;
	double now = now_monotonic();

	if (!isfinite(suggested) || suggested <= 0) {
		reply_error(c, id, STRATUM_ERR_OTHER,
			    "mining.suggest_difficulty needs a positive number");
		note_protocol_error(c);
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
		reply_result(c, id, "true");
}

/* ---- mining.submit ---- */

/* A submission's fields, decoded. */
struct submission {
	uint64_t job_id;
	uint8_t nonce2[32];
	size_t nonce2_len;
	uint32_t ntime, nonce, version_bits;
};

static int decode_submission(const struct submit_params *p, struct submission *s)
{
	size_t n = p->n;
	const char *job, *nonce2, *ntime, *nonce;
	long len;

	memset(s, 0, sizeof(*s));
	if (n != 5 && n != 6)
		return -1;
	job = p->v[1];
	nonce2 = p->v[2];
	ntime = p->v[3];
	nonce = p->v[4];
	if (strlen(job) != 16 || !hex_is_valid(job, 16))
		s->job_id = 0;
	else
		s->job_id = strtoull(job, NULL, 16);
	len = hex_decode(nonce2, s->nonce2, sizeof(s->nonce2));
	s->nonce2_len = len < 0 ? 0 : (size_t)len;
	if (len < 0 || uint32_of_hex(ntime, &s->ntime) || uint32_of_hex(nonce, &s->nonce))
		return -1;
	s->version_bits = 0;
	if (n == 6) {
		const char *vb = p->v[5];
		size_t vlen = strlen(vb);

		if (vlen == 0 || vlen > 8 || !hex_is_valid(vb, vlen))
			return -1;
		s->version_bits = (uint32_t)strtoul(vb, NULL, 16);
	}
	return 0;
}

/* diff: what the share was judged (and, accepted, credited) against. */
static void emit_share(const struct conn *c, const struct submission *s, double diff,
		       double sdiff, bool accepted, const char *reason,
		       const struct share_output *out, const struct workbase *wb)
{
	char job[17], hash[65];
	json_t *data;

	if (!events_wanted("share_submitted"))
		return;
	data = json_object();
	add_miner_fields(data, c);
	snprintf(job, sizeof(job), "%016llx", (unsigned long long)s->job_id);
	json_object_set_new(data, "job_id", json_string(job));
	json_object_set_new(data, "diff", json_real(diff));
	json_object_set_new(data, "sdiff", json_real(sdiff));
	json_object_set_new(data, "accepted", json_boolean(accepted));
	json_object_set_new(data, "reject_reason", accepted ? json_null() : json_string(reason));
	if (out) {
		block_hash_hex(out->header, hash);
		json_object_set_new(data, "hash", json_string(hash));
	}
	json_object_set_new(data, "is_block", json_boolean(out && out->is_block));
	if (wb)
		json_object_set_new(data, "height", json_integer(wb->height));
	events_emit("share_submitted", data);
}

static void reject_share(struct conn *c, const char *id, const struct submission *s,
			 enum share_result r, int code, const char *msg,
			 const struct share_output *out, const struct workbase *wb)
{
	enum reject_reason reason = share_result_reject_reason(r);

	atomic_fetch_add(&g_stats.shares_rejected[reason], 1);
	c->shares_rejected++;
	reply_error_text(c, id, code, msg);
	emit_share(c, s, c->vardiff.diff, out ? out->diff : 0, false, share_result_reason(r), out,
		   wb);
}

static void reject_unready(struct conn *c, const char *id, enum reject_reason reason)
{
	atomic_fetch_add(&g_stats.shares_rejected[reason], 1);
	c->shares_rejected++;
	if (reason == REJECT_NOT_SUBSCRIBED)
		reply_error_text(c, id, STRATUM_ERR_NOT_SUBSCRIBED, "Not subscribed");
	else
		reply_error_text(c, id, STRATUM_ERR_UNAUTHORIZED, "Unauthorized worker");
	note_protocol_error(c);
}

static void describe_rejection(enum share_result r, int *code, const char **msg)
{
	switch (r) {
	case SHARE_STALE: *code = STRATUM_ERR_JOB; *msg = "Stale job"; return;
	case SHARE_JOB_NOT_FOUND: *code = STRATUM_ERR_JOB; *msg = "Job not found"; return;
	case SHARE_DUPLICATE: *code = STRATUM_ERR_DUPLICATE; *msg = "Duplicate share"; return;
	case SHARE_LOW_DIFF: *code = STRATUM_ERR_LOW_DIFF; *msg = "Low difficulty share"; return;
	case SHARE_BAD_NTIME: *code = STRATUM_ERR_OTHER; *msg = "Invalid ntime"; return;
	case SHARE_BAD_VERSION: *code = STRATUM_ERR_OTHER; *msg = "Invalid version bits"; return;
	case SHARE_BAD_EXTRANONCE2:
		*code = STRATUM_ERR_OTHER;
		*msg = "Invalid extranonce2 size";
		return;
	default: *code = STRATUM_ERR_OTHER; *msg = "Invalid share"; return;
	}
}

/* The lowest difficulty this miner's shares must meet now. */
static double required_difficulty(const struct conn *c, double now)
{
	double d = c->vardiff.diff;

	if (now < c->old_diff_until && c->vardiff.old_diff > 0 && c->vardiff.old_diff < d)
		d = c->vardiff.old_diff;
	return d;
}

/* The signature text of c's coinbase: btcsig then the miner's own. */
static void describe_coinbase_sig(const struct conn *c, char *out, size_t len)
{
	char address[ADDRESS_MAX_LEN + 1], sig[MINER_SIG_MAX + 1];
	const char *miner = coinbase_sigs_lookup(conn_address(c, address, sizeof(address)), sig);

	snprintf(out, len, "%s%s", stratum_settings()->cfg->btcsig, miner ? miner : "");
}

static void hand_block_to_submit(struct conn *c, const struct conn_job *job,
				 const struct share_output *out, const struct submission *s,
				 double judged, double found_at)
{
	const size_t n1 = (size_t)stratum_settings()->cfg->nonce1length;
	struct buf coinbase = BUF_INIT;
	struct block_candidate cand = { 0 };

	coinbase_join(&coinbase, job->coinbase, job->coinb1_len, c->nonce1, n1, s->nonce2,
		      s->nonce2_len, job->coinbase + job->coinb1_len, job->coinb2_len);
	cand.block_hex = block_assemble_hex(job->wb, out->header, coinbase.data, coinbase.len);
	buf_free(&coinbase);
	if (!cand.block_hex) {
		log_error("stratum", "client %llu solved a block but it cannot be assembled",
			  (unsigned long long)c->id);
		return;
	}
	block_hash_hex(out->header, cand.hash);
	cand.height = job->wb->height;
	cand.job_id = s->job_id;
	cand.client_id = c->id;
	conn_address(c, cand.address, sizeof(cand.address));
	copy_string(cand.worker, conn_worker(c), sizeof(cand.worker));
	cand.diff = judged;
	cand.sdiff = out->diff;
	cand.network_diff = job->wb->network_diff;
	cand.coinbasevalue = job->wb->coinbasevalue;
	copy_string(cand.ip, c->ip, sizeof(cand.ip));
	describe_coinbase_sig(c, cand.coinbase_sig, sizeof(cand.coinbase_sig));
	cand.found_at = found_at;
	submit_block(&cand);
	log_fields(LOG_INFO, "stratum", "block solved",
		   json_pack("{s:s, s:I, s:I, s:s}", "hash", cand.hash, "height",
			     (json_int_t)cand.height, "client_id", (json_int_t)c->id, "address",
			     cand.address));
}

/* share_best_diff for every scope the share improved. The address joins
 * best_diff's session on its first accepted share (not at authorize, so
 * authorizing costs the table nothing). */
static void record_best(struct conn *c, const struct share_output *out)
{
	struct best_diff_store *store = best_diff_global();
	char address[ADDRESS_MAX_LEN + 1], hash[65];
	struct best_diff_result r;

	if (!store)
		return;
	conn_address(c, address, sizeof(address));
	if (!c->best_joined)
		c->best_joined = best_diff_session_join(store, address);
	block_hash_hex(out->header, hash);
	if (!best_diff_record(store, address, out->diff, hash, time(NULL), &r)
	    || !events_wanted("share_best_diff"))
		return;
	for (int scope = 0; scope < BEST_SCOPES; scope++)
		if (r.new_best[scope])
			events_emit("share_best_diff",
				    best_diff_event_data(address, conn_worker(c),
							 (enum best_scope)scope, &r, hash));
}

/* d x 1000 as an integer, saturating (the cast of an out-of-range double is
 * undefined behaviour). */
static uint_fast64_t milli_of(double d)
{
	double m = d * 1000.0;

	if (!(m > 0))
		return 0;
	if (m >= 9.0e18)
		return (uint_fast64_t)9.0e18;
	return (uint_fast64_t)m;
}

/* credited: the difficulty the share was judged against (the lower of the
 * old and new one during a grace period), never more. */
static void account_accepted(struct conn *c, const struct submission *s,
			     const struct share_output *out, const struct workbase *wb,
			     double credited, double now)
{
	struct diff_change why = { c->vardiff.diff, "vardiff", 0 };
	double fresh;

	atomic_fetch_add(&g_stats.shares_accepted, 1);
	atomic_fetch_add(&g_stats.share_diff_accepted_milli, milli_of(credited));
	c->shares_accepted++;
	c->diff_accepted += credited;
	if (out->diff > c->best_diff)
		c->best_diff = out->diff;
	emit_share(c, s, credited, out->diff, true, "", out, wb);
	hashrate_tracker_record(c->username, credited, now);
	record_best(c, out);
	why.shares_per_min = window_shares_per_min(&c->vardiff, 1, now);
	if (vardiff_on_share(&c->vardiff, &stratum_settings()->vardiff, now, &fresh))
		change_difficulty(c, &why, true);
}

static bool check_duplicate(struct conn *c, const struct submission *s)
{
	if (!c->dups) {
		c->dups = malloc(sizeof(*c->dups));
		if (!c->dups)
			return false;
		dup_filter_init(c->dups);
	}
	return dup_filter_seen(c->dups, s->job_id, s->nonce2, s->nonce2_len, s->ntime, s->nonce,
			       s->version_bits);
}

/* Hashes a share for job, judged against `judged` (<= 0: no share
 * difficulty, only the checks and the hash); no duplicate check. */
static enum share_result compute_share(const struct conn *c, const struct conn_job *job,
				       const struct submission *s, double judged,
				       struct share_output *out)
{
	const struct config *cfg = stratum_settings()->cfg;
	struct share_input in = {
		.wb = job->wb,
		.coinb1 = job->coinbase, .coinb1_len = job->coinb1_len,
		.coinb2 = job->coinbase + job->coinb1_len, .coinb2_len = job->coinb2_len,
		.nonce1 = c->nonce1, .nonce1_len = (size_t)cfg->nonce1length,
		.nonce2 = s->nonce2, .nonce2_len = s->nonce2_len,
		.nonce2_expected_len = (size_t)cfg->nonce2length,
		.ntime = s->ntime, .nonce = s->nonce,
		.version_bits = s->version_bits, .version_mask = c->version_mask,
		.share_diff = judged,
	};

	return share_compute(&in, out);
}

static enum share_result judge_share(struct conn *c, const struct conn_job *job,
				     const struct submission *s, double judged,
				     struct share_output *out)
{
	enum share_result r = compute_share(c, job, s, judged, out);

	if (r == SHARE_OK && check_duplicate(c, s))
		return SHARE_DUPLICATE;
	return r;
}

/* Job lookup: JOB_LIVE jobs come back; otherwise *r says stale or unknown
 * and *held is the connection's slot when it still has the (stale) job. */
static struct conn_job *live_job(struct conn *c, uint64_t job_id, enum share_result *r,
				 struct conn_job **held)
{
	struct conn_job *job = conn_find_job(c, job_id);

	*held = job;
	if (job && job->block_seq == jobs_block_seq())
		return job;
	*r = job || jobs_state_of(job_id) != JOB_UNKNOWN ? SHARE_STALE : SHARE_JOB_NOT_FOUND;
	return NULL;
}

/* A share for a job of an older block may still solve that block, which
 * can win a race for the tip: hashed anyway, and a solution is submitted
 * (once) before the share is rejected as stale. */
static void submit_if_stale_block(struct conn *c, const struct conn_job *job,
				  const struct submission *s, double now)
{
	struct share_output out;

	if (compute_share(c, job, s, 0, &out) != SHARE_OK || !out.is_block
	    || check_duplicate(c, s))
		return;
	log_fields(LOG_WARN, "stratum", "block solved on a stale job, submitting anyway",
		   json_pack("{s:I, s:I}", "client_id", (json_int_t)c->id, "height",
			     (json_int_t)job->wb->height));
	hand_block_to_submit(c, job, &out, s, required_difficulty(c, now), now);
}

static void reject_with(struct conn *c, const char *id, const struct submission *s,
			enum share_result r, const struct share_output *out,
			const struct workbase *wb)
{
	const char *msg;
	int code;

	describe_rejection(r, &code, &msg);
	reject_share(c, id, s, r, code, msg, out, wb);
}

/* Params that are not the hex strings of a submit: a protocol error. */
static void reject_malformed(struct conn *c, const char *id, const struct submission *s)
{
	atomic_fetch_add(&g_stats.shares_rejected[REJECT_INVALID], 1);
	c->shares_rejected++;
	reply_error_text(c, id, STRATUM_ERR_OTHER,
			 "Invalid submit parameters: expected [worker, job_id, extranonce2, "
			 "ntime, nonce(, version_bits)] as hex strings");
	emit_share(c, s, c->vardiff.diff, 0, false, share_result_reason(SHARE_INVALID), NULL,
		   NULL);
	note_protocol_error(c);
}

/* id: the request id as JSON text (stratum_id_text). */
static void handle_submit(struct conn *c, const char *id, const struct submit_params *params)
{
	struct submission s;
	struct share_output out;
	struct conn_job *job, *held;
	enum share_result r = SHARE_INVALID;
	double now = now_monotonic(), judged;

	if (!c->subscribed || !c->authorized) {
		reject_unready(c, id, c->subscribed ? REJECT_UNAUTHORIZED : REJECT_NOT_SUBSCRIBED);
		return;
	}
	if (decode_submission(params, &s)) {
		reject_malformed(c, id, &s);
		return;
	}
	job = live_job(c, s.job_id, &r, &held);
	if (!job) {
		if (held)
			submit_if_stale_block(c, held, &s, now);
		reject_with(c, id, &s, r, NULL, NULL);
		return;
	}
	judged = required_difficulty(c, now);
	r = judge_share(c, job, &s, judged, &out);
	if (r == SHARE_OK && out.is_block)
		hand_block_to_submit(c, job, &out, &s, judged, now);
	if (r != SHARE_OK) {
		reject_with(c, id, &s, r, r == SHARE_LOW_DIFF || r == SHARE_DUPLICATE ? &out : NULL,
			    job->wb);
		return;
	}
	reply_result_text(c, id, "true");
	account_accepted(c, &s, &out, job->wb, judged, now);
}

static void handle_submit_json(struct conn *c, const json_t *id, const json_t *params)
{
	struct submit_params p = { .n = json_array_size(params) };
	char idt[ID_TEXT_MAX];

	if (p.n != 5 && p.n != 6)
		p.n = 0;
	for (size_t i = 0; i < p.n; i++) {
		p.v[i] = json_string_value(json_array_get(params, i));
		if (!p.v[i])
			p.n = 0;
	}
	handle_submit(c, stratum_id_text(id, idt), &p);
}

/* ---- dispatch ---- */

void stratum_conn_init(struct conn *c)
{
	const struct stratum_settings *st = stratum_settings();

	vardiff_init(&c->vardiff, &st->vardiff, st->cfg->startdiff, now_monotonic());
}

static void handle_garbage(struct conn *c, const char *why)
{
	reply_error(c, NULL, STRATUM_ERR_OTHER, why);
	note_protocol_error(c);
}

static void dispatch(struct conn *c, const char *method, const json_t *id, const json_t *params)
{
	if (!strcmp(method, "mining.submit"))
		handle_submit_json(c, id, params);
	else if (!strcmp(method, "mining.subscribe"))
		handle_subscribe(c, id, params);
	else if (!strcmp(method, "mining.authorize"))
		handle_authorize(c, id, params);
	else if (!strcmp(method, "mining.configure"))
		handle_configure(c, id, params);
	else if (!strcmp(method, "mining.suggest_difficulty"))
		handle_suggest_difficulty(c, id, params);
	else if (!strcmp(method, "mining.extranonce.subscribe"))
		reply_result(c, id, "true");
	else {
		char msg[128];

		snprintf(msg, sizeof(msg), "Unknown method '%.64s'", method);
		reply_error(c, id, STRATUM_ERR_OTHER, msg);
		note_protocol_error(c);
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
	handle_submit(c, f.idt, &f.params);
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
		reply_error(c, id, STRATUM_ERR_OTHER, "Missing method");
		note_protocol_error(c);
		json_decref(req);
		return;
	}
	if (!params || json_is_null(params))
		params = NULL;
	else if (!json_is_array(params)) {
		reply_error(c, id, STRATUM_ERR_OTHER, "params must be an array");
		note_protocol_error(c);
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
	why.shares_per_min = window_shares_per_min(&c->vardiff, c->vardiff.shares ? 0 : 1, now);
	if (vardiff_on_tick(&c->vardiff, &stratum_settings()->vardiff, now, &fresh)) {
		if (fresh > why.old_diff)
			why.reason = "vardiff";
		change_difficulty(c, &why, true);
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

	add_miner_fields(data, c);
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
