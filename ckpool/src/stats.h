/*
 * stats.h - process-wide counters that /metrics and /health read.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Every field is a C11 atomic so mining threads bump them without locks and
 * the metrics thread reads them without stopping anyone. Modules that own an
 * action bump its counter: stratum (connections, shares), submit (blocks),
 * rpc (calls, latency), generator (templates), events (emitted/dropped).
 */
#ifndef CKPOOL_STATS_H
#define CKPOOL_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "reject_reason.h"  /* enum reject_reason: index of shares_rejected */

/* Upper bounds (ms) of the bitcoind RPC latency histogram; +Inf is implied. */
#define RPC_LATENCY_BUCKETS 10
extern const double rpc_latency_bucket_ms[RPC_LATENCY_BUCKETS];

struct stats {
	atomic_uint_fast64_t connections_current;
	atomic_uint_fast64_t connections_total;
	atomic_uint_fast64_t connections_dropped_abuse;   /* rate, malformed, too long, slow reader */
	atomic_uint_fast64_t connections_dropped_timeout; /* handshake or idle timeout */
	atomic_uint_fast64_t miners_authorized;      /* currently authorized */
	atomic_uint_fast64_t shares_accepted;
	atomic_uint_fast64_t shares_rejected[REJECT_REASON_COUNT];
	atomic_uint_fast64_t share_diff_accepted_milli; /* sum of accepted sdiff x 1000 */
	atomic_uint_fast64_t blocks_found;
	atomic_uint_fast64_t blocks_submitted;
	atomic_uint_fast64_t blocks_accepted;
	atomic_uint_fast64_t blocks_rejected;
	atomic_uint_fast64_t rpc_calls;
	atomic_uint_fast64_t rpc_errors;
	atomic_uint_fast64_t rpc_latency_count[RPC_LATENCY_BUCKETS + 1];
	atomic_uint_fast64_t rpc_latency_sum_us;
	atomic_int_fast64_t template_height;         /* -1 until the first template */
	atomic_int_fast64_t template_time_us;        /* when the current template was built */
	atomic_uint_fast64_t templates_total;
	atomic_int node_reachable;                   /* 1 after a good RPC, 0 after a failed one */
	atomic_int_fast64_t start_time_us;
};

extern struct stats g_stats;

/* Records one RPC round trip in the latency histogram. */
void stats_rpc_latency(double ms, int ok);

#endif
