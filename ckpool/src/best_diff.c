/*
 * best_diff.c - owns the per-address best-difficulty records: the in-memory
 * table, week rollover, and loading/saving the state file atomically.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "best_diff.h"
#include "bytes.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_FILE "best_diff.json"
#define STATE_VERSION 1
#define BUCKETS 16384
/* Entries looked at per eviction attempt when the table is full (a full
 * table has ~16 per bucket, so a handful of buckets). */
#define EVICT_SAMPLE 64

struct best_mark {
	double diff;
	char hash[BEST_HASH_LEN];
	int64_t ts;
};

struct address_bests {
	struct address_bests *next;
	struct best_mark session, weekly, alltime;
	char week[BEST_WEEK_KEY_LEN];
	unsigned connections;      /* live connections; not saved */
	char address[];
};

struct best_diff_store {
	pthread_mutex_t lock;
	struct address_bests *buckets[BUCKETS];
	size_t count, max_entries;
	size_t evict_cursor;
	char path[4096];           /* "" = memory only */
	bool dirty;
	struct log_limit full_log;
};

const char *best_scope_name(enum best_scope scope)
{
	static const char *const names[BEST_SCOPES] = { "session", "weekly", "alltime" };

	return scope < BEST_SCOPES ? names[scope] : "unknown";
}

void best_week_key(time_t t, char out[BEST_WEEK_KEY_LEN])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, BEST_WEEK_KEY_LEN, "%G-W%V", &tm);
}

/* ---- table ---- */

static size_t bucket_of(const char *address)
{
	uint64_t h = 1469598103934665603ULL;

	for (const unsigned char *p = (const unsigned char *)address; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (size_t)(h % BUCKETS);
}

static struct address_bests *find(struct best_diff_store *s, const char *address)
{
	for (struct address_bests *a = s->buckets[bucket_of(address)]; a; a = a->next)
		if (!strcmp(a->address, address))
			return a;
	return NULL;
}

static void unlink_entry(struct best_diff_store *s, struct address_bests *gone)
{
	struct address_bests **p = &s->buckets[bucket_of(gone->address)];

	while (*p && *p != gone)
		p = &(*p)->next;
	if (*p)
		*p = gone->next;
	s->count--;
	free(gone);
}

/* Makes room for an address whose best is `diff`: among EVICT_SAMPLE
 * entries (a rotating sample, so the cost stays bounded) drops the one
 * without live connections and with the lowest all-time best, when that
 * best is below diff. False when nothing could go. */
static bool evict_one(struct best_diff_store *s, double diff)
{
	struct address_bests *victim = NULL;
	size_t seen = 0;

	for (size_t i = 0; i < BUCKETS && seen < EVICT_SAMPLE; i++) {
		size_t b = s->evict_cursor++ % BUCKETS;

		for (struct address_bests *a = s->buckets[b]; a; a = a->next, seen++)
			if (!a->connections && (!victim || a->alltime.diff < victim->alltime.diff))
				victim = a;
	}
	if (!victim || !(victim->alltime.diff < diff))
		return false;
	if (victim->alltime.diff > 0)
		s->dirty = true;   /* the file forgets it too */
	unlink_entry(s, victim);
	return true;
}

/* The address's entry, created when missing: NULL when the table is full
 * and nothing worse than `diff` (0 = anything) could be evicted. */
static struct address_bests *find_or_add(struct best_diff_store *s, const char *address,
					 double diff)
{
	struct address_bests *a = find(s, address);
	unsigned long suppressed;
	size_t len, b;

	if (a)
		return a;
	if (s->max_entries && s->count >= s->max_entries && !evict_one(s, diff)) {
		if (log_limit_allow(&s->full_log, 1, 60.0, &suppressed))
			log_warn("best_diff", "address table full (%zu entries): best difficulty "
				 "of new addresses not tracked (%lu more not logged)",
				 s->count, suppressed);
		return NULL;
	}
	len = strlen(address) + 1;
	b = bucket_of(address);
	a = alloc_or_abort(sizeof(*a) + len);
	memset(a, 0, sizeof(*a));
	memcpy(a->address, address, len);
	a->next = s->buckets[b];
	s->buckets[b] = a;
	s->count++;
	return a;
}

static void free_table(struct best_diff_store *s)
{
	for (size_t b = 0; b < BUCKETS; b++) {
		struct address_bests *a = s->buckets[b], *next;

		for (; a; a = next) {
			next = a->next;
			free(a);
		}
		s->buckets[b] = NULL;
	}
	s->count = 0;
}

/* ---- recording ---- */

static bool improve(struct best_mark *m, double diff, const char *hash, time_t now,
		    double *prev)
{
	*prev = m->diff;
	if (!(diff > m->diff))
		return false;
	m->diff = diff;
	copy_string(m->hash, hash ? hash : "", sizeof(m->hash));
	m->ts = (int64_t)now;
	return true;
}

static void roll_week(struct address_bests *a, const char *week)
{
	if (!strcmp(a->week, week))
		return;
	copy_string(a->week, week, sizeof(a->week));
	memset(&a->weekly, 0, sizeof(a->weekly));
}

bool best_diff_record(struct best_diff_store *s, const char *address, double diff,
		      const char *hash, time_t now, struct best_diff_result *out)
{
	struct best_diff_result r;
	struct address_bests *a;

	memset(&r, 0, sizeof(r));
	best_week_key(now, r.week);
	pthread_mutex_lock(&s->lock);
	a = find_or_add(s, address, diff);
	if (!a) {
		pthread_mutex_unlock(&s->lock);
		if (out)
			*out = r;
		return false;
	}
	roll_week(a, r.week);
	r.new_best[BEST_SESSION] = improve(&a->session, diff, hash, now, &r.prev_best[BEST_SESSION]);
	r.new_best[BEST_WEEKLY] = improve(&a->weekly, diff, hash, now, &r.prev_best[BEST_WEEKLY]);
	r.new_best[BEST_ALLTIME] = improve(&a->alltime, diff, hash, now, &r.prev_best[BEST_ALLTIME]);
	r.best[BEST_SESSION] = a->session.diff;
	r.best[BEST_WEEKLY] = a->weekly.diff;
	r.best[BEST_ALLTIME] = a->alltime.diff;
	if (r.new_best[BEST_WEEKLY] || r.new_best[BEST_ALLTIME])
		s->dirty = true;
	pthread_mutex_unlock(&s->lock);
	if (out)
		*out = r;
	return r.new_best[BEST_SESSION] || r.new_best[BEST_WEEKLY] || r.new_best[BEST_ALLTIME];
}

json_t *best_diff_event_data(const char *address, const char *worker, enum best_scope scope,
			     const struct best_diff_result *r, const char *hash)
{
	json_t *data = json_pack("{s:s, s:s, s:s, s:f, s:f, s:s}", "address", address,
				 "worker", worker ? worker : "", "scope", best_scope_name(scope),
				 "new_best", r->best[scope], "prev_best", r->prev_best[scope],
				 "hash", hash ? hash : "");

	if (scope == BEST_WEEKLY)
		json_object_set_new(data, "week", json_string(r->week));
	return data;
}

double best_diff_get(struct best_diff_store *s, const char *address, enum best_scope scope,
		     time_t now)
{
	char week[BEST_WEEK_KEY_LEN];
	struct address_bests *a;
	double v = 0;

	best_week_key(now, week);
	pthread_mutex_lock(&s->lock);
	a = find(s, address);
	if (a && scope == BEST_SESSION)
		v = a->session.diff;
	else if (a && scope == BEST_WEEKLY && !strcmp(a->week, week))
		v = a->weekly.diff;
	else if (a && scope == BEST_ALLTIME)
		v = a->alltime.diff;
	pthread_mutex_unlock(&s->lock);
	return v;
}

void best_diff_end_session(struct best_diff_store *s, const char *address)
{
	struct address_bests *a;

	pthread_mutex_lock(&s->lock);
	a = find(s, address);
	if (a)
		memset(&a->session, 0, sizeof(a->session));
	pthread_mutex_unlock(&s->lock);
}

bool best_diff_session_join(struct best_diff_store *s, const char *address)
{
	struct address_bests *a;

	pthread_mutex_lock(&s->lock);
	a = find_or_add(s, address, 0);
	if (a)
		a->connections++;
	pthread_mutex_unlock(&s->lock);
	return a != NULL;
}

void best_diff_session_leave(struct best_diff_store *s, const char *address)
{
	struct address_bests *a;

	pthread_mutex_lock(&s->lock);
	a = find(s, address);
	if (a && a->connections > 0 && --a->connections == 0) {
		memset(&a->session, 0, sizeof(a->session));
		/* Nothing worth keeping: no weekly or all-time best. */
		if (!(a->alltime.diff > 0) && !(a->weekly.diff > 0))
			unlink_entry(s, a);
	}
	pthread_mutex_unlock(&s->lock);
}

size_t best_diff_count(struct best_diff_store *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->count;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void best_diff_set_max_entries(struct best_diff_store *s, size_t max)
{
	pthread_mutex_lock(&s->lock);
	s->max_entries = max;
	pthread_mutex_unlock(&s->lock);
}

bool best_diff_dirty(struct best_diff_store *s)
{
	bool dirty;

	pthread_mutex_lock(&s->lock);
	dirty = s->dirty;
	pthread_mutex_unlock(&s->lock);
	return dirty;
}

/* ---- the state file ---- */

static json_t *mark_json(const struct best_mark *m)
{
	return json_pack("{s:f, s:s, s:I}", "diff", m->diff, "hash", m->hash,
			 "ts", (json_int_t)m->ts);
}

static json_t *address_json(const struct address_bests *a)
{
	json_t *entry = json_object();

	json_object_set_new(entry, "alltime", mark_json(&a->alltime));
	if (a->weekly.diff > 0) {
		json_t *w = mark_json(&a->weekly);

		json_object_set_new(w, "week", json_string(a->week));
		json_object_set_new(entry, "weekly", w);
	}
	return entry;
}

/* Only addresses with a persistent best; session-only ones stay in memory. */
static json_t *store_json(struct best_diff_store *s)
{
	json_t *addresses = json_object();

	for (size_t b = 0; b < BUCKETS; b++)
		for (struct address_bests *a = s->buckets[b]; a; a = a->next)
			if (a->alltime.diff > 0)
				json_object_set_new(addresses, a->address, address_json(a));
	return json_pack("{s:i, s:o}", "version", STATE_VERSION, "addresses", addresses);
}

static int write_all(int fd, const char *text, size_t len)
{
	while (len) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes text to path via path.tmp, fsync and rename. */
static int replace_file(const char *path, const char *text, char *err, size_t errlen)
{
	char tmp[4096 + 8];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "best_diff: cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, text, strlen(text)) || fsync(fd)) {
		snprintf(err, errlen, "best_diff: cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path)) {
		snprintf(err, errlen, "best_diff: cannot rename %s to %s: %s", tmp, path,
			 strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int best_diff_save(struct best_diff_store *s, char *err, size_t errlen)
{
	json_t *doc;
	char *text;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (!s->dirty || !s->path[0]) {
		s->dirty = false;
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	doc = store_json(s);
	s->dirty = false;
	pthread_mutex_unlock(&s->lock);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!text) {
		snprintf(err, errlen, "best_diff: cannot serialise the state");
		rc = -1;
	} else {
		rc = replace_file(s->path, text, err, errlen);
	}
	free(text);
	if (rc) {
		pthread_mutex_lock(&s->lock);
		s->dirty = true;   /* try again next time */
		pthread_mutex_unlock(&s->lock);
	}
	return rc;
}

static void load_mark(const json_t *j, struct best_mark *m)
{
	const char *hash = json_string_value(json_object_get(j, "hash"));

	m->diff = json_number_value(json_object_get(j, "diff"));
	if (!(m->diff > 0))
		m->diff = 0;
	copy_string(m->hash, hash ? hash : "", sizeof(m->hash));
	m->ts = json_integer_value(json_object_get(j, "ts"));
}

static void load_address(struct best_diff_store *s, const char *address, const json_t *entry)
{
	struct address_bests *a;
	const json_t *weekly = json_object_get(entry, "weekly");
	const char *week = json_string_value(json_object_get(weekly, "week"));
	size_t max = s->max_entries;

	s->max_entries = 0;        /* saved records are all loaded */
	a = find_or_add(s, address, 0);
	s->max_entries = max;
	load_mark(json_object_get(entry, "alltime"), &a->alltime);
	if (weekly && week) {
		load_mark(weekly, &a->weekly);
		copy_string(a->week, week, sizeof(a->week));
	}
}

static int load_file(struct best_diff_store *s, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc, *addresses, *entry;
	const char *address;

	if (access(s->path, F_OK) && errno == ENOENT)
		return 0;
	doc = json_load_file(s->path, 0, &jerr);
	if (!doc) {
		snprintf(err, errlen, "best_diff: %s: %s (line %d)", s->path, jerr.text, jerr.line);
		return -1;
	}
	addresses = json_object_get(doc, "addresses");
	if (json_integer_value(json_object_get(doc, "version")) != STATE_VERSION
	    || !json_is_object(addresses)) {
		snprintf(err, errlen, "best_diff: %s: not a version %d state file", s->path,
			 STATE_VERSION);
		json_decref(doc);
		return -1;
	}
	json_object_foreach(addresses, address, entry)
		if (json_is_object(entry))
			load_address(s, address, entry);
	json_decref(doc);
	return 0;
}

struct best_diff_store *best_diff_open(const char *state_dir, char *err, size_t errlen)
{
	struct best_diff_store *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "best_diff: out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->max_entries = BEST_DIFF_MAX_ADDRESSES;
	if (state_dir && *state_dir) {
		if (strlen(state_dir) + sizeof(STATE_FILE) + 1 > sizeof(s->path)) {
			snprintf(err, errlen, "best_diff: state dir path too long");
			best_diff_close(s);
			return NULL;
		}
		snprintf(s->path, sizeof(s->path), "%s/%s", state_dir, STATE_FILE);
	}
	if (s->path[0] && load_file(s, err, errlen)) {
		best_diff_close(s);
		return NULL;
	}
	return s;
}

void best_diff_close(struct best_diff_store *s)
{
	if (!s)
		return;
	free_table(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- the engine's store ---- */

static struct best_diff_store *global_store;

int best_diff_global_open(const char *state_dir, char *err, size_t errlen)
{
	global_store = best_diff_open(state_dir, err, errlen);
	return global_store ? 0 : -1;
}

struct best_diff_store *best_diff_global(void)
{
	return global_store;
}

void best_diff_global_save(void)
{
	char err[512];

	if (global_store && best_diff_save(global_store, err, sizeof(err)))
		log_error("best_diff", "%s", err);
}

void best_diff_global_close(void)
{
	best_diff_global_save();
	best_diff_close(global_store);
	global_store = NULL;
}
