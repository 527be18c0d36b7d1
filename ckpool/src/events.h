/*
 * events.h - every mining action as an event on a Unix datagram socket.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Mining threads call events_emit(); it never blocks and never waits for the
 * consumer. A single emitter thread wraps each event in the envelope
 * (event_id UUIDv7, event, ts in microseconds, source "hosted", region,
 * pool_instance, boot_id, seq) and sends it as one datagram to
 * events.socket_path. A full queue or an absent consumer drops the event and
 * counts it by type; seq still advances so consumers can count the gap.
 */
#ifndef CKPOOL_EVENTS_H
#define CKPOOL_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct events_config {
	bool enabled;
	const char *socket_path;     /* consumer's SOCK_DGRAM socket */
	const char *const *types;    /* NULL-terminated allow list, NULL = all */
	size_t buffer_hwm;           /* queue capacity in events */
	unsigned hashrate_interval_sec;
	const char *region;          /* "eu" when NULL */
	const char *pool_instance;
};

/* Starts the emitter thread. 0 on success, -1 with err filled on failure. */
int events_start(const struct events_config *cfg, char *err, size_t errlen);
/* Flushes what the consumer accepts within a short grace period, then stops. */
void events_stop(void);
/* Queues one event; takes ownership of data (a JSON object). Never blocks. */
void events_emit(const char *type, json_t *data);
/* True when `type` passes the events.event_types filter and events are on. */
bool events_wanted(const char *type);
/* The per-start boot id, a UUID string. */
const char *events_boot_id(void);

#endif
