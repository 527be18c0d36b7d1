/*
 * coinbase_sigs.c - owns the address -> signature table: loading and
 * sanitizing the JSON file, the swap on reload, and lookups by address.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "coinbase_sigs.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sig_entry {
	char *address;
	char text[MINER_SIG_MAX + 1];
};

struct sig_table {
	struct sig_entry *entries;   /* sorted by address */
	size_t count;
};

static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct sig_table current;

int coinbase_sig_sanitize(const char *text, char out[MINER_SIG_MAX + 1])
{
	size_t n = 0;
	int changed = 0;

	for (const char *c = text; *c; c++) {
		if (*c < 0x20 || *c > 0x7e) {
			changed = 1;
			continue;
		}
		if (n == MINER_SIG_MAX) {
			changed = 1;
			break;
		}
		out[n++] = *c;
	}
	out[n] = '\0';
	return changed;
}

static int compare_entries(const void *a, const void *b)
{
	return strcmp(((const struct sig_entry *)a)->address,
		      ((const struct sig_entry *)b)->address);
}

static void free_table(struct sig_table *t)
{
	for (size_t i = 0; i < t->count; i++)
		free(t->entries[i].address);
	free(t->entries);
	t->entries = NULL;
	t->count = 0;
}

/* Bech32 addresses are case-insensitive and miners are looked up by the
 * lower-case form; base58 addresses are case-sensitive and kept as written. */
static char *canonical_address(const char *address)
{
	static const char *const hrps[] = { "bc1", "tb1", "bcrt1" };
	char *copy = strdup(address);
	bool bech32 = false;

	if (!copy)
		return NULL;
	for (size_t i = 0; i < sizeof(hrps) / sizeof(hrps[0]); i++)
		if (strncasecmp(address, hrps[i], strlen(hrps[i])) == 0)
			bech32 = true;
	for (char *c = copy; bech32 && *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return copy;
}

static int table_from_json(json_t *root, struct sig_table *t, char *err, size_t errlen)
{
	const char *address;
	json_t *text;

	t->entries = calloc(json_object_size(root) + 1, sizeof(*t->entries));
	t->count = 0;
	if (!t->entries) {
		snprintf(err, errlen, "coinbase_sigs: out of memory");
		return -1;
	}
	json_object_foreach(root, address, text) {
		struct sig_entry *e = &t->entries[t->count];

		if (!json_is_string(text)) {
			log_warn("coinbase_sigs", "signature for %s is not a string; skipped",
				 address);
			continue;
		}
		if (coinbase_sig_sanitize(json_string_value(text), e->text))
			log_warn("coinbase_sigs",
				 "signature for %s cut to %d printable ASCII bytes: \"%s\"",
				 address, MINER_SIG_MAX, e->text);
		e->address = canonical_address(address);
		if (e->address)
			t->count++;
	}
	qsort(t->entries, t->count, sizeof(*t->entries), compare_entries);
	return 0;
}

int coinbase_sigs_load(const char *path, char *err, size_t errlen)
{
	struct sig_table fresh, old;
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);

	if (!root) {
		snprintf(err, errlen, "coinbase_sigs: cannot load %s: %s", path, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(err, errlen, "coinbase_sigs: %s must hold a JSON object of address -> text",
			 path);
		return -1;
	}
	if (table_from_json(root, &fresh, err, errlen)) {
		json_decref(root);
		return -1;
	}
	json_decref(root);
	pthread_rwlock_wrlock(&table_lock);
	old = current;
	current = fresh;
	pthread_rwlock_unlock(&table_lock);
	free_table(&old);
	return 0;
}

const char *coinbase_sigs_lookup(const char *address, char out[MINER_SIG_MAX + 1])
{
	struct sig_entry key = { .address = (char *)address };
	const struct sig_entry *found;
	const char *result = NULL;

	pthread_rwlock_rdlock(&table_lock);
	found = current.count ? bsearch(&key, current.entries, current.count,
					sizeof(*current.entries), compare_entries)
			      : NULL;
	if (found && found->text[0]) {
		copy_string(out, found->text, MINER_SIG_MAX + 1);
		result = out;
	}
	pthread_rwlock_unlock(&table_lock);
	return result;
}

size_t coinbase_sigs_count(void)
{
	size_t n;

	pthread_rwlock_rdlock(&table_lock);
	n = current.count;
	pthread_rwlock_unlock(&table_lock);
	return n;
}

void coinbase_sigs_clear(void)
{
	struct sig_table old;

	pthread_rwlock_wrlock(&table_lock);
	old = current;
	current.entries = NULL;
	current.count = 0;
	pthread_rwlock_unlock(&table_lock);
	free_table(&old);
}
