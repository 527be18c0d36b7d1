/*
 * stratum_submit.h - mining.submit: judges one share and answers it.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * A share is judged against the connection's own job (its coinbase halves)
 * at the difficulty it must meet now (the lower of the old and new one
 * during a vardiff grace period), answered true or with an error
 * (stratum_reply.h codes 21 job, 22 duplicate, 23 low difficulty, 24
 * unauthorized, 25 not subscribed, 20 anything else), counted, and emitted
 * as share_submitted. A share that solves a block goes to submit.h before
 * anything else, even on a stale job of the previous block. Runs on the
 * connection's own I/O thread.
 */
#ifndef CKPOOL_STRATUM_SUBMIT_H
#define CKPOOL_STRATUM_SUBMIT_H

#include <jansson.h>

#include "submit_parse.h"

struct conn;

/* A submit whose params submit_parse.h (or stratum_submit_json) read; idt
 * is the request id as JSON text. */
void stratum_submit(struct conn *c, const char *idt, const struct submit_params *params);
/* The same for params as jansson parsed them (anything but 5 or 6
 * strings is answered as malformed). */
void stratum_submit_json(struct conn *c, const json_t *id, const json_t *params);

#endif
