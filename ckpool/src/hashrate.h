/*
 * hashrate.h - rolling hashrate estimates from accepted share difficulty.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * A share of difficulty d stands for d x 2^32 hashes on average. Each
 * window keeps an exponentially decaying average of that work per second
 * with time constant tau (60 s, 300 s, 3600 s, 86400 s): on every update the
 * old value decays by exp(-dt / tau) and a new share adds d x 2^32 / tau.
 * A steady miner's value converges to its true hashrate. For the first
 * tau seconds the average has seen less than a full window, so reads divide
 * by (1 - exp(-elapsed / tau)): a 1d figure after ten minutes is the
 * ten-minute average rather than 1/144 of it.
 *
 * The averaging does no I/O and reads no clock: time is passed in (seconds,
 * any monotonic origin), no locks. The caller serialises access to one
 * struct hashrate or hashrate_table. (A runtime module all the same: the
 * tracker below emits hashrate_update events.)
 *
 *   struct hashrate h;
 *   hashrate_init(&h, now);
 *   hashrate_add_share(&h, sdiff, now);           // per accepted share
 *   double hs = hashrate_get(&h, HASHRATE_5M, now); // hashes per second
 */
#ifndef CKPOOL_HASHRATE_H
#define CKPOOL_HASHRATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum hashrate_window { HASHRATE_1M, HASHRATE_5M, HASHRATE_1H, HASHRATE_1D, HASHRATE_WINDOWS };

struct hashrate {
	double avg[HASHRATE_WINDOWS];  /* decayed hashes per second, uncorrected */
	double started;                /* when tracking began */
	double updated;                /* time avg[] was last decayed to */
	double last_share;             /* time of the last share, -1 if none */
	double shares;                 /* accepted shares seen */
};

/* Seconds of each window's time constant. */
double hashrate_window_seconds(enum hashrate_window w);
/* JSON-friendly names: "1m", "5m", "1h", "1d". */
const char *hashrate_window_name(enum hashrate_window w);

void hashrate_init(struct hashrate *h, double now);
/* Adds one accepted share of difficulty `diff` seen at `now`. Shares with
 * a time before the last update count as if seen at the last update. */
void hashrate_add_share(struct hashrate *h, double diff, double now);
/* Estimated hashes per second over window `w` at time `now`. */
double hashrate_get(const struct hashrate *h, enum hashrate_window w, double now);

/* ---- per-worker table ---- */

/* Estimates keyed by worker name (e.g. "address.worker"). Entries are
 * created on their first share and pruned once idle. */
struct hashrate_table;

struct hashrate_table *hashrate_table_new(void);
void hashrate_table_free(struct hashrate_table *t);
/* Records a share for `worker`. */
void hashrate_table_add_share(struct hashrate_table *t, const char *worker, double diff,
			      double now);
/* The worker's estimate, or NULL when unknown. Valid until the next call
 * that adds or prunes. */
const struct hashrate *hashrate_table_find(const struct hashrate_table *t, const char *worker);
/* Calls fn for every worker (in no particular order). */
void hashrate_table_each(const struct hashrate_table *t,
			 void (*fn)(const char *worker, const struct hashrate *h, void *ctx),
			 void *ctx);
/* Forgets workers without a share for `idle_s` seconds; returns how many. */
size_t hashrate_table_prune(struct hashrate_table *t, double now, double idle_s);
size_t hashrate_table_size(const struct hashrate_table *t);

/* The data of a hashrate_update event for one worker:
 * {"address","worker","hashrate_1m","hashrate_5m","hashrate_1h","hashrate_1d",
 *  "shares","last_share_age_s"}; rates in hashes per second. */
json_t *hashrate_event_data(const char *address, const char *worker, const struct hashrate *h,
			    double now);

/* ---- the engine's worker tracker ----
 * The one piece of state here: a process-wide table behind a mutex, fed by
 * the Stratum threads and reported by main's timer. */

/* Records an accepted share of credited difficulty `diff` for `username`
 * ("address[.worker]") at monotonic time `now`. */
void hashrate_tracker_record(const char *username, double diff, double now);
/* Emits one hashrate_update per worker with a share in the last day and
 * forgets the others. */
void hashrate_tracker_report(double now);
/* Forgets every worker. */
void hashrate_tracker_clear(void);

#endif
