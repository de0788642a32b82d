/* SPDX-License-Identifier: MIT */
/*
 * planner.c - turns a plan's waves into ordered, I5-respecting steps.
 *
 * The fleet is sorted once into a fixed visiting order (region, zone, cell;
 * see order_cells()), then each wave from the first unfinished one takes
 * its cells (select_*()) and is split into steps (split_wave()). Nothing
 * here does I/O or keeps state between calls; docs/internals/planner.md
 * explains the algorithm and why it is prefix-stable under re-planning.
 */
#include "planner.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hashmap.h"
#include "status.h"

#define PERCENT_EPS 1e-9 /* absorbs float error in percent * cells / 100 */
#define LIST_NAMES  5    /* names listed in a note or constraint before "..." */
#define HASH_SEP    0x1f /* separates hashed fields */

/* A cell in the id index (ctx.byid). */
struct id_ref {
    struct cg_hentry by_id; /* keyed by the cell's id (borrowed from the caller's cells) */
    size_t idx;             /* index into cells */
};

/* A region or (region, zone) with its sort key. */
struct place {
    const char *name; /* borrowed */
    size_t region;    /* zones: index of the region (by name), else 0 */
    uint64_t key;     /* primary sort key */
};

/* Sort record for the visiting order. */
struct okey {
    size_t region_rank;
    uint64_t zone_key;
    const char *zone;
    uint64_t cell_key;
    const char *id;
    size_t idx;
};

/* A run of consecutive selected cells of one zone. */
struct zone_run {
    size_t zone;  /* index into ctx->zones */
    size_t start; /* index into the wave's selection */
    size_t len;
};

/* Planning context: the fleet in lookup-friendly form and the result. */
struct ctx {
    const struct plan *p;
    const struct planner_cell *cells;
    size_t n;
    const char *seed;
    struct cg_hashmap byid; /* cell id -> struct id_ref (in 'ids') */
    struct id_ref *ids;     /* owned; one per cell */
    const char **rnames;    /* owned array; regions sorted by name */
    size_t nreg;
    size_t *rrank;       /* owned; rank of region (by-name index) */
    struct place *zones; /* owned; sorted by (region, name) */
    size_t nzones;
    size_t *cell_zone; /* owned; per cell, index into zones */
    size_t *order;     /* owned; cell indices in visiting order */
    bool *covered;     /* owned; per cell */
    size_t n_covered;
    struct planner_result *r; /* being built */
    size_t steps_cap;
    size_t notes_cap;
    size_t notes_dropped;
    bool nomem;
};

/*---- small helpers ----*/

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;

    if (!msg || msglen == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

/* FNV-1a over 'len' bytes, continuing from 'h'. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *s = data;

    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* Hash of seed, a tag and up to two names; FNV-1a, then the splitmix64
 * finalizer so that names differing in one byte land far apart. */
static uint64_t order_hash(const char *seed, const char *tag, const char *a, const char *b)
{
    static const unsigned char sep = HASH_SEP;
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    h = fnv1a(h, seed, strlen(seed));
    h = fnv1a(h, &sep, 1);
    h = fnv1a(h, tag, strlen(tag));
    h = fnv1a(h, &sep, 1);
    h = fnv1a(h, a, strlen(a));
    if (b) {
        h = fnv1a(h, &sep, 1);
        h = fnv1a(h, b, strlen(b));
    }
    h ^= h >> 30;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h *= UINT64_C(0x94d049bb133111eb);
    h ^= h >> 31;
    return h;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;

    return strcmp(*x, *y);
}

static int cmp_place_key(const void *a, const void *b)
{
    const struct place *x = a, *y = b;

    if (x->key != y->key) {
        return x->key < y->key ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

static int cmp_zone_name(const void *a, const void *b)
{
    const struct place *x = a, *y = b;

    if (x->region != y->region) {
        return x->region < y->region ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

static int cmp_okey(const void *a, const void *b)
{
    const struct okey *x = a, *y = b;
    int c;

    if (x->region_rank != y->region_rank) {
        return x->region_rank < y->region_rank ? -1 : 1;
    }
    if (x->zone_key != y->zone_key) {
        return x->zone_key < y->zone_key ? -1 : 1;
    }
    c = strcmp(x->zone, y->zone);
    if (c) {
        return c;
    }
    if (x->cell_key != y->cell_key) {
        return x->cell_key < y->cell_key ? -1 : 1;
    }
    return strcmp(x->id, y->id);
}

/* Index of cell 'id' in the fleet, or SIZE_MAX. */
static size_t find_cell(const struct ctx *c, const char *id)
{
    const struct cg_hentry *hit = id ? cg_hashmap_get(&c->byid, id) : NULL;

    return hit ? CG_HENTRY(hit, const struct id_ref, by_id)->idx : SIZE_MAX;
}

/* Index of region 'name' among c->rnames (sorted by name). */
static size_t find_region(const struct ctx *c, const char *name)
{
    const char **hit = bsearch(&name, c->rnames, c->nreg, sizeof *c->rnames, cmp_str_ptr);

    return hit ? (size_t)(hit - c->rnames) : SIZE_MAX;
}

/*---- notes ----*/

static void add_note(struct ctx *c, enum planner_note_kind kind, size_t wave, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_note(struct ctx *c, enum planner_note_kind kind, size_t wave, const char *fmt, ...)
{
    struct planner_result *r = c->r;
    struct cg_buf b = {0};
    va_list ap;

    if (r->n_notes >= PLANNER_MAX_NOTES) {
        c->notes_dropped++;
        return;
    }
    if (r->n_notes == c->notes_cap) {
        size_t cap = c->notes_cap ? c->notes_cap * 2 : 8;
        struct planner_note *nn = realloc(r->notes, cap * sizeof *nn);
        if (!nn) {
            c->nomem = true;
            return;
        }
        r->notes = nn;
        c->notes_cap = cap;
    }
    va_start(ap, fmt);
    if (cg_buf_vprintf(&b, fmt, ap) < 0) {
        c->nomem = true;
    }
    va_end(ap);
    if (c->nomem) {
        cg_buf_free(&b);
        return;
    }
    r->notes[r->n_notes].kind = kind;
    r->notes[r->n_notes].wave = wave;
    r->notes[r->n_notes].text = cg_buf_detach(&b, NULL);
    if (!r->notes[r->n_notes].text) {
        c->nomem = true;
        return;
    }
    r->n_notes++;
}

/* Appends "a, b, c" (at most LIST_NAMES, then ", ... (N in all)") to b. */
static void list_names(struct cg_buf *b, const char *const *names, size_t n, bool *nomem)
{
    for (size_t i = 0; i < n && i < LIST_NAMES; i++) {
        if (cg_buf_printf(b, "%s%s", i ? ", " : "", names[i]) < 0) {
            *nomem = true;
        }
    }
    if (n > LIST_NAMES && cg_buf_printf(b, ", ... (%zu in all)", n) < 0) {
        *nomem = true;
    }
}

/*---- the fleet: validation, lookups and the visiting order ----*/

static bool nonempty(const char *s)
{
    return s && *s;
}

/* Checks the cells and builds the id index. */
static int index_cells(struct ctx *c, char *msg, size_t msglen)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct planner_cell *cell = &c->cells[i];
        if (!nonempty(cell->id) || !nonempty(cell->region) || !nonempty(cell->zone)) {
            set_msg(msg, msglen, "cell %zu (%s) has no id, region or zone", i,
                    cell->id ? cell->id : "no id");
            return CG_ERR_INVALID;
        }
        if (cell->n_labels && !cell->labels) {
            set_msg(msg, msglen, "cell %s: n_labels is %zu but labels is NULL", cell->id,
                    cell->n_labels);
            return CG_ERR_INVALID;
        }
    }
    c->ids = malloc(c->n * sizeof *c->ids);
    if (!c->ids || cg_hashmap_reserve(&c->byid, c->n) < 0) {
        return CG_ERR_NOMEM;
    }
    for (size_t i = 0; i < c->n; i++) {
        c->ids[i].idx = i;
        /* reserved above, so 0 (inserted) or 1 (the id is taken) */
        if (cg_hashmap_insert(&c->byid, c->cells[i].id, &c->ids[i].by_id, NULL) != 0) {
            set_msg(msg, msglen, "duplicate cell id \"%s\"", c->cells[i].id);
            return CG_ERR_INVALID;
        }
    }
    return CG_OK;
}

/* Distinct region names, sorted by name, and each region's visiting rank. */
static int rank_regions(struct ctx *c)
{
    const struct plan *p = c->p;
    struct place *pl;
    size_t k = 0;

    c->rnames = malloc(c->n * sizeof *c->rnames);
    if (!c->rnames) {
        return CG_ERR_NOMEM;
    }
    for (size_t i = 0; i < c->n; i++) {
        c->rnames[i] = c->cells[i].region;
    }
    qsort(c->rnames, c->n, sizeof *c->rnames, cmp_str_ptr);
    for (size_t i = 0; i < c->n; i++) {
        if (k == 0 || strcmp(c->rnames[k - 1], c->rnames[i]) != 0) {
            c->rnames[k++] = c->rnames[i];
        }
    }
    c->nreg = k;
    pl = malloc(k * sizeof *pl);
    c->rrank = malloc(k * sizeof *c->rrank);
    if (!pl || !c->rrank) {
        free(pl);
        return CG_ERR_NOMEM;
    }
    for (size_t i = 0; i < k; i++) {
        pl[i].name = c->rnames[i];
        pl[i].region = i;
        if (p->region_order) {
            /* Listed regions by position, then the rest by name. */
            pl[i].key = UINT64_MAX;
            for (size_t j = 0; j < p->n_region_order; j++) {
                if (strcmp(p->region_order[j], c->rnames[i]) == 0) {
                    pl[i].key = j;
                    break;
                }
            }
        } else {
            pl[i].key = order_hash(c->seed, "region", c->rnames[i], NULL);
        }
    }
    qsort(pl, k, sizeof *pl, cmp_place_key);
    for (size_t i = 0; i < k; i++) {
        c->rrank[pl[i].region] = i;
    }
    free(pl);
    return CG_OK;
}

/* Distinct (region, zone) pairs and the zone of every cell. */
static int index_zones(struct ctx *c)
{
    size_t k = 0;

    c->zones = malloc(c->n * sizeof *c->zones);
    c->cell_zone = malloc(c->n * sizeof *c->cell_zone);
    if (!c->zones || !c->cell_zone) {
        return CG_ERR_NOMEM;
    }
    for (size_t i = 0; i < c->n; i++) {
        c->zones[i].name = c->cells[i].zone;
        c->zones[i].region = find_region(c, c->cells[i].region);
    }
    qsort(c->zones, c->n, sizeof *c->zones, cmp_zone_name);
    for (size_t i = 0; i < c->n; i++) {
        if (k == 0 || cmp_zone_name(&c->zones[k - 1], &c->zones[i]) != 0) {
            c->zones[k++] = c->zones[i];
        }
    }
    c->nzones = k;
    for (size_t i = 0; i < k; i++) {
        c->zones[i].key =
            order_hash(c->seed, "zone", c->rnames[c->zones[i].region], c->zones[i].name);
    }
    for (size_t i = 0; i < c->n; i++) {
        struct place key = {c->cells[i].zone, find_region(c, c->cells[i].region), 0};
        const struct place *hit = bsearch(&key, c->zones, k, sizeof *c->zones, cmp_zone_name);
        c->cell_zone[i] = (size_t)(hit - c->zones);
    }
    return CG_OK;
}

/* The visiting order: region rank, then zone (hash, name), then cell
 * (hash, id). */
static int order_cells(struct ctx *c)
{
    struct okey *ok = malloc(c->n * sizeof *ok);

    c->order = malloc(c->n * sizeof *c->order);
    if (!ok || !c->order) {
        free(ok);
        return CG_ERR_NOMEM;
    }
    for (size_t i = 0; i < c->n; i++) {
        const struct place *z = &c->zones[c->cell_zone[i]];
        ok[i].region_rank = c->rrank[z->region];
        ok[i].zone_key = z->key;
        ok[i].zone = z->name;
        ok[i].cell_key = order_hash(c->seed, "cell", c->cells[i].id, NULL);
        ok[i].id = c->cells[i].id;
        ok[i].idx = i;
    }
    qsort(ok, c->n, sizeof *ok, cmp_okey);
    for (size_t i = 0; i < c->n; i++) {
        c->order[i] = ok[i].idx;
    }
    free(ok);
    return CG_OK;
}

/* Marks the progress's done cells as covered; notes unknown ids. */
static void apply_done(struct ctx *c, const struct planner_progress *pr)
{
    const char **unknown;
    size_t nunknown = 0;

    if (!pr || pr->n_done == 0 || !pr->done) {
        return;
    }
    unknown = malloc(pr->n_done * sizeof *unknown);
    if (!unknown) {
        c->nomem = true;
        return;
    }
    for (size_t i = 0; i < pr->n_done; i++) {
        size_t idx = find_cell(c, pr->done[i]);
        if (idx == SIZE_MAX) {
            unknown[nunknown++] = pr->done[i] ? pr->done[i] : "(null)";
        } else if (!c->covered[idx]) {
            c->covered[idx] = true;
            c->n_covered++;
        }
    }
    if (nunknown) {
        struct cg_buf b = {0};
        list_names(&b, unknown, nunknown, &c->nomem);
        add_note(c, PLANNER_NOTE_UNKNOWN_DONE, PLANNER_NO_WAVE,
                 "%zu done cell%s not in the fleet (ignored): %s", nunknown,
                 nunknown == 1 ? " is" : "s are", b.data ? b.data : "");
        cg_buf_free(&b);
    }
    free(unknown);
}

/*---- selecting a wave's cells ----*/

static bool cell_has_label(const struct planner_cell *cell, const struct plan_label *l)
{
    for (size_t i = 0; i < cell->n_labels; i++) {
        const struct planner_label *cl = &cell->labels[i];
        if (cl->key && cl->value && strcmp(cl->key, l->key) == 0 &&
            strcmp(cl->value, l->value) == 0) {
            return true;
        }
    }
    return false;
}

/* Does cell 'idx' match every part of the selector that is set? 'listed'
 * says whether the cell is in the selector's cell list. */
static bool selector_matches(const struct ctx *c, const struct plan_selector *s, size_t idx,
                             bool listed)
{
    const struct planner_cell *cell = &c->cells[idx];

    if (s->region && strcmp(s->region, cell->region) != 0) {
        return false;
    }
    if (s->zone && strcmp(s->zone, cell->zone) != 0) {
        return false;
    }
    if (s->cells && !listed) {
        return false;
    }
    for (size_t i = 0; i < s->n_labels; i++) {
        if (!cell_has_label(cell, &s->labels[i])) {
            return false;
        }
    }
    return true;
}

/* Takes up to 'want' uncovered cells in visiting order into sel. */
static size_t take_next(const struct ctx *c, size_t want, size_t *sel)
{
    size_t n = 0;

    for (size_t i = 0; i < c->n && n < want; i++) {
        if (!c->covered[c->order[i]]) {
            sel[n++] = c->order[i];
        }
    }
    return n;
}

/* Selector wave: every uncovered match, in visiting order. */
static size_t take_selector(struct ctx *c, size_t wi, size_t *sel)
{
    const struct plan_selector *s = &c->p->waves[wi].selector;
    bool *listed = NULL;
    size_t n = 0;

    if (s->cells) {
        const char **unknown = malloc(s->n_cells * sizeof *unknown);
        size_t nunknown = 0;
        listed = calloc(c->n, sizeof *listed);
        if (!listed || !unknown) {
            free(listed);
            free(unknown);
            c->nomem = true;
            return 0;
        }
        for (size_t i = 0; i < s->n_cells; i++) {
            size_t idx = find_cell(c, s->cells[i]);
            if (idx == SIZE_MAX) {
                unknown[nunknown++] = s->cells[i];
            } else {
                listed[idx] = true;
            }
        }
        if (nunknown) {
            struct cg_buf b = {0};
            list_names(&b, unknown, nunknown, &c->nomem);
            add_note(c, PLANNER_NOTE_UNKNOWN_CELL, wi,
                     "wave \"%s\": the selector names %zu cell%s not in the fleet: %s",
                     c->p->waves[wi].name, nunknown, nunknown == 1 ? "" : "s",
                     b.data ? b.data : "");
            cg_buf_free(&b);
        }
        free(unknown);
    }
    for (size_t i = 0; i < c->n; i++) {
        size_t idx = c->order[i];
        if (!c->covered[idx] && selector_matches(c, s, idx, listed && listed[idx])) {
            sel[n++] = idx;
        }
    }
    free(listed);
    return n;
}

/* Cells a wave takes, into sel (capacity c->n). 'taken' is how many cells
 * the wave took before this plan (progress), 0 for a wave not started. */
static size_t select_wave(struct ctx *c, size_t wi, size_t taken, size_t *sel)
{
    const struct plan_wave *w = &c->p->waves[wi];
    size_t left = c->n - c->n_covered;
    size_t want, n;

    switch (w->kind) {
    case PLAN_WAVE_CELLS:
        want = (size_t)w->cells > taken ? (size_t)w->cells - taken : 0;
        n = take_next(c, want, sel);
        if (n < want && left > 0) {
            add_note(c, PLANNER_NOTE_SHORT, wi,
                     "wave \"%s\" asks for %zu more cell%s but only %zu %s left", w->name, want,
                     want == 1 ? "" : "s", left, left == 1 ? "is" : "are");
        }
        if (n == 0) {
            add_note(c, PLANNER_NOTE_SKIPPED, wi, "wave \"%s\" takes no cell: %s", w->name,
                     left == 0 ? "every cell already has the change" : "it already took its cells");
        }
        return n;
    case PLAN_WAVE_PERCENT: {
        size_t target;
        if (w->percent >= 100.0) {
            target = c->n;
        } else {
            double t = ceil(w->percent * (double)c->n / 100.0 - PERCENT_EPS);
            target = t < 1.0 ? 1 : (size_t)t;
            target = target > c->n ? c->n : target;
        }
        want = target > c->n_covered ? target - c->n_covered : 0;
        if (want == 0 && taken == 0) {
            want = 1; /* a percent wave always moves the rollout forward */
        }
        n = take_next(c, want, sel);
        if (n == 0) {
            add_note(c, PLANNER_NOTE_SKIPPED, wi, "wave \"%s\" takes no cell: %s", w->name,
                     left == 0 ? "every cell already has the change"
                               : "its share of the fleet already has the change");
        }
        return n;
    }
    case PLAN_WAVE_SELECTOR:
        n = take_selector(c, wi, sel);
        if (n == 0 && !c->nomem) {
            add_note(c, PLANNER_NOTE_SKIPPED, wi, "wave \"%s\" takes no cell: %s", w->name,
                     left == 0 ? "every cell already has the change"
                               : "its selector matches no cell without the change");
        }
        return n;
    }
    return 0;
}

/*---- splitting a wave into steps ----*/

static struct planner_step *new_step(struct ctx *c)
{
    struct planner_result *r = c->r;

    if (r->n_steps == c->steps_cap) {
        size_t cap = c->steps_cap ? c->steps_cap * 2 : 8;
        struct planner_step *ns = realloc(r->steps, cap * sizeof *ns);
        if (!ns) {
            c->nomem = true;
            return NULL;
        }
        r->steps = ns;
        c->steps_cap = cap;
    }
    memset(&r->steps[r->n_steps], 0, sizeof r->steps[0]);
    return &r->steps[r->n_steps++];
}

/* Writes the step's human-readable constraint. */
static void describe_step(struct ctx *c, struct planner_step *st, size_t max_zones_used, bool first)
{
    const struct plan *p = c->p;
    struct cg_buf b = {0};
    const char **names = malloc(st->n_regions * sizeof *names);
    size_t k = 0;

    if (!names) {
        c->nomem = true;
        return;
    }
    for (size_t i = 0; i < st->n_zones; i++) {
        if (k == 0 || strcmp(names[k - 1], st->zones[i].region) != 0) {
            names[k++] = st->zones[i].region;
        }
    }
    if (cg_buf_printf(&b, "%zu region%s (", k, k == 1 ? "" : "s") < 0) {
        c->nomem = true;
    }
    list_names(&b, names, k, &c->nomem);
    if (cg_buf_printf(&b, "), %s%zu zone%s per region (max_zones_per_region %lld)",
                      max_zones_used > 1 ? "up to " : "", max_zones_used,
                      max_zones_used == 1 ? "" : "s", (long long)p->max_zones_per_region) < 0) {
        c->nomem = true;
    }
    if (first && cg_buf_printf(&b, "; first wave: at most %lld region%s per step",
                               (long long)p->first_wave_regions,
                               p->first_wave_regions == 1 ? "" : "s") < 0) {
        c->nomem = true;
    }
    free(names);
    st->constraint = cg_buf_detach(&b, NULL);
    if (!st->constraint) {
        c->nomem = true;
    }
}

/* Fills one step from the chosen zone runs of the selection. */
static void fill_step(struct ctx *c, struct planner_step *st, size_t wi, const size_t *sel,
                      const struct zone_run *runs, const size_t *pick, size_t npick,
                      size_t max_zones_used, bool first)
{
    const struct plan_wave *w = &c->p->waves[wi];
    size_t ncells = 0;

    for (size_t i = 0; i < npick; i++) {
        ncells += runs[pick[i]].len;
    }
    st->wave = wi;
    st->bake_s = w->bake_s;
    st->min_requests = w->min_requests;
    st->gates = &w->gates;
    st->wave_name = strdup(w->name);
    st->cells = calloc(ncells, sizeof *st->cells);
    st->zones = calloc(npick, sizeof *st->zones);
    if (!st->wave_name || !st->cells || !st->zones) {
        c->nomem = true;
        return;
    }
    for (size_t i = 0; i < npick; i++) {
        const struct zone_run *zr = &runs[pick[i]];
        const struct place *z = &c->zones[zr->zone];
        struct planner_zone *pz = &st->zones[st->n_zones++];
        pz->region = strdup(c->rnames[z->region]);
        pz->zone = strdup(z->name);
        pz->n_cells = zr->len;
        if (!pz->region || !pz->zone) {
            c->nomem = true;
            return;
        }
        if (i == 0 || c->zones[runs[pick[i - 1]].zone].region != z->region) {
            st->n_regions++;
        }
        for (size_t j = 0; j < zr->len; j++) {
            st->cells[st->n_cells] = strdup(c->cells[sel[zr->start + j]].id);
            if (!st->cells[st->n_cells]) {
                c->nomem = true;
                return;
            }
            st->n_cells++;
        }
    }
    describe_step(c, st, max_zones_used, first);
}

/*
 * Splits a wave's selection (in visiting order, so region-major and
 * zone-major) into steps. Each step takes, from each of the first 'rlim'
 * regions that still have cells in the wave, its next max_zones_per_region
 * zones (all the wave's cells in them). rlim is first_wave_regions for
 * the first wave ('first') and unlimited otherwise.
 */
static void split_wave(struct ctx *c, size_t wi, const size_t *sel, size_t nsel,
                       size_t covered_before, bool first)
{
    bool host_level = plan_wave_host_level(&c->p->waves[wi]);
    const struct plan *p = c->p;
    size_t mz = p->max_zones_per_region >= 1 ? (size_t)p->max_zones_per_region : 1;
    size_t rlim = SIZE_MAX;
    struct zone_run *runs = malloc(nsel * sizeof *runs);
    size_t *rstart = malloc(nsel * sizeof *rstart); /* region run -> first zone run */
    size_t *rend = malloc(nsel * sizeof *rend);
    size_t *pick = malloc(nsel * sizeof *pick);
    size_t nruns = 0, nrr = 0, first_step = c->r->n_steps, covered = covered_before;

    if (first) {
        rlim = p->first_wave_regions >= 1 ? (size_t)p->first_wave_regions : 1;
    }
    if (!runs || !rstart || !rend || !pick) {
        c->nomem = true;
        goto done;
    }
    for (size_t i = 0; i < nsel; i++) {
        size_t z = c->cell_zone[sel[i]];
        if (nruns && runs[nruns - 1].zone == z) {
            runs[nruns - 1].len++;
            continue;
        }
        if (nruns == 0 || c->zones[runs[nruns - 1].zone].region != c->zones[z].region) {
            rstart[nrr] = nruns;
            if (nrr) {
                rend[nrr - 1] = nruns;
            }
            nrr++;
        }
        runs[nruns].zone = z;
        runs[nruns].start = i;
        runs[nruns].len = 1;
        nruns++;
    }
    if (nrr) {
        rend[nrr - 1] = nruns;
    }
    for (;;) {
        size_t npick = 0, nreg = 0, max_used = 0;
        struct planner_step *st;
        for (size_t r = 0; r < nrr && nreg < rlim; r++) {
            size_t take = rend[r] - rstart[r];
            if (take == 0) {
                continue;
            }
            take = take > mz ? mz : take;
            for (size_t j = 0; j < take; j++) {
                pick[npick++] = rstart[r] + j;
            }
            rstart[r] += take;
            max_used = take > max_used ? take : max_used;
            nreg++;
        }
        if (npick == 0) {
            break;
        }
        st = new_step(c);
        if (!st) {
            goto done;
        }
        fill_step(c, st, wi, sel, runs, pick, npick, max_used, first);
        st->hosts = p->waves[wi].hosts;
        st->host_percent = p->waves[wi].host_percent;
        covered += host_level ? 0 : st->n_cells; /* a canary changes no whole cell */
        st->covered = covered;
        if (c->nomem) {
            goto done;
        }
    }
    for (size_t i = first_step; i < c->r->n_steps; i++) {
        c->r->steps[i].part = i - first_step + 1;
        c->r->steps[i].n_parts = c->r->n_steps - first_step;
        c->r->steps[i].approval = c->p->waves[wi].approval && i == first_step;
    }
    if (c->r->n_steps - first_step > 1) {
        add_note(c, PLANNER_NOTE_SPLIT, wi,
                 "wave \"%s\" is split into %zu steps to respect max_zones_per_region %lld%s",
                 p->waves[wi].name, c->r->n_steps - first_step, (long long)p->max_zones_per_region,
                 first ? " and first_wave_regions" : "");
    }
done:
    free(runs);
    free(rstart);
    free(rend);
    free(pick);
}

/*---- building the result ----*/

static void release_ctx(struct ctx *c)
{
    cg_hashmap_clear(&c->byid, NULL, NULL);
    free(c->ids);
    free(c->rnames);
    free(c->rrank);
    free(c->zones);
    free(c->cell_zone);
    free(c->order);
    free(c->covered);
}

/* Copies the visiting order of regions into the result. */
static int export_region_order(struct ctx *c)
{
    struct planner_result *r = c->r;

    r->region_order = calloc(c->nreg, sizeof *r->region_order);
    if (!r->region_order) {
        return CG_ERR_NOMEM;
    }
    for (size_t i = 0; i < c->nreg; i++) {
        r->region_order[c->rrank[i]] = strdup(c->rnames[i]);
    }
    r->n_region_order = c->nreg;
    for (size_t i = 0; i < c->nreg; i++) {
        if (!r->region_order[i]) {
            return CG_ERR_NOMEM;
        }
    }
    return CG_OK;
}

/* A resumed host-level wave does not take again the cells its done steps
 * took (pr->wave_done): marks those not covered yet as covered and
 * records their indices in 'held' (capacity c->n); returns how many. */
static size_t hold_wave_done(struct ctx *c, const struct planner_progress *pr, size_t *held)
{
    size_t n = 0;

    for (size_t i = 0; pr->wave_done && i < pr->n_wave_done && n < c->n; i++) {
        size_t idx = find_cell(c, pr->wave_done[i]);
        if (idx != SIZE_MAX && !c->covered[idx]) {
            c->covered[idx] = true;
            c->n_covered++;
            held[n++] = idx;
        }
    }
    return n;
}

/* Plans every wave from the progress's next_wave (0 for a new rollout). */
static void plan_waves(struct ctx *c, const struct planner_progress *pr)
{
    size_t start = pr ? pr->next_wave : 0;
    size_t *sel = malloc(c->n * sizeof *sel);
    size_t *held = pr && pr->n_wave_done ? malloc(c->n * sizeof *held) : NULL;

    if (!sel || (pr && pr->n_wave_done && !held)) {
        free(sel);
        free(held);
        c->nomem = true;
        return;
    }
    for (size_t wi = start; wi < c->p->n_waves && !c->nomem; wi++) {
        size_t taken = pr && wi == start ? pr->next_wave_taken : 0;
        size_t before = c->n_covered;
        /* The first wave is wave 0, or the first that changes anything
         * (earlier ones were empty); 'taken' cells are its own. */
        bool first = wi == 0 || before <= taken;
        bool host_level = plan_wave_host_level(&c->p->waves[wi]);
        size_t nsel, nheld = 0;
        if (host_level && pr && wi == start && held) {
            nheld = hold_wave_done(c, pr, held);
        }
        nsel = select_wave(c, wi, taken, sel);
        for (size_t i = 0; i < nheld; i++) {
            c->covered[held[i]] = false;
            c->n_covered--;
        }
        /* A host-level wave's cells keep the old version (only some of
         * their hosts get the change): they stay for the waves after it. */
        for (size_t i = 0; i < nsel && !host_level; i++) {
            c->covered[sel[i]] = true;
        }
        c->n_covered += host_level ? 0 : nsel;
        if (nsel) {
            split_wave(c, wi, sel, nsel, before, first);
        }
    }
    free(sel);
    free(held);
    if (!c->nomem && c->n_covered < c->n) {
        add_note(c, PLANNER_NOTE_LEFT_OVER, PLANNER_NO_WAVE,
                 "%zu cell%s will not get the change: the rollout is past its last wave",
                 c->n - c->n_covered, c->n - c->n_covered == 1 ? "" : "s");
    }
    if (c->notes_dropped) {
        size_t dropped = c->notes_dropped;
        c->r->n_notes--; /* make room for the summary in the last slot */
        free(c->r->notes[c->r->n_notes].text);
        add_note(c, PLANNER_NOTE_TRUNCATED, PLANNER_NO_WAVE, "%zu more notes were dropped",
                 dropped + 1);
    }
}

int planner_build(const struct plan *p, const struct planner_cell *cells, size_t ncells,
                  const char *seed, const struct planner_progress *progress,
                  struct planner_result **out, char *msg, size_t msglen)
{
    struct ctx c = {0};
    int rc;

    set_msg(msg, msglen, "%s", "");
    if (out) {
        *out = NULL;
    }
    if (!p || !out || (ncells && !cells) || p->n_waves == 0 || !p->waves) {
        set_msg(msg, msglen, "missing plan, fleet or output");
        return CG_ERR_INVALID;
    }
    if (ncells == 0) {
        set_msg(msg, msglen, "the fleet has no cells: nothing to plan");
        return CG_ERR_INVALID;
    }
    if (ncells > PLANNER_MAX_CELLS) {
        set_msg(msg, msglen, "the fleet has %zu cells; at most %d are supported", ncells,
                PLANNER_MAX_CELLS);
        return CG_ERR_INVALID;
    }
    if (progress && progress->next_wave > p->n_waves) {
        set_msg(msg, msglen, "progress.next_wave %zu is past the plan's %zu waves",
                progress->next_wave, p->n_waves);
        return CG_ERR_INVALID;
    }
    if (progress && progress->n_done && !progress->done) {
        set_msg(msg, msglen, "progress.n_done is %zu but done is NULL", progress->n_done);
        return CG_ERR_INVALID;
    }
    c.p = p;
    c.cells = cells;
    c.n = ncells;
    c.seed = seed ? seed : "";
    c.r = calloc(1, sizeof *c.r);
    if (!c.r) {
        return CG_ERR_NOMEM;
    }
    rc = index_cells(&c, msg, msglen);
    if (rc == CG_OK) {
        rc = rank_regions(&c);
    }
    if (rc == CG_OK) {
        rc = index_zones(&c);
    }
    if (rc == CG_OK) {
        rc = order_cells(&c);
    }
    if (rc == CG_OK) {
        c.covered = calloc(c.n, sizeof *c.covered);
        rc = c.covered ? CG_OK : CG_ERR_NOMEM;
    }
    if (rc == CG_OK) {
        c.r->seed = strdup(c.seed);
        rc = c.r->seed ? export_region_order(&c) : CG_ERR_NOMEM;
    }
    if (rc == CG_OK) {
        apply_done(&c, progress);
        c.r->n_done = c.n_covered;
        plan_waves(&c, progress);
        rc = c.nomem ? CG_ERR_NOMEM : CG_OK;
    }
    c.r->n_fleet = c.n;
    c.r->n_regions = c.nreg;
    c.r->n_zones = c.nzones;
    release_ctx(&c);
    if (rc != CG_OK) {
        if (rc == CG_ERR_NOMEM) {
            set_msg(msg, msglen, "out of memory");
        }
        planner_result_free(c.r);
        return rc;
    }
    *out = c.r;
    return CG_OK;
}

void planner_result_free(struct planner_result *r)
{
    if (!r) {
        return;
    }
    for (size_t i = 0; i < r->n_steps; i++) {
        struct planner_step *st = &r->steps[i];
        for (size_t j = 0; j < st->n_cells; j++) {
            free(st->cells[j]);
        }
        for (size_t j = 0; j < st->n_zones; j++) {
            free(st->zones[j].region);
            free(st->zones[j].zone);
        }
        free(st->cells);
        free(st->zones);
        free(st->wave_name);
        free(st->constraint);
    }
    for (size_t i = 0; i < r->n_notes; i++) {
        free(r->notes[i].text);
    }
    for (size_t i = 0; i < r->n_region_order; i++) {
        free(r->region_order[i]);
    }
    free(r->region_order);
    free(r->steps);
    free(r->notes);
    free(r->seed);
    free(r);
}

/*---- JSON ----*/

const char *planner_note_kind_name(enum planner_note_kind k)
{
    switch (k) {
    case PLANNER_NOTE_SKIPPED:
        return "skipped";
    case PLANNER_NOTE_SHORT:
        return "short";
    case PLANNER_NOTE_SPLIT:
        return "split";
    case PLANNER_NOTE_UNKNOWN_CELL:
        return "unknown_cell";
    case PLANNER_NOTE_UNKNOWN_DONE:
        return "unknown_done";
    case PLANNER_NOTE_LEFT_OVER:
        return "left_over";
    case PLANNER_NOTE_TRUNCATED:
        return "truncated";
    }
    return "?";
}

/* Appends a new string to a JSON array; returns -1 when out of memory. */
static int push_str(json_t *a, const char *s)
{
    return json_array_append_new(a, json_string(s));
}

static json_t *step_to_json(const struct planner_step *st, size_t number, const struct plan *p)
{
    json_t *o = json_object(), *cells = json_array(), *regions = json_array(),
           *zones = json_array();
    int bad = !o || !cells || !regions || !zones;

    for (size_t i = 0; !bad && i < st->n_cells; i++) {
        bad |= push_str(cells, st->cells[i]);
    }
    for (size_t i = 0; !bad && i < st->n_zones; i++) {
        const struct planner_zone *z = &st->zones[i];
        if (i == 0 || strcmp(st->zones[i - 1].region, z->region) != 0) {
            bad |= push_str(regions, z->region);
        }
        bad |=
            json_array_append_new(zones, json_pack("{s:s, s:s, s:I}", "region", z->region, "zone",
                                                   z->zone, "cells", (json_int_t)z->n_cells));
    }
    if (bad) {
        json_decref(o);
        json_decref(cells);
        json_decref(regions);
        json_decref(zones);
        return NULL;
    }
    bad |= json_object_set_new(o, "step", json_integer((json_int_t)number));
    bad |= json_object_set_new(o, "wave", json_integer((json_int_t)st->wave));
    bad |= json_object_set_new(o, "wave_name", json_string(st->wave_name));
    bad |= json_object_set_new(o, "part", json_integer((json_int_t)st->part));
    bad |= json_object_set_new(o, "parts", json_integer((json_int_t)st->n_parts));
    bad |= json_object_set_new(o, "cells", cells);
    bad |= json_object_set_new(o, "regions", regions);
    bad |= json_object_set_new(o, "zones", zones);
    bad |= json_object_set_new(o, "covered", json_integer((json_int_t)st->covered));
    bad |= json_object_set_new(o, "bake_s", json_integer(st->bake_s));
    bad |= json_object_set_new(o, "min_requests", json_integer(st->min_requests));
    bad |= json_object_set_new(o, "approval", json_boolean(st->approval));
    bad |= json_object_set_new(
        o, "gates_overridden",
        json_boolean(st->wave < p->n_waves && p->waves[st->wave].gates_overridden));
    bad |= json_object_set_new(o, "constraint", json_string(st->constraint));
    if (st->hosts > 0) {
        bad |= json_object_set_new(o, "hosts", json_integer(st->hosts));
    } else if (st->host_percent > 0) {
        bad |= json_object_set_new(o, "host_percent", json_real(st->host_percent));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *planner_result_to_json(const struct planner_result *r, const struct plan *p)
{
    json_t *o, *steps, *notes, *order;
    int bad;

    if (!r || !p) {
        return NULL;
    }
    o = json_object();
    steps = json_array();
    notes = json_array();
    order = json_array();
    bad = !o || !steps || !notes || !order;
    for (size_t i = 0; !bad && i < r->n_region_order; i++) {
        bad |= push_str(order, r->region_order[i]);
    }
    for (size_t i = 0; !bad && i < r->n_steps; i++) {
        json_t *s = step_to_json(&r->steps[i], i + 1, p);
        bad |= !s || json_array_append_new(steps, s);
    }
    for (size_t i = 0; !bad && i < r->n_notes; i++) {
        const struct planner_note *n = &r->notes[i];
        bool has_wave = n->wave != PLANNER_NO_WAVE && n->wave < p->n_waves;
        json_t *no = json_pack(
            "{s:s, s:o, s:o, s:s}", "kind", planner_note_kind_name(n->kind), "wave",
            has_wave ? json_integer((json_int_t)n->wave) : json_null(), "wave_name",
            has_wave ? json_string(p->waves[n->wave].name) : json_null(), "message", n->text);
        bad |= !no || json_array_append_new(notes, no);
    }
    if (bad) {
        json_decref(o);
        json_decref(steps);
        json_decref(notes);
        json_decref(order);
        return NULL;
    }
    bad |= json_object_set_new(o, "seed", json_string(r->seed));
    bad |= json_object_set_new(o, "fleet",
                               json_pack("{s:I, s:I, s:I, s:I}", "cells", (json_int_t)r->n_fleet,
                                         "regions", (json_int_t)r->n_regions, "zones",
                                         (json_int_t)r->n_zones, "done", (json_int_t)r->n_done));
    bad |= json_object_set_new(o, "region_order", order);
    bad |= json_object_set_new(o, "steps", steps);
    bad |= json_object_set_new(o, "notes", notes);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
