/*
 * log.c - owns the process's log sinks: formats one JSON object per line and
 * writes it to stderr and the optional log file under a mutex.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file;
static char log_region[64] = "eu";
static enum log_level min_level = LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int log_init(const char *region, const char *logdir)
{
	char path[4096];

	if (region)
		snprintf(log_region, sizeof(log_region), "%s", region);
	if (!logdir || !*logdir)
		return 0;
	snprintf(path, sizeof(path), "%s/ckpool.log", logdir);
	log_file = fopen(path, "a");
	return log_file ? 0 : -1;
}

void log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_file)
		fclose(log_file);
	log_file = NULL;
	pthread_mutex_unlock(&log_lock);
}

void log_set_level(enum log_level level)
{
	min_level = level;
}

static void format_timestamp(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%.20s.%06dZ", base, (int)(ts.tv_nsec / 1000));
}

static void write_line(const char *line)
{
	pthread_mutex_lock(&log_lock);
	fputs(line, stderr);
	fputc('\n', stderr);
	if (log_file) {
		fputs(line, log_file);
		fputc('\n', log_file);
		fflush(log_file);
	}
	pthread_mutex_unlock(&log_lock);
}

void log_fields(enum log_level level, const char *component, const char *msg, json_t *fields)
{
	char ts[64];
	json_t *line;
	char *text;

	if (level < min_level) {
		json_decref(fields);
		return;
	}
	format_timestamp(ts, sizeof(ts));
	line = json_object();
	json_object_set_new(line, "ts", json_string(ts));
	json_object_set_new(line, "level", json_string(level_names[level]));
	json_object_set_new(line, "component", json_string(component));
	json_object_set_new(line, "region", json_string(log_region));
	json_object_set_new(line, "msg", json_string(msg ? msg : ""));
	if (fields && json_is_object(fields))
		json_object_update_missing(line, fields);
	json_decref(fields);
	text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	json_decref(line);
	if (text) {
		write_line(text);
		free(text);
	}
}

static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;

bool log_limit_allow(struct log_limit *l, unsigned burst, double interval_s,
		     unsigned long *suppressed)
{
	struct timespec ts;
	double now;
	bool allow;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	pthread_mutex_lock(&limit_lock);
	if (l->in_window == 0 || now - l->window_start >= interval_s) {
		l->window_start = now;
		l->in_window = 0;
	}
	allow = l->in_window < burst;
	if (allow) {
		l->in_window++;
		if (suppressed)
			*suppressed = l->suppressed;
		l->suppressed = 0;
	} else {
		l->suppressed++;
	}
	pthread_mutex_unlock(&limit_lock);
	return allow;
}

void log_printf(enum log_level level, const char *component, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (level < min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fields(level, component, msg, NULL);
}
