/* SPDX-License-Identifier: MIT */
/*
 * test_cli_table.c - invariants of THE command table (cli/commands.c): sorted,
 * unique, every row has a summary, a usage that starts with its own name,
 * and a section in docs/man/cellgate.1.md; `help CMD` and `-h CMD` work
 * for every row (`CMD --help` runs the command itself, so it is covered by
 * tests/integration/40-cli/10-help.py). Also the aligned text tables (cli/table.c).
 *
 * The test links the cg_cli library and runs cli_main(), the whole CLI;
 * the command functions are stubs defined here (they take the place of
 * the library's cmd_*.c), since only help paths run here.
 */
#include <cellgate/cellgate.h>

#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli.h"

/* Stubs: a help path must never run a command. */
static int stub(const char *name)
{
    fail_msg("command %s ran during a help test", name);
    return 99;
}

#define STUB(fn)                                                                                   \
    int fn(struct cli_ctx *ctx, int argc, char **argv)                                             \
    {                                                                                              \
        (void)ctx;                                                                                 \
        (void)argc;                                                                                \
        (void)argv;                                                                                \
        return stub(#fn);                                                                          \
    }
STUB(cmd_assign)
STUB(cmd_audit)
STUB(cmd_cell)
STUB(cmd_config)
STUB(cmd_diff)
STUB(cmd_hosts)
STUB(cmd_plan)
STUB(cmd_publish)
STUB(cmd_rollback)
STUB(cmd_rollout)
STUB(cmd_show)
STUB(cmd_status)
STUB(cmd_token)
STUB(cmd_validate)
STUB(cmd_version)
STUB(cmd_versions)
STUB(cmd_whoami)

static void table_sorted_unique_documented(void **state)
{
    size_t n;
    const struct cli_cmd *t = cli_commands(&n);

    (void)state;
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        char prefix[64];
        assert_non_null(t[i].fn);
        assert_true(strlen(t[i].summary) > 0);
        snprintf(prefix, sizeof prefix, "usage: cellgate %s", t[i].name);
        if (strncmp(t[i].usage, prefix, strlen(prefix)) != 0) {
            fail_msg("usage of '%s' does not start with '%s'", t[i].name, prefix);
        }
        if (i > 0 && strcmp(t[i - 1].name, t[i].name) >= 0) {
            fail_msg("commands[] not sorted/unique at '%s'", t[i].name);
        }
        assert_ptr_equal(cli_find_command(t[i].name), &t[i]);
    }
    assert_null(cli_find_command("nope"));
}

static void every_command_in_man_page(void **state)
{
    char path[1024];
    size_t n, len;
    const struct cli_cmd *t = cli_commands(&n);
    char *man;

    (void)state;
    snprintf(path, sizeof path, "%s/../../docs/man/cellgate.1.md", th_data_dir());
    man = th_read_file(path, &len);
    if (!man) {
        fail_msg("cannot read %s", path);
    }
    for (size_t i = 0; i < n; i++) {
        char heading[64];
        snprintf(heading, sizeof heading, "### %s", t[i].name);
        if (!strstr(man, heading)) {
            fail_msg("docs/man/cellgate.1.md has no '%s' section", heading);
        }
    }
    free(man);
}

/* Runs the CLI main with fds 1 and 2 sent to /dev/null (restored after,
 * so cmocka's own output still shows). */
static int run_main(int argc, char **argv)
{
    int saved1, saved2, null, rc;

    fflush(stdout);
    fflush(stderr);
    saved1 = dup(1);
    saved2 = dup(2);
    null = open("/dev/null", O_WRONLY);
    assert_true(saved1 >= 0 && saved2 >= 0 && null >= 0);
    dup2(null, 1);
    dup2(null, 2);
    rc = cli_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved1, 1);
    dup2(saved2, 2);
    close(saved1);
    close(saved2);
    close(null);
    return rc;
}

static void help_for_every_command(void **state)
{
    size_t n;
    const struct cli_cmd *t = cli_commands(&n);

    (void)state;
    for (size_t i = 0; i < n; i++) {
        char *a1[] = {"cellgate", "help", (char *)t[i].name};
        char *a3[] = {"cellgate", "-h", (char *)t[i].name};
        assert_int_equal(run_main(3, a1), CLI_EXIT_OK);
        assert_int_equal(run_main(3, a3), CLI_EXIT_OK);
    }
}

static void usage_errors_exit_2(void **state)
{
    char *none[] = {"cellgate"};
    char *unknown[] = {"cellgate", "frobnicate"};
    char *badopt[] = {"cellgate", "--frob", "cells"};
    char *helpunk[] = {"cellgate", "help", "frobnicate"};
    (void)state;
    assert_int_equal(run_main(1, none), CLI_EXIT_USAGE);
    assert_int_equal(run_main(2, unknown), CLI_EXIT_USAGE);
    assert_int_equal(run_main(3, badopt), CLI_EXIT_USAGE);
    assert_int_equal(run_main(3, helpunk), CLI_EXIT_USAGE);
}

static void aligned_table(void **state)
{
    static const char *const head[] = {"ID", "REGION", "NOTE"};
    const char *r1[] = {"c1", "us-east-1", "x"};
    const char *r2[] = {"cell-long", "eu", "\x1b[2Jbad"};
    const char *r3[] = {"ü", NULL, ""};
    struct cli_table t;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    (void)state;
    cli_table_init(&t, 3, head);
    assert_int_equal(cli_table_add(&t, r1), 0);
    assert_int_equal(cli_table_add(&t, r2), 0);
    assert_int_equal(cli_table_add(&t, r3), 0);
    cli_table_print(&t, f);
    fclose(f);
    assert_string_equal(out, "ID         REGION     NOTE\n"
                             "c1         us-east-1  x\n"
                             "cell-long  eu         ?[2Jbad\n"
                             "ü\n");
    free(out);
    cli_table_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_sorted_unique_documented),
        cmocka_unit_test(every_command_in_man_page),
        cmocka_unit_test(help_for_every_command),
        cmocka_unit_test(usage_errors_exit_2),
        cmocka_unit_test(aligned_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
