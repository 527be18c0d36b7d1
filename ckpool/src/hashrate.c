/*
 * hashrate.c - owns the decaying-average hashrate estimator and the
 * per-worker table of estimates (a chained hash table keyed by name), and
 * the engine's locked worker tracker behind hashrate_update events.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "hashrate.h"
#include "bytes.h"
#include "events.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HASHES_PER_DIFF1 4294967296.0  /* 2^32 */
#define MIN_ELAPSED_S 1.0
#define TABLE_BUCKETS 1024

static const double window_seconds[HASHRATE_WINDOWS] = { 60, 300, 3600, 86400 };
static const char *const window_names[HASHRATE_WINDOWS] = { "1m", "5m", "1h", "1d" };

double hashrate_window_seconds(enum hashrate_window w)
{
	return window_seconds[w];
}

const char *hashrate_window_name(enum hashrate_window w)
{
	return window_names[w];
}

void hashrate_init(struct hashrate *h, double now)
{
	memset(h, 0, sizeof(*h));
	h->started = now;
	h->updated = now;
	h->last_share = -1;
}

static void decay_to(struct hashrate *h, double now)
{
	double dt = now - h->updated;

	if (dt <= 0)
		return;
	for (int w = 0; w < HASHRATE_WINDOWS; w++)
		h->avg[w] *= exp(-dt / window_seconds[w]);
	h->updated = now;
}

void hashrate_add_share(struct hashrate *h, double diff, double now)
{
	if (!(diff > 0) || !isfinite(diff))
		return;
	decay_to(h, now);
	for (int w = 0; w < HASHRATE_WINDOWS; w++)
		h->avg[w] += diff * HASHES_PER_DIFF1 / window_seconds[w];
	h->last_share = h->updated;
	h->shares++;
}

double hashrate_get(const struct hashrate *h, enum hashrate_window w, double now)
{
	double tau = window_seconds[w];
	double decayed = h->avg[w] * exp(-(now > h->updated ? now - h->updated : 0) / tau);
	double elapsed = now - h->started;

	if (elapsed < MIN_ELAPSED_S)
		elapsed = MIN_ELAPSED_S;
	return decayed / (1.0 - exp(-elapsed / tau));
}

json_t *hashrate_event_data(const char *address, const char *worker, const struct hashrate *h,
			    double now)
{
	json_t *data = json_object();
	char key[32];

	json_object_set_new(data, "address", json_string(address ? address : ""));
	json_object_set_new(data, "worker", json_string(worker ? worker : ""));
	for (int w = 0; w < HASHRATE_WINDOWS; w++) {
		strcpy(key, "hashrate_");
		strcat(key, window_names[w]);
		json_object_set_new(data, key, json_real(hashrate_get(h, w, now)));
	}
	json_object_set_new(data, "shares", json_integer((json_int_t)h->shares));
	json_object_set_new(data, "last_share_age_s",
			    h->last_share < 0 ? json_null() : json_real(now - h->last_share));
	return data;
}

/* ---- table ---- */

struct table_entry {
	struct table_entry *next;
	struct hashrate h;
	char name[];
};

struct hashrate_table {
	struct table_entry *buckets[TABLE_BUCKETS];
	size_t size;
};

/* FNV-1a. */
static size_t bucket_of(const char *name)
{
	uint64_t hash = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		hash ^= *p;
		hash *= 1099511628211ULL;
	}
	return (size_t)(hash % TABLE_BUCKETS);
}

struct hashrate_table *hashrate_table_new(void)
{
	return calloc(1, sizeof(struct hashrate_table));
}

void hashrate_table_free(struct hashrate_table *t)
{
	if (!t)
		return;
	for (size_t b = 0; b < TABLE_BUCKETS; b++) {
		struct table_entry *e = t->buckets[b], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t);
}

static struct table_entry *find_entry(const struct hashrate_table *t, const char *name)
{
	for (struct table_entry *e = t->buckets[bucket_of(name)]; e; e = e->next)
		if (!strcmp(e->name, name))
			return e;
	return NULL;
}

void hashrate_table_add_share(struct hashrate_table *t, const char *worker, double diff,
			      double now)
{
	struct table_entry *e = find_entry(t, worker);

	if (!e) {
		size_t len = strlen(worker) + 1;
		size_t b = bucket_of(worker);

		e = alloc_or_abort(sizeof(*e) + len);
		memcpy(e->name, worker, len);
		hashrate_init(&e->h, now);
		e->next = t->buckets[b];
		t->buckets[b] = e;
		t->size++;
	}
	hashrate_add_share(&e->h, diff, now);
}

const struct hashrate *hashrate_table_find(const struct hashrate_table *t, const char *worker)
{
	struct table_entry *e = find_entry(t, worker);

	return e ? &e->h : NULL;
}

void hashrate_table_each(const struct hashrate_table *t,
			 void (*fn)(const char *worker, const struct hashrate *h, void *ctx),
			 void *ctx)
{
	for (size_t b = 0; b < TABLE_BUCKETS; b++)
		for (struct table_entry *e = t->buckets[b]; e; e = e->next)
			fn(e->name, &e->h, ctx);
}

static bool is_idle(const struct hashrate *h, double now, double idle_s)
{
	double last = h->last_share < 0 ? h->started : h->last_share;

	return now - last >= idle_s;
}

size_t hashrate_table_prune(struct hashrate_table *t, double now, double idle_s)
{
	size_t pruned = 0;

	for (size_t b = 0; b < TABLE_BUCKETS; b++) {
		struct table_entry **link = &t->buckets[b];

		while (*link) {
			struct table_entry *e = *link;

			if (!is_idle(&e->h, now, idle_s)) {
				link = &e->next;
				continue;
			}
			*link = e->next;
			free(e);
			pruned++;
		}
	}
	t->size -= pruned;
	return pruned;
}

size_t hashrate_table_size(const struct hashrate_table *t)
{
	return t->size;
}

/* ---- the engine's worker tracker ---- */

#define TRACKER_IDLE_S 86400.0

static pthread_mutex_t tracker_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashrate_table *tracker;

void hashrate_tracker_record(const char *username, double diff, double now)
{
	pthread_mutex_lock(&tracker_lock);
	if (!tracker)
		tracker = hashrate_table_new();
	if (tracker)
		hashrate_table_add_share(tracker, username, diff, now);
	pthread_mutex_unlock(&tracker_lock);
}

static void emit_worker(const char *username, const struct hashrate *h, void *ctx)
{
	const char *dot = strchr(username, '.');
	size_t alen = dot ? (size_t)(dot - username) : strlen(username);
	char address[128];

	if (alen >= sizeof(address))
		return;
	memcpy(address, username, alen);
	address[alen] = '\0';
	events_emit("hashrate_update",
		    hashrate_event_data(address, dot ? dot + 1 : "", h, *(const double *)ctx));
}

void hashrate_tracker_report(double now)
{
	pthread_mutex_lock(&tracker_lock);
	if (tracker) {
		hashrate_table_prune(tracker, now, TRACKER_IDLE_S);
		if (events_wanted("hashrate_update"))
			hashrate_table_each(tracker, emit_worker, &now);
	}
	pthread_mutex_unlock(&tracker_lock);
}

void hashrate_tracker_clear(void)
{
	pthread_mutex_lock(&tracker_lock);
	hashrate_table_free(tracker);
	tracker = NULL;
	pthread_mutex_unlock(&tracker_lock);
}
