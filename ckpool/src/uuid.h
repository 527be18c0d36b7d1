/*
 * uuid.h - RFC 9562 UUIDs: version 7 for event ids, version 4 for boot ids.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * A UUIDv7 holds a 48-bit Unix timestamp in milliseconds, the version nibble
 * 7, 12 bits of rand_a, the variant bits 10 and 62 bits of rand_b. The
 * generator treats rand_a||rand_b as one 74-bit number: a new millisecond
 * starts from fresh random bits, the same (or an earlier) millisecond takes
 * the previous value plus one (RFC 9562 6.2, method 2), so ids made in one
 * process sort strictly in the order they were made, even when the clock
 * steps back. Random bits come from getrandom(2).
 *
 *   char id[UUID_STR_LEN];
 *   uint8_t u[16];
 *   uuid_v7_now(u);
 *   uuid_format(u, id);   // "01890a5d-ac96-774b-bcce-b302099a8057"
 */
#ifndef CKPOOL_UUID_H
#define CKPOOL_UUID_H

#include <stddef.h>
#include <stdint.h>

/* 36 characters plus the NUL. */
#define UUID_STR_LEN 37

/* State of one monotonic UUIDv7 sequence. Zero-initialise it. */
struct uuid_v7_state {
	uint64_t last_ms;
	uint16_t rand_a;    /* 12 bits */
	uint64_t rand_b;    /* 62 bits */
	int started;
};

/* Next UUIDv7 of `st` for the time `unix_ms`. Not thread-safe on its own;
 * uuid_v7_now() wraps a process-wide state in a mutex. */
void uuid_v7_next(struct uuid_v7_state *st, uint64_t unix_ms, uint8_t out[16]);
/* Next UUIDv7 of the process-wide sequence at the current time; any thread. */
void uuid_v7_now(uint8_t out[16]);
/* Same, with the timestamp supplied (milliseconds since the Unix epoch). */
void uuid_v7_at(uint64_t unix_ms, uint8_t out[16]);
/* A random (version 4) UUID. */
void uuid_v4(uint8_t out[16]);
/* Lower-case 8-4-4-4-12 text form into out[UUID_STR_LEN]. */
void uuid_format(const uint8_t u[16], char out[UUID_STR_LEN]);
/* The millisecond timestamp stored in a UUIDv7. */
uint64_t uuid_v7_millis(const uint8_t u[16]);
/* Fills buf with len random bytes from getrandom(2); aborts if the kernel
 * cannot provide them (nothing sensible can be done without randomness). */
void random_bytes(void *buf, size_t len);

#endif
