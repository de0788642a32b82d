/* SPDX-License-Identifier: MIT */
/* store_sqlite_policy.c: config rollout policies on SQLite (store.h,
 * store_policy_put() and store_policy_get()). */
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"
#include "util.h"

static const char SQL_CONFIG_EXISTS[] = "SELECT 1 FROM configs WHERE name = ?";
static const char SQL_POLICY_BODY[] = "SELECT body_json FROM policies WHERE config = ?";
static const char SQL_POLICY_SET[] =
    "INSERT INTO policies (config, body_json, updated_by, updated_ms) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (config) DO UPDATE SET body_json = excluded.body_json, "
    "updated_by = excluded.updated_by, updated_ms = excluded.updated_ms";
static const char SQL_POLICY_DEL[] = "DELETE FROM policies WHERE config = ?";
static const char SQL_POLICY_GET[] =
    "SELECT config, body_json, updated_by, updated_ms FROM policies WHERE config = ?";

struct policy_job {
    const char *config;
    const char *body; /* NULL: clear */
    const struct store_actor *a;
};

static int run_policy_put(struct sq_conn *w, void *arg, char *msg)
{
    struct policy_job *j = arg;
    char object[STORE_NAME_MAX + 8];
    char *old = NULL, *before = NULL, *after = NULL;
    sqlite3_stmt *q;
    int rc = sq_int(w, msg, NULL, SQL_CONFIG_EXISTS, "t", j->config);

    if (rc == 0) {
        sq_msg(msg, "config '%.64s' not found", j->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if ((rc = sq_query(w, msg, &q, SQL_POLICY_BODY, "t", j->config)) != CG_OK)
        return rc;
    rc = sq_step(w, q, msg);
    if (rc == 1 && !(old = sq_col_dup(q, 0)))
        rc = CG_ERR_NOMEM;
    sq_reset(q);
    if (rc < 0)
        return rc;
    if (!old && !j->body) {
        sq_msg(msg, "config '%.64s' has no policy", j->config);
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
        rc = sq_exec(w, msg, SQL_POLICY_SET, "ttti", j->config, j->body, j->a->actor, cg_now_ms());
    else
        rc = sq_exec(w, msg, SQL_POLICY_DEL, "t", j->config);
    snprintf(object, sizeof object, "config/%s", j->config);
    if (rc == CG_OK)
        rc = sq_audit_append(w, j->a, j->body ? "config.set_policy" : "config.clear_policy", object,
                             before, after, msg);
out:
    free(before);
    free(after);
    return rc;
}

int sq_policy_put(struct store *st, const char *config, const char *body_json,
                  const struct store_actor *a, char *msg)
{
    struct policy_job j = {config, body_json, a};
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_name("config", config, msg);
    if (rc != CG_OK)
        return rc;
    return sq_submit(sq(st), run_policy_put, &j, msg);
}

static int row_policy(sqlite3_stmt *q, void *elem)
{
    struct store_policy *p = elem;

    cg_strlcpy(p->config, sq_col_text(q, 0), sizeof p->config);
    p->body_json = sq_col_dup(q, 1);
    cg_strlcpy(p->updated_by, sq_col_text(q, 2), sizeof p->updated_by);
    p->updated_ms = sqlite3_column_int64(q, 3);
    return p->body_json ? CG_OK : CG_ERR_NOMEM;
}

int sq_policy_get(struct store *st, const char *config, struct store_policy *out, char *msg)
{
    int rc;

    if (!config || !out) {
        sq_msg(msg, "policy_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = sq_get(sq(st), msg, out, row_policy, SQL_POLICY_GET, "t", config);
    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "config '%.64s' has no policy", config);
    return rc;
}
