/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_cfgdoc.c: the documents a config carries beside its
 * versions, one row each in a table of their own: its rollout policy
 * (store_policy_put()) and its scope (store_scope_put()). One put and one
 * get serve both; a table row (struct cfgdoc) says what differs.
 */
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"
#include "util.h"

/* A kind of config document. */
struct cfgdoc {
    const char *what;       /* "policy", "scope": in messages */
    const char *sql_body;   /* (config) -> body */
    const char *sql_set;    /* (config, body, actor, ms): upsert */
    const char *sql_del;    /* (config) */
    const char *sql_get;    /* (config) -> config, body, updated_by, updated_ms */
    const char *action_set; /* audit actions */
    const char *action_clear;
    char *(*summary)(const char *body); /* the audit before/after of a body (NULL: none) */
    int quiet;                          /* a put that changes nothing writes nothing, and clearing
                                           what is not there is no error */
};

#define CFGDOC_SQL(table, col)                                                                     \
    "SELECT " col " FROM " table " WHERE config = ?",                                              \
        "INSERT INTO " table " (config, " col ", updated_by, updated_ms) VALUES (?1, ?2, ?3, ?4) " \
        "ON CONFLICT (config) DO UPDATE SET " col " = excluded." col ", "                          \
        "updated_by = excluded.updated_by, updated_ms = excluded.updated_ms",                      \
        "DELETE FROM " table " WHERE config = ?",                                                  \
        "SELECT config, " col ", updated_by, updated_ms FROM " table " WHERE config = ?"

static const struct cfgdoc POLICY = {"policy",
                                     CFGDOC_SQL("policies", "body_json"),
                                     "config.set_policy",
                                     "config.clear_policy",
                                     store_policy_summary,
                                     0};
static const struct cfgdoc SCOPE = {"scope",
                                    CFGDOC_SQL("config_scopes", "scope_json"),
                                    "config.set_scope",
                                    "config.set_scope",
                                    store_scope_summary,
                                    1};

static const char SQL_CONFIG_EXISTS[] = "SELECT 1 FROM configs WHERE name = ?";

struct cfgdoc_job {
    const struct cfgdoc *k;
    const char *config;
    const char *body; /* NULL: clear */
    const struct store_actor *a;
};

static int run_cfgdoc_put(struct sq_conn *w, void *arg, char *msg)
{
    struct cfgdoc_job *j = arg;
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
    if ((rc = sq_query(w, msg, &q, j->k->sql_body, "t", j->config)) != CG_OK)
        return rc;
    rc = sq_step(w, q, msg);
    if (rc == 1 && !(old = sq_col_dup(q, 0)))
        rc = CG_ERR_NOMEM;
    sq_reset(q);
    if (rc < 0)
        return rc;
    if (!old && !j->body) {
        if (j->k->quiet)
            return CG_OK;
        sq_msg(msg, "config '%.64s' has no %s", j->config, j->k->what);
        return CG_ERR_NOTFOUND;
    }
    if (j->k->quiet && old && j->body && strcmp(old, j->body) == 0) {
        free(old);
        return CG_OK; /* no change, no record */
    }
    before = j->k->summary(old);
    after = j->k->summary(j->body);
    free(old);
    if (!before || !after) {
        rc = store_summary_fail(msg);
        goto out;
    }
    if (j->body)
        rc = sq_exec(w, msg, j->k->sql_set, "ttti", j->config, j->body, j->a->actor, cg_now_ms());
    else
        rc = sq_exec(w, msg, j->k->sql_del, "t", j->config);
    snprintf(object, sizeof object, "config/%s", j->config);
    if (rc == CG_OK)
        rc = sq_audit_append(w, j->a, j->body ? j->k->action_set : j->k->action_clear, object,
                             before, after, msg);
out:
    free(before);
    free(after);
    return rc;
}

static int cfgdoc_put(struct store *st, const struct cfgdoc *k, const char *config,
                      const char *body, const struct store_actor *a, char *msg)
{
    struct cfgdoc_job j = {k, config, body, a};
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = store_check_name("config", config, msg);
    return rc == CG_OK ? sq_submit(sq(st), run_cfgdoc_put, &j, msg) : rc;
}

/* The row of a config document: the same four columns in every kind's
 * table, into the same four fields of its struct. */
struct cfgdoc_row {
    char *config;
    size_t config_size;
    char **body;
    char *updated_by;
    size_t updated_by_size;
    int64_t *updated_ms;
};

static int row_cfgdoc(sqlite3_stmt *q, void *elem)
{
    struct cfgdoc_row *r = elem;

    cg_strlcpy(r->config, sq_col_text(q, 0), r->config_size);
    *r->body = sq_col_dup(q, 1);
    cg_strlcpy(r->updated_by, sq_col_text(q, 2), r->updated_by_size);
    *r->updated_ms = sqlite3_column_int64(q, 3);
    return *r->body ? CG_OK : CG_ERR_NOMEM;
}

static int cfgdoc_get(struct store *st, const struct cfgdoc *k, const char *config,
                      struct cfgdoc_row *r, char *msg)
{
    int rc;

    if (!config) {
        sq_msg(msg, "%s_get: missing argument", k->what);
        return CG_ERR_INVALID;
    }
    rc = sq_get(sq(st), msg, r, row_cfgdoc, k->sql_get, "t", config);
    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "config '%.64s' has no %s", config, k->what);
    return rc;
}

int sq_policy_put(struct store *st, const char *config, const char *body_json,
                  const struct store_actor *a, char *msg)
{
    return cfgdoc_put(st, &POLICY, config, body_json, a, msg);
}

int sq_policy_get(struct store *st, const char *config, struct store_policy *out, char *msg)
{
    struct cfgdoc_row r;

    if (!out)
        return cfgdoc_get(st, &POLICY, NULL, NULL, msg);
    memset(out, 0, sizeof *out);
    r = (struct cfgdoc_row){out->config,     sizeof out->config,     &out->body_json,
                            out->updated_by, sizeof out->updated_by, &out->updated_ms};
    return cfgdoc_get(st, &POLICY, config, &r, msg);
}

int sq_scope_put(struct store *st, const char *config, const char *scope_json,
                 const struct store_actor *a, char *msg)
{
    return cfgdoc_put(st, &SCOPE, config, scope_json, a, msg);
}

int sq_scope_get(struct store *st, const char *config, struct store_scope *out, char *msg)
{
    struct cfgdoc_row r;

    if (!out)
        return cfgdoc_get(st, &SCOPE, NULL, NULL, msg);
    memset(out, 0, sizeof *out);
    r = (struct cfgdoc_row){out->config,     sizeof out->config,     &out->scope_json,
                            out->updated_by, sizeof out->updated_by, &out->updated_ms};
    return cfgdoc_get(st, &SCOPE, config, &r, msg);
}
