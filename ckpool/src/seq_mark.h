/*
 * seq_mark.h - how far one boot's event seq got, kept where a SIGKILL
 * cannot take it: a small file mapped MAP_SHARED in state_dir.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Every event that passes the event_types filter uses up one seq, whether
 * it is delivered or dropped, but the emitter gives the seq only when it
 * sends. Events still in the queue when the process is killed therefore
 * never get a seq, and a consumer sees no gap: the loss would be silent.
 * events.c counts each such event here at emission instead; the count
 * lives in a page of the kernel's page cache, which outlives the process
 * (not a power cut: it is not fsynced on every event). The next start reads
 * the previous boot's id and count, which is the last seq that boot would
 * have reached had everything been delivered, and announces them in its
 * engine_started event, so consumers can count that boot's loss as a gap.
 *
 * File layout (64 bytes, host byte order): magic "TBGSEQ1\0", the boot id
 * as 36 characters plus NUL, 3 bytes of padding, then the count as a
 * 64-bit unsigned integer at offset 48, then padding.
 */
#ifndef CKPOOL_SEQ_MARK_H
#define CKPOOL_SEQ_MARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uuid.h"

#define SEQ_MARK_FILE "events.seq"

struct seq_mark_previous {
	bool known;                    /* false: no file, or not a valid mark */
	char boot_id[UUID_STR_LEN];
	uint64_t last_seq;
};

/* Opens (creating it) `dir`/events.seq, reads the previous boot's mark into
 * prev, then marks `boot_id` with count 0. 0, or -1 with err naming the
 * file. An unreadable or foreign file is not an error: prev->known false,
 * and it is overwritten. */
int seq_mark_open(const char *dir, const char *boot_id, struct seq_mark_previous *prev,
		  char *err, size_t errlen);
/* One more seq used up. Any thread; a no-op while no mark is open. */
void seq_mark_count(void);
/* The count so far (0 while no mark is open). */
uint64_t seq_mark_value(void);
/* Unmaps and closes; the file keeps its last count. */
void seq_mark_close(void);

#endif
