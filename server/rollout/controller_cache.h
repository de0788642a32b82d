/* SPDX-License-Identifier: MIT */
/*
 * controller_cache.h: what the controller derives once per rollout and
 * reuses from tick to tick (see struct rcache in controller.c). Everything
 * here is rebuilt from the store after a restart; it is keyed by what it is
 * derived from, so a stale entry is never used.
 *
 *  - ctl_detail: the parsed detail_json, kept while the stored text is the
 *    one parsed (same rollout seq, or the same text).
 *  - ctl_sets: the cell sets of a baking step (the wave, its baseline, and
 *    the wave's cells at their previous versions), with each cell's series
 *    version, built once per (step, parsed detail), and the reports caches
 *    that belong to those sets.
 *  - ctl_eval: the latest gate evaluation of the baking step, kept with the
 *    inputs it was computed from (gates_evaluate() is pure: the same inputs
 *    give the same result, so it is reused while they stay the same).
 */
#ifndef CG_CONTROLLER_CACHE_H
#define CG_CONTROLLER_CACHE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "gates.h"
#include "reports.h"
#include "store.h"

struct reports_cells_cache;
struct reports_conv_cache;

struct ctl_detail {
    json_t *doc;  /* the parsed text; NULL if it does not parse */
    char *text;   /* the text 'doc' stands for; NULL: nothing cached */
    int64_t seq;  /* the rollout seq it was read at (-1: not known) */
    uint64_t gen; /* bumped whenever 'doc' is replaced */
};

/* The parsed detail of a rollout read at 'seq' with detail_json 'text'
 * (borrowed; NULL if it does not parse). The caller may change the document
 * only if it then calls ctl_detail_wrote(). */
json_t *ctl_detail_get(struct ctl_detail *d, int64_t seq, const char *text);

/* The document was changed (not its "prev") and dumped as 'text'. */
void ctl_detail_wrote(struct ctl_detail *d, const char *text);

void ctl_detail_free(struct ctl_detail *d);

/* Cells with the version whose health stands for each (> 0: the config's
 * series of that version; else the cell's host-level series). */
struct ctl_cellset {
    const char **cells; /* borrowed from the rollout's steps or detail */
    int64_t *versions;
    size_t n;
    struct reports_cells_cache *cache;
};

struct ctl_sets {
    int built;
    int64_t step;
    uint64_t detail_gen;
    struct ctl_cellset wave;         /* the step's cells at to_version */
    struct ctl_cellset base;         /* cells no step up to this one changed, at their
                                        previous version */
    struct ctl_cellset before;       /* the step's cells at their previous version */
    struct reports_conv_cache *conv; /* convergence of 'wave' */
    /* The own past (docs/internals/gates.md "Every cell against its own
     * past"): 'before' and 'base' over [past_from_ms, past_to_ms), the
     * window just before the step started. It lies wholly in the past, so
     * it is summed once per set and step start (past_done). */
    int past_done;
    int64_t past_from_ms, past_to_ms;
    struct health_agg past_wave, past_base;
};

/* Builds (or keeps) the sets of step 'step' of 'steps' given the rollout's
 * parsed detail (generation 'detail_gen'); previous versions come from
 * detail.prev, default from_version. Returns 0, or -1 when out of memory. */
int ctl_sets_get(struct ctl_sets *s, const json_t *steps, int64_t step, const json_t *detail,
                 uint64_t detail_gen, int64_t to_version, int64_t from_version);

void ctl_sets_free(struct ctl_sets *s);

/* What one evaluation of a baking step is computed from (all borrowed). */
struct ctl_eval_input {
    int64_t step;
    const struct plan_gates *gates; /* the wave's gates (the plan outlives the cache) */
    const struct gates_input *in;   /* measurements; in->wave and in->baseline non-NULL */
    size_t wave_cells, baseline_cells;
    int64_t bake_s;
    const json_t *failures;     /* apply failures (JSON array) */
    const char *config;         /* the rollout's config (copied) */
    const char *source_problem; /* a health source's query problem (controller_source.h),
                                   NULL or "" when none */
    const char *health_source;  /* "prometheus" when the plan's source gave the health
                                   (the document's "health_source"); NULL: the agents */
};

/*
 * The latest evaluation. Its document ("cellgate rollout status",
 * docs/api/rollouts.md) is built when it is read: 'doc' once per result,
 * without the values of the time fields (window_ms, baked, evaluated_at),
 * and never changed afterwards; 'shown' is a shallow copy of it with the
 * time fields of the latest update.
 */
struct ctl_eval {
    int valid; /* the fields below stand for a computed evaluation */
    /* its inputs */
    int64_t step;
    const struct plan_gates *gates;
    struct health_agg wave, baseline;
    struct health_agg wave_before, baseline_before; /* own past (when in.wave_before set) */
    struct gates_input in; /* wave/baseline (and the own past) point at the copies above */
    size_t wave_cells, baseline_cells;
    int64_t bake_s;
    char config[STORE_NAME_MAX];
    json_t *failures; /* owned copy */
    char source_problem[GATES_REASON_MAX];
    char health_source[16];
    /* its result */
    enum gates_verdict verdict;
    char summary[GATES_REASON_MAX];
    struct gates_result *res; /* owned (allocated on first use); what 'doc' is made of */
    json_t *doc;              /* owned; NULL: not built yet (or out of memory) */
    uint64_t gen;             /* bumped whenever the result is replaced */
    uint64_t doc_gen;         /* the result 'doc' was built from */
    /* the latest update */
    int64_t now_ms, window_ms;
    /* per-cell figures of the wave and the outliers among them (owned; set
     * by ctl_eval_set_cells() for result 'cells_gen'), added to 'doc' */
    json_t *cells, *outliers;
    uint64_t cells_gen;
    json_t *shown; /* owned, built on demand */
    uint64_t shown_gen;
    int64_t shown_ms, shown_window_ms;
};

/* Evaluates the gates on 'x' at now_ms, 'window_ms' after the step started,
 * or reuses the previous result when 'x' is what it was computed from.
 * Afterwards e->verdict and e->summary hold the result. */
void ctl_eval_update(struct ctl_eval *e, const struct ctl_eval_input *x, int64_t now_ms,
                     int64_t window_ms);

/* The latest evaluation document (borrowed: valid until the next
 * ctl_eval_update() or ctl_eval_free(); json_incref() it to keep it), or
 * NULL when there is none or out of memory. */
json_t *ctl_eval_json(struct ctl_eval *e);

/* Attaches the wave's per-cell figures ('cells', a JSON array) and the
 * outlier cells among them ('outliers', an array) to the current result
 * (both stolen; NULL: none). They are part of its document until the
 * result is replaced. */
void ctl_eval_set_cells(struct ctl_eval *e, json_t *cells, json_t *outliers);

/* True when the current result has no per-cell figures yet. */
int ctl_eval_needs_cells(const struct ctl_eval *e);

void ctl_eval_free(struct ctl_eval *e);

#endif /* CG_CONTROLLER_CACHE_H */
