/* SPDX-License-Identifier: MIT */
/*
 * store_pg_dump.c: the logical dump and load of the PostgreSQL backend
 * (store.h, store_dump() and store_load()): every table of store_tables()
 * read in one REPEATABLE READ, READ ONLY transaction, or written in one
 * transaction into an empty store. The statements are built from the
 * schema table (trusted constants, never from a row), so they bypass the
 * prepared-statement cache; every value is a parameter.
 */
#include "store_pg_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "util.h"

/* Tables whose id is an identity column: a load inserts the ids as they
 * were (OVERRIDING SYSTEM VALUE) and moves the sequence past them. */
static int has_identity(const struct store_table *t)
{
    return strcmp(t->name, "tokens") == 0 || strcmp(t->name, "rollouts") == 0 ||
           strcmp(t->name, "drill_runs") == 0;
}

static int build_sql(struct cg_buf *b, const struct store_table *t, int insert)
{
    int rc = cg_buf_puts(b, insert ? "INSERT INTO " : "SELECT ");

    if (insert)
        rc |= cg_buf_printf(b, "%s (", t->name);
    for (size_t i = 0; i < t->ncols; i++)
        rc |= cg_buf_printf(b, "%s%s", i ? ", " : "", t->cols[i].name);
    if (insert) {
        rc |= cg_buf_printf(b, ")%s VALUES (", has_identity(t) ? " OVERRIDING SYSTEM VALUE" : "");
        for (size_t i = 0; i < t->ncols; i++)
            rc |= cg_buf_printf(b, "%s$%zu", i ? ", " : "", i + 1);
        rc |= cg_buf_puts(b, ")");
    } else {
        /* every table's natural order: its first column(s), as loaded */
        rc |= cg_buf_printf(b, " FROM %s ORDER BY %s", t->name, t->cols[0].name);
        if (strcmp(t->name, "versions") == 0 || strcmp(t->name, "rollout_events") == 0 ||
            strcmp(t->name, "assignments") == 0 || strcmp(t->name, "host_versions") == 0 ||
            strcmp(t->name, "host_assignments") == 0)
            rc |= cg_buf_printf(b, ", %s", t->cols[1].name);
    }
    return rc ? -1 : 0;
}

/* A bytea cell in PostgreSQL's hex text form ("\x0a1b...") as base64. */
static json_t *bytea_b64(const char *hex)
{
    size_t n, len;
    unsigned char *bin;
    char *b64;
    json_t *v;

    if (strncmp(hex, "\\x", 2) != 0)
        return NULL;
    hex += 2;
    n = strlen(hex) / 2;
    bin = malloc(n ? n : 1);
    if (!bin || cg_hex_decode(hex, bin, n) < 0) {
        free(bin);
        return NULL;
    }
    len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    b64 = malloc(len);
    if (!b64) {
        free(bin);
        return NULL;
    }
    sodium_bin2base64(b64, len, bin, n, sodium_base64_VARIANT_ORIGINAL);
    v = json_string(b64);
    free(bin);
    free(b64);
    return v;
}

static int dump_table(struct pg_conn *c, const struct store_table *t, store_row_fn emit, void *ctx,
                      char *msg)
{
    struct cg_buf sql = {0};
    PGresult *r;
    int rc = CG_OK, rows;

    if (build_sql(&sql, t, 0) < 0) {
        pg_msg(msg, "out of memory");
        return CG_ERR_NOMEM;
    }
    r = PQexecParams(c->db, sql.data, 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = pg_fail(c, r, msg, sql.data);
        PQclear(r);
        cg_buf_free(&sql);
        return rc;
    }
    rows = PQntuples(r);
    for (int i = 0; rc == CG_OK && i < rows; i++) {
        json_t *row = json_object();
        for (size_t k = 0; row && rc == CG_OK && k < t->ncols; k++) {
            const char *cell = pg_col_text(r, i, (int)k);
            json_t *v = t->cols[k].type == STORE_COL_INT    ? json_integer(pg_col_int(r, i, (int)k))
                        : t->cols[k].type == STORE_COL_TEXT ? json_string(cell)
                                                            : bytea_b64(cell);
            if (!v || json_object_set_new(row, t->cols[k].name, v) != 0) {
                pg_msg(msg, "%s.%s: cannot be dumped", t->name, t->cols[k].name);
                rc = CG_ERR_INVALID;
            }
        }
        if (rc == CG_OK && !row) {
            pg_msg(msg, "out of memory");
            rc = CG_ERR_NOMEM;
        }
        if (rc == CG_OK) {
            int e = emit(ctx, t, row);
            if (e != 0) {
                pg_msg(msg, "the dump's writer stopped at %s", t->name);
                rc = e < 0 ? e : CG_ERR_IO;
            }
        }
        json_decref(row);
    }
    PQclear(r);
    cg_buf_free(&sql);
    return rc;
}

int pg_dump(struct store *st, store_row_fn emit, void *ctx, char *msg)
{
    struct pg_conn *c;
    const struct store_table *t;
    size_t n;
    int rc = pg_conn_get(pgs(st), &c, msg);

    if (rc != CG_OK)
        return rc;
    /* one snapshot of every table */
    rc = pg_simple(c, msg, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    t = store_tables(&n);
    for (size_t i = 0; rc == CG_OK && i < n; i++)
        rc = dump_table(c, &t[i], emit, ctx, msg);
    pg_simple(c, NULL, "ROLLBACK");
    pg_conn_put(pgs(st), c);
    return rc;
}

struct load_job {
    store_next_fn next;
    void *ctx;
};

static const char SQL_USED[] =
    "SELECT (SELECT count(*) FROM cells) + (SELECT count(*) FROM configs) + "
    "(SELECT count(*) FROM tokens) + (SELECT count(*) FROM audit) + (SELECT count(*) FROM meta)";
static const char SQL_HEAD_SET[] =
    "UPDATE audit_head SET seq = a.seq, hash = a.hash FROM "
    "(SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1) a WHERE audit_head.id = 1";
static const char SQL_TOKENS_SEQ[] = "SELECT setval(pg_get_serial_sequence('tokens', 'id'), "
                                     "max(id)) FROM tokens HAVING count(*) > 0";
static const char SQL_ROLLOUTS_SEQ[] = "SELECT setval(pg_get_serial_sequence('rollouts', 'id'), "
                                       "max(id)) FROM rollouts HAVING count(*) > 0";
static const char SQL_DRILLS_SEQ[] = "SELECT setval(pg_get_serial_sequence('drill_runs', 'id'), "
                                     "max(id)) FROM drill_runs HAVING count(*) > 0";

/* Inserts one row of t with the statement in sql. */
static int insert_row(struct pg_conn *c, const char *sql, const struct store_table *t, json_t *row,
                      char *msg)
{
    const char *vals[32];
    int lens[32], fmts[32];
    char nums[32][24];
    unsigned char *bins[32] = {0};
    PGresult *r;
    int rc = CG_OK;

    if (!json_is_object(row) || json_object_size(row) != t->ncols || t->ncols > 32) {
        pg_msg(msg, "a row of %s must be an object of its %zu columns", t->name, t->ncols);
        return CG_ERR_INVALID;
    }
    for (size_t i = 0; rc == CG_OK && i < t->ncols; i++) {
        json_t *v = json_object_get(row, t->cols[i].name);
        fmts[i] = 0;
        lens[i] = 0;
        if (t->cols[i].type == STORE_COL_INT && json_is_integer(v)) {
            snprintf(nums[i], sizeof nums[i], "%" PRId64, (int64_t)json_integer_value(v));
            vals[i] = nums[i];
        } else if (t->cols[i].type == STORE_COL_TEXT && json_is_string(v)) {
            vals[i] = json_string_value(v);
        } else if (t->cols[i].type == STORE_COL_BLOB && json_is_string(v)) {
            size_t cap = json_string_length(v) / 4 * 3 + 3, len = 0;
            bins[i] = malloc(cap);
            if (!bins[i] ||
                sodium_base642bin(bins[i], cap, json_string_value(v), json_string_length(v), NULL,
                                  &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
                pg_msg(msg, "%s.%s is not base64", t->name, t->cols[i].name);
                rc = CG_ERR_INVALID;
                break;
            }
            vals[i] = (const char *)bins[i];
            lens[i] = (int)len;
            fmts[i] = 1;
        } else {
            pg_msg(msg, "%s.%s: missing, or not %s", t->name, t->cols[i].name,
                   t->cols[i].type == STORE_COL_INT ? "an integer" : "a string");
            rc = CG_ERR_INVALID;
        }
    }
    if (rc == CG_OK) {
        r = PQexecParams(c->db, sql, (int)t->ncols, NULL, vals, lens, fmts, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pg_fail(c, r, msg, t->name);
        PQclear(r);
    }
    for (size_t i = 0; i < t->ncols && i < 32; i++)
        free(bins[i]);
    return rc;
}

/* A dump written before contracts and plans were versioned has no rows of
 * contract_versions and plan_versions: their current contract and body are
 * recorded as that version, as the migration did. */
static const char SQL_BACKFILL_CONTRACTS[] =
    "INSERT INTO contract_versions (config, number, contract_json, actor, reason, created_ms) "
    "SELECT name, contract_version, contract_json, '', 'recorded when contracts became "
    "versioned', created_ms FROM configs c WHERE NOT EXISTS (SELECT 1 FROM contract_versions v "
    "WHERE v.config = c.name)";
static const char SQL_BACKFILL_PLANS[] =
    "INSERT INTO plan_versions (name, number, body_json, actor, created_ms) SELECT name, "
    "version, body_json, '', updated_ms FROM plans p WHERE NOT EXISTS (SELECT 1 FROM "
    "plan_versions v WHERE v.name = p.name)";

/* A dump written before versions.last_assigned_gen has -1 there
 * (store_dump.c, added_later): backfilled as migration 0016 did. */
static const char SQL_BACKFILL_CARRIED[] =
    "UPDATE versions v SET last_assigned_gen = CASE WHEN v.deleted_ms = 0 THEN c.generation "
    "ELSE 0 END FROM configs c WHERE c.name = v.config AND v.last_assigned_gen < 0";

static int run_load(struct pg_conn *c, void *arg, char *msg)
{
    struct load_job *j = arg;
    size_t ntab;
    const struct store_table *tabs = store_tables(&ntab);
    struct cg_buf sql[32];
    int64_t used = 0;
    int rc = pg_int(c, msg, &used, SQL_USED, "");

    if (rc < 0)
        return rc;
    if (used > 0) {
        pg_msg(msg,
               "the target store is not empty (%" PRId64 " cells, configs, tokens, audit "
               "records and meta facts): load only into a new store",
               used);
        return CG_ERR_CONFLICT;
    }
    memset(sql, 0, sizeof sql);
    rc = CG_OK;
    while (rc == CG_OK) {
        const struct store_table *t = NULL;
        json_t *row = NULL;
        size_t k;
        int got = j->next(j->ctx, &t, &row);
        if (got == 0)
            break;
        if (got < 0) {
            pg_msg(msg, "reading the rows failed");
            rc = got;
            break;
        }
        k = t ? (size_t)(t - tabs) : ntab;
        if (k >= ntab || k >= sizeof sql / sizeof sql[0]) {
            pg_msg(msg, "a row of an unknown table");
            rc = CG_ERR_INVALID;
            break;
        }
        if (!sql[k].data && build_sql(&sql[k], t, 1) < 0) {
            pg_msg(msg, "out of memory");
            rc = CG_ERR_NOMEM;
            break;
        }
        rc = insert_row(c, sql[k].data, t, row, msg);
    }
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
        cg_buf_free(&sql[i]);
    /* the chain's head and the identity sequences continue after the rows */
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_HEAD_SET, "");
    if (rc == CG_OK)
        rc = pg_query(c, msg, NULL, SQL_TOKENS_SEQ, "");
    if (rc == CG_OK)
        rc = pg_query(c, msg, NULL, SQL_ROLLOUTS_SEQ, "");
    if (rc == CG_OK)
        rc = pg_query(c, msg, NULL, SQL_DRILLS_SEQ, "");
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_BACKFILL_CONTRACTS, "");
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_BACKFILL_PLANS, "");
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_BACKFILL_CARRIED, "");
    return rc;
}

int pg_load(struct store *st, store_next_fn next, void *ctx, char *msg)
{
    struct load_job j = {next, ctx};

    /* not retried: the row source cannot be read twice */
    return pg_tx_once(pgs(st), run_load, &j, msg);
}
