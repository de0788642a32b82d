/* SPDX-License-Identifier: MIT */
/* reports_converge.c: convergence (which hosts of the cells run a
 * generation, which reported a failure), with its cache; see reports.h. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "reports_int.h"
#include "util.h"

/* The hosts of one convergence, in the order it met them (each once). */
struct conv_host {
    struct host *h;
    size_t cfg;    /* index of the config's entry in h->cfg (when either flag is set) */
    int converged; /* runs the version at the generation or later */
    int failed;    /* reported a failure for it */
};

struct conv_rec {
    struct conv_host *v;
    size_t n, cap;
    int ok; /* 0: out of memory, the record is incomplete */
};

static void conv_rec_add(struct conv_rec *rec, struct host *h)
{
    if (!rec || !rec->ok)
        return;
    if (rec->n == rec->cap) {
        size_t cap = rec->cap ? 2 * rec->cap : 64;
        struct conv_host *p = realloc(rec->v, cap * sizeof *p);
        if (!p) {
            rec->ok = 0;
            return;
        }
        rec->v = p;
        rec->cap = cap;
    }
    memset(&rec->v[rec->n], 0, sizeof rec->v[rec->n]);
    rec->v[rec->n++].h = h;
}

/* A failed host's entry for the failures list. */
static json_t *failure_json(const struct host *h, const struct host_cfg *hc)
{
    json_t *f =
        json_pack("{s:s,s:s,s:s}", "host", h->name, "cell", h->cell, "outcome", hc->outcome);

    if (f && hc->detail) {
        json_t *d = rp_stored_detail(hc->detail);
        json_object_update(f, d);
        json_decref(d);
    }
    return f;
}

/* What host ch->h counts for when recent, from its one entry for the
 * config (rp_name_key() 'key'). */
static void conv_flags(struct conv_host *ch, uint32_t key, const char *config, int64_t version,
                       int64_t generation)
{
    const struct host *h = ch->h;
    const struct host_cfg *hc = NULL;
    size_t j;

    for (j = 0; j < h->ncfg && !hc; j++)
        if (h->cfg_key[j] == key && strcmp(h->cfg[j].config, config) == 0)
            hc = &h->cfg[j];
    ch->cfg = hc ? (size_t)(hc - h->cfg) : 0;
    ch->converged = hc && hc->lkg_version == version && hc->lkg_generation >= generation;
    ch->failed = !ch->converged && hc && hc->generation >= generation && hc->version == version &&
                 strcmp(hc->outcome, "applied") != 0;
}

/* reports_convergence() under the lock; *seen_lo / *seen_hi get the
 * range of seen_after_ms over which the same hosts count: every counted host
 * was seen at or after *seen_hi, every other one before *seen_lo. 'rec'
 * (NULL: none) gets every host of the cells, counted or not. */
static void convergence_locked(struct reports *r, const char *const *cells, size_t ncells,
                               const char *config, int64_t version, int64_t generation,
                               int64_t seen_after_ms, struct reports_conv *out, json_t *failures,
                               int64_t *seen_lo, int64_t *seen_hi, struct conv_rec *rec)
{
    uint32_t key = rp_name_key(config);
    struct host *h;
    size_t i;
    uint64_t mark;

    memset(out, 0, sizeof *out);
    *seen_lo = INT64_MIN;
    *seen_hi = INT64_MAX;
    mark = ++r->conv_calls;
    /* The hosts of each cell through the by_cell index (not every host);
     * 'mark' counts a host once even if its cell is listed twice. */
    for (i = 0; i < ncells; i++)
        for (h = r->by_cell[rp_cell_hash(cells[i])]; h; h = h->cell_next) {
            struct conv_host one, *ch;
            const struct host_cfg *hc;
            if (h->mark == mark || strcmp(h->cell, cells[i]) != 0)
                continue;
            h->mark = mark;
            conv_rec_add(rec, h);
            ch = rec && rec->ok ? &rec->v[rec->n - 1] : &one;
            ch->h = h;
            conv_flags(ch, key, config, version, generation);
            hc = &h->cfg[ch->cfg];
            if (h->last_seen_ms < seen_after_ms) {
                if (h->last_seen_ms > *seen_lo)
                    *seen_lo = h->last_seen_ms;
                continue;
            }
            if (h->last_seen_ms < *seen_hi)
                *seen_hi = h->last_seen_ms;
            out->hosts++; /* every recent host of these cells counts, reporting the
                             config or not */
            if (ch->converged) {
                out->converged++;
            } else if (ch->failed) {
                out->failed++;
                if (json_is_array(failures) && json_array_size(failures) < 20)
                    json_array_append_new(failures, failure_json(h, hc));
            }
        }
}

/* convergence_locked() over the hosts a previous one recorded, while no
 * host was created, removed or moved: the same hosts in the same order.
 * Who counts may differ, and what each counts for when 'reflag' (some
 * host changed its entry for the config). */
static void convergence_refresh(struct conv_rec *rec, int reflag, const char *config,
                                int64_t version, int64_t generation, int64_t seen_after_ms,
                                struct reports_conv *out, json_t *failures, int64_t *seen_lo,
                                int64_t *seen_hi)
{
    uint32_t key = rp_name_key(config);
    size_t i;

    memset(out, 0, sizeof *out);
    *seen_lo = INT64_MIN;
    *seen_hi = INT64_MAX;
    for (i = 0; i < rec->n; i++) {
        struct conv_host *ch = &rec->v[i];
        int64_t seen = ch->h->last_seen_ms;
        if (i + LOOKAHEAD < rec->n)
            __builtin_prefetch(rec->v[i + LOOKAHEAD].h);
        if (reflag)
            conv_flags(ch, key, config, version, generation);
        if (seen < seen_after_ms) {
            if (seen > *seen_lo)
                *seen_lo = seen;
            continue;
        }
        if (seen < *seen_hi)
            *seen_hi = seen;
        out->hosts++;
        if (ch->converged) {
            out->converged++;
        } else if (ch->failed) {
            out->failed++;
            if (json_is_array(failures) && json_array_size(failures) < 20)
                json_array_append_new(failures, failure_json(ch->h, &ch->h->cfg[ch->cfg]));
        }
    }
}

void reports_convergence(struct reports *r, const char *const *cells, size_t ncells,
                         const char *config, int64_t version, int64_t generation,
                         int64_t seen_after_ms, struct reports_conv *out, json_t *failures)
{
    int64_t lo, hi;

    pthread_mutex_lock(&r->mu);
    convergence_locked(r, cells, ncells, config, version, generation, seen_after_ms, out, failures,
                       &lo, &hi, NULL);
    if (lo > r->revive_mark)
        r->revive_mark = lo;
    pthread_mutex_unlock(&r->mu);
}

/*
 * The cached convergence of one set of cells: the result and the hosts it
 * met, with what each counts for (the hosts stand while r->members_mod is
 * unchanged). The result stands while, in addition, no host changed its
 * entry for the config (the config's r->cfg_mod), seen_after_ms stays in
 * (seen_lo, seen_hi] and no host too old to count reported (revive_mod);
 * otherwise the recorded hosts are looked at again, without searching the
 * cells.
 */
struct reports_conv_cache {
    int valid;    /* out, seen_lo/hi and failures stand for the key below */
    int have_rec; /* rec holds the hosts for the key below */
    char config[64];
    int64_t version, generation;
    uint64_t members_mod, cfg_mod, revive_mod;
    int64_t seen_lo, seen_hi; /* valid for seen_lo < seen_after_ms <= seen_hi */
    struct reports_conv out;
    json_t *failures; /* NULL: the caller passed none */
    struct conv_rec rec;
};

struct reports_conv_cache *reports_conv_cache_new(void)
{
    return calloc(1, sizeof(struct reports_conv_cache));
}

void reports_conv_cache_free(struct reports_conv_cache *cc)
{
    if (!cc)
        return;
    json_decref(cc->failures);
    free(cc->rec.v);
    free(cc);
}

void reports_convergence_cached(struct reports *r, const char *const *cells, size_t ncells,
                                const char *config, int64_t version, int64_t generation,
                                int64_t seen_after_ms, struct reports_conv_cache *cc,
                                struct reports_conv *out, json_t *failures)
{
    size_t i, before = json_array_size(failures);
    uint64_t cfg_mod;
    int same;
    json_t *f;

    if (!cc) {
        reports_convergence(r, cells, ncells, config, version, generation, seen_after_ms, out,
                            failures);
        return;
    }
    pthread_mutex_lock(&r->mu);
    cfg_mod = r->cfg_mod[rp_config_slot(config)];
    same = cc->have_rec && cc->members_mod == r->members_mod && cc->version == version &&
           cc->generation == generation && strcmp(cc->config, config) == 0;
    if (same && cc->cfg_mod == cfg_mod && cc->valid && cc->revive_mod == r->revive_mod &&
        seen_after_ms > cc->seen_lo && seen_after_ms <= cc->seen_hi &&
        (!json_is_array(failures) || (cc->failures && json_array_size(failures) == 0))) {
        pthread_mutex_unlock(&r->mu);
        *out = cc->out;
        if (json_is_array(failures))
            json_array_foreach(cc->failures, i, f)
                json_array_append_new(failures, json_deep_copy(f));
        return;
    }
    if (same) {
        convergence_refresh(&cc->rec, cc->cfg_mod != cfg_mod, config, version, generation,
                            seen_after_ms, out, failures, &cc->seen_lo, &cc->seen_hi);
    } else {
        cc->rec.n = 0;
        cc->rec.ok = 1;
        convergence_locked(r, cells, ncells, config, version, generation, seen_after_ms, out,
                           failures, &cc->seen_lo, &cc->seen_hi, &cc->rec);
        cc->have_rec = cc->rec.ok;
    }
    if (cc->seen_lo > r->revive_mark)
        r->revive_mark = cc->seen_lo;
    cc->members_mod = r->members_mod;
    cc->cfg_mod = cfg_mod;
    cc->revive_mod = r->revive_mod;
    pthread_mutex_unlock(&r->mu);
    cc->out = *out;
    cc->version = version;
    cc->generation = generation;
    cg_strlcpy(cc->config, config, sizeof cc->config);
    json_decref(cc->failures);
    cc->failures = NULL;
    if (json_is_array(failures) && before == 0) {
        cc->failures = json_array();
        json_array_foreach(failures, i, f) json_array_append_new(cc->failures, json_deep_copy(f));
    }
    /* only what went into an empty 'failures' can be replayed */
    cc->valid = !json_is_array(failures) || cc->failures != NULL;
}
