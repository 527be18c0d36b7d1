/*
 * submit_parse.c - the mining.submit fast path (see submit_parse.h).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "submit_parse.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct reader {
	const char *p, *end;
	bool have_id, have_method, have_params;
	struct submit_fast *out;
};

static void skip_space(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

/* Consumes c (after optional whitespace) or fails. */
static bool expect(struct reader *r, char c)
{
	skip_space(r);
	if (r->p >= r->end || *r->p != c)
		return false;
	r->p++;
	return true;
}

/* A string of printable ASCII without escapes: its contents in *s, *n. */
static bool plain_string(struct reader *r, const char **s, size_t *n)
{
	const char *q;

	skip_space(r);
	if (r->p >= r->end || *r->p != '"')
		return false;
	for (q = r->p + 1; q < r->end && *q != '"'; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e || *q == '\\')
			return false;
	if (q >= r->end)
		return false;
	*s = r->p + 1;
	*n = (size_t)(q - *s);
	r->p = q + 1;
	return true;
}

static bool read_id(struct reader *r)
{
	char *idt = r->out->idt;
	const char *q, *s;
	size_t n;

	skip_space(r);
	q = r->p;
	if (q < r->end && *q == '"') {
		if (!plain_string(r, &s, &n))
			return false;
		/* plain strings up to SUBMIT_ID_TEXT_MAX - 3 are echoed, longer as null */
		if (n <= SUBMIT_ID_TEXT_MAX - 3)
			snprintf(idt, SUBMIT_ID_TEXT_MAX, "\"%.*s\"", (int)n, s);
		else
			snprintf(idt, SUBMIT_ID_TEXT_MAX, "null");
		return true;
	}
	if ((size_t)(r->end - q) >= 4 && !memcmp(q, "null", 4)) {
		r->p = q + 4;
		snprintf(idt, SUBMIT_ID_TEXT_MAX, "null");
		return true;
	}
	s = q;
	if (q < r->end && *q == '-')
		q++;
	n = 0;
	while (q + n < r->end && isdigit((unsigned char)q[n]))
		n++;
	/* 1 to 18 digits, no leading zero, no "-0", no fraction or exponent */
	if (!n || n > 18 || (q[0] == '0' && (n > 1 || s != q)))
		return false;
	q += n;
	if (q < r->end && (*q == '.' || *q == 'e' || *q == 'E'))
		return false;
	memcpy(idt, s, (size_t)(q - s));
	idt[q - s] = '\0';
	r->p = q;
	return true;
}

static bool read_params(struct reader *r)
{
	struct submit_fast *f = r->out;
	const char *s;
	size_t n;

	if (!expect(r, '['))
		return false;
	skip_space(r);
	if (r->p < r->end && *r->p == ']')
		return false;                /* no params: invalid, the general path answers */
	do {
		if (f->params.n == 6 || !plain_string(r, &s, &n)
		    || f->text_len + n + 1 > sizeof(f->text))
			return false;
		memcpy(f->text + f->text_len, s, n);
		f->text[f->text_len + n] = '\0';
		f->params.v[f->params.n++] = f->text + f->text_len;
		f->text_len += n + 1;
		skip_space(r);
	} while (r->p < r->end && *r->p == ',' && (r->p++, true));
	return expect(r, ']') && (f->params.n == 5 || f->params.n == 6);
}

static bool read_member(struct reader *r)
{
	const char *key, *s;
	size_t klen, n;

	if (!plain_string(r, &key, &klen) || !expect(r, ':'))
		return false;
	if (klen == 2 && !memcmp(key, "id", 2)) {
		if (r->have_id)
			return false;
		r->have_id = true;
		return read_id(r);
	}
	if (klen == 6 && !memcmp(key, "method", 6)) {
		if (r->have_method || !plain_string(r, &s, &n) || n != 13
		    || memcmp(s, "mining.submit", 13))
			return false;
		r->have_method = true;
		return true;
	}
	if (klen == 6 && !memcmp(key, "params", 6)) {
		if (r->have_params)
			return false;
		r->have_params = true;
		return read_params(r);
	}
	return plain_string(r, &s, &n);      /* another key, e.g. "jsonrpc" */
}

bool submit_parse_fast(const char *line, size_t len, struct submit_fast *out)
{
	struct reader r = { .p = line, .end = line + len, .out = out };

	out->params.n = 0;
	out->text_len = 0;
	if (!expect(&r, '{'))
		return false;
	do {
		if (!read_member(&r))
			return false;
		skip_space(&r);
	} while (r.p < r.end && *r.p == ',' && (r.p++, true));
	if (!expect(&r, '}'))
		return false;
	skip_space(&r);
	if (r.p != r.end || !r.have_method || !r.have_params)
		return false;
	if (!r.have_id)
		snprintf(out->idt, sizeof(out->idt), "null");
	return true;
}
