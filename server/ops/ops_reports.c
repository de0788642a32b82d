/* SPDX-License-Identifier: MIT */
/* ops_reports.c: ingesting agent reports; see ops.h. */
#include <string.h>

#include "json.h"
#include "ops.h"
#include "replica.h"
#include "reports.h"
#include "util.h"

int ops_report(struct ops *o, const char *cell, const json_t *report, int64_t now_ms,
               const struct ops_actor *who, struct ops_err *e)
{
    struct reports_change ch[REPORTS_MAX_CONFIGS];
    char msg[256] = "", smsg[STORE_MSG_MAX];
    size_t n = 0, i;

    if (!cg_valid_name(cell))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "report needs the cell it is for");
    if (who && who->role == ROLE_AGENT && (!who->cell || strcmp(who->cell, cell) != 0))
        return ops_fail(e, CG_ERR_FORBIDDEN, NULL, NULL,
                        "this agent token is bound to cell %s, not %s", who->cell ? who->cell : "",
                        cell);
    if (reports_ingest(o->reports, report, cell, now_ms, ch, &n, msg) < 0)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "%s", msg);
    replica_relay(o->replica, cell, now_ms, report); /* the other replicas' gates see it */
    {
        long long sent = cg_json_int(report, "sent_at_ms", -1, NULL);
        long long win = cg_json_int(report, "window_ms", -1, NULL);
        /* a host clock ahead of ours reads as no lag, not as negative */
        double lag = sent < 0 ? -1.0 : (now_ms > sent ? (double)(now_ms - sent) / 1000.0 : 0.0);
        reports_observe(o->reports, lag, win < 0 ? -1.0 : (double)win / 1000.0);
    }
    /* Persist applied / last-known-good changes: they pin versions (I3). */
    for (i = 0; i < n; i++) {
        struct store_host_version hv;
        memset(&hv, 0, sizeof hv);
        cg_strlcpy(hv.host, ch[i].host, sizeof hv.host);
        cg_strlcpy(hv.cell, ch[i].cell, sizeof hv.cell);
        cg_strlcpy(hv.config, ch[i].config, sizeof hv.config);
        hv.applied_version = ch[i].applied_version;
        hv.applied_generation = ch[i].applied_generation;
        hv.lkg_version = ch[i].lkg_version;
        if (store_host_version_put(o->store, &hv, smsg) != CG_OK &&
            strstr(smsg, "FOREIGN KEY") == NULL)
            return ops_store_fail(e, CG_ERR_IO, smsg, "host version");
    }
    return CG_OK;
}
