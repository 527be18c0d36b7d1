/*
 * submit.c - owns block submission: a queue of solved blocks, the thread
 * that sends each with submitblock on a dedicated RPC client (and, on a
 * passthrough relay, through the primary path hook at the same moment), and the
 * result's log line, counters and block_found event once every path has
 * answered.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "submit.h"
#include "events.h"
#include "generator.h"
#include "log.h"
#include "rpc.h"
#include "stats.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBMIT_TIMEOUT_MS 60000

/* One path's answer to a block: "local" (our own node) and, on a relay,
 * "primary" (through the relay link). */
struct submit_outcome {
	bool accepted;
	const char *result;         /* "accepted", "duplicate", "rejected", "error" */
	char reason[512];           /* node answer or RPC error; "" when accepted */
	double ms;                  /* from the share being found to the answer */
};

struct queued_block {
	struct block_candidate c;
	struct submit_outcome local, primary;
	bool via_primary;           /* also sent up the relay link */
	atomic_int paths_left;      /* the path answering last reports */
	struct queued_block *next;
};

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static struct queued_block *queue_head, *queue_tail;
static bool stopping, started;
static pthread_t submit_thread;
static struct rpc_client *submit_rpc;
static char submit_region[64];
static bool submit_passthrough;
static _Atomic(submit_primary_fn) primary_path;  /* relay_mode.c sets it */

void submit_set_primary_path(submit_primary_fn send)
{
	atomic_store(&primary_path, send);
}

void submit_block(struct block_candidate *candidate)
{
	struct queued_block *q = calloc(1, sizeof(*q));

	if (!q) {
		log_error("submit", "out of memory queueing block %s", candidate->hash);
		free(candidate->block_hex);
		return;
	}
	q->c = *candidate;
	candidate->block_hex = NULL;
	atomic_fetch_add(&g_stats.blocks_found, 1);
	pthread_mutex_lock(&queue_lock);
	if (queue_tail)
		queue_tail->next = q;
	else
		queue_head = q;
	queue_tail = q;
	pthread_cond_signal(&queue_cond);
	pthread_mutex_unlock(&queue_lock);
}

static struct queued_block *take_next(void)
{
	struct queued_block *q;

	pthread_mutex_lock(&queue_lock);
	while (!queue_head && !stopping)
		pthread_cond_wait(&queue_cond, &queue_lock);
	q = queue_head;
	if (q) {
		queue_head = q->next;
		if (!queue_head)
			queue_tail = NULL;
	}
	pthread_mutex_unlock(&queue_lock);
	return q;
}

/* submitblock answers null on success, a reason string otherwise;
 * "duplicate" means the node already has it, which still counts. */
static void send_block(const struct block_candidate *c, struct submit_outcome *o)
{
	char err[512];
	json_t *result = rpc_call(submit_rpc, "submitblock", json_pack("[s]", c->block_hex),
				  SUBMIT_TIMEOUT_MS, err, sizeof(err));

	atomic_fetch_add(&g_stats.blocks_submitted, 1);
	o->ms = (now_monotonic() - c->found_at) * 1000.0;
	o->reason[0] = '\0';
	if (!result) {
		o->accepted = false;
		o->result = "error";
		snprintf(o->reason, sizeof(o->reason), "%s", err);
		return;
	}
	if (json_is_null(result)) {
		o->accepted = true;
		o->result = "accepted";
	} else if (json_is_string(result) && !strcmp(json_string_value(result), "duplicate")) {
		o->accepted = true;
		o->result = "duplicate";
	} else {
		o->accepted = false;
		o->result = "rejected";
		if (json_is_string(result))
			snprintf(o->reason, sizeof(o->reason), "%s", json_string_value(result));
		else
			snprintf(o->reason, sizeof(o->reason), "unexpected submitblock answer");
	}
	json_decref(result);
}

static json_t *describe_block(const struct block_candidate *c, const struct submit_outcome *o)
{
	char job[17];

	snprintf(job, sizeof(job), "%016llx", (unsigned long long)c->job_id);
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:s, s:f, s:f, s:f, s:I, s:s, s:b, s:s,"
			 " s:s, s:f, s:s, s:b}",
			 "address", c->address, "worker", c->worker,
			 "client_id", (json_int_t)c->client_id, "ip", c->ip, "job_id", job,
			 "height", (json_int_t)c->height, "hash", c->hash, "diff", c->diff,
			 "sdiff", c->sdiff, "network_diff", c->network_diff,
			 "reward_sat", (json_int_t)c->coinbasevalue, "coinbase_sig", c->coinbase_sig,
			 "accepted", o->accepted, "reject_reason", o->reason,
			 "submit_result", o->result, "submit_time_ms", o->ms,
			 "region", submit_region, "is_block", 1);
}

static json_t *describe_path(const char *path, const struct submit_outcome *o)
{
	return json_pack("{s:s, s:s, s:s, s:f}", "path", path, "result", o->result,
			 "reject_reason", o->reason, "ms", o->ms);
}

/* The accepting path with the earliest answer, NULL when none accepted. */
static const char *first_success(const struct queued_block *q)
{
	bool local = q->local.accepted;
	bool primary = q->via_primary && q->primary.accepted;

	if (local && primary)
		return q->primary.ms < q->local.ms ? "primary" : "local";
	return local ? "local" : primary ? "primary" : NULL;
}

/* Every path the block went out on, and the first that took it. */
static void add_submissions(json_t *data, const struct queued_block *q)
{
	json_t *paths = json_array();
	const char *first = first_success(q);

	json_array_append_new(paths, describe_path("local", &q->local));
	if (q->via_primary)
		json_array_append_new(paths, describe_path("primary", &q->primary));
	json_object_set_new(data, "submissions", paths);
	json_object_set_new(data, "first_success_path", first ? json_string(first) : json_null());
}

/* The paths summarised: the first accepting one, else the local answer. */
static const struct submit_outcome *summary(const struct queued_block *q)
{
	const char *first = first_success(q);

	return first && !strcmp(first, "primary") ? &q->primary : &q->local;
}

static void report_result(const struct queued_block *q)
{
	const struct submit_outcome *o = summary(q);
	json_t *fields = describe_block(&q->c, o);

	atomic_fetch_add(o->accepted ? &g_stats.blocks_accepted : &g_stats.blocks_rejected, 1);
	add_submissions(fields, q);
	log_fields(o->accepted ? LOG_INFO : LOG_ERROR, "submit",
		   o->accepted ? "block accepted" : "block rejected", json_deep_copy(fields));
	if (events_wanted("block_found"))
		events_emit("block_found", fields);
	else
		json_decref(fields);
}

/* Each path calls this once; the last one reports and frees the block. */
static void path_done(struct queued_block *q)
{
	if (atomic_fetch_sub(&q->paths_left, 1) != 1)
		return;
	report_result(q);
	free(q->c.block_hex);
	free(q);
}

/* The relay link's verdict (on the link thread): NULL accepted; the node's
 * reason; "error: ..." or a local "link-down" / "timeout" / "busy". */
static void on_primary_result(const char *result, double ms, void *ctx)
{
	struct queued_block *q = ctx;
	struct submit_outcome *o = &q->primary;

	(void)ms;
	o->ms = (now_monotonic() - q->c.found_at) * 1000.0;
	o->accepted = !result || !strcmp(result, "duplicate");
	o->result = !result ? "accepted" : o->accepted ? "duplicate" : "rejected";
	if (result && (!strncmp(result, "error", 5) || !strcmp(result, "link-down")
		       || !strcmp(result, "timeout") || !strcmp(result, "busy")))
		o->result = "error";
	snprintf(o->reason, sizeof(o->reason), "%s", o->accepted ? "" : result);
	path_done(q);
}

/* A relay sends the block up the link before its own submitblock, so both
 * paths run at the same time. */
static void start_primary_path(struct queued_block *q)
{
	submit_primary_fn send = atomic_load(&primary_path);

	atomic_store(&q->paths_left, 1);
	if (!submit_passthrough)
		return;
	q->via_primary = true;
	atomic_store(&q->paths_left, 2);
	if (send && send(q->c.block_hex, q->c.height, q->c.hash, on_primary_result, q))
		return;
	q->primary = (struct submit_outcome){ .accepted = false, .result = "error",
					      .ms = (now_monotonic() - q->c.found_at) * 1000.0 };
	snprintf(q->primary.reason, sizeof(q->primary.reason), "not sent: relay link busy or off");
	atomic_store(&q->paths_left, 1);
}

static void *submit_main(void *arg)
{
	struct queued_block *q;

	(void)arg;
	while ((q = take_next())) {
		start_primary_path(q);
		send_block(&q->c, &q->local);
		generator_request_template();
		path_done(q);
	}
	return NULL;
}

int submit_start(const struct config *cfg, char *err, size_t errlen)
{
	submit_rpc = rpc_client_new(cfg, "submit");
	if (!submit_rpc) {
		snprintf(err, errlen, "submit: cannot create its RPC client");
		return -1;
	}
	snprintf(submit_region, sizeof(submit_region), "%s", cfg->region);
	submit_passthrough = cfg->mode == MODE_PASSTHROUGH;
	stopping = false;
	if (pthread_create(&submit_thread, NULL, submit_main, NULL)) {
		snprintf(err, errlen, "submit: cannot start its thread");
		return -1;
	}
	started = true;
	return 0;
}

void submit_stop(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&queue_lock);
	stopping = true;
	pthread_cond_signal(&queue_cond);
	pthread_mutex_unlock(&queue_lock);
	pthread_join(submit_thread, NULL);
	rpc_client_free(submit_rpc);
	submit_rpc = NULL;
	started = false;
}
