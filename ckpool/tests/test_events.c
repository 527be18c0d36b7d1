/*
 * test_events.c - the event pipeline against a real SOCK_DGRAM consumer:
 * envelope fields, contiguous seq, a consumer that goes away waited for and
 * resent to (a full queue meanwhile shows as a seq gap), queue overflow counted by type, the type
 * filter, oversize and invalid events, the flush on stop.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "events.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <poll.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Upper bound for every wait on a condition: generous, because a busy
 * machine may starve the emitter and consumer threads for a while. */
#define WAIT_S 30.0

/* ---- a consumer on its own thread ---- */

struct consumer {
	char dir[64];
	char path[108];
	int fd;
	pthread_t thread;
	atomic_bool paused, quit;
	pthread_mutex_t lock;    /* held while reading, so a pause is exact */
	json_t *received;        /* array of parsed envelopes */
	atomic_int bad;          /* datagrams that were not JSON */
};

static struct consumer cons;

static int bind_consumer_socket(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	copy_string(addr.sun_path, path, sizeof(addr.sun_path));
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

static void *consumer_main(void *arg)
{
	static char dgram[EVENTS_MAX_DATAGRAM + 1];
	struct pollfd pfd = { .fd = cons.fd, .events = POLLIN };

	(void)arg;
	while (!atomic_load(&cons.quit)) {
		ssize_t n;
		json_t *j;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		pthread_mutex_lock(&cons.lock);
		if (atomic_load(&cons.paused)) {
			pthread_mutex_unlock(&cons.lock);
			usleep(5000);   /* idle while paused; consumer_resume ends it */
			continue;
		}
		n = recv(cons.fd, dgram, sizeof(dgram) - 1, MSG_DONTWAIT);
		j = n > 0 ? json_loadb(dgram, (size_t)n, 0, NULL) : NULL;
		if (j)
			json_array_append_new(cons.received, j);
		else if (n > 0)
			atomic_fetch_add(&cons.bad, 1);
		pthread_mutex_unlock(&cons.lock);
	}
	return NULL;
}

/* Once this returns the consumer reads nothing more: the pause is checked
 * under the lock every read holds, so no read in progress can slip by. */
static void consumer_pause(void)
{
	pthread_mutex_lock(&cons.lock);
	atomic_store(&cons.paused, true);
	pthread_mutex_unlock(&cons.lock);
}

static void consumer_resume(void)
{
	atomic_store(&cons.paused, false);
}

static void consumer_open(void)
{
	cons.fd = bind_consumer_socket(cons.path);
	atomic_store(&cons.quit, false);
	assert_int_equal(pthread_create(&cons.thread, NULL, consumer_main, NULL), 0);
}

/* Stops reading and closes the socket; the path stays, nobody listens. */
static void consumer_close(void)
{
	atomic_store(&cons.quit, true);
	pthread_join(cons.thread, NULL);
	close(cons.fd);
	cons.fd = -1;
}

static size_t received_count(void)
{
	size_t n;

	pthread_mutex_lock(&cons.lock);
	n = json_array_size(cons.received);
	pthread_mutex_unlock(&cons.lock);
	return n;
}

/* A new reference to the i-th received envelope. */
static json_t *received(size_t i)
{
	json_t *j;

	pthread_mutex_lock(&cons.lock);
	j = json_incref(json_array_get(cons.received, i));
	pthread_mutex_unlock(&cons.lock);
	return j;
}

static json_int_t received_seq(size_t i)
{
	json_t *j = received(i);
	json_int_t seq = json_integer_value(json_object_get(j, "seq"));

	json_decref(j);
	return seq;
}

static bool wait_for_count(size_t n)
{
	double until = now_monotonic() + WAIT_S;

	while (received_count() < n && now_monotonic() < until)
		usleep(2000);
	return received_count() >= n;
}

static struct events_type_stats stats_of(const char *type)
{
	struct events_type_stats all[EVENTS_MAX_TYPES], none = { "", 0, 0, 0 };
	size_t n = events_stats_by_type(all, EVENTS_MAX_TYPES);

	for (size_t i = 0; i < n && i < EVENTS_MAX_TYPES; i++)
		if (!strcmp(all[i].type, type))
			return all[i];
	return none;
}

static bool wait_for_settled(uint64_t emitted, uint64_t dropped)
{
	double until = now_monotonic() + WAIT_S;

	while (now_monotonic() < until) {
		if (events_emitted_total() == emitted && events_dropped_total() == dropped
		    && events_queue_depth() == 0)
			return true;
		usleep(2000);
	}
	fail_msg("counters emitted %llu dropped %llu queued %llu, wanted %llu and %llu",
		 (unsigned long long)events_emitted_total(),
		 (unsigned long long)events_dropped_total(),
		 (unsigned long long)events_queue_depth(), (unsigned long long)emitted,
		 (unsigned long long)dropped);
	return false;
}

/* Waits until each of `total` events was either received or dropped, and
 * the emitter has counted every one it sent (it counts after send(), so
 * the consumer may see an event before its count moves). */
static void wait_for_all_accounted(size_t total)
{
	double until = now_monotonic() + WAIT_S;

	while (now_monotonic() < until) {
		uint64_t dropped = events_dropped_total();

		if (received_count() + dropped == total && events_emitted_total() + dropped == total)
			return;
		usleep(2000);
	}
	fail_msg("of %zu events received %zu, emitted %llu, dropped %llu", total,
		 received_count(), (unsigned long long)events_emitted_total(),
		 (unsigned long long)events_dropped_total());
}

static void start_events(size_t hwm, const char *const *types)
{
	struct events_config cfg = {
		.enabled = true, .socket_path = cons.path, .types = types, .buffer_hwm = hwm,
		.hashrate_interval_sec = 60, .region = "asia", .pool_instance = "ckpool-relay-asia",
		/* A stop waits for the queue to drain, however slowly the
		 * consumer is scheduled; no test relies on the deadline. */
		.reconnect_ms = 50, .flush_ms = 30000,
	};
	char err[256];

	if (events_start(&cfg, err, sizeof(err)))
		fail_msg("%s", err);
}

static void emit_numbered(const char *type, int i)
{
	events_emit(type, json_pack("{s:i}", "i", i));
}

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR);
	copy_string(cons.dir, "/tmp/test_events.XXXXXX", sizeof(cons.dir));
	assert_non_null(mkdtemp(cons.dir));
	snprintf(cons.path, sizeof(cons.path), "%s/events.sock", cons.dir);
	pthread_mutex_init(&cons.lock, NULL);
	cons.received = json_array();
	atomic_store(&cons.paused, false);
	atomic_store(&cons.bad, 0);
	consumer_open();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	consumer_resume();      /* a failed test may leave it paused */
	events_stop();
	if (cons.fd >= 0)
		consumer_close();
	unlink(cons.path);
	rmdir(cons.dir);
	json_decref(cons.received);
	pthread_mutex_destroy(&cons.lock);
	return 0;
}

/* ---- tests ---- */

static void assert_matches(const char *pattern, const char *text)
{
	regex_t re;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, text, 0, NULL, 0))
		fail_msg("'%s' does not match %s", text, pattern);
	regfree(&re);
}

#define UUID_V7_RE "^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
#define UUID_V4_RE "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"

static void test_envelope_fields_and_contiguous_seq(void **state)
{
	enum { N = 300 };
	int64_t before[N], after[N];
	char prev_id[64] = "";

	(void)state;
	start_events(1024, NULL);
	assert_matches(UUID_V4_RE, events_boot_id());
	for (int i = 0; i < N; i++) {
		before[i] = now_unix_us();
		emit_numbered("share_submitted", i);
		after[i] = now_unix_us();
	}
	assert_true(wait_for_count(N));
	for (int i = 0; i < N; i++) {
		json_t *env = received((size_t)i);
		const char *id = json_string_value(json_object_get(env, "event_id"));
		json_int_t ts = json_integer_value(json_object_get(env, "ts"));

		assert_int_equal(json_object_size(env), 9);
		assert_matches(UUID_V7_RE, id);
		assert_true(strcmp(id, prev_id) > 0);
		copy_string(prev_id, id, sizeof(prev_id));
		assert_string_equal(json_string_value(json_object_get(env, "event")),
				    "share_submitted");
		assert_true(ts >= before[i] && ts <= after[i]);
		assert_string_equal(json_string_value(json_object_get(env, "source")), "hosted");
		assert_string_equal(json_string_value(json_object_get(env, "region")), "asia");
		assert_string_equal(json_string_value(json_object_get(env, "pool_instance")),
				    "ckpool-relay-asia");
		assert_string_equal(json_string_value(json_object_get(env, "boot_id")),
				    events_boot_id());
		assert_int_equal(json_integer_value(json_object_get(env, "seq")), i + 1);
		assert_int_equal(json_integer_value(json_object_get(json_object_get(env, "data"),
								    "i")), i);
		json_decref(env);
	}
	assert_true(wait_for_settled(N, 0));
	assert_int_equal(stats_of("share_submitted").emitted, N);
	assert_int_equal(atomic_load(&cons.bad), 0);
	assert_true(events_consumer_connected());
	assert_int_equal(events_hashrate_interval(), 60);
}

/* Distinct seq values received; fails when one seq came with two event_ids
 * (a resent event must be the same bytes). Returns the highest in *max. */
static size_t distinct_seqs(json_int_t *max)
{
	json_t *ids = json_object();
	size_t n = received_count(), distinct = 0;
	char key[32];

	*max = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *env = received(i);
		json_int_t seq = json_integer_value(json_object_get(env, "seq"));
		const char *id = json_string_value(json_object_get(env, "event_id"));
		json_t *seen;

		snprintf(key, sizeof(key), "%lld", (long long)seq);
		seen = json_object_get(ids, key);
		if (!seen) {
			json_object_set_new(ids, key, json_string(id));
			distinct++;
		} else if (strcmp(json_string_value(seen), id)) {
			fail_msg("seq %lld came as %s and as %s", (long long)seq,
				 json_string_value(seen), id);
		}
		if (seq > *max)
			*max = seq;
		json_decref(env);
	}
	json_decref(ids);
	return distinct;
}

/* The consumer dies (its socket closed, as by SIGKILL) and comes back: the
 * emitter holds what is emitted meanwhile, drops nothing, and resends the
 * events the dead consumer had been sent before the new ones. */
static void test_absent_consumer_is_waited_for_and_resent_to(void **state)
{
	enum { FIRST = 5, M = 50 };
	json_int_t max;

	(void)state;
	start_events(1024, NULL);
	for (int i = 0; i < FIRST; i++)
		emit_numbered("miner_connected", i);
	assert_true(wait_for_count(FIRST));
	assert_true(wait_for_settled(FIRST, 0));

	consumer_close();
	for (int i = 0; i < M; i++)
		emit_numbered("hashrate_update", i);
	/* One event is held by the emitter, the rest wait in the queue. */
	for (double until = now_monotonic() + WAIT_S;
	     (events_consumer_connected() || events_queue_depth() != M - 1)
	     && now_monotonic() < until;)
		usleep(2000);
	assert_false(events_consumer_connected());
	assert_int_equal(events_queue_depth(), M - 1);
	assert_int_equal(events_dropped_total(), 0);

	consumer_open();
	assert_true(wait_for_count(FIRST + FIRST + M));
	assert_true(wait_for_settled(FIRST + M, 0));
	assert_int_equal(events_resent_total(), FIRST);
	assert_int_equal(received_count(), FIRST + FIRST + M);
	/* Every seq once, none missing; the resent ones come first. */
	assert_int_equal(distinct_seqs(&max), FIRST + M);
	assert_int_equal(max, FIRST + M);
	for (int i = 0; i < FIRST; i++)
		assert_int_equal(received_seq(FIRST + i), i + 1);
	assert_int_equal(received_seq(FIRST + FIRST), FIRST + 1);
}

/* While the consumer is away the queue fills; what does not fit is dropped,
 * counted, and shows as a seq gap once an event is delivered after it. */
static void test_absent_consumer_overflow_shows_as_seq_gap(void **state)
{
	enum { FIRST = 5, M = 100, HWM = 16 };
	json_int_t max;
	uint64_t dropped;
	size_t distinct;

	(void)state;
	start_events(HWM, NULL);
	for (int i = 0; i < FIRST; i++)
		emit_numbered("miner_connected", i);
	assert_true(wait_for_count(FIRST));
	assert_true(wait_for_settled(FIRST, 0));

	consumer_close();
	for (int i = 0; i < M; i++)
		emit_numbered("hashrate_update", i);
	dropped = events_dropped_total();
	assert_true(dropped >= M - HWM - 1);
	assert_int_equal(stats_of("hashrate_update").dropped, dropped);

	consumer_open();
	/* Emitted once the queue has room again, so it is delivered and carries the gap. */
	assert_true(wait_for_settled(FIRST + M - dropped, dropped));
	emit_numbered("miner_disconnected", 0);
	assert_true(wait_for_settled(FIRST + M + 1 - dropped, dropped));
	assert_true(wait_for_count(FIRST + FIRST + M + 1 - dropped));
	distinct = distinct_seqs(&max);
	assert_int_equal(max, FIRST + M + 1);
	assert_int_equal(distinct + dropped, (size_t)max);
}

static void test_queue_overflow_is_counted_by_type(void **state)
{
	enum { N = 2000 };
	size_t got, total = N + N / 10;
	json_int_t prev = 0;
	json_t *env;

	(void)state;
	consumer_pause();
	start_events(8, NULL);
	for (int i = 0; i < N; i++) {
		emit_numbered("diff_updated", i);
		if (i % 10 == 0)
			emit_numbered("block_found", i);
	}
	/* The paused consumer's socket takes a handful of datagrams, the emitter
	 * then waits on it holding one event, and the ring holds at most 8 + 64:
	 * far fewer than 2200, whatever the emitter's pace. */
	assert_true(stats_of("diff_updated").dropped > 0);
	/* block_found may also use its reserved slots beyond buffer_hwm. The
	 * event the emitter holds is no longer counted as queued, so the bound
	 * is exact however the emitter thread is scheduled. */
	assert_true(events_queue_depth() <= 8 + 64);
	assert_int_equal(events_queue_capacity(), 8);
	consumer_resume();
	/* Every event is either received or counted as dropped. */
	wait_for_all_accounted(total);
	got = received_count();
	assert_int_equal(got + events_dropped_total(), total);
	assert_int_equal(stats_of("diff_updated").dropped + stats_of("block_found").dropped,
			 events_dropped_total());
	assert_int_equal(stats_of("diff_updated").emitted + stats_of("block_found").emitted, got);
	for (size_t i = 0; i < got; i++) {
		json_int_t seq = received_seq(i);

		assert_true(seq > prev);
		prev = seq;
	}
	/* The next event's seq accounts for every drop before it. */
	emit_numbered("block_found", -1);
	assert_true(wait_for_count(got + 1));
	env = received(got);
	assert_int_equal(json_integer_value(json_object_get(env, "seq")), total + 1);
	json_decref(env);
}

/* A queue full of other events still takes block_found (reserved slots). */
static void test_block_found_survives_a_full_queue(void **state)
{
	double until = now_monotonic() + WAIT_S;

	(void)state;
	consumer_pause();
	start_events(8, NULL);
	/* The consumer does not read: its socket fills, the emitter waits on it
	 * and the ring fills up with ordinary events, until they are dropped. */
	for (int i = 0; i < 200; i++)
		emit_numbered("share_submitted", i);
	while ((events_queue_depth() < 8 || stats_of("share_submitted").dropped == 0)
	       && now_monotonic() < until) {
		emit_numbered("share_submitted", -1);
		usleep(1000);
	}
	assert_true(events_queue_depth() >= 8);
	assert_true(stats_of("share_submitted").dropped > 0);
	for (int i = 0; i < 10; i++)
		emit_numbered("block_found", i);
	assert_int_equal(stats_of("block_found").dropped, 0);
	assert_int_equal(stats_of("block_found").queued, 10);
	consumer_resume();
	until = now_monotonic() + WAIT_S;
	while (stats_of("block_found").emitted < 10 && now_monotonic() < until)
		usleep(2000);
	assert_int_equal(stats_of("block_found").emitted, 10);
}

static void test_filter_and_disabled(void **state)
{
	static const char *const only_blocks[] = { "block_found", NULL };
	struct events_config off = { .enabled = false };
	char err[256];
	json_t *env;

	(void)state;
	start_events(64, only_blocks);
	assert_true(events_wanted("block_found"));
	assert_false(events_wanted("share_submitted"));
	emit_numbered("share_submitted", 1);
	emit_numbered("block_found", 2);
	assert_true(wait_for_count(1));
	env = received(0);
	assert_string_equal(json_string_value(json_object_get(env, "event")), "block_found");
	assert_int_equal(json_integer_value(json_object_get(env, "seq")), 1);
	json_decref(env);
	events_stop();

	assert_int_equal(events_start(&off, err, sizeof(err)), 0);
	assert_false(events_wanted("block_found"));
	emit_numbered("block_found", 3);
	events_emit("block_found", NULL);
	/* No emitter thread runs while events are off: nothing can arrive
	 * later, so no wait is needed to see that nothing was sent. */
	assert_int_equal(events_queue_depth(), 0);
	assert_int_equal(received_count(), 1);
}

static void test_oversize_invalid_and_custom_types(void **state)
{
	static char big[EVENTS_MAX_DATAGRAM + 100];
	json_t *env;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	start_events(64, NULL);
	events_emit("block_found", json_pack("{s:s}", "blob", big));
	events_emit("Not-Snake", json_object());
	events_emit("relay_probe", NULL);
	assert_true(wait_for_count(1));
	env = received(0);
	assert_string_equal(json_string_value(json_object_get(env, "event")), "relay_probe");
	assert_true(json_is_object(json_object_get(env, "data")));
	assert_int_equal(json_integer_value(json_object_get(env, "seq")), 3);
	json_decref(env);
	assert_true(wait_for_settled(1, 2));
	assert_int_equal(stats_of("block_found").dropped, 1);
	assert_int_equal(stats_of("_invalid").dropped, 1);
	assert_int_equal(stats_of("relay_probe").emitted, 1);
}

static void test_documented_types_are_always_listed(void **state)
{
	struct events_type_stats st[EVENTS_MAX_TYPES];
	size_t n = events_stats_by_type(st, EVENTS_MAX_TYPES);

	(void)state;
	assert_true(n >= 12);
	assert_string_equal(st[0].type, "share_submitted");
	assert_string_equal(st[10].type, "relay_mode_changed");
	assert_string_equal(st[11].type, "engine_started");
}

static void test_stop_flushes_what_is_queued(void **state)
{
	enum { N = 500 };

	(void)state;
	start_events(1024, NULL);
	for (int i = 0; i < N; i++)
		emit_numbered("new_block_network", i);
	events_stop();
	assert_true(wait_for_count(N));
	assert_int_equal(received_seq(N - 1), N);
	assert_int_equal(events_emitted_total(), N);
	assert_int_equal(events_dropped_total(), 0);
	/* After stop, emitting is a harmless no-op. */
	emit_numbered("new_block_network", 0);
	assert_false(events_wanted("new_block_network"));
}

static void test_many_producers(void **state);
static void test_no_drop_while_the_queue_has_room(void **state);

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_envelope_fields_and_contiguous_seq, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_absent_consumer_is_waited_for_and_resent_to,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent_consumer_overflow_shows_as_seq_gap,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_overflow_is_counted_by_type, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_drop_while_the_queue_has_room, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_block_found_survives_a_full_queue, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_filter_and_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_invalid_and_custom_types, setup,
						teardown),
		cmocka_unit_test(test_documented_types_are_always_listed),
		cmocka_unit_test_setup_teardown(test_stop_flushes_what_is_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_producers, setup, teardown),
	};

	return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}

/* ---- concurrency ---- */

#define PRODUCERS 4
#define PER_PRODUCER 5000

static void *produce(void *arg)
{
	for (int i = 0; i < PER_PRODUCER; i++)
		emit_numbered((intptr_t)arg % 2 ? "share_submitted" : "diff_updated", i);
	return NULL;
}

struct produce_args {
	int id, count;
};

static void *produce_n(void *arg)
{
	const struct produce_args *a = arg;

	for (int i = 0; i < a->count; i++)
		events_emit("share_submitted", json_pack("{s:i, s:i}", "p", a->id, "i", i));
	return NULL;
}

/* A queue with room for everything never drops, however producers and the
 * emitter interleave: a producer that read the head just before others
 * filled that slot and the emitter took it must retry, not call it full. */
static void test_no_drop_while_the_queue_has_room(void **state)
{
	enum { THREADS = 4, EACH = 5000 };
	pthread_t threads[THREADS];
	struct produce_args args[THREADS];

	(void)state;
	start_events(THREADS * EACH * 2, NULL);
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct produce_args){ .id = i, .count = EACH };
		pthread_create(&threads[i], NULL, produce_n, &args[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	assert_true(wait_for_settled(THREADS * EACH, 0));
	assert_true(wait_for_count(THREADS * EACH));
}

static void test_many_producers(void **state)
{
	pthread_t threads[PRODUCERS];
	size_t total = PRODUCERS * PER_PRODUCER, got;
	json_int_t prev = 0;

	(void)state;
	start_events(256, NULL);
	for (intptr_t i = 0; i < PRODUCERS; i++)
		pthread_create(&threads[i], NULL, produce, (void *)i);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(threads[i], NULL);
	wait_for_all_accounted(total);
	got = received_count();
	assert_int_equal(got + events_dropped_total(), total);
	for (size_t i = 0; i < got; i++) {
		json_int_t seq = received_seq(i);

		assert_true(seq > prev);
		prev = seq;
	}
	assert_true(prev <= (json_int_t)total);
}
