/* SPDX-License-Identifier: MIT */
/*
 * test_dsn.c: store_dsn_redact() (server/store/store.c): no password of a
 * DSN ever reaches a log line or an error message.
 */
#include "testhelp.h"

#include <string.h>

#include "store.h"

static void expect(const char *dsn, const char *want)
{
    char out[256];

    assert_string_equal(store_dsn_redact(dsn, out, sizeof out), want);
}

static void uri_passwords(void **state)
{
    (void)state;
    expect("postgres://cg:s3cret@db.example:5432/cellgate",
           "postgres://cg:***@db.example:5432/cellgate");
    expect("postgresql://cg:p%40ss@127.0.0.1/cg?sslmode=require",
           "postgresql://cg:***@127.0.0.1/cg?sslmode=require");
    expect("postgres://cg@127.0.0.1:5432/cg", "postgres://cg@127.0.0.1:5432/cg");
    expect("postgres://127.0.0.1/cg?user=cg&password=hunter2&sslmode=verify-full",
           "postgres://127.0.0.1/cg?user=cg&password=***&sslmode=verify-full");
    /* an '@' after the host part is not user-info */
    expect("postgres://h/db?application_name=a@b", "postgres://h/db?application_name=a@b");
}

static void keyword_passwords(void **state)
{
    (void)state;
    expect("host=db user=cg password=hunter2 dbname=cg", "host=db user=cg password=*** dbname=cg");
    expect("password='a b\\' c' host=db", "password=*** host=db");
    expect("PASSWORD=x", "PASSWORD=***");
    expect("host=db passfile=/etc/pgpass", "host=db passfile=/etc/pgpass");
    expect("/var/lib/cellgate/cellgate.db", "/var/lib/cellgate/cellgate.db");
}

static void bounds(void **state)
{
    char out[8];

    (void)state;
    assert_string_equal(store_dsn_redact("postgres://u:pw@h/d", out, sizeof out), "postgre");
    assert_string_equal(store_dsn_redact(NULL, out, sizeof out), "");
    assert_null(store_dsn_redact("x", NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uri_passwords),
        cmocka_unit_test(keyword_passwords),
        cmocka_unit_test(bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
