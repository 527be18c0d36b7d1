/*
 * uuid.c - owns UUID generation: the process-wide monotonic UUIDv7 sequence,
 * random v4 ids and the text form.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "uuid.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#define RAND_A_MASK 0x0fffu
#define RAND_B_MASK ((UINT64_C(1) << 62) - 1)
#define TIMESTAMP_MASK ((UINT64_C(1) << 48) - 1)

static pthread_mutex_t process_lock = PTHREAD_MUTEX_INITIALIZER;
static struct uuid_v7_state process_state;

void random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("getrandom");
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
}

static void fresh_random_bits(struct uuid_v7_state *st)
{
	uint8_t r[10];

	random_bytes(r, sizeof(r));
	st->rand_a = (uint16_t)(((unsigned)r[0] << 8 | r[1]) & RAND_A_MASK);
	st->rand_b = 0;
	for (int i = 2; i < 10; i++)
		st->rand_b = st->rand_b << 8 | r[i];
	st->rand_b &= RAND_B_MASK;
	/* Leave headroom so a burst within one millisecond rarely carries
	 * into the timestamp. */
	st->rand_a &= 0x07ff;
}

/* Adds one to the 74-bit rand_a||rand_b; a carry out moves the clock on. */
static void increment_random_bits(struct uuid_v7_state *st)
{
	if (st->rand_b < RAND_B_MASK) {
		st->rand_b++;
		return;
	}
	st->rand_b = 0;
	if (st->rand_a < RAND_A_MASK) {
		st->rand_a++;
		return;
	}
	st->rand_a = 0;
	st->last_ms++;
}

static void encode_v7(const struct uuid_v7_state *st, uint8_t out[16])
{
	uint64_t ms = st->last_ms & TIMESTAMP_MASK;

	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)(ms >> (40 - 8 * i));
	out[6] = (uint8_t)(0x70 | (st->rand_a >> 8));
	out[7] = (uint8_t)(st->rand_a & 0xff);
	out[8] = (uint8_t)(0x80 | ((st->rand_b >> 56) & 0x3f));
	for (int i = 9; i < 16; i++)
		out[i] = (uint8_t)(st->rand_b >> (8 * (15 - i)));
}

void uuid_v7_next(struct uuid_v7_state *st, uint64_t unix_ms, uint8_t out[16])
{
	if (!st->started || unix_ms > st->last_ms) {
		st->started = 1;
		st->last_ms = unix_ms;
		fresh_random_bits(st);
	} else {
		increment_random_bits(st);
	}
	encode_v7(st, out);
}

void uuid_v7_at(uint64_t unix_ms, uint8_t out[16])
{
	pthread_mutex_lock(&process_lock);
	uuid_v7_next(&process_state, unix_ms, out);
	pthread_mutex_unlock(&process_lock);
}

void uuid_v7_now(uint8_t out[16])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	uuid_v7_at((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000, out);
}

void uuid_v4(uint8_t out[16])
{
	random_bytes(out, 16);
	out[6] = (uint8_t)(0x40 | (out[6] & 0x0f));
	out[8] = (uint8_t)(0x80 | (out[8] & 0x3f));
}

void uuid_format(const uint8_t u[16], char out[UUID_STR_LEN])
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = digits[u[i] >> 4];
		out[o++] = digits[u[i] & 0x0f];
	}
	out[o] = '\0';
}

uint64_t uuid_v7_millis(const uint8_t u[16])
{
	uint64_t ms = 0;

	for (int i = 0; i < 6; i++)
		ms = ms << 8 | u[i];
	return ms;
}
