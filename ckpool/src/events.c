/*
 * events.c - owns the event pipeline inside the engine: the type registry
 * and its counters, the bounded lock-free ring that mining threads push
 * into, and the emitter thread that wraps each event in its envelope and
 * sends it as one datagram to the consumer's Unix socket.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "events.h"
#include "event_replay.h"
#include "log.h"
#include "seq_mark.h"
#include "util.h"
#include "uuid.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_CAPACITY 65536
#define DEFAULT_RECONNECT_MS 1000
#define DEFAULT_FLUSH_MS 1000
#define IDLE_WAIT_MS 100
#define SLOW_CONSUMER_WAIT_MS 20
/* Events sent last, resent after the consumer comes back (about 3 MB). */
#define REPLAY_EVENTS 4096
#define MAX_FILTER 32
#define INVALID_TYPE_NAME "_invalid"

/* ---- type registry and counters ---- */

struct type_entry {
	char name[EVENTS_TYPE_NAME_MAX];
	atomic_uint_fast64_t emitted;
	atomic_uint_fast64_t dropped;
	atomic_uint_fast64_t queued;
};

static const char *const documented_types[] = {
	"share_submitted", "block_found", "miner_connected", "miner_disconnected",
	"diff_updated", "hashrate_update", "new_block_network", "share_best_diff",
	"relay_connected", "relay_disconnected", "relay_mode_changed", "engine_started", NULL
};

/* block_found's index in documented_types: the one type with reserved room. */
#define PRIORITY_TYPE_INDEX 1

static struct type_entry type_table[EVENTS_MAX_TYPES];
static atomic_size_t type_count;
static pthread_mutex_t type_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t types_once = PTHREAD_ONCE_INIT;

static void register_documented_types(void)
{
	size_t n = 0;

	for (; documented_types[n]; n++)
		copy_string(type_table[n].name, documented_types[n], EVENTS_TYPE_NAME_MAX);
	atomic_store(&type_count, n);
}

static bool type_name_is_valid(const char *type)
{
	size_t n = 0;

	if (!type || !*type)
		return false;
	for (; type[n]; n++) {
		char c = type[n];

		if (n + 1 >= EVENTS_TYPE_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

static long find_type(const char *type, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (!strcmp(type_table[i].name, type))
			return (long)i;
	return -1;
}

/* Adds a type under the lock; the last slot is kept for INVALID_TYPE_NAME. */
static size_t add_type(const char *type)
{
	size_t count, index;
	long found;

	pthread_mutex_lock(&type_lock);
	count = atomic_load(&type_count);
	found = find_type(type, count);
	if (found >= 0) {
		index = (size_t)found;
	} else if (count < EVENTS_MAX_TYPES - 1 || !strcmp(type, INVALID_TYPE_NAME)) {
		index = count;
		copy_string(type_table[index].name, type, EVENTS_TYPE_NAME_MAX);
		atomic_store(&type_count, count + 1);
	} else {
		index = SIZE_MAX;
	}
	pthread_mutex_unlock(&type_lock);
	return index;
}

/* Index of `type` in the table, registering it on first use. Unusable
 * names (not snake_case, table full) map to the INVALID_TYPE_NAME entry,
 * whose events are dropped rather than sent. */
static size_t type_index(const char *type)
{
	long found;
	size_t index;

	pthread_once(&types_once, register_documented_types);
	found = find_type(type, atomic_load(&type_count));
	if (found >= 0)
		return (size_t)found;
	index = type_name_is_valid(type) ? add_type(type) : SIZE_MAX;
	if (index == SIZE_MAX)
		index = add_type(INVALID_TYPE_NAME);
	return index;
}

static void reset_type_counters(void)
{
	pthread_once(&types_once, register_documented_types);
	for (size_t i = 0; i < EVENTS_MAX_TYPES; i++) {
		atomic_store(&type_table[i].emitted, 0);
		atomic_store(&type_table[i].dropped, 0);
		atomic_store(&type_table[i].queued, 0);
	}
}

/* ---- the ring: many producers, one consumer ----
 *
 * Every slot carries a turn number. A slot at ring position p is free for
 * the producer claiming position p when turn == p, holds an event for the
 * consumer when turn == p + 1, and is handed back for position p + capacity
 * once the consumer took the event. */

struct pending_event {
	size_t type;
	int64_t ts_us;
	json_t *data;
};

struct slot {
	atomic_size_t turn;
	struct pending_event ev;
};

/* Slots beyond buffer_hwm that only block_found may use: a flood of other
 * events (shares, difficulty changes) never costs a found block its event. */
#define PRIORITY_RESERVE 64

static struct slot *ring;
static size_t ring_capacity;         /* buffer_hwm + PRIORITY_RESERVE */
static size_t normal_capacity;       /* buffer_hwm: what other events may fill */
static atomic_size_t published_capacity; /* ring_capacity for other threads */
static atomic_size_t ring_head;      /* next position producers claim */
static atomic_size_t ring_tail;      /* next position the emitter reads */

static int ring_create(size_t hwm)
{
	size_t capacity = hwm + PRIORITY_RESERVE;

	ring = calloc(capacity, sizeof(*ring));
	if (!ring)
		return -1;
	ring_capacity = capacity;
	normal_capacity = hwm;
	atomic_store(&published_capacity, hwm);
	for (size_t i = 0; i < capacity; i++)
		atomic_init(&ring[i].turn, i);
	atomic_store(&ring_head, 0);
	atomic_store(&ring_tail, 0);
	return 0;
}

/* Positions are claimed in order, so an ordinary event claiming pos with
 * pos - tail < normal_capacity (tail only grows) never takes one of the
 * last PRIORITY_RESERVE slots ahead of the emitter. */
static bool ring_push(const struct pending_event *ev, bool priority)
{
	size_t pos = atomic_load_explicit(&ring_head, memory_order_relaxed);
	size_t limit = priority ? ring_capacity : normal_capacity;
	struct slot *s;

	for (;;) {
		s = &ring[pos % ring_capacity];
		size_t turn = atomic_load_explicit(&s->turn, memory_order_acquire);
		intptr_t lag = (intptr_t)turn - (intptr_t)pos;

		if (lag == 0) {
			size_t tail = atomic_load_explicit(&ring_tail, memory_order_acquire);

			/* pos went stale after turn was read: others filled the
			 * slot and the emitter took it. Not full: look again. */
			if ((intptr_t)(pos - tail) < 0) {
				pos = atomic_load_explicit(&ring_head, memory_order_relaxed);
				continue;
			}
			if (pos - tail >= limit)
				return false;

			if (atomic_compare_exchange_weak_explicit(&ring_head, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed))
				break;
		} else if (lag < 0) {
			return false;   /* the emitter has not freed this slot: full */
		} else {
			pos = atomic_load_explicit(&ring_head, memory_order_relaxed);
		}
	}
	s->ev = *ev;
	atomic_store_explicit(&s->turn, pos + 1, memory_order_release);
	return true;
}

static bool ring_has_event(void)
{
	size_t pos = atomic_load_explicit(&ring_tail, memory_order_relaxed);

	return atomic_load_explicit(&ring[pos % ring_capacity].turn, memory_order_acquire)
	       == pos + 1;
}

/* Takes the oldest event. Its type's `queued` count drops before the slot
 * is handed back, so the queued counters never exceed what the ring holds
 * (plus pushes in progress), however the emitter is scheduled. */
static bool ring_pop(struct pending_event *ev)
{
	size_t pos = atomic_load_explicit(&ring_tail, memory_order_relaxed);
	struct slot *s = &ring[pos % ring_capacity];

	if (atomic_load_explicit(&s->turn, memory_order_acquire) != pos + 1)
		return false;
	*ev = s->ev;
	atomic_fetch_sub(&type_table[ev->type].queued, 1);
	atomic_store_explicit(&s->turn, pos + ring_capacity, memory_order_release);
	atomic_store_explicit(&ring_tail, pos + 1, memory_order_release);
	return true;
}

/* ---- pipeline state ---- */

static struct {
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char region[64];
	char pool_instance[128];
	char filter[MAX_FILTER][EVENTS_TYPE_NAME_MAX];
	size_t filter_count;
	bool filter_all;
	unsigned reconnect_ms, flush_ms, hashrate_interval_sec;
} settings;

static atomic_bool enabled;          /* events_wanted() may say yes */
static atomic_bool accepting;        /* events_emit() may push */
static atomic_int producers_inside;  /* events_emit() calls touching the ring */
static atomic_bool stop_requested;
static atomic_bool emitter_idle;
static atomic_uint_fast64_t overflow_gap; /* queue-full drops not yet in seq */
static atomic_bool consumer_connected;
static bool running;
static pthread_t emitter_thread;
static int wake_fd = -1;
static char boot_id[UUID_STR_LEN] = "00000000-0000-0000-0000-000000000000";

/* Emitter-only state. */
static int consumer_fd = -1;
static double next_connect_at;
static double flush_deadline;
static uint64_t last_seq;
static bool warned_unavailable;
static struct event_replay replay;
static bool replay_due;              /* the consumer went away after taking events */
static int send_errno;               /* of the last send that failed for good */
static uint64_t send_failures;
static atomic_uint_fast64_t resent;  /* datagrams sent again after a comeback */

/* ---- producers ---- */

bool events_wanted(const char *type)
{
	if (!atomic_load_explicit(&enabled, memory_order_acquire) || !type)
		return false;
	if (settings.filter_all)
		return true;
	for (size_t i = 0; i < settings.filter_count; i++)
		if (!strcmp(settings.filter[i], type))
			return true;
	return false;
}

static void wake_emitter_if_idle(void)
{
	uint64_t one = 1;

	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&emitter_idle) && atomic_exchange(&emitter_idle, false))
		if (write(wake_fd, &one, sizeof(one)) < 0)
			(void)0;   /* the emitter's poll timeout catches up */
}

static void push_or_drop(size_t type, json_t *data)
{
	struct pending_event ev = { type, now_unix_us(), data };

	atomic_fetch_add(&type_table[type].queued, 1);
	if (ring_push(&ev, type == PRIORITY_TYPE_INDEX)) {
		wake_emitter_if_idle();
		return;
	}
	atomic_fetch_sub(&type_table[type].queued, 1);
	atomic_fetch_add(&type_table[type].dropped, 1);
	atomic_fetch_add(&overflow_gap, 1);
	json_decref(data);
}

static void drop_invalid(size_t type, json_t *data)
{
	atomic_fetch_add(&type_table[type].dropped, 1);
	atomic_fetch_add(&overflow_gap, 1);
	json_decref(data);
}

void events_emit(const char *type, json_t *data)
{
	size_t index;

	if (!events_wanted(type)) {
		json_decref(data);
		return;
	}
	if (!data)
		data = json_object();
	atomic_fetch_add(&producers_inside, 1);
	if (!atomic_load(&accepting)) {
		json_decref(data);
	} else {
		seq_mark_count();   /* this event uses up a seq, delivered or dropped */
		index = type_index(type);
		if (!strcmp(type_table[index].name, INVALID_TYPE_NAME))
			drop_invalid(index, data);
		else
			push_or_drop(index, data);
	}
	atomic_fetch_sub(&producers_inside, 1);
}

/* ---- the consumer socket ---- */

static void note_consumer_unavailable(int err)
{
	atomic_store(&consumer_connected, false);
	next_connect_at = now_monotonic() + settings.reconnect_ms / 1000.0;
	if (!warned_unavailable) {
		warned_unavailable = true;
		log_fields(LOG_WARN, "events", "event consumer unavailable, holding events",
			   json_pack("{s:s, s:s}", "socket_path", settings.socket_path,
				     "error", strerror(err)));
	}
}

static void disconnect_consumer(int err)
{
	if (consumer_fd >= 0)
		close(consumer_fd);
	consumer_fd = -1;
	note_consumer_unavailable(err);
}

static bool connect_consumer(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (consumer_fd >= 0)
		return true;
	if (now_monotonic() < next_connect_at)
		return false;
	consumer_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (consumer_fd < 0) {
		note_consumer_unavailable(errno);
		return false;
	}
	copy_string(addr.sun_path, settings.socket_path, sizeof(addr.sun_path));
	if (connect(consumer_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		disconnect_consumer(errno);
		return false;
	}
	if (warned_unavailable)
		log_info("events", "event consumer connected at %s", settings.socket_path);
	warned_unavailable = false;
	atomic_store(&consumer_connected, true);
	return true;
}

static bool past_flush_deadline(void)
{
	return atomic_load(&stop_requested) && now_monotonic() > flush_deadline;
}

static bool consumer_is_slow(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

static bool consumer_is_gone(int err)
{
	return err == ECONNREFUSED || err == ENOENT || err == ENOTCONN || err == EPIPE
	       || err == ECONNRESET || err == EDESTADDRREQ;
}

enum send_result { SEND_SENT, SEND_GONE, SEND_FAILED };

/* Sends one datagram. A slow consumer is waited for (until the flush
 * deadline once stopping); a missing one is SEND_GONE until the reconnect
 * interval passes; SEND_FAILED is final (EMSGSIZE and the like, or past the
 * flush deadline). */
static enum send_result send_datagram(const char *text, size_t len)
{
	struct pollfd pfd;

	for (;;) {
		if (past_flush_deadline())
			return SEND_FAILED;
		if (!connect_consumer())
			return SEND_GONE;
		if (send(consumer_fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len)
			return SEND_SENT;
		if (errno == EINTR)
			continue;
		if (!consumer_is_slow(errno)) {
			if (!consumer_is_gone(errno)) {
				send_errno = errno;
				return SEND_FAILED;
			}
			/* It took events before it went: some may have died with it. */
			replay_due = true;
			disconnect_consumer(errno);
			return SEND_GONE;
		}
		pfd = (struct pollfd){ .fd = consumer_fd, .events = POLLOUT };
		poll(&pfd, 1, SLOW_CONSUMER_WAIT_MS);
	}
}

/* The consumer is back: sends the last events it was sent before it went,
 * oldest first. A consumer that dies loses what was in its socket buffer and
 * its memory; resent events keep their event_id and seq, and the pipeline
 * stores each event_id once. */
static enum send_result resend_replay(void)
{
	size_t n = replay_count(&replay);

	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *text = replay_at(&replay, i, &len);
		enum send_result r = send_datagram(text, len);

		if (r != SEND_SENT)
			return r;
	}
	atomic_fetch_add(&resent, n);
	replay_due = false;
	log_fields(LOG_INFO, "events", "event consumer back, resent the last events sent",
		   json_pack("{s:I}", "resent", (json_int_t)n));
	return SEND_SENT;
}

/* Sleeps until the next connect attempt; events_stop() wakes it early. */
static void wait_for_reconnect(void)
{
	struct pollfd pfd = { .fd = wake_fd, .events = POLLIN };
	double wait = next_connect_at - now_monotonic();
	uint64_t count;

	if (wait <= 0)
		return;
	if (poll(&pfd, 1, (int)(wait * 1000) + 1) > 0 && read(wake_fd, &count, sizeof(count)) < 0)
		(void)0;
}

/* Sends `text`, holding it while the consumer is away: the queue behind it
 * absorbs what is emitted meanwhile (once it is full, new events are
 * dropped and show as a seq gap, as ever). Once stopping, a missing consumer
 * is not waited for. */
static enum send_result send_held(const char *text, size_t len)
{
	for (;;) {
		enum send_result r = SEND_SENT;

		if (replay_due && connect_consumer())
			r = resend_replay();
		if (r == SEND_SENT)
			r = send_datagram(text, len);
		if (r != SEND_GONE)
			return r;
		if (atomic_load(&stop_requested))
			return SEND_FAILED;
		wait_for_reconnect();
	}
}

/* ---- the emitter ---- */

static uint64_t next_seq(void)
{
	last_seq += atomic_exchange(&overflow_gap, 0) + 1;
	return last_seq;
}

static char *envelope_text(const struct pending_event *ev, uint64_t seq)
{
	char id[UUID_STR_LEN];
	uint8_t u[16];
	json_t *env = json_object();
	char *text;

	uuid_v7_at((uint64_t)(ev->ts_us / 1000), u);
	uuid_format(u, id);
	json_object_set_new(env, "event_id", json_string(id));
	json_object_set_new(env, "event", json_string(type_table[ev->type].name));
	json_object_set_new(env, "ts", json_integer((json_int_t)ev->ts_us));
	json_object_set_new(env, "source", json_string("hosted"));
	json_object_set_new(env, "region", json_string(settings.region));
	json_object_set_new(env, "pool_instance", json_string(settings.pool_instance));
	json_object_set_new(env, "boot_id", json_string(boot_id));
	json_object_set_new(env, "seq", json_integer((json_int_t)seq));
	json_object_set_new(env, "data", ev->data);
	text = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	return text;
}

static void deliver(const struct pending_event *ev)
{
	struct type_entry *t = &type_table[ev->type];
	char *text = envelope_text(ev, next_seq());
	size_t len = text ? strlen(text) : 0;

	if (text && len <= EVENTS_MAX_DATAGRAM && send_held(text, len) == SEND_SENT) {
		atomic_fetch_add(&t->emitted, 1);
		replay_keep(&replay, text, len);
		return;
	}
	atomic_fetch_add(&t->dropped, 1);
	free(text);
	/* Said on the 1st, 2nd, 4th, 8th... drop here (not counting shutdown's). */
	if (!atomic_load(&stop_requested) && ++send_failures
	    && !(send_failures & (send_failures - 1)))
		log_fields(LOG_WARN, "events", "event dropped",
			   json_pack("{s:s, s:s, s:I, s:I}", "type", t->name, "reason",
				     !text ? "cannot serialise"
				     : len > EVENTS_MAX_DATAGRAM ? "oversize"
				     : send_errno ? strerror(send_errno) : "send failed",
				     "bytes", (json_int_t)len, "drops", (json_int_t)send_failures));
	send_errno = 0;
}

static void wait_for_events(void)
{
	struct pollfd pfd = { .fd = wake_fd, .events = POLLIN };
	uint64_t count;

	atomic_store(&emitter_idle, true);
	atomic_thread_fence(memory_order_seq_cst);
	if (!ring_has_event() && !atomic_load(&stop_requested)) {
		if (poll(&pfd, 1, IDLE_WAIT_MS) > 0 && read(wake_fd, &count, sizeof(count)) < 0)
			(void)0;
	}
	atomic_store(&emitter_idle, false);
}

static void *emitter_main(void *arg)
{
	struct pending_event ev;

	(void)arg;
	for (;;) {
		if (ring_pop(&ev)) {
			deliver(&ev);
			continue;
		}
		if (atomic_load(&stop_requested))
			break;
		wait_for_events();
	}
	return NULL;
}

/* ---- lifecycle ---- */

static void copy_filter(const char *const *types)
{
	settings.filter_count = 0;
	settings.filter_all = !types;
	for (size_t i = 0; types && types[i] && i < MAX_FILTER; i++)
		copy_string(settings.filter[settings.filter_count++], types[i],
			    EVENTS_TYPE_NAME_MAX);
}

static int copy_settings(const struct events_config *cfg, char *err, size_t errlen)
{
	if (!cfg->socket_path || !*cfg->socket_path) {
		snprintf(err, errlen, "events: socket_path is required when events are enabled");
		return -1;
	}
	if (strlen(cfg->socket_path) >= sizeof(settings.socket_path)) {
		snprintf(err, errlen, "events: socket_path is longer than %zu bytes",
			 sizeof(settings.socket_path) - 1);
		return -1;
	}
	copy_string(settings.socket_path, cfg->socket_path, sizeof(settings.socket_path));
	copy_string(settings.region, cfg->region ? cfg->region : "eu", sizeof(settings.region));
	copy_string(settings.pool_instance, cfg->pool_instance ? cfg->pool_instance : "",
		    sizeof(settings.pool_instance));
	copy_filter(cfg->types);
	settings.reconnect_ms = cfg->reconnect_ms ? cfg->reconnect_ms : DEFAULT_RECONNECT_MS;
	settings.flush_ms = cfg->flush_ms ? cfg->flush_ms : DEFAULT_FLUSH_MS;
	settings.hashrate_interval_sec = cfg->hashrate_interval_sec;
	return 0;
}

static void reset_pipeline_state(void)
{
	uint8_t u[16];

	reset_type_counters();
	uuid_v4(u);
	uuid_format(u, boot_id);
	last_seq = 0;
	next_connect_at = 0;
	warned_unavailable = false;
	replay_due = false;
	send_errno = 0;
	send_failures = 0;
	atomic_store(&resent, 0);
	atomic_store(&overflow_gap, 0);
	atomic_store(&stop_requested, false);
	atomic_store(&emitter_idle, false);
	atomic_store(&consumer_connected, false);
}

/* seq 1 of a boot that follows one recorded in state_dir: where that boot's
 * seq got (seq_mark.h), so a consumer can count what it lost after its last
 * delivered event. A first start has nothing to announce. */
static void announce_start(const struct seq_mark_previous *prev)
{
	if (!prev->known)
		return;
	events_emit("engine_started",
		    json_pack("{s:s, s:I}", "previous_boot_id", prev->boot_id,
			      "previous_last_seq", (json_int_t)prev->last_seq));
}

int events_start(const struct events_config *cfg, char *err, size_t errlen)
{
	struct seq_mark_previous previous = { 0 };

	if (running) {
		snprintf(err, errlen, "events: already started");
		return -1;
	}
	settings.hashrate_interval_sec = cfg->hashrate_interval_sec;
	if (!cfg->enabled)
		return 0;
	if (copy_settings(cfg, err, errlen))
		return -1;
	reset_pipeline_state();
	if (cfg->state_dir && *cfg->state_dir
	    && seq_mark_open(cfg->state_dir, boot_id, &previous, err, errlen))
		return -1;
	wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wake_fd < 0 || ring_create(cfg->buffer_hwm ? cfg->buffer_hwm : DEFAULT_CAPACITY)
	    || replay_init(&replay, REPLAY_EVENTS)) {
		snprintf(err, errlen, "events: cannot allocate the queue: %s", strerror(errno));
		seq_mark_close();
		if (wake_fd >= 0)
			close(wake_fd);
		wake_fd = -1;
		free(ring);
		ring = NULL;
		return -1;
	}
	if (pthread_create(&emitter_thread, NULL, emitter_main, NULL)) {
		snprintf(err, errlen, "events: cannot start the emitter thread");
		seq_mark_close();
		replay_free(&replay);
		free(ring);
		ring = NULL;
		close(wake_fd);
		wake_fd = -1;
		return -1;
	}
	running = true;
	atomic_store(&accepting, true);
	atomic_store_explicit(&enabled, true, memory_order_release);
	log_fields(LOG_INFO, "events", "events started",
		   json_pack("{s:s, s:s, s:I}", "socket_path", settings.socket_path,
			     "boot_id", boot_id, "buffer_hwm", (json_int_t)normal_capacity));
	announce_start(&previous);
	return 0;
}

/* Producers that passed the accepting check finish their push first. */
static void wait_for_producers(void)
{
	while (atomic_load(&producers_inside) > 0)
		sched_yield();
}

static void drop_what_is_left(void)
{
	struct pending_event ev;

	while (ring_pop(&ev)) {
		atomic_fetch_add(&type_table[ev.type].dropped, 1);
		json_decref(ev.data);
	}
}

void events_stop(void)
{
	uint64_t one = 1;

	if (!running)
		return;
	atomic_store(&enabled, false);
	atomic_store(&accepting, false);
	wait_for_producers();
	flush_deadline = now_monotonic() + settings.flush_ms / 1000.0;
	atomic_store(&stop_requested, true);
	if (write(wake_fd, &one, sizeof(one)) < 0)
		(void)0;
	pthread_join(emitter_thread, NULL);
	drop_what_is_left();
	seq_mark_close();
	replay_free(&replay);
	if (consumer_fd >= 0)
		close(consumer_fd);
	consumer_fd = -1;
	close(wake_fd);
	wake_fd = -1;
	free(ring);
	ring = NULL;
	ring_capacity = 0;
	atomic_store(&published_capacity, 0);
	running = false;
	atomic_store(&consumer_connected, false);
	log_fields(LOG_INFO, "events", "events stopped",
		   json_pack("{s:I, s:I}", "emitted", (json_int_t)events_emitted_total(),
			     "dropped", (json_int_t)events_dropped_total()));
}

const char *events_boot_id(void)
{
	return boot_id;
}

/* ---- counters ---- */

size_t events_stats_by_type(struct events_type_stats *out, size_t max)
{
	size_t count;

	pthread_once(&types_once, register_documented_types);
	count = atomic_load(&type_count);
	for (size_t i = 0; i < count && i < max; i++) {
		copy_string(out[i].type, type_table[i].name, sizeof(out[i].type));
		out[i].emitted = atomic_load(&type_table[i].emitted);
		out[i].dropped = atomic_load(&type_table[i].dropped);
		out[i].queued = atomic_load(&type_table[i].queued);
	}
	return count;
}

static uint64_t sum_counter(size_t offset)
{
	size_t count;
	uint64_t sum = 0;

	pthread_once(&types_once, register_documented_types);
	count = atomic_load(&type_count);
	for (size_t i = 0; i < count; i++)
		sum += atomic_load((atomic_uint_fast64_t *)((char *)&type_table[i] + offset));
	return sum;
}

uint64_t events_queue_depth(void)
{
	return sum_counter(offsetof(struct type_entry, queued));
}

uint64_t events_emitted_total(void)
{
	return sum_counter(offsetof(struct type_entry, emitted));
}

uint64_t events_dropped_total(void)
{
	return sum_counter(offsetof(struct type_entry, dropped));
}

size_t events_queue_capacity(void)
{
	return atomic_load(&published_capacity);
}

bool events_consumer_connected(void)
{
	return atomic_load(&consumer_connected);
}

unsigned events_hashrate_interval(void)
{
	return settings.hashrate_interval_sec;
}

uint64_t events_resent_total(void)
{
	return atomic_load(&resent);
}
