/*
 * gbt_request.c - the rules a getblocktemplate request names, per chain.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "gbt_request.h"

#include <stdlib.h>
#include <string.h>

size_t gbt_rules_for_chain(const char *chain, const char *rules[GBT_MAX_RULES])
{
	size_t n = 0;

	rules[n++] = "segwit";
	/* BIP 325: a signet node only hands out templates to clients that
	 * know blocks need the signet solution. */
	if (chain && !strcmp(chain, "signet"))
		rules[n++] = "signet";
	return n;
}

json_t *gbt_request_params(const char *chain)
{
	const char *rules[GBT_MAX_RULES];
	size_t n = gbt_rules_for_chain(chain, rules);
	json_t *list = json_array();
	json_t *req = json_object();
	json_t *params = json_array();

	if (!list || !req || !params)
		abort();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_string(rules[i]));
	json_object_set_new(req, "rules", list);
	json_array_append_new(params, req);
	return params;
}
