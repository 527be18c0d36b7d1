/*
 * share.h - share validation: header reconstruction, hashing, difficulty,
 * reject reasons, duplicate detection.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * share_compute() rebuilds the 80-byte header a miner hashed from the job
 * (workbase + the connection's coinbase halves) and the submit's fields,
 * hashes it and classifies the result. It decides everything that the
 * submission alone determines (extranonce2 size, version bits, ntime window,
 * difficulty). Stale and job-not-found are for the runtime, which knows the
 * live workbases; duplicates are found with struct dup_filter. Difficulty
 * and targets are difficulty.h's.
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_SHARE_H
#define CKPOOL_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "difficulty.h"     /* diff_from_hash, hash_meets_target, ... */
#include "reject_reason.h"
#include "workbase.h"

/* How far past the template's curtime a share's ntime may go (seconds);
 * the consensus limit for block timestamps is two hours. */
#define SHARE_NTIME_FUTURE_MAX 7200

enum share_result {
	SHARE_OK,
	SHARE_STALE,
	SHARE_DUPLICATE,
	SHARE_LOW_DIFF,
	SHARE_BAD_NTIME,
	SHARE_BAD_VERSION,
	SHARE_BAD_EXTRANONCE2,
	SHARE_JOB_NOT_FOUND,
	SHARE_INVALID
};

struct share_input {
	const struct workbase *wb;
	const uint8_t *coinb1; size_t coinb1_len;
	const uint8_t *coinb2; size_t coinb2_len;
	const uint8_t *nonce1; size_t nonce1_len;
	const uint8_t *nonce2; size_t nonce2_len;
	size_t nonce2_expected_len;  /* extranonce2_size told to the miner */
	uint32_t ntime, nonce;       /* as numbers (the submit's hex is big-endian) */
	uint32_t version_bits;       /* BIP310 rolled bits, 0 when the submit had none */
	uint32_t version_mask;       /* negotiated mask, 0 if none */
	double share_diff;           /* difficulty the share must meet; <= 0 skips the check */
};

struct share_output {
	uint8_t hash[32];            /* internal order */
	uint8_t header[80];
	double diff;
	bool is_block;               /* hash <= network target */
	uint32_t version;            /* the header's version after rolling */
};

/* Validates one submission. Checks in order: nonce2 length
 * (SHARE_BAD_EXTRANONCE2), version bits outside the mask (SHARE_BAD_VERSION),
 * ntime outside [mintime, curtime + 7200] (SHARE_BAD_NTIME); then builds the
 * header - version (wb->version & ~mask) | (version_bits & mask), prevhash,
 * merkle root of sha256d(coinb1 || nonce1 || nonce2 || coinb2) through the
 * branch, ntime, bits, nonce, little-endian - and hashes it. A share below
 * share_diff is SHARE_LOW_DIFF unless it solves a block: a block is always
 * SHARE_OK. out is filled whenever the header was built (SHARE_OK or
 * SHARE_LOW_DIFF). SHARE_INVALID for NULL or inconsistent inputs. */
enum share_result share_compute(const struct share_input *in, struct share_output *out);

/* Lowercase reason for logs and the share_submitted event: "job not found",
 * "stale", "duplicate", "low difficulty", "bad ntime", "bad version bits",
 * "bad extranonce2 size", "invalid"; "ok" for SHARE_OK. */
const char *share_result_reason(enum share_result r);
/* The stats counter index (reject_reason.h) for a rejection (SHARE_OK maps to REJECT_INVALID;
 * don't count it as a rejection). */
enum reject_reason share_result_reject_reason(enum share_result r);

/*
 * Duplicate detection, one filter per connection. Keys are
 * (job id, nonce2, ntime, nonce, version_bits) reduced to a 64-bit
 * fingerprint; two generations of DUP_FILTER_REMEMBER fingerprints each are
 * kept, so a filter always remembers at least the last DUP_FILTER_REMEMBER
 * shares (up to twice that). Memory is fixed: sizeof(struct dup_filter) is
 * 2 * 2 * DUP_FILTER_REMEMBER * 8 bytes = 4 KiB, no allocation. A false
 * duplicate needs a 64-bit fingerprint collision (~2^-55 per share).
 *
 *   struct dup_filter f;  dup_filter_init(&f);
 *   if (dup_filter_seen(&f, job_id, nonce2, n2len, ntime, nonce, vbits))
 *           ...SHARE_DUPLICATE...
 */
#define DUP_FILTER_REMEMBER 128

struct dup_filter {
	uint64_t slots[2][2 * DUP_FILTER_REMEMBER]; /* open addressing, 0 = empty */
	unsigned count[2];
	unsigned current;                           /* generation being filled */
};

void dup_filter_init(struct dup_filter *f);
/* True when the key was already recorded; otherwise records it, false. */
bool dup_filter_seen(struct dup_filter *f, uint64_t job_id, const uint8_t *nonce2,
		     size_t nonce2_len, uint32_t ntime, uint32_t nonce, uint32_t version_bits);

#endif
