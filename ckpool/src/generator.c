/*
 * generator.c - owns the template thread: tip-change detection (ZMQ and
 * best-hash polling), getblocktemplate calls, workbase ids, publishing
 * workbases to the jobs registry (and to the link's publish hook), and a
 * passthrough relay's choice between the primary's templates and its own
 * node's (relayed / independent mode).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "generator.h"
#include "error_streak.h"
#include "events.h"
#include "gbt_request.h"
#include "hex.h"
#include "jobs.h"
#include "log.h"
#include "rpc.h"
#include "stats.h"
#include "template_status.h"
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
#define CHAININFO_TIMEOUT_MS 10000
#define RELAYED_TICK_S 0.1

struct generator {
	const struct config *cfg;
	struct rpc_client *rpc;
	pthread_t thread;
	int wake_fd;
	atomic_int running;
	void *zmq_ctx, *zmq_sub;
	double last_template, last_poll, retry_at;
	char tip[65];           /* display hex of the current template's previous block */
	struct error_streak poll_trouble; /* getbestblockhash failures (templates: template_status) */
	char chain[32];         /* the node's getblockchaininfo.chain, "" until asked */
	bool chain_known;       /* asked since the last failure: the rules follow it */

	/* passthrough mode; mode_lock orders publishing between the link
	 * thread (primary templates) and this thread (own node) */
	bool passthrough;
	pthread_mutex_t mode_lock;
	atomic_bool independent; /* mining own node's templates */
	bool current_local;     /* the current workbase came from the own node */
	char local_best[65];    /* own node's best block at the last poll */
	int64_t independent_since_us;
	atomic_uint_fast64_t mode_changes, local_ahead, primary_templates, primary_ignored;
};

static struct generator gen = { .wake_fd = -1, .mode_lock = PTHREAD_MUTEX_INITIALIZER };
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

/* The relay link's hooks (generator_set_link); NULL until relay_mode sets
 * them. Atomic so they can be set while the template thread runs. */
static _Atomic(void (*)(struct workbase *)) link_publish;
static _Atomic(int64_t (*)(void)) link_down_for_ms;

void generator_set_link(const struct generator_link *link)
{
	atomic_store(&link_publish, link ? link->publish : NULL);
	atomic_store(&link_down_for_ms, link ? link->down_for_ms : NULL);
}

static void publish_to_link(struct workbase *wb)
{
	void (*publish)(struct workbase *) = atomic_load(&link_publish);

	if (publish)
		publish(wb);
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
	publish_to_link(wb);
	new_block = jobs_publish(wb);
	log_published(wb, new_block, tip);
	if (new_block)
		emit_new_block_network(wb, tip);
	workbase_unref(wb);
	return new_block;
}

/* ---- the node ---- */

/* Best-block polls fail every blockpoll_ms while the node is away: one
 * line per distinct error, one when it answers again. */
static void note_trouble(struct generator *g, const char *err)
{
	struct error_streak ended;
	enum streak_change change = error_streak_fail(&g->poll_trouble, err, &ended);

	if (change == STREAK_STARTED)
		log_warn("generator", "%s", err);
	else if (change == STREAK_CHANGED)
		log_warn("generator", "%s (previous error seen %llu times)", err,
			 (unsigned long long)ended.count);
}

static void note_success(struct generator *g)
{
	struct error_streak ended;

	if (error_streak_clear(&g->poll_trouble, &ended) == STREAK_ENDED)
		log_fields(LOG_INFO, "generator", "node answers again",
			   json_pack("{s:s, s:s, s:I}", "node", rpc_client_node(g->rpc), "error",
				     ended.message, "error_count", (json_int_t)ended.count));
}

/* Asks the node which chain it is on; the getblocktemplate rules follow
 * it. Called before the first template and again after any failure, so a
 * node restarted (or a btcd entry failed over to) on another chain is
 * noticed. 0, or -1 with err. */
static int learn_chain(struct generator *g, char *err, size_t errlen)
{
	json_t *info = rpc_call(g->rpc, "getblockchaininfo", NULL, CHAININFO_TIMEOUT_MS, err,
				errlen);
	const char *chain = json_string_value(json_object_get(info, "chain"));
	const char *rules[GBT_MAX_RULES];
	json_t *list;
	size_t n;

	if (!chain) {
		if (info)
			snprintf(err, errlen, "rpc getblockchaininfo: no 'chain' in the answer of %s",
				 rpc_client_node(g->rpc));
		json_decref(info);
		return -1;
	}
	if (strcmp(chain, g->chain)) {
		if (*g->chain)
			log_error("generator", "node %s is now on %s, was on %s: payout addresses "
				  "were checked for %s; restart the engine", rpc_client_node(g->rpc),
				  chain, g->chain, g->chain);
		copy_string(g->chain, chain, sizeof(g->chain));
		template_status_set_chain(chain);
		list = json_array();
		n = gbt_rules_for_chain(chain, rules);
		for (size_t i = 0; i < n; i++)
			json_array_append_new(list, json_string(rules[i]));
		log_fields(LOG_INFO, "generator", "node chain known: getblocktemplate rules follow it",
			   json_pack("{s:s, s:s, s:o}", "node", rpc_client_node(g->rpc), "chain",
				     chain, "rules", list));
	}
	g->chain_known = true;
	json_decref(info);
	return 0;
}

/* ---- relayed / independent mode (passthrough) ---- */

static const char *mode_name(bool independent)
{
	return independent ? "independent" : "relayed";
}

static void emit_mode_change(const struct generator *g, bool to_independent, const char *reason,
			     int64_t down_ms)
{
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "relay_region", g->cfg->region,
			      "primary_host", g->cfg->primary.host, "from",
			      mode_name(!to_independent), "to", mode_name(to_independent),
			      "reason", reason, "link_down_ms", (json_int_t)down_ms);

	log_fields(to_independent ? LOG_WARN : LOG_INFO, "generator",
		   to_independent ? "relay mode: independent (own node's templates)"
				  : "relay mode: relayed (primary's templates)",
		   json_deep_copy(f));
	if (events_wanted("relay_mode_changed"))
		events_emit("relay_mode_changed", f);
	else
		json_decref(f);
}

/* Called with mode_lock held. */
static void set_independent(struct generator *g, bool on, const char *reason, int64_t down_ms)
{
	if (atomic_load(&g->independent) == on)
		return;
	atomic_store(&g->independent, on);
	atomic_fetch_add(&g->mode_changes, 1);
	g->independent_since_us = on ? now_unix_us() : 0;
	emit_mode_change(g, on, reason, down_ms);
}

/* True when wb builds on a higher block than the current workbase. */
static bool is_ahead_of_current(const struct workbase *wb)
{
	struct workbase *cur = jobs_current(NULL, NULL);
	bool ahead = cur && wb->height > cur->height;

	workbase_unref(cur);
	return ahead;
}

static void log_local_ahead(const struct workbase *wb)
{
	json_t *f = json_object();

	json_object_set_new(f, "height", json_integer(wb->height));
	log_fields(LOG_INFO, "generator",
		   "own node has a new block before the primary's template: mining on it", f);
}

/* Publishes a template from the own node. A relay in relayed mode uses it
 * only when it is ahead of the current (primary's) workbase: its node saw
 * a new block first; the primary's template for that block follows. */
static void publish_local(struct generator *g, struct workbase *wb)
{
	bool relayed;

	pthread_mutex_lock(&g->mode_lock);
	relayed = g->passthrough && !atomic_load(&g->independent);
	if (relayed && !is_ahead_of_current(wb)) {
		pthread_mutex_unlock(&g->mode_lock);
		workbase_unref(wb);
		return;
	}
	if (relayed) {
		atomic_fetch_add(&g->local_ahead, 1);
		log_local_ahead(wb);
	}
	g->current_local = true;
	generator_publish(wb);
	pthread_mutex_unlock(&g->mode_lock);
}

static void log_primary_ignored(const struct workbase *wb, uint64_t primary_id)
{
	json_t *f = json_object();

	json_object_set_new(f, "height", json_integer(wb->height));
	json_object_set_new(f, "primary_workbase_id", json_integer((json_int_t)primary_id));
	log_fields(LOG_INFO, "generator",
		   "primary's template is behind the own node's block: kept mining on it", f);
}

void generator_primary_template(const json_t *gbt, uint64_t primary_workbase_id)
{
	char err[512];
	struct workbase *wb = workbase_from_gbt(gbt, err, sizeof(err));

	if (!wb) {
		log_error("generator", "primary's template refused: %s", err);
		return;
	}
	generator_primary_workbase(wb, primary_workbase_id);
}

void generator_primary_workbase(struct workbase *wb, uint64_t primary_workbase_id)
{
	struct generator *g = &gen;
	struct workbase *cur;

	pthread_mutex_lock(&g->mode_lock);
	set_independent(g, false, "primary back: template received", 0);
	cur = jobs_current(NULL, NULL);
	if (cur && g->current_local && wb->height < cur->height) {
		atomic_fetch_add(&g->primary_ignored, 1);
		pthread_mutex_unlock(&g->mode_lock);
		log_primary_ignored(wb, primary_workbase_id);
		workbase_unref(cur);
		workbase_unref(wb);
		return;
	}
	workbase_unref(cur);
	g->current_local = false;
	atomic_fetch_add(&g->primary_templates, 1);
	generator_publish(wb);
	pthread_mutex_unlock(&g->mode_lock);
}

void generator_relay_state(struct generator_relay_state *out)
{
	pthread_mutex_lock(&gen.mode_lock);
	*out = (struct generator_relay_state){
		.passthrough = gen.passthrough,
		.independent = atomic_load(&gen.independent),
		.independent_since_us = gen.independent_since_us,
		.mode_changes = atomic_load(&gen.mode_changes),
		.local_ahead = atomic_load(&gen.local_ahead),
		.primary_templates = atomic_load(&gen.primary_templates),
		.primary_ignored = atomic_load(&gen.primary_ignored),
	};
	pthread_mutex_unlock(&gen.mode_lock);
}

bool generator_independent(void)
{
	return gen.passthrough && atomic_load(&gen.independent);
}

/* A failed attempt: recorded (and logged once per distinct error) by
 * template_status; the chain is asked again before the next one. */
static int template_refused(struct generator *g, const char *err)
{
	g->chain_known = false;
	template_status_refused(rpc_client_node(g->rpc), err);
	return -1;
}

/* Fetches and publishes one template; 0 on success. */
static int fetch_template(struct generator *g)
{
	char err[512];
	json_t *gbt;
	struct workbase *wb;
	char tip[65];

	if (!g->chain_known && learn_chain(g, err, sizeof(err)))
		return template_refused(g, err);
	gbt = rpc_call(g->rpc, "getblocktemplate", gbt_request_params(g->chain), GBT_TIMEOUT_MS,
		       err, sizeof(err));
	if (!gbt)
		return template_refused(g, err);
	note_success(g);
	wb = workbase_from_gbt(gbt, err, sizeof(err));
	json_decref(gbt);
	if (!wb)
		return template_refused(g, err);
	template_status_served(rpc_client_node(g->rpc), wb->signet_challenge);
	hex_encode_reversed(wb->prevhash, 32, tip);
	g->last_template = now_monotonic();
	copy_string(g->tip, tip, sizeof(g->tip));
	publish_local(g, wb);
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

/* The own node's best block hash into best; false when it did not answer. */
static bool own_best_hash(struct generator *g, char best[65])
{
	char err[256];
	json_t *v = rpc_call(g->rpc, "getbestblockhash", NULL, BESTHASH_TIMEOUT_MS, err,
			     sizeof(err));
	bool ok = json_is_string(v) && strlen(json_string_value(v)) == 64;

	g->last_poll = now_monotonic();
	if (!v)
		note_trouble(g, err);
	else
		note_success(g);
	if (ok)
		copy_string(best, json_string_value(v), 65);
	json_decref(v);
	return ok;
}

/* True when the current workbase builds on block `hash` (display hex). */
static bool current_builds_on(const char *hash)
{
	struct workbase *cur = jobs_current(NULL, NULL);
	char prev[65] = "";

	if (cur)
		hex_encode_reversed(cur->prevhash, 32, prev);
	workbase_unref(cur);
	return !strcmp(prev, hash);
}

/* Relayed mode: no getblocktemplate while the primary's templates flow.
 * The own node is asked only for its best block; when that changes to a
 * block the current template does not build on, its template is fetched
 * and used if it is ahead. */
static void watch_own_tip(struct generator *g)
{
	char best[65];
	bool baseline = !*g->local_best;

	if (!own_best_hash(g, best) || !strcmp(best, g->local_best))
		return;
	copy_string(g->local_best, best, sizeof(g->local_best));
	if (!baseline && !current_builds_on(best))
		fetch_template(g);
}

static bool failover_due(const struct generator *g, int64_t *down_ms)
{
	int64_t (*down_for_ms)(void) = atomic_load(&link_down_for_ms);

	*down_ms = down_for_ms ? down_for_ms() : -1;
	return *down_ms >= 0 && *down_ms >= (int64_t)g->cfg->primary.failover_threshold * 1000;
}

/* One round of a relay in relayed mode; false when it is (now) independent
 * and the normal template loop runs. */
static bool relayed_round(struct generator *g, int reasons)
{
	double now = now_monotonic();
	int64_t down_ms;
	char reason[128];

	if (atomic_load(&g->independent))
		return false;
	if (failover_due(g, &down_ms)) {
		snprintf(reason, sizeof(reason), "primary unreachable for %.1f s",
			 (double)down_ms / 1000.0);
		pthread_mutex_lock(&g->mode_lock);
		set_independent(g, true, reason, down_ms);
		pthread_mutex_unlock(&g->mode_lock);
		g->retry_at = now;      /* fetch at once: miners keep working meanwhile */
		return false;
	}
	if (reasons || (g->cfg->blockpoll_ms && now - g->last_poll >= g->cfg->blockpoll_ms / 1000.0))
		watch_own_tip(g);
	return true;
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
	if (g->passthrough && !atomic_load(&g->independent) && until > RELAYED_TICK_S)
		until = RELAYED_TICK_S; /* failover is checked every tick */
	return (long)(until * 1000.0) + 1;
}

static void run_one_round(struct generator *g)
{
	double now;
	int reasons = wait_for_reason(g, next_timeout_ms(g, now_monotonic()));
	bool want = reasons != 0;

	if (!atomic_load(&g->running))
		return;
	if (g->passthrough && relayed_round(g, reasons))
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
	g->retry_at = g->passthrough ? 0 : now_monotonic();
	while (atomic_load(&g->running))
		run_one_round(g);
	close_zmq(g);
	return NULL;
}

int generator_start(const struct config *cfg, char *err, size_t errlen)
{
	gen.cfg = cfg;
	gen.chain[0] = '\0';
	gen.chain_known = false;
	gen.poll_trouble = (struct error_streak)ERROR_STREAK_INIT;
	template_status_reset();
	gen.passthrough = cfg->mode == MODE_PASSTHROUGH;
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
