/*
 * util.h - small helpers the runtime modules share: clocks, string copies,
 * host:port parsing and hex numbers.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#ifndef CKPOOL_UTIL_H
#define CKPOOL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Seconds on the monotonic clock, for timeouts and rates. */
double now_monotonic(void);
/* Microseconds on the monotonic clock, for intervals measured in integers. */
uint64_t now_monotonic_us(void);
/* Microseconds since the Unix epoch, for logs and events. */
int64_t now_unix_us(void);

/* Copies src into dst (size dstlen), always NUL-terminated; returns dst. */
char *copy_string(char *dst, const char *src, size_t dstlen);

/* Splits "host:port" (or "[v6]:port") into host and port. 0 on success,
 * -1 when the form is wrong or the port is not 1-65535. */
int split_host_port(const char *hostport, char *host, size_t hostlen, int *port);

/* Parses exactly 8 hex chars as a big-endian 32-bit number. 0 or -1. */
int uint32_of_hex(const char *hex, uint32_t *out);

#endif
