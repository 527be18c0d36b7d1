/*
 * address.c - base58check and bech32/bech32m decoding into output scripts.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Written from BIP173, BIP350 and the base58check description: base58 is a
 * big-endian base-58 number whose leading '1's stand for zero bytes, with a
 * 4-byte sha256d checksum appended to the payload.
 */
#include "address.h"
#include "bytes.h"
#include "error.h"
#include "hash.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define BECH32_CONST 1u
#define BECH32M_CONST 0x2bc830a3u
#define BECH32_MIN_LEN 8
#define BECH32_HRP_MAX 83
#define CHECKSUM_CHARS 6

static const char base58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char bech32_charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/* Printable form of an offending character for error messages. */
static int shown_char(char c)
{
	return isprint((unsigned char)c) ? c : '?';
}

static int base58_value(char c)
{
	const char *p = c ? strchr(base58_alphabet, c) : NULL;

	return p ? (int)(p - base58_alphabet) : -1;
}

int base58check_decode(const char *s, uint8_t *payload, size_t cap, char *err, size_t errlen)
{
	/* 90 base58 digits fit in 66 bytes (log(58)/log(256) = 0.733). */
	uint8_t num[ADDRESS_MAX_LEN];
	uint8_t whole[2 * ADDRESS_MAX_LEN];
	uint8_t check[32];
	size_t len = strnlen(s, ADDRESS_MAX_LEN + 1);
	size_t zeros = 0, start, total;

	if (!len)
		return error_set(err, errlen, "empty address");
	if (len > ADDRESS_MAX_LEN)
		return error_set(err, errlen, "address longer than %d characters", ADDRESS_MAX_LEN);
	while (zeros < len && s[zeros] == '1')
		zeros++;
	memset(num, 0, sizeof(num));
	for (size_t i = zeros; i < len; i++) {
		int v = base58_value(s[i]);
		unsigned carry;

		if (v < 0)
			return error_set(err, errlen, "invalid base58 character '%c'", shown_char(s[i]));
		carry = (unsigned)v;
		for (size_t j = sizeof(num); j-- > 0;) {
			carry += 58u * num[j];
			num[j] = (uint8_t)carry;
			carry >>= 8;
		}
	}
	start = 0;
	while (start < sizeof(num) && !num[start])
		start++;
	total = zeros + sizeof(num) - start;
	if (total < 4)
		return error_set(err, errlen, "base58 address too short");
	if (total - 4 > cap)
		return error_set(err, errlen, "base58 address decodes to %zu bytes, want %zu", total - 4, cap);
	/* Leading zero bytes, then the number's digits: payload || checksum. */
	memset(whole, 0, zeros);
	memcpy(whole + zeros, num + start, sizeof(num) - start);
	sha256d(whole, total - 4, check);
	if (memcmp(check, whole + total - 4, 4))
		return error_set(err, errlen, "bad checksum");
	memcpy(payload, whole, total - 4);
	return (int)(total - 4);
}

static uint32_t bech32_polymod_step(uint32_t chk, uint8_t value)
{
	static const uint32_t gen[5] = { 0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3 };
	uint32_t top = chk >> 25;

	chk = (chk & 0x1ffffff) << 5 ^ value;
	for (int i = 0; i < 5; i++) {
		if ((top >> i) & 1)
			chk ^= gen[i];
	}
	return chk;
}

static enum bech32_encoding bech32_checksum_kind(const char *hrp, size_t hrp_len,
						 const uint8_t *values, size_t n)
{
	uint32_t chk = 1;

	for (size_t i = 0; i < hrp_len; i++)
		chk = bech32_polymod_step(chk, (uint8_t)hrp[i] >> 5);
	chk = bech32_polymod_step(chk, 0);
	for (size_t i = 0; i < hrp_len; i++)
		chk = bech32_polymod_step(chk, (uint8_t)hrp[i] & 31);
	for (size_t i = 0; i < n; i++)
		chk = bech32_polymod_step(chk, values[i]);
	if (chk == BECH32_CONST)
		return BECH32;
	if (chk == BECH32M_CONST)
		return BECH32M;
	return BECH32_INVALID;
}

struct bech32_parts {
	char hrp[BECH32_HRP_MAX + 1];  /* lowercase */
	uint8_t values[ADDRESS_MAX_LEN]; /* 5-bit data values, checksum excluded */
	size_t n;
	enum bech32_encoding encoding;
};

/* Checks characters and case; finds the separator. Returns its index. */
static int bech32_split(const char *s, size_t len, char *err, size_t errlen)
{
	bool lower = false, upper = false;
	const char *sep;

	if (len < BECH32_MIN_LEN)
		return error_set(err, errlen, "bech32 address too short");
	if (len > ADDRESS_MAX_LEN)
		return error_set(err, errlen, "bech32 address longer than %d characters", ADDRESS_MAX_LEN);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 33 || c > 126)
			return error_set(err, errlen, "invalid character in bech32 address");
		lower |= islower(c) != 0;
		upper |= isupper(c) != 0;
	}
	if (lower && upper)
		return error_set(err, errlen, "bech32 address mixes upper and lower case");
	sep = memrchr(s, '1', len);
	if (!sep || sep == s)
		return error_set(err, errlen, "bech32 address has no human-readable prefix");
	if (sep - s > BECH32_HRP_MAX)
		return error_set(err, errlen, "bech32 prefix too long");
	if (len - (size_t)(sep - s) - 1 < CHECKSUM_CHARS)
		return error_set(err, errlen, "bech32 checksum too short");
	return (int)(sep - s);
}

static int bech32_decode(const char *s, struct bech32_parts *out, char *err, size_t errlen)
{
	size_t len = strnlen(s, ADDRESS_MAX_LEN + 1);
	int sep = bech32_split(s, len, err, errlen);
	size_t data_len;

	if (sep < 0)
		return -1;
	for (int i = 0; i < sep; i++)
		out->hrp[i] = (char)tolower((unsigned char)s[i]);
	out->hrp[sep] = '\0';
	data_len = len - (size_t)sep - 1;
	for (size_t i = 0; i < data_len; i++) {
		char c = (char)tolower((unsigned char)s[sep + 1 + i]);
		const char *p = strchr(bech32_charset, c);

		if (!p || !c)
			return error_set(err, errlen, "invalid bech32 character '%c'", shown_char(s[sep + 1 + i]));
		out->values[i] = (uint8_t)(p - bech32_charset);
	}
	out->encoding = bech32_checksum_kind(out->hrp, (size_t)sep, out->values, data_len);
	if (out->encoding == BECH32_INVALID)
		return error_set(err, errlen, "bad checksum");
	out->n = data_len - CHECKSUM_CHARS;
	return 0;
}

/* Regroups 5-bit values into bytes; padding must be under 5 zero bits. */
static int five_to_eight(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *out_len,
			 char *err, size_t errlen)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 5 | in[i]) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (len == cap)
				return error_set(err, errlen, "witness program longer than %zu bytes", cap);
			out[len++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits >= 5)
		return error_set(err, errlen, "bech32 data has excess padding");
	if (acc & ((1u << bits) - 1))
		return error_set(err, errlen, "bech32 data has non-zero padding");
	*out_len = len;
	return 0;
}

static int witness_program_check(int version, enum bech32_encoding enc, size_t len, char *err,
				 size_t errlen)
{
	if (version == 0 && enc != BECH32)
		return error_set(err, errlen, "witness v0 address must use bech32, not bech32m");
	if (version != 0 && enc != BECH32M)
		return error_set(err, errlen, "witness v%d address must use bech32m, not bech32", version);
	if (len < 2 || len > 40)
		return error_set(err, errlen, "witness program of %zu bytes, must be 2 to 40", len);
	if (version == 0 && len != 20 && len != 32)
		return error_set(err, errlen, "witness v0 program of %zu bytes, must be 20 or 32", len);
	return 0;
}

static int segwit_from_parts(const struct bech32_parts *parts, int *version, uint8_t program[40],
			     size_t *program_len, char *err, size_t errlen)
{
	/* 40 bytes plus slack so an over-long program is reported by length. */
	uint8_t prog[64];
	size_t len = 0;

	if (parts->n < 1)
		return error_set(err, errlen, "bech32 address has no witness version");
	if (parts->values[0] > 16)
		return error_set(err, errlen, "invalid witness version %d", parts->values[0]);
	if (five_to_eight(parts->values + 1, parts->n - 1, prog, sizeof(prog), &len, err, errlen) < 0)
		return -1;
	if (witness_program_check(parts->values[0], parts->encoding, len, err, errlen) < 0)
		return -1;
	*version = parts->values[0];
	memcpy(program, prog, len);
	*program_len = len;
	return 0;
}

enum bech32_encoding bech32_verify(const char *s, char *err, size_t errlen)
{
	struct bech32_parts parts;

	if (bech32_decode(s, &parts, err, errlen) < 0)
		return BECH32_INVALID;
	return parts.encoding;
}

int segwit_address_decode(const char *addr, const char *hrp, int *version, uint8_t program[40],
			  size_t *program_len, char *err, size_t errlen)
{
	struct bech32_parts parts;

	if (bech32_decode(addr, &parts, err, errlen) < 0)
		return -1;
	if (strcmp(parts.hrp, hrp))
		return error_set(err, errlen, "bech32 prefix '%s', want '%s'", parts.hrp, hrp);
	return segwit_from_parts(&parts, version, program, program_len, err, errlen);
}

/* Which networks a bech32 prefix belongs to, NULL when unknown. */
static const char *networks_of_hrp(const char *hrp)
{
	if (!strcmp(hrp, "bc"))
		return "mainnet";
	if (!strcmp(hrp, "tb"))
		return "testnet or signet";
	if (!strcmp(hrp, "bcrt"))
		return "regtest";
	return NULL;
}

/* Lowercase prefix before the last '1' when it is a known bech32 prefix. */
static bool has_known_hrp(const char *addr)
{
	size_t len = strnlen(addr, ADDRESS_MAX_LEN + 1);
	const char *sep = memrchr(addr, '1', len);
	char hrp[8];
	size_t n;

	if (!sep || (n = (size_t)(sep - addr)) == 0 || n >= sizeof(hrp))
		return false;
	for (size_t i = 0; i < n; i++)
		hrp[i] = (char)tolower((unsigned char)addr[i]);
	hrp[n] = '\0';
	return networks_of_hrp(hrp) != NULL;
}

static void write_witness_script(int version, const uint8_t *program, size_t len, uint8_t *script,
				 size_t *script_len)
{
	script[0] = version ? (uint8_t)(0x50 + version) : 0x00;
	script[1] = (uint8_t)len;
	memcpy(script + 2, program, len);
	*script_len = 2 + len;
}

static enum address_type witness_type(int version, size_t len)
{
	if (version == 0)
		return len == 20 ? ADDR_P2WPKH : ADDR_P2WSH;
	if (version == 1 && len == 32)
		return ADDR_P2TR;
	return ADDR_WITNESS_OTHER;
}

static int segwit_to_script(const char *addr, enum network net, uint8_t *script,
			    size_t *script_len, enum address_type *type, char *err, size_t errlen)
{
	const struct network_params *np = network_params(net);
	struct bech32_parts parts;
	uint8_t program[40];
	size_t len;
	int version;

	if (bech32_decode(addr, &parts, err, errlen) < 0)
		return -1;
	if (strcmp(parts.hrp, np->hrp))
		return error_set(err, errlen, "address is for %s, node is on %s",
			    networks_of_hrp(parts.hrp), np->name);
	if (segwit_from_parts(&parts, &version, program, &len, err, errlen) < 0)
		return -1;
	write_witness_script(version, program, len, script, script_len);
	if (type)
		*type = witness_type(version, len);
	return 0;
}

static const char *networks_of_base58_version(uint8_t version)
{
	if (version == 0x00 || version == 0x05)
		return "mainnet";
	if (version == 0x6f || version == 0xc4)
		return "testnet, signet or regtest";
	return NULL;
}

/* Base58 text that failed but is shaped like bech32 with a foreign prefix. */
static bool looks_like_foreign_bech32(const char *addr)
{
	size_t len = strnlen(addr, ADDRESS_MAX_LEN + 1);
	const char *sep = memrchr(addr, '1', len);

	if (!sep || sep == addr || len < BECH32_MIN_LEN || len > ADDRESS_MAX_LEN)
		return false;
	for (const char *p = sep + 1; p < addr + len; p++) {
		if (!*p || !strchr(bech32_charset, tolower((unsigned char)*p)))
			return false;
	}
	return true;
}

static int base58_to_script(const char *addr, enum network net, uint8_t *script,
			    size_t *script_len, enum address_type *type, char *err, size_t errlen)
{
	const struct network_params *np = network_params(net);
	uint8_t payload[21];
	const char *owner;
	int n = base58check_decode(addr, payload, sizeof(payload), err, errlen);

	if (n < 0) {
		if (looks_like_foreign_bech32(addr))
			return error_set(err, errlen, "unknown bech32 prefix in address");
		return -1;
	}
	if (n != 21)
		return error_set(err, errlen, "base58 address decodes to %d bytes, want 21", n);
	if (payload[0] != np->p2pkh_version && payload[0] != np->p2sh_version) {
		owner = networks_of_base58_version(payload[0]);
		if (owner)
			return error_set(err, errlen, "address is for %s, node is on %s", owner, np->name);
		return error_set(err, errlen, "unknown base58 address version 0x%02x", payload[0]);
	}
	if (payload[0] == np->p2pkh_version) {
		const uint8_t head[3] = { OP_DUP, OP_HASH160, 20 };

		memcpy(script, head, 3);
		memcpy(script + 3, payload + 1, 20);
		script[23] = OP_EQUALVERIFY;
		script[24] = OP_CHECKSIG;
		*script_len = 25;
		if (type)
			*type = ADDR_P2PKH;
	} else {
		script[0] = OP_HASH160;
		script[1] = 20;
		memcpy(script + 2, payload + 1, 20);
		script[22] = OP_EQUAL;
		*script_len = 23;
		if (type)
			*type = ADDR_P2SH;
	}
	return 0;
}

int address_to_script(const char *addr, enum network net, uint8_t script[ADDRESS_SCRIPT_MAX],
		      size_t *script_len, enum address_type *type, char *err, size_t errlen)
{
	if (!addr || !*addr)
		return error_set(err, errlen, "empty address");
	if (has_known_hrp(addr))
		return segwit_to_script(addr, net, script, script_len, type, err, errlen);
	return base58_to_script(addr, net, script, script_len, type, err, errlen);
}

const char *address_type_name(enum address_type type)
{
	switch (type) {
	case ADDR_P2PKH: return "p2pkh";
	case ADDR_P2SH: return "p2sh";
	case ADDR_P2WPKH: return "p2wpkh";
	case ADDR_P2WSH: return "p2wsh";
	case ADDR_P2TR: return "p2tr";
	case ADDR_WITNESS_OTHER: return "witness_unknown";
	}
	return "unknown";
}
