/*
 * relay_client.h - a passthrough relay's end of the relay link: keeps one
 * authenticated connection to the primary, hands every template it pushes
 * to the generator, sends solved blocks up and measures the link.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * One thread owns the connection: it connects to host:port, runs the
 * handshake (relay_auth.h; the primary must prove the token too), then
 * reads TEMPLATE and BLOCK_RESULT frames, answers the primary's PINGs and
 * sends its own every heartbeat_interval_ms (RTT). After any loss it waits
 * reconnect_interval_ms and tries again, for ever. Callbacks run on that
 * thread, never with a lock held.
 *
 * Wiring (passthrough mode, done by relay_mode.c):
 *   struct relay_client_config rc = { .host = cfg->primary.host,
 *           .port = cfg->primary.template_push_port,
 *           .auth_token = cfg->primary.auth_token, .region = cfg->region,
 *           .pool_instance = cfg->pool_instance,
 *           .reconnect_interval_ms = cfg->primary.reconnect_interval * 1000,
 *           .on_workbase = <generator_primary_workbase>, ... };
 *   relay_client_start(&rc, err, sizeof(err));
 *   metrics_register_section(relay_client_write_metrics, NULL);
 *   generator_set_link(&(struct generator_link){
 *           .down_for_ms = relay_client_link_down_for_ms }): the generator
 *           mines the local node's templates (independent mode) once it
 *           reaches primary.failover_threshold seconds;
 *   submit_set_primary_path(relay_client_submit_block): submit sends each
 *           block up next to the local submitblock;
 *   /health: json_object_set_new(health, "relay_link", relay_client_status_json());
 *   shutdown: relay_client_stop();
 *
 * Templates arrive as binary TEMPLATE frames (template_codec.h): the
 * client keeps the transactions of the last TEMPLATE_GENERATIONS templates
 * of the connection, resolves the primary's references from them and builds
 * the workbase straight from raw transactions (workbase_from_parts). A
 * template that references a transaction it does not hold is not mined;
 * the client sends REQUEST_FULL (once until a full template arrives).
 *
 * Template latency is measured from the primary's send time (its wall
 * clock, in the TEMPLATE frame) to the return of on_workbase (this host's
 * wall clock), so it includes clock offset between the hosts: keep them
 * NTP-synchronised. RTT uses only this host's monotonic clock.
 */
#ifndef CKPOOL_RELAY_CLIENT_H
#define CKPOOL_RELAY_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "bytes.h"
#include "relay_frame.h"

struct workbase;

struct relay_client_config {
	const char *host;              /* primary host (name or address) */
	int port;                      /* primary.template_push_port */
	const char *auth_token;
	const char *region;            /* this relay's region, 1..63 chars */
	const char *pool_instance;     /* may be NULL */
	int reconnect_interval_ms;     /* wait after a loss; 0 = 5000 */
	int heartbeat_interval_ms;     /* PING period; 0 = 1000 */
	int dead_after_ms;             /* silence before the link is dropped; 0 = 4 heartbeats */
	int handshake_timeout_ms;      /* connect + handshake; 0 = 5000 */
	int block_timeout_ms;          /* BLOCK_RESULT wait; 0 = 30000 */
	/* TLS to the primary (relay_tls_client_new); NULL = plaintext. The
	 * caller keeps it alive until relay_client_stop() returned. */
	struct relay_tls *tls;
	/* A template from the primary as a workbase (refs = 1, id = 0): the
	 * callee takes over that reference (generator_primary_workbase does).
	 * primary_workbase_id is the primary's id for logs; primary_send_us
	 * its wall clock at sending. */
	void (*on_workbase)(struct workbase *wb, uint64_t primary_workbase_id,
			    uint64_t primary_send_us, void *ctx);
	/* Optional: the link came up (authenticated) or went down (reason). */
	void (*on_link_change)(bool up, const char *reason, void *ctx);
	void *ctx;
};

/* Starts the link thread (the first connection attempt is immediate).
 * 0, or -1 with err ("relay: primary.auth_token must be set"). */
int relay_client_start(const struct relay_client_config *cfg, char *err, size_t errlen);
/* Closes the link, fails pending blocks with "link-down", joins the thread.
 * Idempotent. */
void relay_client_stop(void);

/* Called once per block submission with the outcome: result NULL when
 * the primary's node accepted it (submitblock returned null), else the
 * node's reason ("duplicate", "inconclusive", ...), "error: <message>" when
 * the primary could not reach its node, or a local verdict: "link-down"
 * (no authenticated link, or it broke before the answer), "timeout"
 * (no answer within block_timeout_ms), "busy" (too many pending). ms is
 * the time from relay_client_submit_block() to the outcome. Runs on the
 * link thread. */
typedef void (*relay_block_done_fn)(const char *result, double ms, void *ctx);

/* Sends a solved block to the primary. Never blocks on the network: the
 * block is queued and the outcome arrives through done (which may be
 * NULL). Returns the request id (> 0), or 0 when the client is not
 * running or the arguments are invalid (done is not called then). */
uint64_t relay_client_submit_block(const char *hex, int64_t height, const char *hash,
				   relay_block_done_fn done, void *ctx);

/* True while the link is authenticated. */
bool relay_client_link_up(void);
/* 0 while the link is up and the primary was heard from within 1.5
 * heartbeat intervals; otherwise milliseconds since it was last heard
 * from (since relay_client_start() when never). */
int64_t relay_client_link_down_for_ms(void);
/* True once link_down_for_ms reaches failover_threshold heartbeats
 * (primary.failover_threshold: missed heartbeats before local mining). */
bool relay_client_should_failover(int failover_threshold);
/* The heartbeat interval in use, ms. */
int relay_client_heartbeat_ms(void);

struct relay_client_stats {
	bool link_up;
	int64_t connected_since_us;    /* 0 when down */
	int64_t last_contact_us;       /* last frame from the primary; 0 never */
	int64_t link_down_since_us;    /* 0 while up */
	double rtt_ms;                 /* last PING round trip; -1 none yet */
	double template_latency_ms;    /* last; -1 none yet */
	double template_latency_p50_ms; /* over the last RELAY_LATENCY_WINDOW; -1 none */
	uint64_t templates_received;
	uint64_t full_requests;        /* REQUEST_FULL frames sent (incomplete templates) */
	uint64_t branch_mismatches;    /* templates whose merkle branch the relay corrected */
	uint64_t template_txs_full;    /* transactions received in full */
	uint64_t template_txs_referenced; /* transactions resolved from the cache */
	uint64_t reconnects;           /* links re-established after a loss */
	uint64_t connect_failures;     /* attempts that did not authenticate */
	uint64_t auth_failures;        /* AUTH_FAIL received or bad primary proof */
	uint64_t frames_rejected[RELAY_REJECT_COUNT];
	uint64_t blocks_sent, blocks_accepted, blocks_rejected, blocks_failed;
};
#define RELAY_LATENCY_WINDOW 128

void relay_client_get_stats(struct relay_client_stats *out);

/* Prometheus families (a metrics_section_fn; ctx unused):
 * ckpool_relay_link_up, ckpool_relay_link_down_seconds, ckpool_relay_primary_rtt_seconds,
 * ckpool_relay_last_template_latency_seconds, ckpool_relay_template_latency_seconds
 * {quantile="0.5|0.9|0.99"} + _sum/_count, ckpool_relay_templates_received_total,
 * ckpool_relay_link_reconnects_total, ckpool_relay_connect_failures_total,
 * ckpool_relay_auth_failures_total, ckpool_relay_frames_rejected_total{reason},
 * ckpool_relay_blocks_sent_total{result}. */
void relay_client_write_metrics(struct buf *out, void *ctx);

/* For /health: {"primary":"host:port","link_up","connected_since_us",
 * "last_contact_us","link_down_since_us","link_down_for_ms","rtt_ms",
 * "template_latency_ms","template_latency_p50_ms","templates_received",
 * "reconnects"}; unknown values are null. A new reference. */
json_t *relay_client_status_json(void);

#endif
