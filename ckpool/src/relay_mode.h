/*
 * relay_mode.h - wires the relay link into the engine.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * Primary (mode "primary" with primary.auth_token set): starts relay_server
 * on relay_listen; blocks relays send up are submitted to this engine's node
 * on the server's worker thread (and an accepted one asks the generator for
 * a new template); relay_connected / relay_disconnected events name the
 * relay's region. The generator's publish hook (generator_set_link) pushes
 * every workbase to the relays.
 * Without a token the relay link stays off.
 *
 * Relay (mode "passthrough"): starts relay_client towards
 * primary.host:template_push_port; every pushed template goes to
 * generator_primary_workbase() (decoded from the binary TEMPLATE); link changes become relay_connected /
 * relay_disconnected events (primary host, port, RTT). Independent mode is
 * the generator's decision (generator.h) on the link's down time, which
 * it asks through its down_for_ms hook; submission sends blocks up the
 * link through its primary path hook (submit_set_primary_path). /metrics gets the link's families plus
 * ckpool_relay_independent_mode, ckpool_relay_mode_changes_total,
 * ckpool_relay_local_templates_total,
 * ckpool_relay_primary_templates_ignored_total and
 * ckpool_relay_stale_shares_percent; /health turns "degraded" while
 * independent.
 *
 * Call relay_mode_start() after generator_start() (a primary re-pushes the
 * current workbase once its listener is up) and relay_mode_stop() before
 * generator_stop() and submit_stop().
 */
#ifndef CKPOOL_RELAY_MODE_H
#define CKPOOL_RELAY_MODE_H

#include <stddef.h>

#include "config.h"

/* 0, or -1 with err ("relay: cannot listen on 0.0.0.0:8881: ..."). cfg must
 * outlive relay_mode_stop(). */
int relay_mode_start(const struct config *cfg, char *err, size_t errlen);
/* Stops whatever relay_mode_start() started. Idempotent. */
void relay_mode_stop(void);

#endif
