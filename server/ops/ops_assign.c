/* SPDX-License-Identifier: MIT */
/* ops_assign.c: assigning a version to cells by hand; see ops.h. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify.h"
#include "ops.h"
#include "util.h"

/* I1 at assignment: the version's bytes still satisfy the contract's
 * document rules (schema, size, depth, cardinality). */
static int recheck_contract(struct ops *o, const struct store_config *c,
                            const struct store_version *v, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct cg_contract *ct = NULL;
    struct cg_violations vi = {0};
    void *bytes = NULL;
    size_t len = 0;
    int rc;

    if (cg_contract_parse(c->contract_json, strlen(c->contract_json), &ct, &vi) != CG_OK) {
        cg_violations_free(&vi);
        return ops_fail(e, CG_ERR_IO, NULL, NULL, "stored contract does not parse");
    }
    rc = store_blob_get(o->store, v->sha256, &bytes, &len, msg);
    if (rc != CG_OK) {
        cg_contract_free(ct);
        return ops_store_fail(e, rc, msg, "blob");
    }
    rc = cg_contract_check(ct, bytes, len, NULL, 0, &vi);
    free(bytes);
    cg_contract_free(ct);
    if (rc == CG_ERR_VIOLATION) {
        rc = ops_fail(e, CG_ERR_VIOLATION, "contract_violation",
                      json_pack("{s:o}", "violations", cg_violations_to_json(&vi)),
                      "version %lld of %s violates its contract and cannot be assigned",
                      (long long)v->number, c->name);
        cg_violations_free(&vi);
        return rc;
    }
    cg_violations_free(&vi);
    return rc == CG_OK ? CG_OK : ops_store_fail(e, rc, NULL, "contract");
}

#define OPS_FORCE_TRIES 64 /* reads of a generation that keeps moving under a forced assign */

int ops_assign(struct ops *o, const char *name, int64_t version, const char *const *cells,
               size_t ncells, int64_t expect_generation, const struct ops_actor *who,
               int64_t *generation, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_config c;
    struct store_version v;
    struct store_actor a = ops_store_actor(who);
    size_t i, j;
    int rc;

    if ((rc = ops_scope_check(who, name, e)) != CG_OK)
        return rc;
    if (version < 1 || ncells == 0 || ncells > OPS_ASSIGN_MAX_CELLS)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "assignment needs version (>= 1) and cells (1..%d cell ids)",
                        OPS_ASSIGN_MAX_CELLS);
    for (i = 0; i < ncells; i++) {
        if (!cells[i] || !cg_valid_name(cells[i]))
            return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "cells[%zu] is not a cell id", i);
        for (j = 0; j < i; j++)
            if (strcmp(cells[j], cells[i]) == 0)
                return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "cell %s is listed twice", cells[i]);
    }
    rc = store_config_get(o->store, name, &c, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "no such config");
    if ((rc = ops_cells_in_fleet(o, name, cells, ncells, e)) != CG_OK) {
        store_config_free(&c);
        return rc;
    }
    rc = store_version_get(o->store, name, version, &v, msg);
    if (rc != CG_OK) {
        store_config_free(&c);
        return ops_store_fail(e, rc, rc == CG_ERR_NOTFOUND ? "no such version" : msg, "version");
    }
    if (v.deleted_ms)
        rc = ops_fail(e, CG_ERR_CONFLICT, NULL, NULL, "version %lld of %s is deleted",
                      (long long)version, name);
    else if ((rc = ops_policy_assign_allowed(o, name, version, e)) == CG_OK)
        rc = recheck_contract(o, &c, &v, e);
    if (rc == CG_OK) {
        int force = expect_generation < 0, tries = 0;
        if (force)
            expect_generation = c.generation;
        rc = store_assign(o->store, name, cells, ncells, version, expect_generation, &a, generation,
                          msg);
        /* force overrides whatever changed since: a generation that moved
         * under it is read again (the compare-and-set still makes every
         * write land on exactly the generation it replaced) */
        while (force && rc == CG_ERR_CONFLICT && strstr(msg, "generation") &&
               ++tries < OPS_FORCE_TRIES) {
            struct store_config now;
            /* racing forced writers: back off a little, jittered, so one
             * of them is not starved by the others' commits */
            struct timespec pause = {0, (long)cg_rand_below((uint64_t)tries * 1000000u) + 100000L};
            nanosleep(&pause, NULL);
            if (store_config_get(o->store, name, &now, msg) != CG_OK)
                break;
            expect_generation = now.generation;
            store_config_free(&now);
            rc = store_assign(o->store, name, cells, ncells, version, expect_generation, &a,
                              generation, msg);
        }
        if (rc != CG_OK)
            rc = ops_store_fail(e, rc, msg, "cell");
        else
            notify_change(o->notify, NOTIFY_ASSIGN, name, cells, ncells);
    }
    store_version_free(&v);
    store_config_free(&c);
    return rc;
}
