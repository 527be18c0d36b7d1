/*
 * generator.c - owns the template thread: tip-change detection (ZMQ and
 * best-hash polling), getblocktemplate calls, workbase ids, and publishing
 * workbases to the jobs registry.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "generator.h"
#include "events.h"
#include "hex.h"
#include "jobs.h"
#include "log.h"
#include "rpc.h"
#include "stats.h"
#include "util.h"
#include "workbase.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#define GBT_TIMEOUT_MS 30000
#define BESTHASH_TIMEOUT_MS 5000

struct generator {
	const struct config *cfg;
	struct rpc_client *rpc;
	pthread_t thread;
	int wake_fd;
	atomic_int running;
	void *zmq_ctx, *zmq_sub;
	double last_template, last_poll, retry_at;
	char tip[65];           /* display hex of the current template's previous block */
	double last_trouble_log;
	bool in_trouble;        /* the last call failed */
};

static struct generator gen = { .wake_fd = -1 };
static atomic_uint_fast64_t next_workbase_id;

/* ---- publishing ---- */

static void emit_new_block_network(const struct workbase *wb, const char *tip)
{
	char parent[65];
	json_t *data;

	if (!events_wanted("new_block_network"))
		return;
	data = json_object();
	json_object_set_new(data, "hash", json_string(tip));
	json_object_set_new(data, "height", json_integer(wb->height - 1));
	json_object_set_new(data, "prev_hash",
			    jobs_tip_parent(parent) ? json_string(parent) : json_null());
	json_object_set_new(data, "template_height", json_integer(wb->height));
	json_object_set_new(data, "network_diff", json_real(wb->network_diff));
	json_object_set_new(data, "coinbasevalue", json_integer(wb->coinbasevalue));
	json_object_set_new(data, "tx_count", json_integer((json_int_t)wb->tx_count));
	events_emit("new_block_network", data);
}

static void log_published(const struct workbase *wb, bool new_block, const char *tip)
{
	json_t *f = json_object();
	char id[17];

	snprintf(id, sizeof(id), "%016llx", (unsigned long long)wb->id);
	json_object_set_new(f, "job_id", json_string(id));
	json_object_set_new(f, "height", json_integer(wb->height));
	json_object_set_new(f, "prevhash", json_string(tip));
	json_object_set_new(f, "txs", json_integer((json_int_t)wb->tx_count));
	json_object_set_new(f, "coinbasevalue", json_integer(wb->coinbasevalue));
	json_object_set_new(f, "clean_jobs", json_boolean(new_block));
	log_fields(new_block ? LOG_INFO : LOG_DEBUG, "generator",
		   new_block ? "new block template" : "template update", f);
}

bool generator_publish(struct workbase *wb)
{
	uint64_t first = (uint64_t)now_unix_us();
	uint64_t expected = 0;
	char tip[65];
	bool new_block;

	/* Ids start from the clock so a restarted engine never reuses one. */
	atomic_compare_exchange_strong(&next_workbase_id, &expected, first);
	wb->id = atomic_fetch_add(&next_workbase_id, 1);
	hex_encode_reversed(wb->prevhash, 32, tip);
	atomic_store(&g_stats.template_height, wb->height);
	atomic_store(&g_stats.template_time_us, now_unix_us());
	atomic_fetch_add(&g_stats.templates_total, 1);
	workbase_ref(wb);       /* held until logged: jobs may drop it meanwhile */
	new_block = jobs_publish(wb);
	log_published(wb, new_block, tip);
	if (new_block)
		emit_new_block_network(wb, tip);
	workbase_unref(wb);
	return new_block;
}

/* ---- the node ---- */

/* Node failures repeat every poll: log the first, then every 10 s. */
static void note_trouble(struct generator *g, const char *err)
{
	double now = now_monotonic();

	if (!g->in_trouble || now - g->last_trouble_log >= 10) {
		log_warn("generator", "%s", err);
		g->last_trouble_log = now;
	}
	g->in_trouble = true;
}

static void note_success(struct generator *g)
{
	if (g->in_trouble)
		log_info("generator", "node %s answers again", rpc_client_node(g->rpc));
	g->in_trouble = false;
}

static json_t *gbt_params(void)
{
	json_t *req = json_object();
	json_t *rules = json_array();

	json_array_append_new(rules, json_string("segwit"));
	json_object_set_new(req, "rules", rules);
	return json_pack("[o]", req);
}

/* Fetches and publishes one template; 0 on success. */
static int fetch_template(struct generator *g)
{
	char err[512];
	json_t *gbt = rpc_call(g->rpc, "getblocktemplate", gbt_params(), GBT_TIMEOUT_MS, err,
			       sizeof(err));
	struct workbase *wb;
	char tip[65];

	if (!gbt) {
		note_trouble(g, err);
		return -1;
	}
	note_success(g);
	wb = workbase_from_gbt(gbt, err, sizeof(err));
	json_decref(gbt);
	if (!wb) {
		log_error("generator", "%s", err);
		return -1;
	}
	hex_encode_reversed(wb->prevhash, 32, tip);
	g->last_template = now_monotonic();
	copy_string(g->tip, tip, sizeof(g->tip));
	generator_publish(wb);
	return 0;
}

/* True when getbestblockhash differs from the tip we mine on. */
static bool tip_moved(struct generator *g)
{
	char err[256];
	json_t *best = rpc_call(g->rpc, "getbestblockhash", NULL, BESTHASH_TIMEOUT_MS, err,
				sizeof(err));
	bool moved;

	g->last_poll = now_monotonic();
	if (!best) {
		note_trouble(g, err);
		return false;
	}
	note_success(g);
	moved = json_is_string(best) && strcmp(json_string_value(best), g->tip) != 0;
	json_decref(best);
	return moved;
}

/* ---- ZMQ ---- */

static void open_zmq(struct generator *g)
{
	int linger = 0;

	if (!*g->cfg->zmqblock)
		return;
	g->zmq_ctx = zmq_ctx_new();
	g->zmq_sub = g->zmq_ctx ? zmq_socket(g->zmq_ctx, ZMQ_SUB) : NULL;
	if (!g->zmq_sub || zmq_setsockopt(g->zmq_sub, ZMQ_SUBSCRIBE, "hashblock", 9)
	    || zmq_setsockopt(g->zmq_sub, ZMQ_LINGER, &linger, sizeof(linger))
	    || zmq_connect(g->zmq_sub, g->cfg->zmqblock)) {
		log_error("generator", "zmqblock %s: %s; relying on polling", g->cfg->zmqblock,
			  zmq_strerror(zmq_errno()));
		if (g->zmq_sub)
			zmq_close(g->zmq_sub);
		g->zmq_sub = NULL;
		return;
	}
	log_info("generator", "subscribed to hashblock at %s", g->cfg->zmqblock);
}

static void close_zmq(struct generator *g)
{
	if (g->zmq_sub)
		zmq_close(g->zmq_sub);
	if (g->zmq_ctx)
		zmq_ctx_term(g->zmq_ctx);
	g->zmq_sub = g->zmq_ctx = NULL;
}

/* Reads every pending ZMQ message; true when a hashblock arrived. */
static bool drain_zmq(struct generator *g)
{
	bool announced = false;
	char part[128];

	while (g->zmq_sub) {
		int more = 0;
		size_t more_len = sizeof(more);
		int n = zmq_recv(g->zmq_sub, part, sizeof(part), ZMQ_DONTWAIT);

		if (n < 0)
			break;
		if (n == 9 && !memcmp(part, "hashblock", 9))
			announced = true;
		zmq_getsockopt(g->zmq_sub, ZMQ_RCVMORE, &more, &more_len);
		while (more) {
			zmq_recv(g->zmq_sub, part, sizeof(part), 0);
			zmq_getsockopt(g->zmq_sub, ZMQ_RCVMORE, &more, &more_len);
		}
	}
	return announced;
}

/* ---- the loop ---- */

static bool drain_wake_fd(int fd)
{
	uint64_t v;

	return read(fd, &v, sizeof(v)) == sizeof(v);
}

/* Waits for a wake-up, a ZMQ message or the timeout. Returns a bit set:
 * 1 = asked for a template, 2 = ZMQ announced a block. */
static int wait_for_reason(struct generator *g, long timeout_ms)
{
	int reasons = 0;

	if (g->zmq_sub) {
		zmq_pollitem_t items[2] = {
			{ .socket = g->zmq_sub, .events = ZMQ_POLLIN },
			{ .fd = g->wake_fd, .events = ZMQ_POLLIN },
		};

		zmq_poll(items, 2, timeout_ms);
		if (items[0].revents & ZMQ_POLLIN && drain_zmq(g))
			reasons |= 2;
		if (items[1].revents & ZMQ_POLLIN && drain_wake_fd(g->wake_fd))
			reasons |= 1;
	} else {
		struct pollfd p = { .fd = g->wake_fd, .events = POLLIN };

		if (poll(&p, 1, (int)timeout_ms) > 0 && drain_wake_fd(g->wake_fd))
			reasons |= 1;
	}
	return reasons;
}

static long next_timeout_ms(const struct generator *g, double now)
{
	double until_update = g->last_template + g->cfg->update_interval - now;
	double until = until_update;

	if (g->cfg->blockpoll_ms) {
		double until_poll = g->last_poll + g->cfg->blockpoll_ms / 1000.0 - now;

		if (until_poll < until)
			until = until_poll;
	}
	if (g->retry_at > now && g->retry_at - now < until)
		until = g->retry_at - now;
	if (until < 0)
		until = 0;
	if (until > 1)
		until = 1;
	return (long)(until * 1000.0) + 1;
}

static void run_one_round(struct generator *g)
{
	double now;
	int reasons = wait_for_reason(g, next_timeout_ms(g, now_monotonic()));
	bool want = reasons != 0;

	if (!atomic_load(&g->running))
		return;
	now = now_monotonic();
	if (g->retry_at && now >= g->retry_at)
		want = true;
	if (!want && g->cfg->blockpoll_ms && now - g->last_poll >= g->cfg->blockpoll_ms / 1000.0)
		want = tip_moved(g);
	if (!want && now - g->last_template >= g->cfg->update_interval)
		want = true;
	if (!want)
		return;
	if (fetch_template(g) == 0)
		g->retry_at = 0;
	else
		g->retry_at = now_monotonic() + 1.0;
}

static void *generator_main(void *arg)
{
	struct generator *g = arg;

	open_zmq(g);
	g->retry_at = now_monotonic();
	while (atomic_load(&g->running))
		run_one_round(g);
	close_zmq(g);
	return NULL;
}

int generator_start(const struct config *cfg, char *err, size_t errlen)
{
	gen.cfg = cfg;
	gen.rpc = rpc_client_new(cfg, "generator");
	gen.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!gen.rpc || gen.wake_fd < 0) {
		snprintf(err, errlen, "generator: cannot set up: %s", strerror(errno));
		return -1;
	}
	atomic_store(&gen.running, 1);
	if (pthread_create(&gen.thread, NULL, generator_main, &gen)) {
		snprintf(err, errlen, "generator: cannot start its thread");
		return -1;
	}
	return 0;
}

void generator_request_template(void)
{
	uint64_t one = 1;

	if (gen.wake_fd >= 0 && write(gen.wake_fd, &one, sizeof(one)) < 0)
		log_debug("generator", "wake-up already pending");
}

void generator_stop(void)
{
	if (!atomic_exchange(&gen.running, 0))
		return;
	rpc_client_cancel(gen.rpc);
	generator_request_template();
	pthread_join(gen.thread, NULL);
	rpc_client_free(gen.rpc);
	gen.rpc = NULL;
	close(gen.wake_fd);
	gen.wake_fd = -1;
}
