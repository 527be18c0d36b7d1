/*
 * vardiff.c - retarget arithmetic for per-connection difficulty.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "vardiff.h"

#include <math.h>

/* Elapsed times shorter than this are treated as this (no divide by 0). */
#define MIN_ELAPSED 0.001

void vardiff_policy_default(struct vardiff_policy *p)
{
	p->mindiff = 1;
	p->maxdiff = 0;
	p->target_time = 10;
	p->retarget_time = 60;
	p->retarget_shares = 30;
	p->hysteresis = 1.5;
	p->suggestion_is_floor = true;
}

double vardiff_clamp(const struct vardiff *v, const struct vardiff_policy *p, double d)
{
	double floor_diff = p->mindiff > 0 ? p->mindiff : VARDIFF_ABSOLUTE_MIN;

	if (p->suggestion_is_floor && v && v->suggested > floor_diff)
		floor_diff = v->suggested;
	/* A miner's suggestion raises the floor but never above the pool's ceiling. */
	if (p->maxdiff > 0 && floor_diff > p->maxdiff)
		floor_diff = p->maxdiff;
	if (p->maxdiff > 0 && d > p->maxdiff)
		d = p->maxdiff;
	if (!(d >= floor_diff))         /* also catches NaN */
		d = floor_diff;
	return d;
}

static void open_window(struct vardiff *v, double now)
{
	v->window_start = now;
	v->shares = 0;
}

void vardiff_init(struct vardiff *v, const struct vardiff_policy *p, double start_diff,
		  double now)
{
	v->suggested = 0;
	v->diff = vardiff_clamp(v, p, start_diff);
	v->old_diff = v->diff;
	v->last_retarget = now;
	open_window(v, now);
}

static bool change_diff(struct vardiff *v, double d, double now, double *new_diff)
{
	if (d == v->diff)
		return false;
	v->old_diff = v->diff;
	v->diff = d;
	v->last_retarget = now;
	if (new_diff)
		*new_diff = d;
	return true;
}

/* Closes the window with `shares` shares seen over its elapsed time. */
static bool retarget(struct vardiff *v, const struct vardiff_policy *p, double shares,
		     double now, double *new_diff)
{
	double elapsed = fmax(now - v->window_start, MIN_ELAPSED);
	double ideal = v->diff * shares * p->target_time / elapsed;
	double hysteresis = p->hysteresis >= 1 ? p->hysteresis : 1;

	open_window(v, now);
	if (ideal >= v->diff / hysteresis && ideal <= v->diff * hysteresis)
		return false;
	if (ideal >= 1)
		ideal = floor(ideal);
	return change_diff(v, vardiff_clamp(v, p, ideal), now, new_diff);
}

bool vardiff_on_share(struct vardiff *v, const struct vardiff_policy *p, double now,
		      double *new_diff)
{
	v->shares++;
	if (v->shares < p->retarget_shares && now - v->window_start < p->retarget_time)
		return false;
	return retarget(v, p, v->shares, now, new_diff);
}

bool vardiff_on_tick(struct vardiff *v, const struct vardiff_policy *p, double now,
		     double *new_diff)
{
	if (now - v->window_start < 2 * p->retarget_time)
		return false;
	return retarget(v, p, v->shares ? v->shares : 1, now, new_diff);
}

bool vardiff_suggest(struct vardiff *v, const struct vardiff_policy *p, double suggested,
		     double now, double *new_diff)
{
	if (!(suggested > 0))
		return false;
	v->suggested = suggested;
	open_window(v, now);
	return change_diff(v, vardiff_clamp(v, p, suggested), now, new_diff);
}
