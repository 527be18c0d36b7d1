/*
 * error_streak.c - tells a new error from a repeat of the last one.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "error_streak.h"

#include <stdio.h>
#include <string.h>

static void start(struct error_streak *s, const char *message)
{
	s->active = true;
	snprintf(s->message, sizeof(s->message), "%s", message);
	s->count = 1;
}

enum streak_change error_streak_fail(struct error_streak *s, const char *message,
				     struct error_streak *ended)
{
	char cut[ERROR_STREAK_MESSAGE_MAX];

	if (!message)
		message = "";
	s->failures_total++;
	if (!s->active) {
		start(s, message);
		return STREAK_STARTED;
	}
	/* Compare as stored: a message longer than the buffer repeats too. */
	snprintf(cut, sizeof(cut), "%s", message);
	if (!strcmp(cut, s->message)) {
		s->count++;
		return STREAK_REPEATED;
	}
	if (ended)
		*ended = *s;
	start(s, message);
	return STREAK_CHANGED;
}

enum streak_change error_streak_clear(struct error_streak *s, struct error_streak *ended)
{
	if (!s->active)
		return STREAK_NONE;
	if (ended)
		*ended = *s;
	s->active = false;
	s->message[0] = '\0';
	s->count = 0;
	return STREAK_ENDED;
}
