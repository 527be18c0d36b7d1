/*
 * template_status.h - what the node says about block templates, for the
 * log, /health and /metrics.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * The generator reports here the chain its node is on (getblockchaininfo,
 * asked at connect and reconnect), every getblocktemplate refusal and every
 * template it got. A node that refuses templates (any reason: a JSON-RPC
 * error such as Core's missing-rule -8, a transport failure, a template the
 * engine cannot use) is logged once per distinct error (error_streak.h):
 * a warning when the refusals start or the error changes, an info line
 * with the count of repeats when templates flow again. health.c turns an
 * active refusal into "down" (no template yet) or "degraded" (mining on an
 * older one) with the error as a field; metrics.c exports the counters.
 *
 * Thread-safe: the generator writes, the metrics thread reads.
 */
#ifndef CKPOOL_TEMPLATE_STATUS_H
#define CKPOOL_TEMPLATE_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "error_streak.h"

/* A signet challenge script as hex; BIP 325 challenges are scripts, which
 * consensus caps at 10,000 bytes: longer ones are recorded cut. */
#define TEMPLATE_STATUS_CHALLENGE_HEX_MAX 1024

struct template_status {
	char chain[32];              /* the node's getblockchaininfo.chain, "" before */
	char signet_challenge[TEMPLATE_STATUS_CHALLENGE_HEX_MAX + 1]; /* hex, "" when none */
	bool refusing;               /* the last getblocktemplate failed */
	char error[ERROR_STREAK_MESSAGE_MAX]; /* its error, "" when not refusing */
	uint64_t error_repeats;      /* failures in a row with that error, >= 1 while refusing */
	int64_t refusing_since_us;   /* Unix time of the first of them, 0 when not refusing */
	uint64_t refusals_total;     /* failed getblocktemplate calls since start */
};

/* Forgets everything (start-up, tests). */
void template_status_reset(void);
/* The chain the node reports (NULL or "" = unknown again). */
void template_status_set_chain(const char *chain);
/* One failed getblocktemplate (or an unusable template) with its error,
 * naming `node` in the log. Logs only when the refusals start or the error
 * changes. */
void template_status_refused(const char *node, const char *error);
/* One template obtained, with its signet_challenge (hex, NULL or "" when
 * the template has none). Logs once when it ends a run of refusals. */
void template_status_served(const char *node, const char *signet_challenge);
/* A consistent copy of the current state. */
void template_status_get(struct template_status *out);

#endif
