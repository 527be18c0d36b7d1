/*
 * health.c - owns the health verdict: the policy, the table of extra
 * contributors, gathering live inputs and the /health JSON body.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "health.h"
#include "events.h"
#include "stats.h"
#include "template_status.h"
#include "util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#define MAX_CONTRIBUTORS 8
#define TEMPLATE_AGE_SLACK_S 30

struct contributor {
	health_contributor_fn fn;
	void *ctx;
};

static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;
static struct contributor contributors[MAX_CONTRIBUTORS];
static size_t contributor_count;
static struct health_policy policy = { 2 * 30 + TEMPLATE_AGE_SLACK_S, 0.9 };
static int64_t started_us;

void health_policy_default(struct health_policy *p, int update_interval_s)
{
	p->template_max_age_s = 2.0 * (update_interval_s > 0 ? update_interval_s : 30)
				+ TEMPLATE_AGE_SLACK_S;
	p->events_queue_degraded_ratio = 0.9;
}

void health_init(const struct health_policy *p)
{
	pthread_mutex_lock(&health_lock);
	if (p)
		policy = *p;
	started_us = now_unix_us();
	pthread_mutex_unlock(&health_lock);
}

const char *health_status_name(enum health_status s)
{
	switch (s) {
	case HEALTH_OK: return "ok";
	case HEALTH_DEGRADED: return "degraded";
	case HEALTH_DOWN: return "down";
	}
	return "down";
}

void health_add_reason(struct health_report *r, enum health_status severity, const char *fmt, ...)
{
	va_list ap;

	if (severity > r->status)
		r->status = severity;
	if (r->reason_count == HEALTH_MAX_REASONS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->reasons[r->reason_count++], HEALTH_REASON_LEN, fmt, ap);
	va_end(ap);
}

_Static_assert(HEALTH_REASON_LEN >= sizeof("node refuses templates: ") + ERROR_STREAK_MESSAGE_MAX,
	       "a refusal reason must fit whole");

static void judge_template(const struct health_inputs *in, const struct health_policy *p,
			   struct health_report *out)
{
	if (in->template_height < 0) {
		/* A refusing node is the reason there is none; health_decide says so. */
		if (!in->template_refused)
			health_add_reason(out, HEALTH_DOWN, "no block template yet");
		return;
	}
	if (in->template_age_s > p->template_max_age_s)
		health_add_reason(out, HEALTH_DEGRADED, "template is %.0fs old (limit %.0fs)",
				  in->template_age_s, p->template_max_age_s);
}

static void judge_event_queue(const struct health_inputs *in, const struct health_policy *p,
			      struct health_report *out)
{
	double limit = p->events_queue_degraded_ratio * (double)in->events_capacity;

	if (in->events_capacity && (double)in->events_queued > limit)
		health_add_reason(out, HEALTH_DEGRADED,
				  "event queue %llu of %zu over its high-water mark",
				  (unsigned long long)in->events_queued, in->events_capacity);
}

void health_decide(const struct health_inputs *in, const struct health_policy *p,
		   struct health_report *out)
{
	out->status = HEALTH_OK;
	out->reason_count = 0;
	judge_template(in, p, out);
	if (in->template_refused)
		health_add_reason(out, in->template_height < 0 ? HEALTH_DOWN : HEALTH_DEGRADED,
				  "node refuses templates: %s",
				  in->template_error ? in->template_error : "");
	if (!in->node_reachable)
		health_add_reason(out, HEALTH_DOWN, "bitcoind unreachable");
	judge_event_queue(in, p, out);
}

int health_register_contributor(health_contributor_fn fn, void *ctx)
{
	int rc = -1;

	pthread_mutex_lock(&health_lock);
	if (contributor_count < MAX_CONTRIBUTORS) {
		contributors[contributor_count++] = (struct contributor){ fn, ctx };
		rc = 0;
	}
	pthread_mutex_unlock(&health_lock);
	return rc;
}

void health_unregister_contributor(health_contributor_fn fn, void *ctx)
{
	pthread_mutex_lock(&health_lock);
	for (size_t i = 0; i < contributor_count; i++) {
		if (contributors[i].fn != fn || contributors[i].ctx != ctx)
			continue;
		contributors[i] = contributors[--contributor_count];
		break;
	}
	pthread_mutex_unlock(&health_lock);
}

void health_gather(struct health_inputs *in, struct template_status *st)
{
	int64_t now = now_unix_us();
	int64_t built = atomic_load(&g_stats.template_time_us);
	int64_t start = atomic_load(&g_stats.start_time_us);

	if (!start) {
		pthread_mutex_lock(&health_lock);
		start = started_us ? started_us : now;
		pthread_mutex_unlock(&health_lock);
	}
	in->template_height = atomic_load(&g_stats.template_height);
	in->template_age_s = in->template_height >= 0 && built ? (double)(now - built) / 1e6 : -1;
	in->node_reachable = atomic_load(&g_stats.node_reachable) != 0;
	in->events_queued = events_queue_depth();
	in->events_capacity = events_queue_capacity();
	in->miners = atomic_load(&g_stats.miners_authorized);
	in->uptime_s = (double)(now - start) / 1e6;
	template_status_get(st);
	in->template_refused = st->refusing;
	in->template_error = st->error;
	in->template_error_count = st->error_repeats;
	in->chain = st->chain;
	in->signet_challenge = st->signet_challenge;
}

void health_check(struct health_inputs *in, struct template_status *st,
		  struct health_report *out)
{
	struct health_policy p;

	health_gather(in, st);
	pthread_mutex_lock(&health_lock);
	p = policy;
	health_decide(in, &p, out);
	for (size_t i = 0; i < contributor_count; i++)
		contributors[i].fn(out, contributors[i].ctx);
	pthread_mutex_unlock(&health_lock);
}

static json_t *string_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

json_t *health_report_json(const struct health_report *r, const struct health_inputs *in)
{
	json_t *reasons = json_array();
	json_t *body;

	for (size_t i = 0; i < r->reason_count; i++)
		json_array_append_new(reasons, json_string(r->reasons[i]));
	body = json_pack("{s:s, s:o, s:I, s:f, s:I, s:f}", "status", health_status_name(r->status),
			 "reasons", reasons, "template_height", (json_int_t)in->template_height,
			 "template_age_s", in->template_age_s, "miners", (json_int_t)in->miners,
			 "uptime_s", in->uptime_s);
	json_object_set_new(body, "template_error",
			    string_or_null(in->template_refused ? in->template_error : NULL));
	json_object_set_new(body, "template_error_count",
			    json_integer(in->template_refused ? (json_int_t)in->template_error_count
							      : 0));
	json_object_set_new(body, "chain", string_or_null(in->chain));
	if (in->signet_challenge && *in->signet_challenge)
		json_object_set_new(body, "signet_challenge", json_string(in->signet_challenge));
	return body;
}
