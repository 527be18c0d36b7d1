/*
 * stratum_submit.c - owns mining.submit from the request to the answer:
 * decoding the fields, finding the job, judging the share (stale,
 * duplicate, low difficulty, ...), accounting an accepted one (counters,
 * vardiff, hashrate, best difficulty), handing a solved block to submit,
 * and the share_submitted and share_best_diff events.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "stratum_submit.h"
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
#include "stratum_session.h"
#include "submit.h"
#include "util.h"
#include "workbase.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	session_add_miner_fields(data, c);
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
	session_reply_error_text(c, id, code, msg);
	emit_share(c, s, c->vardiff.diff, out ? out->diff : 0, false, share_result_reason(r), out,
		   wb);
}

static void reject_unready(struct conn *c, const char *id, enum reject_reason reason)
{
	atomic_fetch_add(&g_stats.shares_rejected[reason], 1);
	c->shares_rejected++;
	if (reason == REJECT_NOT_SUBSCRIBED)
		session_reply_error_text(c, id, STRATUM_ERR_NOT_SUBSCRIBED, "Not subscribed");
	else
		session_reply_error_text(c, id, STRATUM_ERR_UNAUTHORIZED, "Unauthorized worker");
	session_note_protocol_error(c);
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
	why.shares_per_min = session_window_shares_per_min(&c->vardiff, 1, now);
	if (vardiff_on_share(&c->vardiff, &stratum_settings()->vardiff, now, &fresh))
		session_change_difficulty(c, &why, true);
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
	reject_share(c, id, s, SHARE_INVALID, STRATUM_ERR_OTHER,
		     "Invalid submit parameters: expected [worker, job_id, extranonce2, ntime, "
		     "nonce(, version_bits)] as hex strings",
		     NULL, NULL);
	session_note_protocol_error(c);
}

/* id: the request id as JSON text (stratum_id_text). */
void stratum_submit(struct conn *c, const char *id, const struct submit_params *params)
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
	session_reply_result_text(c, id, "true");
	account_accepted(c, &s, &out, job->wb, judged, now);
}

void stratum_submit_json(struct conn *c, const json_t *id, const json_t *params)
{
	struct submit_params p = { .n = json_array_size(params) };
	char idt[STRATUM_ID_TEXT_MAX];

	if (p.n != 5 && p.n != 6)
		p.n = 0;
	for (size_t i = 0; i < p.n; i++) {
		p.v[i] = json_string_value(json_array_get(params, i));
		if (!p.v[i])
			p.n = 0;
	}
	stratum_submit(c, stratum_id_text(id, idt), &p);
}
