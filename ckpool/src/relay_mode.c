/*
 * relay_mode.c - owns the relay link's place in the engine: which end runs
 * (server on a primary, client on a relay), the callbacks and hooks that
 * connect it to the generator, submission, the node and events, and the
 * relay's mode metrics and health contributor. The only file outside the
 * link itself that knows relay_server / relay_client.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "relay_mode.h"
#include "events.h"
#include "generator.h"
#include "health.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "relay_client.h"
#include "relay_server.h"
#include "relay_tls.h"
#include "rpc.h"
#include "stats.h"
#include "submit.h"
#include "util.h"
#include "workbase.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define RELAYED_SUBMIT_TIMEOUT_MS 60000

static struct {
	const struct config *cfg;
	bool server_on, client_on;
	struct rpc_client *rpc;         /* primary: submitblock for relayed blocks */
	struct relay_tls *tls;          /* relay.tls, either end; NULL = plaintext */
	pthread_mutex_t lock;
	int64_t link_up_us;             /* relay: when the link last came up */
} rm = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The TLS metrics section's ctx: which end this engine is. */
static void *tls_metrics_side(void)
{
	return (void *)(intptr_t)(rm.cfg->mode == MODE_PRIMARY ? RELAY_TLS_SERVER
							       : RELAY_TLS_CLIENT);
}

/* ---- primary ---- */

/* On the relay server's worker thread. */
static int submit_relayed_block(const char *hex, char *result, size_t len, void *ctx)
{
	char err[512];
	json_t *answer = rpc_call(rm.rpc, "submitblock", json_pack("[s]", hex),
				  RELAYED_SUBMIT_TIMEOUT_MS, err, sizeof(err));
	int status;

	(void)ctx;
	if (!answer) {
		snprintf(result, len, "%s", err);
		return RELAY_BLOCK_ERROR;
	}
	if (json_is_null(answer)) {
		status = RELAY_BLOCK_ACCEPTED;
		generator_request_template();
	} else {
		status = RELAY_BLOCK_REJECTED;
		snprintf(result, len, "%s", json_is_string(answer) ? json_string_value(answer)
								  : "unexpected submitblock answer");
	}
	json_decref(answer);
	return status;
}

/* On the server's I/O thread with its lock held: only queue an event. */
static void on_relay_change(const struct relay_peer_info *info, bool connected, void *ctx)
{
	const char *type = connected ? "relay_connected" : "relay_disconnected";
	json_t *data;

	(void)ctx;
	if (!events_wanted(type))
		return;
	data = json_pack("{s:s, s:s, s:s, s:s}", "side", "primary", "relay_region", info->region,
			 "relay_pool_instance", info->pool_instance, "peer", info->peer);
	if (!connected) {
		json_object_set_new(data, "reason", json_string(info->reason ? info->reason : ""));
		json_object_set_new(data, "connected_s",
				    json_real((double)(now_unix_us() - info->connected_since_us) / 1e6));
	}
	events_emit(type, data);
}

/* The generator's publish hook on a primary. */
static void push_workbase(struct workbase *wb)
{
	relay_server_push_workbase(wb);  /* the number of relays is not needed */
}

/* The current workbase, for relays that connect before the next template. */
static void push_current_workbase(void)
{
	struct workbase *wb = jobs_current(NULL, NULL);

	if (wb)
		relay_server_push_workbase(wb);
	workbase_unref(wb);
}

/* ---- TLS (relay.tls) ---- */

static void log_tls_on(const struct config *cfg)
{
	const struct relay_tls_config *t = &cfg->relay_tls;
	char pin[RELAY_TLS_PIN_HEX + 1] = "";
	json_t *f;

	if (cfg->mode == MODE_PRIMARY) {
		relay_tls_cert_pin(t->cert, pin);
		f = json_pack("{s:s, s:s}", "cert", t->cert, "pin_sha256", pin);
	} else {
		f = json_pack("{s:s, s:i}", "ca", t->ca, "pins", (int)t->pin_count);
	}
	log_fields(LOG_INFO, "relay", "relay link TLS on", f);
}

static int open_tls(const struct config *cfg, char *err, size_t errlen)
{
	const struct relay_tls_config *t = &cfg->relay_tls;
	const char *pins[CONFIG_MAX_TLS_PINS];

	if (!t->enabled)
		return 0;
	if (cfg->mode == MODE_PRIMARY) {
		rm.tls = relay_tls_server_new(t->cert, t->key, err, errlen);
	} else {
		for (size_t i = 0; i < t->pin_count; i++)
			pins[i] = t->pin_sha256[i];
		rm.tls = relay_tls_client_new(&(struct relay_tls_client_settings){
			.ca = t->ca, .pins = pins, .pin_count = t->pin_count,
			.server_name = *t->server_name ? t->server_name : cfg->primary.host,
		}, err, errlen);
	}
	if (!rm.tls)
		return -1;
	log_tls_on(cfg);
	metrics_register_section(relay_tls_write_metrics, tls_metrics_side());
	return 0;
}

static void close_tls(void)
{
	if (!rm.tls)
		return;
	metrics_unregister_section(relay_tls_write_metrics, tls_metrics_side());
	relay_tls_free(rm.tls);
	rm.tls = NULL;
}

static int start_server(const struct config *cfg, char *err, size_t errlen)
{
	struct relay_server_config rc = {
		.listen = cfg->relay_listen,
		.auth_token = cfg->primary.auth_token,
		.submit_block = submit_relayed_block,
		.on_relay_change = on_relay_change,
	};

	if (open_tls(cfg, err, errlen))
		return -1;
	rc.tls = rm.tls;
	rm.rpc = rpc_client_new(cfg, "relay");
	if (!rm.rpc) {
		snprintf(err, errlen, "relay: cannot create its RPC client");
		close_tls();
		return -1;
	}
	if (relay_server_start(&rc, err, errlen)) {
		rpc_client_free(rm.rpc);
		rm.rpc = NULL;
		close_tls();
		return -1;
	}
	rm.server_on = true;
	metrics_register_section(relay_server_write_metrics, NULL);
	generator_set_link(&(struct generator_link){ .publish = push_workbase });
	push_current_workbase();
	return 0;
}

/* ---- relay ---- */

static void on_workbase(struct workbase *wb, uint64_t primary_workbase_id,
			uint64_t primary_send_us, void *ctx)
{
	(void)primary_send_us;
	(void)ctx;
	generator_primary_workbase(wb, primary_workbase_id);
}

static json_t *link_fields(void)
{
	const struct config *cfg = rm.cfg;
	struct relay_client_stats st;
	char peer[300];

	relay_client_get_stats(&st);
	snprintf(peer, sizeof(peer), "%s:%d", cfg->primary.host, cfg->primary.template_push_port);
	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:o}", "side", "relay", "relay_region",
			 cfg->region, "primary_host", cfg->primary.host, "primary_port",
			 cfg->primary.template_push_port, "peer", peer, "rtt_ms",
			 st.rtt_ms < 0 ? json_null() : json_real(st.rtt_ms));
}

/* On the link thread. */
static void on_link_change(bool up, const char *reason, void *ctx)
{
	const char *type = up ? "relay_connected" : "relay_disconnected";
	json_t *data;
	int64_t since;

	(void)ctx;
	pthread_mutex_lock(&rm.lock);
	since = rm.link_up_us;
	rm.link_up_us = up ? now_unix_us() : 0;
	pthread_mutex_unlock(&rm.lock);
	if (!events_wanted(type))
		return;
	data = link_fields();
	if (!up) {
		json_object_set_new(data, "reason", json_string(reason ? reason : ""));
		json_object_set_new(data, "connected_s",
				    json_real(since ? (double)(now_unix_us() - since) / 1e6 : 0));
	}
	events_emit(type, data);
}

static double stale_shares_percent(void)
{
	double stale = (double)atomic_load(&g_stats.shares_rejected[REJECT_STALE]);
	double total = (double)atomic_load(&g_stats.shares_accepted);

	for (int i = 0; i < REJECT_REASON_COUNT; i++)
		total += (double)atomic_load(&g_stats.shares_rejected[i]);
	return total > 0 ? 100.0 * stale / total : 0;
}

/* The generator-owned relay families (a metrics_section_fn). */
static void write_mode_metrics(struct buf *out, void *ctx)
{
	struct generator_relay_state s;

	(void)ctx;
	generator_relay_state(&s);
	metrics_single(out, "ckpool_relay_independent_mode", "gauge",
	      "1 while the relay mines its own node's templates (primary unreachable).",
	      s.independent ? 1 : 0);
	metrics_single(out, "ckpool_relay_mode_changes_total", "counter",
	      "Switches between relayed and independent mode.", (double)s.mode_changes);
	metrics_single(out, "ckpool_relay_local_templates_total", "counter",
	      "Own-node templates used in relayed mode because the own node saw a block first.",
	      (double)s.local_ahead);
	metrics_single(out, "ckpool_relay_primary_templates_ignored_total", "counter",
	      "Primary templates not used: behind a block the own node already had.",
	      (double)s.primary_ignored);
	metrics_single(out, "ckpool_relay_stale_shares_percent", "gauge",
	      "Stale shares as a percentage of all shares submitted since start.",
	      stale_shares_percent());
}

static void health_contribution(struct health_report *r, void *ctx)
{
	const struct config *cfg = ctx;
	struct generator_relay_state s;

	generator_relay_state(&s);
	if (s.independent)
		health_add_reason(r, HEALTH_DEGRADED,
				  "independent mode: primary %s:%d unreachable for %.0f s, mining "
				  "own node's templates", cfg->primary.host,
				  cfg->primary.template_push_port,
				  (double)relay_client_link_down_for_ms() / 1000.0);
}

static int start_client(const struct config *cfg, char *err, size_t errlen)
{
	struct relay_client_config rc = {
		.host = cfg->primary.host,
		.port = cfg->primary.template_push_port,
		.auth_token = cfg->primary.auth_token,
		.region = cfg->region,
		.pool_instance = cfg->pool_instance,
		.reconnect_interval_ms = cfg->primary.reconnect_interval * 1000,
		.on_workbase = on_workbase,
		.on_link_change = on_link_change,
	};

	if (open_tls(cfg, err, errlen))
		return -1;
	rc.tls = rm.tls;
	if (relay_client_start(&rc, err, errlen)) {
		close_tls();
		return -1;
	}
	rm.client_on = true;
	generator_set_link(&(struct generator_link){
		.down_for_ms = relay_client_link_down_for_ms });
	submit_set_primary_path(relay_client_submit_block);
	metrics_register_section(relay_client_write_metrics, NULL);
	metrics_register_section(write_mode_metrics, NULL);
	health_register_contributor(health_contribution, (void *)cfg);
	return 0;
}

/* ---- lifecycle ---- */

int relay_mode_start(const struct config *cfg, char *err, size_t errlen)
{
	rm.cfg = cfg;
	if (cfg->mode == MODE_PASSTHROUGH)
		return start_client(cfg, err, errlen);
	if (!*cfg->primary.auth_token) {
		log_info("relay", "relay link off: no primary.auth_token set");
		return 0;
	}
	return start_server(cfg, err, errlen);
}

void relay_mode_stop(void)
{
	generator_set_link(NULL);
	submit_set_primary_path(NULL);
	if (rm.server_on) {
		metrics_unregister_section(relay_server_write_metrics, NULL);
		rpc_client_cancel(rm.rpc);  /* a relayed submitblock must not hold up shutdown */
		relay_server_stop();
		rpc_client_free(rm.rpc);
		rm.rpc = NULL;
		rm.server_on = false;
	}
	if (rm.client_on) {
		health_unregister_contributor(health_contribution, (void *)rm.cfg);
		metrics_unregister_section(write_mode_metrics, NULL);
		metrics_unregister_section(relay_client_write_metrics, NULL);
		relay_client_stop();
		rm.client_on = false;
	}
	close_tls();
}
