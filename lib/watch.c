/* SPDX-License-Identifier: MIT */
/*
 * watch.c - struct cg_watch: follows a cell's desired state and runs the
 * verify -> fetch -> sha256 -> contract -> apply pipeline for every new
 * generation of a watched config (docs/libcellgate/watch.md).
 *
 * Safety rules, in the order the pipeline applies them:
 *  - nothing from the network is trusted before the statement verified
 *    against a pinned key (common/sign.h); the statement's fields, not the
 *    unsigned assignment fields, decide what is fetched and applied;
 *  - a generation is offered to the apply callback only when it is newer
 *    than the held one (I2) and was not refused before;
 *  - the blob must hash to the signed sha256;
 *  - the server's contract must hash to the signed contract_sha256 (the
 *    hash is computed here over the contract text we parse, never taken
 *    from the answer), so a server or proxy that cannot sign cannot swap
 *    in a permissive contract; a contract pinned locally wins over the
 *    server's (and is not compared with the signed hash);
 *  - the document must pass the contract (I1) with the last-known-good as
 *    the live side of the growth rules, even when the server said it is
 *    fine;
 *  - any failure keeps the last-known-good. Authentic, deterministic
 *    failures (contract violation, refused or failed apply) mark the
 *    generation as refused; everything else (transport, bad signature,
 *    sha256 or contract mismatch, expiry) is retried after a backoff.
 *
 * Locking: 'mu' guards everything other threads read (per-config public
 * state, the LKG bytes, counters, the config array). Only the polling
 * thread writes, so it reads without the lock.
 */
#include <cellgate/cellgate.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "contract.h"
#include "lib-internal.h"
#include "sign.h"
#include "util.h"

#define MAX_CLIENTS           16
#define MAX_DESIRED_BYTES     (4u * 1024 * 1024) /* desired-state answer */
#define MAX_CONFIG_BYTES      (4u * 1024 * 1024) /* config object with its contract */
#define MIN_CYCLE_MS          1000               /* floor between successful cycles */
#define MAX_REPORT_VIOLATIONS 20                 /* kept per rejection (report size) */

/* Outcome of processing one assignment. */
enum step {
    STEP_DONE = 0,      /* decided (or nothing to do) */
    STEP_VERIFY = 1,    /* verification failed: retry after a backoff */
    STEP_TRANSIENT = 2, /* transport / server trouble: retry after a backoff */
};

struct wcfg {
    char name[64];
    /* held: the last-known-good */
    int64_t lkg_version, lkg_generation;
    char lkg_sha[65];
    char *lkg_bytes; /* owned, NUL-terminated; NULL when unknown */
    size_t lkg_len;
    int64_t rejected_generation;
    int64_t confirmed_ms;   /* wall clock of the last verified statement for it */
    int64_t valid_until_ms; /* that statement's expires_at */
    /* contracts */
    struct cg_contract *pinned;   /* local, wins; owned */
    struct cg_contract *contract; /* the server's, cached; owned */
    char contract_sha[65];        /* sha256 we computed over its text */
    bool contract_loaded;
    /* latest decision */
    int outcome;
    int64_t o_version, o_generation;
    char reason[32];
    char error[CG_ERRMSG_MAX];
    json_t *violations; /* owned array or NULL */
};

struct cg_watch {
    struct cg_client *clients[MAX_CLIENTS];
    size_t nclients, cur;
    char cell[64];
    char host[64]; /* "" when the options named none */
    struct cg_pubkey *keys;
    size_t nkeys;
    bool all;
    struct wcfg *cfgs;
    size_t ncfgs, capcfgs;
    cg_watch_apply_fn apply;
    void *apply_ud;
    cg_watch_cancel_fn cancel;
    void *cancel_ud;
    int wait_s;
    long timeout_ms;
    size_t max_doc;

    char etag[80];        /* ETag of the last state fully processed */
    char body_sha[65];    /* sha256 of the last 200 body processed */
    struct cg_backoff bo; /* failures only */
    struct cg_retry_budget budget;
    bool last_failed;
    int64_t next_delay_ms;
    struct cg_watch_stats st;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running;
    atomic_int stop;
};

/* ---- small helpers ---------------------------------------------------- */

static void lock(struct cg_watch *w)
{
    pthread_mutex_lock(&w->mu);
}

static void unlock(struct cg_watch *w)
{
    pthread_mutex_unlock(&w->mu);
}

static int is_cancelled(void *ud)
{
    struct cg_watch *w = ud;

    return atomic_load(&w->stop) || (w->cancel && w->cancel(w->cancel_ud));
}

const char *cg_watch_outcome_str(int outcome)
{
    switch (outcome) {
    case CG_WATCH_APPLIED:
        return "applied";
    case CG_WATCH_REJECTED:
        return "rejected";
    case CG_WATCH_RELOAD_FAILED:
        return "reload_failed";
    case CG_WATCH_VERIFY_FAILED:
        return "verify_failed";
    default:
        return "none";
    }
}

static struct wcfg *find_cfg(struct cg_watch *w, const char *name)
{
    for (size_t i = 0; i < w->ncfgs; i++) {
        if (strcmp(w->cfgs[i].name, name) == 0) {
            return &w->cfgs[i];
        }
    }
    return NULL;
}

/* Adds a config (caller checked the name). Returns NULL when full or out
 * of memory. Takes the lock around the array change. */
static struct wcfg *add_cfg(struct cg_watch *w, const char *name)
{
    struct wcfg *c;

    if (w->ncfgs == CG_WATCH_MAX_CONFIGS) {
        return NULL;
    }
    if (w->ncfgs == w->capcfgs) {
        size_t cap = w->capcfgs ? w->capcfgs * 2 : 8;
        struct wcfg *n;

        lock(w);
        n = realloc(w->cfgs, cap * sizeof *n);
        if (n) {
            w->cfgs = n;
            w->capcfgs = cap;
        }
        unlock(w);
        if (!n) {
            return NULL;
        }
    }
    lock(w);
    c = &w->cfgs[w->ncfgs++];
    memset(c, 0, sizeof *c);
    cg_strlcpy(c->name, name, sizeof c->name);
    unlock(w);
    return c;
}

static void cfg_release(struct wcfg *c)
{
    free(c->lkg_bytes);
    cg_contract_free(c->pinned);
    cg_contract_free(c->contract);
    json_decref(c->violations);
}

/* Records a decision (under the lock). 'viol' is consumed. */
static void record(struct cg_watch *w, struct wcfg *c, int outcome, int64_t version,
                   int64_t generation, const char *reason, json_t *viol, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

static void record(struct cg_watch *w, struct wcfg *c, int outcome, int64_t version,
                   int64_t generation, const char *reason, json_t *viol, const char *fmt, ...)
{
    va_list ap;

    lock(w);
    c->outcome = outcome;
    c->o_version = version;
    c->o_generation = generation;
    cg_strlcpy(c->reason, reason ? reason : "", sizeof c->reason);
    c->error[0] = '\0';
    if (fmt) {
        size_t off = 0;

        if (reason && reason[0]) {
            /* the report carries only "error": lead with the stable reason */
            off = (size_t)snprintf(c->error, sizeof c->error, "%s: ", reason);
        }
        va_start(ap, fmt);
        vsnprintf(c->error + off, sizeof c->error - off, fmt, ap);
        va_end(ap);
    }
    json_decref(c->violations);
    c->violations = viol;
    switch (outcome) {
    case CG_WATCH_APPLIED:
        w->st.applied++;
        break;
    case CG_WATCH_REJECTED:
        w->st.rejected++;
        break;
    case CG_WATCH_RELOAD_FAILED:
        w->st.reload_failed++;
        break;
    case CG_WATCH_VERIFY_FAILED:
        w->st.verify_failed++;
        break;
    default:
        break;
    }
    unlock(w);
}

/* ---- lifecycle --------------------------------------------------------- */

int cg_watch_new(struct cg_client *const *clients, size_t nclients,
                 const struct cg_watch_options *opt, struct cg_watch **out, struct cg_error *err)
{
    struct cg_watch *w;
    const char *host;
    char msg[192];

    if (out) {
        *out = NULL;
    }
    if (!out || !clients || nclients == 0 || nclients > MAX_CLIENTS || !opt) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "need 1..%d clients, options and out",
                             MAX_CLIENTS);
    }
    /* the first release's struct ends before 'host' */
    if (opt->size < offsetof(struct cg_watch_options, host)) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "options size %zu is too small", opt->size);
    }
    host =
        opt->size >= offsetof(struct cg_watch_options, host) + sizeof opt->host ? opt->host : NULL;
    if (host && *host && !cg_valid_name(host)) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "'%s' is not a valid host name", host);
    }
    if (!cg_valid_name(opt->cell)) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "'%s' is not a valid cell id",
                             opt->cell ? opt->cell : "(null)");
    }
    if (!opt->pubkeys || opt->npubkeys == 0 || opt->npubkeys > 16) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "need 1..16 pinned public keys");
    }
    if (opt->nconfigs > CG_WATCH_MAX_CONFIGS || (opt->nconfigs && !opt->configs)) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "at most %d configs", CG_WATCH_MAX_CONFIGS);
    }
    for (size_t i = 0; i < nclients; i++) {
        if (!clients[i]) {
            return cg__error_set(err, CG_ERR_INVALID, 0, "client %zu is NULL", i);
        }
    }
    w = calloc(1, sizeof *w);
    if (!w) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    atomic_init(&w->stop, 0);
    memcpy(w->clients, clients, nclients * sizeof *clients);
    w->nclients = nclients;
    cg_strlcpy(w->cell, opt->cell, sizeof w->cell);
    cg_strlcpy(w->host, host ? host : "", sizeof w->host);
    w->keys = calloc(opt->npubkeys, sizeof *w->keys);
    if (!w->keys) {
        cg_watch_free(w);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    for (size_t i = 0; i < opt->npubkeys; i++) {
        if (!opt->pubkeys[i] ||
            cg_pubkey_from_hex(opt->pubkeys[i], &w->keys[i], msg, sizeof msg) != CG_OK) {
            cg_watch_free(w);
            return cg__error_set(err, CG_ERR_INVALID, 0, "public key %zu: %s", i + 1,
                                 opt->pubkeys[i] ? msg : "NULL");
        }
        w->nkeys++;
    }
    w->all = opt->configs == NULL;
    for (size_t i = 0; i < opt->nconfigs; i++) {
        if (!cg_valid_name(opt->configs[i])) {
            cg_watch_free(w);
            return cg__error_set(err, CG_ERR_INVALID, 0, "'%s' is not a valid config name",
                                 opt->configs[i] ? opt->configs[i] : "(null)");
        }
        if (!find_cfg(w, opt->configs[i]) && !add_cfg(w, opt->configs[i])) {
            cg_watch_free(w);
            return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
        }
    }
    w->apply = opt->apply;
    w->apply_ud = opt->apply_ud;
    w->cancel = opt->cancel;
    w->cancel_ud = opt->cancel_ud;
    w->wait_s = opt->wait_s > 0 ? opt->wait_s : CG_WATCH_DEFAULT_WAIT_S;
    if (w->wait_s > CG_AGENT_MAX_WAIT_S) {
        w->wait_s = CG_AGENT_MAX_WAIT_S;
    }
    w->timeout_ms =
        opt->request_timeout_ms > 0 ? opt->request_timeout_ms : CG_WATCH_DEFAULT_TIMEOUT_MS;
    w->max_doc = opt->max_doc_bytes ? opt->max_doc_bytes : CG_WATCH_DEFAULT_MAX_DOC;
    {
        struct cg_backoff_config bc;

        cg_backoff_config_default(&bc);
        if (opt->backoff_base_ms > 0) {
            bc.base_ms = opt->backoff_base_ms;
        }
        if (opt->backoff_cap_ms > 0) {
            bc.cap_ms = opt->backoff_cap_ms;
        }
        cg_backoff_init(&w->bo, &bc, NULL);
    }
    cg_retry_budget_init(&w->budget, NULL);
    *out = w;
    return CG_OK;
}

void cg_watch_free(struct cg_watch *w)
{
    if (!w) {
        return;
    }
    cg_watch_stop(w);
    for (size_t i = 0; i < w->ncfgs; i++) {
        cfg_release(&w->cfgs[i]);
    }
    free(w->cfgs);
    free(w->keys);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* Replaces the LKG bytes of 'c' with a copy of bytes/len (under the lock).
 * Returns 0 or -1 (out of memory; nothing changed). */
static int set_lkg(struct cg_watch *w, struct wcfg *c, const void *bytes, size_t len,
                   int64_t version, int64_t generation, const char *sha)
{
    char *copy = NULL;

    if (bytes) {
        copy = malloc(len + 1);
        if (!copy) {
            return -1;
        }
        memcpy(copy, bytes, len);
        copy[len] = '\0';
    }
    lock(w);
    free(c->lkg_bytes);
    c->lkg_bytes = copy;
    c->lkg_len = bytes ? len : 0;
    c->lkg_version = version;
    c->lkg_generation = generation;
    cg_strlcpy(c->lkg_sha, sha ? sha : "", sizeof c->lkg_sha);
    unlock(w);
    return 0;
}

int cg_watch_seed(struct cg_watch *w, const struct cg_watch_doc *doc, int64_t rejected_generation,
                  struct cg_error *err)
{
    struct wcfg *c;
    char sha[65] = "";

    if (!w || !doc || doc->size < sizeof *doc || !cg_valid_name(doc->config) || doc->version < 0 ||
        doc->generation < 0 || rejected_generation < 0) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "bad seed document");
    }
    c = find_cfg(w, doc->config);
    if (!c) {
        if (!w->all) {
            return cg__error_set(err, CG_ERR_INVALID, 0, "config %s is not watched", doc->config);
        }
        c = add_cfg(w, doc->config);
        if (!c) {
            return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory or too many configs");
        }
    }
    if (doc->bytes) {
        cg_sha256_hex(doc->bytes, doc->len, sha);
        if (doc->sha256 && doc->sha256[0] && strcmp(doc->sha256, sha) != 0) {
            return cg__error_set(err, CG_ERR_INVALID, 0,
                                 "seed of %s: bytes do not hash to the given sha256", doc->config);
        }
    } else if (doc->sha256 && cg_is_sha256_hex(doc->sha256)) {
        cg_strlcpy(sha, doc->sha256, sizeof sha);
    }
    if (set_lkg(w, c, doc->bytes, doc->len, doc->version, doc->generation, sha) != 0) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    lock(w);
    c->rejected_generation = rejected_generation;
    unlock(w);
    return CG_OK;
}

int cg_watch_set_contract(struct cg_watch *w, const char *config, const char *contract_json,
                          size_t len, struct cg_error *err)
{
    struct wcfg *c;
    struct cg_contract *k = NULL;
    struct cg_violations errs = {0};
    int rc;

    if (!w || !cg_valid_name(config) || !contract_json) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "bad arguments");
    }
    c = find_cfg(w, config);
    if (!c && !w->all) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "config %s is not watched", config);
    }
    rc = cg_contract_parse(contract_json, len, &k, &errs);
    if (rc != CG_OK) {
        cg__error_set(err, rc == CG_ERR_NOMEM ? CG_ERR_NOMEM : CG_ERR_INVALID, 0,
                      "contract of %s is invalid: %s %s", config,
                      errs.count ? errs.items[0].pointer : "",
                      errs.count ? errs.items[0].message : "");
        cg_violations_free(&errs);
        return rc == CG_ERR_NOMEM ? CG_ERR_NOMEM : CG_ERR_INVALID;
    }
    if (!c) {
        c = add_cfg(w, config);
        if (!c) {
            cg_contract_free(k);
            return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory or too many configs");
        }
    }
    cg_contract_free(c->pinned);
    c->pinned = k;
    return CG_OK;
}

/* ---- one exchange ------------------------------------------------------ */

/* Runs a GET on the current client with the cancel hook. On CG_OK the
 * answer is in *rs (any status); the caller frees rs->body. */
static int get(struct cg_watch *w, const char *path, long timeout_ms, size_t max, const char *inm,
               int oneshot, struct cg__resp *rs, struct cg_error *err)
{
    struct cg__req rq = {
        .method = "GET",
        .path = path,
        .timeout_ms = timeout_ms,
        .max_response = max,
        .if_none_match = inm,
        .cancel = is_cancelled,
        .cancel_ud = w,
        .oneshot = oneshot,
    };

    return cg__http(w->clients[w->cur], &rq, rs, err);
}

/* Maps a non-2xx answer to a status (err filled) and frees its body. */
static int http_fail(struct cg__resp *rs, struct cg_error *err)
{
    int rc = cg__error_from_http(rs->status, rs->body.data, rs->body.len, err);

    cg_buf_free(&rs->body);
    return rc;
}

/* A failed cycle: count it, back off (Retry-After as a floor), respect
 * the retry budget, fail over to the next server. */
static void cycle_failed(struct cg_watch *w, int64_t retry_after_ms)
{
    int64_t now = cg_mono_ms();
    int64_t delay = cg_backoff_next(&w->bo, retry_after_ms > 0 ? retry_after_ms : 0);

    if (!cg_retry_budget_try_retry(&w->budget, now)) {
        /* budget spent: no retry now; come back at the next regular poll */
        int64_t wait = cg_jitter_wait((int64_t)w->wait_s * 1000, NULL);
        if (wait > delay) {
            delay = wait;
        }
    }
    lock(w);
    w->st.failures++;
    if (w->nclients > 1) {
        w->cur = (w->cur + 1) % w->nclients;
        w->st.failovers++;
    }
    unlock(w);
    w->last_failed = true;
    w->next_delay_ms = delay;
}

/* ---- the pipeline for one assignment ------------------------------------ */

/* Makes sure c has the contract the statement 'st' signed (by
 * st->contract_sha256), unless one is pinned. The sha256 is computed here
 * over the canonical text of the contract that was fetched (the bytes
 * handed to the contract engine; the server stores and hashes the same
 * form), never taken from the answer. A mismatch is recorded as
 * verify_failed "contract_mismatch" and the fetched contract is dropped.
 * Returns STEP_*. */
static enum step load_contract(struct cg_watch *w, struct wcfg *c, const struct cg_statement *st,
                               int *rc_out, int64_t *ra, struct cg_error *err)
{
    struct cg_buf path = {0};
    struct cg__resp rs;
    json_t *root = NULL;
    const json_t *k;
    char *text = NULL, msg[200], sha[65];
    struct cg_contract *parsed = NULL;
    struct cg_violations errs = {0};
    int rc;

    if (c->pinned) {
        return STEP_DONE;
    }
    if (c->contract_loaded && c->contract && strcmp(c->contract_sha, st->contract_sha256) == 0) {
        return STEP_DONE;
    }
    if (cg_buf_puts(&path, "/v1/configs/") != 0 || cg__buf_escape(&path, c->name) != 0) {
        cg_buf_free(&path);
        *rc_out = cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
        return STEP_TRANSIENT;
    }
    rc = get(w, path.data, w->timeout_ms, MAX_CONFIG_BYTES, NULL, 1, &rs, err);
    cg_buf_free(&path);
    if (rc != CG_OK) {
        *rc_out = rc;
        return STEP_TRANSIENT;
    }
    *ra = rs.retry_after_ms;
    if (rs.status != 200) {
        *rc_out = http_fail(&rs, err);
        return STEP_TRANSIENT;
    }
    /* the contract inside may hold "\u0000" and big integers (json.h) */
    if (cg_json_parse_doc(rs.body.data, rs.body.len, 0, CG__MAX_DEPTH, &root, msg, sizeof msg) !=
        CG_JSON_OK) {
        cg_buf_free(&rs.body);
        *rc_out = cg__error_set(err, CG_ERR_PROTOCOL, 200, "config %s: answer is not JSON: %s",
                                c->name, msg);
        return STEP_TRANSIENT;
    }
    cg_buf_free(&rs.body);
    k = json_object_get(root, "contract");
    if (!json_is_object(k) || !(text = cg_json_dump(k))) {
        json_decref(root);
        *rc_out =
            cg__error_set(err, CG_ERR_PROTOCOL, 200, "config %s: answer has no contract", c->name);
        return STEP_TRANSIENT;
    }
    json_decref(root);
    cg_sha256_hex(text, strlen(text), sha);
    if (strcmp(sha, st->contract_sha256) != 0) {
        free(text);
        record(w, c, CG_WATCH_VERIFY_FAILED, st->version, st->generation, "contract_mismatch", NULL,
               "the server's contract hashes to %.12s..., the statement signs %.12s...", sha,
               st->contract_sha256);
        *rc_out =
            cg__error_set(err, CG_ERR_VERIFY, 0,
                          "config %s: contract does not match the signed contract_sha256", c->name);
        return STEP_VERIFY;
    }
    rc = cg_contract_parse(text, strlen(text), &parsed, &errs);
    free(text);
    if (rc != CG_OK) {
        *rc_out = cg__error_set(err, rc == CG_ERR_NOMEM ? CG_ERR_NOMEM : CG_ERR_PROTOCOL, 200,
                                "config %s: the server's contract is invalid: %s", c->name,
                                errs.count ? errs.items[0].message : "?");
        cg_violations_free(&errs);
        return STEP_TRANSIENT;
    }
    cg_contract_free(c->contract);
    c->contract = parsed;
    c->contract_loaded = true;
    cg_strlcpy(c->contract_sha, sha, sizeof c->contract_sha);
    return STEP_DONE;
}

/* Fetches the blob 'sha' into *body (caller frees with cg_buf_free). */
static enum step fetch_blob(struct cg_watch *w, const char *sha, struct cg_buf *body, int *rc_out,
                            int64_t *ra, struct cg_error *err)
{
    char path[96];
    struct cg__resp rs;
    int rc;

    snprintf(path, sizeof path, "/v1/blobs/%s", sha);
    rc = get(w, path, w->timeout_ms, w->max_doc, NULL, 1, &rs, err);
    if (rc != CG_OK) {
        *rc_out = rc;
        return STEP_TRANSIENT;
    }
    *ra = rs.retry_after_ms;
    if (rs.status != 200) {
        *rc_out = http_fail(&rs, err);
        return STEP_TRANSIENT;
    }
    *body = rs.body;
    return STEP_DONE;
}

static enum step process(struct cg_watch *w, struct wcfg *c, const json_t *item, int *rc_out,
                         int64_t *ra, struct cg_error *err)
{
    const json_t *wire = json_object_get(item, "statement");
    struct cg_stmt_expect exp = {
        .keys = w->keys,
        .nkeys = w->nkeys,
        .cell = w->cell,
        .now_ms = cg_now_ms(),
        .held_generation = c->lkg_generation,
    };
    struct cg_statement st;
    struct cg_stmt_error se = {0};
    struct cg_buf blob = {0};
    struct cg_violations viol = {0};
    struct cg_watch_doc doc;
    const struct cg_contract *k;
    const char *media = cg_json_str(item, "media_type", "", NULL);
    char sha[65], why[CG_ERRMSG_MAX] = "";
    enum step s;
    int rc;

    rc = cg_statement_verify(wire ? wire : json_null(), &exp, &st, &se);
    if (rc != CG_OK) {
        if (se.reason == CG_STMT_NOT_NEWER && st.generation == c->lkg_generation &&
            strcmp(st.config, c->name) == 0 &&
            (c->lkg_sha[0] == '\0' || strcmp(st.sha256, c->lkg_sha) == 0)) {
            /* a renewal of what we hold: fresher proof, nothing to apply */
            lock(w);
            c->confirmed_ms = exp.now_ms;
            c->valid_until_ms = st.expires_at;
            if (c->lkg_sha[0] == '\0') {
                cg_strlcpy(c->lkg_sha, st.sha256, sizeof c->lkg_sha);
            }
            if (c->lkg_version == 0) {
                c->lkg_version = st.version;
            }
            unlock(w);
            return STEP_DONE;
        }
        if (se.reason == CG_STMT_NOT_NEWER && st.generation <= c->rejected_generation) {
            return STEP_DONE; /* already refused and reported */
        }
        record(w, c, CG_WATCH_VERIFY_FAILED,
               st.version ? st.version : cg_json_int(item, "version", 0, NULL),
               st.generation ? st.generation : cg_json_int(item, "generation", 0, NULL),
               rc == CG_ERR_VERIFY ? cg_stmt_reason_str(se.reason) : "invalid", NULL,
               "statement rejected: %s", se.message[0] ? se.message : "unusable");
        *rc_out = cg__error_set(err, CG_ERR_VERIFY, 0, "config %s: statement rejected (%s): %s",
                                c->name, cg_stmt_reason_str(se.reason), se.message);
        return STEP_VERIFY;
    }
    if (strcmp(st.config, c->name) != 0) {
        record(w, c, CG_WATCH_VERIFY_FAILED, st.version, st.generation, "wrong_config", NULL,
               "statement is for config %s, not %s", st.config, c->name);
        *rc_out = cg__error_set(err, CG_ERR_VERIFY, 0, "config %s: statement is for config %s",
                                c->name, st.config);
        return STEP_VERIFY;
    }
    if (st.generation <= c->rejected_generation) {
        return STEP_DONE; /* refused before: never offered again */
    }
    /* the item's own "contract_sha256" is unsigned and never used */
    s = load_contract(w, c, &st, rc_out, ra, err);
    if (s != STEP_DONE) {
        return s;
    }
    if (is_cancelled(w)) {
        *rc_out = cg__error_set(err, CG_ERR_IO, 0, "cancelled");
        return STEP_TRANSIENT;
    }
    s = fetch_blob(w, st.sha256, &blob, rc_out, ra, err);
    if (s != STEP_DONE) {
        return s;
    }
    cg_sha256_hex(blob.data ? blob.data : "", blob.len, sha);
    if (strcmp(sha, st.sha256) != 0) {
        record(w, c, CG_WATCH_VERIFY_FAILED, st.version, st.generation, "sha256_mismatch", NULL,
               "blob of %zu bytes hashes to %.12s..., the statement says %.12s...", blob.len, sha,
               st.sha256);
        *rc_out = cg__error_set(err, CG_ERR_VERIFY, 0, "config %s: blob sha256 mismatch", c->name);
        cg_buf_free(&blob);
        return STEP_VERIFY;
    }
    k = c->pinned ? c->pinned : c->contract;
    rc =
        cg_contract_check(k, blob.data ? blob.data : "", blob.len, c->lkg_bytes, c->lkg_len, &viol);
    if (rc == CG_ERR_VIOLATION) {
        json_t *vj = cg_violations_to_json(&viol);

        while (json_array_size(vj) > MAX_REPORT_VIOLATIONS) {
            json_array_remove(vj, json_array_size(vj) - 1);
        }
        c->rejected_generation = st.generation;
        record(w, c, CG_WATCH_REJECTED, st.version, st.generation, "contract_violation", vj,
               "contract violation: %s%s%s", viol.count ? viol.items[0].message : "",
               viol.count > 1 ? " (and more)" : "", viol.truncated ? " (truncated)" : "");
        cg_violations_free(&viol);
        cg_buf_free(&blob);
        return STEP_DONE;
    }
    cg_violations_free(&viol);
    if (rc != CG_OK) {
        cg_buf_free(&blob);
        *rc_out = cg__error_set(err, rc, 0, "config %s: contract check failed", c->name);
        return STEP_TRANSIENT;
    }
    doc = (struct cg_watch_doc){
        .size = sizeof doc,
        .config = c->name,
        .version = st.version,
        .generation = st.generation,
        .sha256 = st.sha256,
        .media_type = media[0] ? media : cg_contract_media_type(k),
        .bytes = blob.data ? blob.data : "",
        .len = blob.len,
    };
    rc = w->apply ? w->apply(w->apply_ud, &doc, why, sizeof why) : CG_OK;
    if (rc == CG_OK) {
        if (set_lkg(w, c, doc.bytes, doc.len, st.version, st.generation, st.sha256) != 0) {
            /* applied, but we cannot keep a copy: still hold the generation */
            lock(w);
            free(c->lkg_bytes);
            c->lkg_bytes = NULL;
            c->lkg_len = 0;
            c->lkg_version = st.version;
            c->lkg_generation = st.generation;
            cg_strlcpy(c->lkg_sha, st.sha256, sizeof c->lkg_sha);
            unlock(w);
        }
        lock(w);
        c->confirmed_ms = exp.now_ms;
        c->valid_until_ms = st.expires_at;
        unlock(w);
        record(w, c, CG_WATCH_APPLIED, st.version, st.generation, "", NULL, NULL);
    } else {
        c->rejected_generation = st.generation;
        if (rc == CG_ERR_VIOLATION) {
            record(w, c, CG_WATCH_REJECTED, st.version, st.generation, "apply_refused", NULL, "%s",
                   why[0] ? why : "the application refused the document");
        } else {
            record(w, c, CG_WATCH_RELOAD_FAILED, st.version, st.generation, "apply_failed", NULL,
                   "%s", why[0] ? why : "applying the document failed");
        }
    }
    cg_buf_free(&blob);
    return STEP_DONE;
}

/* ---- one cycle --------------------------------------------------------- */

int cg_watch_poll_once(struct cg_watch *w, int wait_s, struct cg_error *err)
{
    struct cg_buf path = {0};
    struct cg__resp rs;
    json_t *root = NULL;
    const json_t *items;
    const char *etag;
    char msg[200], body_sha[65];
    int64_t start = cg_mono_ms(), ra = -1, extra = 0;
    enum step worst = STEP_DONE;
    int rc = CG_OK, first_rc = CG_OK;
    size_t i;

    if (!w) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "watcher is NULL");
    }
    if (is_cancelled(w)) {
        return cg__error_set(err, CG_ERR_IO, 0, "cancelled");
    }
    if (wait_s < 0) {
        wait_s = (int)((cg_jitter_wait((int64_t)w->wait_s * 1000, NULL) + 500) / 1000);
    }
    if (wait_s > CG_AGENT_MAX_WAIT_S) {
        wait_s = CG_AGENT_MAX_WAIT_S;
    }
    if (!w->last_failed) {
        cg_retry_budget_on_request(&w->budget, start);
    }
    if (cg_buf_puts(&path, "/v1/agent/desired?cell=") != 0 || cg__buf_escape(&path, w->cell) != 0 ||
        (w->host[0] &&
         (cg_buf_puts(&path, "&host=") != 0 || cg__buf_escape(&path, w->host) != 0)) ||
        (wait_s > 0 && cg_buf_printf(&path, "&wait=%d", wait_s) != 0)) {
        cg_buf_free(&path);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    rc = get(w, path.data, wait_s > 0 ? (long)wait_s * 1200L + 10000L : w->timeout_ms,
             MAX_DESIRED_BYTES, w->etag[0] ? w->etag : NULL, 0, &rs, err);
    cg_buf_free(&path);
    if (rc != CG_OK) {
        cycle_failed(w, -1);
        return rc;
    }
    if (rs.status == 304) {
        cg_buf_free(&rs.body);
        lock(w);
        w->st.polls++;
        w->st.not_modified++;
        unlock(w);
        goto success;
    }
    if (rs.status != 200) {
        ra = rs.retry_after_ms;
        rc = http_fail(&rs, err);
        cycle_failed(w, ra);
        return rc;
    }
    lock(w);
    w->st.polls++;
    unlock(w);
    cg_sha256_hex(rs.body.data ? rs.body.data : "", rs.body.len, body_sha);
    if (cg_json_parse(rs.body.data ? rs.body.data : "", rs.body.len, 0, 16, &root, msg,
                      sizeof msg) != CG_JSON_OK ||
        !json_is_object(root) || !json_is_array(json_object_get(root, "assignments"))) {
        cg_buf_free(&rs.body);
        json_decref(root);
        rc = cg__error_set(err, CG_ERR_PROTOCOL, 200,
                           "desired state is not an object with \"assignments\"");
        cycle_failed(w, -1);
        return rc;
    }
    etag = rs.etag[0] ? rs.etag : cg_json_str(root, "etag", "", NULL);
    items = json_object_get(root, "assignments");
    for (i = 0; i < json_array_size(items); i++) {
        const json_t *item = json_array_get(items, i);
        const char *name = cg_json_str(item, "config", "", NULL);
        struct wcfg *c;
        enum step s;
        int one_rc = CG_OK;
        int64_t one_ra = -1;
        struct cg_error e1 = {0};

        if (!json_is_object(item) || !cg_valid_name(name)) {
            continue; /* nothing we could act on; statements carry the truth */
        }
        c = find_cfg(w, name);
        if (!c) {
            if (!w->all) {
                continue;
            }
            c = add_cfg(w, name);
            if (!c) {
                continue;
            }
        }
        s = process(w, c, item, &one_rc, &one_ra, &e1);
        if (s > worst) {
            worst = s;
        }
        if (s != STEP_DONE && first_rc == CG_OK) {
            first_rc = one_rc ? one_rc : CG_ERR_IO;
            if (err) {
                *err = e1;
            }
        }
        if (one_ra > ra) {
            ra = one_ra;
        }
        if (is_cancelled(w)) {
            worst = worst > STEP_TRANSIENT ? worst : STEP_TRANSIENT;
            if (first_rc == CG_OK) {
                first_rc = cg__error_set(err, CG_ERR_IO, 0, "cancelled");
            }
            break;
        }
    }
    if (worst != STEP_DONE) {
        /* fetch the whole state again after the backoff */
        cg_buf_free(&rs.body);
        json_decref(root);
        cycle_failed(w, ra);
        return first_rc;
    }
    if (strcmp(body_sha, w->body_sha) == 0 && cg_mono_ms() - start < MIN_CYCLE_MS) {
        /* the same state again, at once: the server ignores our ETag, so
         * poll no faster than a long poll would */
        extra = cg_jitter_wait((int64_t)w->wait_s * 1000, NULL);
    }
    cg_strlcpy(w->body_sha, body_sha, sizeof w->body_sha);
    if (strlen(etag) < sizeof w->etag && !strchr(etag, '"')) {
        int bad = 0;
        for (const char *p = etag; *p; p++) {
            bad |= (unsigned char)*p < 0x21 || *p == 0x7f;
        }
        cg_strlcpy(w->etag, bad ? "" : etag, sizeof w->etag);
    } else {
        w->etag[0] = '\0';
    }
    cg_buf_free(&rs.body);
    json_decref(root);
success:
    cg_backoff_success(&w->bo);
    w->last_failed = false;
    {
        int64_t elapsed = cg_mono_ms() - start;
        int64_t floor = cg_jitter(MIN_CYCLE_MS, 0.8, 1.2, NULL);
        w->next_delay_ms = (elapsed < floor ? floor - elapsed : 0) + extra;
    }
    return CG_OK;
}

int64_t cg_watch_next_delay_ms(const struct cg_watch *w)
{
    return w ? w->next_delay_ms : 0;
}

/* ---- thread ------------------------------------------------------------ */

static void *watch_main(void *arg)
{
    struct cg_watch *w = arg;

    while (!atomic_load(&w->stop)) {
        int64_t delay;

        cg_watch_poll_once(w, -1, NULL);
        delay = cg_watch_next_delay_ms(w);
        if (delay > 0) {
            struct timespec ts;

            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += (time_t)(delay / 1000);
            ts.tv_nsec += (long)(delay % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            lock(w);
            while (!atomic_load(&w->stop)) {
                if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0) {
                    break;
                }
            }
            unlock(w);
        }
    }
    return NULL;
}

int cg_watch_start(struct cg_watch *w, struct cg_error *err)
{
    if (!w || w->running) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "watcher is NULL or already running");
    }
    atomic_store(&w->stop, 0);
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "cannot start the watcher thread");
    }
    w->running = true;
    return CG_OK;
}

void cg_watch_stop(struct cg_watch *w)
{
    if (!w || !w->running) {
        return;
    }
    lock(w);
    atomic_store(&w->stop, 1);
    pthread_cond_broadcast(&w->cv);
    unlock(w);
    pthread_join(w->thread, NULL);
    w->running = false;
    atomic_store(&w->stop, 0);
}

/* ---- readers (any thread) ------------------------------------------------ */

int cg_watch_current(struct cg_watch *w, const char *config, void **bytes, size_t *len,
                     int64_t *version, struct cg_error *err)
{
    struct wcfg *c;
    char *copy = NULL;
    size_t n = 0;
    int64_t v = 0;

    if (bytes) {
        *bytes = NULL;
    }
    if (!w || !config || !bytes) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "bad arguments");
    }
    bool found;

    lock(w);
    c = find_cfg(w, config);
    found = c && c->lkg_bytes;
    if (found) {
        n = c->lkg_len;
        v = c->lkg_version;
        copy = malloc(n + 1);
        if (copy) {
            memcpy(copy, c->lkg_bytes, n + 1);
        }
    }
    unlock(w);
    if (!found) {
        return cg__error_set(err, CG_ERR_NOTFOUND, 0, "no good document of %s yet", config);
    }
    if (!copy) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    *bytes = copy;
    if (len) {
        *len = n;
    }
    if (version) {
        *version = v;
    }
    return CG_OK;
}

int cg_watch_status(struct cg_watch *w, const char *config, struct cg_watch_status *out,
                    struct cg_error *err)
{
    struct wcfg *c;
    int64_t now = cg_now_ms();

    if (!w || !config || !out || out->size < sizeof *out) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "bad arguments");
    }
    lock(w);
    c = find_cfg(w, config);
    if (c) {
        size_t size = out->size;

        memset(out, 0, sizeof *out);
        out->size = size;
        out->outcome = c->outcome;
        out->version = c->o_version;
        out->generation = c->o_generation;
        out->lkg_version = c->lkg_version;
        out->lkg_generation = c->lkg_generation;
        cg_strlcpy(out->lkg_sha256, c->lkg_sha, sizeof out->lkg_sha256);
        out->rejected_generation = c->rejected_generation;
        out->confirmed_ms = c->confirmed_ms;
        out->stale = c->lkg_generation > 0 && now >= c->valid_until_ms;
        cg_strlcpy(out->reason, c->reason, sizeof out->reason);
        cg_strlcpy(out->error, c->error, sizeof out->error);
        out->nviolations = json_array_size(c->violations);
    }
    unlock(w);
    if (!c) {
        return cg__error_set(err, CG_ERR_NOTFOUND, 0, "config %s is not known", config);
    }
    return CG_OK;
}

void cg_watch_get_stats(struct cg_watch *w, struct cg_watch_stats *out)
{
    struct cg_retry_stats rs;
    size_t size;

    if (!w || !out || out->size < sizeof *out) {
        return;
    }
    size = out->size;
    lock(w);
    *out = w->st;
    cg_retry_stats_get(&w->bo, &w->budget, &rs);
    unlock(w);
    out->size = size;
    out->requests = rs.requests;
    out->retries = rs.retries;
    out->budget_denied = rs.budget_denied;
    out->backoffs = rs.backoffs;
    out->retry_after_floors = rs.retry_after_floors;
}

char *cg_watch_dup_report_configs(struct cg_watch *w)
{
    json_t *arr = json_array();
    char *text = NULL;

    if (!w || !arr) {
        json_decref(arr);
        return NULL;
    }
    lock(w);
    for (size_t i = 0; i < w->ncfgs; i++) {
        const struct wcfg *c = &w->cfgs[i];
        json_t *o;
        int outcome = c->outcome;
        int64_t v = c->o_version, g = c->o_generation;

        if (outcome == CG_WATCH_NONE) {
            if (c->lkg_version <= 0 || c->lkg_generation <= 0) {
                continue; /* nothing known to report */
            }
            outcome = CG_WATCH_APPLIED;
            v = c->lkg_version;
            g = c->lkg_generation;
        }
        if (v <= 0 || g <= 0) {
            /* garbage without authentic numbers: report it against what runs */
            v = c->lkg_version;
            g = c->lkg_generation;
            if (v <= 0 || g <= 0) {
                continue;
            }
        }
        o = json_pack("{s:s, s:I, s:I, s:s, s:I, s:I}", "config", c->name, "version", (json_int_t)v,
                      "generation", (json_int_t)g, "outcome", cg_watch_outcome_str(outcome),
                      "lkg_version", (json_int_t)c->lkg_version, "lkg_generation",
                      (json_int_t)c->lkg_generation);
        if (!o) {
            goto fail;
        }
        if (c->violations && json_array_size(c->violations) > 0) {
            json_object_set(o, "violations", c->violations);
        }
        if (c->error[0]) {
            json_object_set_new(o, "error", json_string(c->error));
        }
        if (json_array_append_new(arr, o) != 0) {
            goto fail;
        }
    }
    unlock(w);
    text = cg_json_dump(arr);
    json_decref(arr);
    return text;
fail:
    unlock(w);
    json_decref(arr);
    return NULL;
}
