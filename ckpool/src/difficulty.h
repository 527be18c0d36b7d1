/*
 * difficulty.h - compact bits, targets and bitcoin's "pool difficulty".
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * A leaf under workbase.h and share.h: the workbase decodes its network
 * target with it, share validation compares hashes against targets.
 * Difficulty is diff1 target 0x00000000ffff0000...0000 divided by the hash
 * (or target) as a 256-bit number, computed in long double so values far
 * below 1 (regtest's 4.66e-10) are exact to double precision.
 *
 * Pure layer: no I/O, no globals, no threads; includes only pure headers
 * (`make -C ckpool check-layers` enforces it); unit tested in
 * tests/test_share.c and tests/test_workbase.c.
 */
#ifndef CKPOOL_DIFFICULTY_H
#define CKPOOL_DIFFICULTY_H

#include <stdbool.h>
#include <stdint.h>

/* Network target from compact bits (big-endian). 0 on success, -1 when
 * bits are negative, zero or overflow 256 bits. */
int target_from_bits(uint32_t bits, uint8_t target[32]);

/* diff1 / hash, the hash read as a little-endian 256-bit number (internal
 * order). An all-zero hash gives HUGE_VAL. */
double diff_from_hash(const uint8_t hash[32]);
/* diff1 / target for a big-endian target; all-zero gives HUGE_VAL. */
double diff_from_target(const uint8_t target[32]);
/* diff1 / target(bits); 0 for bits that don't decode. */
double diff_from_bits(uint32_t bits);
/* True when the hash (internal order) is at or below the big-endian target. */
bool hash_meets_target(const uint8_t hash[32], const uint8_t target[32]);

#endif
