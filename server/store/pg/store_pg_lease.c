/* SPDX-License-Identifier: MIT */
/*
 * store_pg_lease.c: leases in the PostgreSQL backend (acquire or renew,
 * read, list, release), the fence check every fenced controller write
 * makes inside its own transaction (store.h, "fence_term"), and the meta
 * facts set once.
 *
 * Every time is the database's clock (PG_NOW_MS), so replicas with skewed
 * clocks agree. A lease row is locked FOR UPDATE by an acquire and FOR
 * SHARE by a fence check: a takeover waits for a fenced write in flight to
 * commit, and a fenced write that comes after the takeover sees the new
 * term and fails. Lease rows are taken before any other row (the order is
 * lease, rollout, config, audit head), so the locks cannot deadlock.
 */
#include "store_pg_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PG_NOW_MS "(extract(epoch from clock_timestamp()) * 1000)::bigint"

static const char SQL_LEASE_SEED[] =
    "INSERT INTO leases (name, holder, term, acquired_ms, expires_ms) VALUES ($1, '', 0, 0, 0) "
    "ON CONFLICT (name) DO NOTHING";
static const char SQL_LEASE_LOCK[] =
    "SELECT name, holder, term, acquired_ms, expires_ms, " PG_NOW_MS
    " FROM leases WHERE name = $1 FOR UPDATE";
static const char SQL_LEASE_GET[] = "SELECT name, holder, term, acquired_ms, expires_ms, " PG_NOW_MS
                                    " FROM leases WHERE name = $1 AND term > 0";
static const char SQL_LEASE_LIST[] =
    "SELECT name, holder, term, acquired_ms, expires_ms, " PG_NOW_MS
    " FROM leases WHERE left(name, length($1)) = $1 AND term > 0 ORDER BY name LIMIT $2";
static const char SQL_TERM_NEXT[] = "SELECT nextval('lease_terms')";
static const char SQL_LEASE_TAKE[] =
    "UPDATE leases SET holder = $2, term = $3, acquired_ms = $4, expires_ms = $4 + $5 "
    "WHERE name = $1";
static const char SQL_LEASE_RENEW[] = "UPDATE leases SET expires_ms = $2 + $3 WHERE name = $1";
static const char SQL_LEASE_RELEASE[] =
    "UPDATE leases SET expires_ms = " PG_NOW_MS
    " WHERE name = $1 AND holder = $2 AND term = $3 AND expires_ms > " PG_NOW_MS;
static const char SQL_FENCE[] = "SELECT term, expires_ms, " PG_NOW_MS
                                " FROM leases WHERE name = '" STORE_LEASE_CONTROLLER "' FOR SHARE";
static const char SQL_META_ADD[] = "INSERT INTO meta (key, value, created_ms) VALUES ($1, $2, $3) "
                                   "ON CONFLICT (key) DO NOTHING";
static const char SQL_META_GET[] = "SELECT value FROM meta WHERE key = $1";

static int row_lease(const PGresult *r, int row, void *elem)
{
    struct store_lease *l = elem;

    memset(l, 0, sizeof *l);
    cg_strlcpy(l->name, pg_col_text(r, row, 0), sizeof l->name);
    cg_strlcpy(l->holder, pg_col_text(r, row, 1), sizeof l->holder);
    l->term = pg_col_int(r, row, 2);
    l->acquired_ms = pg_col_int(r, row, 3);
    l->expires_ms = pg_col_int(r, row, 4);
    l->now_ms = pg_col_int(r, row, 5);
    return CG_OK;
}

struct lease_job {
    const char *name, *holder;
    int64_t ttl_ms, term;
    struct store_lease out;
};

static int run_lease_acquire(struct pg_conn *c, void *arg, char *msg)
{
    struct lease_job *j = arg;
    struct store_lease cur;
    struct store_actor who = {"cluster", "new term"};
    char object[STORE_NAME_MAX + 8], *before = NULL, *after = NULL;
    int64_t term = 0;
    int rc = pg_exec(c, msg, NULL, SQL_LEASE_SEED, "t", j->name), have;

    if (rc == CG_OK)
        rc = pg_get_on(c, msg, &cur, row_lease, SQL_LEASE_LOCK, "t", j->name);
    if (rc != CG_OK)
        return rc;
    have = cur.term > 0;
    if (have && cur.expires_ms > cur.now_ms) {
        if (strcmp(cur.holder, j->holder) != 0) {
            j->out = cur;
            pg_msg(msg, "lease %s is held by %s (term %" PRId64 ") for %" PRId64 " ms more",
                   j->name, cur.holder, cur.term, cur.expires_ms - cur.now_ms);
            return CG_ERR_CONFLICT;
        }
        rc = pg_exec(c, msg, NULL, SQL_LEASE_RENEW, "tii", j->name, cur.now_ms, j->ttl_ms);
        if (rc != CG_OK)
            return rc;
        j->out = cur;
        j->out.expires_ms = cur.now_ms + j->ttl_ms;
        return CG_OK;
    }
    rc = pg_int(c, msg, &term, SQL_TERM_NEXT, "");
    if (rc < 0)
        return rc;
    rc = pg_exec(c, msg, NULL, SQL_LEASE_TAKE, "ttiii", j->name, j->holder, term, cur.now_ms,
                 j->ttl_ms);
    if (rc != CG_OK)
        return rc;
    memset(&j->out, 0, sizeof j->out);
    cg_strlcpy(j->out.name, j->name, sizeof j->out.name);
    cg_strlcpy(j->out.holder, j->holder, sizeof j->out.holder);
    j->out.term = term;
    j->out.acquired_ms = cur.now_ms;
    j->out.expires_ms = cur.now_ms + j->ttl_ms;
    j->out.now_ms = cur.now_ms;
    if (strcmp(j->name, STORE_LEASE_CONTROLLER) != 0)
        return CG_OK; /* heartbeats ("replica/ID") are not audited */
    snprintf(object, sizeof object, "lease/%s", j->name);
    before = have ? store_lease_summary(cur.holder, cur.term, 0) : NULL;
    after = store_lease_summary(j->holder, term, j->ttl_ms);
    if ((have && !before) || !after) {
        free(before);
        free(after);
        return store_summary_fail(msg);
    }
    rc = pg_audit_append(c, &who, "lease.acquire", object, before, after, msg);
    free(before);
    free(after);
    return rc;
}

int pg_lease_acquire(struct store *st, const char *name, const char *holder, int64_t ttl_ms,
                     struct store_lease *out, char *msg)
{
    struct lease_job j;
    int rc = store_check_lease(name, holder, ttl_ms, msg);

    if (rc != CG_OK)
        return rc;
    memset(&j, 0, sizeof j);
    j.name = name;
    j.holder = holder;
    j.ttl_ms = ttl_ms;
    rc = pg_tx(pgs(st), run_lease_acquire, &j, msg);
    if (out && (rc == CG_OK || rc == CG_ERR_CONFLICT))
        *out = j.out;
    return rc;
}

int pg_lease_get(struct store *st, const char *name, struct store_lease *out, char *msg)
{
    int rc;

    if (!name || !*name || !out) {
        pg_msg(msg, "lease: need a name and out");
        return CG_ERR_INVALID;
    }
    rc = pg_get(pgs(st), msg, out, row_lease, SQL_LEASE_GET, "t", name);
    if (rc == CG_ERR_NOTFOUND)
        pg_msg(msg, "lease %s was never acquired", name);
    return rc;
}

int pg_lease_list(struct store *st, const char *prefix, struct store_lease **out, size_t *n,
                  char *msg)
{
    int rc;

    if (!out || !n) {
        pg_msg(msg, "lease_list: missing argument");
        return CG_ERR_INVALID;
    }
    *out = NULL;
    *n = 0;
    rc = pg_list(pgs(st), msg, (void **)out, n, sizeof **out, row_lease, SQL_LEASE_LIST, "ti",
                 prefix ? prefix : "", (int64_t)STORE_PAGE_MAX);
    if (rc != CG_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

static int run_lease_release(struct pg_conn *c, void *arg, char *msg)
{
    struct lease_job *j = arg;

    return pg_exec(c, msg, NULL, SQL_LEASE_RELEASE, "tti", j->name, j->holder, j->term);
}

int pg_lease_release(struct store *st, const char *name, const char *holder, int64_t term,
                     char *msg)
{
    struct lease_job j;
    int rc = store_check_lease(name, holder, -1, msg);

    if (rc != CG_OK)
        return rc;
    memset(&j, 0, sizeof j);
    j.name = name;
    j.holder = holder;
    j.term = term;
    return pg_tx(pgs(st), run_lease_release, &j, msg);
}

int pg_fence_check(struct pg_conn *c, int64_t term, char *msg)
{
    PGresult *r = NULL;
    int64_t cur = 0, expires = 0, now = 0;
    int rc;

    if (term <= 0)
        return CG_OK;
    rc = pg_query(c, msg, &r, SQL_FENCE, "");
    if (rc != CG_OK)
        return rc;
    if (PQntuples(r) > 0) {
        cur = pg_col_int(r, 0, 0);
        expires = pg_col_int(r, 0, 1);
        now = pg_col_int(r, 0, 2);
    }
    PQclear(r);
    if (cur != term || expires <= now) {
        pg_msg(msg,
               "fenced: term %" PRId64 " no longer holds the controller lease (current term "
               "%" PRId64 ", %s)",
               term, cur, cur == term ? "expired" : "another holder");
        return CG_ERR_CONFLICT;
    }
    return CG_OK;
}

static const char SQL_CLAIM_ADD[] = "INSERT INTO host_claims (host, cell, credential, claimed_ms) "
                                    "VALUES ($1, $2, $3, $4) ON CONFLICT (host) DO NOTHING";
static const char SQL_CLAIM_GET[] =
    "SELECT host, cell, credential, claimed_ms FROM host_claims WHERE host = $1";
static const char SQL_CLAIM_GET_LOCK[] =
    "SELECT host, cell, credential, claimed_ms FROM host_claims WHERE host = $1 FOR UPDATE";
static const char SQL_CLAIM_DEL[] = "DELETE FROM host_claims WHERE host = $1";

struct meta_job {
    const char *key, *value;
    char *out;
    size_t outlen;
};

static int run_meta_put_once(struct pg_conn *c, void *arg, char *msg)
{
    struct meta_job *j = arg;
    struct store_actor who = {"system", "set once"};
    char object[STORE_NAME_MAX + 8], *after;
    int64_t added = 0;
    int rc = pg_exec(c, msg, &added, SQL_META_ADD, "tti", j->key, j->value, cg_now_ms());

    if (rc != CG_OK)
        return rc;
    if (added == 0) {
        rc = pg_text(c, msg, j->out, j->outlen, SQL_META_GET, "t", j->key);
        return rc == 1 ? CG_OK : rc < 0 ? rc : CG_ERR_IO;
    }
    snprintf(object, sizeof object, "meta/%s", j->key);
    after = store_json_take(json_pack("{s:s}", "value", j->value));
    if (!after)
        return store_summary_fail(msg);
    rc = pg_audit_append(c, &who, "meta.set", object, "", after, msg);
    free(after);
    if (rc == CG_OK)
        cg_strlcpy(j->out, j->value, j->outlen);
    return rc;
}

int pg_meta_put_once(struct store *st, const char *key, const char *value, char *out, size_t outlen,
                     char *msg)
{
    struct meta_job j = {key, value, out, outlen};
    int rc = store_check_meta(key, value, out, outlen, msg);

    if (rc != CG_OK)
        return rc;
    out[0] = '\0';
    return pg_tx(pgs(st), run_meta_put_once, &j, msg);
}

static const char SQL_META_SET[] = "UPDATE meta SET value = $1 WHERE key = $2";
static const char SQL_META_GET_LOCK[] = "SELECT value FROM meta WHERE key = $1 FOR UPDATE";

struct meta_swap_job {
    const char *key, *old_value, *new_value;
    const struct store_actor *a;
};

static int run_meta_replace(struct pg_conn *c, void *arg, char *msg)
{
    struct meta_swap_job *j = arg;
    char cur[1024], object[STORE_NAME_MAX + 8], *before = NULL, *after = NULL;
    int rc = pg_text(c, msg, cur, sizeof cur, SQL_META_GET_LOCK, "t", j->key);

    if (rc < 0)
        return rc;
    if (rc == 0) {
        pg_msg(msg, "meta %s has no value", j->key);
        return CG_ERR_NOTFOUND;
    }
    if (strcmp(cur, j->old_value) != 0) {
        pg_msg(msg, "meta %s is %.16s..., not %.16s... as expected", j->key, cur, j->old_value);
        return CG_ERR_CONFLICT;
    }
    rc = pg_exec(c, msg, NULL, SQL_META_SET, "tt", j->new_value, j->key);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "meta/%s", j->key);
    before = store_meta_summary(j->old_value);
    after = store_meta_summary(j->new_value);
    rc = before && after ? pg_audit_append(c, j->a, "meta.set", object, before, after, msg)
                         : store_summary_fail(msg);
    free(before);
    free(after);
    return rc;
}

int pg_meta_replace(struct store *st, const char *key, const char *old_value, const char *new_value,
                    const struct store_actor *a, char *msg)
{
    struct meta_swap_job j = {key, old_value, new_value, a};
    int rc = store_check_meta_replace(key, old_value, new_value, a, msg);

    if (rc != CG_OK)
        return rc;
    return pg_tx(pgs(st), run_meta_replace, &j, msg);
}

static int row_claim(const PGresult *r, int i, void *elem)
{
    struct store_host_claim *c = elem;

    cg_strlcpy(c->host, pg_col_text(r, i, 0), sizeof c->host);
    cg_strlcpy(c->cell, pg_col_text(r, i, 1), sizeof c->cell);
    cg_strlcpy(c->credential, pg_col_text(r, i, 2), sizeof c->credential);
    c->claimed_ms = pg_col_int(r, i, 3);
    return CG_OK;
}

struct claim_job {
    const char *host, *cell, *credential;
    struct store_host_claim *out;
};

static int run_claim(struct pg_conn *c, void *arg, char *msg)
{
    struct claim_job *j = arg;
    int rc =
        pg_exec(c, msg, NULL, SQL_CLAIM_ADD, "ttti", j->host, j->cell, j->credential, cg_now_ms());

    return rc != CG_OK ? rc : pg_get_on(c, msg, j->out, row_claim, SQL_CLAIM_GET, "t", j->host);
}

int pg_host_claim(struct store *st, const char *host, const char *cell, const char *credential,
                  struct store_host_claim *out, char *msg)
{
    struct claim_job j = {host, cell, credential, out};
    int rc = store_check_claim(host, cell, credential, out, msg);

    if (rc != CG_OK)
        return rc;
    memset(out, 0, sizeof *out);
    rc = pg_get(pgs(st), msg, out, row_claim, SQL_CLAIM_GET, "t", host);
    if (rc != CG_ERR_NOTFOUND)
        return rc;
    return pg_tx(pgs(st), run_claim, &j, msg);
}

struct release_job {
    const char *host;
    const struct store_actor *a;
};

static int run_release(struct pg_conn *c, void *arg, char *msg)
{
    struct release_job *j = arg;
    struct store_host_claim hc;
    char object[STORE_NAME_MAX + 8], *before;
    int rc = pg_get_on(c, msg, &hc, row_claim, SQL_CLAIM_GET_LOCK, "t", j->host);

    if (rc == CG_ERR_NOTFOUND)
        pg_msg(msg, "host %s is not claimed", j->host);
    if (rc != CG_OK)
        return rc;
    rc = pg_exec(c, msg, NULL, SQL_CLAIM_DEL, "t", j->host);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "host/%s", j->host);
    before = store_json_take(json_pack("{s:s, s:s}", "cell", hc.cell, "credential", hc.credential));
    if (!before)
        return store_summary_fail(msg);
    rc = pg_audit_append(c, j->a, "host.release", object, before, "", msg);
    free(before);
    /* the other replicas forget the claim they cached (replica.c) */
    if (rc == CG_OK)
        rc = pg_change_add(c, "host.release", NULL, j->host, msg);
    return rc;
}

/* as store_sqlite_lease.c: what the server knows of a host from its
 * reports, for host.forget */
static const char SQL_HOST_ROWS[] =
    "SELECT config, cell, applied_version, applied_generation, lkg_version FROM host_versions "
    "WHERE host = $1 ORDER BY config FOR UPDATE";
static const char SQL_HOST_ROWS_DEL[] = "DELETE FROM host_versions WHERE host = $1";
static const char SQL_HOST_EXPO_END[] =
    "UPDATE host_exposures SET to_ms = $2 WHERE host = $1 AND to_ms IS NULL";

static int run_forget(struct pg_conn *c, void *arg, char *msg)
{
    struct release_job *j = arg;
    struct store_host_claim hc;
    char object[STORE_NAME_MAX + 8], *before;
    PGresult *res = NULL;
    json_t *rows, *b;
    int claimed, rc = pg_get_on(c, msg, &hc, row_claim, SQL_CLAIM_GET_LOCK, "t", j->host);

    if (rc != CG_OK && rc != CG_ERR_NOTFOUND)
        return rc;
    claimed = rc == CG_OK;
    rc = pg_query(c, msg, &res, SQL_HOST_ROWS, "t", j->host);
    if (rc != CG_OK)
        return rc;
    rows = json_array();
    for (int i = 0; rows && i < PQntuples(res); i++) {
        json_t *row =
            json_pack("{s:s, s:s, s:I, s:I, s:I}", "config", pg_col_text(res, i, 0), "cell",
                      pg_col_text(res, i, 1), "applied_version", (json_int_t)pg_col_int(res, i, 2),
                      "applied_generation", (json_int_t)pg_col_int(res, i, 3), "lkg_version",
                      (json_int_t)pg_col_int(res, i, 4));
        if (!row || json_array_append_new(rows, row) != 0) {
            json_decref(rows);
            rows = NULL;
        }
    }
    PQclear(res);
    if (!rows)
        return store_summary_fail(msg);
    if (!claimed && json_array_size(rows) == 0) {
        json_decref(rows);
        pg_msg(msg, "host %s is neither claimed nor known from its reports", j->host);
        return CG_ERR_NOTFOUND;
    }
    if (claimed)
        rc = pg_exec(c, msg, NULL, SQL_CLAIM_DEL, "t", j->host);
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_HOST_ROWS_DEL, "t", j->host);
    if (rc == CG_OK)
        rc = pg_exec(c, msg, NULL, SQL_HOST_EXPO_END, "ti", j->host, cg_now_ms());
    if (rc != CG_OK) {
        json_decref(rows);
        return rc;
    }
    b = claimed ? json_pack("{s:s, s:s, s:o}", "cell", hc.cell, "credential", hc.credential,
                            "versions", rows)
                : json_pack("{s:o}", "versions", rows);
    before = store_json_take(b);
    if (!before)
        return store_summary_fail(msg);
    snprintf(object, sizeof object, "host/%s", j->host);
    rc = pg_audit_append(c, j->a, "host.forget", object, before, "", msg);
    free(before);
    /* the other replicas forget the claim they cached (replica.c) */
    if (rc == CG_OK && claimed)
        rc = pg_change_add(c, "host.release", NULL, j->host, msg);
    return rc;
}

int pg_host_forget(struct store *st, const char *host, const struct store_actor *a, char *msg)
{
    struct release_job j = {host, a};
    int rc = store_check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!host || !*host || strlen(host) >= STORE_NAME_MAX) {
        pg_msg(msg, "host_forget: need a host name");
        return CG_ERR_INVALID;
    }
    return pg_tx(pgs(st), run_forget, &j, msg);
}

int pg_host_release(struct store *st, const char *host, const struct store_actor *a, char *msg)
{
    struct release_job j = {host, a};
    int rc = store_check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!host || !*host || strlen(host) >= STORE_NAME_MAX) {
        pg_msg(msg, "host_release: need a host name");
        return CG_ERR_INVALID;
    }
    return pg_tx(pgs(st), run_release, &j, msg);
}
