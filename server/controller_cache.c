/* controller_cache.c: the controller's per-rollout derived data; see
 * controller_cache.h. */
#include "controller_cache.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "reports.h"

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
    /* Baseline: every cell no step up to this one has changed. */
    for (k = 0; k <= (size_t)step && k < json_array_size(steps); k++)
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
