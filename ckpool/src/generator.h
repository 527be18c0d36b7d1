/*
 * generator.h - the template loop that keeps the current workbase fresh.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * One thread asks the node for getblocktemplate {"rules":["segwit"]}:
 *   - at once when the chain tip changes, seen by ZMQ `hashblock`
 *     (when zmqblock is set) and by polling getbestblockhash every
 *     blockpoll_ms; miners are told to drop their work (clean_jobs);
 *   - every update_interval seconds, to pick up new transactions;
 *   - when asked (generator_request_template), e.g. after a block was found.
 * Every workbase, whatever its source (this loop, or later a template pushed
 * by the primary to a relay), goes out through generator_publish().
 */
#ifndef CKPOOL_GENERATOR_H
#define CKPOOL_GENERATOR_H

#include <stdbool.h>

#include "config.h"

struct workbase;

/* Starts the template thread. 0 on success, -1 with err. */
int generator_start(const struct config *cfg, char *err, size_t errlen);
/* Stops and joins the thread. */
void generator_stop(void);

/* Asks the loop for a fresh template now (from any thread). */
void generator_request_template(void);

/* Assigns wb its id and makes it the current job (taking over the caller's
 * reference); logs it, counts it and emits new_block_network when its
 * previous block differs from the last workbase's. Returns true on a new
 * block. Thread-safe. */
bool generator_publish(struct workbase *wb);

#endif
