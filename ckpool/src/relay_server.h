/*
 * relay_server.h - the primary's end of the relay link: accepts relays on
 * relay_listen, authenticates them, pushes every template to all of them
 * and submits the blocks they send up.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * One I/O thread (epoll) owns every relay connection; a fan-out thread
 * serializes templates; a worker thread calls the submit_block callback,
 * so a slow node never stalls the link.
 * The protocol is in relay_frame.h, relay_auth.h and docs/relay-protocol.md.
 *
 * Wiring (primary mode, done by relay_mode.c):
 *   struct relay_server_config rc = { .listen = cfg->relay_listen (default
 *           "0.0.0.0:8881"), .auth_token = cfg->primary.auth_token,
 *           .submit_block = <submitblock on the primary's node>, ... };
 *   relay_server_start(&rc, err, sizeof(err));
 *   metrics_register_section(relay_server_write_metrics, NULL);
 *   generator_set_link() with a publish hook that calls
 *           relay_server_push_workbase(wb); generator_publish() calls it
 *           after wb->id is assigned, holding a reference for the call;
 *   /health: json_object_set_new(health, "relays", relay_server_relays_json());
 *   shutdown: relay_server_stop();
 *
 * Slow relays: each relay has a bounded queue. A new template replaces any
 * queued template that has not started going out (counted as dropped); a
 * relay that makes no write progress for stall_timeout_ms, does not answer
 * for dead_after_ms, or lets its queue fill up is disconnected. None of it
 * ever delays the caller or the other relays.
 */
#ifndef CKPOOL_RELAY_SERVER_H
#define CKPOOL_RELAY_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "relay_frame.h"

struct workbase;

/* What a relay is, for the on_relay_change callback. */
struct relay_peer_info {
	const char *region;
	const char *pool_instance;
	const char *peer;          /* "ip:port" */
	int64_t connected_since_us;
	const char *reason;        /* why it disconnected; NULL on connect */
};

struct relay_server_config {
	const char *listen;            /* "host:port"; port 0 picks a free one */
	const char *auth_token;        /* shared secret, required, >= 16 chars recommended */
	int heartbeat_interval_ms;     /* PING period; 0 = 1000 */
	int dead_after_ms;             /* silence before disconnect; 0 = 4 heartbeats */
	int handshake_timeout_ms;      /* HELLO..AUTH must finish within; 0 = 5000 */
	int stall_timeout_ms;          /* no write progress with data queued; 0 = 30000 */
	size_t max_relays;             /* connections incl. handshaking; 0 = 64 */
	/* TLS on every connection (relay_tls_server_new); NULL = plaintext.
	 * The caller keeps it alive until relay_server_stop() returned. */
	struct relay_tls *tls;
	/* Submits a block's hex to the primary's node (on the worker thread).
	 * Returns RELAY_BLOCK_ACCEPTED (submitblock answered null),
	 * RELAY_BLOCK_REJECTED (reason in result) or RELAY_BLOCK_ERROR (node
	 * unreachable; message in result). NULL answers every block with an
	 * error. */
	int (*submit_block)(const char *hex, char *result, size_t len, void *ctx);
	/* Optional: a relay authenticated (connected = true) or an
	 * authenticated relay went away. Runs on the I/O thread with the
	 * server's lock held: must not block nor call relay_server_*. Meant for
	 * events_emit("relay_connected" / "relay_disconnected"). */
	void (*on_relay_change)(const struct relay_peer_info *info, bool connected, void *ctx);
	void *ctx;
};

/* Binds, listens and starts the threads. 0, or -1 with err naming the
 * problem ("relay: cannot listen on 0.0.0.0:8881: Address in use"). */
int relay_server_start(const struct relay_server_config *cfg, char *err, size_t errlen);
/* Closes every relay, stops and joins the threads. Idempotent. */
void relay_server_stop(void);
/* The bound port, -1 when not running. */
int relay_server_port(void);

/* Sends wb's template (tagged wb->id) to every authenticated relay and
 * remembers it for relays that authenticate later. Returns at once: it
 * takes its own workbase reference and wakes the fan-out thread, which
 * encodes the template once (raw transactions, decoded from hex only for
 * transactions the previous template did not have) and builds each relay's
 * binary TEMPLATE frame: a 32-byte reference for every transaction that
 * relay already holds, the full transaction otherwise (template_codec.h).
 * A relay that authenticates, or asks with REQUEST_FULL, gets the current
 * template in full. A template pushed before the previous one was encoded
 * replaces it (counted as coalesced). The frame carries the time of this
 * call as the primary's send time. The caller must hold a reference during
 * the call. Returns the number of relays authenticated now, -1 when not
 * running (or wb has neither gbt nor raw transactions). */
int relay_server_push_workbase(struct workbase *wb);
/* The same for a bare template: workbase_from_gbt(gbt) on the calling
 * thread (the caller keeps gbt), tagged workbase_id. -1 also when gbt is
 * not a valid template. */
int relay_server_push_template(const json_t *gbt, uint64_t workbase_id);

/* Authenticated relays now. */
size_t relay_server_relay_count(void);

/* Counters for tests and /metrics. */
struct relay_server_counters {
	uint64_t auth_failures;
	uint64_t frames_rejected[RELAY_REJECT_COUNT];
	uint64_t handshake_timeouts;
	uint64_t heartbeat_timeouts;
	uint64_t slow_disconnects;     /* stalled writes or full queue */
	uint64_t refused;              /* over max_relays */
	uint64_t template_pushes;      /* relay_server_push_template calls */
	uint64_t templates_coalesced;  /* replaced before being serialized */
	uint64_t templates_too_big;    /* over RELAY_MAX_PAYLOAD, not sent */
	uint64_t blocks_received;
	uint64_t full_requests;        /* REQUEST_FULL frames from relays */
};
void relay_server_get_counters(struct relay_server_counters *out);

/* Prometheus families (a metrics_section_fn; ctx unused):
 * ckpool_relay_connected_relays, ckpool_relay_peer_rtt_seconds{region,pool_instance},
 * ckpool_relay_templates_sent_total{...}, ckpool_relay_templates_dropped_total{...},
 * ckpool_relay_blocks_received_total{...}, ckpool_relay_template_pushes_total,
 * ckpool_relay_templates_coalesced_total, ckpool_relay_templates_too_big_total,
 * ckpool_relay_auth_failures_total, ckpool_relay_frames_rejected_total{reason},
 * ckpool_relay_disconnects_total{reason}. */
void relay_server_write_metrics(struct buf *out, void *ctx);

/* For /health: an array with one object per authenticated relay:
 * {"region","pool_instance","peer","connected_since_us","last_heartbeat_us",
 *  "rtt_ms" (null before the first PONG),"templates_sent","templates_dropped",
 *  "blocks_received"}. A new reference (an empty array when not running). */
json_t *relay_server_relays_json(void);

#endif
