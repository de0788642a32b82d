/* SPDX-License-Identifier: MIT */
/*
 * store.c: backend selection by DSN scheme, dispatch, and the free functions
 * of store.h.
 *
 * This is the one file that knows which storage backends exist
 * (backends[] below). It holds no SQL and no state: every store_* call is
 * forwarded to the ops table of the backend that opened the store. Every
 * backend's own struct starts with a 'const struct store_ops *' member, which
 * is all this file reads of it (see docs/internals/STORE.md).
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stats.h"

/* The common initial member of every backend's store struct. */
struct store {
    const struct store_ops *ops;
};

extern const struct store_ops store_sqlite_ops;
void sq_process_init(void); /* store_sqlite.c */
#ifdef CG_WITH_POSTGRES
extern const struct store_ops store_pg_ops;
#endif

/* The registry: a DSN scheme and the backend that handles it. The first
 * entry also handles bare paths. A backend may answer to more than one
 * scheme (libpq takes both postgres:// and postgresql:// URIs). */
static const struct backend {
    const char *scheme;
    const struct store_ops *ops;
} backends[] = {
    {"sqlite", &store_sqlite_ops},
#ifdef CG_WITH_POSTGRES
    {"postgres", &store_pg_ops},
    {"postgresql", &store_pg_ops},
#endif
};

static void set_msg(char *msg, const char *text, const char *arg)
{
    if (msg)
        snprintf(msg, STORE_MSG_MAX, "%s%s", text, arg ? arg : "");
}

/* Returns the length of a URI-style scheme at the start of dsn ("sqlite" in
 * "sqlite:/x"), or 0 if dsn does not start with one. */
static size_t scheme_len(const char *dsn)
{
    size_t i = 0;

    if (!((dsn[0] >= 'a' && dsn[0] <= 'z') || (dsn[0] >= 'A' && dsn[0] <= 'Z')))
        return 0;
    for (i = 1; dsn[i] && dsn[i] != ':'; i++) {
        char ch = dsn[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '+' || ch == '.' || ch == '-'))
            return 0;
    }
    return dsn[i] == ':' ? i : 0;
}

void store_process_init(void)
{
    sq_process_init();
}

int store_open(const char *dsn, struct store **out, char *msg)
{
    const struct store_ops *ops = backends[0].ops;
    size_t n;

    if (!out) {
        set_msg(msg, "store_open: out is NULL", NULL);
        return CG_ERR_INVALID;
    }
    *out = NULL;
    if (!dsn || !*dsn) {
        set_msg(msg, "store_open: empty DSN", NULL);
        return CG_ERR_INVALID;
    }
    n = scheme_len(dsn);
    if (n > 0) {
        const struct store_ops *found = NULL;
        for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
            if (strlen(backends[i].scheme) == n && strncmp(backends[i].scheme, dsn, n) == 0)
                found = backends[i].ops;
        }
        if (found) {
            ops = found;
        } else if (strncmp(dsn + n, "://", 3) == 0) {
            /* Looks like a URL with a scheme we were not built with. */
            set_msg(msg, "unknown store scheme in DSN: ", dsn);
            return CG_ERR_INVALID;
        }
        /* Otherwise a bare path that happens to contain ':'. */
    }
    if (ops->version < STORE_OPS_VERSION) {
        set_msg(msg, "store backend too old: ", ops->scheme);
        return CG_ERR_INVALID;
    }
    return ops->open(dsn, out, msg);
}

/* Appends s[0..len) to out at *used, keeping room for the NUL. */
static void put(char *out, size_t n, size_t *used, const char *s, size_t len)
{
    while (len-- > 0 && *used + 1 < n)
        out[(*used)++] = *s++;
    out[*used] = '\0';
}

char *store_dsn_redact(const char *dsn, char *out, size_t n)
{
    static const char key[] = "password=";
    size_t used = 0, i = 0, len;
    const char *slashes, *at = NULL;

    if (!out || n == 0)
        return out;
    out[0] = '\0';
    if (!dsn)
        return out;
    len = strlen(dsn);
    slashes = strstr(dsn, "://");
    if (slashes) {
        /* user-info ends at the first '@' before the host's '/' or '?' */
        const char *p = slashes + 3;
        for (; *p && *p != '/' && *p != '?'; p++)
            if (*p == '@')
                at = p;
        if (at) {
            const char *colon = memchr(slashes + 3, ':', (size_t)(at - (slashes + 3)));
            if (colon) {
                put(out, n, &used, dsn, (size_t)(colon + 1 - dsn));
                put(out, n, &used, "***", 3);
                i = (size_t)(at - dsn);
            }
        }
    }
    while (i < len) {
        if ((i == 0 || dsn[i - 1] == ' ' || dsn[i - 1] == '&' || dsn[i - 1] == '?') &&
            strncasecmp(dsn + i, key, sizeof key - 1) == 0) {
            size_t j = i + sizeof key - 1;
            put(out, n, &used, dsn + i, sizeof key - 1);
            put(out, n, &used, "***", 3);
            if (dsn[j] == '\'') { /* a quoted libpq value: up to the closing quote */
                for (j++; j < len && dsn[j] != '\''; j++)
                    if (dsn[j] == '\\' && j + 1 < len)
                        j++;
                if (j < len)
                    j++;
            } else {
                while (j < len && dsn[j] != ' ' && dsn[j] != '&')
                    j++;
            }
            i = j;
            continue;
        }
        put(out, n, &used, dsn + i, 1);
        i++;
    }
    return out;
}

void store_close(struct store *st)
{
    if (st)
        st->ops->close(st);
}

/* Forwards a call to the backend, failing with CG_ERR_INVALID when st is
 * NULL. */
#define STORE_CALL(st, msg, method, ...)                                                           \
    do {                                                                                           \
        if (!(st)) {                                                                               \
            set_msg((msg), "store is not open", NULL);                                             \
            return CG_ERR_INVALID;                                                                 \
        }                                                                                          \
        return (st)->ops->method((st), __VA_ARGS__);                                               \
    } while (0)

int store_ready(struct store *st, char *msg)
{
    STORE_CALL(st, msg, ready, msg);
}

/* ---- Cells ---- */

int store_cell_add(struct store *st, const struct store_cell *c, const struct store_actor *a,
                   char *msg)
{
    STORE_CALL(st, msg, cell_add, c, a, msg);
}

int store_cell_get(struct store *st, const char *id, struct store_cell *out, char *msg)
{
    STORE_CALL(st, msg, cell_get, id, out, msg);
}

int store_cell_list(struct store *st, struct store_cell **out, size_t *n, char *msg)
{
    STORE_CALL(st, msg, cell_list, out, n, msg);
}

/* ---- Configs ---- */

int store_config_create(struct store *st, const struct store_config *c, const struct store_actor *a,
                        char *msg)
{
    STORE_CALL(st, msg, config_create, c, a, msg);
}

int store_config_get(struct store *st, const char *name, struct store_config *out, char *msg)
{
    STORE_CALL(st, msg, config_get, name, out, msg);
}

int store_config_list(struct store *st, struct store_config **out, size_t *n, char *msg)
{
    STORE_CALL(st, msg, config_list, out, n, msg);
}

int store_config_set_plan(struct store *st, const char *name, const char *plan,
                          const struct store_actor *a, char *msg)
{
    STORE_CALL(st, msg, config_set_plan, name, plan, a, msg);
}

/* ---- Versions and blobs ---- */

int store_version_publish(struct store *st, const struct store_publish *p,
                          const struct store_actor *a, struct store_version *out, char *msg)
{
    STORE_CALL(st, msg, version_publish, p, a, out, msg);
}

int store_version_live(struct store *st, const char *config, int64_t *live, char *msg)
{
    STORE_CALL(st, msg, version_live, config, live, msg);
}

int store_version_get(struct store *st, const char *config, int64_t number,
                      struct store_version *out, char *msg)
{
    STORE_CALL(st, msg, version_get, config, number, out, msg);
}

int store_version_list(struct store *st, const char *config, int64_t before, size_t limit,
                       struct store_version **out, size_t *n, char *msg)
{
    STORE_CALL(st, msg, version_list, config, before, limit, out, n, msg);
}

int store_version_delete(struct store *st, const char *config, int64_t number,
                         const struct store_actor *a, char *msg)
{
    STORE_CALL(st, msg, version_delete, config, number, a, msg);
}

int store_blob_get(struct store *st, const char *sha256, void **bytes, size_t *len, char *msg)
{
    STORE_CALL(st, msg, blob_get, sha256, bytes, len, msg);
}

/* ---- Plans ---- */

int store_plan_put(struct store *st, const char *name, const char *body_json,
                   const struct store_actor *a, char *msg)
{
    STORE_CALL(st, msg, plan_put, name, body_json, a, msg);
}

int store_plan_get(struct store *st, const char *name, struct store_plan *out, char *msg)
{
    STORE_CALL(st, msg, plan_get, name, out, msg);
}

int store_plan_list(struct store *st, struct store_plan **out, size_t *n, char *msg)
{
    STORE_CALL(st, msg, plan_list, out, n, msg);
}

/* ---- Tokens ---- */

int store_token_create(struct store *st, struct store_token *t, const struct store_actor *a,
                       char *msg)
{
    STORE_CALL(st, msg, token_create, t, a, msg);
}

int store_token_find(struct store *st, const char *hash, struct store_token *out, char *msg)
{
    STORE_CALL(st, msg, token_find, hash, out, msg);
}

int store_token_list(struct store *st, struct store_token **out, size_t *n, char *msg)
{
    STORE_CALL(st, msg, token_list, out, n, msg);
}

int store_token_revoke(struct store *st, int64_t id, const struct store_actor *a, char *msg)
{
    STORE_CALL(st, msg, token_revoke, id, a, msg);
}

/* ---- Audit ---- */

int store_audit_list(struct store *st, int64_t after_seq, size_t limit, struct store_audit **out,
                     size_t *n, char *msg)
{
    STORE_CALL(st, msg, audit_list, after_seq, limit, out, n, msg);
}

int store_audit_scan(struct store *st, const struct store_audit_scan *q, struct store_audit **out,
                     size_t *n, char *msg)
{
    if (!q || !out || !n || !q->actions || q->nactions == 0 ||
        q->nactions > STORE_AUDIT_SCAN_ACTIONS || q->upto_seq <= q->after_seq) {
        set_msg(msg, "audit_scan: 1 to 8 actions and a span after_seq..upto_seq are needed", NULL);
        return CG_ERR_INVALID;
    }
    for (size_t i = 0; i < q->nactions; i++)
        if (!q->actions[i]) {
            set_msg(msg, "audit_scan: an action is missing", NULL);
            return CG_ERR_INVALID;
        }
    STORE_CALL(st, msg, audit_scan, q, out, n, msg);
}

/* ---- Assignments and host views ---- */

int store_config_raise_generation(struct store *st, const char *config, int64_t at_least,
                                  const char *host, const struct store_actor *a, int *raised,
                                  char *msg)
{
    STORE_CALL(st, msg, config_raise_generation, config, at_least, host, a, raised, msg);
}

int store_generations_bump(struct store *st, int64_t delta, const char *key, const char *value,
                           char *msg)
{
    STORE_CALL(st, msg, generations_bump, delta, key, value, msg);
}

int store_assign(struct store *st, const char *config, const char *const *cells, size_t ncells,
                 int64_t version, int64_t expect_generation, const struct store_actor *a,
                 int64_t *new_generation, char *msg)
{
    STORE_CALL(st, msg, assign, config, cells, ncells, version, expect_generation, a,
               new_generation, msg);
}

int store_assignment_list(struct store *st, const char *cell, const char *config,
                          struct store_assignment **out, size_t *n, char *msg)
{
    STORE_CALL(st, msg, assignment_list, cell, config, out, n, msg);
}

int store_host_assignment_list(struct store *st, const char *cell, const char *config,
                               struct store_host_assignment **out, size_t *n, char *msg)
{
    if (st && !st->ops->host_assignment_list) {
        set_msg(msg, "this store keeps no per-host assignments", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, host_assignment_list, cell, config, out, n, msg);
}

int store_host_version_put(struct store *st, const struct store_host_version *hv, char *msg)
{
    STORE_CALL(st, msg, host_version_put, hv, msg);
}

int store_host_version_list(struct store *st, const char *config, struct store_host_version **out,
                            size_t *n, char *msg)
{
    STORE_CALL(st, msg, host_version_list, config, out, n, msg);
}

int store_rollout_create(struct store *st, struct store_rollout *r, const struct store_actor *a,
                         char *msg)
{
    STORE_CALL(st, msg, rollout_create, r, a, msg);
}

int store_rollout_get(struct store *st, int64_t id, struct store_rollout *out, char *msg)
{
    STORE_CALL(st, msg, rollout_get, id, out, msg);
}

int store_rollout_list(struct store *st, const char *config, int open_only,
                       struct store_rollout **out, size_t *n, char *msg)
{
    STORE_CALL(st, msg, rollout_list, config, open_only, out, n, msg);
}

int store_rollout_update(struct store *st, const struct store_rollout_update *u,
                         const struct store_actor *a, int64_t *new_generation, char *msg)
{
    STORE_CALL(st, msg, rollout_update, u, a, new_generation, msg);
}

int store_rollout_events(struct store *st, int64_t id, int64_t after_seq, size_t limit,
                         struct store_rollout_event **out, size_t *n, char *msg)
{
    STORE_CALL(st, msg, rollout_events, id, after_seq, limit, out, n, msg);
}

int store_rollout_heads(struct store *st, struct store_rollout **out, size_t *n, char *msg)
{
    STORE_CALL(st, msg, rollout_heads, out, n, msg);
}

int store_rollout_event_append(struct store *st, const struct store_event_append *e, char *msg)
{
    STORE_CALL(st, msg, rollout_event_append, e, msg);
}

int store_lease_acquire(struct store *st, const char *name, const char *holder, int64_t ttl_ms,
                        struct store_lease *out, char *msg)
{
    STORE_CALL(st, msg, lease_acquire, name, holder, ttl_ms, out, msg);
}

int store_lease_get(struct store *st, const char *name, struct store_lease *out, char *msg)
{
    STORE_CALL(st, msg, lease_get, name, out, msg);
}

int store_lease_release(struct store *st, const char *name, const char *holder, int64_t term,
                        char *msg)
{
    STORE_CALL(st, msg, lease_release, name, holder, term, msg);
}

int store_lease_list(struct store *st, const char *prefix, struct store_lease **out, size_t *n,
                     char *msg)
{
    STORE_CALL(st, msg, lease_list, prefix, out, n, msg);
}

/* ---- Replication ---- */

#define STORE_CALL_REPL(st, msg, method, ...)                                                      \
    do {                                                                                           \
        if (!store_replicated(st)) {                                                               \
            set_msg((msg), "this store has one process: it keeps no change log", NULL);            \
            return CG_ERR_INVALID;                                                                 \
        }                                                                                          \
        return (st)->ops->method((st), __VA_ARGS__);                                               \
    } while (0)

int store_replicated(struct store *st)
{
    return st && st->ops->version >= 7 && st->ops->changes_after && st->ops->changes_head &&
           st->ops->changes_wait && st->ops->changes_trim && st->ops->relay_put &&
           st->ops->relay_after;
}

int store_changes_head(struct store *st, int64_t *rev, int64_t *relay_id, char *msg)
{
    STORE_CALL_REPL(st, msg, changes_head, rev, relay_id, msg);
}

int store_changes_after(struct store *st, int64_t after_rev, size_t limit,
                        struct store_change **out, size_t *n, char *msg)
{
    STORE_CALL_REPL(st, msg, changes_after, after_rev, limit, out, n, msg);
}

int store_changes_wait(struct store *st, int64_t timeout_ms, char *msg)
{
    STORE_CALL_REPL(st, msg, changes_wait, timeout_ms, msg);
}

int store_changes_trim(struct store *st, int64_t changes_before_ms, int64_t relays_before_ms,
                       char *msg)
{
    STORE_CALL_REPL(st, msg, changes_trim, changes_before_ms, relays_before_ms, msg);
}

int store_relay_put(struct store *st, const char *origin, int64_t at_ms, const void *body,
                    size_t len, char *msg)
{
    STORE_CALL_REPL(st, msg, relay_put, origin, at_ms, body, len, msg);
}

int store_relay_after(struct store *st, int64_t after_id, const char *exclude_origin, size_t limit,
                      struct store_relay **out, size_t *n, char *msg)
{
    STORE_CALL_REPL(st, msg, relay_after, after_id, exclude_origin, limit, out, n, msg);
}

void store_relays_free(struct store_relay *r, size_t n)
{
    if (!r)
        return;
    for (size_t i = 0; i < n; i++)
        free(r[i].body);
    free(r);
}

int store_meta_replace(struct store *st, const char *key, const char *old_value,
                       const char *new_value, const struct store_actor *a, char *msg)
{
    if (st && (st->ops->version < 7 || !st->ops->meta_replace)) {
        set_msg(msg, "this store cannot change a meta fact", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, meta_replace, key, old_value, new_value, a, msg);
}

int store_host_claim(struct store *st, const char *host, const char *cell, const char *credential,
                     struct store_host_claim *out, char *msg)
{
    if (st && (st->ops->version < 7 || !st->ops->host_claim)) {
        set_msg(msg, "this store keeps no host claims", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, host_claim, host, cell, credential, out, msg);
}

int store_host_release(struct store *st, const char *host, const struct store_actor *a, char *msg)
{
    if (st && (st->ops->version < 7 || !st->ops->host_release)) {
        set_msg(msg, "this store keeps no host claims", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, host_release, host, a, msg);
}

int store_host_forget(struct store *st, const char *host, const struct store_actor *a, char *msg)
{
    if (st && (st->ops->version < 7 || !st->ops->host_forget)) {
        set_msg(msg, "this store cannot forget hosts", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, host_forget, host, a, msg);
}

/* ---- Audit checkpoints ---- */

/* CG_ERR_INVALID unless st's backend has the checkpoint operations. */
static int need_checkpoints(struct store *st, char *msg)
{
    if (st && !st->ops->checkpoint_put) {
        set_msg(msg, "this store keeps no audit checkpoints", NULL);
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

int store_checkpoint_put(struct store *st, const struct cg_checkpoint *c, char *msg)
{
    if (need_checkpoints(st, msg) != CG_OK)
        return CG_ERR_INVALID;
    STORE_CALL(st, msg, checkpoint_put, c, msg);
}

int store_checkpoint_page(struct store *st, int64_t after_seq, size_t limit,
                          struct cg_checkpoint **out, size_t *n, int *more, char *msg)
{
    if (need_checkpoints(st, msg) != CG_OK)
        return CG_ERR_INVALID;
    STORE_CALL(st, msg, checkpoint_page, after_seq, limit, out, n, more, msg);
}

int store_checkpoint_last(struct store *st, struct cg_checkpoint *out, char *msg)
{
    if (need_checkpoints(st, msg) != CG_OK)
        return CG_ERR_INVALID;
    STORE_CALL(st, msg, checkpoint_last, out, msg);
}

int store_checkpoint_reset(struct store *st, const struct cg_checkpoint *lost,
                           const struct store_actor *a, int64_t *dropped, char *msg)
{
    if (need_checkpoints(st, msg) != CG_OK)
        return CG_ERR_INVALID;
    STORE_CALL(st, msg, checkpoint_reset, lost, a, dropped, msg);
}

/* ---- The token lifecycle ---- */

/* CG_ERR_INVALID unless st's backend has the token lifecycle operations. */
static int need_token_lifecycle(struct store *st, char *msg)
{
    if (st && (!st->ops->token_get || !st->ops->token_rotate || !st->ops->token_touch)) {
        set_msg(msg, "this store keeps no token lifecycle", NULL);
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

int store_token_get(struct store *st, int64_t id, struct store_token *out, char *msg)
{
    if (need_token_lifecycle(st, msg) != CG_OK)
        return CG_ERR_INVALID;
    STORE_CALL(st, msg, token_get, id, out, msg);
}

int store_token_rotate(struct store *st, const struct store_token_rotate *r,
                       const struct store_actor *a, struct store_token *successor, char *msg)
{
    if (need_token_lifecycle(st, msg) != CG_OK)
        return CG_ERR_INVALID;
    STORE_CALL(st, msg, token_rotate, r, a, successor, msg);
}

int store_token_touch(struct store *st, const struct store_token_use *uses, size_t n, char *msg)
{
    if (need_token_lifecycle(st, msg) != CG_OK)
        return CG_ERR_INVALID;
    STORE_CALL(st, msg, token_touch, uses, n, msg);
}

int store_meta_put_once(struct store *st, const char *key, const char *value, char *out,
                        size_t outlen, char *msg)
{
    STORE_CALL(st, msg, meta_put_once, key, value, out, outlen, msg);
}

int store_stats(struct store *st, struct store_stats *out)
{
    char *msg = NULL;

    STORE_CALL(st, msg, stats, out);
}

/* ---- Keyset pages (STORE_OPS_VERSION 4) ---- */

int store_cell_page(struct store *st, const char *after, size_t limit, struct store_cell **out,
                    size_t *n, int *more, char *msg)
{
    STORE_CALL(st, msg, cell_page, after, limit, out, n, more, msg);
}

int store_config_page(struct store *st, const char *after, size_t limit, struct store_config **out,
                      size_t *n, int *more, char *msg)
{
    STORE_CALL(st, msg, config_page, after, limit, out, n, more, msg);
}

int store_plan_page(struct store *st, const char *after, size_t limit, struct store_plan **out,
                    size_t *n, int *more, char *msg)
{
    STORE_CALL(st, msg, plan_page, after, limit, out, n, more, msg);
}

int store_token_page(struct store *st, int64_t after_id, size_t limit, struct store_token **out,
                     size_t *n, int *more, char *msg)
{
    STORE_CALL(st, msg, token_page, after_id, limit, out, n, more, msg);
}

int store_rollout_page(struct store *st, const char *config, int open_only, int64_t before_id,
                       size_t limit, struct store_rollout **out, size_t *n, int *more, char *msg)
{
    STORE_CALL(st, msg, rollout_page, config, open_only, before_id, limit, out, n, more, msg);
}

int store_assignment_page(struct store *st, const char *config, const char *after_cell,
                          size_t limit, struct store_assignment **out, size_t *n, int *more,
                          char *msg)
{
    STORE_CALL(st, msg, assignment_page, config, after_cell, limit, out, n, more, msg);
}

/* ---- Free functions ---- */

void store_rollout_free(struct store_rollout *r)
{
    if (!r)
        return;
    free(r->plan_json);
    free(r->steps_json);
    free(r->reason);
    free(r->detail_json);
    r->plan_json = r->steps_json = r->reason = r->detail_json = NULL;
}

void store_rollouts_free(struct store_rollout *r, size_t n)
{
    size_t i;

    for (i = 0; r && i < n; i++)
        store_rollout_free(&r[i]);
    free(r);
}

void store_rollout_events_free(struct store_rollout_event *e, size_t n)
{
    size_t i;

    for (i = 0; e && i < n; i++)
        free(e[i].detail_json);
    free(e);
}

void store_cell_free(struct store_cell *c)
{
    if (!c)
        return;
    free(c->labels_json);
    c->labels_json = NULL;
}

void store_cells_free(struct store_cell *c, size_t n)
{
    if (!c)
        return;
    for (size_t i = 0; i < n; i++)
        store_cell_free(&c[i]);
    free(c);
}

void store_config_free(struct store_config *c)
{
    if (!c)
        return;
    free(c->contract_json);
    c->contract_json = NULL;
}

void store_configs_free(struct store_config *c, size_t n)
{
    if (!c)
        return;
    for (size_t i = 0; i < n; i++)
        store_config_free(&c[i]);
    free(c);
}

void store_version_free(struct store_version *v)
{
    if (!v)
        return;
    free(v->message);
    v->message = NULL;
}

void store_versions_free(struct store_version *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        store_version_free(&v[i]);
    free(v);
}

void store_plan_free(struct store_plan *p)
{
    if (!p)
        return;
    free(p->body_json);
    p->body_json = NULL;
}

void store_policy_free(struct store_policy *p)
{
    if (!p)
        return;
    free(p->body_json);
    p->body_json = NULL;
}

void store_scope_free(struct store_scope *s)
{
    if (!s)
        return;
    free(s->scope_json);
    s->scope_json = NULL;
}

void store_plans_free(struct store_plan *p, size_t n)
{
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        store_plan_free(&p[i]);
    free(p);
}

void store_tokens_free(struct store_token *t, size_t n)
{
    (void)n;
    free(t);
}

void store_audit_free(struct store_audit *a)
{
    if (!a)
        return;
    free(a->before);
    free(a->after);
    free(a->reason);
    a->before = a->after = a->reason = NULL;
}

void store_audits_free(struct store_audit *a, size_t n)
{
    if (!a)
        return;
    for (size_t i = 0; i < n; i++)
        store_audit_free(&a[i]);
    free(a);
}

void store_assignments_free(struct store_assignment *a, size_t n)
{
    (void)n;
    free(a);
}

void store_host_versions_free(struct store_host_version *h, size_t n)
{
    (void)n;
    free(h);
}

void store_host_exposures_free(struct store_host_exposure *e, size_t n)
{
    (void)n;
    free(e);
}

void store_host_assignments_free(struct store_host_assignment *h, size_t n)
{
    (void)n;
    free(h);
}

static void render_stats(void *ctx, struct cg_buf *b)
{
    struct store_stats ss;

    memset(&ss, 0, sizeof ss);
    store_stats(ctx, &ss);
    stats_family(b, "cellgate_store_commit_seconds", "summary",
                 "Time in COMMIT (the fsync) per store transaction; a group commit counts once.");
    cg_buf_printf(
        b, "cellgate_store_commit_seconds_sum %.6f\ncellgate_store_commit_seconds_count %llu\n",
        (double)ss.commit_us / 1e6, (unsigned long long)ss.commits);
    stats_family(b, "cellgate_store_mutations_total", "counter",
                 "Store mutations (each in a group commit).");
    cg_buf_printf(b, "cellgate_store_mutations_total %llu\n", (unsigned long long)ss.jobs);
    stats_family(b, "cellgate_store_queue_depth", "gauge",
                 "Mutations waiting for the store's writer.");
    cg_buf_printf(b, "cellgate_store_queue_depth %llu\n", (unsigned long long)ss.queued);
    stats_family(b, "cellgate_store_max_batch", "gauge",
                 "Most mutations committed in one group commit since start.");
    cg_buf_printf(b, "cellgate_store_max_batch %llu\n", (unsigned long long)ss.max_batch);
    stats_family(b, "cellgate_store_submitted_total", "counter",
                 "Mutations ever queued for the store's writer (waited for or not).");
    cg_buf_printf(b, "cellgate_store_submitted_total %llu\n", (unsigned long long)ss.submitted);
    stats_family(b, "cellgate_store_async_failed_total", "counter",
                 "Mutations queued without waiting (periodic rollout evaluations) that were not "
                 "applied: an error, a compare-and-set conflict or a lost batch.");
    cg_buf_printf(b, "cellgate_store_async_failed_total %llu\n",
                  (unsigned long long)ss.async_failed);
}

/* ---- Config policies ---- */

int store_policy_put(struct store *st, const char *config, const char *body_json,
                     const struct store_actor *a, char *msg)
{
    if (st && !st->ops->policy_put) {
        set_msg(msg, "this store keeps no policies", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, policy_put, config, body_json, a, msg);
}

int store_policy_get(struct store *st, const char *config, struct store_policy *out, char *msg)
{
    if (st && !st->ops->policy_get) {
        set_msg(msg, "this store keeps no policies", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, policy_get, config, out, msg);
}

/* ---- The fleet's lifecycle ---- */

int store_cell_update(struct store *st, const struct store_cell_update *u,
                      const struct store_actor *a, int *changed, char *msg)
{
    if (changed)
        *changed = 0;
    if (st && !st->ops->cell_update) {
        set_msg(msg, "this store cannot change cells", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, cell_update, u, a, changed, msg);
}

int store_cell_remove(struct store *st, const char *id, const struct store_actor *a, char *msg)
{
    if (st && !st->ops->cell_remove) {
        set_msg(msg, "this store cannot remove cells", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, cell_remove, id, a, msg);
}

int store_scope_put(struct store *st, const char *config, const char *scope_json,
                    const struct store_actor *a, char *msg)
{
    if (st && !st->ops->scope_put) {
        set_msg(msg, "this store keeps no scopes", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, scope_put, config, scope_json, a, msg);
}

int store_scope_get(struct store *st, const char *config, struct store_scope *out, char *msg)
{
    if (st && !st->ops->scope_get) {
        set_msg(msg, "this store keeps no scopes", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, scope_get, config, out, msg);
}

/* ---- Change drills ---- */

int store_drill_record(struct store *st, const struct store_drill *d, const struct store_actor *a,
                       int64_t *id, char *msg)
{
    if (st && !st->ops->drill_record) {
        set_msg(msg, "this store keeps no drills", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, drill_record, d, a, id, msg);
}

int store_drill_list(struct store *st, const char *config, int64_t before_id, size_t limit,
                     struct store_drill **out, size_t *n, char *msg)
{
    if (st && !st->ops->drill_list) {
        set_msg(msg, "this store keeps no drills", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, drill_list, config, before_id, limit, out, n, msg);
}

int store_drill_schedule_set(struct store *st, const struct store_drill_schedule *s,
                             const struct store_actor *a, char *msg)
{
    if (st && !st->ops->drill_schedule_set) {
        set_msg(msg, "this store keeps no drills", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, drill_schedule_set, s, a, msg);
}

int store_drill_schedule_list(struct store *st, struct store_drill_schedule **out, size_t *n,
                              char *msg)
{
    if (st && !st->ops->drill_schedule_list) {
        set_msg(msg, "this store keeps no drills", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, drill_schedule_list, out, n, msg);
}

int store_drill_latest(struct store *st, int64_t after_id, size_t limit,
                       struct store_drill_latest **out, size_t *n, char *msg)
{
    if (st && !st->ops->drill_latest) {
        set_msg(msg, "this store keeps no drills", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, drill_latest, after_id, limit, out, n, msg);
}

/* ---- Contract and plan versions ---- */

int store_config_set_contract(struct store *st, const char *name, const char *contract_json,
                              int64_t expect_version, int forced, const struct store_actor *a,
                              int64_t *number, char *msg)
{
    if (st && !st->ops->config_set_contract) {
        set_msg(msg, "this store keeps no contract versions", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, config_set_contract, name, contract_json, expect_version, forced, a, number,
               msg);
}

int store_contract_list(struct store *st, const char *config, struct store_contract **out,
                        size_t *n, char *msg)
{
    if (st && !st->ops->contract_list) {
        set_msg(msg, "this store keeps no contract versions", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, contract_list, config, out, n, msg);
}

int store_contract_get(struct store *st, const char *config, int64_t number,
                       struct store_contract *out, char *msg)
{
    if (st && !st->ops->contract_get) {
        set_msg(msg, "this store keeps no contract versions", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, contract_get, config, number, out, msg);
}

int store_plan_version_list(struct store *st, const char *name, struct store_plan_version **out,
                            size_t *n, char *msg)
{
    if (st && !st->ops->plan_version_list) {
        set_msg(msg, "this store keeps no plan versions", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, plan_version_list, name, out, n, msg);
}

void store_contract_free(struct store_contract *c)
{
    if (!c)
        return;
    free(c->contract_json);
    free(c->reason);
    c->contract_json = c->reason = NULL;
}

void store_contracts_free(struct store_contract *c, size_t n)
{
    if (!c)
        return;
    for (size_t i = 0; i < n; i++)
        store_contract_free(&c[i]);
    free(c);
}

void store_plan_versions_free(struct store_plan_version *p, size_t n)
{
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        free(p[i].body_json);
    free(p);
}

void store_drills_free(struct store_drill *d, size_t n)
{
    for (size_t i = 0; d && i < n; i++)
        free(d[i].detail_json);
    free(d);
}

/* ---- Notification sinks ---- */

int store_sink_add(struct store *st, const struct store_sink *s, const struct store_actor *a,
                   char *msg)
{
    if (st && !st->ops->sink_add) {
        set_msg(msg, "this store keeps no notification sinks", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, sink_add, s, a, msg);
}

int store_sink_remove(struct store *st, const char *name, const struct store_actor *a, char *msg)
{
    if (st && !st->ops->sink_remove) {
        set_msg(msg, "this store keeps no notification sinks", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, sink_remove, name, a, msg);
}

int store_sink_list(struct store *st, struct store_sink **out, size_t *n, char *msg)
{
    if (st && !st->ops->sink_list) {
        set_msg(msg, "this store keeps no notification sinks", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, sink_list, out, n, msg);
}

void store_sinks_free(struct store_sink *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++) {
        free(s[i].url);
        free(s[i].events);
        free(s[i].secret);
    }
    free(s);
}

/* ---- Dashboard sessions ---- */

#define UI_SESSION_CALL(st, msg, fn, ...)                                                          \
    do {                                                                                           \
        if (st && !st->ops->fn) {                                                                  \
            set_msg(msg, "this store keeps no dashboard sessions", NULL);                          \
            return CG_ERR_INVALID;                                                                 \
        }                                                                                          \
        STORE_CALL(st, msg, fn, __VA_ARGS__);                                                      \
    } while (0)

int store_ui_session_put(struct store *st, const struct store_ui_session *s, char *msg)
{
    UI_SESSION_CALL(st, msg, ui_session_put, s, msg);
}

int store_ui_session_get(struct store *st, const char *id_hash, struct store_ui_session *out,
                         char *msg)
{
    UI_SESSION_CALL(st, msg, ui_session_get, id_hash, out, msg);
}

int store_ui_session_touch(struct store *st, const char *id_hash, int64_t last_seen_ms, char *msg)
{
    UI_SESSION_CALL(st, msg, ui_session_touch, id_hash, last_seen_ms, msg);
}

int store_ui_session_delete(struct store *st, const char *id_hash, char *msg)
{
    UI_SESSION_CALL(st, msg, ui_session_delete, id_hash, msg);
}

int store_ui_session_prune(struct store *st, int64_t now_ms, int64_t *pruned, char *msg)
{
    UI_SESSION_CALL(st, msg, ui_session_prune, now_ms, pruned, msg);
}

int store_host_exposure_list(struct store *st, const struct store_exposure_query *q,
                             struct store_host_exposure **out, size_t *n, int *truncated, char *msg)
{
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (truncated)
        *truncated = 0;
    if (st && !st->ops->host_exposure_list) {
        set_msg(msg, "this store keeps no exposure history", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, host_exposure_list, q, out, n, truncated, msg);
}

int store_host_exposure_prune(struct store *st, int64_t before_ms, int64_t *pruned, char *msg)
{
    if (pruned)
        *pruned = 0;
    if (st && !st->ops->host_exposure_prune) {
        set_msg(msg, "this store keeps no exposure history", NULL);
        return CG_ERR_INVALID;
    }
    STORE_CALL(st, msg, host_exposure_prune, before_ms, pruned, msg);
}

int store_register_stats(struct store *st, struct stats *stats)
{
    return stats_register(stats, "store", render_stats, st);
}
