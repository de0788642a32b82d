/* SPDX-License-Identifier: MIT */
/*
 * audit_verify.c - client-side verification of the audit hash chain, and
 * of the chain against signed audit checkpoints (cg_audit_verify_with()).
 *
 * Trusts nothing the server computed: every hash is recomputed from the
 * record's fields with cg_audit_hash() (common/audit.h), every prev_hash
 * must equal the hash *we* computed for the record before, seq must grow,
 * and the human-readable "time" must agree with the hashed time_ms.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "checkpoint.h"
#include "lib-internal.h"
#include "sign.h"
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
        if (w->on_record) {
            int rc = w->on_record(w->ctx, seq, computed, rep, err);
            if (rc != CG_OK) {
                return rc;
            }
        }
    }
    return CG_OK;
}

/* Walks every page of the log with w (initialised), as cg_audit_verify(). */
static int walk_all(struct cg_client *c, struct cg__audit_walk *w, struct cg_audit_report *rep,
                    struct cg_error *err)
{
    for (;;) {
        struct cg_result *page = NULL;
        int64_t before = w->last_seq;
        size_t n;
        int rc = cg_audit_list(c, w->last_seq, WALK_PAGE, &page, err);

        if (rc != CG_OK) {
            return rc;
        }
        n = cg_result_count(page);
        rc = cg__audit_walk_check(w, page->items, rep, err);
        cg_result_free(page);
        if (rc != CG_OK) {
            return rc;
        }
        if (n == 0) {
            break;
        }
        if (w->last_seq <= before) {
            return cg__error_set(err, CG_ERR_PROTOCOL, 0, "audit paging does not advance");
        }
    }
    return CG_OK;
}

static void report_reset(struct cg_audit_report *rep)
{
    rep->records = 0;
    rep->last_seq = 0;
    rep->last_hash[0] = '\0';
    rep->bad_seq = 0;
    rep->why[0] = '\0';
}

int cg_audit_verify(struct cg_client *c, struct cg_audit_report *rep, struct cg_error *err)
{
    struct cg__audit_walk w;

    /* a report from before the checkpoint fields is still served */
    if (!rep || rep->size < offsetof(struct cg_audit_report, failure)) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "audit report missing or too small");
    }
    report_reset(rep);
    cg__audit_walk_init(&w);
    return walk_all(c, &w, rep, err);
}

/* ---- Checkpoints (cg_audit_verify_with()) ---- */

#define MAX_KEYS 16 /* trusted keys */

/* One checkpoint to compare with the chain. */
struct ck_item {
    struct cg_checkpoint c;
    int expected;  /* the caller's expected head: no signature */
    int verified;  /* its signature verified with a trusted key */
    char from[48]; /* where it came from, for messages */
};

/* Checkpoints in seq order, consumed from 'next' on. */
struct ck_list {
    struct ck_item *v;
    size_t n, cap, next;
};

struct ck_ctx {
    struct cg_client *c;
    struct cg_pubkey keys[MAX_KEYS];
    size_t nkeys;
    int keys_loaded;
    struct ck_list local; /* the expected head, the saved lines, the server's latest */
    struct ck_list page;  /* the server's current page */
    int64_t page_after;   /* the cursor of the server's next page; -1: no more */
};

static int ck_push(struct ck_list *l, const struct ck_item *it, struct cg_error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct ck_item *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *it;
    return CG_OK;
}

static int by_seq(const void *a, const void *b)
{
    const struct ck_item *x = a, *y = b;

    return x->c.seq < y->c.seq ? -1 : x->c.seq > y->c.seq;
}

/* A failure of kind f at seq, with a message. */
static int failed(struct cg_audit_report *rep, struct cg_error *err, int f, int64_t seq,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int failed(struct cg_audit_report *rep, struct cg_error *err, int f, int64_t seq,
                  const char *fmt, ...)
{
    char why[CG_ERRMSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    rep->failure = f;
    rep->bad_seq = seq;
    cg_strlcpy(rep->why, why, sizeof rep->why);
    return cg__error_set(err, CG_ERR_VERIFY, 0, "%s", why);
}

/* The trusted keys: the caller's, or the server's own (read once). */
static int load_keys(struct ck_ctx *x, const struct cg_audit_verify_opts *o,
                     struct cg_audit_report *rep, struct cg_error *err)
{
    struct cg_result *r = NULL;
    char why[128];
    int rc;

    if (x->keys_loaded) {
        return CG_OK;
    }
    x->keys_loaded = 1;
    if (o->npubkeys > MAX_KEYS) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "at most %d trusted keys", MAX_KEYS);
    }
    for (size_t i = 0; i < o->npubkeys; i++) {
        if (cg_pubkey_from_hex(o->pubkeys[i], &x->keys[i], why, sizeof why) != CG_OK) {
            return cg__error_set(err, CG_ERR_INVALID, 0, "trusted key %zu: %s", i + 1, why);
        }
    }
    x->nkeys = o->npubkeys;
    if (x->nkeys == 0) {
        const char *hex;
        rc = cg_agent_pubkey(x->c, &r, err);
        if (rc != CG_OK) {
            return rc;
        }
        hex = cg_obj_str(cg_result_obj(r), "public_key");
        rc = cg_pubkey_from_hex(hex ? hex : "", &x->keys[0], why, sizeof why);
        cg_result_free(r);
        if (rc != CG_OK) {
            return cg__error_set(err, CG_ERR_PROTOCOL, 0, "the server's public key: %s", why);
        }
        x->nkeys = 1;
    }
    cg_strlcpy(rep->key_id, x->keys[0].key_id, sizeof rep->key_id);
    return CG_OK;
}

/* Checks the signature of a checkpoint that is not the expected head. */
static int check_sig(struct ck_ctx *x, const struct cg_audit_verify_opts *o, struct ck_item *it,
                     struct cg_audit_report *rep, struct cg_error *err)
{
    char why[160];
    int rc = load_keys(x, o, rep, err);

    if (rc != CG_OK) {
        return rc;
    }
    rc = cg_checkpoint_verify(&it->c, x->keys, x->nkeys, why, sizeof why);
    if (rc == CG_OK) {
        it->verified = 1;
        rep->checkpoints_verified++;
    } else if (rc == CG_ERR_NOTFOUND) {
        rep->checkpoints_unknown++;
    } else {
        return failed(rep, err, CG_AUDIT_FORGED, it->c.seq, "checkpoint seq %" PRId64 " (%s): %s",
                      it->c.seq, it->from, why);
    }
    return CG_OK;
}

/* The saved lines into the local list. */
static int load_saved(struct ck_ctx *x, const struct cg_audit_verify_opts *o,
                      struct cg_audit_report *rep, struct cg_error *err)
{
    const char *p = o->saved, *end = o->saved + o->saved_len;
    size_t line = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct ck_item it;
        char why[160];
        int rc;

        line++;
        memset(&it, 0, sizeof it);
        if (len > 0) {
            if (cg_checkpoint_parse_line(p, len, &it.c, why, sizeof why) != CG_OK) {
                return failed(rep, err, CG_AUDIT_BAD_SAVED, 0,
                              "saved checkpoint line %zu is not a checkpoint: %s", line, why);
            }
            snprintf(it.from, sizeof it.from, "saved line %zu", line);
            rc = check_sig(x, o, &it, rep, err);
            if (rc == CG_OK) {
                rc = ck_push(&x->local, &it, err);
            }
            if (rc != CG_OK) {
                return rc;
            }
        }
        p += len + (nl ? 1 : 0);
    }
    return CG_OK;
}

/* Reads the server's next page of checkpoints into x->page (and, on the
 * first page, its "latest" into the local list). A server without the
 * route (404) has none. */
static int fetch_page(struct ck_ctx *x, const struct cg_audit_verify_opts *o,
                      struct cg_audit_report *rep, struct cg_error *err)
{
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    int first = x->page_after == 0;
    const json_t *latest;
    size_t i;
    int rc = cg_audit_checkpoints_page(x->c, x->page_after, WALK_PAGE, &r, &e);

    x->page.n = x->page.next = 0;
    if (rc == CG_ERR_NOTFOUND && first) {
        x->page_after = -1; /* a server from before checkpoints */
        return CG_OK;
    }
    if (rc != CG_OK) {
        if (err) {
            *err = e;
        }
        return rc;
    }
    rep->checkpoints_served = 1;
    for (i = 0; rc == CG_OK && r->items && i < json_array_size(r->items); i++) {
        struct ck_item it;
        char why[160];
        memset(&it, 0, sizeof it);
        if (cg_checkpoint_from_json(json_array_get(r->items, i), &it.c, why, sizeof why) != CG_OK) {
            rc = cg__error_set(err, CG_ERR_PROTOCOL, 0, "the server's checkpoint: %s", why);
            break;
        }
        snprintf(it.from, sizeof it.from, "from the server");
        rc = check_sig(x, o, &it, rep, err);
        if (rc == CG_OK) {
            rc = ck_push(&x->page, &it, err);
        }
    }
    latest = json_object_get(r->json, "latest");
    if (rc == CG_OK && first && json_is_object(latest)) {
        struct ck_item it;
        char why[160];
        memset(&it, 0, sizeof it);
        if (cg_checkpoint_from_json(latest, &it.c, why, sizeof why) != CG_OK) {
            rc = cg__error_set(err, CG_ERR_PROTOCOL, 0, "the server's latest checkpoint: %s", why);
        } else {
            snprintf(it.from, sizeof it.from, "the server's latest, kept outside its database");
            rc = check_sig(x, o, &it, rep, err);
            if (rc == CG_OK) {
                rc = ck_push(&x->local, &it, err);
            }
            if (rc == CG_OK && x->local.n > 1) {
                qsort(x->local.v, x->local.n, sizeof *x->local.v, by_seq);
            }
        }
    }
    x->page_after = -1;
    if (rc == CG_OK && r->next_after[0] && x->page.n > 0) {
        x->page_after = x->page.v[x->page.n - 1].c.seq;
    }
    cg_result_free(r);
    return rc;
}

/* Compares the checkpoints of l that are due at record (seq, hash). */
static int match_list(struct ck_list *l, int64_t seq, const char *hash, struct cg_audit_report *rep,
                      struct cg_error *err)
{
    while (l->next < l->n && l->v[l->next].c.seq <= seq) {
        struct ck_item *it = &l->v[l->next++];
        char when[32];

        rep->checkpoints++;
        if (it->c.seq < seq || strcmp(it->c.hash, hash) != 0) {
            if (it->expected) {
                return failed(rep, err, CG_AUDIT_REWRITTEN, it->c.seq,
                              "record %" PRId64 " has hash %.16s..., the expected head is "
                              "%.16s...: the log was rewritten",
                              it->c.seq, hash, it->c.hash);
            }
            cg_time_format(it->c.time_ms, when);
            return failed(rep, err, CG_AUDIT_REWRITTEN, it->c.seq,
                          "record %" PRId64 " has hash %.16s..., the checkpoint (%s, signed %s "
                          "by key %s) says %.16s...: the log was rewritten",
                          it->c.seq, hash, it->from, when, it->c.key_id, it->c.hash);
        }
        if (it->verified && it->c.seq > rep->covered_seq) {
            rep->covered_seq = it->c.seq;
        }
    }
    return CG_OK;
}

struct ck_walk {
    struct ck_ctx *x;
    const struct cg_audit_verify_opts *o;
};

static int on_record(void *ctx, int64_t seq, const char *hash, struct cg_audit_report *rep,
                     struct cg_error *err)
{
    struct ck_walk *k = ctx;
    struct ck_ctx *x = k->x;
    int rc = match_list(&x->local, seq, hash, rep, err);

    while (rc == CG_OK) {
        rc = match_list(&x->page, seq, hash, rep, err);
        if (rc != CG_OK || x->page.next < x->page.n || x->page_after < 0) {
            break;
        }
        rc = fetch_page(x, k->o, rep, err); /* the page is used up: the next one */
    }
    return rc;
}

/* The first checkpoint the chain did not reach, if any: cut short. */
static int past_end(struct ck_ctx *x, const struct cg_audit_verify_opts *o,
                    struct cg_audit_report *rep, struct cg_error *err)
{
    const struct ck_item *it = NULL;
    char when[32];
    int rc = CG_OK;

    if (x->local.next < x->local.n) {
        it = &x->local.v[x->local.next];
    }
    if (x->page.next >= x->page.n && x->page_after >= 0) {
        rc = fetch_page(x, o, rep, err);
    }
    if (rc != CG_OK) {
        return rc;
    }
    if (x->page.next < x->page.n && (!it || x->page.v[x->page.next].c.seq < it->c.seq)) {
        it = &x->page.v[x->page.next];
    }
    if (!it) {
        return CG_OK;
    }
    rep->checkpoints++;
    if (it->expected) {
        return failed(rep, err, CG_AUDIT_CUT_SHORT, it->c.seq,
                      "the expected head is record %" PRId64 ", but the chain ends at seq %" PRId64
                      ": the log was cut short",
                      it->c.seq, rep->last_seq);
    }
    cg_time_format(it->c.time_ms, when);
    return failed(rep, err, CG_AUDIT_CUT_SHORT, it->c.seq,
                  "checkpoint seq %" PRId64 " (%s, signed %s by key %s) lies past the chain's "
                  "end at seq %" PRId64 ": the log was cut short",
                  it->c.seq, it->from, when, it->c.key_id, rep->last_seq);
}

int cg_audit_verify_with(struct cg_client *c, const struct cg_audit_verify_opts *opts,
                         struct cg_audit_report *rep, struct cg_error *err)
{
    static const struct cg_audit_verify_opts defaults = CG_AUDIT_VERIFY_OPTS_INIT;
    const struct cg_audit_verify_opts *o = opts ? opts : &defaults;
    struct cg__audit_walk w;
    struct ck_ctx x;
    struct ck_walk k = {&x, o};
    int rc = CG_OK;

    if (!rep || rep->size < sizeof *rep || o->size < sizeof *o) {
        return cg__error_set(err, CG_ERR_INVALID, 0,
                             "audit report or options missing or too "
                             "small");
    }
    report_reset(rep);
    rep->failure = CG_AUDIT_GOOD;
    rep->checkpoints_served = 0;
    rep->checkpoints = rep->checkpoints_verified = rep->checkpoints_unknown = 0;
    rep->covered_seq = 0;
    rep->key_id[0] = '\0';
    memset(&x, 0, sizeof x);
    x.c = c;
    if (o->expect_seq > 0 || o->expect_hash) {
        struct ck_item it;
        memset(&it, 0, sizeof it);
        it.expected = 1;
        it.c.seq = o->expect_seq;
        if (o->expect_seq < 1 || !o->expect_hash || strlen(o->expect_hash) != 64 ||
            !cg_is_sha256_hex(o->expect_hash)) {
            return cg__error_set(err, CG_ERR_INVALID, 0,
                                 "the expected head needs a seq >= 1 and a hash of 64 "
                                 "lowercase hex characters");
        }
        cg_strlcpy(it.c.hash, o->expect_hash, sizeof it.c.hash);
        snprintf(it.from, sizeof it.from, "the expected head");
        rc = ck_push(&x.local, &it, err);
    }
    if (rc == CG_OK && o->saved && o->saved_len > 0) {
        rc = load_saved(&x, o, rep, err);
    }
    if (rc == CG_OK) {
        if (x.local.n > 1) {
            qsort(x.local.v, x.local.n, sizeof *x.local.v, by_seq);
        }
        x.page_after = o->no_server_checkpoints ? -1 : 0;
        if (!o->no_server_checkpoints) {
            rc = fetch_page(&x, o, rep, err);
        }
    }
    if (rc == CG_OK) {
        cg__audit_walk_init(&w);
        w.on_record = on_record;
        w.ctx = &k;
        rc = walk_all(c, &w, rep, err);
        if (rc == CG_ERR_VERIFY && rep->failure == CG_AUDIT_GOOD) {
            rep->failure = CG_AUDIT_BROKEN;
        }
    }
    if (rc == CG_OK) {
        rc = past_end(&x, o, rep, err);
    }
    free(x.local.v);
    free(x.page.v);
    return rc;
}
