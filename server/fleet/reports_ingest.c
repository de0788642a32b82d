/* SPDX-License-Identifier: MIT */
/* reports_ingest.c: parsing and ingesting one agent report into the host
 * table and the health series; see reports.h. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "reports_int.h"
#include "util.h"

/* Parsed, validated health of one report. */
struct parsed_health {
    int present; /* the report had a "health" object */
    uint64_t requests, errors;
    struct cg_hist hist;
    size_t nmetrics;
    struct {
        const char *name;
        double value;
        int gauge;
    } m[CG_HEALTH_MAX_METRICS];
};

/* a + b, or UINT64_MAX when it would wrap. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* The most requests one host can plausibly have served in a report of
 * window_ms (clamped to 1 s .. 10 min): REPORTS_MAX_HOST_RPS a second. */
static uint64_t plausible_requests(int64_t window_ms)
{
    int64_t w = window_ms < 1000 ? 1000 : window_ms > 600000 ? 600000 : window_ms;

    return (uint64_t)REPORTS_MAX_HOST_RPS * (uint64_t)w / 1000u;
}

/* Parses and bounds the health of a report covering window_ms: counts a
 * host cannot have produced in that time are refused (a poisoned report
 * must not outweigh its cell). */
static int parse_health(const json_t *h, int64_t window_ms, struct parsed_health *out, char *msg)
{
    static const char *const fields[] = {"requests", "errors", "latency_ms", "metrics", NULL};
    const char *bad, *k;
    json_t *v, *metrics;
    int b = 0;
    long long req, err;

    memset(out, 0, sizeof *out);
    if (!h)
        return 0;
    out->present = 1;
    if (!json_is_object(h))
        return snprintf(msg, 256, "health must be an object"), -1;
    if ((bad = cg_json_unknown_key(h, fields)))
        return snprintf(msg, 256, "unknown field health.%s", bad), -1;
    req = cg_json_int(h, "requests", 0, &b);
    err = cg_json_int(h, "errors", 0, &b);
    if (b || req < 0 || err < 0 || err > req)
        return snprintf(msg, 256,
                        "health.requests/errors must be integers with 0 <= errors <= "
                        "requests"),
               -1;
    out->requests = (uint64_t)req;
    out->errors = (uint64_t)err;
    if (out->requests > plausible_requests(window_ms))
        return snprintf(msg, 256,
                        "health.requests %lld is implausible for a window of %lld ms (at most "
                        "%d requests/s per host)",
                        req, (long long)window_ms, REPORTS_MAX_HOST_RPS),
               -2;
    v = json_object_get(h, "latency_ms");
    if (v && cg_hist_from_json(v, &out->hist) < 0)
        return snprintf(msg, 256, "health.latency_ms must be {\"buckets\":[<=%d counts]}",
                        CG_HIST_BUCKETS),
               -1;
    {
        uint64_t total = 0;
        for (size_t i = 0; i < CG_HIST_BUCKETS; i++)
            total = sat_add(total, out->hist.b[i]);
        if (total > plausible_requests(window_ms))
            return snprintf(msg, 256,
                            "health.latency_ms counts %llu samples: implausible for a window of "
                            "%lld ms",
                            (unsigned long long)total, (long long)window_ms),
                   -2;
    }
    metrics = json_object_get(h, "metrics");
    if (metrics && !json_is_object(metrics))
        return snprintf(msg, 256, "health.metrics must be an object"), -1;
    if (json_object_size(metrics) > CG_HEALTH_MAX_METRICS)
        return snprintf(msg, 256, "at most %d metrics", CG_HEALTH_MAX_METRICS), -1;
    json_object_foreach(metrics, k, v)
    {
        const char *type = cg_json_str(v, "type", NULL, &b);
        double val = cg_json_num(v, "value", NAN, &b);
        if (strlen(k) == 0 || strlen(k) >= 48)
            return snprintf(msg, 256, "metric names are 1-47 chars"), -1;
        if (!json_is_object(v) || b || !type ||
            (strcmp(type, "counter") && strcmp(type, "gauge")) || !isfinite(val))
            return snprintf(msg, 256,
                            "metric %s must be "
                            "{\"type\":\"counter\"|\"gauge\",\"value\":<finite>}",
                            k),
                   -1;
        out->m[out->nmetrics].name = k;
        out->m[out->nmetrics].value = val;
        out->m[out->nmetrics].gauge = type[0] == 'g';
        out->nmetrics++;
    }
    return 0;
}

/* The share bound (reports.h, REPORTS_SHARE_K): scales ph down when host
 * h claims more traffic than its cell's other hosts make plausible, then
 * folds what was accepted into h's smoothed rate. Lock held. */
static void share_bound(struct reports *r, struct host *h, int64_t window_ms,
                        struct parsed_health *ph)
{
    int64_t wms = window_ms < 1000 ? 1000 : window_ms > 600000 ? 600000 : window_ms;
    double w = (double)wms / 1000.0, typical, cap, f, alpha;
    uint32_t others = 0;
    size_t i;

    if (!ph->present)
        return; /* no traffic claimed: the host's rate stays as it was */
    typical = rp_cell_rate_others(r, h, &others);
    cap = fmax(REPORTS_SHARE_K * typical, REPORTS_SHARE_FLOOR_RPS) * w;
    if (others > 0 && (double)ph->requests > cap) {
        f = cap / (double)ph->requests;
        ph->requests = (uint64_t)cap;
        ph->errors = (uint64_t)floor((double)ph->errors * f);
        if (ph->errors > ph->requests)
            ph->errors = ph->requests;
        for (i = 0; i < CG_HIST_BUCKETS; i++)
            ph->hist.b[i] = (uint64_t)floor((double)ph->hist.b[i] * f);
        for (i = 0; i < ph->nmetrics; i++)
            if (!ph->m[i].gauge)
                ph->m[i].value *= f;
        r->clamped++;
    }
    alpha = w / REPORTS_RATE_TAU_S < 1.0 ? w / REPORTS_RATE_TAU_S : 1.0;
    rp_host_rate_set(r, h,
                     h->rated ? h->rate + alpha * ((double)ph->requests / w - h->rate)
                              : (double)ph->requests / w);
}

/* What one report added to one series' bucket (pushed to the caches). */

static void add_to_series(struct reports *r, struct series *s, const struct parsed_health *ph,
                          int64_t now_ms)
{
    int64_t slot = now_ms / REPORTS_BUCKET_MS;
    struct bucket *bk = &s->ring[slot % REPORTS_BUCKETS];
    struct bucket_delta d;
    size_t i, j, k;

    if (slot > r->max_slot)
        r->max_slot = slot;

    if (bk->start_ms != slot * REPORTS_BUCKET_MS) {
        memset(bk, 0, sizeof *bk);
        bk->start_ms = slot * REPORTS_BUCKET_MS;
    }
    d.requests = ph->requests;
    d.errors = ph->errors;
    d.esq = ph->requests ? (double)ph->errors * (double)ph->errors / (double)ph->requests : 0;
    d.nmetrics = 0;
    bk->requests = sat_add(bk->requests, ph->requests);
    bk->errors = sat_add(bk->errors, ph->errors);
    bk->reports++;
    if (ph->requests && bk->err_reports < UINT32_MAX) {
        bk->err_reports++;
        bk->esq += d.esq;
    }
    for (i = 0; i < CG_HIST_BUCKETS; i++) {
        /* saturating, so the delta the caches add is exactly what moved */
        uint64_t before = bk->hist[i], sum = sat_add(before, ph->hist.b[i]);
        bk->hist[i] = (uint32_t)(sum > UINT32_MAX ? UINT32_MAX : sum);
        d.hist[i] = (uint64_t)bk->hist[i] - before;
    }
    /* Two passes: the application's metrics take the 8 slots of a series
     * before the agent's own agent_* counters (those are in /metrics
     * totals anyway), so a gated metric is never crowded out. */
    for (k = 0; k < 2 * ph->nmetrics; k++) {
        size_t idx;
        i = k % ph->nmetrics;
        if ((k < ph->nmetrics) == (strncmp(ph->m[i].name, "agent_", 6) == 0))
            continue;
        for (idx = 0; idx < s->nnames; idx++)
            if (strcmp(s->names[idx], ph->m[i].name) == 0)
                break;
        if (idx == s->nnames) {
            if (s->nnames == 8)
                continue; /* at most 8 metric names per series */
            cg_strlcpy(s->names[idx], ph->m[i].name, sizeof s->names[0]);
            s->gauge[idx] = (uint8_t)ph->m[i].gauge;
            s->nnames++;
        }
        for (j = 0; j < bk->nmetrics; j++)
            if (bk->m[j].idx == idx)
                break;
        if (j == bk->nmetrics) {
            if (j == 8)
                continue;
            bk->m[j].idx = (uint8_t)idx;
            bk->nmetrics++;
        }
        bk->m[j].sum += ph->m[i].value;
        bk->m[j].n++;
        if (d.nmetrics < 8) {
            d.m[d.nmetrics].idx = (uint8_t)idx;
            d.m[d.nmetrics++].value = ph->m[i].value;
        }
    }
    s->updated_ms = now_ms;
    for (i = 0; i < s->nsubs; i++)
        rp_cells_cache_push(s->subs[i], s, slot, &d);
}

static const char *const outcomes[] = {"applied", "rejected", "reload_failed", "verify_failed",
                                       NULL};

int reports_ingest(struct reports *r, const json_t *rep, const char *cell, int64_t now_ms,
                   struct reports_change *changes, size_t *nchanges, char *msg)
{
    static const char *const fields[] = {"host",    "cell",   "seq",        "window_ms",
                                         "configs", "health", "sent_at_ms", NULL};
    static const char *const cfields[] = {"config",     "version",     "generation",
                                          "outcome",    "lkg_version", "lkg_generation",
                                          "violations", "error",       NULL};
    struct parsed_health ph;
    struct host *h;
    const char *bad, *host, *rcell;
    json_t *configs, *c;
    size_t i, j;
    long long seq, window_ms;
    int b = 0;

    *nchanges = 0;
    if (!json_is_object(rep))
        return snprintf(msg, 256, "report must be a JSON object"), -1;
    if ((bad = cg_json_unknown_key(rep, fields)))
        return snprintf(msg, 256, "unknown field '%s' in report", bad), -1;
    host = cg_json_str(rep, "host", NULL, &b);
    rcell = cg_json_str(rep, "cell", NULL, &b);
    seq = cg_json_int(rep, "seq", 0, &b);
    window_ms = cg_json_int(rep, "window_ms", 0, &b);
    {
        int bs = 0;
        if (cg_json_int(rep, "sent_at_ms", 0, &bs) < 0 || bs)
            return snprintf(msg, 256, "sent_at_ms must be an integer >= 0 (unix ms)"), -1;
    }
    if (b || !host || !cg_valid_name(host))
        return snprintf(msg, 256, "host must be a name (1-63 chars of [a-z0-9._-])"), -1;
    if (!rcell || strcmp(rcell, cell) != 0)
        return snprintf(msg, 256, "report cell must be '%s'", cell), -1;
    configs = json_object_get(rep, "configs");
    if (configs && (!json_is_array(configs) || json_array_size(configs) > REPORTS_MAX_CONFIGS))
        return snprintf(msg, 256, "configs must be an array of at most %d entries",
                        REPORTS_MAX_CONFIGS),
               -1;
    json_array_foreach(configs, i, c)
    {
        const char *name, *outcome;
        long long v, g, lv, lg;
        if (!json_is_object(c))
            return snprintf(msg, 256, "configs[%zu] must be an object", i), -1;
        if ((bad = cg_json_unknown_key(c, cfields)))
            return snprintf(msg, 256, "unknown field configs[%zu].%s", i, bad), -1;
        name = cg_json_str(c, "config", NULL, &b);
        outcome = cg_json_str(c, "outcome", NULL, &b);
        v = cg_json_int(c, "version", -1, &b);
        g = cg_json_int(c, "generation", -1, &b);
        lv = cg_json_int(c, "lkg_version", 0, &b);
        lg = cg_json_int(c, "lkg_generation", 0, &b);
        cg_json_str(c, "error", NULL, &b);
        if (b || !name || !cg_valid_name(name) || v < 0 || g < 0 || lv < 0 || lg < 0)
            return snprintf(msg, 256,
                            "configs[%zu] needs config (name), version, generation "
                            "(integers >= "
                            "0), outcome",
                            i),
                   -1;
        for (j = 0; outcomes[j]; j++)
            if (outcome && strcmp(outcome, outcomes[j]) == 0)
                break;
        if (!outcomes[j])
            return snprintf(msg, 256,
                            "configs[%zu].outcome must be applied, rejected, "
                            "reload_failed or "
                            "verify_failed",
                            i),
                   -1;
        if (json_object_get(c, "violations") && !json_is_array(json_object_get(c, "violations")))
            return snprintf(msg, 256, "configs[%zu].violations must be an array", i), -1;
    }
    {
        int hr = parse_health(json_object_get(rep, "health"), window_ms, &ph, msg);
        if (hr == -2) {
            pthread_mutex_lock(&r->mu);
            r->implausible++;
            pthread_mutex_unlock(&r->mu);
        }
        if (hr < 0)
            return -1;
    }

    pthread_mutex_lock(&r->mu);
    h = rp_host_get(r, host);
    if (!h) {
        pthread_mutex_unlock(&r->mu);
        return snprintf(msg, 256, "out of memory"), -1;
    }
    if (strcmp(h->cell, cell) != 0) {
        for (j = 0; j < h->ncfg; j++)
            free(h->cfg[j].detail);
        h->ncfg = 0;
        memset(&h->health, 0, sizeof h->health); /* its figures were of the other cell */
        rp_history_clear(h);
        rp_host_set_cell(r, h, cell);
    }
    share_bound(r, h, window_ms, &ph);
    if (ph.present) {
        rp_host_health_add(h, window_ms, ph.requests, ph.errors, &ph.hist);
        rp_history_add(r, h, now_ms, ph.requests, ph.errors);
    }
    /* A host some convergence found too old to count is back (or the
     * clock went back): cached convergences must look again. */
    if (h->last_seen_ms <= r->revive_mark || now_ms < h->last_seen_ms)
        r->revive_mod++;
    h->last_seen_ms = now_ms;
    h->seq = seq;
    json_array_foreach(configs, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "config"));
        struct host_cfg *hc = NULL;
        int64_t lkg = cg_json_int(c, "lkg_version", 0, NULL);
        int64_t ver = cg_json_int(c, "version", 0, NULL);
        const char *outcome = json_string_value(json_object_get(c, "outcome"));
        int64_t applied = strcmp(outcome, "applied") == 0 ? ver : lkg;
        int64_t applied_gen = strcmp(outcome, "applied") == 0
                                  ? cg_json_int(c, "generation", 0, NULL)
                                  : cg_json_int(c, "lkg_generation", 0, NULL);
        int64_t gen = cg_json_int(c, "generation", 0, NULL);
        int64_t lkg_gen = cg_json_int(c, "lkg_generation", 0, NULL);
        uint32_t key = rp_name_key(name);
        int changed, entry_new = 0;
        char *dtext = NULL;

        for (j = 0; j < h->ncfg; j++)
            if (h->cfg_key[j] == key && strcmp(h->cfg[j].config, name) == 0)
                hc = &h->cfg[j];
        if (!hc) {
            if (h->ncfg == REPORTS_MAX_CONFIGS)
                continue;
            h->cfg_key[h->ncfg] = key;
            hc = &h->cfg[h->ncfg++];
            memset(hc, 0, sizeof *hc);
            cg_strlcpy(hc->config, name, sizeof hc->config);
            hc->lkg_version = -1;
            entry_new = 1;
        }
        if (json_object_get(c, "error") || json_object_get(c, "violations")) {
            json_t *detail = json_pack("{s:O?,s:O?}", "error", json_object_get(c, "error"),
                                       "violations", json_object_get(c, "violations"));
            if (detail && json_object_size(detail)) {
                json_t *viol = json_object_get(detail, "violations");
                if (json_is_null(viol))
                    json_object_del(detail, "violations");
                if (json_is_null(json_object_get(detail, "error")))
                    json_object_del(detail, "error");
                if (json_object_size(detail))
                    dtext = cg_json_dump(detail);
            }
            json_decref(detail);
        }
        /* a new applied generation of the same version is a change too:
         * the exposure history (store_host_version_put()) says which
         * hosts applied each change, a rollback to the version a host
         * already ran included */
        changed = hc->lkg_version != lkg || hc->version != ver ||
                  (strcmp(hc->outcome, "applied") == 0 ? hc->generation : hc->lkg_generation) !=
                      applied_gen;
        if (entry_new || changed || hc->generation != gen || hc->lkg_generation != lkg_gen ||
            strcmp(hc->outcome, outcome) != 0 || (hc->detail == NULL) != (dtext == NULL) ||
            (dtext && strcmp(hc->detail, dtext) != 0))
            r->cfg_mod[rp_config_slot(name)]++; /* what convergence sees of it changed */
        hc->version = ver;
        hc->generation = gen;
        hc->lkg_version = lkg;
        hc->lkg_generation = lkg_gen;
        cg_strlcpy(hc->outcome, outcome, sizeof hc->outcome);
        free(hc->detail);
        hc->detail = dtext;
        if (changed && *nchanges < REPORTS_MAX_CONFIGS) {
            struct reports_change *ch = &changes[(*nchanges)++];
            cg_strlcpy(ch->host, host, sizeof ch->host);
            cg_strlcpy(ch->cell, cell, sizeof ch->cell);
            cg_strlcpy(ch->config, name, sizeof ch->config);
            ch->applied_version = applied;
            ch->applied_generation = applied_gen;
            ch->lkg_version = lkg;
        }
        /* Health is attributed to the version the host runs now. */
        if (lkg > 0) {
            struct series *s = rp_series_get(r, cell, name, lkg, 1);
            if (s)
                add_to_series(r, s, &ph, now_ms);
        }
    }
    r->totals.requests = sat_add(r->totals.requests, ph.requests);
    r->totals.errors = sat_add(r->totals.errors, ph.errors);
    r->totals.reports++;
    json_array_foreach(configs, i, c)
    {
        const char *oc = json_string_value(json_object_get(c, "outcome"));
        if (oc && strcmp(oc, "applied") != 0)
            r->totals.apply_failures++;
    }
    for (i = 0; i < ph.nmetrics; i++) {
        struct reports_totals *t = &r->totals;
        for (j = 0; j < t->nmetrics; j++)
            if (strcmp(t->metrics[j].name, ph.m[i].name) == 0)
                break;
        if (j == t->nmetrics) {
            if (j == REPORTS_TOTAL_METRICS)
                continue;
            cg_strlcpy(t->metrics[j].name, ph.m[i].name, sizeof t->metrics[j].name);
            t->metrics[j].gauge = ph.m[i].gauge;
            t->nmetrics++;
        }
        t->metrics[j].sum += ph.m[i].value;
        t->metrics[j].n++;
    }
    if (ph.requests || ph.nmetrics || cg_hist_count(&ph.hist)) {
        struct series *any = rp_series_get(r, cell, REPORTS_ANY_CONFIG, 0, 1);
        if (any)
            add_to_series(r, any, &ph, now_ms);
    }
    r->ingested++;
    pthread_mutex_unlock(&r->mu);
    return 0;
}
