/*
 * reject_reason.h - why a share was refused, as a counter index.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * A leaf of names only, so share.h can map its results to the counters in
 * stats.h without pulling in the process-wide stats. Keep in sync with
 * share_result_reason() in share.c.
 *
 * Pure layer: no I/O, no globals, no threads; includes only pure headers
 * (`make -C ckpool check-layers` enforces it).
 */
#ifndef CKPOOL_REJECT_REASON_H
#define CKPOOL_REJECT_REASON_H

/* Index into stats.shares_rejected. */
enum reject_reason {
	REJECT_JOB_NOT_FOUND,
	REJECT_STALE,
	REJECT_DUPLICATE,
	REJECT_LOW_DIFF,
	REJECT_BAD_NTIME,
	REJECT_BAD_VERSION,
	REJECT_BAD_EXTRANONCE2,
	REJECT_UNAUTHORIZED,
	REJECT_NOT_SUBSCRIBED,
	REJECT_INVALID,
	REJECT_REASON_COUNT
};

#endif
