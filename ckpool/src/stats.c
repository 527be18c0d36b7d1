/*
 * stats.c - owns g_stats, the process-wide atomic counters, and the RPC
 * latency histogram's bucket bounds.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "stats.h"

#include <stddef.h>

struct stats g_stats = { .template_height = -1 };

const double rpc_latency_bucket_ms[RPC_LATENCY_BUCKETS] = {
	1, 2, 5, 10, 25, 50, 100, 250, 500, 1000
};

void stats_rpc_latency(double ms, int ok)
{
	size_t bucket = RPC_LATENCY_BUCKETS;

	for (size_t i = 0; i < RPC_LATENCY_BUCKETS; i++) {
		if (ms <= rpc_latency_bucket_ms[i]) {
			bucket = i;
			break;
		}
	}
	atomic_fetch_add(&g_stats.rpc_calls, 1);
	if (!ok)
		atomic_fetch_add(&g_stats.rpc_errors, 1);
	atomic_fetch_add(&g_stats.rpc_latency_count[bucket], 1);
	atomic_fetch_add(&g_stats.rpc_latency_sum_us, (uint_fast64_t)(ms * 1000.0));
	atomic_store(&g_stats.node_reachable, ok ? 1 : 0);
}
