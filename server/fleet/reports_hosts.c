/* SPDX-License-Identifier: MIT */
/* reports_hosts.c: the hosts of one cell and the convergence of named
 * hosts, for one-box canaries (a rollout step that changes some hosts of
 * a cell, docs/plans.md "Host-level waves"); see reports.h. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "reports_int.h"
#include "util.h"

/* Host h's entry for 'config' (key rp_name_key(config)), or NULL. */
static const struct host_cfg *cfg_of(const struct host *h, uint32_t key, const char *config)
{
    for (size_t j = 0; j < h->ncfg; j++)
        if (h->cfg_key[j] == key && strcmp(h->cfg[j].config, config) == 0)
            return &h->cfg[j];
    return NULL;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

int reports_cell_hosts(struct reports *r, const char *cell, const char *config,
                       int64_t seen_after_ms, char (**out)[REPORTS_NAME_MAX], size_t *n)
{
    uint32_t key = config ? rp_name_key(config) : 0;
    char(*v)[REPORTS_NAME_MAX] = NULL;
    size_t cap = 0, cnt = 0;
    struct host *h;

    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&r->mu);
    for (h = r->by_cell[rp_cell_hash(cell)]; h; h = h->cell_next) {
        if (strcmp(h->cell, cell) != 0 || h->last_seen_ms < seen_after_ms ||
            (config && !cfg_of(h, key, config)))
            continue;
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 16;
            void *p = realloc(v, nc * sizeof *v);
            if (!p) {
                pthread_mutex_unlock(&r->mu);
                free(v);
                return -1;
            }
            v = p;
            cap = nc;
        }
        cg_strlcpy(v[cnt++], h->name, REPORTS_NAME_MAX);
    }
    pthread_mutex_unlock(&r->mu);
    if (cnt > 1)
        qsort(v, cnt, sizeof *v, cmp_name);
    *out = v;
    *n = cnt;
    return 0;
}

void reports_convergence_hosts(struct reports *r, const char *const *hosts, size_t nhosts,
                               const char *config, int64_t version, int64_t generation,
                               int64_t seen_after_ms, struct reports_conv *out, json_t *failures)
{
    uint32_t key = rp_name_key(config);

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < nhosts; i++) {
        struct cg_hentry *e = hosts[i] ? cg_hashmap_get(&r->hosts, hosts[i]) : NULL;
        const struct host *h = e ? CG_HENTRY(e, struct host, link) : NULL;
        const struct host_cfg *hc;

        if (!h || h->last_seen_ms < seen_after_ms)
            continue; /* not heard of lately: counts for nothing, like a cell's */
        out->hosts++;
        hc = cfg_of(h, key, config);
        if (hc && hc->lkg_version == version && hc->lkg_generation >= generation) {
            out->converged++;
        } else if (hc && hc->generation >= generation && hc->version == version &&
                   strcmp(hc->outcome, "applied") != 0) {
            out->failed++;
            if (json_is_array(failures) && json_array_size(failures) < 20) {
                json_t *f = json_pack("{s:s,s:s,s:s}", "host", h->name, "cell", h->cell, "outcome",
                                      hc->outcome);
                if (f && hc->detail) {
                    json_t *d = rp_stored_detail(hc->detail);
                    json_object_update(f, d);
                    json_decref(d);
                }
                json_array_append_new(failures, f);
            }
        }
    }
    pthread_mutex_unlock(&r->mu);
}
