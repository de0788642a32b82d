/* SPDX-License-Identifier: MIT */
/*
 * monitor.c - follows the server's rollouts with the admin token (not part
 * of any host's protocol): GET /v1/rollouts every --monitor-ms, then each
 * rollout that is not final yet, then once the version's publish time. It
 * feeds struct blast the timeline (published, started, detected = the
 * controller decided to roll back or halt, ended) and the first step's
 * cells, for the blast-radius report.
 *
 * One request at a time, chained through the completion callbacks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sim.h"
#include "util.h"

static void on_list(struct sim *s, struct sim_req *rq);
static void on_get(struct sim *s, struct sim_req *rq);
static void on_version(struct sim *s, struct sim_req *rq);

static int64_t time_of(const json_t *o, const char *key)
{
    int64_t ms = 0;
    const char *t = cg_json_str(o, key, NULL, NULL);

    if (!t || cg_time_parse(t, &ms) != 0) {
        return 0;
    }
    return ms;
}

static bool is_done(const struct sim *s, int64_t id)
{
    for (size_t i = 0; i < s->ndone; i++) {
        if (s->done_ids[i] == id) {
            return true;
        }
    }
    return false;
}

static void mark_done(struct sim *s, int64_t id)
{
    if (s->ndone == s->capdone) {
        size_t cap = s->capdone ? s->capdone * 2 : 16;
        int64_t *n = realloc(s->done_ids, cap * sizeof *n);

        if (!n) {
            return;
        }
        s->done_ids = n;
        s->capdone = cap;
    }
    s->done_ids[s->ndone++] = id;
}

static bool final_state(const char *st)
{
    return strcmp(st, "completed") == 0 || strcmp(st, "rolled_back") == 0 ||
           strcmp(st, "aborted") == 0 || strcmp(st, "halted") == 0;
}

/* Asks for the next rollout of the list, or ends the round. */
static void next_get(struct sim *s)
{
    char path[64];

    while (s->imonitor < s->nmonitor_ids) {
        int64_t id = s->monitor_ids[s->imonitor++];

        snprintf(path, sizeof path, "/v1/rollouts/%lld", (long long)id);
        s->monitor_req = loop_start(s, REQ_MONITOR_GET, NULL, path, s->opt.token, NULL, NULL,
                                    (long)s->opt.timeout_ms, 8u * 1024 * 1024, on_get, NULL);
        if (s->monitor_req) {
            return;
        }
    }
    s->monitor_req = NULL;
}

void monitor_tick(struct sim *s, int64_t now)
{
    if (s->opt.monitor_ms <= 0 || !s->opt.token || s->monitor_req || now < s->monitor_next_ms) {
        return;
    }
    s->monitor_next_ms = now + s->opt.monitor_ms;
    s->monitor_req = loop_start(s, REQ_MONITOR_LIST, NULL, "/v1/rollouts", s->opt.token, NULL, NULL,
                                (long)s->opt.timeout_ms, 8u * 1024 * 1024, on_list, NULL);
}

static void on_list(struct sim *s, struct sim_req *rq)
{
    json_t *root = NULL, *arr, *x;
    size_t i;

    s->monitor_req = NULL;
    free(s->monitor_ids);
    s->monitor_ids = NULL;
    s->nmonitor_ids = s->imonitor = 0;
    if (rq->status != 200 ||
        cg_json_parse(rq->body.data, rq->body.len, 0, 0, &root, NULL, 0) != CG_JSON_OK) {
        return;
    }
    arr = json_object_get(root, "rollouts");
    s->monitor_ids = calloc(json_array_size(arr) + 1, sizeof *s->monitor_ids);
    json_array_foreach(arr, i, x)
    {
        int64_t id = cg_json_int(x, "id", 0, NULL);

        if (s->monitor_ids && id > 0 && !is_done(s, id)) {
            s->monitor_ids[s->nmonitor_ids++] = id;
        }
    }
    json_decref(root);
    next_get(s);
}

/* Fills r from a rollout status object. */
static void parse_status(const json_t *o, struct blast_rollout *r, const char ***cells,
                         size_t *ncells)
{
    const json_t *events = json_object_get(o, "events"), *e, *first, *x;
    size_t i;

    memset(r, 0, sizeof *r);
    r->id = cg_json_int(o, "id", 0, NULL);
    cg_strlcpy(r->config, cg_json_str(o, "config", "", NULL), sizeof r->config);
    cg_strlcpy(r->kind, cg_json_str(o, "kind", "", NULL), sizeof r->kind);
    cg_strlcpy(r->state, cg_json_str(o, "state", "", NULL), sizeof r->state);
    r->from_version = cg_json_int(o, "from_version", 0, NULL);
    r->to_version = cg_json_int(o, "to_version", 0, NULL);
    r->started_ms = time_of(o, "created_at");
    r->ended_ms = time_of(o, "ended_at");
    r->steps_total = cg_json_int(o, "steps_total", 0, NULL);
    json_array_foreach(events, i, e)
    {
        const char *kind = cg_json_str(e, "kind", "", NULL);

        if (strcmp(kind, "step.start") == 0 || strcmp(kind, "expedited") == 0) {
            r->steps_started++;
        }
        if (!r->detected_ms &&
            (strcmp(kind, "rollback.start") == 0 || strcmp(kind, "halted") == 0)) {
            const json_t *d = json_object_get(e, "detail");

            r->detected_ms = cg_json_int(e, "time_ms", 0, NULL);
            cg_strlcpy(r->reason, cg_json_str(d, "reason", "", NULL), sizeof r->reason);
        }
    }
    first = json_object_get(json_array_get(json_object_get(o, "steps"), 0), "cells");
    *ncells = 0;
    *cells = calloc(json_array_size(first) + 1, sizeof **cells);
    json_array_foreach(first, i, x)
    {
        if (*cells && json_is_string(x)) {
            (*cells)[(*ncells)++] = json_string_value(x);
        }
    }
}

static void on_get(struct sim *s, struct sim_req *rq)
{
    json_t *root = NULL;
    struct blast_rollout r, *known = NULL;
    const char **cells = NULL;
    size_t ncells = 0;

    s->monitor_req = NULL;
    if (rq->status != 200 ||
        cg_json_parse(rq->body.data, rq->body.len, 0, 0, &root, NULL, 0) != CG_JSON_OK) {
        next_get(s);
        return;
    }
    parse_status(root, &r, &cells, &ncells);
    for (size_t i = 0; i < s->blast.nr; i++) {
        if (s->blast.r[i].id == r.id) {
            known = &s->blast.r[i];
        }
    }
    r.published_ms = known ? known->published_ms : 0;
    r.first_cells = (char **)cells;
    r.nfirst = ncells;
    blast_rollout_put(&s->blast, &r);
    free(cells);
    json_decref(root);
    if (r.published_ms == 0 && r.to_version > 0) {
        char path[160];
        int64_t *ctx = malloc(sizeof *ctx);

        if (ctx) {
            *ctx = r.id;
            snprintf(path, sizeof path, "/v1/configs/%s/versions/%lld", r.config,
                     (long long)r.to_version);
            s->monitor_req =
                loop_start(s, REQ_MONITOR_VERSION, NULL, path, s->opt.token, NULL, NULL,
                           (long)s->opt.timeout_ms, 1024 * 1024, on_version, ctx);
            if (s->monitor_req) {
                return;
            }
            free(ctx);
        }
    } else if (final_state(r.state)) {
        mark_done(s, r.id);
    }
    next_get(s);
}

static void on_version(struct sim *s, struct sim_req *rq)
{
    int64_t *id = rq->ctx;
    json_t *root = NULL;

    s->monitor_req = NULL;
    if (rq->status == 200 &&
        cg_json_parse(rq->body.data, rq->body.len, 0, 0, &root, NULL, 0) == CG_JSON_OK) {
        for (size_t i = 0; i < s->blast.nr; i++) {
            if (s->blast.r[i].id == *id) {
                s->blast.r[i].published_ms = time_of(root, "created_at");
                if (final_state(s->blast.r[i].state)) {
                    mark_done(s, *id);
                }
            }
        }
    }
    json_decref(root);
    free(id);
    next_get(s);
}
