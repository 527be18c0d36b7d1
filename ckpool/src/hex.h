/*
 * hex.h - hexadecimal encoding and byte-order reversal.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Bitcoin shows hashes reversed ("display order") relative to how they are
 * hashed and serialized ("internal order"); the *_reversed helpers convert.
 * Decoders never read past the string's terminating NUL nor write past the
 * given capacity. Lowercase and uppercase digits are accepted; output is
 * lowercase.
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_HEX_H
#define CKPOOL_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase hex digits and a NUL to out (2*len+1 bytes). */
void hex_encode(const void *data, size_t len, char *out);

/* Like hex_encode but of the bytes in reverse order (display order of a
 * hash kept in internal order). */
void hex_encode_reversed(const void *data, size_t len, char *out);

/* hex_encode into a new malloc'd string; aborts on out-of-memory. */
char *hex_encode_alloc(const void *data, size_t len);

/* Decodes exactly len bytes: hex must be exactly 2*len valid digits.
 * 0 on success, -1 otherwise (out may be partly written). */
int hex_decode_exact(const char *hex, uint8_t *out, size_t len);

/* Decodes a hex string of even length into out, at most cap bytes.
 * Returns the number of bytes written, or -1 when the string is odd-length,
 * holds a non-hex character or needs more than cap bytes. */
long hex_decode(const char *hex, uint8_t *out, size_t cap);

/* True when the first len characters are hex digits (stops at a NUL). */
bool hex_is_valid(const char *hex, size_t len);

/* Value of one hex digit, -1 when c is not one. */
int hex_digit_value(char c);

/* Reverses len bytes in place. */
void reverse_bytes(void *data, size_t len);

/* Decodes a 32-byte hash written in display order (64 hex digits) into
 * internal order. 0 on success, -1 on malformed input. */
int hex_decode_hash_reversed(const char *hex, uint8_t out[32]);

#endif
