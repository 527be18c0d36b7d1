/*
 * submit_parse.h - reads the common shape of a mining.submit line without
 * building a JSON tree (nearly every line a miner sends is a share).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * The common shape: one JSON object with "method": "mining.submit",
 * "params" of 5 or 6 strings, an optional "id" (null, an integer of 1 to
 * 18 digits, or a string), and any other keys with string values. Every
 * string must be printable ASCII without escapes, each key at most once
 * for id, method and params. Anything else (and any doubt) is refused and
 * left to the general JSON path, which must read the same id and params
 * from every line accepted here (fuzz/fuzz_submit_parse.c checks that
 * against jansson). Pure: no I/O, no allocation, no global state.
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_SUBMIT_PARSE_H
#define CKPOOL_SUBMIT_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* Room for a request id as JSON text ("null", digits, or a quoted string). */
#define SUBMIT_ID_TEXT_MAX 96
/* Bytes of params text kept (each string plus its NUL). */
#define SUBMIT_TEXT_MAX 512

/* The params of a mining.submit: strings when every one of 5 or 6 is a
 * string, otherwise n == 0 (invalid). */
struct submit_params {
	const char *v[6];
	size_t n;
};

struct submit_fast {
	/* The id as JSON text, as the general path would echo it: "null" when
	 * absent, null or a string longer than SUBMIT_ID_TEXT_MAX - 3. */
	char idt[SUBMIT_ID_TEXT_MAX];
	struct submit_params params;  /* v[] point into text */
	char text[SUBMIT_TEXT_MAX];
	size_t text_len;
};

/* True when line[0..len) is a mining.submit of the common shape; *out then
 * holds its id and params. False leaves *out unspecified. */
bool submit_parse_fast(const char *line, size_t len, struct submit_fast *out);

#endif
