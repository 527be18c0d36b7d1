/*
 * coinbase_sigs.h - per-miner coinbase signatures: address -> short text.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * The source is a JSON object file {"<address>": "<text>", ...}. Texts are
 * cut to MINER_SIG_MAX bytes and keep only printable ASCII (0x20-0x7e);
 * anything else is stripped with a warning. The table is replaced whole on
 * each (re)load (SIGHUP), so readers see the old or the new one, never a mix.
 */
#ifndef CKPOOL_COINBASE_SIGS_H
#define CKPOOL_COINBASE_SIGS_H

#include <stddef.h>

#define MINER_SIG_MAX 32

/* Loads `path` and makes it the current table. 0 on success; -1 with err
 * (the previous table stays) when the file cannot be read or is not an
 * object of strings. */
int coinbase_sigs_load(const char *path, char *err, size_t errlen);

/* Copies the text for `address` into out (MINER_SIG_MAX + 1 bytes).
 * Returns out, or NULL when the address has no signature. */
const char *coinbase_sigs_lookup(const char *address, char out[MINER_SIG_MAX + 1]);

/* Number of entries in the current table. */
size_t coinbase_sigs_count(void);

/* Drops the table. */
void coinbase_sigs_clear(void);

/* Keeps printable ASCII of `text`, at most MINER_SIG_MAX bytes, in out.
 * Returns 1 when something was stripped or cut, else 0. */
int coinbase_sig_sanitize(const char *text, char out[MINER_SIG_MAX + 1]);

#endif
