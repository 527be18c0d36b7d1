/*
 * fuzz_config.c - libFuzzer target: the engine's configuration file
 * (config_load), whose every key is validated before the engine starts.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * The input is the file's contents, handed over through a memory file
 * (memfd) so config_load reads it by path as the engine does. A refused
 * file must come with one "config: ..." line; an accepted one must hold
 * the documented invariants (terminated strings, counts within their
 * arrays, ports and lengths in range). Anything else aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *why)
{
	fprintf(stderr, "config fuzz: %s\n", why);
	abort();
}

static void terminated(const char *s, size_t size, const char *name)
{
	if (!memchr(s, '\0', size))
		broken(name);
}

#define TERMINATED(field) terminated((field), sizeof(field), #field " not terminated")

static void check_accepted(const struct config *cfg)
{
	size_t n;

	if (cfg->btcd_count < 1 || cfg->btcd_count > CONFIG_MAX_BTCD)
		broken("btcd_count out of range");
	for (size_t i = 0; i < cfg->btcd_count; i++) {
		TERMINATED(cfg->btcd[i].url);
		TERMINATED(cfg->btcd[i].auth);
		TERMINATED(cfg->btcd[i].pass);
	}
	if (cfg->serverurl_count < 1 || cfg->serverurl_count > CONFIG_MAX_SERVERURL)
		broken("serverurl_count out of range");
	for (size_t i = 0; i < cfg->serverurl_count; i++)
		TERMINATED(cfg->serverurl[i]);
	TERMINATED(cfg->btcaddress);
	TERMINATED(cfg->btcsig);
	TERMINATED(cfg->zmqblock);
	TERMINATED(cfg->logdir);
	TERMINATED(cfg->state_dir);
	TERMINATED(cfg->region);
	TERMINATED(cfg->pool_instance);
	TERMINATED(cfg->primary.host);
	TERMINATED(cfg->primary.auth_token);
	TERMINATED(cfg->relay_listen);
	TERMINATED(cfg->events.socket_path);
	TERMINATED(cfg->metrics_listen);
	TERMINATED(cfg->coinbase_sigs);
	if (cfg->primary.port < 1 || cfg->primary.port > 65535 || cfg->primary.template_push_port < 1
	    || cfg->primary.template_push_port > 65535)
		broken("relay port out of range");
	if (cfg->nonce1length < 1 || cfg->nonce1length > 8 || cfg->nonce2length < 1
	    || cfg->nonce2length > 32)
		broken("nonce lengths out of range");
	if (!(cfg->mindiff > 0) || cfg->startdiff < cfg->mindiff
	    || (cfg->maxdiff != 0 && cfg->maxdiff < cfg->mindiff))
		broken("difficulties inconsistent");
	if (cfg->mode == MODE_PASSTHROUGH
	    && (!*cfg->primary.host || strlen(cfg->primary.auth_token) < CONFIG_MIN_TOKEN_LEN))
		broken("passthrough without primary host or token");
	for (n = 0; n < CONFIG_MAX_EVENT_TYPES && cfg->events.event_types[n]; n++)
		;
	if (cfg->events.event_types[n] && n == CONFIG_MAX_EVENT_TYPES)
		broken("event_types not NULL-terminated");
	for (n = 0; n < CONFIG_MAX_UNKNOWN && cfg->unknown_keys[n]; n++)
		;
	if (cfg->unknown_keys[n])
		broken("unknown_keys not NULL-terminated");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	char path[64], err[512] = "";
	int fd = memfd_create("fuzz-config", 0);

	if (fd < 0)
		broken("memfd_create failed");
	if (size && write(fd, data, size) != (ssize_t)size)
		broken("write to memfd failed");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (config_load(path, &cfg, err, sizeof(err)) == 0) {
		check_accepted(&cfg);
		config_free(&cfg);
	} else if (strncmp(err, "config: ", 8) || strchr(err, '\n')) {
		fprintf(stderr, "message: %s\n", err);
		broken("a refused config without one \"config: \" line");
	}
	close(fd);
	return 0;
}
