/*
 * event_replay.h - the last events the emitter sent, kept so they can be
 * sent again after the consumer went away: a consumer that dies loses what
 * sat in its socket buffer and its memory, and the engine cannot tell how
 * much. Resending is safe because every event carries its event_id, which
 * the pipeline de-duplicates on.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_EVENT_REPLAY_H
#define CKPOOL_EVENT_REPLAY_H

#include <stddef.h>

struct event_replay {
	char **text;     /* owned, NUL-terminated datagrams, oldest at head */
	size_t *len;
	size_t capacity, head, count;
};

/* 0 on success; -1 when out of memory. capacity 0 keeps nothing. */
int replay_init(struct event_replay *r, size_t capacity);
/* Takes ownership of `text` (malloc'd); the oldest is freed once full. */
void replay_keep(struct event_replay *r, char *text, size_t len);
size_t replay_count(const struct event_replay *r);
/* The i-th kept datagram, 0 = oldest. */
const char *replay_at(const struct event_replay *r, size_t i, size_t *len);
void replay_free(struct event_replay *r);

#endif
