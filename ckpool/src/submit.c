/*
 * submit.c - owns block submission: a queue of solved blocks, the thread
 * that sends each with submitblock on a dedicated RPC client, and the
 * result's log line, counters and block_found event.
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUBMIT_TIMEOUT_MS 60000

struct queued_block {
	struct block_candidate c;
	struct queued_block *next;
};

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static struct queued_block *queue_head, *queue_tail;
static bool stopping, started;
static pthread_t submit_thread;
static struct rpc_client *submit_rpc;
static char submit_region[64];

/* One path's answer to a block: today only "local" (our own node); a relay
 * adds the primary as a second path. */
struct submit_outcome {
	bool accepted;
	const char *result;         /* "accepted", "duplicate", "rejected", "error" */
	char reason[512];           /* node answer or RPC error; "" when accepted */
	double ms;                  /* from the share being found to the answer */
};

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

/* Every path the block went out on, and the first that took it (null when
 * none did). The relay integration appends its "primary" path here. */
static void add_submissions(json_t *data, const struct submit_outcome *local)
{
	json_t *paths = json_array();

	json_array_append_new(paths, json_pack("{s:s, s:s, s:s, s:f}", "path", "local",
					       "result", local->result, "reject_reason",
					       local->reason, "ms", local->ms));
	json_object_set_new(data, "submissions", paths);
	json_object_set_new(data, "first_success_path",
			    local->accepted ? json_string("local") : json_null());
}

static void report_result(const struct block_candidate *c, const struct submit_outcome *o)
{
	atomic_fetch_add(o->accepted ? &g_stats.blocks_accepted : &g_stats.blocks_rejected, 1);
	log_fields(o->accepted ? LOG_INFO : LOG_ERROR, "submit",
		   o->accepted ? "block accepted" : "block rejected", describe_block(c, o));
	if (events_wanted("block_found")) {
		json_t *data = describe_block(c, o);

		add_submissions(data, o);
		events_emit("block_found", data);
	}
}

static void *submit_main(void *arg)
{
	struct queued_block *q;

	(void)arg;
	while ((q = take_next())) {
		struct submit_outcome outcome;

		send_block(&q->c, &outcome);
		generator_request_template();
		report_result(&q->c, &outcome);
		free(q->c.block_hex);
		free(q);
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
