/* SPDX-License-Identifier: MIT */
/*
 * store_pg_versions.c: versions and blobs in the PostgreSQL backend.
 * Publishing (CAS on the live version with the config row locked, a
 * content-addressed blob sent as binary bytea, dense version numbers), the
 * live-version rule, listing, the soft delete with its I3 reference checks
 * (live, assignments, hosts' applied and LKG, open rollouts), and reading a
 * blob.
 *
 * Every writer of a config's versions or live version (publish, delete,
 * a rollout update that sets live) holds that config's row lock, so the
 * live version a publish compares is the one it writes against, also
 * across processes.
 */
#include "store_pg_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- Versions and blobs ---- */

#define VERSION_COLS                                                                               \
    "config, number, sha256, media_type, size, author, message, parent, created_ms, deleted_ms, "  \
    "contract_version"
/* live (completed rollout, else newest non-deleted, else 0) and latest;
 * a read outside any transaction. */
static const char SQL_LIVE[] =
    "SELECT CASE WHEN live_version != 0 THEN live_version ELSE "
    "COALESCE((SELECT v.number FROM versions v WHERE v.config = configs.name AND "
    "v.deleted_ms = 0 ORDER BY v.number DESC LIMIT 1), 0) END, latest_version "
    "FROM configs WHERE name = $1";
/* Inside a transaction: first lock the config row (and read it as of the
 * lock), then read its newest version in a new statement, whose snapshot
 * sees every version committed by the lock's previous holder. */
static const char SQL_CONFIG_LOCK[] =
    "SELECT live_version, latest_version, contract_version FROM configs WHERE name = $1 FOR UPDATE";
static const char SQL_NEWEST[] = "SELECT number FROM versions WHERE config = $1 AND "
                                 "deleted_ms = 0 ORDER BY number DESC LIMIT 1";
static const char SQL_BLOB_ADD[] = "INSERT INTO blobs (sha256, size, bytes, created_ms) "
                                   "VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING";
static const char SQL_VERSION_ADD[] =
    "INSERT INTO versions (config, number, sha256, media_type, size, author, message, parent, "
    "created_ms, contract_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
static const char SQL_CONFIG_LATEST[] = "UPDATE configs SET latest_version = $1 WHERE name = $2";
static const char SQL_VERSION_GET[] =
    "SELECT " VERSION_COLS " FROM versions WHERE config = $1 AND number = $2";
/* keyset page on the primary key (config, number), newest first ("tii",
 * config, before (INT64_MAX = no bound), rows) */
static const char SQL_VERSION_LIST[] =
    "SELECT " VERSION_COLS " FROM versions WHERE config = $1 AND number < $2 "
    "ORDER BY number DESC LIMIT $3";
static const char SQL_BLOB_GET[] = "SELECT bytes FROM blobs WHERE sha256 = $1";

static int row_version(const PGresult *r, int i, void *elem)
{
    struct store_version *v = elem;

    cg_strlcpy(v->config, pg_col_text(r, i, 0), sizeof v->config);
    v->number = pg_col_int(r, i, 1);
    cg_strlcpy(v->sha256, pg_col_text(r, i, 2), sizeof v->sha256);
    cg_strlcpy(v->media_type, pg_col_text(r, i, 3), sizeof v->media_type);
    v->size = pg_col_int(r, i, 4);
    cg_strlcpy(v->author, pg_col_text(r, i, 5), sizeof v->author);
    v->message = pg_col_dup(r, i, 6);
    v->parent = pg_col_int(r, i, 7);
    v->created_ms = pg_col_int(r, i, 8);
    v->deleted_ms = pg_col_int(r, i, 9);
    v->contract_version = pg_col_int(r, i, 10);
    return v->message ? CG_OK : CG_ERR_NOMEM;
}

/* Inside a transaction: locks the config row and reads its live and latest
 * versions and its contract version (latest, contract may be NULL): 1, 0
 * (no such config) or an error. */
static int live_locked3(struct pg_conn *c, const char *config, int64_t *live, int64_t *latest,
                        int64_t *contract, char *msg)
{
    PGresult *res = NULL;
    int64_t pinned, newest = 0;
    int rc = pg_query(c, msg, &res, SQL_CONFIG_LOCK, "t", config);

    if (rc != CG_OK)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    pinned = pg_col_int(res, 0, 0);
    if (latest)
        *latest = pg_col_int(res, 0, 1);
    if (contract)
        *contract = pg_col_int(res, 0, 2);
    PQclear(res);
    if (pinned != 0) {
        *live = pinned;
        return 1;
    }
    rc = pg_int(c, msg, &newest, SQL_NEWEST, "t", config);
    if (rc < 0)
        return rc;
    *live = rc == 1 ? newest : 0;
    return 1;
}

/* live_locked3() without the contract version. */
static int live_locked(struct pg_conn *c, const char *config, int64_t *live, int64_t *latest,
                       char *msg)
{
    return live_locked3(c, config, live, latest, NULL, msg);
}

struct publish_job {
    const struct store_publish *p;
    const struct store_actor *a;
    const char *message;
    struct store_version v; /* out, owned by the caller */
};

static int run_publish(struct pg_conn *c, void *arg, char *msg)
{
    struct publish_job *j = arg;
    const struct store_publish *p = j->p;
    int64_t live = 0, latest = 0, contract = 0, num, now = cg_now_ms(), size = (int64_t)p->len;
    char object[STORE_NAME_MAX + 40];
    char *after;
    int rc = live_locked3(c, p->config, &live, &latest, &contract, msg);

    if (rc == 0) {
        pg_msg(msg, "config '%s' not found", p->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (live != p->expect_live) {
        pg_msg(msg,
               "config '%s': the live version is %" PRId64 ", not %" PRId64
               " as expected; validate against it and retry",
               p->config, live, p->expect_live);
        return CG_ERR_CONFLICT;
    }
    if (p->expect_contract_version > 0 && contract != p->expect_contract_version) {
        pg_msg(msg,
               "config '%s': the contract is version %" PRId64 ", not %" PRId64
               " as expected; validate against it and retry",
               p->config, contract, p->expect_contract_version);
        return CG_ERR_CONFLICT;
    }
    num = latest + 1;
    rc = pg_exec(c, msg, NULL, SQL_BLOB_ADD, "tibi", p->sha256, size, p->bytes, p->len, now);
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_VERSION_ADD, "tittittiii", p->config, num, p->sha256,
                     p->media_type, size, j->a->actor, j->message, live, now, contract);
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_CONFIG_LATEST, "it", num, p->config);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "config/%s/versions/%" PRId64, p->config, num);
    after = store_json_take(json_pack("{s:s, s:I, s:s, s:I}", "sha256", p->sha256, "size",
                                      (json_int_t)size, "media_type", p->media_type, "parent",
                                      (json_int_t)live));
    if (!after)
        return store_summary_fail(msg);
    rc = pg_audit_append(c, j->a, "version.publish", object, "", after, msg);
    free(after);
    if (rc == CG_OK)
        rc = pg_change_add(c, "version.publish", p->config, NULL, msg);
    if (rc != CG_OK)
        return rc;
    cg_strlcpy(j->v.config, p->config, sizeof j->v.config);
    j->v.number = num;
    cg_strlcpy(j->v.sha256, p->sha256, sizeof j->v.sha256);
    cg_strlcpy(j->v.media_type, p->media_type, sizeof j->v.media_type);
    j->v.size = size;
    cg_strlcpy(j->v.author, j->a->actor, sizeof j->v.author);
    free(j->v.message);
    j->v.message = strdup(j->message);
    j->v.parent = live;
    j->v.created_ms = now;
    j->v.deleted_ms = 0;
    j->v.contract_version = contract;
    return CG_OK;
}

static int check_publish(const struct store_publish *p, char *msg)
{
    char sha[65];

    if (!p || !p->config || !p->sha256 || !p->media_type || (!p->bytes && p->len > 0)) {
        pg_msg(msg, "version_publish: missing argument");
        return CG_ERR_INVALID;
    }
    if (!*p->media_type || strlen(p->media_type) >= sizeof((struct store_version *)0)->media_type) {
        pg_msg(msg, "invalid media type");
        return CG_ERR_INVALID;
    }
    if (p->expect_live < 0) {
        pg_msg(msg, "expect_live must be >= 0");
        return CG_ERR_INVALID;
    }
    cg_sha256_hex(p->bytes ? p->bytes : "", p->len, sha);
    if (strcmp(sha, p->sha256) != 0) {
        pg_msg(msg, "sha256 %.64s does not match the bytes (%s)", p->sha256, sha);
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

int pg_version_publish(struct store *st, const struct store_publish *p, const struct store_actor *a,
                       struct store_version *out, char *msg)
{
    int rc = store_check_actor(a, msg);

    if (rc == CG_OK)
        rc = check_publish(p, msg);
    if (rc != CG_OK)
        return rc;
    struct publish_job j = {.p = p, .a = a, .message = p->message ? p->message : ""};
    rc = pg_tx(pgs(st), run_publish, &j, msg);
    if (rc == CG_OK && !j.v.message) {
        pg_msg(msg, "out of memory (the version was published)");
        rc = CG_ERR_NOMEM;
    }
    if (rc == CG_OK && out)
        *out = j.v;
    else
        store_version_free(&j.v);
    return rc;
}

int pg_version_live(struct store *st, const char *config, int64_t *live, char *msg)
{
    struct pg_store *s = pgs(st);
    struct pg_conn *c = NULL;
    PGresult *res = NULL;
    int rc;

    if (!config || !live) {
        pg_msg(msg, "version_live: missing argument");
        return CG_ERR_INVALID;
    }
    rc = pg_conn_get(s, &c, msg);
    if (rc != CG_OK)
        return rc;
    rc = pg_query(c, msg, &res, SQL_LIVE, "t", config);
    pg_conn_put(s, c);
    if (rc != CG_OK)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        pg_msg(msg, "config '%.64s' not found", config);
        return CG_ERR_NOTFOUND;
    }
    *live = pg_col_int(res, 0, 0);
    PQclear(res);
    return CG_OK;
}

int pg_version_get(struct store *st, const char *config, int64_t number, struct store_version *out,
                   char *msg)
{
    int rc;

    if (!config || !out) {
        pg_msg(msg, "version_get: missing argument");
        return CG_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    rc = pg_get(pgs(st), msg, out, row_version, SQL_VERSION_GET, "ti", config, number);
    if (rc == CG_ERR_NOTFOUND)
        pg_msg(msg, "version %" PRId64 " of config '%.64s' not found", number, config);
    return rc;
}

int pg_version_list(struct store *st, const char *config, int64_t before, size_t limit,
                    struct store_version **out, size_t *n, char *msg)
{
    void *arr;
    size_t cnt;
    int64_t lim = limit ? (int64_t)limit : 100;
    int rc;

    if (!config || !out || !n || before < 0) {
        pg_msg(msg, "version_list: missing argument");
        return CG_ERR_INVALID;
    }
    rc = pg_list(pgs(st), msg, &arr, &cnt, sizeof **out, row_version, SQL_VERSION_LIST, "tii",
                 config, before > 0 ? before : INT64_MAX, lim);
    if (rc == CG_OK && cnt == 0) {
        rc = pg_read_int(pgs(st), msg, NULL, pg_sql_config_exists, config);
        if (rc == 0) {
            pg_msg(msg, "config '%.64s' not found", config);
            rc = CG_ERR_NOTFOUND;
        } else if (rc == 1) {
            rc = CG_OK;
        }
    }
    if (rc != CG_OK) {
        store_versions_free(arr, cnt);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return CG_OK;
}

static const char SQL_CONFIG_KEY_LOCK[] = "SELECT 1 FROM configs WHERE name = $1 FOR UPDATE";
static const char SQL_VERSION_STATE[] =
    "SELECT deleted_ms FROM versions WHERE config = $1 AND number = $2";
/* the first cells (by name) assigned the version, joined by ", " ("" = none),
 * and how many there are */
static const char SQL_REF_ASSIGN[] =
    "SELECT coalesce(string_agg(cell, ', ' ORDER BY cell), '') FROM (SELECT cell FROM "
    "assignments WHERE config = $1 AND version = $2 ORDER BY cell LIMIT 3) s";
static const char SQL_REF_ASSIGN_N[] =
    "SELECT count(*) FROM assignments WHERE config = $1 AND version = $2";
static const char SQL_LIVE_RAW[] = "SELECT live_version FROM configs WHERE name = $1";
static const char SQL_REF_HOST_ASSIGN[] = "SELECT host FROM host_assignments WHERE config = $1 "
                                          "AND version = $2 ORDER BY host LIMIT 1";
static const char SQL_REF_APPLIED[] = "SELECT host FROM host_versions WHERE config = $1 AND "
                                      "applied_version = $2 ORDER BY host LIMIT 1";
static const char SQL_REF_LKG[] = "SELECT host FROM host_versions WHERE config = $1 AND "
                                  "lkg_version = $2 ORDER BY host LIMIT 1";
/* as store_sqlite_versions.c: the newest generation that carried the
 * version (migration 0016), and the first host that may hold it unreported */
static const char SQL_VERSION_LAST_GEN[] =
    "SELECT last_assigned_gen FROM versions WHERE config = $1 AND number = $2";
static const char SQL_REF_PENDING[] =
    "SELECT host, applied_generation, cur FROM (SELECT hv.host, hv.applied_generation, "
    "GREATEST(coalesce(a.generation, 0), coalesce(ha.generation, 0)) AS cur FROM host_versions hv "
    "LEFT JOIN assignments a ON a.cell = hv.cell AND a.config = hv.config LEFT JOIN "
    "host_assignments ha ON ha.host = hv.host AND ha.config = hv.config WHERE hv.config = $1 AND "
    "hv.applied_generation < $2) s WHERE applied_generation < cur ORDER BY host LIMIT 1";
static const char SQL_REF_ROLLOUT[] =
    "SELECT id FROM rollouts WHERE config = $1 AND (from_version = $2 OR to_version = $2) "
    "AND state NOT IN " PG_ROLLOUT_TERMINAL " ORDER BY id LIMIT 1";
static const char SQL_VERSION_DEL[] =
    "UPDATE versions SET deleted_ms = $1 WHERE config = $2 AND number = $3";

struct delete_job {
    const char *config;
    int64_t number;
    const struct store_actor *a;
};

/* 0, or CG_ERR_CONFLICT naming a host that may hold a generation that
 * carried the version and has not reported it yet (I3), or an error. */
static int pending_host(struct pg_conn *c, const char *config, int64_t num, char *msg)
{
    char host[STORE_NAME_MAX] = "";
    int64_t last = 0, reported = 0, cur = 0;
    PGresult *res = NULL;
    int rc = pg_int(c, msg, &last, SQL_VERSION_LAST_GEN, "ti", config, num);

    if (rc <= 0 || last == 0) /* never assigned: no host can have fetched it */
        return rc < 0 ? rc : 0;
    rc = pg_query(c, msg, &res, SQL_REF_PENDING, "ti", config, last);
    if (rc != CG_OK)
        return rc;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    cg_strlcpy(host, pg_col_text(res, 0, 0), sizeof host);
    reported = pg_col_int(res, 0, 1);
    cur = pg_col_int(res, 0, 2);
    PQclear(res);
    /* the host first: the hint may be cut at STORE_MSG_MAX with long names */
    pg_msg(msg,
           "version %" PRId64 " of '%s' may be on host '%s' unreported: generation %" PRId64
           " carried it, the host last reported %" PRId64 ", its cell is at %" PRId64
           "; wait for its report, or forget the host if it is gone (DELETE "
           "/v1/hosts/H?forget=1)",
           num, config, host, last, reported, cur);
    return CG_ERR_CONFLICT;
}

/* CG_ERR_CONFLICT naming the first reference that keeps the version (I3).
 * The config row is locked by the caller: assignments, host reports and
 * rollouts of this config wait for the transaction. */
static int version_referenced(struct pg_conn *c, const char *config, int64_t num, char *msg)
{
    char who[4 * STORE_NAME_MAX];
    int64_t live = 0, base = 0, id = 0, ncells = 0;
    int rc = live_locked(c, config, &base, NULL, msg);

    if (rc < 0)
        return rc;
    if (rc == 1)
        rc = pg_int(c, msg, &live, SQL_LIVE_RAW, "t", config);
    if (rc < 0)
        return rc;
    /* the words of docs/contracts.md "Live version" */
    if (live == num) {
        pg_msg(msg,
               "version %" PRId64 " is the live version of config '%s' (the newest completed "
               "rollout ended on it)",
               num, config);
        return CG_ERR_CONFLICT;
    }
    if (live == 0 && base == num) {
        pg_msg(msg,
               "version %" PRId64 " of '%s' is the newest published version and no rollout has "
               "completed: new versions are compared with it",
               num, config);
        return CG_ERR_CONFLICT;
    }
    who[0] = '\0';
    rc = pg_text(c, msg, who, sizeof who, SQL_REF_ASSIGN, "ti", config, num);
    if (rc == 1 && who[0])
        rc = pg_int(c, msg, &ncells, SQL_REF_ASSIGN_N, "ti", config, num);
    if (rc < 0)
        return rc;
    if (who[0]) {
        pg_msg(msg, "version %" PRId64 " of '%s' is assigned to cell%s %s%s", num, config,
               ncells == 1 ? "" : "s", who, ncells > 3 ? " and more" : "");
        return CG_ERR_CONFLICT;
    }
    rc = pg_text(c, msg, who, sizeof who, SQL_REF_HOST_ASSIGN, "ti", config, num);
    if (rc == 1) {
        pg_msg(msg, "version %" PRId64 " of '%s' is assigned to host '%s'", num, config, who);
        return CG_ERR_CONFLICT;
    }
    if (rc == 0)
        rc = pg_text(c, msg, who, sizeof who, SQL_REF_APPLIED, "ti", config, num);
    if (rc == 1) {
        pg_msg(msg, "version %" PRId64 " of '%s' is applied on host '%s'", num, config, who);
        return CG_ERR_CONFLICT;
    }
    if (rc == 0)
        rc = pg_text(c, msg, who, sizeof who, SQL_REF_LKG, "ti", config, num);
    if (rc == 1) {
        pg_msg(msg, "version %" PRId64 " of '%s' is the last-known-good of host '%s'", num, config,
               who);
        return CG_ERR_CONFLICT;
    }
    if (rc == 0)
        rc = pending_host(c, config, num, msg);
    if (rc == 0)
        rc = pg_int(c, msg, &id, SQL_REF_ROLLOUT, "ti", config, num);
    if (rc == 1) {
        pg_msg(msg, "version %" PRId64 " of '%s' is the source or target of open rollout %" PRId64,
               num, config, id);
        return CG_ERR_CONFLICT;
    }
    return rc;
}

static int run_version_delete(struct pg_conn *c, void *arg, char *msg)
{
    struct delete_job *j = arg;
    char object[STORE_NAME_MAX + 40];
    char *after;
    int64_t deleted = 0, now = cg_now_ms();
    int rc = pg_int(c, msg, NULL, SQL_CONFIG_KEY_LOCK, "t", j->config);

    if (rc == 1)
        rc = pg_int(c, msg, &deleted, SQL_VERSION_STATE, "ti", j->config, j->number);
    if (rc == 0) {
        pg_msg(msg, "version %" PRId64 " of config '%s' not found", j->number, j->config);
        return CG_ERR_NOTFOUND;
    }
    if (rc < 0)
        return rc;
    if (deleted != 0) {
        pg_msg(msg, "version %" PRId64 " of config '%s' is already deleted", j->number, j->config);
        return CG_ERR_CONFLICT;
    }
    rc = version_referenced(c, j->config, j->number, msg);
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_VERSION_DEL, "iti", now, j->config, j->number);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "config/%s/versions/%" PRId64, j->config, j->number);
    after = store_json_take(json_pack("{s:I}", "deleted_ms", (json_int_t)now));
    if (!after)
        return store_summary_fail(msg);
    rc = pg_audit_append(c, j->a, "version.delete", object, "", after, msg);
    free(after);
    return rc;
}

int pg_version_delete(struct store *st, const char *config, int64_t number,
                      const struct store_actor *a, char *msg)
{
    int rc = store_check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!config) {
        pg_msg(msg, "version_delete: missing config name");
        return CG_ERR_INVALID;
    }
    struct delete_job j = {config, number, a};
    return pg_tx(pgs(st), run_version_delete, &j, msg);
}

int pg_blob_get(struct store *st, const char *sha256, void **bytes, size_t *len, char *msg)
{
    struct pg_store *s = pgs(st);
    struct pg_conn *c = NULL;
    PGresult *res = NULL;
    int rc;

    if (!sha256 || !bytes || !len) {
        pg_msg(msg, "blob_get: missing argument");
        return CG_ERR_INVALID;
    }
    *bytes = NULL;
    *len = 0;
    rc = pg_conn_get(s, &c, msg);
    if (rc != CG_OK)
        return rc;
    rc = pg_query_bin(c, msg, &res, SQL_BLOB_GET, "t", sha256);
    pg_conn_put(s, c);
    if (rc != CG_OK)
        return rc;
    if (PQntuples(res) == 0) {
        pg_msg(msg, "blob %.64s not found", sha256);
        rc = CG_ERR_NOTFOUND;
    } else {
        size_t n = (size_t)PQgetlength(res, 0, 0);
        *bytes = malloc(n ? n : 1);
        if (*bytes) {
            if (n)
                memcpy(*bytes, PQgetvalue(res, 0, 0), n);
            *len = n;
        } else {
            pg_msg(msg, "out of memory");
            rc = CG_ERR_NOMEM;
        }
    }
    PQclear(res);
    return rc;
}
