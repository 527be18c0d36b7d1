/*
 * relay_client.c - owns the passthrough relay's link to the primary: the
 * connect / handshake / reconnect loop, template delivery, heartbeats and
 * RTT, blocks sent up with their pending results, and the link's counters.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Locking: the link thread alone touches the socket and struct relay_link.
 * The mutex guards what other threads see or hand over: the statistics and
 * the table of pending blocks. Callbacks run on the link thread with the
 * mutex released.
 */
#include "relay_client.h"
#include "log.h"
#include "metrics.h"
#include "relay_auth.h"
#include "relay_link.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define COMPONENT "relay_client"
#define MAX_PENDING_BLOCKS 32
#define TICK_MS 100
#define STALL_MIN_S 30.0

enum link_state { LINK_DOWN, LINK_AWAIT_CHALLENGE, LINK_AWAIT_AUTH_REPLY, LINK_READY };

struct pending_block {
	uint64_t id;
	relay_block_done_fn done;
	void *ctx;
	double started;                  /* monotonic s */
	struct relay_msg *msg;           /* NULL once handed to the link */
};

struct completion {
	relay_block_done_fn done;
	void *ctx;
	bool accepted;
	double ms;
	char result[RELAY_RESULT_MAX + 16];
};

struct completions {
	struct completion items[MAX_PENDING_BLOCKS];
	size_t count;
};

static struct client {
	pthread_mutex_t lock;
	bool running;                    /* accepting submissions */
	atomic_bool stopping;
	pthread_t thread;
	int wake_fd;
	struct relay_client_config cfg;
	char *host, *token, *region, *instance;
	double heartbeat_s, dead_after_s, handshake_s, reconnect_s, block_timeout_s;

	/* link thread only */
	struct relay_link link;
	uint8_t client_nonce[RELAY_NONCE_LEN];
	uint8_t server_nonce[RELAY_NONCE_LEN];
	double session_start, last_ping_at;
	const char *end_reason;
	bool ever_up;

	/* under lock */
	enum link_state state;
	double started_mono, last_contact_mono;
	struct relay_client_stats st;
	double latency_ring[RELAY_LATENCY_WINDOW];
	size_t latency_count, latency_next;
	double latency_sum;
	struct pending_block pending[MAX_PENDING_BLOCKS];
	size_t pending_count;
	uint64_t next_request_id;
	uint64_t blocks_timeout, blocks_link_down, blocks_busy;
} cli = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake_fd = -1,
};

static uint64_t mono_us(void)
{
	return (uint64_t)(now_monotonic() * 1e6);
}

static void wake_link_thread(void)
{
	uint64_t one = 1;

	if (cli.wake_fd >= 0 && write(cli.wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn(COMPONENT, "cannot wake the relay link thread: %s", strerror(errno));
}

static void drain_wake_fd(void)
{
	uint64_t v;

	while (read(cli.wake_fd, &v, sizeof(v)) > 0)
		;
}

static json_t *primary_fields(void)
{
	return json_pack("{s:s, s:i}", "primary_host", cli.host, "primary_port", cli.cfg.port);
}

/* ---- pending blocks ---- */

static void complete(struct completions *out, struct pending_block *pb, const char *result,
		     double now)
{
	struct completion *c = &out->items[out->count++];

	c->done = pb->done;
	c->ctx = pb->ctx;
	c->accepted = result == NULL;
	c->ms = (now - pb->started) * 1000.0;
	copy_string(c->result, result ? result : "", sizeof(c->result));
	relay_msg_unref(pb->msg);
	*pb = cli.pending[--cli.pending_count];
}

static void count_local_failure(const char *result)
{
	if (!strcmp(result, "timeout"))
		cli.blocks_timeout++;
	else if (!strcmp(result, "busy"))
		cli.blocks_busy++;
	else
		cli.blocks_link_down++;
}

/* Hands new blocks to the link (or fails them when it is not up) and
 * expires those waiting too long. Called with the lock held. */
static void tend_pending(bool link_ready, double now, struct completions *out)
{
	for (size_t i = 0; i < cli.pending_count;) {
		struct pending_block *pb = &cli.pending[i];
		const char *fail = NULL;

		if (pb->msg && !link_ready)
			fail = "link-down";
		else if (pb->msg && relay_link_send(&cli.link, pb->msg) < 0)
			fail = "busy";
		else if (pb->msg) {
			relay_msg_unref(pb->msg);
			pb->msg = NULL;
			cli.st.blocks_sent++;
		} else if (now - pb->started > cli.block_timeout_s)
			fail = "timeout";
		if (!fail) {
			i++;
			continue;
		}
		count_local_failure(fail);
		complete(out, pb, fail, now);
	}
}

static void fail_all_pending(const char *why, struct completions *out)
{
	double now = now_monotonic();

	while (cli.pending_count) {
		count_local_failure(why);
		complete(out, &cli.pending[0], why, now);
	}
}

static void deliver(struct completions *done)
{
	for (size_t i = 0; i < done->count; i++) {
		struct completion *c = &done->items[i];

		if (c->done)
			c->done(c->accepted ? NULL : c->result, c->ms, c->ctx);
	}
	done->count = 0;
}

static void log_block_sent(uint64_t id, int64_t height, const char *hash, size_t bytes)
{
	json_t *f = primary_fields();

	json_object_set_new(f, "request_id", json_integer((json_int_t)id));
	json_object_set_new(f, "height", json_integer(height));
	json_object_set_new(f, "hash", json_string(hash));
	json_object_set_new(f, "bytes", json_integer((json_int_t)bytes));
	log_fields(LOG_INFO, COMPONENT, "block sent to primary", f);
}

uint64_t relay_client_submit_block(const char *hex, int64_t height, const char *hash,
				   relay_block_done_fn done, void *ctx)
{
	size_t len = hex ? strlen(hex) : 0;
	struct relay_msg *m;
	struct pending_block *pb;
	uint64_t id;

	if (!len || len % 2 || !hash || strlen(hash) != 64)
		return 0;
	pthread_mutex_lock(&cli.lock);
	if (!cli.running || cli.pending_count == MAX_PENDING_BLOCKS) {
		bool running = cli.running;

		pthread_mutex_unlock(&cli.lock);
		if (running)
			log_warn(COMPONENT, "block %s not sent to primary: too many pending", hash);
		return 0;
	}
	id = cli.next_request_id++;
	m = relay_msg_block(id, height, hash, hex, len);
	if (!m) {
		pthread_mutex_unlock(&cli.lock);
		return 0;
	}
	pb = &cli.pending[cli.pending_count++];
	*pb = (struct pending_block){ .id = id, .done = done, .ctx = ctx,
				      .started = now_monotonic(), .msg = m };
	pthread_mutex_unlock(&cli.lock);
	wake_link_thread();
	log_block_sent(id, height, hash, len / 2);
	return id;
}

/* ---- statistics ---- */

static void note_contact(void)
{
	pthread_mutex_lock(&cli.lock);
	cli.last_contact_mono = now_monotonic();
	cli.st.last_contact_us = now_unix_us();
	pthread_mutex_unlock(&cli.lock);
}

static void record_latency(double ms)
{
	cli.st.template_latency_ms = ms;
	cli.latency_ring[cli.latency_next] = ms;
	cli.latency_next = (cli.latency_next + 1) % RELAY_LATENCY_WINDOW;
	if (cli.latency_count < RELAY_LATENCY_WINDOW)
		cli.latency_count++;
	cli.latency_sum += ms;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Quantile q of the latency window (nearest rank); -1 when empty. */
static double latency_quantile(double q)
{
	double sorted[RELAY_LATENCY_WINDOW];
	size_t n = cli.latency_count, rank;

	if (!n)
		return -1;
	memcpy(sorted, cli.latency_ring, n * sizeof(double));
	qsort(sorted, n, sizeof(double), compare_doubles);
	rank = (size_t)ceil(q * (double)n);
	return sorted[rank ? rank - 1 : 0];
}

static void set_link_up(void)
{
	pthread_mutex_lock(&cli.lock);
	cli.state = LINK_READY;
	cli.st.link_up = true;
	cli.st.connected_since_us = now_unix_us();
	cli.st.link_down_since_us = 0;
	if (cli.ever_up)
		cli.st.reconnects++;
	cli.ever_up = true;
	pthread_mutex_unlock(&cli.lock);
}

/* Marks the link down; returns whether it was up. */
static bool set_link_down(void)
{
	bool was_up;

	pthread_mutex_lock(&cli.lock);
	was_up = cli.st.link_up;
	cli.state = LINK_DOWN;
	cli.st.link_up = false;
	cli.st.connected_since_us = 0;
	if (!cli.st.link_down_since_us)
		cli.st.link_down_since_us = now_unix_us();
	pthread_mutex_unlock(&cli.lock);
	return was_up;
}

static void set_state(enum link_state s)
{
	pthread_mutex_lock(&cli.lock);
	cli.state = s;
	pthread_mutex_unlock(&cli.lock);
}

/* ---- frames from the primary ---- */

static int end_session(const char *reason)
{
	cli.end_reason = reason;
	return -1;
}

static int malformed(unsigned type)
{
	pthread_mutex_lock(&cli.lock);
	cli.st.frames_rejected[RELAY_REJECT_MALFORMED]++;
	pthread_mutex_unlock(&cli.lock);
	log_warn(COMPONENT, "primary sent a malformed %s frame", relay_frame_type_name(type));
	return end_session("malformed frame");
}

static void send_or_end(struct relay_msg *m)
{
	if (!m || relay_link_send(&cli.link, m) < 0)
		cli.end_reason = "output queue full";
	relay_msg_unref(m);
}

