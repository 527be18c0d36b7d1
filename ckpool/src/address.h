/*
 * address.h - Bitcoin addresses to scriptPubKey, per network.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Accepts base58check P2PKH and P2SH addresses and BIP173 (bech32, witness
 * v0) / BIP350 (bech32m, witness v1..16) segwit addresses, and produces the
 * output script that pays them:
 *
 *   P2PKH   76 a9 14 <20> 88 ac          (25 bytes)
 *   P2SH    a9 14 <20> 87                (23 bytes)
 *   v0..16  OP_n <len> <program>         (4..42 bytes; OP_0 for v0, 0x51+v-1)
 *
 * Every failure comes with a specific message, e.g. "bad checksum",
 * "address is for mainnet, node is on regtest", "invalid base58 character
 * '0'". Testnet, signet and regtest share their base58 version bytes, so a
 * base58 address for any of them is accepted on all three; bech32 prefixes
 * tell them apart (tb for testnet and signet, bcrt for regtest).
 *
 * Witness versions 2..16 (and v1 programs other than 32 bytes) are valid
 * addresses per BIP350 and yield ADDR_WITNESS_OTHER; such outputs are not
 * spendable with today's rules, so callers that choose payout addresses
 * should refuse that type.
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_ADDRESS_H
#define CKPOOL_ADDRESS_H

#include <stddef.h>
#include <stdint.h>

#include "network.h"

/* Longest address accepted (bech32 is limited to 90 characters). */
#define ADDRESS_MAX_LEN 90
/* Longest scriptPubKey produced: OP_n, push length, 40-byte program. */
#define ADDRESS_SCRIPT_MAX 42

enum address_type { ADDR_P2PKH, ADDR_P2SH, ADDR_P2WPKH, ADDR_P2WSH, ADDR_P2TR, ADDR_WITNESS_OTHER };

/* Decodes addr for network net into its scriptPubKey. 0 on success with
 * script/script_len/type set (type may be NULL); -1 with a NUL-terminated
 * message in err (errlen bytes, may be 0) on failure. */
int address_to_script(const char *addr, enum network net, uint8_t script[ADDRESS_SCRIPT_MAX],
		      size_t *script_len, enum address_type *type, char *err, size_t errlen);

/* "p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr" or "witness_unknown". */
const char *address_type_name(enum address_type type);

/* Lower-level decoders, exposed for tests and fuzzing. */

/* Base58check: decodes into payload (without the 4 checksum bytes), at most
 * cap bytes. Returns the payload length or -1 with err set. */
int base58check_decode(const char *s, uint8_t *payload, size_t cap, char *err, size_t errlen);

enum bech32_encoding { BECH32_INVALID, BECH32, BECH32M };

/* Checks a bech32/bech32m string's format and checksum (BIP173/BIP350),
 * whatever its prefix. BECH32 or BECH32M, or BECH32_INVALID with err set. */
enum bech32_encoding bech32_verify(const char *s, char *err, size_t errlen);

/* Segwit address: checks the encoding rules of BIP173/BIP350 and that the
 * prefix is hrp (case-insensitive). Returns 0 with *version and
 * program/program_len (<= 40 bytes) set, or -1 with err set. */
int segwit_address_decode(const char *addr, const char *hrp, int *version, uint8_t program[40],
			  size_t *program_len, char *err, size_t errlen);

#endif
