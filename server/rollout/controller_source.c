/* SPDX-License-Identifier: MIT */
/*
 * controller_source.c: a baking step's health from a central Prometheus;
 * see controller_source.h. The glue between the tick (controller.c), the
 * pure query parts (promsrc.c) and the query thread (promsrc_worker.c).
 */
#include "controller_source.h"

#include "controller_hosts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "controller_int.h"
#include "plan.h"
#include "promsrc.h"
#include "promsrc_worker.h"
#include "util.h"

/* One side of the comparison, as the source sees it. */
struct src_side {
    const char *name; /* "wave" or "baseline" */
    const struct ctl_cellset *cs;
    int64_t time_ms;          /* evaluation instant */
    int64_t window_ms;        /* $window */
    const char *const *hosts; /* $hosts; NULL: whole cells (".+") */
    size_t n_hosts;
};

/* Collects the problems of one evaluation. */
struct problems {
    char first[GATES_REASON_MAX];
    size_t n;
};

static void problem(struct problems *p, const char *query, const char *side, const char *why)
{
    if (p->n++ == 0) {
        snprintf(p->first, sizeof p->first, "query \"%s\" (%s): %s", query, side, why);
    }
}

/*
 * The latest usable answer of one query for one side: 1 and *value, or 0
 * (a problem was recorded). Queues the query when it is due.
 */
static int answer(struct controller *c, const struct store_rollout *r, const struct promsrc *src,
                  const struct src_side *s, const char *qname, struct problems *pr, double *value)
{
    const struct promsrc_query *q = promsrc_query_find(src, qname);
    char key[PROMSRC_KEY_MAX], msg[PROMSRC_MSG_MAX];
    struct promsrc_result res;
    int64_t mono = cg_mono_ms();

    if (!q) {
        problem(pr, qname, s->name, "the source has no such query");
        return 0;
    }
    snprintf(key, sizeof key, "%lld/%lld/%lld/%s/%s", (long long)r->id, (long long)r->step,
             (long long)r->step_started_ms, s->name, qname);
    promsrc_worker_get(c->prom, key, mono, &res);
    if (res.due) {
        struct cg_buf text = {0};
        struct promsrc_vars v = {s->cs->cells, s->cs->n,   s->cs->versions, s->cs->n,
                                 s->hosts,     s->n_hosts, s->window_ms};
        if (promsrc_expand(q->text, &v, &text, msg) != 0) {
            cg_buf_free(&text);
            problem(pr, qname, s->name, msg);
            return 0;
        }
        {
            struct promsrc_ask ask = {key, src->url, text.data, s->time_ms, src->timeout_s};
            if (promsrc_worker_submit(c->prom, &ask, mono) != 0 && res.state == PROMSRC_PENDING) {
                cg_buf_free(&text);
                problem(pr, qname, s->name, "cannot queue the query (too many queries cached)");
                return 0;
            }
        }
        cg_buf_free(&text);
    }
    switch (res.state) {
    case PROMSRC_PENDING:
        problem(pr, qname, s->name, "waiting for its first answer");
        return 0;
    case PROMSRC_FAILED:
        problem(pr, qname, s->name, res.error);
        return 0;
    case PROMSRC_OK:
        break;
    }
    if (res.age_ms > CTL_SOURCE_STALE_MS + 2 * src->timeout_s * 1000) {
        snprintf(msg, sizeof msg, "the latest answer is %llds old", (long long)(res.age_ms / 1000));
        problem(pr, qname, s->name, msg);
        return 0;
    }
    *value = res.value;
    return 1;
}

/* A count from an answer: rounded, never negative. */
static int count_of(double v, const char *qname, const char *side, struct problems *pr,
                    uint64_t *out)
{
    char msg[96];

    if (!(v >= 0) || v > 1e18) {
        snprintf(msg, sizeof msg, "%.4g is not a count", v);
        problem(pr, qname, side, msg);
        return 0;
    }
    *out = (uint64_t)llround(v);
    return 1;
}

/* What the gates g read on a side; 'base' asks for the baseline's needs
 * (only what a ratio compares). */
static bool wants(const struct plan_threshold *t, bool base)
{
    return t->is_set && (!base || t->has_max_ratio);
}

static bool uses_baseline(const struct plan_gates *g)
{
    bool any = wants(&g->error_rate, true) || wants(&g->latency_p50_ms, true) ||
               wants(&g->latency_p99_ms, true);

    for (size_t i = 0; i < g->n_metrics; i++) {
        any = any || g->metrics[i].thr.has_max_ratio;
    }
    return any;
}

/* Fills one side's aggregate and quantiles. */
static void fill_side(struct controller *c, const struct store_rollout *r,
                      const struct promsrc *src, const struct plan_gates *g,
                      const struct src_side *s, bool base, struct problems *pr,
                      struct health_agg *agg, struct gates_quantiles *qs)
{
    double req = 0, err = 0, v;
    int have_req, have_err = 1;

    memset(agg, 0, sizeof *agg);
    qs->set = true;
    qs->p50_ms = NAN;
    qs->p99_ms = NAN;
    have_req = answer(c, r, src, s, PROMSRC_Q_REQUESTS, pr, &req);
    if (wants(&g->error_rate, base)) {
        have_err = answer(c, r, src, s, PROMSRC_Q_ERRORS, pr, &err);
    }
    if (have_req && have_err && count_of(req, PROMSRC_Q_REQUESTS, s->name, pr, &agg->requests) &&
        count_of(err, PROMSRC_Q_ERRORS, s->name, pr, &agg->errors)) {
        if (agg->errors > agg->requests) {
            agg->errors = agg->requests; /* separately extrapolated increase()s */
        }
    } else {
        agg->requests = 0; /* half a pair is no data */
        agg->errors = 0;
    }
    if (wants(&g->latency_p50_ms, base) && answer(c, r, src, s, PROMSRC_Q_P50, pr, &v)) {
        qs->p50_ms = v;
    }
    if (wants(&g->latency_p99_ms, base) && answer(c, r, src, s, PROMSRC_Q_P99, pr, &v)) {
        qs->p99_ms = v;
    }
    for (size_t i = 0; i < g->n_metrics; i++) {
        const char *name = g->metrics[i].name;
        if (!wants(&g->metrics[i].thr, base) || agg->nmetrics >= CG_HEALTH_MAX_METRICS ||
            strlen(name) >= sizeof agg->metrics[0].name || !answer(c, r, src, s, name, pr, &v)) {
            continue;
        }
        cg_strlcpy(agg->metrics[agg->nmetrics].name, name, sizeof agg->metrics[0].name);
        agg->metrics[agg->nmetrics].gauge = 1;
        agg->metrics[agg->nmetrics].n = 1;
        agg->metrics[agg->nmetrics].sum = v;
        agg->nmetrics++;
    }
}

void ctl_source_health(struct controller *c, const struct store_rollout *r, struct rcache *rc,
                       int64_t now, struct gates_input *in, struct health_agg *wave,
                       struct health_agg *base, char *why, size_t whylen)
{
    const struct promsrc *src = rc->plan->source;
    const json_t *step = json_array_get(rc->steps, (size_t)r->step);
    size_t wi = (size_t)json_integer_value(json_object_get(step, "wave"));
    const struct plan_gates *g =
        wi < rc->plan->n_waves ? &rc->plan->waves[wi].gates : &rc->plan->gates;
    int64_t start = r->step_started_ms, elapsed = now - start > 0 ? now - start : 0;
    struct problems pr = {"", 0};
    struct src_side ws = {"wave", &rc->sets.wave, now, elapsed, NULL, 0}, bs;
    const char **hosts = NULL;
    size_t nh = 0;

    memset(wave, 0, sizeof *wave);
    memset(base, 0, sizeof *base);
    if (!c->prom) {
        c->prom = promsrc_worker_new();
    }
    if (!c->prom) {
        in->baseline_kind = rc->sets.base.n > 0 ? GATES_BASELINE_OLD : GATES_BASELINE_BEFORE;
        in->wave_q.set = in->baseline_q.set = true;
        in->wave_q.p50_ms = in->wave_q.p99_ms = NAN;
        in->baseline_q.p50_ms = in->baseline_q.p99_ms = NAN;
        snprintf(why, whylen, "cannot create the Prometheus query worker (out of memory)");
        return;
    }
    if (ctl_step_host_level(step)) {
        /* A one-box step: the wave is its chosen hosts ($hosts, on the new
         * version); the baseline the rest of the same cells, which still
         * run their previous version ($version tells them apart). */
        char key[32];
        const json_t *by_cell, *list, *x;
        const char *cell;
        size_t cap = 0, i;
        snprintf(key, sizeof key, "%lld", (long long)r->step);
        by_cell = json_object_get(json_object_get(rc->detail.doc, "hosts"), key);
        json_object_foreach((json_t *)by_cell, cell, list) cap += json_array_size(list);
        hosts = calloc(cap ? cap : 1, sizeof *hosts);
        json_object_foreach((json_t *)by_cell, cell, list)
        {
            json_array_foreach(list, i, x)
            {
                if (hosts && json_string_value(x))
                    hosts[nh++] = json_string_value(x);
            }
        }
        ws.hosts = hosts;
        ws.n_hosts = nh;
    }
    fill_side(c, r, src, g, &ws, false, &pr, wave, &in->wave_q);
    if (ws.hosts) {
        in->baseline_kind = GATES_BASELINE_CELL_REST;
        bs = (struct src_side){"baseline", &rc->sets.before, now, elapsed, NULL, 0};
    } else if (rc->sets.base.n > 0) {
        in->baseline_kind = GATES_BASELINE_OLD;
        bs = (struct src_side){"baseline", &rc->sets.base, now, elapsed, NULL, 0};
    } else {
        /* Last wave: the same cells before the change, over a window as
         * long as the bake so far, ending when the step started. */
        in->baseline_kind = GATES_BASELINE_BEFORE;
        bs = (struct src_side){"baseline", &rc->sets.before, start, elapsed, NULL, 0};
    }
    if (uses_baseline(g) && bs.cs->n > 0) {
        fill_side(c, r, src, g, &bs, true, &pr, base, &in->baseline_q);
    } else {
        in->baseline_q.set = true;
        in->baseline_q.p50_ms = NAN;
        in->baseline_q.p99_ms = NAN;
    }
    free(hosts);
    if (pr.n == 0) {
        why[0] = '\0';
    } else if (pr.n == 1) {
        snprintf(why, whylen, "%s", pr.first);
    } else {
        snprintf(why, whylen, "%s (+%zu more)", pr.first, pr.n - 1);
    }
}

void ctl_source_note(struct gates_result *res, const char *why)
{
    struct gates_record *rec;

    if (!why || !why[0]) {
        return;
    }
    if (res->n_records < GATES_MAX_RECORDS) {
        rec = &res->records[res->n_records++];
    } else {
        rec = &res->records[GATES_MAX_RECORDS - 1]; /* never dropped: it explains the verdict */
    }
    memset(rec, 0, sizeof *rec);
    cg_strlcpy(rec->gate, "source", sizeof rec->gate);
    cg_strlcpy(rec->metric, "Prometheus queries of the plan's source", sizeof rec->metric);
    rec->wave_value = NAN;
    rec->baseline_value = NAN;
    rec->threshold = NAN;
    rec->verdict = GATES_INCONCLUSIVE;
    cg_strlcpy(rec->reason, why, sizeof rec->reason);
    if (res->verdict == GATES_FAIL) {
        return;
    }
    res->verdict = GATES_INCONCLUSIVE;
    snprintf(res->summary, sizeof res->summary, "inconclusive: source: %s", why);
}
