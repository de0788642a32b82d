/* SPDX-License-Identifier: MIT */
/*
 * ops_versions.c: validate, publish and delete versions; see ops.h.
 *
 * Publish = validate against the contract and the live version, then one
 * store transaction (version + blob + audit) with compare-and-set on the
 * live version; a concurrent change of the live version makes us validate
 * again instead of landing a version checked against stale state.
 */
#include <stdlib.h>
#include <string.h>

#include "contract_cache.h"
#include "notify.h"
#include "ops.h"
#include "util.h"

#define PUBLISH_RETRIES 8
#define MESSAGE_MAX     4096

int ops_config_live(struct ops *o, const char *name, int want_assigned, struct ops_live *out,
                    struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_config cfg;
    struct store_assignment *as = NULL;
    size_t n = 0;
    int rc;

    memset(out, 0, sizeof *out);
    rc = store_config_get(o->store, name, &cfg, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "no such config");
    out->live = cfg.live_version;
    store_config_free(&cfg);
    rc = store_version_live(o->store, name, &out->base, msg);
    if (rc == CG_OK && want_assigned)
        rc = store_assignment_list(o->store, NULL, name, &as, &n, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "no such config");
    if (want_assigned) {
        out->assigned = json_array();
        /* group the cells by version, versions ascending */
        for (int64_t next = 0;;) {
            int64_t v = INT64_MAX;
            json_t *cells;
            for (size_t i = 0; i < n; i++)
                if (as[i].version > next && as[i].version < v)
                    v = as[i].version;
            if (v == INT64_MAX)
                break;
            cells = json_array();
            for (size_t i = 0; i < n; i++)
                if (as[i].version == v)
                    json_array_append_new(cells, json_string(as[i].cell));
            json_array_append_new(out->assigned,
                                  json_pack("{s:I,s:o}", "version", (json_int_t)v, "cells", cells));
            next = v;
        }
    }
    store_assignments_free(as, n);
    return CG_OK;
}

void ops_live_free(struct ops_live *l)
{
    json_decref(l->assigned);
    l->assigned = NULL;
}

void ops_check_free(struct ops_check *ck)
{
    cg_violations_free(&ck->v);
    cg_doc_free(ck->cand); /* before its contract's reference goes */
    ck->cand = NULL;
    contract_cache_release(NULL, &ck->ref);
}

/* contract_cache_live()'s fetch: the bytes of the version being compared with. */
struct live_fetch {
    struct ops *o;
    const char *sha256;
    char *msg;
};

static int fetch_live(void *arg, void **bytes, size_t *len)
{
    struct live_fetch *lf = arg;
    return store_blob_get(lf->o->store, lf->sha256, bytes, len, lf->msg);
}

int ops_version_check(struct ops *o, const char *name, const void *doc, size_t len,
                      struct ops_check *ck, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_config cfg;
    struct contract_ref *ref = &ck->ref;
    int rc;

    memset(ck, 0, sizeof *ck);
    if (!doc)
        doc = "";
    rc = store_config_get(o->store, name, &cfg, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "no such config");
    /* compiled once per contract text (contract_cache.h) */
    rc = contract_cache_contract(o->contracts, name, cfg.contract_json, strlen(cfg.contract_json),
                                 ref);
    ck->contract_version = cfg.contract_version;
    ck->latest = cfg.latest_version;
    ck->cfg_live = cfg.live_version;
    store_config_free(&cfg);
    if (rc == CG_ERR_NOMEM)
        return ops_store_fail(e, rc, NULL, "contract");
    if (rc != CG_OK)
        return ops_fail(e, CG_ERR_IO, NULL, NULL, "stored contract of %s does not parse", name);
    cg_strlcpy(ck->media_type, cg_contract_media_type(ref->ct), sizeof ck->media_type);
    /* as ops_config_live() finds them, from the row just read */
    ck->live = ck->cfg_live;
    rc = store_version_live(o->store, name, &ck->base, msg);
    if (rc == CG_OK && ck->base > 0) {
        struct store_version lv;
        rc = store_version_get(o->store, name, ck->base, &lv, msg);
        if (rc == CG_OK) {
            struct live_fetch lf = {o, lv.sha256, msg};
            /* prepared once per live version (its sha256) and contract */
            rc = contract_cache_live(o->contracts, name, lv.sha256, fetch_live, &lf, ref);
            if (rc == CG_OK && lv.deleted_ms == 0)
                cg_strlcpy(ck->base_sha256, lv.sha256, sizeof ck->base_sha256);
            store_version_free(&lv);
        }
    }
    if (rc != CG_OK) {
        ops_check_free(ck);
        return ops_store_fail(e, rc, msg, "live version");
    }
    cg_sha256_hex(doc, len, ck->sha256);
    rc = cg_doc_new(ref->ct, doc, len, &ck->cand);
    if (rc == CG_OK)
        rc = cg_contract_check_doc(ref->ct, ck->cand, ref->live, &ck->v);
    if (rc == CG_ERR_NOMEM) {
        ops_check_free(ck);
        return ops_store_fail(e, CG_ERR_NOMEM, NULL, "document");
    }
    return CG_OK;
}

int ops_validate(struct ops *o, const char *name, const void *doc, size_t len,
                 const struct ops_actor *who, struct ops_check *ck, struct ops_err *e)
{
    int rc = ops_scope_check(who, name, e);

    if (rc != CG_OK) {
        memset(ck, 0, sizeof *ck);
        return rc;
    }
    return ops_version_check(o, name, doc, len, ck, e);
}

/* The number of the live or the latest version of 'name' whose bytes hash
 * to 'sha256' (the live one first), 0 when neither does (or on a read
 * error: the publish then goes on and the store decides). */
static int64_t identical_version(struct ops *o, const char *name, const struct ops_check *ck)
{
    char msg[STORE_MSG_MAX];
    const char *sha256 = ck->sha256;
    int64_t cand[2], found = 0;

    /* the config as ops_version_check() just read it */
    cand[0] = ck->cfg_live;
    cand[1] = ck->latest;
    for (size_t i = 0; i < 2 && !found; i++) {
        struct store_version v;

        if (cand[i] > 0 && cand[i] == ck->base && ck->base_sha256[0]) {
            /* read a moment ago, not deleted */
            if (strcmp(ck->base_sha256, sha256) == 0)
                found = cand[i];
            continue;
        }
        if (cand[i] <= 0 || store_version_get(o->store, name, cand[i], &v, msg) != CG_OK)
            continue;
        if (v.deleted_ms == 0 && strcmp(v.sha256, sha256) == 0)
            found = v.number;
        store_version_free(&v);
    }
    return found;
}

int ops_publish(struct ops *o, const char *name, const void *doc, size_t len, const char *message,
                int allow_identical, const struct ops_actor *who, struct store_version *out,
                struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_actor a = ops_store_actor(who);
    int attempt, rc = CG_ERR_CONFLICT;

    if (!cg_valid_name(name))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "invalid config name");
    if (ops_scope_check(who, name, e) != CG_OK)
        return CG_ERR_FORBIDDEN;
    if (message && strlen(message) > MESSAGE_MAX)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "message longer than %d bytes", MESSAGE_MAX);
    if (len == 0)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "the document (request body) is empty");
    a.reason = message ? message : "";
    for (attempt = 0; attempt < PUBLISH_RETRIES && rc == CG_ERR_CONFLICT; attempt++) {
        struct ops_check ck;
        struct store_publish p;

        rc = ops_version_check(o, name, doc, len, &ck, e);
        if (rc != CG_OK)
            return rc;
        if (ck.v.count > 0) {
            rc = ops_fail(
                e, CG_ERR_VIOLATION, "contract_violation",
                json_pack("{s:o,s:I,s:I}", "violations", cg_violations_to_json(&ck.v),
                          "live_version", (json_int_t)ck.live, "base_version", (json_int_t)ck.base),
                "the document violates the contract of %s (%zu violation%s%s)", name, ck.v.count,
                ck.v.count == 1 ? "" : "s", ck.v.truncated ? ", list truncated" : "");
            ops_check_free(&ck);
            return rc;
        }
        if (!allow_identical) {
            int64_t same = identical_version(o, name, &ck);

            if (same > 0) {
                ops_check_free(&ck);
                return ops_fail(e, CG_ERR_CONFLICT, "identical",
                                json_pack("{s:I}", "existing_version", (json_int_t)same),
                                "the document is identical to version %lld of %s (sha256 %.12s): "
                                "nothing published; pass allow_identical (cellgate publish "
                                "--allow-identical) to "
                                "publish it again",
                                (long long)same, name, ck.sha256);
            }
        }
        memset(&p, 0, sizeof p);
        p.config = name;
        p.bytes = doc;
        p.len = len;
        p.sha256 = ck.sha256;
        p.media_type = ck.media_type;
        p.message = message;
        p.expect_live = ck.base;
        p.expect_contract_version = ck.contract_version;
        rc = store_version_publish(o->store, &p, &a, out, msg);
        if (rc == CG_OK && ck.v.count == 0) {
            /* the next publish's comparison base, unless another version
             * is live: prepared already (contract_cache_put_live()) */
            contract_cache_put_live(o->contracts, name, ck.sha256, &ck.ref, ck.cand);
            ck.cand = NULL;
        }
        ops_check_free(&ck);
    }
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "no such config");
    notify_change(o->notify, NOTIFY_CONFIG, name, NULL, 0);
    return CG_OK;
}

int ops_version_delete(struct ops *o, const char *name, int64_t number, const struct ops_actor *who,
                       struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_actor a = ops_store_actor(who);
    int rc = ops_scope_check(who, name, e);

    if (rc != CG_OK)
        return rc;
    rc = store_version_delete(o->store, name, number, &a, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "no such version");
    notify_change(o->notify, NOTIFY_CONFIG, name, NULL, 0);
    return CG_OK;
}
