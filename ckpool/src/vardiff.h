/*
 * vardiff.h - per-connection difficulty retargeting toward a share rate.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Pure arithmetic: the runtime feeds accepted shares (and periodic ticks for
 * silent miners) with a timestamp in seconds and sends mining.set_difficulty
 * when a call returns true.
 *
 * A window opens at the last retarget. When it holds policy.retarget_shares
 * shares, or policy.retarget_time seconds passed with at least one share,
 * the observed rate gives the ideal difficulty
 *     ideal = diff * shares * target_time / elapsed
 * and when ideal is outside [diff / hysteresis, diff * hysteresis] the
 * difficulty moves to ideal (rounded down to an integer when >= 1), clamped
 * to [floor, maxdiff]; floor is mindiff, raised to the miner's
 * suggest_difficulty when the policy honours suggestions as a floor.
 * A tick finding a window open for 2 * retarget_time (the miner went quiet)
 * retargets with the shares seen, counting none as one. Difficulties below 1 (down to 1e-9 and beyond,
 * e.g. regtest) work; there is no integer rounding below 1.
 *
 * old_diff keeps the difficulty before the last change so the runtime can
 * accept shares for jobs sent before it (compare with the lower of the two
 * for a short grace period).
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_VARDIFF_H
#define CKPOOL_VARDIFF_H

#include <stdbool.h>

/* Smallest difficulty used when the policy's mindiff is 0 or less. */
#define VARDIFF_ABSOLUTE_MIN 1e-12

struct vardiff_policy {
	double mindiff;          /* floor; <= 0 means VARDIFF_ABSOLUTE_MIN */
	double maxdiff;          /* ceiling; <= 0 means none */
	double target_time;      /* seconds per share wanted, e.g. 10 */
	double retarget_time;    /* seconds a window lasts before a retarget, e.g. 60 */
	unsigned retarget_shares;/* shares that close a window early, e.g. 30 */
	double hysteresis;       /* no change while within this factor, e.g. 1.5 (>= 1) */
	bool suggestion_is_floor;/* miner's suggest_difficulty also bounds vardiff below */
};

/* Fills in sensible defaults: mindiff 1, maxdiff 0 (none), target_time 10,
 * retarget_time 60, retarget_shares 30, hysteresis 1.5, suggestion floor on. */
void vardiff_policy_default(struct vardiff_policy *p);

struct vardiff {
	double diff;             /* current difficulty */
	double old_diff;         /* difficulty before the last change */
	double window_start;     /* when the current window opened */
	unsigned shares;         /* shares in the current window */
	double last_retarget;    /* when diff last changed (or the state was set up) */
	double suggested;        /* miner's suggest_difficulty, 0 when none */
};

/* Starts a connection at start_diff (clamped) at time now. */
void vardiff_init(struct vardiff *v, const struct vardiff_policy *p, double start_diff,
		  double now);

/* Accounts one accepted share. True and *new_diff (== v->diff) when the
 * difficulty changed. */
bool vardiff_on_share(struct vardiff *v, const struct vardiff_policy *p, double now,
		      double *new_diff);

/* Periodic check for miners that went quiet. Same return as
 * vardiff_on_share. */
bool vardiff_on_tick(struct vardiff *v, const struct vardiff_policy *p, double now,
		     double *new_diff);

/* mining.suggest_difficulty: records the suggestion and moves straight to
 * it (clamped). True and *new_diff when the difficulty changed. */
bool vardiff_suggest(struct vardiff *v, const struct vardiff_policy *p, double suggested,
		     double now, double *new_diff);

/* d clamped to the policy and v's suggestion. */
double vardiff_clamp(const struct vardiff *v, const struct vardiff_policy *p, double d);

#endif
