/*
 * ensure_dir.h - a directory that exists, created like `mkdir -p`.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 *
 * The engine's logdir and state_dir need not exist before the first start:
 * each missing component of the path is created (mode 0755 before the
 * umask). An existing directory is fine; an existing non-directory, or a
 * component that cannot be created, is an error naming the path:
 *   "cannot create /srv/pool/logs: Permission denied"
 *   "/srv/pool/logs exists and is not a directory"
 */
#ifndef CKPOOL_ENSURE_DIR_H
#define CKPOOL_ENSURE_DIR_H

#include <stddef.h>

/* 0 when `path` is (now) a directory; -1 with err otherwise. An empty path
 * is an error too. */
int ensure_dir(const char *path, char *err, size_t errlen);

#endif
