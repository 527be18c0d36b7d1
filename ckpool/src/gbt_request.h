/*
 * gbt_request.h - the getblocktemplate request a chain requires.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * BIP 9 lets a node demand that the client name the rules it understands.
 * Bitcoin Core refuses a request without "segwit" on every chain, and on
 * signet one without "signet" too (-8: "getblocktemplate must be called with
 * the signet rule set ..."). The chain is the node's own answer
 * (getblockchaininfo.chain), so the rules follow the node, not the config.
 * Pure: no I/O, no state.
 *
 *   const char *rules[GBT_MAX_RULES];
 *   size_t n = gbt_rules_for_chain("signet", rules);  -> 2: "segwit", "signet"
 *   json_t *params = gbt_request_params("signet");    -> [{"rules":["segwit","signet"]}]
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_GBT_REQUEST_H
#define CKPOOL_GBT_REQUEST_H

#include <jansson.h>
#include <stddef.h>

#define GBT_MAX_RULES 4

/* The rules for `chain` (as getblockchaininfo names it: "main", "test",
 * "testnet4", "signet", "regtest"; NULL or unknown gets the common rules:
 * segwit only) into rules[]; returns how many (1..GBT_MAX_RULES). */
size_t gbt_rules_for_chain(const char *chain, const char *rules[GBT_MAX_RULES]);

/* The params array for getblocktemplate on `chain`, a new reference:
 * [{"rules": [...]}]. Never NULL (allocation failure aborts). */
json_t *gbt_request_params(const char *chain);

#endif
