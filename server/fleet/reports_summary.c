/* SPDX-License-Identifier: MIT */
/* reports_summary.c: the fleet at a glance (reports_summary(), for the
 * dashboard's overview): hosts known, fresh and stale, and their configs'
 * latest outcomes counted by outcome. One pass under the lock, integers
 * only. */
#include <string.h>

#include "reports.h"
#include "reports_int.h"
#include "util.h"

void reports_summary(struct reports *r, int64_t now_ms, int64_t fresh_ms,
                     struct reports_summary *out)
{
    memset(out, 0, sizeof *out);
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    for (const struct host *h = r->lru_head; h; h = h->lru_next) {
        out->hosts++;
        if (now_ms - h->last_seen_ms <= fresh_ms)
            out->fresh++;
        else
            out->stale++;
        for (size_t i = 0; i < h->ncfg; i++) {
            const char *o = h->cfg[i].outcome[0] ? h->cfg[i].outcome : "unknown";
            size_t k;
            for (k = 0; k < out->noutcomes && strcmp(out->outcomes[k].name, o) != 0; k++)
                ;
            if (k == out->noutcomes) {
                if (k == REPORTS_SUMMARY_OUTCOMES) {
                    out->other++;
                    continue;
                }
                cg_strlcpy(out->outcomes[k].name, o, sizeof out->outcomes[k].name);
                out->noutcomes++;
            }
            out->outcomes[k].count++;
        }
    }
    pthread_mutex_unlock(&r->mu);
}

int reports_outcome_failed(const char *o)
{
    return o && (strcmp(o, "rejected") == 0 || strcmp(o, "reload_failed") == 0 ||
                 strcmp(o, "verify_failed") == 0);
}

/* Adds host h's configs to g's versions. */
static void glance_add(struct reports_cell_glance *g, const struct host *h)
{
    int failed = 0;

    for (size_t i = 0; i < h->ncfg; i++) {
        const struct host_cfg *c = &h->cfg[i];
        size_t k;
        failed |= reports_outcome_failed(c->outcome);
        for (k = 0; k < g->nversions; k++)
            if (g->versions[k].version == c->version &&
                g->versions[k].lkg_version == c->lkg_version &&
                strcmp(g->versions[k].config, c->config) == 0)
                break;
        if (k == g->nversions) {
            if (k == REPORTS_GLANCE_VERSIONS) {
                g->other++;
                continue;
            }
            cg_strlcpy(g->versions[k].config, c->config, sizeof g->versions[k].config);
            g->versions[k].version = c->version;
            g->versions[k].lkg_version = c->lkg_version;
            g->nversions++;
        }
        g->versions[k].hosts++;
    }
    g->failed += (uint64_t)failed;
}

void reports_cells_glance(struct reports *r, const char *const *cells, size_t n, int64_t now_ms,
                          int64_t fresh_ms, struct reports_cell_glance *out)
{
    memset(out, 0, n * sizeof *out);
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        struct reports_cell_glance *g = &out[i];
        if (!cells[i] || !cells[i][0])
            continue; /* hosts with no cell are on no chain */
        for (const struct host *h = r->by_cell[rp_cell_hash(cells[i])]; h; h = h->cell_next) {
            if (strcmp(h->cell, cells[i]) != 0)
                continue;
            g->hosts++;
            if (now_ms - h->last_seen_ms <= fresh_ms)
                g->fresh++;
            else
                g->stale++;
            if (h->last_seen_ms > g->last_seen_ms)
                g->last_seen_ms = h->last_seen_ms;
            glance_add(g, h);
        }
    }
    pthread_mutex_unlock(&r->mu);
}
