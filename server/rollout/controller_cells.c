/* SPDX-License-Identifier: MIT */
/* controller_cells.c: the own past of a step and the per-cell figures of
 * its evaluation; see controller_cells.h. */
#include "controller_cells.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "reports.h"
#include "stattest.h"

void ctl_own_past(struct reports *rp, const char *config, struct ctl_sets *s, int64_t start_ms,
                  int64_t bake_s)
{
    int64_t len = bake_s < CTL_PAST_MIN_S   ? CTL_PAST_MIN_S
                  : bake_s > CTL_PAST_MAX_S ? CTL_PAST_MAX_S
                                            : bake_s;

    if (s->past_done && s->past_to_ms == start_ms)
        return;
    s->past_from_ms = start_ms - len * 1000;
    s->past_to_ms = start_ms;
    memset(&s->past_wave, 0, sizeof s->past_wave);
    memset(&s->past_base, 0, sizeof s->past_base);
    /* No cache: the window is summed once. */
    reports_aggregate_cells(rp, s->before.cells, s->before.versions, s->before.n, config,
                            s->past_from_ms, s->past_to_ms, NULL, &s->past_wave);
    if (s->base.n > 0)
        reports_aggregate_cells(rp, s->base.cells, s->base.versions, s->base.n, config,
                                s->past_from_ms, s->past_to_ms, NULL, &s->past_base);
    s->past_done = 1;
}

/* One cell's figures. */
struct fig {
    const char *cell;
    struct health_agg now, before;
    double rate, before_rate;
    struct reports_outlier fleet; /* the fleet view's verdict over the hour */
};

static double rate_of(const struct health_agg *h)
{
    return h->requests > 0 ? (double)h->errors / (double)h->requests : NAN;
}

static double p99_of(const struct health_agg *h)
{
    return cg_hist_count(&h->hist) >= 1000 ? cg_hist_quantile(&h->hist, 0.99) : NAN;
}

static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static int by_rate_desc(const void *a, const void *b)
{
    const struct fig *x = a, *y = b;
    int nx = !isfinite(x->rate), ny = !isfinite(y->rate);

    if (nx != ny)
        return nx - ny;
    if (!nx && x->rate != y->rate)
        return x->rate < y->rate ? 1 : -1;
    return strcmp(x->cell, y->cell);
}

/* Observations of a histogram from bucket 'first' on. */
static uint64_t tail_from(const struct cg_hist *h, size_t first)
{
    uint64_t n = 0;

    for (size_t i = first; i < CG_HIST_BUCKETS; i++)
        n += h->b[i];
    return n;
}

/* The bucket holding the 0.99-quantile. */
static size_t p99_bucket(const struct cg_hist *h)
{
    uint64_t total = cg_hist_count(h), seen = 0;
    size_t i;

    for (i = 0; i < CG_HIST_BUCKETS; i++) {
        if (h->b[i] && (double)(seen + h->b[i]) >= 0.99 * (double)total)
            return i;
        seen += h->b[i];
    }
    return CG_HIST_BUCKETS - 1;
}

static json_t *outlier(const char *cell, const char *metric, double v, double ref, double p,
                       const char *unit, double scale)
{
    char why[200];

    snprintf(why, sizeof why,
             "%s was already %.4g%s before the change, %.3g x the baseline's %.4g%s (p=%.2g)",
             metric, v * scale, unit, v / ref, ref * scale, unit, p);
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:s}", "cell", cell, "kind", "before_change",
                     "metric", metric, "before_value", num(v), "baseline_before_value", num(ref),
                     "ratio", num(v / ref), "p", num(p), "reason", why);
}

/* Is the cell far from the baseline before the change? Appends to 'outs'
 * and returns 1 if so. */
static int check_outlier(const struct fig *f, const struct health_agg *base, json_t *outs)
{
    int found = 0;
    double rb = rate_of(base);

    if (isfinite(f->before_rate) && isfinite(rb) && rb > 0 &&
        f->before_rate >= CTL_OUTLIER_RATIO * rb) {
        double p = stattest_hypergeom_upper(f->before.errors, f->before.requests,
                                            f->before.errors + base->errors,
                                            f->before.requests + base->requests);
        if (p < CTL_OUTLIER_P) {
            json_array_append_new(
                outs, outlier(f->cell, "error_rate", f->before_rate, rb, p, "%", 100.0));
            found = 1;
        }
    }
    {
        double cb = p99_of(&f->before), bb = p99_of(base);
        if (isfinite(cb) && isfinite(bb) && bb > 0 && cb >= CTL_OUTLIER_RATIO * bb) {
            size_t e = p99_bucket(&base->hist);
            double p = stattest_hypergeom_upper(
                tail_from(&f->before.hist, e), cg_hist_count(&f->before.hist),
                tail_from(&f->before.hist, e) + tail_from(&base->hist, e),
                cg_hist_count(&f->before.hist) + cg_hist_count(&base->hist));
            if (p < CTL_OUTLIER_P) {
                json_array_append_new(outs,
                                      outlier(f->cell, "latency_p99_ms", cb, bb, p, " ms", 1.0));
                found = 1;
            }
        }
    }
    return found;
}

void ctl_cell_figures(struct reports *rp, struct ctl_eval *e, const struct ctl_sets *s)
{
    int64_t now = e->now_ms, start = e->now_ms - e->window_ms;
    size_t n = s->wave.n, i, shown;
    json_t *cells, *outs;
    struct fig *f;

    if (!ctl_eval_needs_cells(e) || !s->built || s->step != e->step)
        return;
    f = calloc(n ? n : 1, sizeof *f);
    cells = json_array();
    outs = json_array();
    if (!f || !cells || !outs) {
        free(f);
        json_decref(cells);
        json_decref(outs);
        return;
    }
    {
        /* The fleet view's persistent outliers (reports_cells_outliers():
         * an hour of 10-minute windows against the rest of the fleet). */
        struct reports_outlier *fo = calloc(n ? n : 1, sizeof *fo);
        if (fo && reports_cells_outliers(rp, s->wave.cells, n, NULL, now, fo) == 0)
            for (i = 0; i < n; i++)
                f[i].fleet = fo[i];
        free(fo);
    }
    for (i = 0; i < n; i++) {
        f[i].cell = s->wave.cells[i];
        reports_aggregate_cells(rp, &s->wave.cells[i], &s->wave.versions[i], 1, e->config, start,
                                now, NULL, &f[i].now);
        if (s->past_done && i < s->before.n)
            reports_aggregate_cells(rp, &s->before.cells[i], &s->before.versions[i], 1, e->config,
                                    s->past_from_ms, s->past_to_ms, NULL, &f[i].before);
        f[i].rate = rate_of(&f[i].now);
        f[i].before_rate = rate_of(&f[i].before);
    }
    qsort(f, n, sizeof *f, by_rate_desc);
    for (i = 0, shown = 0; i < n; i++) {
        int out = s->past_done && s->base.n > 0 && json_array_size(outs) < CTL_CELLS_MAX
                      ? check_outlier(&f[i], &s->past_base, outs)
                      : 0;
        if (f[i].fleet.outlier && json_array_size(outs) < CTL_CELLS_MAX) {
            const struct reports_outlier *o = &f[i].fleet;
            json_array_append_new(
                outs,
                json_pack("{s:s,s:s,s:s,s:o,s:o,s:s}", "cell", f[i].cell, "kind", "persistent",
                          "metric", o->by_errors ? "error_rate" : "latency_p99_ms", "ratio",
                          num(o->by_errors ? o->error_rate / o->rest_error_rate
                                           : o->p99_ms / o->rest_p99_ms),
                          "p", num(o->by_errors ? o->error_p : o->latency_p), "reason", o->reason));
            out = 1;
        }
        if (shown >= CTL_CELLS_MAX)
            continue;
        json_array_append_new(
            cells, json_pack("{s:s,s:I,s:I,s:o,s:o,s:I,s:o,s:o,s:b}", "cell", f[i].cell, "requests",
                             (json_int_t)f[i].now.requests, "errors", (json_int_t)f[i].now.errors,
                             "error_rate", num(f[i].rate), "p99_ms", num(p99_of(&f[i].now)),
                             "before_requests", (json_int_t)f[i].before.requests,
                             "before_error_rate", num(f[i].before_rate), "before_p99_ms",
                             num(p99_of(&f[i].before)), "outlier", out));
        shown++;
    }
    free(f);
    ctl_eval_set_cells(e, cells, outs);
}
