/* SPDX-License-Identifier: MIT */
/* test_duration.c: durations as people type them (common/duration.h), as
 * `cellgate token create --ttl` and `token rotate --grace` read them. */
#include "testhelp.h"

#include <stdint.h>

#include "duration.h"
#include "status.h"

#define TEN_YEARS 316224000

static void units_and_groups(void **state)
{
    static const struct {
        const char *in;
        int64_t s;
    } good[] = {
        {"0", 0},         {"45", 45},           {"45s", 45},       {"2m", 120},     {"12h", 43200},
        {"30d", 2592000}, {"1h30m", 5400},      {"1d12h", 129600}, {"30m1h", 5400}, {"0d", 0},
        {"007s", 7},      {"3660d", TEN_YEARS}, {"1s1s1s", 3},
    };
    int64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        v = -1;
        if (cg_duration_parse(good[i].in, TEN_YEARS, &v) != CG_OK || v != good[i].s)
            fail_msg("'%s': got %lld, want %lld", good[i].in, (long long)v, (long long)good[i].s);
    }
}

static void malformed_or_too_long(void **state)
{
    static const char *const bad[] = {
        "",    "s",   "d1",   "1x", "1h30", "-5s",   "+5s",       "1.5h",
        " 5s", "5s ", "5 s",  "1H", "1w",   "3661d", "316224001", "99999999999999999999",
        "1h-", "1hs", "1s\n",
    };
    int64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = -1;
        if (cg_duration_parse(bad[i], TEN_YEARS, &v) != CG_ERR_INVALID || v != 0)
            fail_msg("'%s' was accepted (%lld)", bad[i], (long long)v);
    }
    assert_int_equal(cg_duration_parse(NULL, TEN_YEARS, &v), CG_ERR_INVALID);
    assert_int_equal(cg_duration_parse("5s", -1, &v), CG_ERR_INVALID);
}

/* The limit is checked at every step: no total wraps around. */
static void limits_without_overflow(void **state)
{
    int64_t v;

    (void)state;
    assert_int_equal(cg_duration_parse("9223372036854775807", INT64_MAX, &v), CG_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(cg_duration_parse("9223372036854775808", INT64_MAX, &v), CG_ERR_INVALID);
    assert_int_equal(cg_duration_parse("106751991167300d", INT64_MAX, &v), CG_OK);
    assert_int_equal(cg_duration_parse("106751991167301d", INT64_MAX, &v), CG_ERR_INVALID);
    assert_int_equal(cg_duration_parse("106751991167300d1d", INT64_MAX, &v), CG_ERR_INVALID);
    assert_int_equal(cg_duration_parse("7", 5, &v), CG_ERR_INVALID);
    assert_int_equal(cg_duration_parse("5", 5, &v), CG_OK);
    assert_int_equal(cg_duration_parse("0", 0, &v), CG_OK);
    assert_int_equal(cg_duration_parse("1s", 0, &v), CG_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(units_and_groups),
        cmocka_unit_test(malformed_or_too_long),
        cmocka_unit_test(limits_without_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
