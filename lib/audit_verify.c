/* SPDX-License-Identifier: MIT */
/*
 * audit_verify.c - client-side verification of the audit hash chain.
 *
 * Trusts nothing the server computed: every hash is recomputed from the
 * record's fields with cg_audit_hash() (common/audit.h), every prev_hash
 * must equal the hash *we* computed for the record before, seq must grow,
 * and the human-readable "time" must agree with the hashed time_ms.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "lib-internal.h"
#include "util.h"

/* Records per page while walking (the API maximum). */
#define WALK_PAGE 1000

void cg__audit_walk_init(struct cg__audit_walk *w)
{
    memset(w, 0, sizeof *w);
    cg_strlcpy(w->last_hash, CG_AUDIT_GENESIS, sizeof w->last_hash);
}

static int broken(struct cg_audit_report *rep, struct cg_error *err, int64_t seq, const char *why)
{
    if (rep) {
        rep->bad_seq = seq;
        cg_strlcpy(rep->why, why, sizeof rep->why);
    }
    return cg__error_set(err, CG_ERR_VERIFY, 0, "audit chain broken at seq %" PRId64 ": %s", seq,
                         why);
}

/* A string field that may also be null (hashed as ""). Returns false when
 * it is present with another type. */
static bool text_field(const json_t *rec, const char *key, bool required, const char **out)
{
    const json_t *v = json_object_get(rec, key);

    *out = "";
    if (!v || json_is_null(v)) {
        return !required;
    }
    if (!json_is_string(v)) {
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* Checks one record; fills 'why' and returns false when it is bad. */
static bool check_record(const struct cg__audit_walk *w, const json_t *rec, int64_t seq,
                         char computed[65], char *why, size_t whylen)
{
    static const char *const texts[] = {"actor", "action", "object", "reason"};
    struct cg_audit_fields f = {0};
    const char *vals[4], *hash, *time_str;
    int bad = 0;
    int64_t parsed_ms;

    f.time_ms = cg_json_int(rec, "time_ms", -1, &bad);
    if (bad || f.time_ms < 0) {
        snprintf(why, whylen, "time_ms is missing or not an integer");
        return false;
    }
    if (!text_field(rec, "prev_hash", true, &f.prev_hash) ||
        !text_field(rec, "hash", true, &hash)) {
        snprintf(why, whylen, "prev_hash or hash is missing or not a string");
        return false;
    }
    for (size_t i = 0; i < CG_ARRAY_SIZE(texts); i++) {
        if (!text_field(rec, texts[i], false, &vals[i])) {
            snprintf(why, whylen, "field %s is not a string", texts[i]);
            return false;
        }
    }
    if (!text_field(rec, "before", false, &f.before) ||
        !text_field(rec, "after", false, &f.after)) {
        snprintf(why, whylen, "before/after must be JSON texts (strings)");
        return false;
    }
    f.seq = seq;
    f.actor = vals[0];
    f.action = vals[1];
    f.object = vals[2];
    f.reason = vals[3];
    if (strcmp(f.prev_hash, w->last_hash) != 0) {
        if (w->records == 0) {
            snprintf(why, whylen, "the first record's prev_hash is %.16s..., not the genesis hash",
                     f.prev_hash);
        } else {
            snprintf(why, whylen,
                     "prev_hash %.16s... does not link to seq %" PRId64 " (hash %.16s...): "
                     "a record was removed, inserted or reordered",
                     f.prev_hash, w->last_seq, w->last_hash);
        }
        return false;
    }
    cg_audit_hash(&f, computed);
    if (strcmp(computed, hash) != 0) {
        snprintf(why, whylen,
                 "hash mismatch: stored %.16s..., recomputed %.16s...: the record was altered",
                 hash, computed);
        return false;
    }
    if (text_field(rec, "time", false, &time_str) && time_str[0] &&
        (cg_time_parse(time_str, &parsed_ms) != 0 || parsed_ms != f.time_ms)) {
        snprintf(why, whylen, "time \"%s\" does not match the hashed time_ms %" PRId64, time_str,
                 f.time_ms);
        return false;
    }
    return true;
}

int cg__audit_walk_check(struct cg__audit_walk *w, const json_t *records,
                         struct cg_audit_report *rep, struct cg_error *err)
{
    size_t i;
    const json_t *rec;

    json_array_foreach(records, i, rec)
    {
        char why[CG_ERRMSG_MAX - 64];
        char computed[65];
        int bad = 0;
        int64_t seq = json_is_object(rec) ? cg_json_int(rec, "seq", -1, &bad) : -1;

        if (bad || seq <= 0) {
            return broken(rep, err, w->last_seq + 1, "record without a valid seq");
        }
        if (seq <= w->last_seq) {
            snprintf(why, sizeof why, "seq does not increase (after %" PRId64 ")", w->last_seq);
            return broken(rep, err, seq, why);
        }
        if (!check_record(w, rec, seq, computed, why, sizeof why)) {
            return broken(rep, err, seq, why);
        }
        w->records++;
        w->last_seq = seq;
        memcpy(w->last_hash, computed, sizeof w->last_hash);
        if (rep) {
            rep->records = w->records;
            rep->last_seq = seq;
            memcpy(rep->last_hash, computed, sizeof rep->last_hash);
        }
    }
    return CG_OK;
}

int cg_audit_verify(struct cg_client *c, struct cg_audit_report *rep, struct cg_error *err)
{
    struct cg__audit_walk w;

    if (!rep || rep->size < sizeof *rep) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "audit report missing or too small");
    }
    rep->records = 0;
    rep->last_seq = 0;
    rep->last_hash[0] = '\0';
    rep->bad_seq = 0;
    rep->why[0] = '\0';
    cg__audit_walk_init(&w);
    for (;;) {
        struct cg_result *page = NULL;
        int64_t before = w.last_seq;
        size_t n;
        int rc = cg_audit_list(c, w.last_seq, WALK_PAGE, &page, err);

        if (rc != CG_OK) {
            return rc;
        }
        n = cg_result_count(page);
        rc = cg__audit_walk_check(&w, page->items, rep, err);
        cg_result_free(page);
        if (rc != CG_OK) {
            return rc;
        }
        if (n == 0) {
            break;
        }
        if (w.last_seq <= before) {
            return cg__error_set(err, CG_ERR_PROTOCOL, 0, "audit paging does not advance");
        }
    }
    return CG_OK;
}
