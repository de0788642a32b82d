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
