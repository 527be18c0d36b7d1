/*
 * event_replay.c - fixed-capacity ring of the last datagrams sent.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "event_replay.h"

#include <stdlib.h>

int replay_init(struct event_replay *r, size_t capacity)
{
	*r = (struct event_replay){ .capacity = capacity };
	if (capacity == 0)
		return 0;
	r->text = calloc(capacity, sizeof(*r->text));
	r->len = calloc(capacity, sizeof(*r->len));
	if (!r->text || !r->len) {
		replay_free(r);
		return -1;
	}
	return 0;
}

void replay_keep(struct event_replay *r, char *text, size_t len)
{
	size_t slot;

	if (r->capacity == 0) {
		free(text);
		return;
	}
	if (r->count == r->capacity) {
		free(r->text[r->head]);
		r->head = (r->head + 1) % r->capacity;
		r->count--;
	}
	slot = (r->head + r->count) % r->capacity;
	r->text[slot] = text;
	r->len[slot] = len;
	r->count++;
}

size_t replay_count(const struct event_replay *r)
{
	return r->count;
}

const char *replay_at(const struct event_replay *r, size_t i, size_t *len)
{
	size_t slot;

	if (i >= r->count)
		return NULL;
	slot = (r->head + i) % r->capacity;
	if (len)
		*len = r->len[slot];
	return r->text[slot];
}

void replay_free(struct event_replay *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->text[(r->head + i) % r->capacity]);
	free(r->text);
	free(r->len);
	*r = (struct event_replay){ 0 };
}
