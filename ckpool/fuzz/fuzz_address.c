/*
 * fuzz_address.c - libFuzzer target for the address decoders.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Feeds arbitrary strings to address_to_script on every network and to
 * bech32_verify; any success must yield a well-formed script.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char addr[256], err[128];
	uint8_t script[ADDRESS_SCRIPT_MAX];
	size_t len;
	enum address_type type;

	if (size >= sizeof(addr))
		size = sizeof(addr) - 1;
	memcpy(addr, data, size);
	addr[size] = '\0';
	for (int net = NET_MAIN; net <= NET_REGTEST; net++) {
		if (address_to_script(addr, (enum network)net, script, &len, &type, err, sizeof(err)))
			continue;
		if (len < 4 || len > ADDRESS_SCRIPT_MAX || !address_type_name(type))
			abort();
	}
	bech32_verify(addr, err, sizeof(err));
	return 0;
}
