/*
 * error.h - specific error messages into a caller's buffer.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Functions that can fail on bad input take `char *err, size_t errlen` and
 * fill it with one line naming the input ("bad checksum", "address is for
 * mainnet, node is on regtest").
 *
 * Pure layer: no I/O, no globals, no threads of its own; includes only
 * pure headers (make -C ckpool check-layers); unit tested in tests/.
 */
#ifndef CKPOOL_ERROR_H
#define CKPOOL_ERROR_H

#include <stddef.h>

/* Formats the message into err (when err and errlen are non-zero) and
 * returns -1, so callers can write `return error_set(err, errlen, ...)`. */
int error_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
