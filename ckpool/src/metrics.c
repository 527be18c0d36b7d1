/*
 * metrics.c - owns the metrics endpoint: the HTTP server instance and its
 * routes, the Prometheus rendering of g_stats and the events counters, the
 * share-rate sampler, the registry of extra sections, and the /health body.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "metrics.h"
#include "connection.h"
#include "events.h"
#include "health.h"
#include "http_server.h"
#include "stats.h"
#include "template_status.h"
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_SECTIONS 8
#define RATE_SAMPLES 61          /* one a second: a minute of intervals */
#define RATE_WINDOW_S 60.0

/* Label values of ckpool_shares_rejected_total, indexed by enum reject_reason. */
static const char *const reject_labels[REJECT_REASON_COUNT] = {
	[REJECT_JOB_NOT_FOUND] = "job_not_found",
	[REJECT_STALE] = "stale",
	[REJECT_DUPLICATE] = "duplicate",
	[REJECT_LOW_DIFF] = "low_diff",
	[REJECT_BAD_NTIME] = "bad_ntime",
	[REJECT_BAD_VERSION] = "bad_version",
	[REJECT_BAD_EXTRANONCE2] = "bad_extranonce2",
	[REJECT_UNAUTHORIZED] = "unauthorized",
	[REJECT_NOT_SUBSCRIBED] = "not_subscribed",
	[REJECT_INVALID] = "invalid",
};

struct section {
	metrics_section_fn fn;
	void *ctx;
};

struct rate_sample {
	double t;
	uint64_t accepted;
};

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct section sections[MAX_SECTIONS];
static size_t section_count;
static struct rate_sample rate_ring[RATE_SAMPLES];
static size_t rate_next, rate_count;
static struct http_server *server;
static struct {
	char region[64], mode[32], pool_instance[128], version[64];
} info_copy;

/* ---- helpers ---- */

void metrics_printf(struct buf *out, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		buf_append(out, small, (size_t)n);
		return;
	}
	buf_grow(out, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf((char *)out->data + out->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	out->len += (size_t)n;
}

void metrics_family(struct buf *out, const char *name, const char *type, const char *help)
{
	metrics_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void format_value(char *text, size_t len, double v)
{
	if (isnan(v))
		snprintf(text, len, "NaN");
	else if (isinf(v))
		snprintf(text, len, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		snprintf(text, len, "%.0f", v);
	else
		snprintf(text, len, "%.9g", v);
}

void metrics_sample(struct buf *out, const char *name, const char *labels, double value)
{
	char text[64];

	format_value(text, sizeof(text), value);
	if (labels && *labels)
		metrics_printf(out, "%s{%s} %s\n", name, labels, text);
	else
		metrics_printf(out, "%s %s\n", name, text);
}

void metrics_escape_label(struct buf *out, const char *value)
{
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\')
			buf_append(out, "\\\\", 2);
		else if (*p == '"')
			buf_append(out, "\\\"", 2);
		else if (*p == '\n')
			buf_append(out, "\\n", 2);
		else
			buf_append(out, p, 1);
	}
}

void metrics_single(struct buf *out, const char *name, const char *type, const char *help,
		    double value)
{
	metrics_family(out, name, type, help);
	metrics_sample(out, name, NULL, value);
}

static double load_u64(atomic_uint_fast64_t *v)
{
	return (double)atomic_load(v);
}

/* ---- share rate ---- */

void metrics_sample_share_rate(double now)
{
	pthread_mutex_lock(&metrics_lock);
	rate_ring[rate_next] = (struct rate_sample){ now, atomic_load(&g_stats.shares_accepted) };
	rate_next = (rate_next + 1) % RATE_SAMPLES;
	if (rate_count < RATE_SAMPLES)
		rate_count++;
	pthread_mutex_unlock(&metrics_lock);
}

double metrics_share_rate(void)
{
	const struct rate_sample *newest, *oldest = NULL;
	double rate = 0;

	pthread_mutex_lock(&metrics_lock);
	if (rate_count >= 2) {
		newest = &rate_ring[(rate_next + RATE_SAMPLES - 1) % RATE_SAMPLES];
		for (size_t i = rate_count; i >= 2 && !oldest; i--) {
			const struct rate_sample *s = &rate_ring[(rate_next + RATE_SAMPLES - i)
								 % RATE_SAMPLES];

			if (newest->t - s->t <= RATE_WINDOW_S + 0.5)
				oldest = s;
		}
		if (oldest && newest->t > oldest->t && newest->accepted >= oldest->accepted)
			rate = (double)(newest->accepted - oldest->accepted)
			       / (newest->t - oldest->t);
	}
	pthread_mutex_unlock(&metrics_lock);
	return rate;
}

static void reset_share_rate(void)
{
	pthread_mutex_lock(&metrics_lock);
	rate_next = rate_count = 0;
	pthread_mutex_unlock(&metrics_lock);
}

/* ---- built-in families ---- */

static void render_connections(struct buf *out)
{
	metrics_single(out, "ckpool_miners_connected", "gauge", "Miners currently authorized.",
	       load_u64(&g_stats.miners_authorized));
	metrics_single(out, "ckpool_connections", "gauge", "Stratum connections currently open.",
	       load_u64(&g_stats.connections_current));
	metrics_single(out, "ckpool_connections_total", "counter", "Stratum connections accepted.",
	       load_u64(&g_stats.connections_total));
	metrics_family(out, "ckpool_connections_dropped_total", "counter",
		       "Stratum connections the engine closed: abuse (request rate, malformed or "
		       "too long lines, slow reader) or timeout (handshake, idle).");
	metrics_sample(out, "ckpool_connections_dropped_total", "reason=\"abuse\"",
		       load_u64(&g_stats.connections_dropped_abuse));
	metrics_sample(out, "ckpool_connections_dropped_total", "reason=\"timeout\"",
		       load_u64(&g_stats.connections_dropped_timeout));
	metrics_single(out, "ckpool_stratum_pending_bytes", "gauge",
		       "Replies held for Stratum connections that read too slowly.",
		       (double)pending_budget_used());
}

static void render_shares(struct buf *out)
{
	char labels[64];
	double rejected = 0;

	for (int i = 0; i < REJECT_REASON_COUNT; i++)
		rejected += load_u64(&g_stats.shares_rejected[i]);
	metrics_family(out, "ckpool_shares_total", "counter", "Shares submitted, by result.");
	metrics_sample(out, "ckpool_shares_total", "result=\"accepted\"",
		       load_u64(&g_stats.shares_accepted));
	metrics_sample(out, "ckpool_shares_total", "result=\"rejected\"", rejected);
	metrics_family(out, "ckpool_shares_rejected_total", "counter",
		       "Shares rejected, by reason.");
	for (int i = 0; i < REJECT_REASON_COUNT; i++) {
		snprintf(labels, sizeof(labels), "reason=\"%s\"", reject_labels[i]);
		metrics_sample(out, "ckpool_shares_rejected_total", labels,
			       load_u64(&g_stats.shares_rejected[i]));
	}
	metrics_single(out, "ckpool_stale_shares_total", "counter",
	       "Shares rejected because their job was no longer current.",
	       load_u64(&g_stats.shares_rejected[REJECT_STALE]));
	metrics_single(out, "ckpool_share_difficulty_accepted_total", "counter",
	       "Sum of the difficulty credited to accepted shares.",
	       load_u64(&g_stats.share_diff_accepted_milli) / 1000.0);
	metrics_single(out, "ckpool_share_rate", "gauge",
	       "Accepted shares per second over the last minute.", metrics_share_rate());
}

static void render_blocks(struct buf *out)
{
	metrics_single(out, "ckpool_blocks_found_total", "counter",
	       "Shares that met the network target.", load_u64(&g_stats.blocks_found));
	metrics_single(out, "ckpool_blocks_submitted_total", "counter",
	       "submitblock calls made.", load_u64(&g_stats.blocks_submitted));
	metrics_single(out, "ckpool_blocks_accepted_total", "counter",
	       "Blocks the node accepted.", load_u64(&g_stats.blocks_accepted));
	metrics_single(out, "ckpool_blocks_rejected_total", "counter",
	       "Blocks the node rejected.", load_u64(&g_stats.blocks_rejected));
}

static void render_template(struct buf *out)
{
	int64_t height = atomic_load(&g_stats.template_height);
	int64_t built = atomic_load(&g_stats.template_time_us);
	double age = built ? (double)(now_unix_us() - built) / 1e6 : 0;

	metrics_single(out, "ckpool_template_height", "gauge",
	       "Height of the block being mined (-1 before the first template).", (double)height);
	metrics_single(out, "ckpool_template_age_seconds", "gauge",
	       "Seconds since the current template was built (0 before the first).", age);
	metrics_single(out, "ckpool_templates_total", "counter", "Templates built or received.",
	       load_u64(&g_stats.templates_total));
}

/* One sample of an info family: name{key="value",...} 1. */
static void info_sample(struct buf *out, const char *name, const char *const *pairs)
{
	struct buf labels = BUF_INIT;

	for (size_t i = 0; pairs[i]; i += 2) {
		metrics_printf(&labels, "%s%s=\"", i ? "," : "", pairs[i]);
		metrics_escape_label(&labels, pairs[i + 1]);
		buf_append(&labels, "\"", 1);
	}
	buf_append(&labels, "", 1);     /* the NUL */
	metrics_sample(out, name, (const char *)labels.data, 1);
	buf_free(&labels);
}

static void render_template_status(struct buf *out)
{
	struct template_status st;

	template_status_get(&st);
	metrics_single(out, "ckpool_template_refusals_total", "counter",
	       "getblocktemplate calls the node refused or that failed (any error).",
	       (double)st.refusals_total);
	metrics_single(out, "ckpool_template_refused", "gauge",
	       "1 while the node's last getblocktemplate answer was a refusal, 0 otherwise.",
	       st.refusing ? 1 : 0);
	metrics_single(out, "ckpool_template_refused_repeats", "gauge",
	       "Refusals in a row with the current error (0 when not refused).",
	       st.refusing ? (double)st.error_repeats : 0);
	metrics_family(out, "ckpool_template_refusal_info", "gauge",
		       "Constant 1 labelled with the current refusal's error; absent when none.");
	if (st.refusing)
		info_sample(out, "ckpool_template_refusal_info",
			    (const char *const[]){ "error", st.error, NULL });
	metrics_family(out, "ckpool_chain_info", "gauge",
		       "Constant 1 labelled with the node's chain and the template's signet "
		       "challenge (hex, empty off signet); absent before the node answered.");
	if (*st.chain)
		info_sample(out, "ckpool_chain_info",
			    (const char *const[]){ "chain", st.chain, "signet_challenge",
						   st.signet_challenge, NULL });
}

static void render_rpc(struct buf *out)
{
	const char *name = "ckpool_bitcoind_rpc_latency_seconds";
	char labels[48];
	double cumulative = 0;

	/* Prometheus base unit: stats keeps ms buckets, the page shows them in seconds. */
	metrics_family(out, name, "histogram", "bitcoind JSON-RPC round-trip time in seconds.");
	for (int i = 0; i < RPC_LATENCY_BUCKETS; i++) {
		cumulative += load_u64(&g_stats.rpc_latency_count[i]);
		snprintf(labels, sizeof(labels), "le=\"%g\"", rpc_latency_bucket_ms[i] / 1000.0);
		metrics_sample(out, "ckpool_bitcoind_rpc_latency_seconds_bucket", labels, cumulative);
	}
	cumulative += load_u64(&g_stats.rpc_latency_count[RPC_LATENCY_BUCKETS]);
	metrics_sample(out, "ckpool_bitcoind_rpc_latency_seconds_bucket", "le=\"+Inf\"", cumulative);
	metrics_sample(out, "ckpool_bitcoind_rpc_latency_seconds_sum", NULL,
		       load_u64(&g_stats.rpc_latency_sum_us) / 1e6);
	metrics_sample(out, "ckpool_bitcoind_rpc_latency_seconds_count", NULL, cumulative);
	metrics_single(out, "ckpool_bitcoind_rpc_errors_total", "counter",
	       "bitcoind JSON-RPC calls that failed.", load_u64(&g_stats.rpc_errors));
	metrics_single(out, "ckpool_bitcoind_reachable", "gauge",
	       "1 when the last bitcoind RPC succeeded, 0 otherwise.",
	       atomic_load(&g_stats.node_reachable) ? 1 : 0);
}

enum event_count { COUNT_EMITTED, COUNT_DROPPED, COUNT_QUEUED };

static double event_count(const struct events_type_stats *st, enum event_count which)
{
	return (double)(which == COUNT_EMITTED ? st->emitted
			: which == COUNT_DROPPED ? st->dropped : st->queued);
}

static void render_event_family(struct buf *out, const char *name, const char *help,
				const struct events_type_stats *st, size_t n,
				enum event_count which)
{
	struct buf labels = BUF_INIT;

	metrics_family(out, name, which == COUNT_QUEUED ? "gauge" : "counter", help);
	for (size_t i = 0; i < n; i++) {
		buf_reset(&labels);
		buf_append(&labels, "type=\"", 6);
		metrics_escape_label(&labels, st[i].type);
		buf_append(&labels, "\"", 2);   /* with the NUL */
		metrics_sample(out, name, (const char *)labels.data, event_count(&st[i], which));
	}
	buf_free(&labels);
}

static void render_events(struct buf *out)
{
	struct events_type_stats st[EVENTS_MAX_TYPES];
	size_t n = events_stats_by_type(st, EVENTS_MAX_TYPES);

	if (n > EVENTS_MAX_TYPES)
		n = EVENTS_MAX_TYPES;
	render_event_family(out, "ckpool_events_emitted_total",
			    "Events the consumer accepted, by type.", st, n, COUNT_EMITTED);
	render_event_family(out, "ckpool_events_dropped_total",
			    "Events lost (queue full, oversize, shutdown), by type.",
			    st, n, COUNT_DROPPED);
	render_event_family(out, "ckpool_events_queued_by_type",
			    "Events waiting in the emitter queue now, by type.", st, n,
			    COUNT_QUEUED);
	metrics_single(out, "ckpool_events_queued", "gauge", "Events waiting in the emitter queue.",
	       (double)events_queue_depth());
	metrics_single(out, "ckpool_events_queue_capacity", "gauge",
	       "Capacity of the emitter queue (events.buffer_hwm).",
	       (double)events_queue_capacity());
	metrics_single(out, "ckpool_events_consumer_connected", "gauge",
	       "1 while the event consumer's socket accepts datagrams.",
	       events_consumer_connected() ? 1 : 0);
	metrics_single(out, "ckpool_events_resent_total", "counter",
	       "Datagrams sent again to a consumer that came back (the last ones the gone one had).",
	       (double)events_resent_total());
}

static void render_process(struct buf *out)
{
	struct health_inputs in;
	struct template_status st;
	struct buf labels = BUF_INIT;

	health_gather(&in, &st);
	metrics_single(out, "ckpool_uptime_seconds", "gauge", "Seconds since the engine started.",
	       in.uptime_s);
	metrics_family(out, "ckpool_build_info", "gauge",
		       "Constant 1, labelled with the build and deployment.");
	buf_append(&labels, "version=\"", 9);
	metrics_escape_label(&labels, info_copy.version);
	buf_append(&labels, "\",region=\"", 10);
	metrics_escape_label(&labels, info_copy.region);
	buf_append(&labels, "\",mode=\"", 8);
	metrics_escape_label(&labels, info_copy.mode);
	buf_append(&labels, "\",pool_instance=\"", 17);
	metrics_escape_label(&labels, info_copy.pool_instance);
	buf_append(&labels, "\"", 2);   /* with the NUL */
	metrics_sample(out, "ckpool_build_info", (const char *)labels.data, 1);
	buf_free(&labels);
}

static void render_sections(struct buf *out)
{
	pthread_mutex_lock(&metrics_lock);
	for (size_t i = 0; i < section_count; i++)
		sections[i].fn(out, sections[i].ctx);
	pthread_mutex_unlock(&metrics_lock);
}

void metrics_render(struct buf *out)
{
	render_connections(out);
	render_shares(out);
	render_blocks(out);
	render_template(out);
	render_template_status(out);
	render_rpc(out);
	render_events(out);
	render_process(out);
	render_sections(out);
}

void metrics_render_health(struct buf *out, int *http_status)
{
	struct health_inputs in;
	struct template_status st;
	struct health_report r;
	json_t *body;
	char *text;

	health_check(&in, &st, &r);
	body = health_report_json(&r, &in);
	json_object_set_new(body, "region", json_string(info_copy.region));
	json_object_set_new(body, "mode", json_string(info_copy.mode));
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text) {
		buf_append(out, text, strlen(text));
		buf_append(out, "\n", 1);
	}
	free(text);
	*http_status = r.status == HEALTH_DOWN ? 503 : 200;
}

/* ---- sections registry ---- */

int metrics_register_section(metrics_section_fn fn, void *ctx)
{
	int rc = -1;

	pthread_mutex_lock(&metrics_lock);
	if (section_count < MAX_SECTIONS) {
		sections[section_count++] = (struct section){ fn, ctx };
		rc = 0;
	}
	pthread_mutex_unlock(&metrics_lock);
	return rc;
}

void metrics_unregister_section(metrics_section_fn fn, void *ctx)
{
	pthread_mutex_lock(&metrics_lock);
	for (size_t i = 0; i < section_count; i++) {
		if (sections[i].fn != fn || sections[i].ctx != ctx)
			continue;
		memmove(&sections[i], &sections[i + 1], (section_count - i - 1) * sizeof(*sections));
		section_count--;
		break;
	}
	pthread_mutex_unlock(&metrics_lock);
}

/* ---- the server ---- */

static void serve_metrics(const struct http_request *req, struct http_response *resp, void *ctx)
{
	(void)req;
	(void)ctx;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	metrics_render(&resp->body);
}

static void serve_health(const struct http_request *req, struct http_response *resp, void *ctx)
{
	(void)req;
	(void)ctx;
	resp->content_type = "application/json";
	metrics_render_health(&resp->body, &resp->status);
}

static void sample_every_second(double now, void *ctx)
{
	(void)ctx;
	metrics_sample_share_rate(now);
}

static void copy_info(const struct metrics_info *info)
{
	copy_string(info_copy.region, info && info->region ? info->region : "eu",
		    sizeof(info_copy.region));
	copy_string(info_copy.mode, info && info->mode ? info->mode : "primary",
		    sizeof(info_copy.mode));
	copy_string(info_copy.pool_instance, info && info->pool_instance ? info->pool_instance : "",
		    sizeof(info_copy.pool_instance));
	copy_string(info_copy.version, info && info->version ? info->version : "unknown",
		    sizeof(info_copy.version));
}

int metrics_start(const char *listen, const struct metrics_info *info, char *err, size_t errlen)
{
	if (server) {
		snprintf(err, errlen, "metrics: already running");
		return -1;
	}
	copy_info(info);
	reset_share_rate();
	server = http_server_new(NULL);
	if (!server) {
		snprintf(err, errlen, "metrics: out of memory");
		return -1;
	}
	http_server_route(server, "/metrics", serve_metrics, NULL);
	http_server_route(server, "/health", serve_health, NULL);
	http_server_on_tick(server, sample_every_second, NULL, 1000);
	if (http_server_start(server, listen, err, errlen)) {
		http_server_free(server);
		server = NULL;
		return -1;
	}
	return 0;
}

void metrics_stop(void)
{
	http_server_free(server);
	server = NULL;
}

int metrics_port(void)
{
	return server ? http_server_port(server) : -1;
}
