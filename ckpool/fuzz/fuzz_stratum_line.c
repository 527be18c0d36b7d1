/*
 * fuzz_stratum_line.c - libFuzzer target: the Stratum request parser and
 * method handlers (stratum_handle_line) on one miner connection.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * The input is a miner's byte stream, cut into lines at '\n' the way
 * stratum.c does; every line goes to stratum_handle_line until the engine
 * decides to close. If the first byte is odd, the connection first
 * subscribes and authorizes, so the fuzzer reaches mining.submit quickly.
 * A regtest job (id 0000000000000001, easy target, so shares can solve
 * blocks) is current throughout.
 *
 * stratum.c's I/O layer is replaced here (conn_send, conn_close_*,
 * stratum_settings), as is the block hand-off (submit_block): every reply
 * is checked to be one JSON object per line, and a block candidate must
 * carry block hex. Anything else aborts. FUZZ_ECHO=1 prints the replies.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connection.h"
#include "jobs.h"
#include "log.h"
#include "stratum.h"
#include "stratum_methods.h"
#include "submit.h"
#include "workbase.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINE 16384

static struct config cfg;
static struct stratum_settings settings;
static bool echo;                   /* FUZZ_ECHO=1: print every reply (to write seeds) */

static const char template_json[] =
	"{\"version\":536870912,\"previousblockhash\":"
	"\"0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206\","
	"\"bits\":\"207fffff\",\"curtime\":1700000000,\"mintime\":1699990000,\"height\":1,"
	"\"coinbasevalue\":5000000000,\"transactions\":[]}";

const struct stratum_settings *stratum_settings(void)
{
	return &settings;
}

/* Each reply or notification: complete lines of one JSON object each. */
void conn_send(struct conn *c, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	json_error_t jerr;

	(void)c;
	if (echo)
		fprintf(stderr, "< %.*s", (int)len, data);
	if (!len || data[len - 1] != '\n') {
		fprintf(stderr, "reply is not newline-terminated: %.*s\n", (int)len, data);
		abort();
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		json_t *msg = json_loadb(p, (size_t)(nl - p), 0, &jerr);

		if (!json_is_object(msg) || !json_object_get(msg, "id")) {
			fprintf(stderr, "reply is not a JSON-RPC object (%s): %.*s\n", jerr.text,
				(int)(nl - p), p);
			abort();
		}
		json_decref(msg);
		p = nl + 1;
	}
}

void conn_close_soon(struct conn *c, const char *why)
{
	(void)why;
	c->closing = true;
}

void conn_close_for_abuse(struct conn *c, const char *why)
{
	(void)why;
	c->closing = true;
}

void submit_block(struct block_candidate *candidate)
{
	if (!candidate->block_hex || !*candidate->block_hex) {
		fprintf(stderr, "block candidate without block hex\n");
		abort();
	}
	free(candidate->block_hex);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	json_error_t jerr;
	json_t *gbt = json_loads(template_json, 0, &jerr);
	char err[256];
	struct workbase *wb;

	(void)argc;
	(void)argv;
	echo = getenv("FUZZ_ECHO") != NULL;
	log_set_level((enum log_level)(LOG_ERROR + 1)); /* nothing: misbehaving miners log */
	cfg.mindiff = 1e-9;
	cfg.startdiff = 1e-9;
	cfg.nonce1length = 4;
	cfg.nonce2length = 8;
	cfg.max_line_bytes = MAX_LINE;
	cfg.vardiff_target_s = 10;
	settings.cfg = &cfg;
	settings.net = NET_REGTEST;
	vardiff_policy_default(&settings.vardiff);
	settings.vardiff.mindiff = cfg.mindiff;
	settings.vardiff.maxdiff = STRATUM_DIFF_CEILING;
	settings.vardiff.target_time = cfg.vardiff_target_s;
	settings.vardiff.retarget_time = cfg.vardiff_target_s * 6;
	settings.old_diff_grace_s = 20;
	wb = gbt ? workbase_from_gbt(gbt, err, sizeof(err)) : NULL;
	json_decref(gbt);
	if (!wb) {
		fprintf(stderr, "fuzz template refused: %s\n", wb ? "" : err);
		abort();
	}
	wb->id = 1;
	jobs_publish(wb);
	return 0;
}

static void handle(struct conn *c, const char *line, size_t len)
{
	/* as stratum.c: trailing CR and blanks dropped, empty lines ignored */
	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len)
		stratum_handle_line(c, line, len);
}

static const char preamble[] =
	"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"fuzz/1.0\"]}\n"
	"{\"id\":2,\"method\":\"mining.authorize\",\"params\":"
	"[\"bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080.rig\",\"x\"]}\n";

static void feed(struct conn *c, const char *p, const char *end)
{
	while (p < end && !c->closing) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;

		if ((size_t)(stop - p) > MAX_LINE)
			return;                  /* stratum.c refuses the line and closes */
		handle(c, p, (size_t)(stop - p));
		p = stop + (nl != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn *c;

	if (!size)
		return 0;
	c = conn_new(-1, "192.0.2.1", 4242);
	if (!c)
		return 0;
	c->id = 1;
	c->tokens = 1e9f;
	stratum_conn_init(c);
	if (data[0] & 1)
		feed(c, preamble, preamble + sizeof(preamble) - 1);
	feed(c, (const char *)data + 1, (const char *)data + size);
	stratum_conn_closed(c, "closed by miner");
	nonce1_release(c, (size_t)cfg.nonce1length);
	conn_free(c);
	return 0;
}
