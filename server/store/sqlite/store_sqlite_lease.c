/* SPDX-License-Identifier: MIT */
/*
 * store_sqlite_lease.c: leases in the SQLite backend: acquire or renew,
 * read, release, and the fence check every fenced controller write makes
 * inside its own job (store.h, "fence_term").
 *
 * A SQLite store belongs to one process, so there is one possible holder
 * in practice; the lease still runs the same code path as on PostgreSQL
 * (terms, expiry, audit of a new term) so the controller does not know
 * which backend it is on.
 */
#include "store_sqlite_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"

static const char SQL_LEASE_GET[] =
    "SELECT name, holder, term, acquired_ms, expires_ms FROM leases WHERE name = ?";
static const char SQL_TERM_NEXT[] = "UPDATE lease_terms SET last = last + 1 RETURNING last";
static const char SQL_LEASE_PUT[] =
    "INSERT INTO leases (name, holder, term, acquired_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (name) DO UPDATE SET holder = ?2, term = ?3, acquired_ms = ?4, expires_ms = ?5";
static const char SQL_LEASE_RENEW[] = "UPDATE leases SET expires_ms = ? WHERE name = ?";
static const char SQL_LEASE_RELEASE[] = "UPDATE leases SET expires_ms = ? WHERE name = ? AND "
                                        "holder = ? AND term = ? AND expires_ms > ?";
/* ("ti", prefix, rows): names starting with prefix (substr: no LIKE escapes) */
static const char SQL_LEASE_LIST[] =
    "SELECT name, holder, term, acquired_ms, expires_ms FROM leases "
    "WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name LIMIT ?2";
static const char SQL_FENCE[] =
    "SELECT term, expires_ms FROM leases WHERE name = '" STORE_LEASE_CONTROLLER "'";

static int row_lease(sqlite3_stmt *q, void *elem)
{
    struct store_lease *l = elem;

    memset(l, 0, sizeof *l);
    cg_strlcpy(l->name, sq_col_text(q, 0), sizeof l->name);
    cg_strlcpy(l->holder, sq_col_text(q, 1), sizeof l->holder);
    l->term = sqlite3_column_int64(q, 2);
    l->acquired_ms = sqlite3_column_int64(q, 3);
    l->expires_ms = sqlite3_column_int64(q, 4);
    return CG_OK;
}

struct lease_job {
    const char *name, *holder;
    int64_t ttl_ms, term;
    struct store_lease out;
};

static int run_lease_acquire(struct sq_conn *w, void *arg, char *msg)
{
    struct lease_job *j = arg;
    struct store_lease cur;
    int64_t now = cg_now_ms(), term = 0;
    int rc = sq_get_on(w, msg, &cur, row_lease, SQL_LEASE_GET, "t", j->name);
    int have = rc == CG_OK;
    char object[STORE_NAME_MAX + 8], *before = NULL, *after = NULL;
    struct store_actor who = {"cluster", "lease acquired"};

    if (rc != CG_OK && rc != CG_ERR_NOTFOUND)
        return rc;
    if (have && cur.expires_ms > now) {
        if (strcmp(cur.holder, j->holder) != 0) {
            j->out = cur;
            j->out.now_ms = now;
            sq_msg(msg, "lease %s is held by %s (term %" PRId64 ") for %" PRId64 " ms more",
                   j->name, cur.holder, cur.term, cur.expires_ms - now);
            return CG_ERR_CONFLICT;
        }
        rc = sq_exec(w, msg, SQL_LEASE_RENEW, "it", now + j->ttl_ms, j->name);
        if (rc != CG_OK)
            return rc;
        j->out = cur;
        j->out.expires_ms = now + j->ttl_ms;
        j->out.now_ms = now;
        return CG_OK;
    }
    rc = sq_int(w, msg, &term, SQL_TERM_NEXT, "");
    if (rc < 0)
        return rc;
    rc = sq_exec(w, msg, SQL_LEASE_PUT, "ttiii", j->name, j->holder, term, now, now + j->ttl_ms);
    if (rc != CG_OK)
        return rc;
    if (strcmp(j->name, STORE_LEASE_CONTROLLER) != 0)
        goto done; /* heartbeats ("replica/ID") are not audited */
    snprintf(object, sizeof object, "lease/%s", j->name);
    before = have ? store_lease_summary(cur.holder, cur.term, 0) : NULL;
    after = store_lease_summary(j->holder, term, j->ttl_ms);
    if ((have && !before) || !after) {
        free(before);
        free(after);
        return store_summary_fail(msg);
    }
    who.reason = "new term";
    rc = sq_audit_append(w, &who, "lease.acquire", object, before, after, msg);
    free(before);
    free(after);
    if (rc != CG_OK)
        return rc;
done:
    memset(&j->out, 0, sizeof j->out);
    cg_strlcpy(j->out.name, j->name, sizeof j->out.name);
    cg_strlcpy(j->out.holder, j->holder, sizeof j->out.holder);
    j->out.term = term;
    j->out.acquired_ms = now;
    j->out.expires_ms = now + j->ttl_ms;
    j->out.now_ms = now;
    return CG_OK;
}

int sq_lease_acquire(struct store *st, const char *name, const char *holder, int64_t ttl_ms,
                     struct store_lease *out, char *msg)
{
    struct lease_job j = {name, holder, ttl_ms, 0, {{0}, {0}, 0, 0, 0, 0}};
    int rc = store_check_lease(name, holder, ttl_ms, msg);

    if (rc != CG_OK)
        return rc;
    rc = sq_submit(sq(st), run_lease_acquire, &j, msg);
    if (out && (rc == CG_OK || rc == CG_ERR_CONFLICT))
        *out = j.out;
    return rc;
}

int sq_lease_get(struct store *st, const char *name, struct store_lease *out, char *msg)
{
    int rc;

    if (!name || !*name || !out) {
        sq_msg(msg, "lease: need a name and out");
        return CG_ERR_INVALID;
    }
    rc = sq_get(sq(st), msg, out, row_lease, SQL_LEASE_GET, "t", name);
    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "lease %s was never acquired", name);
    out->now_ms = cg_now_ms();
    return rc;
}

int sq_lease_list(struct store *st, const char *prefix, struct store_lease **out, size_t *n,
                  char *msg)
{
    int64_t now = cg_now_ms();
    int rc;

    if (!out || !n) {
        sq_msg(msg, "lease_list: missing argument");
        return CG_ERR_INVALID;
    }
    *out = NULL;
    *n = 0;
    rc = sq_list(sq(st), msg, (void **)out, n, sizeof **out, row_lease, SQL_LEASE_LIST, "ti",
                 prefix ? prefix : "", (int64_t)STORE_PAGE_MAX);
    if (rc != CG_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
        return rc;
    }
    for (size_t i = 0; i < *n; i++)
        (*out)[i].now_ms = now;
    return CG_OK;
}

static int run_lease_release(struct sq_conn *w, void *arg, char *msg)
{
    struct lease_job *j = arg;
    int64_t now = cg_now_ms();

    return sq_exec(w, msg, SQL_LEASE_RELEASE, "ittii", now, j->name, j->holder, j->term, now);
}

int sq_lease_release(struct store *st, const char *name, const char *holder, int64_t term,
                     char *msg)
{
    struct lease_job j = {name, holder, 0, term, {{0}, {0}, 0, 0, 0, 0}};
    int rc = store_check_lease(name, holder, -1, msg);

    if (rc != CG_OK)
        return rc;
    return sq_submit(sq(st), run_lease_release, &j, msg);
}

int sq_fence_check(struct sq_conn *w, int64_t term, char *msg)
{
    sqlite3_stmt *q = NULL;
    int64_t cur = 0, expires = 0, now = cg_now_ms();
    int rc;

    if (term <= 0)
        return CG_OK;
    rc = sq_query(w, msg, &q, SQL_FENCE, "");
    if (rc != CG_OK)
        return rc;
    rc = sq_step(w, q, msg);
    if (rc == 1) {
        cur = sqlite3_column_int64(q, 0);
        expires = sqlite3_column_int64(q, 1);
    }
    sq_reset(q);
    if (rc < 0)
        return rc;
    if (rc == 0 || cur != term || expires <= now) {
        sq_msg(msg,
               "fenced: term %" PRId64 " no longer holds the controller lease (current term "
               "%" PRId64 ", %s)",
               term, cur, cur == term ? "expired" : "another holder");
        return CG_ERR_CONFLICT;
    }
    return CG_OK;
}

/* ---- Meta: facts set once ---- */

static const char SQL_META_GET[] = "SELECT value FROM meta WHERE key = ?";
static const char SQL_META_ADD[] = "INSERT INTO meta (key, value, created_ms) VALUES (?, ?, ?)";

static const char SQL_CLAIM_ADD[] = "INSERT OR IGNORE INTO host_claims (host, cell, credential, "
                                    "claimed_ms) VALUES (?, ?, ?, ?)";
static const char SQL_CLAIM_GET[] =
    "SELECT host, cell, credential, claimed_ms FROM host_claims WHERE host = ?";
static const char SQL_CLAIM_DEL[] = "DELETE FROM host_claims WHERE host = ?";

struct meta_job {
    const char *key, *value;
    char *out;
    size_t outlen;
};

static int run_meta_put_once(struct sq_conn *w, void *arg, char *msg)
{
    struct meta_job *j = arg;
    struct store_actor who = {"system", "set once"};
    char object[STORE_NAME_MAX + 8], *after;
    int rc = sq_text(w, msg, j->out, j->outlen, SQL_META_GET, "t", j->key);

    if (rc < 0)
        return rc;
    if (rc == 1)
        return CG_OK; /* set before: out holds it */
    rc = sq_exec(w, msg, SQL_META_ADD, "tti", j->key, j->value, cg_now_ms());
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "meta/%s", j->key);
    after = store_json_take(json_pack("{s:s}", "value", j->value));
    if (!after)
        return store_summary_fail(msg);
    rc = sq_audit_append(w, &who, "meta.set", object, "", after, msg);
    free(after);
    if (rc == CG_OK)
        cg_strlcpy(j->out, j->value, j->outlen);
    return rc;
}

int sq_meta_put_once(struct store *st, const char *key, const char *value, char *out, size_t outlen,
                     char *msg)
{
    struct meta_job j = {key, value, out, outlen};
    int rc = store_check_meta(key, value, out, outlen, msg);

    if (rc != CG_OK)
        return rc;
    out[0] = '\0';
    return sq_submit(sq(st), run_meta_put_once, &j, msg);
}

static const char SQL_META_SET[] = "UPDATE meta SET value = ? WHERE key = ?";

struct meta_swap_job {
    const char *key, *old_value, *new_value;
    const struct store_actor *a;
};

static int run_meta_replace(struct sq_conn *w, void *arg, char *msg)
{
    struct meta_swap_job *j = arg;
    char cur[1024], object[STORE_NAME_MAX + 8], *before = NULL, *after = NULL;
    int rc = sq_text(w, msg, cur, sizeof cur, SQL_META_GET, "t", j->key);

    if (rc < 0)
        return rc;
    if (rc == 0) {
        sq_msg(msg, "meta %s has no value", j->key);
        return CG_ERR_NOTFOUND;
    }
    if (strcmp(cur, j->old_value) != 0) {
        sq_msg(msg, "meta %s is %.16s..., not %.16s... as expected", j->key, cur, j->old_value);
        return CG_ERR_CONFLICT;
    }
    rc = sq_exec(w, msg, SQL_META_SET, "tt", j->new_value, j->key);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "meta/%s", j->key);
    before = store_meta_summary(j->old_value);
    after = store_meta_summary(j->new_value);
    rc = before && after ? sq_audit_append(w, j->a, "meta.set", object, before, after, msg)
                         : store_summary_fail(msg);
    free(before);
    free(after);
    return rc;
}

int sq_meta_replace(struct store *st, const char *key, const char *old_value, const char *new_value,
                    const struct store_actor *a, char *msg)
{
    struct meta_swap_job j = {key, old_value, new_value, a};
    int rc = store_check_meta_replace(key, old_value, new_value, a, msg);

    if (rc != CG_OK)
        return rc;
    return sq_submit(sq(st), run_meta_replace, &j, msg);
}

static int row_claim(sqlite3_stmt *q, void *elem)
{
    struct store_host_claim *c = elem;

    cg_strlcpy(c->host, (const char *)sqlite3_column_text(q, 0), sizeof c->host);
    cg_strlcpy(c->cell, (const char *)sqlite3_column_text(q, 1), sizeof c->cell);
    cg_strlcpy(c->credential, (const char *)sqlite3_column_text(q, 2), sizeof c->credential);
    c->claimed_ms = sqlite3_column_int64(q, 3);
    return CG_OK;
}

struct claim_job {
    const char *host, *cell, *credential;
    struct store_host_claim *out;
};

static int run_claim(struct sq_conn *w, void *arg, char *msg)
{
    struct claim_job *j = arg;
    int rc = sq_exec(w, msg, SQL_CLAIM_ADD, "ttti", j->host, j->cell, j->credential, cg_now_ms());

    return rc != CG_OK ? rc : sq_get_on(w, msg, j->out, row_claim, SQL_CLAIM_GET, "t", j->host);
}

int sq_host_claim(struct store *st, const char *host, const char *cell, const char *credential,
                  struct store_host_claim *out, char *msg)
{
    struct claim_job j = {host, cell, credential, out};
    int rc = store_check_claim(host, cell, credential, out, msg);

    if (rc != CG_OK)
        return rc;
    memset(out, 0, sizeof *out);
    /* a claimed host (every report but a host's first) is a read */
    rc = sq_get(sq(st), msg, out, row_claim, SQL_CLAIM_GET, "t", host);
    if (rc != CG_ERR_NOTFOUND)
        return rc;
    return sq_submit(sq(st), run_claim, &j, msg);
}

struct release_job {
    const char *host;
    const struct store_actor *a;
};

static int run_release(struct sq_conn *w, void *arg, char *msg)
{
    struct release_job *j = arg;
    struct store_host_claim c;
    char object[STORE_NAME_MAX + 8], *before;
    int rc = sq_get_on(w, msg, &c, row_claim, SQL_CLAIM_GET, "t", j->host);

    if (rc == CG_ERR_NOTFOUND)
        sq_msg(msg, "host %s is not claimed", j->host);
    if (rc != CG_OK)
        return rc;
    rc = sq_exec(w, msg, SQL_CLAIM_DEL, "t", j->host);
    if (rc != CG_OK)
        return rc;
    snprintf(object, sizeof object, "host/%s", j->host);
    before = store_json_take(json_pack("{s:s, s:s}", "cell", c.cell, "credential", c.credential));
    if (!before)
        return store_summary_fail(msg);
    rc = sq_audit_append(w, j->a, "host.release", object, before, "", msg);
    free(before);
    return rc;
}

/* What the server knows of a host from its reports, for host.forget's
 * audit record: ("t", host). At most one row per config of the host. */
static const char SQL_HOST_ROWS[] =
    "SELECT config, cell, applied_version, applied_generation, lkg_version FROM host_versions "
    "WHERE host = ? ORDER BY config";
static const char SQL_HOST_ROWS_DEL[] = "DELETE FROM host_versions WHERE host = ?";
/* the exposure history stays; a forgotten host's current exposure ends now */
static const char SQL_HOST_EXPO_END[] =
    "UPDATE host_exposures SET to_ms = ?2 WHERE host = ?1 AND to_ms IS NULL";

/* The host's host_versions rows as a JSON array (NULL: out of memory, or an
 * error in msg: *rc says which). */
static json_t *host_rows_json(struct sq_conn *w, const char *host, int *rc, char *msg)
{
    json_t *arr = json_array();
    sqlite3_stmt *q;

    *rc = arr ? sq_query(w, msg, &q, SQL_HOST_ROWS, "t", host) : CG_ERR_NOMEM;
    if (*rc != CG_OK) {
        json_decref(arr);
        return NULL;
    }
    while ((*rc = sq_step(w, q, msg)) == 1) {
        json_t *row =
            json_pack("{s:s, s:s, s:I, s:I, s:I}", "config", sq_col_text(q, 0), "cell",
                      sq_col_text(q, 1), "applied_version", (json_int_t)sqlite3_column_int64(q, 2),
                      "applied_generation", (json_int_t)sqlite3_column_int64(q, 3), "lkg_version",
                      (json_int_t)sqlite3_column_int64(q, 4));
        if (!row || json_array_append_new(arr, row) != 0) {
            *rc = CG_ERR_NOMEM;
            break;
        }
    }
    sq_reset(q);
    if (*rc < 0) {
        json_decref(arr);
        return NULL;
    }
    *rc = CG_OK;
    return arr;
}

static int run_forget(struct sq_conn *w, void *arg, char *msg)
{
    struct release_job *j = arg;
    struct store_host_claim c;
    char object[STORE_NAME_MAX + 8], *before;
    json_t *rows, *b;
    int claimed, rc = sq_get_on(w, msg, &c, row_claim, SQL_CLAIM_GET, "t", j->host);

    if (rc != CG_OK && rc != CG_ERR_NOTFOUND)
        return rc;
    claimed = rc == CG_OK;
    rows = host_rows_json(w, j->host, &rc, msg);
    if (!rows)
        return rc == CG_ERR_NOMEM ? store_summary_fail(msg) : rc;
    if (!claimed && json_array_size(rows) == 0) {
        json_decref(rows);
        sq_msg(msg, "host %s is neither claimed nor known from its reports", j->host);
        return CG_ERR_NOTFOUND;
    }
    if (claimed)
        rc = sq_exec(w, msg, SQL_CLAIM_DEL, "t", j->host);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_HOST_ROWS_DEL, "t", j->host);
    if (rc == CG_OK)
        rc = sq_exec(w, msg, SQL_HOST_EXPO_END, "ti", j->host, cg_now_ms());
    if (rc != CG_OK) {
        json_decref(rows);
        return rc;
    }
    b = claimed ? json_pack("{s:s, s:s, s:o}", "cell", c.cell, "credential", c.credential,
                            "versions", rows)
                : json_pack("{s:o}", "versions", rows);
    before = store_json_take(b);
    if (!before)
        return store_summary_fail(msg);
    snprintf(object, sizeof object, "host/%s", j->host);
    rc = sq_audit_append(w, j->a, "host.forget", object, before, "", msg);
    free(before);
    return rc;
}

int sq_host_forget(struct store *st, const char *host, const struct store_actor *a, char *msg)
{
    struct release_job j = {host, a};
    int rc = store_check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!host || !*host || strlen(host) >= STORE_NAME_MAX) {
        sq_msg(msg, "host_forget: need a host name");
        return CG_ERR_INVALID;
    }
    return sq_submit(sq(st), run_forget, &j, msg);
}

int sq_host_release(struct store *st, const char *host, const struct store_actor *a, char *msg)
{
    struct release_job j = {host, a};
    int rc = store_check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!host || !*host || strlen(host) >= STORE_NAME_MAX) {
        sq_msg(msg, "host_release: need a host name");
        return CG_ERR_INVALID;
    }
    return sq_submit(sq(st), run_release, &j, msg);
}
