/* SPDX-License-Identifier: MIT */
/* store_pg_policy.c: config rollout policies on PostgreSQL (store.h,
 * store_policy_put() and store_policy_get()); as store_sqlite_policy.c. */
#include <stdlib.h>
#include <string.h>

#include "store_pg_int.h"
#include "util.h"

/* The config row is locked: a policy change and a concurrent one of the
 * same config serialize, and the config cannot vanish meanwhile. */
static const char SQL_CONFIG_LOCK[] = "SELECT 1 FROM configs WHERE name = $1 FOR UPDATE";
static const char SQL_POLICY_BODY[] = "SELECT body_json FROM policies WHERE config = $1";
static const char SQL_POLICY_SET[] =
    "INSERT INTO policies (config, body_json, updated_by, updated_ms) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (config) DO UPDATE SET body_json = excluded.body_json, "
    "updated_by = excluded.updated_by, updated_ms = excluded.updated_ms";
static const char SQL_POLICY_DEL[] = "DELETE FROM policies WHERE config = $1";
static const char SQL_POLICY_GET[] =
    "SELECT config, body_json, updated_by, updated_ms FROM policies WHERE config = $1";

struct policy_job {
    const char *config;
    const char *body; /* NULL: clear */
    const struct store_actor *a;
};

static int run_policy_put(struct pg_conn *c, void *arg, char *msg)
{
    struct policy_job *j = arg;
    char object[STORE_NAME_MAX + 8];
    char *old = NULL, *before = NULL, *after = NULL;
    PGresult *res = NULL;
    int rc = pg_int(c, msg, NULL, SQL_CONFIG_LOCK, "t", j->config);

    if (rc == 0) {
        pg_msg(msg, "config '%.64s' not found", j->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if ((rc = pg_query(c, msg, &res, SQL_POLICY_BODY, "t", j->config)) != CG_OK)
        return rc;
    if (PQntuples(res) > 0 && !(old = pg_col_dup(res, 0, 0)))
        rc = CG_ERR_NOMEM;
    PQclear(res);
    if (rc != CG_OK)
        return rc;
    if (!old && !j->body) {
        pg_msg(msg, "config '%.64s' has no policy", j->config);
        return CG_ERR_NOTFOUND;
    }
    before = store_policy_summary(old);
    after = store_policy_summary(j->body);
    free(old);
    if (!before || !after) {
        rc = store_summary_fail(msg);
        goto out;
    }
    if (j->body)
        rc = pg_exec(c, msg, NULL, SQL_POLICY_SET, "ttti", j->config, j->body, j->a->actor,
                     cg_now_ms());
    else
        rc = pg_exec(c, msg, NULL, SQL_POLICY_DEL, "t", j->config);
    snprintf(object, sizeof object, "config/%s", j->config);
    if (rc == CG_OK)
        rc = pg_audit_append(c, j->a, j->body ? "config.set_policy" : "config.clear_policy", object,
                             before, after, msg);
out:
    free(before);
    free(after);
    return rc;
}

int pg_policy_put(struct store *st, const char *config, const char *body_json,
                  const struct store_actor *a, char *msg)
{
    struct policy_job j = {config, body_json, a};
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_name("config", config, msg);
    if (rc != CG_OK)
        return rc;
    return pg_tx(pgs(st), run_policy_put, &j, msg);
}

static int row_policy(const PGresult *r, int row, void *elem)
{
    struct store_policy *p = elem;

    cg_strlcpy(p->config, pg_col_text(r, row, 0), sizeof p->config);
    p->body_json = pg_col_dup(r, row, 1);
    cg_strlcpy(p->updated_by, pg_col_text(r, row, 2), sizeof p->updated_by);
    p->updated_ms = pg_col_int(r, row, 3);
    return p->body_json ? CG_OK : CG_ERR_NOMEM;
}

int pg_policy_get(struct store *st, const char *config, struct store_policy *out, char *msg)
{
    int rc;

    if (!config || !out) {
        pg_msg(msg, "policy_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = pg_get(pgs(st), msg, out, row_policy, SQL_POLICY_GET, "t", config);
    if (rc == CG_ERR_NOTFOUND)
        pg_msg(msg, "config '%.64s' has no policy", config);
    return rc;
}
