/* SPDX-License-Identifier: MIT */
/*
 * store_dump.c: the logical schema every backend stores (the tables of a
 * dump, in load order), the dump/load forwarders and the audit chain's
 * verification. What a backend does with them is in its own files
 * (sqlite/store_sqlite_dump.c); the file format of `cellgated dump` is in
 * server/dumpfile.c.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "store.h"
#include "util.h"

struct store {
    const struct store_ops *ops;
};

#define I       STORE_COL_INT
#define T       STORE_COL_TEXT
#define B       STORE_COL_BLOB
#define COLS(a) a, sizeof a / sizeof a[0]

static const struct store_column cells[] = {{"id", T},         {"region", T},
                                            {"zone", T},       {"labels_json", T},
                                            {"created_ms", I}, {"drained_ms", I}};
static const struct store_column config_scopes[] = {
    {"config", T}, {"scope_json", T}, {"updated_by", T}, {"updated_ms", I}};
static const struct store_column configs[] = {
    {"name", T},         {"kind", T},       {"contract_json", T},
    {"plan", T},         {"created_ms", I}, {"latest_version", I},
    {"live_version", I}, {"generation", I}, {"contract_version", I}};
static const struct store_column contract_versions[] = {
    {"config", T}, {"number", I}, {"contract_json", T}, {"actor", T},
    {"reason", T}, {"forced", I}, {"created_ms", I}};
static const struct store_column policies[] = {
    {"config", T}, {"body_json", T}, {"updated_by", T}, {"updated_ms", I}};
static const struct store_column blobs[] = {
    {"sha256", T}, {"size", I}, {"bytes", B}, {"created_ms", I}};
static const struct store_column versions[] = {
    {"config", T},     {"number", I},     {"sha256", T},           {"media_type", T},
    {"size", I},       {"author", T},     {"message", T},          {"parent", I},
    {"created_ms", I}, {"deleted_ms", I}, {"contract_version", I}, {"last_assigned_gen", I}};
static const struct store_column plans[] = {
    {"name", T}, {"body_json", T}, {"created_ms", I}, {"updated_ms", I}, {"version", I}};
static const struct store_column plan_versions[] = {
    {"name", T}, {"number", I}, {"body_json", T}, {"actor", T}, {"created_ms", I}};
static const struct store_column tokens[] = {
    {"id", I},         {"name", T},       {"role", T},         {"cell", T},
    {"hash", T},       {"created_by", T}, {"created_ms", I},   {"revoked_ms", I},
    {"expires_ms", I}, {"configs", T},    {"last_used_ms", I}, {"rotated_to", I}};
static const struct store_column audit[] = {
    {"seq", I},    {"time_ms", I}, {"actor", T},  {"action", T},    {"object", T},
    {"before", T}, {"after", T},   {"reason", T}, {"prev_hash", T}, {"hash", T}};
static const struct store_column audit_checkpoints[] = {
    {"seq", I}, {"hash", T}, {"time_ms", I}, {"key_id", T}, {"signature", T}};
static const struct store_column assignments[] = {{"cell", T},    {"config", T},
                                                  {"version", I}, {"generation", I},
                                                  {"sha256", T},  {"updated_ms", I}};
static const struct store_column host_assignments[] = {
    {"host", T},       {"config", T}, {"cell", T},      {"version", I},
    {"generation", I}, {"sha256", T}, {"updated_ms", I}};
static const struct store_column host_versions[] = {{"host", T},
                                                    {"config", T},
                                                    {"cell", T},
                                                    {"applied_version", I},
                                                    {"applied_generation", I},
                                                    {"lkg_version", I},
                                                    {"updated_ms", I}};
static const struct store_column rollouts[] = {
    {"id", I},         {"config", T},      {"from_version", I},    {"to_version", I},
    {"state", T},      {"plan", T},        {"created_by", T},      {"created_ms", I},
    {"updated_ms", I}, {"kind", T},        {"plan_json", T},       {"steps_json", T},
    {"step", I},       {"step_state", T},  {"step_started_ms", I}, {"generation", I},
    {"seq", I},        {"expedited", I},   {"reason", T},          {"detail_json", T},
    {"ended_ms", I},   {"plan_version", I}};
static const struct store_column rollout_events[] = {
    {"rollout", I}, {"seq", I}, {"time_ms", I}, {"kind", T}, {"detail_json", T}};

static const struct store_column meta[] = {{"key", T}, {"value", T}, {"created_ms", I}};
static const struct store_column host_claims[] = {
    {"host", T}, {"cell", T}, {"credential", T}, {"claimed_ms", I}};

static const struct store_column notify_sinks[] = {
    {"name", T},   {"url", T},    {"format", T},     {"events", T},
    {"config", T}, {"secret", T}, {"created_by", T}, {"created_ms", I}};

static const struct store_column drill_runs[] = {
    {"id", I},          {"config", T}, {"scenario", T},   {"outcome", T},    {"plan", T},
    {"detail_json", T}, {"actor", T},  {"started_ms", I}, {"duration_ms", I}};
static const struct store_column drill_schedules[] = {
    {"config", T}, {"plan", T}, {"every_s", I}, {"created_by", T}, {"updated_ms", I}};

static const struct store_table tables[] = {
    {"cells", COLS(cells)},
    {"configs", COLS(configs)},
    {"contract_versions", COLS(contract_versions)},
    {"policies", COLS(policies)},
    {"config_scopes", COLS(config_scopes)},
    {"blobs", COLS(blobs)},
    {"versions", COLS(versions)},
    {"plans", COLS(plans)},
    {"plan_versions", COLS(plan_versions)},
    {"tokens", COLS(tokens)},
    {"audit", COLS(audit)},
    {"audit_checkpoints", COLS(audit_checkpoints)},
    {"assignments", COLS(assignments)},
    {"host_assignments", COLS(host_assignments)},
    {"host_versions", COLS(host_versions)},
    {"rollouts", COLS(rollouts)},
    {"rollout_events", COLS(rollout_events)},
    {"meta", COLS(meta)},
    {"host_claims", COLS(host_claims)},
    {"notify_sinks", COLS(notify_sinks)},
    {"drill_runs", COLS(drill_runs)},
    {"drill_schedules", COLS(drill_schedules)},
};

const struct store_table *store_tables(size_t *n)
{
    *n = sizeof tables / sizeof tables[0];
    return tables;
}

const struct store_table *store_table_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof tables / sizeof tables[0]; i++)
        if (strcmp(tables[i].name, name) == 0)
            return &tables[i];
    return NULL;
}

static int not_open(char *msg)
{
    if (msg)
        snprintf(msg, STORE_MSG_MAX, "store is not open");
    return CG_ERR_INVALID;
}

int store_dump(struct store *st, store_row_fn emit, void *ctx, char *msg)
{
    if (!st)
        return not_open(msg);
    if (!emit) {
        if (msg)
            snprintf(msg, STORE_MSG_MAX, "store_dump: no emit function");
        return CG_ERR_INVALID;
    }
    return st->ops->dump(st, emit, ctx, msg);
}

/* Columns added to a table after dumps of it were written: a row of an
 * older dump without one loads with the column's default (0, "" or 'def'
 * for an integer), the value the migration that added it gave existing
 * rows. Any other missing column is still refused by the backend. (The
 * contract and plan versions such a dump lacks are recorded by the
 * backend's load as version 1, as the migration did; a version's
 * last_assigned_gen, loaded as -1, is backfilled by the backend's load as
 * the migration did.) */
static const struct {
    const char *table, *column;
    int64_t def;
} added_later[] = {
    /* 0010_tokens_lifecycle.sql (PostgreSQL: 0008) */
    {"tokens", "expires_ms", 0},
    {"tokens", "configs", 0},
    {"tokens", "last_used_ms", 0},
    {"tokens", "rotated_to", 0},
    /* 0017_object_versions.sql (PostgreSQL: 0015) */
    {"configs", "contract_version", 1},
    {"versions", "contract_version", 0},
    {"plans", "version", 1},
    {"rollouts", "plan_version", 0},
    /* 0016_fleet_lifecycle.sql (PostgreSQL: 0014) */
    {"cells", "drained_ms", 0},
    /* 0018_version_last_assigned_gen.sql (PostgreSQL: 0016): -1 = not
     * known; the backend's load then backfills it as the migration did (an
     * undeleted version counts as carried up to its config's generation) */
    {"versions", "last_assigned_gen", -1},
};

/* The row source of a load, completing rows of older dumps. */
struct upgrade {
    store_next_fn next;
    void *ctx;
    json_t *row; /* the completed copy handed out last; owned */
};

static int next_upgraded(void *ctx, const struct store_table **t, json_t **row)
{
    struct upgrade *u = ctx;
    int got = u->next(u->ctx, t, row);

    json_decref(u->row);
    u->row = NULL;
    if (got != 1 || !*t || !json_is_object(*row))
        return got;
    for (size_t i = 0; i < sizeof added_later / sizeof added_later[0]; i++) {
        const struct store_column *col = NULL;
        if (strcmp(added_later[i].table, (*t)->name) != 0 ||
            json_object_get(*row, added_later[i].column))
            continue;
        for (size_t k = 0; k < (*t)->ncols; k++)
            if (strcmp((*t)->cols[k].name, added_later[i].column) == 0)
                col = &(*t)->cols[k];
        if (!col)
            continue;
        if (!u->row && !(u->row = json_copy(*row)))
            return CG_ERR_NOMEM;
        if (json_object_set_new(u->row, col->name,
                                col->type == STORE_COL_INT ? json_integer(added_later[i].def)
                                                           : json_string("")) != 0)
            return CG_ERR_NOMEM;
    }
    if (u->row)
        *row = u->row;
    return got;
}

int store_load(struct store *st, store_next_fn next, void *ctx, char *msg)
{
    struct upgrade u = {next, ctx, NULL};
    int rc;

    if (!st)
        return not_open(msg);
    if (!next) {
        if (msg)
            snprintf(msg, STORE_MSG_MAX, "store_load: no row source");
        return CG_ERR_INVALID;
    }
    rc = st->ops->load(st, next_upgraded, &u, msg);
    json_decref(u.row);
    return rc;
}

int store_audit_verify(struct store *st, int64_t *count, char *head, char *msg)
{
    char prev[65] = CG_AUDIT_GENESIS;
    int64_t seq = 0, n = 0;

    for (;;) {
        struct store_audit *a = NULL;
        size_t got = 0;
        int rc = store_audit_list(st, seq, 1000, &a, &got, msg);
        if (rc != CG_OK)
            return rc;
        for (size_t i = 0; i < got; i++) {
            char h[65];
            struct cg_audit_fields fl = {prev,        a[i].seq,    a[i].time_ms,
                                         a[i].actor,  a[i].action, a[i].object,
                                         a[i].before, a[i].after,  a[i].reason};
            cg_audit_hash(&fl, h);
            if (a[i].seq != seq + 1 || strcmp(a[i].prev_hash, prev) != 0 ||
                strcmp(h, a[i].hash) != 0) {
                if (msg)
                    snprintf(msg, STORE_MSG_MAX, "audit chain broken at seq %lld (after seq %lld)",
                             (long long)a[i].seq, (long long)seq);
                store_audits_free(a, got);
                return CG_ERR_VERIFY;
            }
            cg_strlcpy(prev, a[i].hash, sizeof prev);
            seq = a[i].seq;
            n++;
        }
        store_audits_free(a, got);
        if (got < 1000)
            break;
    }
    if (count)
        *count = n;
    if (head)
        memcpy(head, prev, sizeof prev);
    return CG_OK;
}
