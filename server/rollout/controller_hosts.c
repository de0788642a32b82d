/* SPDX-License-Identifier: MIT */
/* controller_hosts.c: host-level steps of a rollout (one-box canaries);
 * see controller_hosts.h. */
#include "controller_hosts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller_int.h"
#include "json.h"
#include "notify.h"
#include "store.h"
#include "util.h"

int ctl_step_host_level(const json_t *step)
{
    return json_object_get(step, "hosts") != NULL || json_object_get(step, "host_percent") != NULL;
}

size_t ctl_host_count(int64_t hosts, double pct, size_t known)
{
    size_t k;

    if (known < 2)
        return 0;
    if (hosts > 0) {
        k = (uint64_t)hosts > known ? known : (size_t)hosts;
    } else {
        double t = ceil(pct * (double)known / 100.0 - 1e-9);
        k = t < 1.0 ? 1 : (size_t)t;
    }
    if (k < 1)
        k = 1;
    return k > known - 1 ? known - 1 : k;
}

/* 64-bit FNV-1a of the parts separated by 0x1f, then the splitmix64
 * finalizer (as the planner's visiting order, docs/internals/planner.md). */
static uint64_t host_hash(const char *seed, const char *cell, const char *host)
{
    const char *parts[3] = {seed ? seed : "", cell, host};
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < 3; i++) {
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
            h = (h ^ *p) * 1099511628211ull;
        h = (h ^ 0x1f) * 1099511628211ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

struct ranked {
    uint64_t key;
    char name[REPORTS_NAME_MAX];
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return strcmp(x->name, y->name);
}

void ctl_host_rank(const char *seed, const char *cell, char (*names)[REPORTS_NAME_MAX], size_t n)
{
    struct ranked *v = n ? calloc(n, sizeof *v) : NULL;

    if (!v)
        return; /* out of memory: name order (still deterministic) */
    for (size_t i = 0; i < n; i++) {
        cg_strlcpy(v[i].name, names[i], sizeof v[i].name);
        v[i].key = host_hash(seed, cell, names[i]);
    }
    qsort(v, n, sizeof *v, cmp_ranked);
    for (size_t i = 0; i < n; i++)
        cg_strlcpy(names[i], v[i].name, REPORTS_NAME_MAX);
    free(v);
}

/* The chosen hosts of one step. */
struct pick {
    const char **hosts, **cells; /* parallel; hosts owned (strdup), cells borrowed */
    size_t n, cap;
    json_t *by_cell; /* {cell: [host, ...]} */
    json_t *known;   /* {cell: hosts known} */
};

static void pick_free(struct pick *p)
{
    for (size_t i = 0; i < p->n; i++)
        free((char *)p->hosts[i]);
    free(p->hosts);
    free(p->cells);
    json_decref(p->by_cell);
    json_decref(p->known);
    memset(p, 0, sizeof *p);
}

static int pick_add(struct pick *p, const char *host, const char *cell)
{
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 8;
        const char **h = realloc(p->hosts, nc * sizeof *h), **c;
        if (!h)
            return -1;
        p->hosts = h;
        c = realloc(p->cells, nc * sizeof *c);
        if (!c)
            return -1;
        p->cells = c;
        p->cap = nc;
    }
    p->hosts[p->n] = strdup(host);
    if (!p->hosts[p->n])
        return -1;
    p->cells[p->n++] = cell;
    return 0;
}

/* Chooses the hosts of every cell of 'step': 0, or CTL_HOST_HOLD (why), or
 * -1 when out of memory. */
static int choose(struct controller *c, const struct store_rollout *r, const json_t *step,
                  int64_t now, struct pick *p, char *why, size_t whylen)
{
    int64_t hosts = json_integer_value(json_object_get(step, "hosts"));
    double pct = json_number_value(json_object_get(step, "host_percent"));
    int64_t seen_after = now - c->cfg.host_stale_ms;
    char seed[2 * STORE_NAME_MAX];
    size_t i;
    json_t *x;

    ctl_plan_seed(r->config, r->to_version, seed, sizeof seed);
    p->by_cell = json_object();
    p->known = json_object();
    if (!p->by_cell || !p->known)
        return -1;
    json_array_foreach(json_object_get(step, "cells"), i, x)
    {
        const char *cell = json_string_value(x);
        char(*names)[REPORTS_NAME_MAX] = NULL;
        size_t n = 0, k;
        json_t *list;

        if (!cell)
            continue;
        /* hosts that follow this config; in a cell where none does yet
         * (its first version), every host seen lately */
        if (reports_cell_hosts(c->rp, cell, r->config, seen_after, &names, &n) < 0)
            return -1;
        if (n == 0) {
            free(names);
            if (reports_cell_hosts(c->rp, cell, NULL, seen_after, &names, &n) < 0)
                return -1;
        }
        k = ctl_host_count(hosts, pct, n);
        if (k == 0) {
            snprintf(why, whylen,
                     "step %lld takes hosts of cell %s, which has %zu known host%s (seen in the "
                     "last %llds): a host-level step needs at least 2, the canary and the rest "
                     "of the cell as its baseline",
                     (long long)r->step, cell, n, n == 1 ? "" : "s",
                     (long long)(c->cfg.host_stale_ms / 1000));
            free(names);
            return CTL_HOST_HOLD;
        }
        ctl_host_rank(seed, cell, names, n);
        list = json_array();
        for (size_t j = 0; j < k; j++) {
            if (!list || pick_add(p, names[j], cell) < 0 ||
                json_array_append_new(list, json_string(names[j])) != 0) {
                json_decref(list);
                free(names);
                return -1;
            }
        }
        json_object_set_new(p->by_cell, cell, list);
        json_object_set_new(p->known, cell, json_integer((json_int_t)n));
        free(names);
    }
    return 0;
}

int ctl_host_step_start(struct controller *c, const struct store_rollout *r, struct rcache *rc,
                        const json_t *step, int64_t now, char *why, size_t whylen)
{
    struct pick p;
    struct store_rollout_update u;
    struct store_config cfg;
    char smsg[STORE_MSG_MAX], key[32];
    json_t *detail, *hosts_doc, *ev_hosts, *ev;
    char *evs = NULL, *ds = NULL;
    int res;

    memset(&p, 0, sizeof p);
    res = choose(c, r, step, now, &p, why, whylen);
    if (res != 0) {
        pick_free(&p);
        return res == CTL_HOST_HOLD ? CTL_HOST_HOLD : -1;
    }
    if (store_config_get(c->st, r->config, &cfg, smsg) != CG_OK) {
        pick_free(&p);
        return -1;
    }
    /* detail.hosts[step]: what status, the bake and a restart read */
    detail = ctl_detail_get(&rc->detail, r->seq, r->detail_json);
    snprintf(key, sizeof key, "%lld", (long long)r->step);
    hosts_doc = json_object_get(detail, "hosts");
    if (detail && !json_is_object(hosts_doc)) {
        hosts_doc = json_object();
        json_object_set_new(detail, "hosts", hosts_doc);
    }
    if (hosts_doc)
        json_object_set(hosts_doc, key, p.by_cell);
    ds = detail ? cg_json_dump(detail) : NULL;
    if (ds)
        ctl_detail_wrote(&rc->detail, ds);
    ev_hosts = json_array();
    for (size_t i = 0; ev_hosts && i < p.n; i++)
        json_array_append_new(ev_hosts,
                              json_pack("{s:s,s:s}", "host", p.hosts[i], "cell", p.cells[i]));
    ev = json_pack("{s:I,s:O,s:I,s:O,s:o,s:O,s:O,s:O*,s:O*,s:b}", "step", (json_int_t)r->step,
                   "wave", json_object_get(step, "wave_name"), "version", (json_int_t)r->to_version,
                   "cells", json_object_get(step, "cells"), "hosts",
                   ev_hosts ? ev_hosts : json_array(), "known_hosts", p.known, "constraint",
                   json_object_get(step, "constraint"), "hosts_per_cell",
                   json_object_get(step, "hosts"), "host_percent",
                   json_object_get(step, "host_percent"), "expedited", 0);
    if (ev) /* the generation this write assigns (changes API, docs/correlation.md) */
        json_object_set_new(ev, "generation", json_integer((json_int_t)(cfg.generation + 1)));
    evs = ev ? cg_json_dump(ev) : NULL;
    json_decref(ev);
    if (!ds || !evs) {
        free(ds);
        free(evs);
        store_config_free(&cfg);
        pick_free(&p);
        return -1;
    }
    u = ctl_base_update(r);
    u.hosts = p.hosts;
    u.host_cells = p.cells;
    u.nhosts = p.n;
    u.assign_version = r->to_version;
    u.expect_generation = cfg.generation;
    u.step_state = "bake";
    u.step_started_ms = now;
    u.detail_json = ds;
    u.event_kind = "step.start";
    u.event_json = evs;
    u.audit_action = "rollout.step";
    res = ctl_transition(c, &u, NULL, NULL);
    if (res == 1) {
        /* the cells' desired state is rendered again: the cell's own body
         * does not change, so only the chosen hosts' parked polls wake */
        const char **cells = NULL;
        size_t nc = 0;
        json_t *x;
        size_t i;
        cells = calloc(json_array_size(json_object_get(step, "cells")) + 1, sizeof *cells);
        json_array_foreach(json_object_get(step, "cells"), i, x) if (cells && json_string_value(x))
            cells[nc++] = json_string_value(x);
        if (cells && nc)
            notify_change(c->notify, NOTIFY_ASSIGN, r->config, cells, nc);
        free(cells);
    }
    free(ds);
    free(evs);
    store_config_free(&cfg);
    pick_free(&p);
    return res;
}

int ctl_host_step_measure(struct controller *c, const struct store_rollout *r, const json_t *step,
                          const json_t *detail, const struct ctl_sets *sets, int64_t from,
                          int64_t to, struct health_agg *bagg, struct gates_input *in,
                          struct reports_conv *conv, json_t *failures)
{
    char key[32];
    const json_t *by_cell, *list, *x;
    const char **hosts;
    size_t n = 0, cap = 0, i;
    const char *cell;

    if (!ctl_step_host_level(step))
        return 0;
    /* the rest of the same cells, still on their previous version */
    memset(bagg, 0, sizeof *bagg);
    reports_aggregate_cells(c->rp, sets->before.cells, sets->before.versions, sets->before.n,
                            r->config, from, to, sets->before.cache, bagg);
    in->baseline_kind = GATES_BASELINE_CELL_REST;
    /* convergence: the chosen hosts, not every host of the cells */
    snprintf(key, sizeof key, "%lld", (long long)r->step);
    by_cell = json_object_get(json_object_get(detail, "hosts"), key);
    json_object_foreach((json_t *)by_cell, cell, list) cap += json_array_size(list);
    hosts = calloc(cap ? cap : 1, sizeof *hosts);
    json_object_foreach((json_t *)by_cell, cell, list)
        json_array_foreach(list, i, x) if (hosts && json_string_value(x)) hosts[n++] =
            json_string_value(x);
    if (json_is_array(failures))
        json_array_clear(failures);
    reports_convergence_hosts(c->rp, hosts, n, r->config, r->to_version, r->generation,
                              to - c->cfg.host_stale_ms, conv, failures);
    free(hosts);
    return 1;
}

int ctl_host_rollback_cells(struct controller *c, const struct store_rollout *r, const char ***out,
                            size_t *n, struct store_host_assignment **hold, size_t *nhold)
{
    char msg[STORE_MSG_MAX];

    *out = NULL;
    *n = 0;
    *hold = NULL;
    *nhold = 0;
    if (store_host_assignment_list(c->st, NULL, r->config, hold, nhold, msg) != CG_OK) {
        fprintf(stderr, "cellgated: controller: rollout %lld: %s\n", (long long)r->id, msg);
        return -1;
    }
    *out = calloc(*nhold ? *nhold : 1, sizeof **out);
    if (!*out) {
        store_host_assignments_free(*hold, *nhold);
        *hold = NULL;
        *nhold = 0;
        return -1;
    }
    /* ordered by cell: one entry per cell */
    for (size_t i = 0; i < *nhold; i++) {
        const struct store_host_assignment *h = &(*hold)[i];
        if (h->version == r->to_version && (*n == 0 || strcmp((*out)[*n - 1], h->cell) != 0))
            (*out)[(*n)++] = h->cell;
    }
    return 0;
}
