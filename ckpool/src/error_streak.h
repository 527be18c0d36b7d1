/*
 * error_streak.h - one log line per distinct error, not one per retry.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * A loop that retries a failing call (the generator asking a node for
 * templates every second) sees the same error again and again. A streak is
 * the run of one error message: error_streak_fail() says whether this
 * failure starts a streak, changes it (a different message) or merely
 * repeats it; error_streak_clear() says whether a success ended one. The
 * caller logs on STREAK_STARTED / STREAK_CHANGED / STREAK_ENDED only, with
 * the finished streak's count of repeats. No locking (one owner thread;
 * copy it out under the owner's lock to share it).
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 *
 *   struct error_streak s = ERROR_STREAK_INIT, ended;
 *   switch (error_streak_fail(&s, err, &ended)) {
 *   case STREAK_STARTED: log "err"; break;
 *   case STREAK_CHANGED: log "err (previous error seen ended.count times)"; break;
 *   default: break;   (a repeat: counted, not logged)
 *   }
 */
#ifndef CKPOOL_ERROR_STREAK_H
#define CKPOOL_ERROR_STREAK_H

#include <stdbool.h>
#include <stdint.h>

#define ERROR_STREAK_MESSAGE_MAX 256

struct error_streak {
	bool active;                           /* the last attempt failed */
	char message[ERROR_STREAK_MESSAGE_MAX]; /* its error (cut to fit), "" when not active */
	uint64_t count;                        /* failures with this message in a row, >= 1 */
	uint64_t failures_total;               /* every failure ever recorded */
};

#define ERROR_STREAK_INIT { false, "", 0, 0 }

enum streak_change {
	STREAK_REPEATED,   /* same message as the active streak: count + 1 */
	STREAK_STARTED,    /* a failure after success (or the first ever) */
	STREAK_CHANGED,    /* a failure with another message: *ended is the old streak */
	STREAK_ENDED,      /* a success after failures: *ended is the finished streak */
	STREAK_NONE,       /* a success after success */
};

/* Records one failure with `message` (NULL counts as ""). `ended` (may be
 * NULL) receives a copy of the replaced streak on STREAK_CHANGED. */
enum streak_change error_streak_fail(struct error_streak *s, const char *message,
				     struct error_streak *ended);
/* Records one success. `ended` (may be NULL) receives the finished streak on
 * STREAK_ENDED. */
enum streak_change error_streak_clear(struct error_streak *s, struct error_streak *ended);

#endif
