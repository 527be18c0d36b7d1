/*
 * submit.h - block submission on its own thread and its own RPC connection.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * A share that solves a block is handed here before anything else is done
 * with it. The submit thread sleeps on a condition variable and owns a curl
 * handle used for nothing but submitblock, so a block never waits behind a
 * getblocktemplate or a poll. On a passthrough relay the block also goes up
 * the relay link at the same moment, through the primary path hook that
 * relay_mode.c sets (submit_set_primary_path), so the primary's node gets
 * it in parallel; this file does not know the link itself. After every path answered it logs the
 * result with the block hash and height, counts it, emits block_found (with
 * each path's result and time, and the first path that succeeded) and asks
 * the generator for a fresh template (as soon as the own node answered).
 */
#ifndef CKPOOL_SUBMIT_H
#define CKPOOL_SUBMIT_H

#include <stdint.h>

#include "config.h"

/* One solved block. submit_block() takes ownership of block_hex. */
struct block_candidate {
	char *block_hex;
	char hash[65];          /* display order */
	int64_t height;
	uint64_t job_id;
	uint64_t client_id;
	char address[96];
	char worker[128];
	double diff;            /* the connection's difficulty */
	double sdiff;           /* the share's difficulty */
	double network_diff;
	int64_t coinbasevalue;  /* reward_sat: the output paid to address */
	char ip[64];
	char coinbase_sig[100]; /* btcsig + miner signature as in the scriptSig */
	double found_at;        /* now_monotonic() when the share was judged */
};

/* Starts the thread; cfg->region is kept for the block_found event. */
int submit_start(const struct config *cfg, char *err, size_t errlen);
/* Submits what is queued, then stops and joins the thread. */
void submit_stop(void);

/* The primary path's verdict: NULL accepted; the primary node's reason;
 * "duplicate"; "error: ..." or a local "link-down" / "timeout" / "busy".
 * ms is measured by the path. May run on another thread. */
typedef void (*submit_primary_done_fn)(const char *result, double ms, void *ctx);
/* Sends a block up to the primary without blocking; > 0 when it was
 * queued (done will be called once), 0 when not (done is not called). */
typedef uint64_t (*submit_primary_fn)(const char *hex, int64_t height, const char *hash,
				      submit_primary_done_fn done, void *ctx);
/* Sets the primary path (NULL clears it). Without one, a passthrough
 * relay's blocks report the primary path as "not sent". Safe while the
 * thread runs. */
void submit_set_primary_path(submit_primary_fn send);

/* Queues the candidate (copied; block_hex taken over) and wakes the submit
 * thread at once. Never blocks on the network. */
void submit_block(struct block_candidate *candidate);

#endif
