/* SPDX-License-Identifier: MIT */
/*
 * blast.c - blast-radius accounting and its JSON report (see blast.h).
 */
#include "blast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int blast_init(struct blast *b, size_t nhosts, size_t ncells, const char *const *cell_ids,
               int64_t start_ms)
{
    memset(b, 0, sizeof *b);
    b->nhosts = nhosts;
    b->ncells = ncells;
    b->cell_ids = cell_ids;
    b->start_ms = start_ms;
    return 0;
}

static void rollout_release(struct blast_rollout *r)
{
    for (size_t i = 0; i < r->nfirst; i++) {
        free(r->first_cells[i]);
    }
    free(r->first_cells);
    r->first_cells = NULL;
    r->nfirst = 0;
}

void blast_free(struct blast *b)
{
    for (size_t i = 0; i < b->nv; i++) {
        free(b->v[i].hosts_ever);
        free(b->v[i].cells_ever);
    }
    for (size_t i = 0; i < b->nr; i++) {
        rollout_release(&b->r[i]);
    }
    free(b->v);
    free(b->r);
    free(b->fleet_per_s);
    memset(b, 0, sizeof *b);
}

struct blast_version *blast_version_get(struct blast *b, const char *config, int64_t version,
                                        bool create)
{
    struct blast_version *v;

    for (size_t i = 0; i < b->nv; i++) {
        if (b->v[i].version == version && strcmp(b->v[i].config, config) == 0) {
            return &b->v[i];
        }
    }
    if (!create) {
        return NULL;
    }
    if (b->nv == b->capv) {
        size_t cap = b->capv ? b->capv * 2 : 8;
        struct blast_version *n = realloc(b->v, cap * sizeof *n);

        if (!n) {
            return NULL;
        }
        b->v = n;
        b->capv = cap;
    }
    v = &b->v[b->nv];
    memset(v, 0, sizeof *v);
    v->hosts_ever = calloc(b->nhosts / 8 + 1, 1);
    v->cells_ever = calloc(b->ncells / 8 + 1, 1);
    if (!v->hosts_ever || !v->cells_ever) {
        free(v->hosts_ever);
        free(v->cells_ever);
        return NULL;
    }
    cg_strlcpy(v->config, config, sizeof v->config);
    v->version = version;
    b->nv++;
    return v;
}

/* Sets bit i; returns 1 when it was clear. */
static int set_bit(uint8_t *bits, size_t i)
{
    uint8_t m = (uint8_t)(1u << (i % 8));
    int was = (bits[i / 8] & m) != 0;

    bits[i / 8] |= m;
    return !was;
}

static int get_bit(const uint8_t *bits, size_t i)
{
    return (bits[i / 8] >> (i % 8)) & 1;
}

void blast_enter(struct blast *b, const char *config, int64_t version, const char *sha256,
                 size_t host, size_t cell, int64_t now_ms)
{
    struct blast_version *v = blast_version_get(b, config, version, true);

    if (!v) {
        return;
    }
    if (sha256 && sha256[0]) {
        cg_strlcpy(v->sha256, sha256, sizeof v->sha256);
    }
    if (host < b->nhosts) {
        v->nhosts_ever += (size_t)set_bit(v->hosts_ever, host);
    }
    if (cell < b->ncells) {
        v->ncells_ever += (size_t)set_bit(v->cells_ever, cell);
    }
    if (!v->first_ms) {
        v->first_ms = now_ms;
    }
    v->hosts_now++;
    v->last_ms = now_ms;
}

void blast_leave(struct blast *b, const char *config, int64_t version, int64_t now_ms)
{
    struct blast_version *v = blast_version_get(b, config, version, false);

    if (!v) {
        return;
    }
    if (v->hosts_now > 0) {
        v->hosts_now--;
    }
    v->last_ms = now_ms;
}

/* Makes fleet_per_s cover second index 'sec'. */
static int grow_seconds(struct blast *b, size_t sec)
{
    size_t want;
    double *n;

    if (sec < b->nsec) {
        return 0;
    }
    want = b->nsec ? b->nsec : 64;
    while (want <= sec) {
        want *= 2;
    }
    n = realloc(b->fleet_per_s, want * sizeof *n);
    if (!n) {
        return -1;
    }
    memset(n + b->nsec, 0, (want - b->nsec) * sizeof *n);
    b->fleet_per_s = n;
    b->nsec = want;
    return 0;
}

void blast_served(struct blast *b, const char *const *configs, const int64_t *versions, size_t n,
                  uint64_t requests, uint64_t errors, int64_t from_ms, int64_t to_ms)
{
    int64_t a, z;

    for (size_t i = 0; i < n; i++) {
        struct blast_version *v = blast_version_get(b, configs[i], versions[i], false);

        if (v) {
            v->requests += requests;
            v->errors += errors;
            if (to_ms > v->last_ms) {
                v->last_ms = to_ms;
            }
        }
    }
    b->fleet_requests += requests;
    b->fleet_errors += errors;
    if (requests == 0) {
        return;
    }
    a = from_ms - b->start_ms;
    z = to_ms - b->start_ms;
    if (a < 0) {
        a = 0;
    }
    if (z <= a) {
        z = a + 1;
    }
    if (grow_seconds(b, (size_t)((z - 1) / 1000)) < 0) {
        return;
    }
    for (int64_t s = a / 1000; s * 1000 < z; s++) {
        int64_t lo = s * 1000 > a ? s * 1000 : a;
        int64_t hi = (s + 1) * 1000 < z ? (s + 1) * 1000 : z;

        b->fleet_per_s[s] += (double)requests * (double)(hi - lo) / (double)(z - a);
    }
}

double blast_fleet_requests(const struct blast *b, int64_t from_ms, int64_t to_ms)
{
    int64_t a = from_ms - b->start_ms, z = to_ms - b->start_ms;
    double sum = 0;

    if (a < 0) {
        a = 0;
    }
    for (int64_t s = a / 1000; s * 1000 < z && (size_t)s < b->nsec; s++) {
        int64_t lo = s * 1000 > a ? s * 1000 : a;
        int64_t hi = (s + 1) * 1000 < z ? (s + 1) * 1000 : z;

        sum += b->fleet_per_s[s] * (double)(hi - lo) / 1000.0;
    }
    return sum;
}

int blast_rollout_put(struct blast *b, const struct blast_rollout *src)
{
    struct blast_rollout *r = NULL;
    char **cells = NULL;

    for (size_t i = 0; i < b->nr; i++) {
        if (b->r[i].id == src->id) {
            r = &b->r[i];
        }
    }
    if (src->nfirst > 0) {
        cells = calloc(src->nfirst, sizeof *cells);
        if (!cells) {
            return -1;
        }
        for (size_t i = 0; i < src->nfirst; i++) {
            cells[i] = strdup(src->first_cells[i]);
            if (!cells[i]) {
                for (size_t j = 0; j < i; j++) {
                    free(cells[j]);
                }
                free(cells);
                return -1;
            }
        }
    }
    if (!r) {
        if (b->nr == b->capr) {
            size_t cap = b->capr ? b->capr * 2 : 8;
            struct blast_rollout *n = realloc(b->r, cap * sizeof *n);

            if (!n) {
                goto nomem;
            }
            b->r = n;
            b->capr = cap;
        }
        r = &b->r[b->nr++];
        memset(r, 0, sizeof *r);
    }
    {
        char **keep = r->first_cells;
        size_t nkeep = r->nfirst;

        *r = *src;
        if (cells) {
            r->first_cells = keep;
            r->nfirst = nkeep;
            rollout_release(r);
            r->first_cells = cells;
            r->nfirst = src->nfirst;
        } else {
            r->first_cells = keep;
            r->nfirst = nkeep;
        }
    }
    return 0;
nomem:
    for (size_t i = 0; i < src->nfirst; i++) {
        free(cells[i]);
    }
    free(cells);
    return -1;
}

static bool rolled_back_state(const char *state)
{
    return strcmp(state, "rolled_back") == 0 || strcmp(state, "rolling_back") == 0;
}

bool blast_rolled_back(const struct blast *b, const char *config, int64_t version)
{
    for (size_t i = 0; i < b->nr; i++) {
        if (b->r[i].to_version == version && strcmp(b->r[i].config, config) == 0 &&
            rolled_back_state(b->r[i].state)) {
            return true;
        }
    }
    return false;
}

/* ---- report ---------------------------------------------------------------- */

static json_t *time_or_null(int64_t ms)
{
    char t[32];

    if (ms <= 0) {
        return json_null();
    }
    cg_time_format(ms, t);
    return json_string(t);
}

static json_t *secs_or_null(int64_t from, int64_t to)
{
    if (from <= 0 || to <= 0 || to < from) {
        return json_null();
    }
    return json_real(round((double)(to - from) / 10.0) / 100.0);
}

static json_t *share(double part, double whole)
{
    return whole > 0 ? json_real(part / whole) : json_null();
}

static json_t *behaviour_json(const struct blast_version *v)
{
    if (!v->behaviour_set) {
        return json_null();
    }
    return json_pack("{s:f,s:f,s:f,s:b}", "error_rate", v->behaviour.error_rate, "latency_ms",
                     v->behaviour.latency_ms, "retry_rate", v->behaviour.retry_rate, "crash",
                     v->behaviour.crash);
}

static json_t *cells_json(const struct blast *b, const struct blast_version *v)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < b->ncells; i++) {
        if (get_bit(v->cells_ever, i)) {
            json_array_append_new(a, json_string(b->cell_ids ? b->cell_ids[i] : "?"));
        }
    }
    return a;
}

static json_t *version_json(const struct blast *b, const struct blast_version *v, int64_t now)
{
    int64_t end = v->hosts_now > 0 ? now : v->last_ms;
    double during = v->first_ms ? blast_fleet_requests(b, v->first_ms, end) : 0;

    return json_pack(
        "{s:s,s:I,s:s,s:o,s:I,s:I,s:o,s:I,s:I,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:b}", "config",
        v->config, "version", (json_int_t)v->version, "sha256", v->sha256, "behaviour",
        behaviour_json(v), "hosts_ever", (json_int_t)v->nhosts_ever, "cells_ever",
        (json_int_t)v->ncells_ever, "cells", cells_json(b, v), "requests", (json_int_t)v->requests,
        "errors", (json_int_t)v->errors, "error_rate",
        v->requests ? json_real((double)v->errors / (double)v->requests) : json_null(), "hosts_now",
        (json_int_t)v->hosts_now, "first_applied_at", time_or_null(v->first_ms), "last_running_at",
        time_or_null(v->hosts_now ? now : v->last_ms), "exposure_s", secs_or_null(v->first_ms, end),
        "share_of_fleet_requests_during_exposure", share((double)v->requests, during),
        "share_of_run", share((double)v->requests, (double)b->fleet_requests), "rolled_back",
        blast_rolled_back(b, v->config, v->version));
}

/*
 * One rollout. Its blast radius is the version's: the cells and hosts that
 * ever ran it and the requests they served on it, as a share of all fleet
 * requests from the rollout's start to its end (for a rollback: until the
 * last host left the version, which may be after the server ended it).
 */
static json_t *rollout_json(const struct blast *b, const struct blast_rollout *r, int64_t now)
{
    const struct blast_version *v = NULL;
    json_t *first = json_array(), *outside = json_array(), *radius, *o;
    int64_t end = r->ended_ms ? r->ended_ms : now;
    double fleet;

    for (size_t i = 0; i < b->nv; i++) {
        if (b->v[i].version == r->to_version && strcmp(b->v[i].config, r->config) == 0) {
            v = &b->v[i];
        }
    }
    for (size_t i = 0; i < r->nfirst; i++) {
        json_array_append_new(first, json_string(r->first_cells[i]));
    }
    if (v && (v->hosts_now ? now : v->last_ms) > end) {
        end = v->hosts_now ? now : v->last_ms; /* hosts left after the server ended it */
    }
    fleet = blast_fleet_requests(b, r->started_ms, end);
    if (v) {
        for (size_t i = 0; i < b->ncells; i++) {
            bool in_first = false;

            if (!get_bit(v->cells_ever, i) || !b->cell_ids) {
                continue;
            }
            for (size_t j = 0; j < r->nfirst && !in_first; j++) {
                in_first = strcmp(r->first_cells[j], b->cell_ids[i]) == 0;
            }
            if (!in_first) {
                json_array_append_new(outside, json_string(b->cell_ids[i]));
            }
        }
        radius = json_pack(
            "{s:I,s:o,s:I,s:I,s:I,s:o,s:o,s:O,s:b,s:o}", "cells_count", (json_int_t)v->ncells_ever,
            "cells", cells_json(b, v), "hosts", (json_int_t)v->nhosts_ever, "requests",
            (json_int_t)v->requests, "errors", (json_int_t)v->errors, "share_of_fleet_requests",
            share((double)v->requests, fleet), "share_of_run",
            share((double)v->requests, (double)b->fleet_requests), "cells_outside_first_step",
            outside, "only_first_step_cells", json_array_size(outside) == 0, "last_host_left_at",
            v->hosts_now ? json_null() : time_or_null(v->last_ms));
    } else {
        radius = json_pack("{s:I,s:[],s:I,s:I,s:I,s:i,s:i,s:O,s:b,s:n}", "cells_count",
                           (json_int_t)0, "cells", "hosts", (json_int_t)0, "requests",
                           (json_int_t)0, "errors", (json_int_t)0, "share_of_fleet_requests", 0,
                           "share_of_run", 0, "cells_outside_first_step", outside,
                           "only_first_step_cells", 1, "last_host_left_at");
    }
    json_decref(outside);
    o = json_pack(
        "{s:I,s:s,s:s,s:I,s:I,s:s,s:o,s:o,s:o,s:o,s:s,s:o,s:I,s:I,s:o,s:o,s:o,s:o,s:o}", "id",
        (json_int_t)r->id, "config", r->config, "kind", r->kind, "from_version",
        (json_int_t)r->from_version, "to_version", (json_int_t)r->to_version, "state", r->state,
        "published_at", time_or_null(r->published_ms), "started_at", time_or_null(r->started_ms),
        "detected_at", time_or_null(r->detected_ms), "ended_at", time_or_null(r->ended_ms),
        "reason", r->reason, "first_step_cells", first, "steps_total", (json_int_t)r->steps_total,
        "steps_started", (json_int_t)r->steps_started, "time_to_detect_s",
        secs_or_null(r->started_ms, r->detected_ms), "time_to_detect_from_publish_s",
        secs_or_null(r->published_ms, r->detected_ms), "time_to_end_of_rollback_s",
        rolled_back_state(r->state) && r->ended_ms ? secs_or_null(r->started_ms, end) : json_null(),
        "rollback_duration_s",
        rolled_back_state(r->state) && r->ended_ms ? secs_or_null(r->detected_ms, end)
                                                   : json_null(),
        "blast_radius", radius);
    return o;
}

json_t *blast_to_json(const struct blast *b, int64_t now_ms)
{
    json_t *vs = json_array(), *rs = json_array();

    for (size_t i = 0; i < b->nv; i++) {
        json_array_append_new(vs, version_json(b, &b->v[i], now_ms));
    }
    for (size_t i = 0; i < b->nr; i++) {
        json_array_append_new(rs, rollout_json(b, &b->r[i], now_ms));
    }
    return json_pack("{s:{s:I,s:I,s:I,s:I},s:o,s:o}", "fleet", "hosts", (json_int_t)b->nhosts,
                     "cells", (json_int_t)b->ncells, "requests", (json_int_t)b->fleet_requests,
                     "errors", (json_int_t)b->fleet_errors, "versions", vs, "rollouts", rs);
}
