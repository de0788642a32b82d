/* SPDX-License-Identifier: MIT */
/* ops_reports.c: ingesting agent reports; see ops.h. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "ops.h"
#include "desired.h"
#include "replica.h"
#include "reports.h"
#include "util.h"

/* The report with only the entries of "configs" whose config is assigned
 * to 'cell' (a new reference; the report itself when nothing is dropped);
 * *dropped gets how many were left out. NULL when out of memory. */
static json_t *only_assigned(struct ops *o, const char *cell, const json_t *report, size_t *dropped)
{
    json_t *cfgs = json_object_get(report, "configs"), *c, *copy, *kept;
    size_t i;

    *dropped = 0;
    if (!o->desired || !json_is_array(cfgs))
        return json_incref((json_t *)report);
    json_array_foreach(cfgs, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "config"));
        *dropped += name && !desired_assigned(o->desired, cell, name);
    }
    if (*dropped == 0)
        return json_incref((json_t *)report);
    copy = json_copy((json_t *)report);
    kept = json_array();
    if (!copy || !kept) {
        json_decref(copy);
        json_decref(kept);
        return NULL;
    }
    json_array_foreach(cfgs, i, c)
    {
        const char *name = json_string_value(json_object_get(c, "config"));
        if (!name || desired_assigned(o->desired, cell, name))
            json_array_append(kept, c);
    }
    json_object_set_new(copy, "configs", kept);
    return copy;
}

/*
 * A host holds a generation of a config above the store's (a store restored
 * from a backup without enough --bump-generations, or a PostgreSQL restore
 * not raised): log it, count it, and raise the config's generation to it,
 * so the next assignment is newer than what the host holds (I2). The
 * cache in reports makes this one comparison per entry; the store is read
 * only when an entry is above every generation this replica has seen of
 * the config. The raise is a conditional write in the store (a replica
 * that saw the same report already, or a controller that assigned since,
 * leaves it nothing to do), so replicas need no coordination: an
 * assignment decided on the old generation fails its compare-and-set.
 */
static void check_ahead(struct ops *o, const char *cell, const json_t *report)
{
    struct store_actor sys = {"system", "a host reported a generation above the config's"};
    const char *host = json_string_value(json_object_get(report, "host"));
    json_t *c;
    size_t i;

    json_array_foreach(json_object_get(report, "configs"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "config"));
        const char *outcome = json_string_value(json_object_get(c, "outcome"));
        int64_t held = cg_json_int(c, "lkg_generation", 0, NULL);
        int64_t gen = cg_json_int(c, "generation", 0, NULL);
        char smsg[STORE_MSG_MAX] = "";
        struct store_config cfg;
        int raised = 0, rc;

        if (outcome && strcmp(outcome, "applied") == 0 && gen > held)
            held = gen;
        if (!name || !host || held <= 0 || !reports_generation_unknown(o->reports, name, held))
            continue;
        if (store_config_get(o->store, name, &cfg, smsg) != CG_OK)
            continue; /* looked at again with the next report */
        gen = cfg.generation;
        store_config_free(&cfg);
        if (held <= gen) {
            reports_generation_note(o->reports, name, gen);
            continue;
        }
        reports_note_generation_ahead(o->reports);
        rc = held <= STORE_GENERATION_MAX
                 ? store_config_raise_generation(o->store, name, held, host, &sys, &raised, smsg)
                 : CG_ERR_INVALID;
        fprintf(stderr,
                "cellgated: GENERATION: host %s of cell %s holds generation %lld of config %s, "
                "above the store's %lld (restored from a backup without enough "
                "--bump-generations?): %s\n",
                host, cell, (long long)held, name, (long long)gen,
                rc == CG_OK ? (raised ? "raised the config's generation to it; its next "
                                        "assignment is newer"
                                      : "another writer raised it already")
                : held > STORE_GENERATION_MAX ? "too large to raise to"
                                              : smsg);
        if (rc == CG_OK)
            reports_generation_note(o->reports, name, held);
    }
}

int ops_report(struct ops *o, const char *cell, const json_t *report, int64_t now_ms,
               const struct ops_actor *who, struct ops_err *e)
{
    struct reports_change ch[REPORTS_MAX_CONFIGS];
    char msg[256] = "", smsg[STORE_MSG_MAX];
    size_t n = 0, i, dropped = 0;
    const char *claimed = NULL;
    json_t *kept;
    int rc;

    if (!cg_valid_name(cell))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "report needs the cell it is for");
    if (who && who->role == ROLE_AGENT && (!who->cell || strcmp(who->cell, cell) != 0))
        return ops_fail(e, CG_ERR_FORBIDDEN, NULL, NULL,
                        "this agent token is bound to cell %s, not %s", who->cell ? who->cell : "",
                        cell);
    /* An agent certificate names one host: it reports as that host only. */
    if (who && who->role == ROLE_AGENT && who->host && *who->host) {
        const char *host = json_string_value(json_object_get(report, "host"));
        if (!host || strcmp(host, who->host) != 0)
            return ops_fail(e, CG_ERR_FORBIDDEN, NULL, NULL,
                            "this agent's certificate names host %s, not %s: an agent with a "
                            "client certificate reports only as the host it names "
                            "(cellgate://%s/%s)",
                            who->host, host ? host : "(none)", who->cell ? who->cell : "",
                            who->host);
    }
    /* A host's identity belongs to the agent credential that first reported
     * as it: another credential (even of its own cell) cannot take it over. */
    if (who && who->role == ROLE_AGENT && who->name) {
        const char *host = json_string_value(json_object_get(report, "host"));
        if (host && cg_valid_name(host) && !reports_claim_known(o->reports, host, who->name)) {
            struct store_host_claim hc;
            rc = store_host_claim(o->store, host, cell, who->name, &hc, smsg);
            if (rc != CG_OK)
                return ops_store_fail(e, rc, smsg, "host");
            if (strcmp(hc.credential, who->name) != 0)
                return ops_fail(e, CG_ERR_FORBIDDEN, NULL, NULL,
                                "host %s belongs to another agent credential (%s, cell %s); an "
                                "admin releases it with DELETE /v1/hosts/%s",
                                host, hc.credential, hc.cell, host);
            claimed = host;
        }
    }
    /* Only configs assigned to the cell: a host cannot report (and so pin,
     * I3) a last-known-good of a config its cell never had. */
    kept = only_assigned(o, cell, report, &dropped);
    if (!kept)
        return ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
    if (dropped)
        reports_note_unassigned(o->reports, dropped);
    rc = reports_ingest(o->reports, kept, cell, now_ms, ch, &n, msg);
    if (rc == 0 && claimed)
        reports_claim_set(o->reports, claimed, who->name); /* checked: no store read next time */
    if (rc == 0)
        replica_relay(o->replica, cell, now_ms, kept); /* the other replicas' gates see it */
    if (rc == 0)
        check_ahead(o, cell, kept);
    json_decref(kept);
    if (rc < 0)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "%s", msg);
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
            strstr(smsg, "FOREIGN KEY") == NULL) {
            /* this one and the rest are written again at the next report */
            for (size_t k = i; k < n; k++)
                reports_view_unpersisted(o->reports, ch[k].host, ch[k].config);
            return ops_store_fail(e, CG_ERR_IO, smsg, "host version");
        }
    }
    return CG_OK;
}

int ops_host_forget(struct ops *o, const char *host, const struct ops_actor *who, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_actor a = ops_store_actor(who);
    int rc;

    if (!cg_valid_name(host))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "a host is a name (1-63 chars of [a-z0-9._-])");
    rc = store_host_forget(o->store, host, &a, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "host");
    reports_host_forget(o->reports, host);
    return CG_OK;
}

int ops_host_release(struct ops *o, const char *host, const struct ops_actor *who,
                     struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_actor a = ops_store_actor(who);
    int rc;

    if (!cg_valid_name(host))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "a host is a name (1-63 chars of [a-z0-9._-])");
    rc = store_host_release(o->store, host, &a, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "host");
    reports_claim_set(o->reports, host, "");
    return CG_OK;
}
