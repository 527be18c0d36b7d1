/*
 * template_status.c - owns the record of the node's template answers and
 * the de-duplicated log lines about its refusals.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "template_status.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <string.h>

static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;
static struct error_streak streak = ERROR_STREAK_INIT;
static char chain[32];
static char challenge[TEMPLATE_STATUS_CHALLENGE_HEX_MAX + 1];
static int64_t refusing_since_us;

void template_status_reset(void)
{
	pthread_mutex_lock(&status_lock);
	streak = (struct error_streak)ERROR_STREAK_INIT;
	chain[0] = challenge[0] = '\0';
	refusing_since_us = 0;
	pthread_mutex_unlock(&status_lock);
}

void template_status_set_chain(const char *name)
{
	pthread_mutex_lock(&status_lock);
	copy_string(chain, name ? name : "", sizeof(chain));
	pthread_mutex_unlock(&status_lock);
}

static json_t *node_fields(const char *node, const char *error)
{
	json_t *f = json_object();

	json_object_set_new(f, "node", json_string(node ? node : ""));
	json_object_set_new(f, "error", json_string(error));
	return f;
}

void template_status_refused(const char *node, const char *error)
{
	struct error_streak ended;
	enum streak_change change;
	json_t *f;

	pthread_mutex_lock(&status_lock);
	change = error_streak_fail(&streak, error, &ended);
	if (change == STREAK_STARTED)
		refusing_since_us = now_unix_us();
	pthread_mutex_unlock(&status_lock);
	if (change == STREAK_REPEATED)
		return;
	f = node_fields(node, error);
	if (change == STREAK_CHANGED) {
		json_object_set_new(f, "previous_error", json_string(ended.message));
		json_object_set_new(f, "previous_error_count", json_integer((json_int_t)ended.count));
	}
	log_fields(LOG_WARN, "generator",
		   change == STREAK_STARTED ? "node refuses block templates"
					    : "node refuses block templates with another error",
		   f);
}

void template_status_served(const char *node, const char *signet_challenge)
{
	struct error_streak ended;
	enum streak_change change;
	json_t *f;

	pthread_mutex_lock(&status_lock);
	change = error_streak_clear(&streak, &ended);
	refusing_since_us = 0;
	copy_string(challenge, signet_challenge ? signet_challenge : "", sizeof(challenge));
	pthread_mutex_unlock(&status_lock);
	if (change != STREAK_ENDED)
		return;
	f = node_fields(node, ended.message);
	json_object_set_new(f, "error_count", json_integer((json_int_t)ended.count));
	log_fields(LOG_INFO, "generator", "node answers again: block templates flow", f);
}

void template_status_get(struct template_status *out)
{
	pthread_mutex_lock(&status_lock);
	copy_string(out->chain, chain, sizeof(out->chain));
	copy_string(out->signet_challenge, challenge, sizeof(out->signet_challenge));
	out->refusing = streak.active;
	copy_string(out->error, streak.message, sizeof(out->error));
	out->error_repeats = streak.count;
	out->refusing_since_us = refusing_since_us;
	out->refusals_total = streak.failures_total;
	pthread_mutex_unlock(&status_lock);
}
