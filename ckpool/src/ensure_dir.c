/*
 * ensure_dir.c - creates a directory and its missing parents.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "ensure_dir.h"
#include "error.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

/* Creates one directory; an existing directory counts as success. */
static int make_one(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(path, 0755) == 0)
		return 0;
	if (errno == EEXIST) {
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		return error_set(err, errlen, "%s exists and is not a directory", path);
	}
	return error_set(err, errlen, "cannot create %s: %s", path, strerror(errno));
}

int ensure_dir(const char *path, char *err, size_t errlen)
{
	char partial[PATH_MAX];
	size_t len = path ? strlen(path) : 0;

	if (!len)
		return error_set(err, errlen, "empty directory path");
	if (len >= sizeof(partial))
		return error_set(err, errlen, "directory path longer than %zu bytes",
				 sizeof(partial) - 1);
	memcpy(partial, path, len + 1);
	/* Each parent in turn ("/a", "/a/b", ...), then the whole path. */
	for (size_t i = 1; i < len; i++) {
		if (partial[i] != '/' || partial[i - 1] == '/')
			continue;
		partial[i] = '\0';
		if (make_one(partial, err, errlen))
			return -1;
		partial[i] = '/';
	}
	return make_one(partial, err, errlen);
}
