/*
 * test_seq_mark.c - events.seq: a first start knows no previous boot; a
 * restart reads the previous id and count; a child killed with SIGKILL
 * mid-count leaves its count behind; a foreign or short file is no mark;
 * an unwritable directory is an error naming the file.
 *
 * Copyright (C) 2026 The Bitcoin Game. GPLv3 or later, see ../COPYING.
 */
#include "helpers.h"
#include "seq_mark.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define BOOT_A "0b7c3f7e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
#define BOOT_B "1c8d4a8f-2e3b-4d4c-8f90-1b2c3d4e5f60"
#define BOOT_C "2d9e5b90-3f4c-4e5d-a0a1-2c3d4e5f6071"

static char root[64];

static int make_root(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_seq_mark.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int remove_root(void **state)
{
	char cmd[128];

	(void)state;
	seq_mark_close();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *content, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, SEQ_MARK_FILE);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	fclose(f);
}

static void test_restart_reads_the_previous_boot(void **state)
{
	struct seq_mark_previous prev;
	char err[256];

	(void)state;
	assert_int_equal(seq_mark_open(root, BOOT_A, &prev, err, sizeof(err)), 0);
	assert_false(prev.known);
	for (int i = 0; i < 5; i++)
		seq_mark_count();
	assert_int_equal(seq_mark_value(), 5);
	seq_mark_close();
	seq_mark_count();   /* closed: no-op */

	assert_int_equal(seq_mark_open(root, BOOT_B, &prev, err, sizeof(err)), 0);
	assert_true(prev.known);
	assert_string_equal(prev.boot_id, BOOT_A);
	assert_int_equal(prev.last_seq, 5);
	assert_int_equal(seq_mark_value(), 0);
	seq_mark_close();
}

static void test_a_killed_process_leaves_its_count(void **state)
{
	struct seq_mark_previous prev;
	char err[256];
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (seq_mark_open(root, BOOT_C, &prev, err, sizeof(err)))
			_exit(3);
		for (int i = 0; i < 1000; i++)
			seq_mark_count();
		raise(SIGKILL);   /* no close, no msync: only the page cache has it */
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	assert_int_equal(seq_mark_open(root, BOOT_A, &prev, err, sizeof(err)), 0);
	assert_true(prev.known);
	assert_string_equal(prev.boot_id, BOOT_C);
	assert_int_equal(prev.last_seq, 1000);
	seq_mark_close();
}

static void test_a_foreign_file_is_no_mark(void **state)
{
	struct seq_mark_previous prev;
	char junk[64];
	char err[256];

	(void)state;
	memset(junk, 'x', sizeof(junk));
	write_file(junk, sizeof(junk));
	assert_int_equal(seq_mark_open(root, BOOT_B, &prev, err, sizeof(err)), 0);
	assert_false(prev.known);
	seq_mark_close();

	write_file("TBGSEQ1", 8);   /* right magic, cut short */
	assert_int_equal(seq_mark_open(root, BOOT_C, &prev, err, sizeof(err)), 0);
	assert_false(prev.known);
	seq_mark_count();
	seq_mark_close();
	assert_int_equal(seq_mark_open(root, BOOT_A, &prev, err, sizeof(err)), 0);
	assert_true(prev.known);   /* and the short file became a mark */
	assert_string_equal(prev.boot_id, BOOT_C);
	assert_int_equal(prev.last_seq, 1);
	seq_mark_close();
}

static void test_an_unusable_directory_is_an_error(void **state)
{
	struct seq_mark_previous prev;
	char err[256];

	(void)state;
	assert_int_equal(seq_mark_open("/proc/ckpool-none", BOOT_A, &prev, err, sizeof(err)), -1);
	assert_string_equal(err,
			    "events: cannot open /proc/ckpool-none/events.seq: No such file or directory");
	assert_false(prev.known);
	assert_int_equal(seq_mark_value(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_reads_the_previous_boot),
		cmocka_unit_test(test_a_killed_process_leaves_its_count),
		cmocka_unit_test(test_a_foreign_file_is_no_mark),
		cmocka_unit_test(test_an_unusable_directory_is_an_error),
	};

	return cmocka_run_group_tests_name("seq_mark", tests, make_root, remove_root);
}
