/* SPDX-License-Identifier: MIT */
/*
 * test_sim_topo.c - cellgate-sim's topology (sim/topo.c): the regular
 * fleet of the flags, and the topology file with every error it reports
 * (links cg_sim).
 */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topo.h"
#include "util.h"

static void from_counts(void **state)
{
    struct topo t;
    char msg[200];

    (void)state;
    assert_int_equal(topo_from_counts(3, 3, 4, 5, &t, msg, sizeof msg), 0);
    assert_int_equal(t.ncells, 36);
    assert_int_equal(t.nhosts, 180);
    assert_string_equal(t.cells[0].id, "use1-az1-c01");
    assert_string_equal(t.cells[0].region, "us-east-1");
    assert_string_equal(t.cells[0].zone, "use1-az1");
    assert_string_equal(t.cells[35].id, "apse2-az3-c04");
    assert_int_equal(topo_count_regions(&t), 3);
    assert_int_equal(topo_count_zones(&t), 9);
    for (size_t i = 0; i < t.ncells; i++) {
        assert_true(cg_valid_name(t.cells[i].id));
        assert_int_equal(t.cells[i].hosts, 5);
    }
    topo_free(&t);
    /* beyond the named regions */
    assert_int_equal(topo_from_counts(14, 1, 1, 1, &t, msg, sizeof msg), 0);
    assert_string_equal(t.cells[13].region, "r14");
    assert_string_equal(t.cells[13].id, "r14-az1-c01");
    topo_free(&t);
    assert_int_equal(topo_from_counts(0, 3, 4, 5, &t, msg, sizeof msg), -1);
    assert_int_equal(topo_from_counts(3, 3, 4, 0, &t, msg, sizeof msg), -1);
    assert_int_equal(topo_from_counts(999, 99, 999, 1, &t, msg, sizeof msg), -1);
    assert_null(t.cells);
}

static void parse_file(void **state)
{
    const char *text = "{\"hosts_per_cell\": 7, \"cells\": ["
                       "{\"id\":\"a1\",\"region\":\"r1\",\"zone\":\"z1\"},"
                       "{\"id\":\"a2\",\"region\":\"r1\",\"zone\":\"z2\",\"hosts\":3},"
                       "{\"id\":\"b1\",\"region\":\"r2\",\"zone\":\"z1\"}]}";
    struct topo t;
    char msg[200];

    (void)state;
    assert_int_equal(topo_parse(text, strlen(text), 10, &t, msg, sizeof msg), 0);
    assert_int_equal(t.ncells, 3);
    assert_int_equal(t.nhosts, 17);
    assert_int_equal(t.cells[1].hosts, 3);
    assert_int_equal(topo_count_regions(&t), 2);
    assert_int_equal(topo_count_zones(&t), 3); /* z1 of r1 and z1 of r2 differ */
    topo_free(&t);
    /* default hosts from the caller */
    text = "{\"cells\":[{\"id\":\"a1\",\"region\":\"r1\",\"zone\":\"z1\"}]}";
    assert_int_equal(topo_parse(text, strlen(text), 4, &t, msg, sizeof msg), 0);
    assert_int_equal(t.nhosts, 4);
    topo_free(&t);
}

/* Each bad file is refused with a message naming the place. */
static void parse_errors(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"[1]", "must be a JSON object"},
        {"{", "not JSON"},
        {"{\"cells\":[]}", "/cells"},
        {"{\"cell\":[]}", "/cell: unknown field"},
        {"{\"cells\":[{\"id\":\"a\",\"region\":\"r\"}]}", "/cells/0/zone"},
        {"{\"cells\":[{\"id\":\"A!\",\"region\":\"r\",\"zone\":\"z\"}]}", "/cells/0/id"},
        {"{\"cells\":[{\"id\":\"a\",\"region\":\"r\",\"zone\":\"z\",\"hosts\":0}]}",
         "/cells/0/hosts"},
        {"{\"cells\":[{\"id\":\"a\",\"region\":\"r\",\"zone\":\"z\",\"x\":1}]}",
         "/cells/0/x: unknown field"},
        {"{\"cells\":[{\"id\":\"a\",\"region\":\"r\",\"zone\":\"z\"},"
         "{\"id\":\"a\",\"region\":\"r\",\"zone\":\"z\"}]}",
         "duplicate cell id"},
        {"{\"hosts_per_cell\":\"5\",\"cells\":[{\"id\":\"a\",\"region\":\"r\",\"zone\":\"z\"}]}",
         "/hosts_per_cell"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct topo t;
        char msg[200] = "";

        assert_int_equal(topo_parse(cases[i].text, strlen(cases[i].text), 5, &t, msg, sizeof msg),
                         -1);
        if (!strstr(msg, cases[i].want)) {
            fail_msg("case %zu: message '%s' lacks '%s'", i, msg, cases[i].want);
        }
        assert_null(t.cells);
    }
}

static void load_file(void **state)
{
    char *dir = th_tmpdir(), path[512], msg[200];
    struct topo t;
    FILE *f;

    (void)state;
    snprintf(path, sizeof path, "%s/topo.json", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"cells\":[{\"id\":\"c1\",\"region\":\"r\",\"zone\":\"z\",\"hosts\":2}]}", f);
    fclose(f);
    assert_int_equal(topo_load(path, 9, &t, msg, sizeof msg), 0);
    assert_int_equal(t.nhosts, 2);
    topo_free(&t);
    snprintf(path, sizeof path, "%s/missing.json", dir);
    assert_int_equal(topo_load(path, 9, &t, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "cannot read"));
    th_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(from_counts),
        cmocka_unit_test(parse_file),
        cmocka_unit_test(parse_errors),
        cmocka_unit_test(load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
