/* SPDX-License-Identifier: MIT */
/*
 * test_ops.c: the operations (server/ops/) called directly, without HTTP,
 * on a real SQLite store: what the dashboard, drills and the kill switch
 * will do. Each change is announced through the change funnel; failures
 * come back as a cg_status with a machine code and details.
 */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "notify.h"
#include "ops.h"
#include "reports.h"
#include "store.h"

struct fx {
    char *dir;
    struct store *st;
    struct notify *nf;
    struct reports *rp;
    struct ops o;
    int assigns, cells, tokens, configs;
    char last_cells[128];
};

static void heard(void *ctx, const struct notify_event *ev)
{
    struct fx *f = ctx;
    size_t i;

    if (ev->kind == NOTIFY_ASSIGN) {
        f->assigns++;
        f->last_cells[0] = '\0';
        for (i = 0; i < ev->ncells; i++) {
            size_t len = strlen(f->last_cells);
            snprintf(f->last_cells + len, sizeof f->last_cells - len, "%s%s", i ? "," : "",
                     ev->cells[i]);
        }
    } else if (ev->kind == NOTIFY_CELLS) {
        f->cells++;
    } else if (ev->kind == NOTIFY_TOKENS) {
        f->tokens++;
    } else if (ev->kind == NOTIFY_CONFIG) {
        f->configs++;
    }
}

/* The fixture's store in a new directory under 'base' (NULL: TMPDIR). */
static int setup_in(void **state, const char *base)
{
    struct fx *f = calloc(1, sizeof *f);
    struct reports_config rc = {.max_hosts = 0, .max_keys = 0};
    char path[4096], msg[STORE_MSG_MAX];

    if (base) {
        snprintf(path, sizeof path, "%s/cgtest.XXXXXX", base);
        if (!mkdtemp(path))
            fail_msg("mkdtemp(%s) failed", path);
        f->dir = strdup(path);
    } else {
        f->dir = th_tmpdir();
    }
    snprintf(path, sizeof path, "%s/cellgate.db", f->dir);
    if (store_open(path, &f->st, msg) != CG_OK)
        fail_msg("store_open: %s", msg);
    f->nf = notify_new();
    f->rp = reports_new(&rc);
    assert_int_equal(notify_subscribe(f->nf, 0xff, heard, f), 0);
    f->o.store = f->st;
    f->o.notify = f->nf;
    f->o.reports = f->rp;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_in(state, NULL);
}

/* For a test that writes thousands of records: in memory when the
 * machine has /dev/shm (a commit's fsync costs nothing there). */
static int setup_shm(void **state)
{
    struct stat sb;

    return setup_in(state, stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : NULL);
}

static int teardown(void **state)
{
    struct fx *f = *state;

    reports_free(f->rp);
    notify_free(f->nf);
    store_close(f->st);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static const struct ops_actor admin = {"token:admin", "test", ROLE_ADMIN, NULL, 0, NULL, NULL};

static void add_cell(struct fx *f, const char *id, const char *zone)
{
    struct store_cell c;
    struct ops_err e = {0};

    assert_int_equal(ops_cell_add(&f->o, id, "r1", zone, NULL, &admin, &c, &e), CG_OK);
    assert_string_equal(c.id, id);
    store_cell_free(&c);
}

static void create_config(struct fx *f)
{
    struct store_config c;
    struct ops_err e = {0};
    json_t *contract =
        json_pack("{s:{s:s,s:[s]},s:[{s:s,s:i,s:i}]}", "schema", "type", "object", "required",
                  "features", "cardinality", "pointer", "/features", "min", 1, "max", 3);

    assert_int_equal(ops_config_create(&f->o, "app", "config", contract, "", &admin, &c, &e),
                     CG_OK);
    assert_string_equal(c.name, "app");
    store_config_free(&c);
    json_decref(contract);
}

/* Cells, configs and versions: every change is announced; input errors
 * are CG_ERR_INVALID; a contract breach is CG_ERR_VIOLATION with the code
 * and the violations the API sends. */
static void publish_and_violations(void **state)
{
    struct fx *f = *state;
    struct store_version v;
    struct ops_err e = {0};
    static const char good[] = "{\"features\":[1,2]}";
    static const char bad[] = "{\"features\":[1,2,3,4]}";

    add_cell(f, "c1", "z1");
    assert_int_equal(f->cells, 1);
    assert_int_equal(ops_cell_add(&f->o, "Bad Name", "r1", "z1", NULL, &admin, NULL, &e),
                     CG_ERR_INVALID);
    ops_err_free(&e);
    create_config(f);
    assert_int_equal(ops_publish(&f->o, "app", good, strlen(good), "first", 0, &admin, &v, &e),
                     CG_OK);
    assert_int_equal(v.number, 1);
    store_version_free(&v);
    assert_int_equal(ops_publish(&f->o, "app", bad, strlen(bad), NULL, 0, &admin, &v, &e),
                     CG_ERR_VIOLATION);
    assert_string_equal(e.code, "contract_violation");
    assert_true(json_array_size(json_object_get(e.details, "violations")) >= 1);
    ops_err_free(&e);
    assert_int_equal(ops_publish(&f->o, "nosuch", good, strlen(good), NULL, 0, &admin, &v, &e),
                     CG_ERR_NOTFOUND);
    ops_err_free(&e);
    assert_int_equal(ops_publish(&f->o, "app", "", 0, NULL, 0, &admin, &v, &e), CG_ERR_INVALID);
    ops_err_free(&e);
    assert_int_equal(f->configs, 2); /* created, version 1 */
}

/* Identical publishes: the bytes of the latest version again are refused
 * with the version they repeat and nothing stored or announced, unless
 * allow_identical (docs/contracts.md "Identical publishes"). */
static void publish_identical_refused(void **state)
{
    struct fx *f = *state;
    struct store_version v;
    struct ops_err e = {0};
    static const char one[] = "{\"features\":[1]}";
    static const char two[] = "{\"features\":[1,2]}";

    create_config(f);
    assert_int_equal(ops_publish(&f->o, "app", one, strlen(one), NULL, 0, &admin, &v, &e), CG_OK);
    store_version_free(&v);
    assert_int_equal(ops_publish(&f->o, "app", one, strlen(one), NULL, 0, &admin, &v, &e),
                     CG_ERR_CONFLICT);
    assert_string_equal(e.code, "identical");
    assert_int_equal(json_integer_value(json_object_get(e.details, "existing_version")), 1);
    assert_non_null(strstr(e.msg, "identical to version 1"));
    ops_err_free(&e);
    assert_int_equal(f->configs, 2); /* created, version 1: the refusal announced nothing */
    assert_int_equal(ops_publish(&f->o, "app", two, strlen(two), NULL, 0, &admin, &v, &e), CG_OK);
    assert_int_equal(v.number, 2);
    store_version_free(&v);
    assert_int_equal(ops_publish(&f->o, "app", one, strlen(one), NULL, 1, &admin, &v, &e), CG_OK);
    assert_int_equal(v.number, 3);
    store_version_free(&v);
}

/* The target of "rollback" without --to: the from_version of the newest
 * completed rollout; its first rollout has none; no completed one, none. */
static void rollback_target_is_previous_completed(void **state)
{
    struct store_rollout rs[3];
    int64_t to = -1, undone = -1;

    (void)state;
    memset(rs, 0, sizeof rs);
    rs[0].id = 7;
    strcpy(rs[0].state, "rolled_back");
    rs[0].from_version = 4;
    rs[1].id = 5;
    strcpy(rs[1].state, "completed");
    rs[1].from_version = 3;
    rs[2].id = 2;
    strcpy(rs[2].state, "completed");
    rs[2].from_version = 0;
    assert_int_equal(ops_rollback_target(rs, 3, &to, &undone), 1);
    assert_int_equal(to, 3);
    assert_int_equal(undone, 5);
    assert_int_equal(ops_rollback_target(rs + 2, 1, &to, &undone), 0);
    assert_int_equal(to, 0);
    assert_int_equal(undone, 2);
    assert_int_equal(ops_rollback_target(rs, 1, &to, &undone), -1);
    assert_int_equal(to, 0);
    assert_int_equal(undone, 0);
}

/* Assign: CAS on the generation (I2), the funnel names the cells. */
static void assign_fenced(void **state)
{
    struct fx *f = *state;
    struct store_version v;
    struct ops_err e = {0};
    const char *cells[] = {"c1", "c2"};
    static const char doc[] = "{\"features\":[1]}";
    int64_t gen = 0, gen2 = 0;

    add_cell(f, "c1", "z1");
    add_cell(f, "c2", "z2");
    create_config(f);
    assert_int_equal(ops_publish(&f->o, "app", doc, strlen(doc), NULL, 0, &admin, &v, &e), CG_OK);
    store_version_free(&v);
    assert_int_equal(ops_assign(&f->o, "app", 1, cells, 2, -1, &admin, &gen, &e), CG_OK);
    assert_int_equal(f->assigns, 1);
    assert_string_equal(f->last_cells, "c1,c2");
    /* decided on a stale generation: refused, nothing announced */
    assert_int_equal(ops_assign(&f->o, "app", 1, cells, 1, gen - 1, &admin, &gen2, &e),
                     CG_ERR_CONFLICT);
    ops_err_free(&e);
    assert_int_equal(f->assigns, 1);
    const char *twice[] = {"c1", "c1"};
    assert_int_equal(ops_assign(&f->o, "app", 1, twice, 2, -1, &admin, &gen2, &e), CG_ERR_INVALID);
    ops_err_free(&e);
}

/* ops_changes_list() over a log where changes lie far apart (plan.set
 * records between them): every change is found once, in order, through
 * the pages; a call walks at most OPS_CHANGES_SCAN_MAX records, so a gap
 * longer than that gives a short page that says where to go on. */
static void changes_across_long_gaps(void **state)
{
    struct fx *f = *state;
    struct store_version v;
    struct ops_err e = {0};
    struct store_actor quiet = {"token:ci", NULL};
    const char *cells[] = {"c1"};
    const size_t gaps[] = {1500, OPS_CHANGES_SCAN_MAX + 700, 10};
    static const char doc[] = "{\"features\":[1]}";
    char msg[STORE_MSG_MAX];
    int64_t gen = 0, after = 0, want[4];
    size_t nwant = 0, got = 0, calls = 0, empty = 0;

    add_cell(f, "c1", "z1");
    create_config(f);
    assert_int_equal(ops_publish(&f->o, "app", doc, strlen(doc), NULL, 0, &admin, &v, &e), CG_OK);
    store_version_free(&v);
    for (size_t g = 0; g < 3; g++) {
        struct store_audit *a = NULL;
        size_t n = 0;
        for (size_t k = 0; k < gaps[g]; k++)
            assert_int_equal(
                store_plan_put(f->st, "noise", k % 2 ? "{\"a\":1}" : "{}", &quiet, msg), CG_OK);
        assert_int_equal(ops_assign(&f->o, "app", 1, cells, 1, -1, &admin, &gen, &e), CG_OK);
        assert_int_equal(store_audit_list(f->st, 0, 1, &a, &n, msg), CG_OK);
        store_audits_free(a, n);
    }
    /* the expected changes: the publish and the three assigns, by seq */
    for (int64_t seq = 0;;) {
        struct store_audit *a = NULL;
        size_t n = 0;
        assert_int_equal(store_audit_list(f->st, seq, 1000, &a, &n, msg), CG_OK);
        for (size_t i = 0; i < n; i++)
            if (strcmp(a[i].action, "version.publish") == 0 || strcmp(a[i].action, "assign") == 0)
                want[nwant++] = a[i].seq;
        seq = n ? a[n - 1].seq : seq;
        store_audits_free(a, n);
        if (n < 1000)
            break;
    }
    assert_int_equal(nwant, 4);
    do {
        struct ops_changes_filter q = {.config = "app", .limit = 2, .after = after};
        json_t *items = NULL, *c;
        size_t i;
        assert_int_equal(ops_changes_list(&f->o, &q, NULL, &items, &after, &e), CG_OK);
        calls++;
        empty += json_array_size(items) == 0 && after > 0;
        json_array_foreach(items, i, c)
        {
            assert_true(got < nwant);
            assert_int_equal(json_integer_value(json_object_get(c, "seq")), want[got]);
            got++;
        }
        json_decref(items);
    } while (after > 0 && calls < 20);
    assert_int_equal(got, nwant);
    assert_int_equal(after, -1);
    assert_true(empty >= 1); /* the long gap: a short page with a cursor */
}

/* Tokens: the secret is returned once; the last admin stays. */
static void tokens(void **state)
{
    struct fx *f = *state;
    struct store_token t, *ts = NULL;
    struct ops_err e = {0};
    char secret[AUTH_TOKEN_LEN + 1], msg[STORE_MSG_MAX];
    size_t n = 0;

    assert_int_equal(ops_token_create(&f->o, "boss", "admin", NULL, NULL, &admin, secret, &t, &e),
                     CG_OK);
    assert_int_equal(strlen(secret), AUTH_TOKEN_LEN);
    assert_int_equal(f->tokens, 1);
    assert_int_equal(ops_token_create(&f->o, "a1", "agent", "", NULL, &admin, secret, &t, &e),
                     CG_ERR_INVALID);
    ops_err_free(&e);
    assert_int_equal(ops_token_create(&f->o, "a1", "agent", "nocell", NULL, &admin, secret, &t, &e),
                     CG_ERR_NOTFOUND);
    ops_err_free(&e);
    assert_int_equal(store_token_list(f->st, &ts, &n, msg), CG_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ops_token_revoke(&f->o, ts[0].id, &admin, &e), CG_ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "last admin"));
    ops_err_free(&e);
    store_tokens_free(ts, n);
}

/* Reports: an agent reports only for its own cell. */
static void reports_scoped(void **state)
{
    struct fx *f = *state;
    struct ops_err e = {0};
    const struct ops_actor agent = {"token:a", NULL, ROLE_AGENT, "c1", 0, NULL, NULL};
    json_t *rep = json_pack("{s:s,s:s,s:i,s:[]}", "host", "h1", "cell", "c2", "seq", 1, "configs");

    assert_int_equal(ops_report(&f->o, "c2", rep, 1000, &agent, &e), CG_ERR_FORBIDDEN);
    ops_err_free(&e);
    json_object_set_new(rep, "cell", json_string("c1"));
    assert_int_equal(ops_report(&f->o, "c1", rep, 1000, &agent, &e), CG_OK);
    json_decref(rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(publish_and_violations, setup, teardown),
        cmocka_unit_test_setup_teardown(publish_identical_refused, setup, teardown),
        cmocka_unit_test(rollback_target_is_previous_completed),
        cmocka_unit_test_setup_teardown(assign_fenced, setup, teardown),
        cmocka_unit_test_setup_teardown(changes_across_long_gaps, setup_shm, teardown),
        cmocka_unit_test_setup_teardown(tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(reports_scoped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
