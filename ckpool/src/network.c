/*
 * network.c - chain names and per-network address prefixes.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "network.h"

#include <string.h>

static const struct network_params params[] = {
	[NET_MAIN]    = { "main",    "mainnet", 0x00, 0x05, "bc" },
	[NET_TEST]    = { "test",    "testnet", 0x6f, 0xc4, "tb" },
	[NET_SIGNET]  = { "signet",  "signet",  0x6f, 0xc4, "tb" },
	[NET_REGTEST] = { "regtest", "regtest", 0x6f, 0xc4, "bcrt" },
};

int network_from_chain(const char *chain, enum network *out)
{
	if (!chain)
		return -1;
	if (!strcmp(chain, "testnet4") || !strcmp(chain, "testnet")) {
		*out = NET_TEST;
		return 0;
	}
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		if (!strcmp(chain, params[i].chain)) {
			*out = (enum network)i;
			return 0;
		}
	}
	return -1;
}

const struct network_params *network_params(enum network net)
{
	if ((unsigned)net >= sizeof(params) / sizeof(params[0]))
		return &params[NET_MAIN];
	return &params[net];
}

const char *network_name(enum network net)
{
	return network_params(net)->name;
}
