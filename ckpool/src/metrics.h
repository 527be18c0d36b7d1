/*
 * metrics.h - the engine's observability endpoint on metrics_listen:
 * GET /metrics (Prometheus text exposition format 0.0.4) and GET /health
 * (JSON verdict from health.h; HTTP 200 when ok or degraded, 503 when down).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * The built-in metrics read g_stats (stats.h) and the events counters
 * (events.h); docs/metrics.md lists every one. Other modules append their
 * own families with metrics_register_section(); a section writes complete
 * families (# HELP, # TYPE, samples) with the helpers below, e.g.
 *
 *   static void relay_metrics(struct buf *out, void *ctx)
 *   {
 *           metrics_family(out, "ckpool_relay_rtt_seconds", "gauge", "Last relay RTT.");
 *           metrics_sample(out, "ckpool_relay_rtt_seconds", NULL, rtt_s);
 *   }
 *   metrics_register_section(relay_metrics, NULL);
 *
 * The server thread also samples the accepted-share counter every second
 * for ckpool_share_rate (shares per second over the last minute).
 */
#ifndef CKPOOL_METRICS_H
#define CKPOOL_METRICS_H

#include <stddef.h>

#include "bytes.h"

struct metrics_info {
	const char *region;
	const char *mode;            /* "primary" | "passthrough" */
	const char *pool_instance;
	const char *version;
};

/* Starts the HTTP server on `listen` ("host:port"; port 0 picks a free
 * one). Call health_init() first to set the health policy. 0, or -1 with
 * err naming the problem. */
int metrics_start(const char *listen, const struct metrics_info *info, char *err, size_t errlen);
/* Stops the server. Idempotent. */
void metrics_stop(void);
/* The bound TCP port, -1 when not running. */
int metrics_port(void);

typedef void (*metrics_section_fn)(struct buf *out, void *ctx);
/* Adds a section rendered after the built-in metrics on every scrape (on
 * the metrics thread; must not block). Any thread, any time. 0 or -1 when
 * the table is full. */
int metrics_register_section(metrics_section_fn fn, void *ctx);
void metrics_unregister_section(metrics_section_fn fn, void *ctx);

/* The /metrics body. */
void metrics_render(struct buf *out);
/* The /health body (JSON with region and mode); *http_status 200 or 503. */
void metrics_render_health(struct buf *out, int *http_status);

/* Records the accepted-share counter at monotonic time `now`; the server
 * thread calls it every second. */
void metrics_sample_share_rate(double now);
/* Accepted shares per second over the last minute of samples (0 with
 * fewer than two samples). */
double metrics_share_rate(void);

/* ---- helpers for sections ---- */

/* "# HELP name help\n# TYPE name type\n". */
void metrics_family(struct buf *out, const char *name, const char *type, const char *help);
/* "name{labels} value\n"; labels is the inside of the braces ("a=\"b\"")
 * or NULL. Values print as integers when they are whole. */
void metrics_sample(struct buf *out, const char *name, const char *labels, double value);
/* A family with one unlabelled sample: metrics_family + metrics_sample. */
void metrics_single(struct buf *out, const char *name, const char *type, const char *help,
		    double value);
/* Appends value escaped for use inside a label's double quotes. */
void metrics_escape_label(struct buf *out, const char *value);
/* printf into the buffer. */
void metrics_printf(struct buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
