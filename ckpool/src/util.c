/*
 * util.c - clocks, bounded string copies, host:port parsing and the hex
 * numbers of Stratum submissions.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "util.h"
#include "hex.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

double now_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t now_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t now_unix_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *copy_string(char *dst, const char *src, size_t dstlen)
{
	size_t n;

	if (!dstlen)
		return dst;
	n = src ? strlen(src) : 0;
	if (n >= dstlen)
		n = dstlen - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
	return dst;
}

static int parse_port(const char *s, int *port)
{
	char *end;
	long v;

	if (!*s)
		return -1;
	v = strtol(s, &end, 10);
	if (*end || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int split_host_port(const char *hostport, char *host, size_t hostlen, int *port)
{
	const char *colon;
	size_t n;

	if (!hostport || !*hostport)
		return -1;
	if (hostport[0] == '[') {
		const char *close = strchr(hostport, ']');

		if (!close || close[1] != ':')
			return -1;
		n = (size_t)(close - hostport - 1);
		colon = close + 1;
		hostport++;
	} else {
		colon = strrchr(hostport, ':');
		if (!colon)
			return -1;
		n = (size_t)(colon - hostport);
	}
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, hostport, n);
	host[n] = '\0';
	return parse_port(colon + 1, port);
}

int uint32_of_hex(const char *hex, uint32_t *out)
{
	uint8_t b[4];

	if (hex_decode_exact(hex, b, 4))
		return -1;
	*out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return 0;
}
