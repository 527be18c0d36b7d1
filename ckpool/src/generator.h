/*
 * generator.h - the template loop that keeps the current workbase fresh.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * One thread asks the node for getblocktemplate with the rules its chain
 * requires (gbt_request.h: "segwit", plus "signet" on signet; the chain is
 * asked with getblockchaininfo first and again after any failure):
 *   - at once when the chain tip changes, seen by ZMQ `hashblock`
 *     (when zmqblock is set) and by polling getbestblockhash every
 *     blockpoll_ms; miners are told to drop their work (clean_jobs);
 *   - every update_interval seconds, to pick up new transactions;
 *   - when asked (generator_request_template), e.g. after a block was found.
 * A refused template (any error) is recorded in template_status.h, which
 * logs it once per distinct error and feeds /health and /metrics.
 * Every workbase, whatever its source (this loop, or a template pushed by
 * the primary to a relay), goes out through generator_publish(), which
 * also hands it to the link's publish hook (on a primary, the relays).
 * The generator does not know the relay link: relay_mode.c sets the hooks
 * (generator_set_link), as jobs_set_listener() does for Stratum.
 *
 * Passthrough (relay) mode has two states:
 *   relayed      the primary's templates (generator_primary_template, from
 *                the relay link) are the work; this loop does not call
 *                getblocktemplate, it only polls the own node's best block
 *                (and ZMQ): a new block there that the current template
 *                does not build on makes it fetch the own node's template
 *                and publish it when it is higher (clean_jobs at once);
 *                the primary's template for that block replaces it.
 *   independent  the link has been silent for primary.failover_threshold
 *                seconds: the loop runs as on a primary (own node's
 *                templates) until the primary's next template arrives.
 * Each switch is logged and emitted as relay_mode_changed.
 */
#ifndef CKPOOL_GENERATOR_H
#define CKPOOL_GENERATOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

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

/* Passthrough: a template pushed by the primary (gbt borrowed). Builds the
 * workbase and publishes it, back in relayed mode if the relay was
 * independent; a template lower than an own-node block being mined is
 * ignored. Any thread (the relay link's). */
void generator_primary_template(const json_t *gbt, uint64_t primary_workbase_id);
/* The same for a workbase already built (the relay link decodes binary
 * templates straight into one); takes over the caller's reference. */
void generator_primary_workbase(struct workbase *wb, uint64_t primary_workbase_id);

/* The relay link as the generator sees it. Either hook may be NULL. */
struct generator_link {
	/* Called by generator_publish() with every workbase, its id assigned
	 * and a reference held for the call (a primary pushes it to its
	 * relays). Any thread that publishes. */
	void (*publish)(struct workbase *wb);
	/* Passthrough: ms since the primary was last heard from, 0 while the
	 * link is healthy, -1 when there is no link; independent mode starts
	 * once it reaches primary.failover_threshold seconds. Template thread. */
	int64_t (*down_for_ms)(void);
};
/* Sets the hooks (copied), or clears them with NULL; until set, nothing is
 * pushed and the link never counts as down. Safe while the thread runs. */
void generator_set_link(const struct generator_link *link);

/* True while a relay mines its own node's templates. */
bool generator_independent(void);

struct generator_relay_state {
	bool passthrough, independent;
	int64_t independent_since_us;   /* 0 when relayed */
	uint64_t mode_changes;          /* relayed <-> independent switches */
	uint64_t local_ahead;           /* own-node templates used before the primary's */
	uint64_t primary_templates;     /* primary templates published */
	uint64_t primary_ignored;       /* behind an own-node block, not used */
};
void generator_relay_state(struct generator_relay_state *out);

#endif
