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
 */
#ifndef CG_CONTROLLER_CACHE_H
#define CG_CONTROLLER_CACHE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

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
};

/* Builds (or keeps) the sets of step 'step' of 'steps' given the rollout's
 * parsed detail (generation 'detail_gen'); previous versions come from
 * detail.prev, default from_version. Returns 0, or -1 when out of memory. */
int ctl_sets_get(struct ctl_sets *s, const json_t *steps, int64_t step, const json_t *detail,
                 uint64_t detail_gen, int64_t to_version, int64_t from_version);

void ctl_sets_free(struct ctl_sets *s);

#endif /* CG_CONTROLLER_CACHE_H */
