/*
 * seq_mark.c - owns the events.seq file: a 64-byte MAP_SHARED mapping whose
 * counter survives the process (seq_mark.h).
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "seq_mark.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARK_SIZE 64
#define MAGIC "TBGSEQ1"   /* with its NUL: 8 bytes */

struct mark_layout {
	char magic[8];
	char boot_id[UUID_STR_LEN];
	char pad[3];
	atomic_uint_least64_t count;   /* offset 48 */
	char tail[MARK_SIZE - 56];
};

_Static_assert(sizeof(struct mark_layout) == MARK_SIZE, "events.seq is 64 bytes");
_Static_assert(offsetof(struct mark_layout, count) == 48, "count at offset 48");
/* Shared memory needs an atomic that is a plain CPU instruction, not a lock. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics are lock-free");

static struct mark_layout *mark;   /* NULL while closed */
static int mark_fd = -1;

static bool plausible_boot_id(const char *s)
{
	if (memchr(s, '\0', UUID_STR_LEN) != s + UUID_STR_LEN - 1)
		return false;
	for (size_t i = 0; i < UUID_STR_LEN - 1; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = s[i];

		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

static void read_previous(const struct mark_layout *m, struct seq_mark_previous *prev)
{
	memset(prev, 0, sizeof(*prev));
	if (memcmp(m->magic, MAGIC, sizeof(m->magic)) || !plausible_boot_id(m->boot_id))
		return;
	prev->known = true;
	memcpy(prev->boot_id, m->boot_id, UUID_STR_LEN);
	prev->last_seq = atomic_load(&m->count);
}

int seq_mark_open(const char *dir, const char *boot_id, struct seq_mark_previous *prev,
		  char *err, size_t errlen)
{
	char path[1100];
	struct stat st;
	void *map;
	int fd;

	memset(prev, 0, sizeof(*prev));
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, SEQ_MARK_FILE) >= sizeof(path)) {
		snprintf(err, errlen, "events: state_dir is too long for %s", SEQ_MARK_FILE);
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "events: cannot open %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* One engine per state_dir: a second would count into the same mark. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "events: %s is in use by another engine (%s): give each engine "
			 "its own state_dir", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* Real blocks, not a sparse hole: a store into a hole on a full disk
	 * would be SIGBUS instead of this error. */
	if (st.st_size != MARK_SIZE
	    && (ftruncate(fd, 0) < 0 || (errno = posix_fallocate(fd, 0, MARK_SIZE)) != 0)) {
		snprintf(err, errlen, "events: cannot size %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	map = mmap(NULL, MARK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		snprintf(err, errlen, "events: cannot map %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	mark = map;
	mark_fd = fd;   /* kept open: it holds the lock */
	if (st.st_size == MARK_SIZE)
		read_previous(mark, prev);
	/* The magic goes last: a kill between these stores leaves no valid
	 * mark, never the old id paired with the new count. */
	memset(mark->magic, 0, sizeof(mark->magic));
	atomic_store(&mark->count, 0);
	copy_string(mark->boot_id, boot_id, sizeof(mark->boot_id));
	memcpy(mark->magic, MAGIC, sizeof(mark->magic));
	return 0;
}

void seq_mark_count(void)
{
	if (mark)
		atomic_fetch_add_explicit(&mark->count, 1, memory_order_relaxed);
}

uint64_t seq_mark_value(void)
{
	return mark ? atomic_load(&mark->count) : 0;
}

void seq_mark_close(void)
{
	if (!mark)
		return;
	msync(mark, MARK_SIZE, MS_SYNC);
	munmap(mark, MARK_SIZE);
	mark = NULL;
	close(mark_fd);
	mark_fd = -1;
}
