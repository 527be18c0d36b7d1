/*
 * stratum_io.h - what the Stratum server (stratum.c) offers the code that
 * answers miners (stratum_methods.c, stratum_submit.c, stratum_session.c):
 * its settings and a connection's output. Implemented by stratum.c; a
 * header of its own so the methods do not include stratum.h, which
 * includes them (no include cycle).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#ifndef CKPOOL_STRATUM_IO_H
#define CKPOOL_STRATUM_IO_H

#include <stddef.h>

#include "config.h"
#include "network.h"
#include "vardiff.h"

struct conn;

/* Read-only after start: what method handlers need to know. */
struct stratum_settings {
	const struct config *cfg;
	enum network net;
	struct vardiff_policy vardiff;
	double old_diff_grace_s;    /* how long a replaced difficulty is honoured */
};

const struct stratum_settings *stratum_settings(void);

/* Queues bytes for the miner; responses produced while a read is handled
 * go out in one write at its end. Closes the connection (soon) when more
 * than max_pending_bytes stay unsent. Only from c's own thread. */
void conn_send(struct conn *c, const char *data, size_t len);
/* Marks c to be closed once the current event is handled; logs why (info
 * for authorized miners, debug for others). */
void conn_close_soon(struct conn *c, const char *why);
/* The same for a protocol violation (oversize line, slow reader, garbage):
 * always logged as a warning with the peer's address. */
void conn_close_for_abuse(struct conn *c, const char *why);

#endif
