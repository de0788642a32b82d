/* SPDX-License-Identifier: MIT */
/* store_pg_objver.c: contract versions and plan versions on PostgreSQL
 * (store.h, store_config_set_contract() and below; docs/contracts.md
 * "Contract versions", docs/plans.md "Plan versions"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"
#include "store_pg_int.h"
#include "util.h"

static const char SQL_CONTRACT_CUR[] =
    "SELECT contract_version, contract_json FROM configs WHERE name = $1 FOR UPDATE";
static const char SQL_CONTRACT_SET[] =
    "UPDATE configs SET contract_json = $1, contract_version = $2 WHERE name = $3";
static const char SQL_CONTRACT_INS[] =
    "INSERT INTO contract_versions (config, number, contract_json, actor, reason, forced, "
    "created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)";
#define CONTRACT_COLS "config, number, contract_json, actor, reason, forced, created_ms"
static const char SQL_CONTRACT_LIST[] =
    "SELECT " CONTRACT_COLS " FROM contract_versions WHERE config = $1 ORDER BY number";
static const char SQL_CONTRACT_GET[] =
    "SELECT " CONTRACT_COLS " FROM contract_versions WHERE config = $1 AND number = $2";
static const char SQL_PLAN_VERSIONS[] =
    "SELECT name, number, body_json, actor, created_ms FROM plan_versions WHERE name = $1 "
    "ORDER BY number";
static const char SQL_PLAN_EXISTS[] = "SELECT 1 FROM plans WHERE name = $1";

struct contract_job {
    const char *name;
    const char *contract;
    int64_t expect;
    int forced;
    const struct store_actor *a;
    int64_t number;
};

static int run_set_contract(struct pg_conn *w, void *arg, char *msg)
{
    struct contract_job *j = arg;
    char object[STORE_NAME_MAX + 8];
    char *before = NULL, *after = NULL;
    PGresult *res = NULL;
    int64_t cur = 0, now = cg_now_ms();
    int rc = pg_query(w, msg, &res, SQL_CONTRACT_CUR, "t", j->name);

    if (rc != CG_OK)
        return rc;
    if (PQntuples(res) == 0) {
        pg_msg(msg, "config '%s' not found", j->name);
        rc = CG_ERR_NOTFOUND;
    } else {
        cur = pg_col_int(res, 0, 0);
        before = store_contract_summary(cur, pg_col_text(res, 0, 1), -1);
        rc = before ? CG_OK : store_summary_fail(msg);
    }
    PQclear(res);
    if (rc != CG_OK)
        goto out;
    if (cur != j->expect) {
        pg_msg(msg,
               "the contract of '%s' is version %lld now, not %lld: it changed meanwhile; "
               "check again",
               j->name, (long long)cur, (long long)j->expect);
        rc = CG_ERR_CONFLICT;
        goto out;
    }
    j->number = cur + 1;
    after = store_contract_summary(j->number, j->contract, j->forced);
    if (!after) {
        rc = store_summary_fail(msg);
        goto out;
    }
    rc = pg_exec(w, msg, NULL, SQL_CONTRACT_SET, "tit", j->contract, j->number, j->name);
    if (rc == CG_OK)
        rc = pg_exec(w, msg, NULL, SQL_CONTRACT_INS, "titttii", j->name, j->number, j->contract,
                     j->a->actor, j->a->reason ? j->a->reason : "", (int64_t)(j->forced != 0), now);
    snprintf(object, sizeof object, "config/%s", j->name);
    if (rc == CG_OK)
        rc = pg_audit_append(w, j->a, "config.contract", object, before, after, msg);
    if (rc == CG_OK)
        rc = pg_change_add(w, "config.contract", j->name, NULL, msg);
out:
    free(before);
    free(after);
    return rc;
}

int pg_config_set_contract(struct store *st, const char *name, const char *contract_json,
                           int64_t expect_version, int forced, const struct store_actor *a,
                           int64_t *number, char *msg)
{
    struct contract_job j = {name, contract_json, expect_version, forced, a, 0};
    int rc = store_check_actor(a, msg);

    if (number)
        *number = 0;
    if (rc == CG_OK)
        rc = store_check_name("config", name, msg);
    if (rc != CG_OK)
        return rc;
    if (!contract_json || expect_version < 1) {
        pg_msg(msg, "config_set_contract: missing contract or expected version");
        return CG_ERR_INVALID;
    }
    rc = pg_tx(pgs(st), run_set_contract, &j, msg);
    if (rc == CG_OK && number)
        *number = j.number;
    return rc;
}

static int row_contract(const PGresult *q, int i, void *elem)
{
    struct store_contract *c = elem;

    cg_strlcpy(c->config, pg_col_text(q, i, 0), sizeof c->config);
    c->number = pg_col_int(q, i, 1);
    c->contract_json = pg_col_dup(q, i, 2);
    cg_strlcpy(c->actor, pg_col_text(q, i, 3), sizeof c->actor);
    c->reason = pg_col_dup(q, i, 4);
    c->forced = pg_col_int(q, i, 5) != 0;
    c->created_ms = pg_col_int(q, i, 6);
    if (!c->contract_json || !c->reason) {
        store_contract_free(c);
        return CG_ERR_NOMEM;
    }
    return CG_OK;
}

int pg_contract_list(struct store *st, const char *config, struct store_contract **out, size_t *n,
                     char *msg)
{
    void *arr = NULL;
    size_t cnt = 0;
    int rc;

    if (!config || !out || !n) {
        pg_msg(msg, "contract_list: missing argument");
        return CG_ERR_INVALID;
    }
    *out = NULL;
    *n = 0;
    rc = pg_read_int(pgs(st), msg, NULL, pg_sql_config_exists, config);
    if (rc == 0) {
        pg_msg(msg, "config '%.64s' not found", config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_contract, SQL_CONTRACT_LIST, "t",
                 config);
    if (rc != CG_OK) {
        store_contracts_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

int pg_contract_get(struct store *st, const char *config, int64_t number,
                    struct store_contract *out, char *msg)
{
    int rc;

    if (!config || !out) {
        pg_msg(msg, "contract_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = pg_get(pgs(st), msg, out, row_contract, SQL_CONTRACT_GET, "ti", config, number);
    if (rc == CG_ERR_NOTFOUND)
        pg_msg(msg, "config '%.64s' has no contract version %lld", config, (long long)number);
    return rc;
}

static int row_plan_version(const PGresult *q, int i, void *elem)
{
    struct store_plan_version *p = elem;

    cg_strlcpy(p->name, pg_col_text(q, i, 0), sizeof p->name);
    p->number = pg_col_int(q, i, 1);
    p->body_json = pg_col_dup(q, i, 2);
    cg_strlcpy(p->actor, pg_col_text(q, i, 3), sizeof p->actor);
    p->created_ms = pg_col_int(q, i, 4);
    return p->body_json ? CG_OK : CG_ERR_NOMEM;
}

int pg_plan_version_list(struct store *st, const char *name, struct store_plan_version **out,
                         size_t *n, char *msg)
{
    void *arr = NULL;
    size_t cnt = 0;
    int rc;

    if (!name || !out || !n) {
        pg_msg(msg, "plan_version_list: missing argument");
        return CG_ERR_INVALID;
    }
    *out = NULL;
    *n = 0;
    rc = pg_read_int(pgs(st), msg, NULL, SQL_PLAN_EXISTS, name);
    if (rc == 0) {
        pg_msg(msg, "plan '%.64s' not found", name);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_plan_version, SQL_PLAN_VERSIONS, "t",
                 name);
    if (rc != CG_OK) {
        store_plan_versions_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}
