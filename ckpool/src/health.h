/*
 * health.h - decides whether this engine is ok, degraded or down.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * The verdict behind GET /health (served by metrics.c):
 *   down      no block template yet, or bitcoind unreachable (last RPC failed),
 *             or the node refuses templates and none was ever had
 *   degraded  the node refuses templates (miners work on the last one), or
 *             the template is older than template_max_age_s, or the event
 *             queue holds more than events_queue_degraded_ratio of its
 *             capacity, or a registered contributor says so
 *   ok        none of the above
 * The worst condition wins; every condition met adds one human-readable
 * reason. Other modules add their own conditions with
 * health_register_contributor() (the relay client reports "independent
 * mode" as degraded).
 *
 * health_decide() is pure (inputs in, report out) so tests drive it with
 * made-up numbers; health_check() gathers the live inputs from g_stats and
 * events.h, decides, and runs the contributors.
 */
#ifndef CKPOOL_HEALTH_H
#define CKPOOL_HEALTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum health_status { HEALTH_OK, HEALTH_DEGRADED, HEALTH_DOWN };

#define HEALTH_MAX_REASONS 8
/* Room for "node refuses templates: " plus a whole error_streak message. */
#define HEALTH_REASON_LEN 320

struct health_report {
	enum health_status status;
	size_t reason_count;
	char reasons[HEALTH_MAX_REASONS][HEALTH_REASON_LEN];
};

/* What the verdict is based on; also echoed in the /health JSON. */
struct health_inputs {
	int64_t template_height;     /* -1 before the first template */
	double template_age_s;       /* seconds since it was built; -1 when none */
	bool node_reachable;
	uint64_t events_queued;
	size_t events_capacity;      /* 0 when events are off */
	uint64_t miners;             /* authorized miners now */
	double uptime_s;
	/* template_status.h: the node's last getblocktemplate answer */
	bool template_refused;       /* it failed */
	const char *template_error;  /* its error (NULL or "" when not refused) */
	uint64_t template_error_count; /* failures in a row with that error */
	const char *chain;           /* the node's chain, NULL or "" when not known */
	const char *signet_challenge; /* hex from the template, NULL or "" when none */
};

struct health_policy {
	double template_max_age_s;           /* degraded beyond this */
	double events_queue_degraded_ratio;  /* of capacity, 0..1 */
};

/* The default policy for a generator refreshing every update_interval_s:
 * templates may be 2 x update_interval + 30 s old; queue 90 % full. */
void health_policy_default(struct health_policy *p, int update_interval_s);
/* Sets the policy health_check() uses and records the start time uptime is
 * measured from when g_stats.start_time_us is 0. Call once at start. */
void health_init(const struct health_policy *p);

/* Adds a reason and raises r->status to `severity` if that is worse.
 * Reasons beyond HEALTH_MAX_REASONS still raise the status. */
void health_add_reason(struct health_report *r, enum health_status severity,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The verdict from `in` under `p`, without contributors. Pure. */
void health_decide(const struct health_inputs *in, const struct health_policy *p,
		   struct health_report *out);

/* A contributor looks at the engine and may call health_add_reason(). It
 * runs on the metrics thread and must not block. */
typedef void (*health_contributor_fn)(struct health_report *r, void *ctx);
/* 0, or -1 when the (small, fixed) table is full. Any thread. */
int health_register_contributor(health_contributor_fn fn, void *ctx);
void health_unregister_contributor(health_contributor_fn fn, void *ctx);

/* Reads the live inputs (g_stats, events, template_status) at the current
 * time. The strings point into `st`, which must outlive `in`. */
struct template_status;
void health_gather(struct health_inputs *in, struct template_status *st);
/* Gathers, decides with the policy from health_init(), runs contributors. */
void health_check(struct health_inputs *in, struct template_status *st,
		  struct health_report *out);

/* "ok", "degraded", "down". */
const char *health_status_name(enum health_status s);
/* {"status","reasons":[...],"template_height","template_age_s","miners",
 *  "uptime_s","template_error" (string or null),"template_error_count",
 *  "chain" (string or null), "signet_challenge" (only when the template has
 *  one)}; the caller adds region and mode. */
json_t *health_report_json(const struct health_report *r, const struct health_inputs *in);

#endif
