/*
 * relay_client.c - owns the passthrough relay's link to the primary: the
 * connect / handshake / reconnect loop, template delivery, heartbeats and
 * RTT, blocks sent up with their pending results, and the link's counters.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Locking: the link thread alone touches the socket and struct relay_link.
 * The mutex guards what other threads see or hand over: the statistics and
 * the table of pending blocks. Callbacks run on the link thread with the
 * mutex released.
 */
#include "relay_client.h"
#include "log.h"
#include "metrics.h"
#include "relay_auth.h"
#include "relay_link.h"
#include "relay_tls.h"
#include "template_codec.h"
#include "util.h"
#include "workbase.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define COMPONENT "relay_client"
#define MAX_PENDING_BLOCKS 32
#define TICK_MS 100
#define STALL_MIN_S 30.0

enum link_state { LINK_DOWN, LINK_AWAIT_CHALLENGE, LINK_AWAIT_AUTH_REPLY, LINK_READY };

struct pending_block {
	uint64_t id;
	relay_block_done_fn done;
	void *ctx;
	double started;                  /* monotonic s */
	struct relay_msg *msg;           /* NULL once handed to the link */
};

struct completion {
	relay_block_done_fn done;
	void *ctx;
	bool accepted;
	double ms;
	char result[RELAY_RESULT_MAX + 16];
};

/* Outcomes collected under the lock, delivered after it is released. */
struct completions {
	struct completion *items;
	size_t count, cap;
};

static struct client {
	pthread_mutex_t lock;
	bool running;                    /* accepting submissions */
	atomic_bool stopping;
	pthread_t thread;
	int wake_fd;
	struct relay_client_config cfg;
	char *host, *token, *region, *instance;
	double heartbeat_s, dead_after_s, handshake_s, reconnect_s, block_timeout_s;

	/* link thread only */
	struct relay_link link;
	uint8_t client_nonce[RELAY_NONCE_LEN];
	uint8_t server_nonce[RELAY_NONCE_LEN];
	double session_start, last_ping_at;
	const char *end_reason;
	bool ever_up;
	struct template_ring known;      /* transactions of the last templates (template_codec.h) */
	bool awaiting_full;              /* REQUEST_FULL sent, no FULL template since */

	/* under lock */
	enum link_state state;
	double started_mono, last_contact_mono;
	struct relay_client_stats st;
	double latency_ring[RELAY_LATENCY_WINDOW];
	size_t latency_count, latency_next;
	double latency_sum;
	struct pending_block pending[MAX_PENDING_BLOCKS];
	size_t pending_count;
	uint64_t next_request_id;
	uint64_t blocks_timeout, blocks_link_down, blocks_busy;
} cli = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake_fd = -1,
};

static void wake_link_thread(void)
{
	uint64_t one = 1;

	if (cli.wake_fd >= 0 && write(cli.wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn(COMPONENT, "cannot wake the relay link thread: %s", strerror(errno));
}

static void drain_wake_fd(void)
{
	uint64_t v;

	while (read(cli.wake_fd, &v, sizeof(v)) > 0)
		;
}

static json_t *primary_fields(void)
{
	return json_pack("{s:s, s:i}", "primary_host", cli.host, "primary_port", cli.cfg.port);
}

/* ---- pending blocks ---- */

static void complete(struct completions *out, struct pending_block *pb, const char *result,
		     double now)
{
	struct completion *c;

	if (out->count == out->cap) {
		out->cap = out->cap ? 2 * out->cap : 8;
		out->items = realloc_or_abort(out->items, out->cap * sizeof(*out->items));
	}
	c = &out->items[out->count++];
	c->done = pb->done;
	c->ctx = pb->ctx;
	c->accepted = result == NULL;
	c->ms = (now - pb->started) * 1000.0;
	copy_string(c->result, result ? result : "", sizeof(c->result));
	relay_msg_unref(pb->msg);
	*pb = cli.pending[--cli.pending_count];
}

static void count_local_failure(const char *result)
{
	if (!strcmp(result, "timeout"))
		cli.blocks_timeout++;
	else if (!strcmp(result, "busy"))
		cli.blocks_busy++;
	else
		cli.blocks_link_down++;
}

/* Hands new blocks to the link (or fails them when it is not up) and
 * expires those waiting too long. Called with the lock held. */
static void tend_pending(bool link_ready, double now, struct completions *out)
{
	for (size_t i = 0; i < cli.pending_count;) {
		struct pending_block *pb = &cli.pending[i];
		const char *fail = NULL;

		if (pb->msg && !link_ready)
			fail = "link-down";
		else if (pb->msg && relay_link_send(&cli.link, pb->msg) < 0)
			fail = "busy";
		else if (pb->msg) {
			relay_msg_unref(pb->msg);
			pb->msg = NULL;
			cli.st.blocks_sent++;
		} else if (now - pb->started > cli.block_timeout_s)
			fail = "timeout";
		if (!fail) {
			i++;
			continue;
		}
		count_local_failure(fail);
		complete(out, pb, fail, now);
	}
}

static void fail_all_pending(const char *why, struct completions *out)
{
	double now = now_monotonic();

	while (cli.pending_count) {
		count_local_failure(why);
		complete(out, &cli.pending[0], why, now);
	}
}

static void deliver(struct completions *done)
{
	for (size_t i = 0; i < done->count; i++) {
		struct completion *c = &done->items[i];

		if (c->done)
			c->done(c->accepted ? NULL : c->result, c->ms, c->ctx);
	}
	free(done->items);
	done->items = NULL;
	done->count = done->cap = 0;
}

static void log_block_sent(uint64_t id, int64_t height, const char *hash, size_t bytes)
{
	json_t *f = primary_fields();

	json_object_set_new(f, "request_id", json_integer((json_int_t)id));
	json_object_set_new(f, "height", json_integer(height));
	json_object_set_new(f, "hash", json_string(hash));
	json_object_set_new(f, "bytes", json_integer((json_int_t)bytes));
	log_fields(LOG_INFO, COMPONENT, "block sent to primary", f);
}

uint64_t relay_client_submit_block(const char *hex, int64_t height, const char *hash,
				   relay_block_done_fn done, void *ctx)
{
	size_t len = hex ? strlen(hex) : 0;
	struct relay_msg *m;
	struct pending_block *pb;
	uint64_t id;

	if (!len || len % 2 || !hash || strlen(hash) != 64)
		return 0;
	pthread_mutex_lock(&cli.lock);
	if (!cli.running || cli.pending_count == MAX_PENDING_BLOCKS) {
		bool running = cli.running;

		pthread_mutex_unlock(&cli.lock);
		if (running)
			log_warn(COMPONENT, "block %s not sent to primary: too many pending", hash);
		return 0;
	}
	id = cli.next_request_id++;
	m = relay_msg_block(id, height, hash, hex, len);
	if (!m) {
		pthread_mutex_unlock(&cli.lock);
		return 0;
	}
	pb = &cli.pending[cli.pending_count++];
	*pb = (struct pending_block){ .id = id, .done = done, .ctx = ctx,
				      .started = now_monotonic(), .msg = m };
	log_block_sent(id, height, hash, len / 2);
	pthread_mutex_unlock(&cli.lock);
	wake_link_thread();
	return id;
}

/* ---- statistics ---- */

/* Records that the authenticated primary was heard from. */
static void note_contact_locked(void)
{
	cli.last_contact_mono = now_monotonic();
	cli.st.last_contact_us = now_unix_us();
}

static void note_contact_if_ready(void)
{
	pthread_mutex_lock(&cli.lock);
	if (cli.state == LINK_READY)
		note_contact_locked();
	pthread_mutex_unlock(&cli.lock);
}

static void record_latency(double ms)
{
	cli.st.template_latency_ms = ms;
	cli.latency_ring[cli.latency_next] = ms;
	cli.latency_next = (cli.latency_next + 1) % RELAY_LATENCY_WINDOW;
	if (cli.latency_count < RELAY_LATENCY_WINDOW)
		cli.latency_count++;
	cli.latency_sum += ms;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Quantile q of the latency window (nearest rank); -1 when empty. */
static double latency_quantile(double q)
{
	double sorted[RELAY_LATENCY_WINDOW];
	size_t n = cli.latency_count, rank;

	if (!n)
		return -1;
	memcpy(sorted, cli.latency_ring, n * sizeof(double));
	qsort(sorted, n, sizeof(double), compare_doubles);
	rank = (size_t)ceil(q * (double)n);
	return sorted[rank ? rank - 1 : 0];
}

static void set_link_up(void)
{
	pthread_mutex_lock(&cli.lock);
	cli.state = LINK_READY;
	note_contact_locked();
	cli.st.link_up = true;
	cli.st.connected_since_us = now_unix_us();
	cli.st.link_down_since_us = 0;
	if (cli.ever_up)
		cli.st.reconnects++;
	cli.ever_up = true;
	pthread_mutex_unlock(&cli.lock);
}

/* Marks the link down; returns whether it was up. */
static bool set_link_down(void)
{
	bool was_up;

	pthread_mutex_lock(&cli.lock);
	was_up = cli.st.link_up;
	cli.state = LINK_DOWN;
	cli.st.link_up = false;
	cli.st.connected_since_us = 0;
	if (!cli.st.link_down_since_us)
		cli.st.link_down_since_us = now_unix_us();
	pthread_mutex_unlock(&cli.lock);
	return was_up;
}

static void set_state(enum link_state s)
{
	pthread_mutex_lock(&cli.lock);
	cli.state = s;
	pthread_mutex_unlock(&cli.lock);
}

/* ---- frames from the primary ---- */

static int end_session(const char *reason)
{
	cli.end_reason = reason;
	return -1;
}

static int malformed(unsigned type)
{
	pthread_mutex_lock(&cli.lock);
	cli.st.frames_rejected[RELAY_REJECT_MALFORMED]++;
	pthread_mutex_unlock(&cli.lock);
	log_warn(COMPONENT, "primary sent a malformed %s frame", relay_frame_type_name(type));
	return end_session("malformed frame");
}

static void send_or_end(struct relay_msg *m)
{
	if (!m || relay_link_send(&cli.link, m) < 0)
		cli.end_reason = "output queue full";
	relay_msg_unref(m);
}


static int on_challenge(const struct relay_frame *f)
{
	uint8_t proof[RELAY_MAC_LEN];

	if (relay_parse_32(f->payload, f->len, cli.server_nonce))
		return malformed(f->type);
	if (relay_auth_proof(RELAY_AUTH_RELAY, cli.token, cli.server_nonce, cli.client_nonce,
			     cli.region, cli.instance, proof))
		return end_session("cannot compute proof");
	send_or_end(relay_msg_32(RELAY_AUTH, proof));
	set_state(LINK_AWAIT_AUTH_REPLY);
	relay_decoder_allow(&cli.link.dec, RELAY_TYPES_CLIENT_AUTH_REPLY);
	return 0;
}

static void count_auth_failure(void)
{
	pthread_mutex_lock(&cli.lock);
	cli.st.auth_failures++;
	pthread_mutex_unlock(&cli.lock);
}

static int on_auth_ok(const struct relay_frame *f, double now)
{
	uint8_t proof[RELAY_MAC_LEN];

	if (relay_parse_32(f->payload, f->len, proof))
		return malformed(f->type);
	if (!relay_auth_check(RELAY_AUTH_PRIMARY, cli.token, cli.server_nonce, cli.client_nonce,
			      cli.region, cli.instance, proof)) {
		count_auth_failure();
		log_fields(LOG_ERROR, COMPONENT, "primary failed to prove the auth token",
			   primary_fields());
		return end_session("primary proof invalid");
	}
	relay_decoder_allow(&cli.link.dec, RELAY_TYPES_CLIENT_READY);
	cli.last_ping_at = now - cli.heartbeat_s; /* first PING at once: early RTT */
	set_link_up();
	log_fields(LOG_INFO, COMPONENT, "relay link up", primary_fields());
	if (cli.cfg.on_link_change)
		cli.cfg.on_link_change(true, NULL, cli.cfg.ctx);
	return 0;
}

static int on_auth_fail(const struct relay_frame *f)
{
	char reason[RELAY_REASON_MAX + 1];
	json_t *fields = primary_fields();

	relay_parse_auth_fail(f->payload, f->len, reason, sizeof(reason));
	count_auth_failure();
	json_object_set_new(fields, "reason", json_string(reason));
	log_fields(LOG_ERROR, COMPONENT, "primary refused authentication", fields);
	return end_session("authentication refused");
}

/* Where a template's latency went, for the log line (milliseconds). */
struct template_timing {
	double arrive_ms;         /* primary's send time -> frame complete here */
	double decode_ms;         /* payload -> workbase (includes workbase_ms) */
	double workbase_ms;       /* workbase_from_parts alone */
	double publish_ms;        /* the on_workbase callback (generator publish) */
	double latency_ms;        /* primary's send time -> published here */
};

static void log_template(const struct template_enc *e, size_t bytes,
			 const struct template_timing *t)
{
	json_t *f = primary_fields();

	json_object_set_new(f, "primary_workbase_id", json_integer((json_int_t)e->workbase_id));
	json_object_set_new(f, "height", json_integer(e->parts.height));
	json_object_set_new(f, "bytes", json_integer((json_int_t)bytes));
	json_object_set_new(f, "txs", json_integer((json_int_t)e->n));
	json_object_set_new(f, "txs_full", json_integer((json_int_t)e->full_entries));
	json_object_set_new(f, "full", json_boolean(e->flags & TEMPLATE_FLAG_FULL));
	json_object_set_new(f, "arrive_ms", json_real(t->arrive_ms));
	json_object_set_new(f, "decode_ms", json_real(t->decode_ms));
	json_object_set_new(f, "workbase_ms", json_real(t->workbase_ms));
	json_object_set_new(f, "publish_ms", json_real(t->publish_ms));
	json_object_set_new(f, "latency_ms", json_real(t->latency_ms));
	log_fields(LOG_INFO, COMPONENT, "template received", f);
}

/* A template referenced transactions this relay does not hold: nothing
 * is mined from it; ask once for a full one. */
static int request_full(const struct relay_frame *f, const char *why)
{
	uint64_t send_us = 0, workbase_id = 0;
	json_t *fields = primary_fields();

	template_peek(f->payload, f->len, &send_us, &workbase_id);
	pthread_mutex_lock(&cli.lock);
	cli.st.full_requests += !cli.awaiting_full;
	pthread_mutex_unlock(&cli.lock);
	json_object_set_new(fields, "primary_workbase_id", json_integer((json_int_t)workbase_id));
	json_object_set_new(fields, "error", json_string(why));
	json_object_set_new(fields, "requested", json_boolean(!cli.awaiting_full));
	log_fields(LOG_WARN, COMPONENT, "incomplete template from primary: asked for a full one",
		   fields);
	if (!cli.awaiting_full)
		send_or_end(relay_msg_u64(RELAY_REQUEST_FULL, workbase_id));
	cli.awaiting_full = true;
	return 0;
}

/* The primary's merkle branch (protocol 3) saved the relay hashing the tree
 * before publishing; check it now, off the latency path. A wrong one (a
 * primary bug: it is trusted for the template's content) would only make
 * blocks found on wb invalid, so the template is republished with the
 * relay's own branch at once. */
static void check_branch(const struct template_enc *e, const struct workbase *wb)
{
	uint8_t branch[MERKLE_BRANCH_MAX][32];
	struct workbase_parts parts;
	struct workbase *fixed;
	char err[256];
	size_t n;

	if (!e->parts.has_branch)
		return;
	n = merkle_branch_for_coinbase((const uint8_t (*)[32])wb->txids, wb->tx_count, branch);
	if (n == wb->branch_len && !memcmp(branch, wb->branch, n * sizeof(branch[0])))
		return;
	pthread_mutex_lock(&cli.lock);
	cli.st.branch_mismatches++;
	pthread_mutex_unlock(&cli.lock);
	log_error(COMPONENT, "primary's template %llu has a wrong merkle branch: republished "
		  "with the relay's own", (unsigned long long)e->workbase_id);
	parts = e->parts;
	parts.has_branch = false;
	fixed = workbase_from_parts(&parts, e->txs, e->n, err, sizeof(err));
	if (fixed && cli.cfg.on_workbase)
		cli.cfg.on_workbase(fixed, e->workbase_id, e->send_us, cli.cfg.ctx);
	else
		workbase_unref(fixed);
}

static int on_template(const struct relay_frame *f)
{
	int64_t arrive_us = now_unix_us();
	double t0 = now_monotonic(), t1, t2;
	struct template_timing tm;
	struct template_enc *e;
	struct workbase *wb;
	char err[256];
	int rc = template_decode(f->payload, f->len, &cli.known, &e, err, sizeof(err));

	if (rc == TEMPLATE_MISSING)
		return request_full(f, err);
	if (rc != TEMPLATE_OK) {
		log_warn(COMPONENT, "malformed template from primary: %s", err);
		return malformed(f->type);
	}
	if (e->flags & TEMPLATE_FLAG_FULL)
		cli.awaiting_full = false;
	t1 = now_monotonic();
	wb = template_enc_workbase(e, err, sizeof(err));
	t2 = now_monotonic();
	tm.arrive_ms = (double)(arrive_us - (int64_t)e->send_us) / 1000.0;
	tm.decode_ms = (t2 - t0) * 1000.0;
	tm.workbase_ms = (t2 - t1) * 1000.0;
	if (!wb) {
		log_error(COMPONENT, "primary's template %llu refused: %s",
			  (unsigned long long)e->workbase_id, err);
		template_ring_push(&cli.known, e);
		template_enc_unref(e);
		return 0;
	}
	workbase_ref(wb);       /* for check_branch: the callback takes one reference */
	if (cli.cfg.on_workbase)
		cli.cfg.on_workbase(wb, e->workbase_id, e->send_us, cli.cfg.ctx);
	else
		workbase_unref(wb);
	tm.latency_ms = (double)(now_unix_us() - (int64_t)e->send_us) / 1000.0;
	tm.publish_ms = (now_monotonic() - t2) * 1000.0;
	/* the primary counts every template it sent as held: so do we (after
	 * publishing: only the next frame needs it) */
	template_ring_push(&cli.known, e);
	check_branch(e, wb);
	workbase_unref(wb);
	pthread_mutex_lock(&cli.lock);
	cli.st.templates_received++;
	cli.st.template_txs_full += e->full_entries;
	cli.st.template_txs_referenced += e->n - e->full_entries;
	record_latency(tm.latency_ms);
	pthread_mutex_unlock(&cli.lock);
	log_template(e, f->len, &tm);
	template_enc_unref(e);
	return 0;
}

static struct pending_block *find_pending(uint64_t id)
{
	for (size_t i = 0; i < cli.pending_count; i++)
		if (cli.pending[i].id == id)
			return &cli.pending[i];
	return NULL;
}

static void log_block_result(const struct relay_block_result *r, const char *result, double ms)
{
	json_t *f = primary_fields();

	json_object_set_new(f, "request_id", json_integer((json_int_t)r->request_id));
	json_object_set_new(f, "result", result ? json_string(result) : json_null());
	json_object_set_new(f, "primary_submit_ms", json_real(r->submit_us / 1000.0));
	json_object_set_new(f, "ms", json_real(ms));
	log_fields(result ? LOG_WARN : LOG_INFO, COMPONENT, "block result from primary", f);
}

/* The outcome string handed to done(): NULL when accepted. */
static const char *result_text(const struct relay_block_result *r, char *buf, size_t len)
{
	if (r->status == RELAY_BLOCK_ACCEPTED)
		return NULL;
	if (r->status == RELAY_BLOCK_REJECTED)
		return copy_string(buf, r->text[0] ? r->text : "rejected", len);
	snprintf(buf, len, "error: %s", r->text);
	return buf;
}

static int on_block_result(const struct relay_frame *f, struct completions *done)
{
	struct relay_block_result r;
	struct pending_block *pb;
	char text[RELAY_RESULT_MAX + 16];
	const char *result;
	double now = now_monotonic(), ms = -1;

	if (relay_parse_block_result(f->payload, f->len, &r))
		return malformed(f->type);
	result = result_text(&r, text, sizeof(text));
	pthread_mutex_lock(&cli.lock);
	pb = find_pending(r.request_id);
	if (pb) {
		ms = (now - pb->started) * 1000.0;
		if (!result)
			cli.st.blocks_accepted++;
		else if (r.status == RELAY_BLOCK_REJECTED)
			cli.st.blocks_rejected++;
		else
			cli.st.blocks_failed++;
		complete(done, pb, result, now);
	}
	pthread_mutex_unlock(&cli.lock);
	log_block_result(&r, result, ms);
	return 0;
}

static int on_ping(const struct relay_frame *f)
{
	uint64_t token;

	if (relay_parse_u64(f->payload, f->len, &token))
		return malformed(f->type);
	send_or_end(relay_msg_u64(RELAY_PONG, token));
	return 0;
}

static int on_pong(const struct relay_frame *f)
{
	uint64_t token, now = now_monotonic_us();

	if (relay_parse_u64(f->payload, f->len, &token))
		return malformed(f->type);
	if (token <= now) {
		pthread_mutex_lock(&cli.lock);
		cli.st.rtt_ms = (double)(now - token) / 1000.0;
		pthread_mutex_unlock(&cli.lock);
	}
	return 0;
}

static int handle_frame(struct relay_frame *f, void *ctx)
{
	struct completions *done = ctx;

	note_contact_if_ready();
	switch (f->type) {
	case RELAY_CHALLENGE:
		return on_challenge(f);
	case RELAY_AUTH_OK:
		return on_auth_ok(f, now_monotonic());
	case RELAY_AUTH_FAIL:
		return on_auth_fail(f);
	case RELAY_TEMPLATE:
		return on_template(f);
	case RELAY_BLOCK_RESULT:
		return on_block_result(f, done);
	case RELAY_PING:
		return on_ping(f);
	case RELAY_PONG:
		return on_pong(f);
	default:
		return malformed(f->type);
	}
}

/* ---- one session ---- */

static void count_rejected_frame(enum relay_reject why)
{
	pthread_mutex_lock(&cli.lock);
	cli.st.frames_rejected[why]++;
	pthread_mutex_unlock(&cli.lock);
	log_warn(COMPONENT, "frame from primary rejected: %s", relay_reject_name(why));
}

static enum link_state current_state(void)
{
	enum link_state s;

	pthread_mutex_lock(&cli.lock);
	s = cli.state;
	pthread_mutex_unlock(&cli.lock);
	return s;
}

/* The specific TLS failure (relay_tls.h), counted by the link. */
static void note_tls_failure(void)
{
	json_t *f = primary_fields();

	json_object_set_new(f, "reason",
			    json_string(relay_tls_failure_name(cli.link.tls_failure)));
	json_object_set_new(f, "detail", json_string(cli.link.tls_detail));
	log_fields(LOG_ERROR, COMPONENT, "TLS connection to primary failed", f);
	cli.end_reason = "tls error";
}

static void read_link(double now, struct completions *done)
{
	enum relay_link_status st = relay_link_receive(&cli.link, handle_frame, done, now);

	if (st == RELAY_LINK_OK || cli.end_reason)
		return;
	if (st == RELAY_LINK_TLS_ERROR)
		note_tls_failure();
	else if ((st == RELAY_LINK_EOF
		  || (st == RELAY_LINK_IO_ERROR && cli.link.io_errno == ECONNRESET))
		 && !cli.cfg.tls && current_state() == LINK_AWAIT_CHALLENGE)
		/* a TLS primary closes a plaintext HELLO unread (a reset) without a word */
		cli.end_reason = "primary closed the connection before CHALLENGE "
				 "(does it require TLS? relay.tls)";
	else if (st == RELAY_LINK_EOF)
		cli.end_reason = "primary closed the connection";
	else if (st == RELAY_LINK_IO_ERROR)
		cli.end_reason = "read error";
	else if (st == RELAY_LINK_REJECTED) {
		count_rejected_frame(cli.link.reject);
		cli.end_reason = "protocol error";
	} else
		cli.end_reason = "closed";
}

static void check_timers(enum link_state state, double now)
{
	if (state != LINK_READY && now - cli.session_start > cli.handshake_s) {
		cli.end_reason = "handshake timeout";
		if (relay_link_tls_handshaking(&cli.link)) {
			relay_tls_count_failure(RELAY_TLS_CLIENT, RELAY_TLS_HANDSHAKE_TIMEOUT);
			cli.end_reason = "TLS handshake timeout";
		}
	}
	else if (state == LINK_READY && now - cli.link.last_rx > cli.dead_after_s)
		cli.end_reason = "primary silent";
	else if (relay_link_has_output(&cli.link)
		 && now - cli.link.last_tx_progress > fmax(STALL_MIN_S, cli.dead_after_s))
		cli.end_reason = "write stalled";
	else if (state == LINK_READY && now - cli.last_ping_at >= cli.heartbeat_s) {
		cli.last_ping_at = now;
		send_or_end(relay_msg_u64(RELAY_PING, now_monotonic_us()));
	}
}

/* One pass of the session loop after poll() returned. */
static void session_step(const struct pollfd *pfd, struct completions *done)
{
	double now = now_monotonic();
	enum link_state state;

	if (pfd[1].revents & POLLIN)
		drain_wake_fd();
	if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
		read_link(now, done);
	if (cli.end_reason)
		return;
	state = current_state();
	check_timers(state, now);
	pthread_mutex_lock(&cli.lock);
	tend_pending(state == LINK_READY, now, done);
	pthread_mutex_unlock(&cli.lock);
	if (!cli.end_reason) {
		enum relay_link_status st = relay_link_flush(&cli.link, now, NULL);

		if (st == RELAY_LINK_TLS_ERROR)
			note_tls_failure();
		else if (st == RELAY_LINK_EOF)
			cli.end_reason = "primary closed the connection";
		else if (st != RELAY_LINK_OK)
			cli.end_reason = "write error";
	}
}

static void run_session(int fd)
{
	struct completions done = { NULL, 0, 0 };
	double now = now_monotonic();

	relay_link_init(&cli.link, fd, RELAY_TYPES_CLIENT_CHALLENGE, now);
	template_ring_reset(&cli.known); /* a new connection starts from nothing */
	cli.awaiting_full = false;
	cli.session_start = now;
	cli.end_reason = NULL;
	if (cli.cfg.tls && relay_link_start_tls(&cli.link, cli.cfg.tls) < 0) {
		log_error(COMPONENT, "no TLS session: %s", cli.link.tls_detail);
		cli.end_reason = "no TLS session";
	} else if (relay_random_nonce(cli.client_nonce))
		cli.end_reason = "cannot make a nonce";
	else
		send_or_end(relay_msg_hello(cli.region, cli.instance, cli.client_nonce));
	set_state(LINK_AWAIT_CHALLENGE);
	while (!cli.end_reason && !atomic_load(&cli.stopping)) {
		struct pollfd pfd[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = cli.wake_fd, .events = POLLIN },
		};

		if (relay_link_wants_output(&cli.link))
			pfd[0].events |= POLLOUT;
		if (poll(pfd, 2, TICK_MS) < 0 && errno != EINTR) {
			cli.end_reason = "poll failed";
			break;
		}
		session_step(pfd, &done);
		deliver(&done);
	}
	relay_link_close(&cli.link);
	template_ring_reset(&cli.known);
	if (!cli.end_reason)
		cli.end_reason = "shutdown";
}

/* ---- connecting ---- */

/* Waits for a non-blocking connect; 0 when connected. */
static int wait_connected(int fd)
{
	struct pollfd pfd[2] = { { .fd = fd, .events = POLLOUT },
				 { .fd = cli.wake_fd, .events = POLLIN } };
	int rc, soerr = 0;
	socklen_t len = sizeof(soerr);

	rc = poll(pfd, 2, (int)(cli.handshake_s * 1000));
	if (rc <= 0 || !(pfd[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
		errno = rc == 0 ? ETIMEDOUT : EINTR;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
		errno = soerr ? soerr : errno;
		return -1;
	}
	return 0;
}

static int connect_one(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0
	    || (errno == EINPROGRESS && wait_connected(fd) == 0))
		return fd;
	close(fd);
	return -1;
}

/* A connected socket to the primary, or -1 with the error in why. */
static int connect_to_primary(char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char port[8];
	int fd = -1, rc;

	snprintf(port, sizeof(port), "%d", cli.cfg.port);
	rc = getaddrinfo(cli.host, port, &hints, &res);
	if (rc) {
		snprintf(why, whylen, "cannot resolve: %s", gai_strerror(rc));
		return -1;
	}
	for (const struct addrinfo *ai = res; ai && fd < 0 && !atomic_load(&cli.stopping);
	     ai = ai->ai_next)
		fd = connect_one(ai);
	if (fd < 0)
		snprintf(why, whylen, "%s", strerror(errno));
	freeaddrinfo(res);
	return fd;
}

/* ---- the link thread ---- */

/* Sleeps up to `seconds`, waking for submissions (failed: no link) and stop. */
static void wait_before_retry(double seconds)
{
	double until = now_monotonic() + seconds;
	struct completions done = { NULL, 0, 0 };

	while (!atomic_load(&cli.stopping)) {
		double left = until - now_monotonic();
		struct pollfd pfd = { .fd = cli.wake_fd, .events = POLLIN };

		pthread_mutex_lock(&cli.lock);
		tend_pending(false, now_monotonic(), &done);
		pthread_mutex_unlock(&cli.lock);
		deliver(&done);
		if (left <= 0)
			return;
		if (poll(&pfd, 1, (int)(left * 1000) + 1) > 0)
			drain_wake_fd();
	}
}

static void finish_session(void)
{
	struct completions done = { NULL, 0, 0 };
	json_t *f = primary_fields();

	if (!set_link_down()) {
		json_object_set_new(f, "reason", json_string(cli.end_reason));
		log_fields(LOG_WARN, COMPONENT, "relay link not established", f);
		pthread_mutex_lock(&cli.lock);
		cli.st.connect_failures++;
		pthread_mutex_unlock(&cli.lock);
	} else {
		json_object_set_new(f, "reason", json_string(cli.end_reason));
		log_fields(LOG_WARN, COMPONENT, "relay link down", f);
		if (cli.cfg.on_link_change)
			cli.cfg.on_link_change(false, cli.end_reason, cli.cfg.ctx);
	}
	pthread_mutex_lock(&cli.lock);
	fail_all_pending("link-down", &done);
	pthread_mutex_unlock(&cli.lock);
	deliver(&done);
}

static void note_connect_failure(const char *why)
{
	json_t *f = primary_fields();

	json_object_set_new(f, "error", json_string(why));
	log_fields(LOG_WARN, COMPONENT, "cannot connect to primary", f);
	pthread_mutex_lock(&cli.lock);
	cli.st.connect_failures++;
	pthread_mutex_unlock(&cli.lock);
}

static void *client_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&cli.stopping)) {
		char why[256];
		int fd = connect_to_primary(why, sizeof(why));

		if (fd >= 0) {
			log_fields(LOG_INFO, COMPONENT, "connected to primary", primary_fields());
			run_session(fd);
			finish_session();
		} else if (!atomic_load(&cli.stopping)) {
			note_connect_failure(why);
		}
		if (!atomic_load(&cli.stopping))
			wait_before_retry(cli.reconnect_s);
	}
	return NULL;
}

/* ---- start / stop ---- */

static int check_config(const struct relay_client_config *cfg, char *err, size_t errlen)
{
	const char *problem = NULL;

	if (!cfg->host || !*cfg->host)
		problem = "relay: primary.host must be set in passthrough mode";
	else if (cfg->port < 1 || cfg->port > 65535)
		problem = "relay: primary.template_push_port must be 1-65535";
	else if (!cfg->auth_token || !*cfg->auth_token)
		problem = "relay: primary.auth_token must be set in passthrough mode";
	else if (!cfg->region || !*cfg->region || strlen(cfg->region) > RELAY_REGION_MAX)
		problem = "relay: region must be 1-63 characters";
	else if (cfg->pool_instance && strlen(cfg->pool_instance) > RELAY_INSTANCE_MAX)
		problem = "relay: pool_instance must be at most 127 characters";
	if (problem)
		snprintf(err, errlen, "%s", problem);
	return problem ? -1 : 0;
}

static double ms_or_default(int ms, double def_s)
{
	return ms > 0 ? ms / 1000.0 : def_s;
}

static void apply_config(const struct relay_client_config *cfg)
{
	cli.cfg = *cfg;
	cli.host = strdup_or_abort(cfg->host);
	cli.token = strdup_or_abort(cfg->auth_token);
	cli.region = strdup_or_abort(cfg->region);
	cli.instance = strdup_or_abort(cfg->pool_instance ? cfg->pool_instance : "");
	cli.cfg.host = cli.host;
	cli.cfg.auth_token = NULL;
	cli.cfg.region = cli.region;
	cli.cfg.pool_instance = cli.instance;
	cli.heartbeat_s = ms_or_default(cfg->heartbeat_interval_ms, 1.0);
	cli.dead_after_s = ms_or_default(cfg->dead_after_ms, 4 * cli.heartbeat_s);
	cli.handshake_s = ms_or_default(cfg->handshake_timeout_ms, 5.0);
	cli.reconnect_s = ms_or_default(cfg->reconnect_interval_ms, 5.0);
	cli.block_timeout_s = ms_or_default(cfg->block_timeout_ms, 30.0);
}

static void free_config(void)
{
	free(cli.host);
	free(cli.token);
	free(cli.region);
	free(cli.instance);
	cli.host = cli.token = cli.region = cli.instance = NULL;
}

static void reset_link_state(void)
{
	cli.state = LINK_DOWN;
	cli.started_mono = now_monotonic();
	cli.last_contact_mono = 0;
	cli.ever_up = false;
	cli.st.link_up = false;
	cli.st.connected_since_us = 0;
	cli.st.link_down_since_us = now_unix_us();
	cli.st.rtt_ms = -1;
	if (!cli.latency_count)
		cli.st.template_latency_ms = -1;
	if (!cli.next_request_id)
		cli.next_request_id = 1;
}

int relay_client_start(const struct relay_client_config *cfg, char *err, size_t errlen)
{
	int rc;

	if (check_config(cfg, err, errlen))
		return -1;
	pthread_mutex_lock(&cli.lock);
	if (cli.running) {
		pthread_mutex_unlock(&cli.lock);
		snprintf(err, errlen, "relay: client already running");
		return -1;
	}
	cli.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cli.wake_fd < 0) {
		pthread_mutex_unlock(&cli.lock);
		snprintf(err, errlen, "relay: eventfd: %s", strerror(errno));
		return -1;
	}
	apply_config(cfg);
	reset_link_state();
	atomic_store(&cli.stopping, false);
	rc = pthread_create(&cli.thread, NULL, client_main, NULL);
	if (rc) {
		close(cli.wake_fd);
		cli.wake_fd = -1;
		free_config();
		pthread_mutex_unlock(&cli.lock);
		snprintf(err, errlen, "relay: cannot start the link thread: %s", strerror(rc));
		return -1;
	}
	cli.running = true;
	pthread_mutex_unlock(&cli.lock);
	log_fields(LOG_INFO, COMPONENT, "relay client started", primary_fields());
	return 0;
}

void relay_client_stop(void)
{
	struct completions done = { NULL, 0, 0 };

	pthread_mutex_lock(&cli.lock);
	if (!cli.running) {
		pthread_mutex_unlock(&cli.lock);
		return;
	}
	cli.running = false;
	atomic_store(&cli.stopping, true);
	pthread_mutex_unlock(&cli.lock);
	wake_link_thread();
	pthread_join(cli.thread, NULL);

	pthread_mutex_lock(&cli.lock);
	fail_all_pending("link-down", &done);
	cli.state = LINK_DOWN;
	cli.st.link_up = false;
	close(cli.wake_fd);
	cli.wake_fd = -1;
	free_config();
	pthread_mutex_unlock(&cli.lock);
	deliver(&done);
	log_info(COMPONENT, "relay client stopped");
}

/* ---- queries ---- */

bool relay_client_link_up(void)
{
	bool up;

	pthread_mutex_lock(&cli.lock);
	up = cli.st.link_up;
	pthread_mutex_unlock(&cli.lock);
	return up;
}

/* Called with the lock held; -1 when not running. */
static int64_t link_down_for_ms_locked(double now)
{
	double since;

	if (!cli.running)
		return -1;
	if (cli.state == LINK_READY && now - cli.last_contact_mono < 1.5 * cli.heartbeat_s)
		return 0;
	since = cli.last_contact_mono > 0 ? cli.last_contact_mono : cli.started_mono;
	return (int64_t)((now - since) * 1000.0);
}

int64_t relay_client_link_down_for_ms(void)
{
	int64_t ms;

	pthread_mutex_lock(&cli.lock);
	ms = link_down_for_ms_locked(now_monotonic());
	pthread_mutex_unlock(&cli.lock);
	return ms;
}

bool relay_client_should_failover(int failover_threshold)
{
	int64_t down = relay_client_link_down_for_ms();

	if (failover_threshold < 1)
		failover_threshold = 1;
	return down >= 0 && down >= (int64_t)failover_threshold * relay_client_heartbeat_ms();
}

int relay_client_heartbeat_ms(void)
{
	int ms;

	pthread_mutex_lock(&cli.lock);
	ms = cli.heartbeat_s > 0 ? (int)(cli.heartbeat_s * 1000) : 1000;
	pthread_mutex_unlock(&cli.lock);
	return ms;
}

void relay_client_get_stats(struct relay_client_stats *out)
{
	pthread_mutex_lock(&cli.lock);
	*out = cli.st;
	out->template_latency_p50_ms = latency_quantile(0.5);
	pthread_mutex_unlock(&cli.lock);
}

static json_t *number_or_null(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static json_t *time_or_null(int64_t us)
{
	return us ? json_integer((json_int_t)us) : json_null();
}

json_t *relay_client_status_json(void)
{
	json_t *o = json_object();
	char primary[300];

	pthread_mutex_lock(&cli.lock);
	snprintf(primary, sizeof(primary), "%s:%d", cli.host ? cli.host : "", cli.cfg.port);
	json_object_set_new(o, "primary", json_string(primary));
	json_object_set_new(o, "link_up", json_boolean(cli.st.link_up));
	json_object_set_new(o, "connected_since_us", time_or_null(cli.st.connected_since_us));
	json_object_set_new(o, "last_contact_us", time_or_null(cli.st.last_contact_us));
	json_object_set_new(o, "link_down_since_us", time_or_null(cli.st.link_down_since_us));
	json_object_set_new(o, "link_down_for_ms",
			    json_integer(link_down_for_ms_locked(now_monotonic())));
	json_object_set_new(o, "rtt_ms", number_or_null(cli.st.rtt_ms));
	json_object_set_new(o, "template_latency_ms", number_or_null(cli.st.template_latency_ms));
	json_object_set_new(o, "template_latency_p50_ms", number_or_null(latency_quantile(0.5)));
	json_object_set_new(o, "templates_received",
			    json_integer((json_int_t)cli.st.templates_received));
	json_object_set_new(o, "reconnects", json_integer((json_int_t)cli.st.reconnects));
	pthread_mutex_unlock(&cli.lock);
	return o;
}

/* ---- metrics ---- */

static void write_latency_summary(struct buf *out)
{
	static const double quantiles[] = { 0.5, 0.9, 0.99 };
	const char *name = "ckpool_relay_template_latency_seconds";
	char labels[32];

	metrics_family(out, name, "summary",
		       "Primary send to template installed, seconds, over the last 128 templates.");
	for (size_t i = 0; i < 3 && cli.latency_count; i++) {
		snprintf(labels, sizeof(labels), "quantile=\"%g\"", quantiles[i]);
		metrics_sample(out, name, labels, latency_quantile(quantiles[i]) / 1000.0);
	}
	metrics_sample(out, "ckpool_relay_template_latency_seconds_sum", NULL,
		       cli.latency_sum / 1000.0);
	metrics_sample(out, "ckpool_relay_template_latency_seconds_count", NULL,
		       (double)cli.st.templates_received);
}

static void write_block_results(struct buf *out)
{
	const char *name = "ckpool_relay_blocks_sent_total";

	metrics_family(out, name, "counter", "Blocks sent to the primary, by outcome.");
	metrics_sample(out, name, "result=\"accepted\"", (double)cli.st.blocks_accepted);
	metrics_sample(out, name, "result=\"rejected\"", (double)cli.st.blocks_rejected);
	metrics_sample(out, name, "result=\"error\"", (double)cli.st.blocks_failed);
	metrics_sample(out, name, "result=\"timeout\"", (double)cli.blocks_timeout);
	metrics_sample(out, name, "result=\"link_down\"", (double)cli.blocks_link_down);
	metrics_sample(out, name, "result=\"busy\"", (double)cli.blocks_busy);
}

static void write_rejected(struct buf *out)
{
	char labels[64];

	metrics_family(out, "ckpool_relay_frames_rejected_total", "counter",
		       "Frames from the primary refused, by reason; the link is dropped.");
	for (int i = 0; i < RELAY_REJECT_COUNT; i++) {
		snprintf(labels, sizeof(labels), "reason=\"%s\"", relay_reject_name(i));
		metrics_sample(out, "ckpool_relay_frames_rejected_total", labels,
			       (double)cli.st.frames_rejected[i]);
	}
}

void relay_client_write_metrics(struct buf *out, void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&cli.lock);
	metrics_single(out, "ckpool_relay_link_up", "gauge", "1 while the link to the primary is up.",
	       cli.st.link_up);
	metrics_single(out, "ckpool_relay_link_down_seconds", "gauge",
	       "Seconds since the primary was last heard from (0 while healthy).",
	       (double)link_down_for_ms_locked(now_monotonic()) / 1000.0);
	if (cli.st.rtt_ms >= 0)
		metrics_single(out, "ckpool_relay_primary_rtt_seconds", "gauge",
		       "Heartbeat round trip to the primary, seconds.", cli.st.rtt_ms / 1000.0);
	if (cli.st.template_latency_ms >= 0 && cli.latency_count)
		metrics_single(out, "ckpool_relay_last_template_latency_seconds", "gauge",
		       "Primary send to template installed, last template, seconds.",
		       cli.st.template_latency_ms / 1000.0);
	write_latency_summary(out);
	metrics_single(out, "ckpool_relay_templates_received_total", "counter",
	       "Templates received from the primary.", (double)cli.st.templates_received);
	metrics_single(out, "ckpool_relay_full_template_requests_total", "counter",
	       "Templates that referenced unknown transactions (a full one was requested).",
	       (double)cli.st.full_requests);
	metrics_single(out, "ckpool_relay_merkle_branch_mismatches_total", "counter",
	       "Templates whose merkle branch from the primary was wrong (republished with the "
	       "relay's own).", (double)cli.st.branch_mismatches);
	metrics_single(out, "ckpool_relay_link_reconnects_total", "counter",
	       "Times the link was re-established after a loss.", (double)cli.st.reconnects);
	metrics_single(out, "ckpool_relay_connect_failures_total", "counter",
	       "Connection attempts that did not reach an authenticated link.",
	       (double)cli.st.connect_failures);
	metrics_single(out, "ckpool_relay_auth_failures_total", "counter",
	       "Handshakes refused by the primary or with an invalid primary proof.",
	       (double)cli.st.auth_failures);
	write_rejected(out);
	write_block_results(out);
	pthread_mutex_unlock(&cli.lock);
}
