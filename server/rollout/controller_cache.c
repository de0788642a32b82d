/* SPDX-License-Identifier: MIT */
/* controller_cache.c: the controller's per-rollout derived data; see
 * controller_cache.h. */
#include "controller_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller_source.h"
#include "controller_hosts.h"
#include "json.h"
#include "reports.h"
#include "util.h"

json_t *ctl_detail_get(struct ctl_detail *d, int64_t seq, const char *text)
{
    json_t *v = NULL;
    char *copy;

    if (!text)
        return NULL;
    if (d->text && (d->seq == seq || strcmp(d->text, text) == 0)) {
        d->seq = seq;
        return d->doc;
    }
    copy = strdup(text);
    if (cg_json_parse(text, strlen(text), 0, 0, &v, NULL, 0) != CG_JSON_OK)
        v = NULL;
    json_decref(d->doc);
    free(d->text);
    d->doc = v;
    d->text = copy; /* NULL when out of memory: parsed again next time */
    d->seq = seq;
    d->gen++;
    return d->doc;
}

void ctl_detail_wrote(struct ctl_detail *d, const char *text)
{
    free(d->text);
    d->text = text ? strdup(text) : NULL;
    d->seq = -1;
    if (!d->text) {
        /* nothing to compare the next read with: parse it again */
        json_decref(d->doc);
        d->doc = NULL;
        d->gen++;
    }
}

void ctl_detail_free(struct ctl_detail *d)
{
    json_decref(d->doc);
    free(d->text);
    memset(d, 0, sizeof *d);
}

static void cellset_free(struct ctl_cellset *cs)
{
    free(cs->cells);
    free(cs->versions);
    reports_cells_cache_free(cs->cache);
    memset(cs, 0, sizeof *cs);
}

static int cellset_alloc(struct ctl_cellset *cs, size_t cap)
{
    cs->cells = calloc(cap ? cap : 1, sizeof *cs->cells);
    cs->versions = calloc(cap ? cap : 1, sizeof *cs->versions);
    cs->cache = reports_cells_cache_new();
    cs->n = 0;
    return cs->cells && cs->versions && cs->cache ? 0 : -1;
}

void ctl_sets_free(struct ctl_sets *s)
{
    cellset_free(&s->wave);
    cellset_free(&s->base);
    cellset_free(&s->before);
    reports_conv_cache_free(s->conv);
    memset(s, 0, sizeof *s);
}

static int64_t prev_version(const json_t *prev, const char *cell, int64_t dflt)
{
    json_t *v = json_object_get(prev, cell);

    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

/* An open-addressing set of borrowed strings. */
/* Not cg_hashmap: ctl_sets_get() of 1,000 cells measured 591k vs 516k instr with it (+7-22%). */
struct strset {
    const char **slot;
    size_t mask;
};

static int strset_init(struct strset *ss, size_t n)
{
    size_t cap = 16;

    while (cap < 2 * n)
        cap *= 2;
    ss->slot = calloc(cap, sizeof *ss->slot);
    ss->mask = cap - 1;
    return ss->slot ? 0 : -1;
}

static void strset_add(struct strset *ss, const char *s)
{
    size_t i = (size_t)hash_str(s) & ss->mask;

    while (ss->slot[i]) {
        if (strcmp(ss->slot[i], s) == 0)
            return;
        i = (i + 1) & ss->mask;
    }
    ss->slot[i] = s;
}

static int strset_has(const struct strset *ss, const char *s)
{
    size_t i = (size_t)hash_str(s) & ss->mask;

    while (ss->slot[i]) {
        if (strcmp(ss->slot[i], s) == 0)
            return 1;
        i = (i + 1) & ss->mask;
    }
    return 0;
}

static size_t step_ncells(const json_t *steps, size_t k)
{
    return json_array_size(json_object_get(json_array_get(steps, k), "cells"));
}

int ctl_sets_get(struct ctl_sets *s, const json_t *steps, int64_t step, const json_t *detail,
                 uint64_t detail_gen, int64_t to_version, int64_t from_version)
{
    const json_t *prev = json_object_get(detail, "prev"), *x;
    struct strset done = {NULL, 0};
    size_t i, k, nall = 0;
    const char *key;
    json_t *v;

    if (s->built && s->step == step && s->detail_gen == detail_gen)
        return 0;
    ctl_sets_free(s);
    for (k = 0; k <= (size_t)step && k < json_array_size(steps); k++)
        nall += step_ncells(steps, k);
    if (cellset_alloc(&s->wave, step_ncells(steps, (size_t)step)) < 0 ||
        cellset_alloc(&s->before, step_ncells(steps, (size_t)step)) < 0 ||
        cellset_alloc(&s->base, json_object_size(prev)) < 0 ||
        !(s->conv = reports_conv_cache_new()) || strset_init(&done, nall) < 0)
        goto oom;
    /* The step's cells (in order; a cell listed twice counts twice). */
    json_array_foreach(json_object_get(json_array_get(steps, (size_t)step), "cells"), i, x)
    {
        const char *cell = json_string_value(x);
        s->wave.cells[s->wave.n] = cell;
        s->wave.versions[s->wave.n++] = to_version;
        s->before.cells[s->before.n] = cell;
        s->before.versions[s->before.n++] = prev_version(prev, cell, from_version);
    }
    /* Baseline: every cell no step up to this one has changed (an earlier
     * host-level step changed no whole cell: its cells still count). */
    for (k = 0; k <= (size_t)step && k < json_array_size(steps); k++)
        if (k == (size_t)step || !ctl_step_host_level(json_array_get(steps, k)))
            json_array_foreach(json_object_get(json_array_get(steps, k), "cells"), i, x)
            {
                if (json_string_value(x))
                    strset_add(&done, json_string_value(x));
            }
    json_object_foreach((json_t *)prev, key, v)
    {
        if (strset_has(&done, key))
            continue;
        s->base.cells[s->base.n] = key;
        s->base.versions[s->base.n++] = json_is_integer(v) ? json_integer_value(v) : from_version;
    }
    free(done.slot);
    s->built = 1;
    s->step = step;
    s->detail_gen = detail_gen;
    return 0;
oom:
    free(done.slot);
    ctl_sets_free(s);
    return -1;
}

/* Equal quantile inputs (NaN equals NaN: compared as bits). */
static int quantiles_same(const struct gates_quantiles *a, const struct gates_quantiles *b)
{
    return a->set == b->set && memcmp(&a->p50_ms, &b->p50_ms, sizeof a->p50_ms) == 0 &&
           memcmp(&a->p99_ms, &b->p99_ms, sizeof a->p99_ms) == 0;
}

/* True if 'x' is what e's result was computed from. The aggregates are
 * compared byte for byte (they are zeroed before summing): equal bytes
 * give gates_evaluate() equal inputs. */
static int eval_same(const struct ctl_eval *e, const struct ctl_eval_input *x)
{
    const struct gates_input *in = x->in;

    return e->valid && e->step == x->step && e->gates == x->gates &&
           e->wave_cells == x->wave_cells && e->baseline_cells == x->baseline_cells &&
           e->bake_s == x->bake_s && e->in.baseline_kind == in->baseline_kind &&
           e->in.min_requests == in->min_requests && e->in.hosts_expected == in->hosts_expected &&
           e->in.hosts_converged == in->hosts_converged &&
           e->in.apply_failures == in->apply_failures &&
           memcmp(&e->wave, in->wave, sizeof e->wave) == 0 &&
           memcmp(&e->baseline, in->baseline, sizeof e->baseline) == 0 &&
           !e->in.wave_before == !in->wave_before &&
           !e->in.baseline_before == !in->baseline_before &&
           (!in->wave_before ||
            memcmp(&e->wave_before, in->wave_before, sizeof e->wave_before) == 0) &&
           (!in->baseline_before ||
            memcmp(&e->baseline_before, in->baseline_before, sizeof e->baseline_before) == 0) &&
           json_equal(e->failures, (json_t *)x->failures) &&
           quantiles_same(&e->in.wave_q, &in->wave_q) &&
           quantiles_same(&e->in.baseline_q, &in->baseline_q) &&
           strcmp(e->source_problem, x->source_problem ? x->source_problem : "") == 0 &&
           strcmp(e->health_source, x->health_source ? x->health_source : "") == 0;
}

/* The evaluation document of 'res' with placeholder time fields, in the
 * order the fields have always had. */
static json_t *eval_doc(const struct gates_result *res, const struct ctl_eval *e)
{
    json_t *doc = gates_result_to_json(res);

    if (!doc)
        return NULL;
    json_object_set_new(doc, "step", json_integer(e->step));
    json_object_set_new(doc, "window_ms", json_integer(0));
    json_object_set_new(doc, "bake_s", json_integer(e->bake_s));
    json_object_set_new(doc, "baked", json_false());
    json_object_set_new(doc, "hosts", json_integer((json_int_t)e->in.hosts_expected));
    json_object_set_new(doc, "converged", json_integer((json_int_t)e->in.hosts_converged));
    json_object_set_new(doc, "wave_cells", json_integer((json_int_t)e->wave_cells));
    json_object_set_new(doc, "baseline_cells", json_integer((json_int_t)e->baseline_cells));
    if (json_array_size(e->failures))
        json_object_set(doc, "apply_failures", e->failures);
    if (e->cells && e->cells_gen == e->gen) {
        json_object_set(doc, "cells", e->cells);
        json_object_set_new(doc, "outliers", e->outliers ? json_incref(e->outliers) : json_array());
    }
    if (e->health_source[0])
        json_object_set_new(doc, "health_source", json_string(e->health_source));
    json_object_set_new(doc, "evaluated_at", json_string(""));
    return doc;
}

/* Keeps x's inputs as what e's result stands for. */
static void eval_keep(struct ctl_eval *e, const struct ctl_eval_input *x)
{
    e->step = x->step;
    e->gates = x->gates;
    e->wave = *x->in->wave;
    e->baseline = *x->in->baseline;
    e->in = *x->in;
    e->in.wave = &e->wave;
    e->in.baseline = &e->baseline;
    if (x->in->wave_before) {
        e->wave_before = *x->in->wave_before;
        e->in.wave_before = &e->wave_before;
    }
    if (x->in->baseline_before) {
        e->baseline_before = *x->in->baseline_before;
        e->in.baseline_before = &e->baseline_before;
    }
    e->wave_cells = x->wave_cells;
    e->baseline_cells = x->baseline_cells;
    e->bake_s = x->bake_s;
    snprintf(e->config, sizeof e->config, "%s", x->config ? x->config : "");
    cg_strlcpy(e->source_problem, x->source_problem ? x->source_problem : "",
               sizeof e->source_problem);
    cg_strlcpy(e->health_source, x->health_source ? x->health_source : "", sizeof e->health_source);
}

void ctl_eval_update(struct ctl_eval *e, const struct ctl_eval_input *x, int64_t now_ms,
                     int64_t window_ms)
{
    e->now_ms = now_ms;
    e->window_ms = window_ms;
    if (eval_same(e, x))
        return;
    e->valid = 0;
    e->gen++;
    json_decref(e->doc);
    e->doc = NULL;
    json_decref(e->failures);
    e->failures = json_deep_copy(x->failures);
    eval_keep(e, x);
    if (!e->res)
        e->res = malloc(sizeof *e->res);
    if (e->res) {
        gates_evaluate(x->gates, x->in, e->res);
        ctl_source_note(e->res, e->source_problem);
        e->verdict = e->res->verdict;
        memcpy(e->summary, e->res->summary, sizeof e->summary);
    } else {
        /* Out of memory for the result: evaluate on the stack and build
         * the document at once. */
        struct gates_result res;
        gates_evaluate(x->gates, x->in, &res);
        ctl_source_note(&res, e->source_problem);
        e->verdict = res.verdict;
        memcpy(e->summary, res.summary, sizeof e->summary);
        e->doc = e->failures ? eval_doc(&res, e) : NULL;
        e->doc_gen = e->gen;
    }
    e->valid = e->failures != NULL && e->res != NULL; /* else evaluated again next time */
}

json_t *ctl_eval_json(struct ctl_eval *e)
{
    char at[32];
    json_t *v;

    if (!e->doc || e->doc_gen != e->gen) {
        json_decref(e->doc);
        e->doc = e->res && e->failures ? eval_doc(e->res, e) : NULL;
        e->doc_gen = e->gen;
    }
    if (!e->doc)
        return NULL;
    if (e->shown && e->shown_gen == e->gen && e->shown_ms == e->now_ms &&
        e->shown_window_ms == e->window_ms)
        return e->shown;
    json_decref(e->shown);
    e->shown = v = json_copy(e->doc); /* shallow: the parts that do not change are shared */
    if (!v)
        return NULL;
    cg_time_format(e->now_ms, at);
    json_object_set_new(v, "window_ms", json_integer(e->window_ms));
    json_object_set_new(v, "baked", json_boolean(e->window_ms >= e->bake_s * 1000));
    json_object_set_new(v, "evaluated_at", json_string(at));
    e->shown_gen = e->gen;
    e->shown_ms = e->now_ms;
    e->shown_window_ms = e->window_ms;
    return v;
}

void ctl_eval_set_cells(struct ctl_eval *e, json_t *cells, json_t *outliers)
{
    json_decref(e->cells);
    json_decref(e->outliers);
    e->cells = cells;
    e->outliers = outliers;
    e->cells_gen = e->gen;
    /* the document of this result is built again with them */
    json_decref(e->doc);
    e->doc = NULL;
    json_decref(e->shown);
    e->shown = NULL;
}

int ctl_eval_needs_cells(const struct ctl_eval *e)
{
    return e->valid && (!e->cells || e->cells_gen != e->gen);
}

void ctl_eval_free(struct ctl_eval *e)
{
    json_decref(e->cells);
    json_decref(e->outliers);
    free(e->res);
    json_decref(e->doc);
    json_decref(e->failures);
    json_decref(e->shown);
    memset(e, 0, sizeof *e);
}
