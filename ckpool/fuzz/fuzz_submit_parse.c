/*
 * fuzz_submit_parse.c - libFuzzer target: the mining.submit fast path
 * against jansson on every input.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Whatever submit_parse_fast accepts, jansson must parse to the same
 * request: method "mining.submit", the same 5 or 6 param strings, and an id
 * that the JSON path echoes as the same text. And whatever jansson reads as
 * a submit of the common shape (submit_parse.h: no escapes, printable ASCII,
 * string values, an id it can echo, no duplicate keys, params that fit) the
 * fast path must accept. Any disagreement aborts.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "submit_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void disagree(const char *why)
{
	fprintf(stderr, "fast path and jansson disagree: %s\n", why);
	abort();
}

static bool plain(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (n >= max || *s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return false;
	return true;
}

/* The id as the JSON path echoes it (stratum_methods.c text_of_id). */
static void id_text(const json_t *id, char out[SUBMIT_ID_TEXT_MAX])
{
	if (json_is_integer(id))
		snprintf(out, SUBMIT_ID_TEXT_MAX, "%lld", (long long)json_integer_value(id));
	else if (json_is_string(id) && plain(json_string_value(id), SUBMIT_ID_TEXT_MAX - 3))
		snprintf(out, SUBMIT_ID_TEXT_MAX, "\"%s\"", json_string_value(id));
	else if (json_is_real(id) && isfinite(json_real_value(id)))
		snprintf(out, SUBMIT_ID_TEXT_MAX, "%.17g", json_real_value(id));
	else
		snprintf(out, SUBMIT_ID_TEXT_MAX, "null");
}

static bool is_submit(const json_t *req)
{
	const json_t *method = json_object_get(req, "method");

	return json_is_object(req) && json_is_string(method)
	       && !strcmp(json_string_value(method), "mining.submit");
}

static void check_accepted(const json_t *req, const struct submit_fast *f)
{
	const json_t *params = json_object_get(req, "params");
	char idt[SUBMIT_ID_TEXT_MAX];

	if (!req)
		disagree("fast path accepted what jansson cannot parse");
	if (!is_submit(req))
		disagree("fast path accepted something that is not mining.submit");
	if (!json_is_array(params) || json_array_size(params) != f->params.n)
		disagree("different params count");
	for (size_t i = 0; i < f->params.n; i++) {
		const char *v = json_string_value(json_array_get(params, i));

		if (!v || strcmp(v, f->params.v[i]))
			disagree("different param string");
	}
	id_text(json_object_get(req, "id"), idt);
	if (strcmp(idt, f->idt))
		disagree("different id text");
}

static bool ascii_text(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* jansson's view of the common shape, on a raw line without backslashes
 * and without NUL bytes (jansson 2.14 reads `null\0` or `1\0` as null or 1:
 * its keyword and number tokens end at a NUL; the fast path refuses them). */
static bool common_shape(const uint8_t *data, size_t size, const json_t *req)
{
	const json_t *params = json_object_get(req, "params"), *id = json_object_get(req, "id");
	json_error_t jerr;
	json_t *strict, *value;
	const char *key;
	size_t text = 0, n = json_array_size(params);

	if (!is_submit(req) || memchr(data, '\\', size) || memchr(data, '\0', size)
	    || !json_is_array(params) || (n != 5 && n != 6))
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *v = json_string_value(json_array_get(params, i));

		if (!v || !ascii_text(v))
			return false;
		text += strlen(v) + 1;
	}
	if (text > SUBMIT_TEXT_MAX)
		return false;
	/* ids it echoes: null, a string, or a non-zero integer (0 may be "-0") below 1e18 */
	if (id && !json_is_null(id) && !json_is_string(id)
	    && !(json_is_integer(id) && json_integer_value(id) != 0
		 && llabs((long long)json_integer_value(id)) < 1000000000000000000LL))
		return false;
	json_object_foreach((json_t *)req, key, value) {
		if (!ascii_text(key))
			return false;
		if (strcmp(key, "id") && strcmp(key, "params")
		    && !(json_is_string(value) && ascii_text(json_string_value(value))))
			return false;
		if (!strcmp(key, "id") && json_is_string(value) && !ascii_text(json_string_value(value)))
			return false;
	}
	strict = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	json_decref(strict);
	return strict != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct submit_fast f;
	json_error_t jerr;
	bool fast = submit_parse_fast((const char *)data, size, &f);
	json_t *req = json_loadb((const char *)data, size, 0, &jerr);

	if (fast)
		check_accepted(req, &f);
	else if (req && common_shape(data, size, req))
		disagree("jansson reads a submit of the common shape the fast path refused");
	json_decref(req);
	return 0;
}
