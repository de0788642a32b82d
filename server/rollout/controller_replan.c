/* SPDX-License-Identifier: MIT */
/* controller_replan.c: re-planning an open rollout when the fleet changed;
 * see controller_replan.h. */
#include "controller_replan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "scope.h"
#include "status.h"
#include "store.h"
#include "util.h"

/* ---- the fleet of a tick ---- */

int ctl_fleet_load(struct ctl_fleet *f, struct store *st, const char *config, char *msg)
{
    if (f->loaded != 0 && strcmp(f->config, config) != 0)
        ctl_fleet_free(f); /* another config's fleet: its scope may differ */
    if (f->loaded == 0) {
        cg_strlcpy(f->config, config, sizeof f->config);
        if (fleet_cells_for(st, config, &f->cells, &f->n, NULL, msg) != CG_OK) {
            f->cells = NULL;
            f->n = 0;
            f->loaded = -1;
        } else {
            f->fp = ctl_fleet_fingerprint(f->cells, f->n);
            f->loaded = 1;
        }
    }
    return f->loaded == 1 ? 0 : -1;
}

void ctl_fleet_free(struct ctl_fleet *f)
{
    if (!f)
        return;
    cg_hashmap_clear(&f->ids, NULL, NULL);
    free(f->id_ent);
    store_cells_free(f->cells, f->n);
    memset(f, 0, sizeof *f);
}

/* Not cg_hash_str(): this offset basis is part of the fingerprints stored
 * in rollouts' detail.fleet. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

/* splitmix64's finaliser: spreads FNV's bits so that the sum below does
 * not cancel out for similar ids. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

uint64_t ctl_fleet_fingerprint(const struct store_cell *cells, size_t n)
{
    uint64_t sum = 0;

    for (size_t i = 0; i < n; i++)
        sum += mix64(fnv1a(cells[i].id));
    return sum;
}

json_t *ctl_fleet_json(size_t n, uint64_t fp)
{
    char hex[17];

    snprintf(hex, sizeof hex, "%016" PRIx64, fp);
    return json_pack("{s:I,s:s}", "cells", (json_int_t)n, "fingerprint", hex);
}

int ctl_fleet_from_json(const json_t *v, size_t *n, uint64_t *fp)
{
    const json_t *c = json_object_get(v, "cells");
    const char *hex = json_string_value(json_object_get(v, "fingerprint"));
    uint64_t x = 0;

    if (!json_is_integer(c) || json_integer_value(c) < 0 || !hex || strlen(hex) != 16)
        return -1;
    for (const char *p = hex; *p; p++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else
            return -1;
        x = x << 4 | (uint64_t)d;
    }
    *n = (size_t)json_integer_value(c);
    *fp = x;
    return 0;
}

/* ---- the fleet as planner cells ---- */

void ctl_pfleet_free(struct ctl_pfleet *pf)
{
    if (!pf)
        return;
    for (size_t i = 0; pf->docs && i < pf->n; i++)
        json_decref(pf->docs[i]);
    free(pf->docs);
    free(pf->labels);
    free(pf->pc);
    memset(pf, 0, sizeof *pf);
}

int ctl_pfleet_build(struct ctl_pfleet *pf, const struct store_cell *cells, size_t n)
{
    size_t nl = 0, k = 0;

    memset(pf, 0, sizeof *pf);
    pf->pc = calloc(n ? n : 1, sizeof *pf->pc);
    pf->docs = calloc(n ? n : 1, sizeof *pf->docs);
    if (!pf->pc || !pf->docs) {
        ctl_pfleet_free(pf);
        return -1;
    }
    pf->n = n;
    for (size_t i = 0; i < n; i++) {
        const char *t = cells[i].labels_json;
        pf->docs[i] = t ? json_loads(t, 0, NULL) : NULL;
        if (pf->docs[i] && !json_is_object(pf->docs[i])) {
            json_decref(pf->docs[i]);
            pf->docs[i] = NULL;
        }
        nl += json_object_size(pf->docs[i]);
    }
    pf->labels = calloc(nl ? nl : 1, sizeof *pf->labels);
    if (!pf->labels) {
        ctl_pfleet_free(pf);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *key;
        json_t *v;
        pf->pc[i].id = cells[i].id;
        pf->pc[i].region = cells[i].region;
        pf->pc[i].zone = cells[i].zone;
        pf->pc[i].labels = &pf->labels[k];
        json_object_foreach(pf->docs[i], key, v)
        {
            if (!json_is_string(v))
                continue;
            pf->labels[k].key = key;
            pf->labels[k].value = json_string_value(v);
            pf->pc[i].n_labels++;
            k++;
        }
    }
    return 0;
}

/* ---- comparing the fleet with the steps ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts and removes duplicates; returns the new count. */
static size_t sort_unique(const char **v, size_t n)
{
    size_t k = 0;

    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_str);
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i], v[k]) != 0)
            v[++k] = v[i];
    return k + 1;
}

static const json_t *step_cells_of(const json_t *steps, size_t k)
{
    return json_object_get(json_array_get(steps, k), "cells");
}

/* A host-level step (one-box canaries, controller_hosts.h): only some
 * hosts of its cells got the change, so its cells are not done. */
static int step_host_level(const json_t *steps, size_t k)
{
    const json_t *s = json_array_get(steps, k);

    return json_object_get(s, "hosts") != NULL || json_object_get(s, "host_percent") != NULL;
}

/* The ids of steps [from, to) (borrowed), NULL when out of memory; with
 * 'only' 1 those of cell-level steps, 2 those of host-level steps of wave
 * 'wave', 0 every step's. */
static const char **collect_of(const json_t *steps, size_t from, size_t to, int only, size_t wave,
                               size_t *n)
{
    size_t cap = 0, i;
    const char **out;
    json_t *x;

    *n = 0;
    for (size_t k = from; k < to; k++)
        cap += json_array_size(step_cells_of(steps, k));
    out = malloc((cap ? cap : 1) * sizeof *out);
    if (!out)
        return NULL;
    for (size_t k = from; k < to; k++) {
        if ((only == 1 && step_host_level(steps, k)) ||
            (only == 2 && (!step_host_level(steps, k) ||
                           json_integer_value(json_object_get(json_array_get(steps, k), "wave")) !=
                               (json_int_t)wave)))
            continue;
        json_array_foreach(step_cells_of(steps, k), i, x)
        {
            if (json_string_value(x))
                out[(*n)++] = json_string_value(x);
        }
    }
    return out;
}

static const char **collect(const json_t *steps, size_t from, size_t to, size_t *n)
{
    return collect_of(steps, from, to, 0, 0, n);
}

void ctl_fleet_diff_free(struct ctl_fleet_diff *d)
{
    if (!d)
        return;
    free(d->added);
    free(d->removed);
    memset(d, 0, sizeof *d);
}

/* Builds f->ids (once per fleet). Returns 0, or -1 when out of memory. */
static int fleet_index(struct ctl_fleet *f)
{
    if (f->id_ent)
        return 0;
    f->id_ent = malloc((f->n ? f->n : 1) * sizeof *f->id_ent);
    if (!f->id_ent || cg_hashmap_reserve(&f->ids, f->n) < 0) {
        free(f->id_ent);
        f->id_ent = NULL;
        return -1;
    }
    for (size_t i = 0; i < f->n; i++) /* reserved: cannot fail; an id listed twice is one */
        (void)cg_hashmap_insert(&f->ids, f->cells[i].id, &f->id_ent[i], NULL);
    return 0;
}

int ctl_fleet_diff(struct ctl_fleet *f, const json_t *steps, size_t step, struct ctl_fleet_diff *d)
{
    size_t nsteps = json_array_size(steps), nall = 0, nrest = 0, i;
    struct cg_hashmap planned = CG_HASHMAP_INIT; /* the ids in any step */
    struct cg_hentry *pe = NULL, *e;             /* planned's entries */
    struct cg_hashmap_iter it;
    const char **rest = NULL;
    json_t *x;

    memset(d, 0, sizeof *d);
    if (step > nsteps)
        step = nsteps;
    for (size_t k = 0; k < nsteps; k++)
        nall += json_array_size(step_cells_of(steps, k));
    if (fleet_index(f) == 0) {
        pe = malloc((nall ? nall : 1) * sizeof *pe);
        rest = collect(steps, step, nsteps, &nrest);
        d->added = malloc((f->n ? f->n : 1) * sizeof *d->added);
    }
    if (!pe || !rest || !d->added || cg_hashmap_reserve(&planned, nall) < 0) {
        free(pe);
        free(rest);
        ctl_fleet_diff_free(d);
        return -1;
    }
    for (size_t k = 0; k < nsteps; k++)
        json_array_foreach(step_cells_of(steps, k), i, x)
        {
            /* reserved: cannot fail; an id listed twice is counted once */
            if (json_string_value(x) &&
                cg_hashmap_insert(&planned, json_string_value(x), &pe[d->n_planned], NULL) == 0)
                d->n_planned++;
        }
    cg_hashmap_iter_init(&it, &f->ids);
    while ((e = cg_hashmap_iter_next(&it)) != NULL)
        if (!cg_hashmap_get(&planned, e->key))
            d->added[d->n_added++] = e->key;
    if (d->n_added > 1)
        qsort(d->added, d->n_added, sizeof *d->added, cmp_str);
    for (i = 0; i < nrest; i++)
        if (!cg_hashmap_get(&f->ids, rest[i]))
            rest[d->n_removed++] = rest[i];
    d->n_removed = sort_unique(rest, d->n_removed);
    d->removed = rest;
    cg_hashmap_clear(&planned, NULL, NULL);
    free(pe);
    return 0;
}

/* ---- re-planning ---- */

static size_t wave_of(const json_t *steps, size_t k, size_t n_waves)
{
    json_int_t w = json_integer_value(json_object_get(json_array_get(steps, k), "wave"));

    if (w < 0)
        return 0;
    return (size_t)w >= n_waves ? n_waves - 1 : (size_t)w;
}

void ctl_replan_progress(const json_t *steps, size_t step, size_t n_waves, struct ctl_progress *out)
{
    size_t nsteps = json_array_size(steps), last;

    memset(out, 0, sizeof *out);
    if (n_waves == 0)
        return;
    if (step > nsteps)
        step = nsteps;
    if (step == 0)
        return;
    last = wave_of(steps, step - 1, n_waves);
    if (last + 1 < n_waves && !(step < nsteps && wave_of(steps, step, n_waves) == last)) {
        out->next_wave = last + 1;
        return;
    }
    out->next_wave = last;
    for (size_t k = 0; k < step; k++)
        if (wave_of(steps, k, n_waves) == last) {
            out->taken += json_array_size(step_cells_of(steps, k));
            out->parts++;
        }
}

int64_t ctl_replans(const json_t *detail)
{
    const json_t *v = json_object_get(detail, "replans");

    return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;
}

static int cmp_assignment(const void *a, const void *b)
{
    return strcmp(((const struct store_assignment *)a)->cell,
                  ((const struct store_assignment *)b)->cell);
}

/* The version 'cell' is assigned now (0 if none); 'as' sorted by cell. */
static int64_t assigned(const struct store_assignment *as, size_t n, const char *cell)
{
    struct store_assignment key;
    const struct store_assignment *hit;

    memset(&key, 0, sizeof key);
    if (strlen(cell) >= sizeof key.cell)
        return 0;
    memcpy(key.cell, cell, strlen(cell) + 1);
    hit = n ? bsearch(&key, as, n, sizeof *as, cmp_assignment) : NULL;
    return hit ? hit->version : 0;
}

/* An array of at most CTL_REPLAN_LIST_MAX of ids. */
static json_t *id_list(const char *const *ids, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n && i < CTL_REPLAN_LIST_MAX; i++)
        json_array_append_new(a, json_string(ids[i]));
    return a;
}

/* The new steps: the done ones, then the planner's, renumbered. */
static json_t *merge_steps(const struct ctl_replan_input *in, const json_t *planned,
                           const struct ctl_progress *pr)
{
    json_t *out = json_array(), *o;
    size_t i;

    if (!out)
        return NULL;
    for (i = 0; i < in->step && i < json_array_size(in->steps); i++)
        if (json_array_append(out, json_array_get(in->steps, i)) != 0)
            goto oom;
    json_array_foreach(planned, i, o)
    {
        json_t *s = json_deep_copy(o);
        if (!s)
            goto oom;
        json_object_set_new(s, "step", json_integer((json_int_t)(in->step + i + 1)));
        if (pr->parts > 0 &&
            (size_t)json_integer_value(json_object_get(s, "wave")) == pr->next_wave) {
            /* the wave resumed: it was approved (if it asks) before its
             * first step; its parts go on from the done ones */
            json_object_set_new(s, "part",
                                json_integer(json_integer_value(json_object_get(s, "part")) +
                                             (json_int_t)pr->parts));
            json_object_set_new(s, "parts",
                                json_integer(json_integer_value(json_object_get(s, "parts")) +
                                             (json_int_t)pr->parts));
            json_object_set_new(s, "approval", json_false());
        }
        if (json_array_append_new(out, s) != 0)
            goto oom;
    }
    return out;
oom:
    json_decref(out);
    return NULL;
}

/* Moves approvals of steps not started to the new step that asks for the
 * same wave's approval (or drops them). */
static int move_approvals(json_t *detail, const json_t *old_steps, const json_t *new_steps,
                          size_t step)
{
    json_t *appr = json_object_get(detail, "approved"), *kept, *a;
    size_t i;

    if (!json_is_array(appr))
        return 0;
    kept = json_array();
    if (!kept)
        return -1;
    json_array_foreach(appr, i, a)
    {
        json_int_t s = json_integer_value(json_object_get(a, "step"));
        json_t *copy;
        if (s < (json_int_t)step) {
            json_array_append(kept, a);
            continue;
        }
        {
            json_t *old = json_array_get(old_steps, (size_t)s);
            json_int_t w = json_integer_value(json_object_get(old, "wave"));
            size_t k, to = SIZE_MAX;
            for (k = step; old && k < json_array_size(new_steps); k++) {
                json_t *ns = json_array_get(new_steps, k);
                if (json_integer_value(json_object_get(ns, "wave")) == w &&
                    json_is_true(json_object_get(ns, "approval"))) {
                    to = k;
                    break;
                }
            }
            if (to == SIZE_MAX)
                continue;
            copy = json_deep_copy(a);
            if (!copy) {
                json_decref(kept);
                return -1;
            }
            json_object_set_new(copy, "step", json_integer((json_int_t)to));
            json_array_append_new(kept, copy);
        }
    }
    return json_object_set_new(detail, "approved", kept);
}

static json_t *new_detail(const struct ctl_replan_input *in, const json_t *new_steps)
{
    json_t *d = json_is_object(in->detail) ? json_deep_copy(in->detail) : json_object();
    json_t *prev, *joined;
    struct store_assignment *as = NULL;

    if (!d)
        return NULL;
    prev = json_object_get(d, "prev");
    if (!json_is_object(prev)) {
        prev = json_object();
        json_object_set_new(d, "prev", prev);
    }
    joined = json_object_get(d, "joined");
    if (!json_is_object(joined)) {
        joined = in->diff->n_added ? json_object() : NULL;
        if (joined)
            json_object_set_new(d, "joined", joined);
    }
    if (in->n_as) {
        as = malloc(in->n_as * sizeof *as);
        if (!as) {
            json_decref(d);
            return NULL;
        }
        memcpy(as, in->as, in->n_as * sizeof *as);
        qsort(as, in->n_as, sizeof *as, cmp_assignment);
    }
    for (size_t i = 0; prev && joined && i < in->diff->n_added; i++) {
        const char *cell = in->diff->added[i];
        int64_t v = assigned(as, in->n_as, cell);
        json_object_set_new(prev, cell, json_integer(v));
        json_object_set_new(joined, cell, json_integer(v > 0 ? v : in->from_version));
    }
    free(as);
    /* A cell that left is no baseline any more (it reports nothing) and
     * nothing a rollback could assign. */
    for (size_t i = 0; prev && i < in->diff->n_removed; i++) {
        json_object_del(prev, in->diff->removed[i]);
        if (joined)
            json_object_del(joined, in->diff->removed[i]);
    }
    json_object_set_new(d, "fleet", ctl_fleet_json(in->fleet->n, in->fleet->fp));
    json_object_set_new(d, "replans", json_integer(ctl_replans(in->detail) + 1));
    if (!prev || (in->diff->n_added && !joined) || !json_object_get(d, "fleet") ||
        move_approvals(d, in->steps, new_steps, in->step) < 0) {
        json_decref(d);
        return NULL;
    }
    return d;
}

static json_t *new_event(const struct ctl_replan_input *in, const json_t *pj, size_t steps_after,
                         const struct ctl_progress *pr)
{
    const struct ctl_fleet_diff *d = in->diff;
    size_t before = json_array_size(in->steps);
    size_t left_before = before > in->step ? before - in->step : 0;
    size_t left_after = steps_after > in->step ? steps_after - in->step : 0;
    json_t *notes = json_array(), *n, *ev;
    char note[200];
    size_t i;

    json_array_foreach(json_object_get(pj, "notes"), i, n)
    {
        if (i >= CTL_REPLAN_NOTES_MAX)
            break;
        json_array_append(notes, n);
    }
    snprintf(note, sizeof note,
             "the fleet changed (%zu cell%s added, %zu removed): %zu step%s left, now %zu",
             d->n_added, d->n_added == 1 ? "" : "s", d->n_removed, left_before,
             left_before == 1 ? "" : "s", left_after);
    ev = json_pack(
        "{s:I,s:s,s:o,s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:o}", "step", (json_int_t)in->step,
        "note", note, "added", id_list(d->added, d->n_added), "added_count", (json_int_t)d->n_added,
        "removed", id_list(d->removed, d->n_removed), "removed_count", (json_int_t)d->n_removed,
        "planned_cells", (json_int_t)d->n_planned, "fleet_cells", (json_int_t)in->fleet->n,
        "steps_before", (json_int_t)before, "steps_after", (json_int_t)steps_after, "next_wave",
        (json_int_t)pr->next_wave, "next_wave_name",
        pr->next_wave < in->plan->n_waves ? in->plan->waves[pr->next_wave].name : "", "notes",
        notes);
    return ev;
}

int ctl_replan_build(const struct ctl_replan_input *in, json_t **steps, json_t **detail,
                     json_t **event, char *msg, size_t msglen)
{
    struct planner_progress pp;
    struct planner_result *res = NULL;
    struct ctl_progress pr;
    struct ctl_pfleet pf;
    const char **done = NULL, **wave_done = NULL;
    size_t ndone = 0, nwave_done = 0;
    json_t *pj = NULL;
    int rc;

    *steps = *detail = *event = NULL;
    if (!in->plan || in->plan->n_waves == 0 || !in->fleet || in->fleet->loaded != 1 || !in->diff) {
        snprintf(msg, msglen, "re-plan: no plan or fleet");
        return CG_ERR_INVALID;
    }
    ctl_replan_progress(in->steps, in->step, in->plan->n_waves, &pr);
    {
        size_t upto = in->step < json_array_size(in->steps) ? in->step : json_array_size(in->steps);
        /* host-level steps changed no whole cell: not done (later waves
         * take their cells), but a resumed host-level wave skips them */
        done = collect_of(in->steps, 0, upto, 1, 0, &ndone);
        wave_done = collect_of(in->steps, 0, upto, 2, pr.next_wave, &nwave_done);
    }
    if (!done || !wave_done) {
        free(done);
        free(wave_done);
        return CG_ERR_NOMEM;
    }
    if (ctl_pfleet_build(&pf, in->fleet->cells, in->fleet->n) < 0) {
        free(done);
        free(wave_done);
        return CG_ERR_NOMEM;
    }
    pp.done = done;
    pp.n_done = ndone;
    pp.next_wave = pr.next_wave;
    pp.next_wave_taken = pr.taken;
    pp.wave_done = wave_done;
    pp.n_wave_done = nwave_done;
    rc = planner_build(in->plan, pf.pc, pf.n, in->seed, &pp, &res, msg, msglen);
    if (rc == CG_OK && !(pj = planner_result_to_json(res, in->plan)))
        rc = CG_ERR_NOMEM;
    if (rc == CG_OK) {
        *steps = merge_steps(in, json_object_get(pj, "steps"), &pr);
        *detail = *steps ? new_detail(in, *steps) : NULL;
        *event = *detail ? new_event(in, pj, json_array_size(*steps), &pr) : NULL;
        if (!*event) {
            json_decref(*steps);
            json_decref(*detail);
            *steps = *detail = NULL;
            rc = CG_ERR_NOMEM;
        }
    }
    json_decref(pj);
    planner_result_free(res);
    ctl_pfleet_free(&pf);
    free(done);
    free(wave_done);
    return rc;
}
