/*
 * best_diff.h - each payout address's best share difficulty, per scope.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Three scopes per address:
 *   session  since this engine started (or the address's session was
 *            reset with best_diff_end_session()); memory only
 *   weekly   within the current ISO 8601 week (UTC), key "2026-W21"; a
 *            share in a new week starts a new weekly best
 *   alltime  ever
 * Weekly and all-time bests live in <state_dir>/best_diff.json, loaded by
 * best_diff_open() so they survive a restart. best_diff_record() only marks
 * the store dirty; best_diff_save() writes the whole file atomically (temp
 * file, fsync, rename), so the caller decides how often (e.g. every 10 s
 * and at shutdown). All calls are thread-safe (one mutex per store).
 *
 * File format:
 *   {"version":1,"addresses":{"bc1q...":{
 *      "alltime":{"diff":123.4,"hash":"0000..","ts":1716556800},
 *      "weekly":{"week":"2026-W21","diff":45.6,"hash":"0000..","ts":1716556800}}}}
 */
#ifndef CKPOOL_BEST_DIFF_H
#define CKPOOL_BEST_DIFF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum best_scope { BEST_SESSION, BEST_WEEKLY, BEST_ALLTIME, BEST_SCOPES };

#define BEST_WEEK_KEY_LEN 16
#define BEST_HASH_LEN 65

/* What one share did to each scope. prev_best is 0 when the scope had no
 * best yet (or a new week began). */
struct best_diff_result {
	bool new_best[BEST_SCOPES];
	double prev_best[BEST_SCOPES];
	double best[BEST_SCOPES];       /* the best after this share */
	char week[BEST_WEEK_KEY_LEN];   /* the share's ISO week */
};

struct best_diff_store;

/* Opens (creating state_dir/best_diff.json lazily on first save) and loads
 * the saved bests. A missing file is an empty store; an unreadable or
 * malformed one is an error, so a typo never silently wipes records.
 * NULL with err on failure. state_dir NULL keeps everything in memory. */
struct best_diff_store *best_diff_open(const char *state_dir, char *err, size_t errlen);
/* Frees the store (does not save). NULL is fine. */
void best_diff_close(struct best_diff_store *s);

/* Records a share of difficulty `diff` (hash: its display hex, may be NULL)
 * for `address` at Unix time `now`; fills out (may be NULL). Returns true
 * when any scope got a new best. */
bool best_diff_record(struct best_diff_store *s, const char *address, double diff,
		      const char *hash, time_t now, struct best_diff_result *out);
/* The address's current best in `scope` at time now (weekly is 0 once the
 * recorded week is over). 0 when unknown. */
double best_diff_get(struct best_diff_store *s, const char *address, enum best_scope scope,
		     time_t now);
/* Forgets the address's session best (its last connection closed). */
void best_diff_end_session(struct best_diff_store *s, const char *address);

/* Counts one more live connection of `address` (the session scope lasts
 * while the address has one). The runtime joins on a connection's first
 * accepted share, not at authorize, so authorizing alone costs nothing
 * here. False (nothing counted, do not leave) when the table is full. */
bool best_diff_session_join(struct best_diff_store *s, const char *address);
/* One connection of `address` closed; the last one ends its session, and
 * an address with no weekly or all-time best is then forgotten. */
void best_diff_session_leave(struct best_diff_store *s, const char *address);

/* Addresses in memory. The table holds at most BEST_DIFF_MAX_ADDRESSES
 * (plus whatever the state file had): when full, a new address takes the
 * place of one without live connections whose all-time best is lower
 * (found in a bounded sample), else it is not tracked (a warning, at most
 * once a minute). */
#define BEST_DIFF_MAX_ADDRESSES 262144
size_t best_diff_count(struct best_diff_store *s);
/* Changes the limit (0 = none); for tests. */
void best_diff_set_max_entries(struct best_diff_store *s, size_t max);

/* Writes the file if something changed since the last save. 0, or -1 with
 * err (the previous file stays intact). */
int best_diff_save(struct best_diff_store *s, char *err, size_t errlen);
bool best_diff_dirty(struct best_diff_store *s);

/* The data of a share_best_diff event for one improved scope of r:
 * {"address","worker","scope","new_best","prev_best","hash"(,"week")}. */
json_t *best_diff_event_data(const char *address, const char *worker, enum best_scope scope,
			     const struct best_diff_result *r, const char *hash);

/* ---- the engine's store ----
 * main opens it before Stratum starts and closes it after Stratum stops;
 * share handling reads it with best_diff_global() (NULL when not open). */
int best_diff_global_open(const char *state_dir, char *err, size_t errlen);
struct best_diff_store *best_diff_global(void);
/* Saves if dirty, logging a failure. */
void best_diff_global_save(void);
/* Saves, then frees the store. */
void best_diff_global_close(void);

/* "session", "weekly", "alltime". */
const char *best_scope_name(enum best_scope scope);
/* The ISO 8601 week of Unix time t in UTC, "YYYY-Www". */
void best_week_key(time_t t, char out[BEST_WEEK_KEY_LEN]);

#endif
