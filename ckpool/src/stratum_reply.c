/*
 * stratum_reply.c - owns the text of every line the engine writes to a
 * miner (results, errors, set_difficulty, notify); formats only, sends
 * nothing.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "stratum_reply.h"
#include "hex.h"
#include "workbase.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

bool stratum_is_plain_text(const char *s, size_t max)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (n >= max || *s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return false;
	return true;
}

const char *stratum_id_text(const json_t *id, char out[STRATUM_ID_TEXT_MAX])
{
	if (json_is_integer(id))
		snprintf(out, STRATUM_ID_TEXT_MAX, "%lld", (long long)json_integer_value(id));
	else if (json_is_string(id)
		 && stratum_is_plain_text(json_string_value(id), STRATUM_ID_TEXT_MAX - 3))
		snprintf(out, STRATUM_ID_TEXT_MAX, "\"%s\"", json_string_value(id));
	else if (json_is_real(id) && isfinite(json_real_value(id)))
		snprintf(out, STRATUM_ID_TEXT_MAX, "%.17g", json_real_value(id));
	else
		snprintf(out, STRATUM_ID_TEXT_MAX, "null");
	return out;
}

/* Appends n bytes of s at *p (the caller sized the buffer). */
static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* The reply to nearly every share: memcpy, not printf. */
size_t stratum_format_result(char *out, size_t len, const char *idt, const char *result_json)
{
	static const char head[] = "{\"id\":", mid[] = ",\"result\":", tail[] = ",\"error\":null}\n";
	size_t il = strlen(idt), rl = strlen(result_json);
	size_t need = sizeof(head) - 1 + il + sizeof(mid) - 1 + rl + sizeof(tail) - 1;
	char *p = out;

	if (need >= len)
		return need;
	p = put(p, head, sizeof(head) - 1);
	p = put(p, idt, il);
	p = put(p, mid, sizeof(mid) - 1);
	p = put(p, result_json, rl);
	p = put(p, tail, sizeof(tail) - 1);
	*p = '\0';
	return need;
}

static void escape_message(const char *msg, char *out, size_t len)
{
	size_t n = 0;

	for (; *msg && n + 3 < len; msg++) {
		if (*msg < 0x20 || *msg > 0x7e)
			continue;
		if (*msg == '"' || *msg == '\\')
			out[n++] = '\\';
		out[n++] = *msg;
	}
	out[n] = '\0';
}

/* snprintf's count as a size_t (it fails only on a bad format). */
static size_t counted(int n)
{
	return n > 0 ? (size_t)n : 0;
}

size_t stratum_format_error(char *out, size_t len, const char *idt, const char *result, int code,
			    const char *msg)
{
	char text[STRATUM_MESSAGE_MAX];

	escape_message(msg, text, sizeof(text));
	return counted(snprintf(out, len, "{\"id\":%s,\"result\":%s,\"error\":[%d,\"%s\",null]}\n",
				idt, result, code, text));
}

size_t stratum_format_subscribe(char *out, size_t len, const char *idt, const char *nonce1_hex,
				int nonce2_len)
{
	return counted(snprintf(out, len,
				"{\"id\":%s,\"result\":[[[\"mining.set_difficulty\",\"%s\"],"
				"[\"mining.notify\",\"%s\"]],\"%s\",%d],\"error\":null}\n",
				idt, nonce1_hex, nonce1_hex, nonce1_hex, nonce2_len));
}

size_t stratum_format_set_difficulty(char *out, size_t len, double diff)
{
	return counted(snprintf(out, len,
				"{\"id\":null,\"method\":\"mining.set_difficulty\",\"params\":[%.15g]}\n",
				diff));
}

/* The fixed text and numbers of a notify take under 256 bytes; each branch
 * entry is 64 hex digits, two quotes and a comma. */
size_t stratum_notify_size(const struct workbase *wb, size_t cb1_len, size_t cb2_len)
{
	return 256 + 2 * (cb1_len + cb2_len) + wb->branch_len * 67;
}

/* Appends the branch as a JSON array body: "h1","h2",... */
static size_t put_branch(char *out, const struct workbase *wb)
{
	size_t n = 0;

	for (size_t i = 0; i < wb->branch_len; i++) {
		out[n++] = i ? ',' : '"';
		if (i)
			out[n++] = '"';
		hex_encode(wb->branch[i], 32, out + n);
		n += 64;
		out[n++] = '"';
	}
	return n;
}

size_t stratum_format_notify(char *out, size_t len, const struct workbase *wb,
			     const uint8_t *coinbase, size_t cb1_len, size_t cb2_len, bool clean)
{
	char prevhash[65];
	size_t n;

	if (len < stratum_notify_size(wb, cb1_len, cb2_len))
		return stratum_notify_size(wb, cb1_len, cb2_len);
	workbase_stratum_prevhash(wb, prevhash);
	n = counted(snprintf(out, len,
			     "{\"id\":null,\"method\":\"mining.notify\",\"params\":[\"%016llx\",\"%s\",\"",
			     (unsigned long long)wb->id, prevhash));
	hex_encode(coinbase, cb1_len, out + n);
	n += 2 * cb1_len;
	n += counted(snprintf(out + n, len - n, "\",\""));
	hex_encode(coinbase + cb1_len, cb2_len, out + n);
	n += 2 * cb2_len;
	n += counted(snprintf(out + n, len - n, "\",["));
	n += put_branch(out + n, wb);
	n += counted(snprintf(out + n, len - n, "],\"%08x\",\"%08x\",\"%08x\",%s]}\n",
			      (uint32_t)wb->version, wb->bits, wb->curtime,
			      clean ? "true" : "false"));
	return n;
}
