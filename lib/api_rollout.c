/* SPDX-License-Identifier: MIT */
/*
 * api_rollout.c - the routes that move versions onto cells: assignments,
 * the fleet views (status, hosts), rollouts and their actions, rollback
 * and plan preview (docs/api/agent.md, docs/plans.md). Like api.c, each
 * function builds the path (escaping every name) and the JSON body, then
 * calls cg__call(); nothing here knows HTTP mechanics.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib-internal.h"
#include "util.h"

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != CG_OK) {                                                                        \
            return rc_;                                                                            \
        }                                                                                          \
    } while (0)

static void clear_out(struct cg_result **out)
{
    if (out) {
        *out = NULL;
    }
}

static int nomem(struct cg_error *err)
{
    return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
}

/* Appends "<sep>key=escaped(value)" when value is not empty; *sep becomes
 * '&'. Frees b on failure. */
static int query(struct cg_buf *b, char *sep, const char *key, const char *value,
                 struct cg_error *err)
{
    if (!value || !value[0]) {
        return CG_OK;
    }
    if (cg_buf_printf(b, "%c%s=", *sep, key) != 0 || cg__buf_escape(b, value) != 0) {
        cg_buf_free(b);
        return nomem(err);
    }
    *sep = '&';
    return CG_OK;
}

/* "/v1/rollouts/<id><suffix>" */
static int rollout_path(struct cg_buf *b, int64_t id, const char *suffix, struct cg_error *err)
{
    if (id <= 0) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "rollout ids start at 1, not %" PRId64, id);
    }
    if (cg_buf_printf(b, "/v1/rollouts/%" PRId64 "%s", id, suffix) != 0) {
        cg_buf_free(b);
        return nomem(err);
    }
    return CG_OK;
}

/* GET 'path' (freed), exposing 'items' (may be NULL). */
static int get(struct cg_client *c, struct cg_buf *path, const char *items, struct cg_result **out,
               struct cg_error *err)
{
    struct cg__req rq = {.method = "GET", .path = path->data};
    int rc = cg__call(c, &rq, 0, items, out, err);

    cg_buf_free(path);
    return rc;
}

/* POSTs 'body' (consumed, also on failure) to 'path' (freed). */
static int post(struct cg_client *c, struct cg_buf *path, json_t *body, const char *items,
                struct cg_result **out, struct cg_error *err)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct cg__req rq = {.method = "POST", .path = path->data, .body = text};
    int rc;

    json_decref(body);
    if (!text) {
        cg_buf_free(path);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory building the request");
    }
    rq.body_len = strlen(text);
    rc = cg__call(c, &rq, 0, items, out, err);
    free(text);
    cg_buf_free(path);
    return rc;
}

/* post() once the path is built: 'prc' is the status of building it
 * (the path is already freed when it failed). 'body' is consumed. */
static int post_built(int prc, struct cg_client *c, struct cg_buf *path, json_t *body,
                      struct cg_result **out, struct cg_error *err)
{
    if (prc != CG_OK) {
        json_decref(body);
        return prc;
    }
    return post(c, path, body, NULL, out, err);
}

/* Sets body[key] = s when s is not empty. Returns 0 or -1 (out of memory
 * or not UTF-8). */
static int set_str(json_t *body, const char *key, const char *s)
{
    if (!s || !s[0]) {
        return 0;
    }
    return json_object_set_new(body, key, json_string(s));
}

/* ---- assignments and views ---- */

int cg_config_assign(struct cg_client *c, const char *name, int64_t version,
                     const char *const *cells, size_t ncells, int64_t expect_generation,
                     const char *reason, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    json_t *body, *arr;

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    if (version <= 0) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "version numbers start at 1, not %" PRId64,
                             version);
    }
    if (ncells == 0 || !cells) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "an assignment needs at least one cell");
    }
    arr = json_array();
    body = json_pack("{s:I}", "version", (json_int_t)version);
    if (!arr || !body) {
        json_decref(arr);
        json_decref(body);
        return nomem(err);
    }
    for (size_t i = 0; i < ncells; i++) {
        if (!cells[i] || !cells[i][0]) {
            json_decref(arr);
            json_decref(body);
            return cg__error_set(err, CG_ERR_INVALID, 0, "cell %zu is empty", i);
        }
        if (json_array_append_new(arr, json_string(cells[i])) != 0) {
            json_decref(arr);
            json_decref(body);
            return cg__error_set(err, CG_ERR_INVALID, 0,
                                 "cell %zu is not valid UTF-8 or out of memory", i);
        }
    }
    if (json_object_set_new(body, "cells", arr) != 0 ||
        (expect_generation >= 0 &&
         json_object_set_new(body, "expect_generation", json_integer(expect_generation)) != 0) ||
        (expect_generation == CG_ASSIGN_FORCE &&
         json_object_set_new(body, "force", json_true()) != 0) ||
        set_str(body, "reason", reason) != 0) {
        json_decref(body);
        return cg__error_set(err, CG_ERR_INVALID, 0, "reason is not valid UTF-8 or out of memory");
    }
    return post_built(cg__path3(&p, "/v1/configs/", name, "/assign", err), c, &p, body, out, err);
}

int cg_assignments_list(struct cg_client *c, const char *name, struct cg_result **out,
                        struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    CHECK(cg__path3(&p, "/v1/configs/", name, "/assignments", err));
    return cg__get_all(c, &p, '?', "assignments", out, err);
}

int cg_assignments_page(struct cg_client *c, const char *name, const char *after, int limit,
                        struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    CHECK(cg__path3(&p, "/v1/configs/", name, "/assignments", err));
    return cg__get_page(c, &p, '?', after, limit, "assignments", out, err);
}

int cg_config_status(struct cg_client *c, const char *name, struct cg_result **out,
                     struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    CHECK(cg__path3(&p, "/v1/configs/", name, "/status", err));
    return cg__get_all(c, &p, '?', "cells", out, err);
}

int cg_config_status_page(struct cg_client *c, const char *name, const char *after, int limit,
                          struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    CHECK(cg__path3(&p, "/v1/configs/", name, "/status", err));
    return cg__get_page(c, &p, '?', after, limit, "cells", out, err);
}

/* "/v1/hosts[?cell=C][&config=K]"; *sep is the next separator. */
static int hosts_path(struct cg_buf *p, char *sep, const char *cell, const char *config,
                      struct cg_error *err)
{
    CHECK(cg__path3(p, "/v1/hosts", NULL, NULL, err));
    CHECK(query(p, sep, "cell", cell, err));
    return query(p, sep, "config", config, err);
}

int cg_hosts_list(struct cg_client *c, const char *cell, const char *config, struct cg_result **out,
                  struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    CHECK(hosts_path(&p, &sep, cell, config, err));
    return cg__get_all(c, &p, sep, "hosts", out, err);
}

int cg_hosts_page(struct cg_client *c, const char *cell, const char *config, const char *after,
                  int limit, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    CHECK(hosts_path(&p, &sep, cell, config, err));
    return cg__get_page(c, &p, sep, after, limit, "hosts", out, err);
}

/* ---- rollouts ---- */

int cg_rollout_start(struct cg_client *c, const char *config, int64_t version, const char *plan,
                     const char *reason, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    json_t *body;

    clear_out(out);
    CHECK(cg__need(config, "config name", err));
    if (version <= 0) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "version numbers start at 1, not %" PRId64,
                             version);
    }
    body = json_pack("{s:s, s:I}", "config", config, "version", (json_int_t)version);
    if (!body) {
        return cg__error_set(err, CG_ERR_INVALID, 0,
                             "config name is not valid UTF-8 or out of memory");
    }
    if (set_str(body, "plan", plan) != 0 || set_str(body, "reason", reason) != 0) {
        json_decref(body);
        return cg__error_set(err, CG_ERR_INVALID, 0,
                             "plan or reason is not valid UTF-8 or out of memory");
    }
    return post_built(cg__path3(&p, "/v1/rollouts", NULL, NULL, err), c, &p, body, out, err);
}

/* "/v1/rollouts[?config=C][&open=1]"; *sep is the next separator. */
static int rollouts_path(struct cg_buf *p, char *sep, const char *config, int open_only,
                         struct cg_error *err)
{
    CHECK(cg__path3(p, "/v1/rollouts", NULL, NULL, err));
    CHECK(query(p, sep, "config", config, err));
    return query(p, sep, "open", open_only ? "1" : NULL, err);
}

int cg_rollouts_list(struct cg_client *c, const char *config, int open_only, struct cg_result **out,
                     struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    CHECK(rollouts_path(&p, &sep, config, open_only, err));
    return cg__get_all(c, &p, sep, "rollouts", out, err);
}

int cg_rollouts_page(struct cg_client *c, const char *config, int open_only, const char *after,
                     int limit, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    CHECK(rollouts_path(&p, &sep, config, open_only, err));
    return cg__get_page(c, &p, sep, after, limit, "rollouts", out, err);
}

int cg_rollout_get(struct cg_client *c, int64_t id, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};

    clear_out(out);
    CHECK(rollout_path(&p, id, "", err));
    return get(c, &p, NULL, out, err);
}

/* POST /v1/rollouts/{id}/<action> with {"reason"?}. */
static int action(struct cg_client *c, int64_t id, const char *suffix, const char *reason,
                  struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    json_t *body;

    clear_out(out);
    body = json_object();
    if (!body) {
        return nomem(err);
    }
    if (set_str(body, "reason", reason) != 0) {
        json_decref(body);
        return cg__error_set(err, CG_ERR_INVALID, 0, "reason is not valid UTF-8 or out of memory");
    }
    return post_built(rollout_path(&p, id, suffix, err), c, &p, body, out, err);
}

int cg_rollout_pause(struct cg_client *c, int64_t id, const char *reason, struct cg_result **out,
                     struct cg_error *err)
{
    return action(c, id, "/pause", reason, out, err);
}

int cg_rollout_resume(struct cg_client *c, int64_t id, const char *reason, struct cg_result **out,
                      struct cg_error *err)
{
    return action(c, id, "/resume", reason, out, err);
}

int cg_rollout_abort(struct cg_client *c, int64_t id, const char *reason, struct cg_result **out,
                     struct cg_error *err)
{
    return action(c, id, "/abort", reason, out, err);
}

int cg_rollout_approve(struct cg_client *c, int64_t id, const char *reason, struct cg_result **out,
                       struct cg_error *err)
{
    return action(c, id, "/approve", reason, out, err);
}

int cg_config_rollback(struct cg_client *c, const char *name, int64_t to_version,
                       const char *reason, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    json_t *body;

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    if (to_version < 0) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "version numbers start at 1, not %" PRId64,
                             to_version);
    }
    body = json_object();
    if (!body) {
        return nomem(err);
    }
    if ((to_version > 0 &&
         json_object_set_new(body, "to_version", json_integer(to_version)) != 0) ||
        set_str(body, "reason", reason) != 0) {
        json_decref(body);
        return cg__error_set(err, CG_ERR_INVALID, 0, "reason is not valid UTF-8 or out of memory");
    }
    return post_built(cg__path3(&p, "/v1/configs/", name, "/rollback", err), c, &p, body, out, err);
}

int cg_plan_preview(struct cg_client *c, const char *name, const char *config,
                    struct cg_result **out, struct cg_error *err)
{
    return cg_plan_preview_version(c, name, config, 0, out, err);
}

int cg_plan_preview_version(struct cg_client *c, const char *name, const char *config,
                            int64_t version, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?', num[24];

    clear_out(out);
    CHECK(cg__need(name, "plan name", err));
    if (version < 0 || (version > 0 && (!config || !config[0]))) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "a preview's version needs its config");
    }
    snprintf(num, sizeof num, "%lld", (long long)version);
    CHECK(cg__path3(&p, "/v1/plans/", name, "/preview", err));
    CHECK(query(&p, &sep, "config", config, err));
    CHECK(query(&p, &sep, "version", version > 0 ? num : NULL, err));
    return get(c, &p, "steps", out, err);
}
