/*
 * jobs.c - owns the ring of recently published workbases, the current
 * block sequence and the publish counter; a mutex guards the ring, the
 * counters are atomics so the share path reads them without locking.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "jobs.h"
#include "hex.h"
#include "workbase.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* Ids of jobs seen long ago, to tell "stale" from "never existed". */
#define JOBS_REMEMBERED 256

struct kept_job {
	struct workbase *wb;
	uint64_t block_seq;
};

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kept_job kept[JOBS_KEPT];   /* kept[0] is the current job */
static uint64_t remembered_ids[JOBS_REMEMBERED];
static size_t remembered_next;
static atomic_uint_fast64_t current_block_seq;
static atomic_uint_fast64_t generation;
/* The listener is called and replaced under its own lock (not jobs_lock,
 * which share lookups take), so jobs_set_listener(NULL) returning means no
 * call is running and none will start. */
static pthread_mutex_t listener_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*listener)(void);
static uint8_t tip_parent[32];             /* internal order */
static bool tip_parent_known;

static void remember_id(uint64_t id)
{
	remembered_ids[remembered_next] = id;
	remembered_next = (remembered_next + 1) % JOBS_REMEMBERED;
}

bool jobs_publish(struct workbase *wb)
{
	bool new_block;
	uint64_t seq;

	pthread_mutex_lock(&jobs_lock);
	new_block = !kept[0].wb || memcmp(kept[0].wb->prevhash, wb->prevhash, 32) != 0;
	seq = atomic_load(&current_block_seq) + (new_block ? 1 : 0);
	if (new_block) {
		/* The old template built on the new tip's parent when the new tip
		 * is exactly one block higher. */
		tip_parent_known = kept[0].wb && kept[0].wb->height + 1 == wb->height;
		if (tip_parent_known)
			memcpy(tip_parent, kept[0].wb->prevhash, 32);
	}
	if (kept[JOBS_KEPT - 1].wb)
		workbase_unref(kept[JOBS_KEPT - 1].wb);
	memmove(&kept[1], &kept[0], sizeof(kept[0]) * (JOBS_KEPT - 1));
	kept[0].wb = wb;
	kept[0].block_seq = seq;
	remember_id(wb->id);
	atomic_store(&current_block_seq, seq);
	atomic_fetch_add(&generation, 1);
	pthread_mutex_unlock(&jobs_lock);
	pthread_mutex_lock(&listener_lock);
	if (listener)
		listener();
	pthread_mutex_unlock(&listener_lock);
	return new_block;
}

struct workbase *jobs_current(uint64_t *block_seq, uint64_t *gen)
{
	struct workbase *wb = NULL;

	pthread_mutex_lock(&jobs_lock);
	if (kept[0].wb)
		wb = workbase_ref(kept[0].wb);
	if (block_seq)
		*block_seq = kept[0].block_seq;
	if (gen)
		*gen = atomic_load(&generation);
	pthread_mutex_unlock(&jobs_lock);
	return wb;
}

uint64_t jobs_block_seq(void)
{
	return atomic_load(&current_block_seq);
}

uint64_t jobs_generation(void)
{
	return atomic_load(&generation);
}

enum job_state jobs_state_of(uint64_t id)
{
	enum job_state state = JOB_UNKNOWN;

	pthread_mutex_lock(&jobs_lock);
	for (size_t i = 0; i < JOBS_KEPT && kept[i].wb; i++) {
		if (kept[i].wb->id == id) {
			state = kept[i].block_seq == kept[0].block_seq ? JOB_LIVE : JOB_STALE;
			goto out;
		}
	}
	for (size_t i = 0; i < JOBS_REMEMBERED; i++) {
		if (remembered_ids[i] == id && id) {
			state = JOB_STALE;
			break;
		}
	}
out:
	pthread_mutex_unlock(&jobs_lock);
	return state;
}

bool jobs_tip_parent(char out[65])
{
	bool known;

	pthread_mutex_lock(&jobs_lock);
	known = tip_parent_known;
	if (known)
		hex_encode_reversed(tip_parent, 32, out);
	pthread_mutex_unlock(&jobs_lock);
	return known;
}

void jobs_set_listener(void (*on_publish)(void))
{
	pthread_mutex_lock(&listener_lock);
	listener = on_publish;
	pthread_mutex_unlock(&listener_lock);
}

void jobs_clear(void)
{
	pthread_mutex_lock(&jobs_lock);
	for (size_t i = 0; i < JOBS_KEPT; i++) {
		if (kept[i].wb)
			workbase_unref(kept[i].wb);
		kept[i].wb = NULL;
	}
	pthread_mutex_unlock(&jobs_lock);
}
