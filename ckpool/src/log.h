/*
 * log.h - JSON-lines logging to stderr and, when configured, logdir/ckpool.log.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Every line is one JSON object:
 *   {"ts":"2026-05-24T12:00:00.123456Z","level":"info","component":"stratum",
 *    "region":"eu","msg":"listening", ...fields}
 * Safe to call from any thread; lines are never interleaved.
 */
#ifndef CKPOOL_LOG_H
#define CKPOOL_LOG_H

#include <jansson.h>
#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the region stamped on every line and opens logdir/ckpool.log when
 * logdir is not NULL. 0 on success, -1 when the file cannot be opened. */
int log_init(const char *region, const char *logdir);
/* Closes the log file. */
void log_close(void);
/* Lines below `level` are dropped (default LOG_INFO). */
void log_set_level(enum log_level level);

/* Writes one line; `fields` (a JSON object or NULL) is merged in and released. */
void log_fields(enum log_level level, const char *component, const char *msg, json_t *fields);
/* Writes one line whose msg is formatted printf-style. */
void log_printf(enum log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A rate limit for lines peers can cause (refused logins, abuse): zero
 * initialised (static storage), shared by any threads. */
struct log_limit {
	double window_start;
	unsigned in_window;
	unsigned long suppressed;
};

/* True when one more line may be written: at most `burst` per `interval_s`
 * seconds. *suppressed (may be NULL) gets how many lines were refused since
 * the last one allowed, for the allowed line to mention. */
bool log_limit_allow(struct log_limit *l, unsigned burst, double interval_s,
		     unsigned long *suppressed);

#define log_debug(comp, ...) log_printf(LOG_DEBUG, comp, __VA_ARGS__)
#define log_info(comp, ...) log_printf(LOG_INFO, comp, __VA_ARGS__)
#define log_warn(comp, ...) log_printf(LOG_WARN, comp, __VA_ARGS__)
#define log_error(comp, ...) log_printf(LOG_ERROR, comp, __VA_ARGS__)

#endif
