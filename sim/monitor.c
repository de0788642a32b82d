/* SPDX-License-Identifier: MIT */
/*
 * monitor.c - follows the server's rollouts with the admin token (not part
 * of any host's protocol): GET /v1/rollouts every --monitor-ms (every
 * page: pages of the server's largest limit, following next_after until it
 * is null, at most MONITOR_MAX_PAGES), then each rollout that is not final
 * yet, then once the version's publish time. It feeds struct blast the
 * timeline (published, started, detected = the controller decided to roll
 * back or halt, ended) and the first step's cells, for the blast-radius
 * report.
 *
 * One request at a time, chained through the completion callbacks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sim.h"
#include "util.h"

/* Keyset paging of GET /v1/rollouts (docs/api/rollouts.md): the server's
 * largest page, and a bound on the pages of one round. */
#define MONITOR_PAGE_LIMIT 1000
#define MONITOR_MAX_PAGES  10000

/* The list walk of one round, carried from page to page as the request's
 * ctx (owned by the request chain: on_list() frees it when the walk ends). */
struct list_walk {
    int64_t after; /* cursor of the page asked for; 0 = the first */
    size_t pages;  /* pages asked for so far */
};

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

/* Where id is, or would go, in the ascending s->done_ids. */
static size_t done_pos(const struct sim *s, int64_t id)
{
    size_t lo = 0, hi = s->ndone;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (s->done_ids[mid] < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Whether rollout id was seen final (s->done_ids is kept sorted: the list
 * of every page asks this for each rollout, every round). */
static bool is_done(const struct sim *s, int64_t id)
{
    size_t i = done_pos(s, id);

    return i < s->ndone && s->done_ids[i] == id;
}

static void mark_done(struct sim *s, int64_t id)
{
    size_t i = done_pos(s, id);

    if (i < s->ndone && s->done_ids[i] == id) {
        return;
    }
    if (s->ndone == s->capdone) {
        size_t cap = s->capdone ? s->capdone * 2 : 16;
        int64_t *n = realloc(s->done_ids, cap * sizeof *n);

        if (!n) {
            return;
        }
        s->done_ids = n;
        s->capdone = cap;
    }
    memmove(&s->done_ids[i + 1], &s->done_ids[i], (s->ndone - i) * sizeof *s->done_ids);
    s->done_ids[i] = id;
    s->ndone++;
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

/* Asks for the page of the rollouts list after w->after (w passes to the
 * request). Returns 0, or -1 when the request could not start (w is still
 * the caller's). */
static int list_page(struct sim *s, struct list_walk *w)
{
    char path[96];

    if (w->after > 0) {
        snprintf(path, sizeof path, "/v1/rollouts?limit=%d&after=%lld", MONITOR_PAGE_LIMIT,
                 (long long)w->after);
    } else {
        snprintf(path, sizeof path, "/v1/rollouts?limit=%d", MONITOR_PAGE_LIMIT);
    }
    w->pages++;
    s->monitor_req = loop_start(s, REQ_MONITOR_LIST, NULL, path, s->opt.token, NULL, NULL,
                                (long)s->opt.timeout_ms, 8u * 1024 * 1024, on_list, w);
    return s->monitor_req ? 0 : -1;
}

void monitor_tick(struct sim *s, int64_t now)
{
    struct list_walk *w;

    if (s->opt.monitor_ms <= 0 || !s->opt.token || s->monitor_req || now < s->monitor_next_ms) {
        return;
    }
    s->monitor_next_ms = now + s->opt.monitor_ms;
    /* a new round: the rollouts to refresh are those of every page */
    free(s->monitor_ids);
    s->monitor_ids = NULL;
    s->nmonitor_ids = s->imonitor = 0;
    w = calloc(1, sizeof *w);
    if (w && list_page(s, w) != 0) {
        free(w);
    }
}

/* Appends the ids of a page's rollouts that are not final yet. Returns 0,
 * or -1 when out of memory. */
static int add_ids(struct sim *s, const json_t *arr)
{
    const json_t *x;
    int64_t *ids;
    size_t i;

    if (json_array_size(arr) == 0) {
        return 0;
    }
    ids = realloc(s->monitor_ids, (s->nmonitor_ids + json_array_size(arr)) * sizeof *ids);
    if (!ids) {
        return -1;
    }
    s->monitor_ids = ids;
    json_array_foreach(arr, i, x)
    {
        int64_t id = cg_json_int(x, "id", 0, NULL);

        if (id > 0 && !is_done(s, id)) {
            s->monitor_ids[s->nmonitor_ids++] = id;
        }
    }
    return 0;
}

/*
 * One page of the rollouts list: keeps its ids and asks for the next page
 * while next_after names one (a positive id below the cursor, after a page
 * that was not empty, at most MONITOR_MAX_PAGES); then refreshes the
 * rollouts. A page that fails (HTTP error, timeout, not the list) ends the
 * walk: the round refreshes the rollouts of the pages read so far, the
 * next round reads the list again.
 */
static void on_list(struct sim *s, struct sim_req *rq)
{
    struct list_walk *w = rq->ctx;
    json_t *root = NULL, *arr, *next;
    int64_t after = 0;

    s->monitor_req = NULL;
    if (rq->status == 200 &&
        cg_json_parse(rq->body.data, rq->body.len, 0, 0, &root, NULL, 0) == CG_JSON_OK) {
        arr = json_object_get(root, "rollouts");
        next = json_object_get(root, "next_after");
        if (json_is_array(arr) && add_ids(s, arr) == 0 && json_array_size(arr) > 0 &&
            json_is_integer(next) && json_integer_value(next) > 0 &&
            (w->after == 0 || json_integer_value(next) < w->after)) {
            after = (int64_t)json_integer_value(next);
        }
    }
    json_decref(root);
    if (after > 0 && w->pages < MONITOR_MAX_PAGES) {
        w->after = after;
        if (list_page(s, w) == 0) {
            return;
        }
    }
    free(w);
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
