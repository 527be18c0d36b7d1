/*
 * test_ensure_dir.c - logdir/state_dir creation: nested missing parents,
 * an existing directory, a path through a regular file, an existing file
 * in the directory's place, an empty path.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "ensure_dir.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static int make_root(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_ensure_dir.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int remove_root(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_creates_missing_parents(void **state)
{
	char path[256], err[256] = "";

	(void)state;
	snprintf(path, sizeof(path), "%s/a/b//c/", root);
	assert_int_equal(ensure_dir(path, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/a/b/c", root);
	assert_true(is_dir(path));
	/* Existing: still fine, nothing changes. */
	assert_int_equal(ensure_dir(path, err, sizeof(err)), 0);
	assert_int_equal(ensure_dir(root, err, sizeof(err)), 0);
}

static void test_refuses_what_cannot_be_a_directory(void **state)
{
	char file[256], path[300], err[512] = "", want[600];
	FILE *f;

	(void)state;
	snprintf(file, sizeof(file), "%s/plain-file", root);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);

	assert_int_equal(ensure_dir(file, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s exists and is not a directory", file);
	assert_string_equal(err, want);

	/* A path through the file names the component in the way. */
	snprintf(path, sizeof(path), "%s/logs", file);
	assert_int_equal(ensure_dir(path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s exists and is not a directory", file);
	assert_string_equal(err, want);

	/* Under /proc nothing can be created. */
	assert_int_equal(ensure_dir("/proc/ckpool-test/logs", err, sizeof(err)), -1);
	assert_string_equal(err, "cannot create /proc/ckpool-test: No such file or directory");

	assert_int_equal(ensure_dir("", err, sizeof(err)), -1);
	assert_string_equal(err, "empty directory path");
	assert_int_equal(ensure_dir(NULL, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_creates_missing_parents),
		cmocka_unit_test(test_refuses_what_cannot_be_a_directory),
	};

	return cmocka_run_group_tests_name("ensure_dir", tests, make_root, remove_root);
}
