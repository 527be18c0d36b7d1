/*
 * jobs.h - the live workbases: the current one and the few before it.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * The generator publishes workbases here; Stratum threads read the current
 * one to send mining.notify and look up older ones to judge a share's job
 * (still valid, stale because the chain moved on, or unknown). Each
 * workbase carries a block sequence number that rises whenever the previous
 * block hash changes, so "stale" is one integer comparison.
 */
#ifndef CKPOOL_JOBS_H
#define CKPOOL_JOBS_H

#include <stdbool.h>
#include <stdint.h>

struct workbase;

/* How many recent workbases are remembered for share lookups. */
#define JOBS_KEPT 8

enum job_state { JOB_LIVE, JOB_STALE, JOB_UNKNOWN };

/* Makes wb (whose reference is taken over, id already assigned) the current
 * job. Returns true when its previous block hash differs from the last
 * job's: a new block, so miners must drop their work (clean_jobs). */
bool jobs_publish(struct workbase *wb);

/* The current workbase with a new reference (NULL before the first), its
 * block sequence and the publish counter (rises with every publish). */
struct workbase *jobs_current(uint64_t *block_seq, uint64_t *generation);

/* The block sequence of the current workbase (0 before the first). */
uint64_t jobs_block_seq(void);

/* Publish counter; threads compare it to what they last sent. */
uint64_t jobs_generation(void);

/* Judges a job id: JOB_LIVE (on the current block), JOB_STALE (a known job
 * of an older block, or one aged out of the kept set), JOB_UNKNOWN. */
enum job_state jobs_state_of(uint64_t id);

/* Called (from the publishing thread) after every publish. */
/* The hash (display hex) of the block before the current tip, when the
 * engine saw it: the previous template built on it and the tip is one block
 * higher. false after a reorg, skipped blocks, or before a second block. */
bool jobs_tip_parent(char out[65]);

/* Sets the function called (from the publishing thread) after every
 * publish; NULL for none. Returns only when no call of the previous
 * listener is running, so its owner may then tear down what it uses. The
 * listener must not call jobs_set_listener() or jobs_publish(). */
void jobs_set_listener(void (*on_publish)(void));

/* Releases every kept workbase. */
void jobs_clear(void);

#endif
