/*
 * main.c - owns the process lifecycle: command line, configuration,
 * start-up order (events, metrics, node, pool address, best share, submit,
 * generator, relay link, first template, Stratum), signal handling through
 * a signalfd (SIGTERM/SIGINT stop, SIGHUP reloads coinbase_sigs) and the
 * clean shutdown (relay link, generator, Stratum, best share, submit,
 * metrics, events: the event sink goes last so shutdown events reach it).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "address.h"
#include "best_diff.h"
#include "coinbase_sigs.h"
#include "config.h"
#include "ensure_dir.h"
#include "events.h"
#include "generator.h"
#include "hashrate.h"
#include "health.h"
#include "jobs.h"
#include "log.h"
#include "metrics.h"
#include "network.h"
#include "relay_mode.h"
#include "rpc.h"
#include "stats.h"
#include "stratum.h"
#include "submit.h"
#include "util.h"
#include "workbase.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define EXIT_CONFIG 2
#define CKPOOL_VERSION "0.1.0"

enum wait_outcome { WAIT_TIMEOUT, WAIT_STOP };

static void print_usage(FILE *out)
{
	fprintf(out,
		"usage: ckpool -c <config.json> [-d]\n"
		"  -c FILE   configuration file (JSON); see docs/engine.md\n"
		"  -d        debug logging\n"
		"  -h        this help\n"
		"Signals: SIGTERM/SIGINT stop cleanly, SIGHUP reloads coinbase_sigs.\n");
}

/* ---- signals ---- */

static int open_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts, so every thread inherits the mask
	 * and the signals arrive only through the signalfd. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void reload_coinbase_sigs(const struct config *cfg)
{
	char err[512];

	if (!*cfg->coinbase_sigs) {
		log_info("main", "SIGHUP: no coinbase_sigs file configured");
		return;
	}
	if (coinbase_sigs_load(cfg->coinbase_sigs, err, sizeof(err)))
		log_error("main", "SIGHUP: %s; keeping the previous signatures", err);
	else
		log_info("main", "SIGHUP: reloaded %zu coinbase signatures from %s",
			 coinbase_sigs_count(), cfg->coinbase_sigs);
}

/* Waits up to timeout_ms for a signal; SIGHUP is handled here. */
static enum wait_outcome wait_for_signal(int sfd, const struct config *cfg, int timeout_ms)
{
	struct pollfd p = { .fd = sfd, .events = POLLIN };
	struct signalfd_siginfo info;

	if (poll(&p, 1, timeout_ms) <= 0)
		return WAIT_TIMEOUT;
	while (read(sfd, &info, sizeof(info)) == sizeof(info)) {
		if (info.ssi_signo == SIGHUP) {
			reload_coinbase_sigs(cfg);
			continue;
		}
		log_info("main", "received %s, shutting down", strsignal((int)info.ssi_signo));
		return WAIT_STOP;
	}
	return WAIT_TIMEOUT;
}

/* ---- start-up steps ---- */

static void raise_file_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void warn_unknown_keys(const struct config *cfg)
{
	for (size_t i = 0; i < CONFIG_MAX_UNKNOWN && cfg->unknown_keys[i]; i++)
		log_warn("config", "unknown key \"%s\" ignored", cfg->unknown_keys[i]);
}

/* Asks getblockchaininfo until the node answers; -1 when stopped first. */
static int learn_network(int sfd, const struct config *cfg, enum network *net)
{
	struct rpc_client *rpc = rpc_client_new(cfg, "main");
	int rc = -1;

	while (rpc) {
		char err[512];
		json_t *info = rpc_call(rpc, "getblockchaininfo", NULL, 10000, err, sizeof(err));
		const char *chain = json_string_value(json_object_get(info, "chain"));

		if (chain && network_from_chain(chain, net) == 0) {
			log_info("main", "node %s is on %s", rpc_client_node(rpc), network_name(*net));
			json_decref(info);
			rc = 0;
			break;
		}
		if (info)
			log_error("main", "node reports unknown chain \"%s\"", chain ? chain : "?");
		else
			log_warn("main", "waiting for the node: %s", err);
		json_decref(info);
		if (wait_for_signal(sfd, cfg, 1000) == WAIT_STOP)
			break;
	}
	rpc_client_free(rpc);
	return rc;
}

static int check_pool_address(const struct config *cfg, enum network net)
{
	uint8_t script[ADDRESS_SCRIPT_MAX];
	size_t len;
	char err[256];

	if (!*cfg->btcaddress)
		return 0;
	if (address_to_script(cfg->btcaddress, net, script, &len, NULL, err, sizeof(err))) {
		fprintf(stderr, "config: btcaddress is not a valid %s address: %s\n",
			network_name(net), err);
		return -1;
	}
	return 0;
}

static int start_events(const struct config *cfg)
{
	struct events_config ec = {
		.enabled = cfg->events.enabled,
		.socket_path = cfg->events.socket_path,
		.types = cfg->events.event_types[0] ? (const char *const *)cfg->events.event_types
						    : NULL,
		.buffer_hwm = cfg->events.buffer_hwm,
		.hashrate_interval_sec = cfg->events.hashrate_interval_sec,
		.region = cfg->region,
		.pool_instance = cfg->pool_instance,
		.state_dir = cfg->state_dir,
	};
	char err[512];

	if (events_start(&ec, err, sizeof(err))) {
		log_error("main", "events: %s", err);
		return -1;
	}
	return 0;
}

/* /metrics and /health, up before the node answers so "down" can be seen. */
static int start_metrics(const struct config *cfg)
{
	struct health_policy policy;
	struct metrics_info info = {
		.region = cfg->region,
		.mode = cfg->mode == MODE_PRIMARY ? "primary" : "passthrough",
		.pool_instance = cfg->pool_instance,
		.version = CKPOOL_VERSION,
	};
	char err[512];

	health_policy_default(&policy, cfg->update_interval);
	health_init(&policy);
	if (metrics_start(cfg->metrics_listen, &info, err, sizeof(err))) {
		log_error("main", "metrics: %s", err);
		return -1;
	}
	return 0;
}

/* Waits for the generator's first workbase; -1 when stopped first. */
static int wait_for_first_template(int sfd, const struct config *cfg)
{
	for (;;) {
		struct workbase *wb = jobs_current(NULL, NULL);

		if (wb) {
			workbase_unref(wb);
			return 0;
		}
		if (wait_for_signal(sfd, cfg, 50) == WAIT_STOP)
			return -1;
	}
}

static int parse_arguments(int argc, char **argv, const char **path, bool *debug)
{
	int opt;

	while ((opt = getopt(argc, argv, "c:dh")) != -1) {
		switch (opt) {
		case 'c':
			*path = optarg;
			break;
		case 'd':
			*debug = true;
			break;
		case 'h':
			print_usage(stdout);
			exit(0);
		default:
			print_usage(stderr);
			return -1;
		}
	}
	if (!*path || optind < argc) {
		print_usage(stderr);
		return -1;
	}
	return 0;
}

/* ---- per-address bests and hashrate reports ---- */

#define BEST_DIFF_SAVE_S 10.0

static int open_best_diff(const struct config *cfg)
{
	char err[512];

	if (!*cfg->state_dir)
		log_warn("main", "no state_dir or logdir: weekly and all-time best "
				 "difficulties will not survive a restart");
	if (best_diff_global_open(cfg->state_dir, err, sizeof(err))) {
		log_error("main", "%s", err);
		return -1;
	}
	return 0;
}

struct timers {
	double next_hashrate, next_save;
};

/* hashrate_update every events.hashrate_interval_sec; bests saved every 10 s. */
static void run_timers(struct timers *t, const struct config *cfg)
{
	double now = now_monotonic();

	if (now >= t->next_hashrate) {
		if (t->next_hashrate > 0)
			hashrate_tracker_report(now);
		t->next_hashrate = now + cfg->events.hashrate_interval_sec;
	}
	if (now >= t->next_save) {
		best_diff_global_save();
		t->next_save = now + BEST_DIFF_SAVE_S;
	}
}

/* ---- the run ---- */

struct engine {
	struct config cfg;
	int sfd;
	enum network net;
	bool events_on, metrics_on, submit_on, generator_on, stratum_on, best_diff_on;
};

static int start_services(struct engine *e)
{
	char err[512];

	if (start_events(&e->cfg))
		return 1;
	e->events_on = true;
	if (start_metrics(&e->cfg))
		return 1;
	e->metrics_on = true;
	if (learn_network(e->sfd, &e->cfg, &e->net))
		return 0;
	if (check_pool_address(&e->cfg, e->net))
		return EXIT_CONFIG;
	if (open_best_diff(&e->cfg))
		return 1;
	e->best_diff_on = true;
	if (submit_start(&e->cfg, err, sizeof(err)))
		goto failed;
	e->submit_on = true;
	if (generator_start(&e->cfg, err, sizeof(err)))
		goto failed;
	e->generator_on = true;
	if (relay_mode_start(&e->cfg, err, sizeof(err)))
		goto failed;
	if (wait_for_first_template(e->sfd, &e->cfg))
		return 0;
	if (stratum_start(&e->cfg, e->net, err, sizeof(err)))
		goto failed;
	e->stratum_on = true;
	return -1;
failed:
	log_error("main", "%s", err);
	return 1;
}

/*
 * Producers of work stop before its consumers: the relay link and the
 * generator publish workbases into Stratum, so they go first; Stratum may
 * still hand a last block to submit, so submit stops after Stratum; events
 * outlive everything that emits them (miner_disconnected at shutdown).
 */
static void stop_services(struct engine *e)
{
	relay_mode_stop();
	if (e->generator_on)
		generator_stop();
	if (e->stratum_on)
		stratum_stop();
	if (e->best_diff_on)
		best_diff_global_close();
	hashrate_tracker_clear();
	if (e->submit_on)
		submit_stop();
	if (e->metrics_on)
		metrics_stop();
	if (e->events_on)
		events_stop();
	jobs_clear();
	coinbase_sigs_clear();
}

static int run(struct engine *e)
{
	int rc = start_services(e);

	if (rc < 0) {
		struct timers timers = { 0, 0 };

		log_info("main", "engine ready: region %s, instance %s, mode %s", e->cfg.region,
			 e->cfg.pool_instance, e->cfg.mode == MODE_PRIMARY ? "primary" : "passthrough");
		while (wait_for_signal(e->sfd, &e->cfg, 1000) != WAIT_STOP)
			run_timers(&timers, &e->cfg);
		rc = 0;
	}
	stop_services(e);
	log_info("main", "stopped");
	return rc;
}

/* logdir and state_dir are created when missing (like mkdir -p); one
 * line naming the key when that is impossible. */
static int create_directories(const struct config *cfg)
{
	const char *keys[] = { "logdir", "state_dir" };
	const char *paths[] = { cfg->logdir, cfg->state_dir };
	char err[1200];

	for (size_t i = 0; i < 2; i++) {
		if (*paths[i] && ensure_dir(paths[i], err, sizeof(err))) {
			fprintf(stderr, "config: %s %s: %s\n", keys[i], paths[i], err);
			return -1;
		}
	}
	return 0;
}

static int load_configuration(struct engine *e, const char *path)
{
	char err[1024];

	if (config_load(path, &e->cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (create_directories(&e->cfg))
		return -1;
	if (log_init(e->cfg.region, e->cfg.logdir)) {
		fprintf(stderr, "config: logdir %s: cannot open ckpool.log: %s\n", e->cfg.logdir,
			strerror(errno));
		return -1;
	}
	if (*e->cfg.coinbase_sigs && coinbase_sigs_load(e->cfg.coinbase_sigs, err, sizeof(err))) {
		fprintf(stderr, "config: %s\n", err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct engine e;
	const char *path = NULL;
	bool debug = false;
	int rc;

	if (parse_arguments(argc, argv, &path, &debug))
		return EXIT_CONFIG;
	if (load_configuration(&e, path))
		return EXIT_CONFIG;
	if (debug)
		log_set_level(LOG_DEBUG);
	warn_unknown_keys(&e.cfg);
	atomic_store(&g_stats.start_time_us, now_unix_us());
	raise_file_limit();
	e.sfd = open_signalfd();
	if (e.sfd < 0 || rpc_global_init()) {
		log_error("main", "cannot set up signals or curl: %s", strerror(errno));
		return 1;
	}
	log_info("main", "starting with %s", path);
	rc = run(&e);
	rpc_global_cleanup();
	close(e.sfd);
	config_free(&e.cfg);
	log_close();
	return rc;
}
