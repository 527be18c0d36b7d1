/*
 * network.h - the Bitcoin networks the engine can mine on.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Maps the node's `getblockchaininfo.chain` to an enum and gives each
 * network's address prefixes. Pure: no I/O, no state.
 *
 *   enum network net;
 *   if (network_from_chain("regtest", &net) < 0) ...unknown chain...
 *   network_params(net)->hrp          -> "bcrt"
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_NETWORK_H
#define CKPOOL_NETWORK_H

#include <stdint.h>

enum network { NET_MAIN, NET_TEST, NET_SIGNET, NET_REGTEST };

struct network_params {
	const char *chain;      /* as bitcoind names it: "main", "test", "signet", "regtest" */
	const char *name;       /* for people and errors: "mainnet", "testnet", ... */
	uint8_t p2pkh_version;  /* base58check version byte of P2PKH addresses */
	uint8_t p2sh_version;   /* base58check version byte of P2SH addresses */
	const char *hrp;        /* bech32 human-readable part: "bc", "tb", "tb", "bcrt" */
};

/* Parses a chain name ("main", "test", "testnet4", "signet", "regtest").
 * 0 and *out set on success, -1 on an unknown or NULL name. */
int network_from_chain(const char *chain, enum network *out);

/* The parameters of a network; never NULL (an out-of-range value yields
 * mainnet's). */
const struct network_params *network_params(enum network net);

/* "mainnet", "testnet", "signet" or "regtest". */
const char *network_name(enum network net);

#endif
