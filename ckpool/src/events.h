/*
 * events.h - every mining action as an event on a Unix datagram socket.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Mining threads call events_emit(); it never blocks and never waits for the
 * consumer. A single emitter thread wraps each event in the envelope
 * (event_id UUIDv7, event, ts in microseconds, source "hosted", region,
 * pool_instance, boot_id, seq) and sends it as one datagram to
 * events.socket_path. A full queue drops the event and counts it by type;
 * seq still advances so consumers can count the gap. An absent consumer is
 * waited for, the queue absorbing what is emitted meanwhile.
 *
 * Details (docs/events.md is the reference for consumers):
 *  - The queue is a bounded lock-free ring of buffer_hwm slots; producers
 *    claim a slot with one compare-and-swap, the emitter is the only reader.
 *  - ts is taken inside events_emit(); seq is given by the emitter in queue
 *    order, so first deliveries have strictly increasing seq. Events dropped
 *    because the queue was full advance seq before the next delivered event;
 *    events the emitter drops (oversize, shutdown) consume their own seq.
 *    Over a boot: last delivered seq == delivered + dropped (up to then).
 *  - block_found has 64 slots of its own beyond buffer_hwm: however full
 *    the queue is with other events, a found block's event is queued.
 *  - Consumer slow (EAGAIN/ENOBUFS): the emitter polls briefly and retries;
 *    producers are unaffected until the ring is full.
 *  - No consumer (ENOENT/ECONNREFUSED): the emitter holds the event and
 *    tries to reconnect once per reconnect_ms; the queue fills meanwhile.
 *    When a consumer that took events went away and one is back, the last
 *    REPLAY_EVENTS (4096) datagrams sent are sent again first, each the same
 *    bytes (event_id, seq): the dead consumer may have lost them unread.
 *    Consumers de-duplicate on event_id. Once stopping, an absent consumer
 *    is not waited for: what is left is dropped and counted.
 *  - Datagrams are capped at EVENTS_MAX_DATAGRAM bytes; larger ones are
 *    dropped and counted.
 *  - Event types are snake_case names; the twelve documented ones are known
 *    up front, others are added on first use (up to EVENTS_MAX_TYPES).
 *  - With a state_dir, a boot that follows an earlier one starts with
 *    engine_started: that boot's id and the seq it would have reached
 *    (seq_mark.h), so events a SIGKILL took from the queue show as a gap.
 */
#ifndef CKPOOL_EVENTS_H
#define CKPOOL_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENTS_MAX_DATAGRAM 65536
#define EVENTS_MAX_TYPES 32
#define EVENTS_TYPE_NAME_MAX 48

struct events_config {
	bool enabled;
	const char *socket_path;     /* consumer's SOCK_DGRAM socket */
	const char *const *types;    /* NULL-terminated allow list, NULL = all */
	size_t buffer_hwm;           /* queue capacity in events (default 65536) */
	unsigned hashrate_interval_sec;
	const char *region;          /* "eu" when NULL */
	const char *pool_instance;
	unsigned reconnect_ms;       /* wait after "no consumer"; 0 = 1000 */
	unsigned flush_ms;           /* events_stop() grace; 0 = 1000 */
	const char *state_dir;       /* events.seq (seq_mark.h) lives here; NULL/"" = none */
};

/* Starts the emitter thread. 0 on success, -1 with err filled on failure.
 * With enabled false it succeeds and every event is discarded uncounted. */
int events_start(const struct events_config *cfg, char *err, size_t errlen);
/* Flushes what the consumer accepts within a short grace period, then stops.
 * What is still queued afterwards is dropped and counted. */
void events_stop(void);
/* Queues one event; takes ownership of data (a JSON object, NULL = {}).
 * Never blocks. Events filtered out by events.event_types are discarded
 * without consuming a seq. */
void events_emit(const char *type, json_t *data);
/* True when `type` passes the events.event_types filter and events are on. */
bool events_wanted(const char *type);
/* The per-start boot id, a UUID string. */
const char *events_boot_id(void);

/* Counters of one event type since events_start(). */
struct events_type_stats {
	char type[EVENTS_TYPE_NAME_MAX];
	uint64_t emitted;            /* datagrams the consumer accepted */
	uint64_t dropped;            /* queue full, oversize, shutdown */
	uint64_t queued;             /* waiting in the ring right now */
};

/* Copies the counters of up to `max` types into out; returns how many types
 * exist (the documented ones always, in a fixed order). Any thread. */
size_t events_stats_by_type(struct events_type_stats *out, size_t max);
/* Events waiting in the ring now, and its capacity (0 when not running). */
uint64_t events_queue_depth(void);
size_t events_queue_capacity(void);
/* Sums over every type. */
uint64_t events_emitted_total(void);
uint64_t events_dropped_total(void);
/* True while the last send attempt reached a consumer. */
bool events_consumer_connected(void);
/* Datagrams sent a second time because the consumer went away and came back
 * (the last ones it had been sent; see event_replay.h). */
uint64_t events_resent_total(void);
/* Seconds between hashrate_update events (events.hashrate_interval_sec). */
unsigned events_hashrate_interval(void);

#endif
