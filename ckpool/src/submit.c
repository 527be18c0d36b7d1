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
static bool send_block(const struct block_candidate *c, char *reason, size_t len)
{
	char err[512];
	json_t *result = rpc_call(submit_rpc, "submitblock", json_pack("[s]", c->block_hex),
				  SUBMIT_TIMEOUT_MS, err, sizeof(err));
	bool accepted;

	atomic_fetch_add(&g_stats.blocks_submitted, 1);
	if (!result) {
		snprintf(reason, len, "%s", err);
		return false;
	}
	accepted = json_is_null(result)
		   || (json_is_string(result) && !strcmp(json_string_value(result), "duplicate"));
	if (json_is_string(result))
		snprintf(reason, len, "%s", json_string_value(result));
	else
		reason[0] = '\0';
	json_decref(result);
	return accepted;
}

static json_t *describe_block(const struct block_candidate *c, bool accepted, const char *reason)
{
	char job[17];

	snprintf(job, sizeof(job), "%016llx", (unsigned long long)c->job_id);
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:f, s:f, s:f, s:I, s:b, s:s, s:s}",
			 "hash", c->hash, "height", (json_int_t)c->height, "address", c->address,
			 "worker", c->worker, "job_id", job, "client_id", (json_int_t)c->client_id,
			 "diff", c->diff, "sdiff", c->sdiff, "network_diff", c->network_diff,
			 "coinbasevalue", (json_int_t)c->coinbasevalue, "accepted", accepted,
			 "reject_reason", reason, "ip", c->ip);
}

static void report_result(const struct block_candidate *c, bool accepted, const char *reason)
{
	atomic_fetch_add(accepted ? &g_stats.blocks_accepted : &g_stats.blocks_rejected, 1);
	log_fields(accepted ? LOG_INFO : LOG_ERROR, "submit",
		   accepted ? "block accepted" : "block rejected",
		   describe_block(c, accepted, reason));
	if (events_wanted("block_found")) {
		json_t *data = describe_block(c, accepted, reason);

		json_object_set_new(data, "is_block", json_true());
		events_emit("block_found", data);
	}
}

static void *submit_main(void *arg)
{
	struct queued_block *q;

	(void)arg;
	while ((q = take_next())) {
		char reason[512];
		bool accepted = send_block(&q->c, reason, sizeof(reason));

		generator_request_template();
		report_result(&q->c, accepted, reason);
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
