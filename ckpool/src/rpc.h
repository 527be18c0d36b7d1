/*
 * rpc.h - bitcoind JSON-RPC over HTTP with keep-alive and btcd failover.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * One struct rpc_client per thread: it owns a libcurl easy handle, so the
 * HTTP connection is reused between calls. A call goes to the btcd entry that
 * last worked; on a connection failure (refused, timeout, reset, HTTP 401/403,
 * unreadable reply) it tries the next entry, once around the list. Every call
 * is recorded with stats_rpc_latency() and sets g_stats.node_reachable.
 */
#ifndef CKPOOL_RPC_H
#define CKPOOL_RPC_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"

struct rpc_client;

/* The process-wide curl initialisation; call once before any rpc_client. */
int rpc_global_init(void);
void rpc_global_cleanup(void);

/* A client over cfg->btcd (which must outlive it); `name` labels its logs. */
struct rpc_client *rpc_client_new(const struct config *cfg, const char *name);
void rpc_client_free(struct rpc_client *client);

/* Calls `method` with `params` (a JSON array, stolen; NULL = []). Returns the
 * "result" member (a new reference; JSON null is returned as json_null())
 * or NULL with a specific message in err: transport failure on every node,
 * or the node's JSON-RPC error ("rpc getblocktemplate: -8: ..."). */
json_t *rpc_call(struct rpc_client *client, const char *method, json_t *params,
		 long timeout_ms, char *err, size_t errlen);

/* Makes the client's call in progress, and every later one, fail at once
 * (for shutdown; callable from any thread). */
void rpc_client_cancel(struct rpc_client *client);

/* The url of the btcd entry the client uses now. */
const char *rpc_client_node(const struct rpc_client *client);

#endif
