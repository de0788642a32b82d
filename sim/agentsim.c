/* SPDX-License-Identifier: MIT */
/*
 * agentsim.c - the agent protocol, once per simulated host, as events
 * (docs/api/agent.md; the blocking original is lib/watch.c + agent/).
 *
 * Each host: long-polls its cell's desired state with its own ETag;
 * verifies every statement against the pinned key (cell, expiry, newer
 * generation: I2); fetches the contract and the blob (through the shared
 * cache, sim.h), each of which must hash to what the statement signed;
 * checks the document with the contract engine against
 * what it runs (I1); "applies" it after --apply-delay (or fails the reload
 * when a fault says so) and keeps its last-known-good otherwise; posts a
 * report every --report-ms with the health the model drew; and on every
 * failure backs off with full jitter under a retry budget, honouring
 * Retry-After (common/backoff.h), unless --naive-retries asks for the
 * storm-prone behaviour of retrying at once.
 *
 * Must not: block, or trust anything from the network before the
 * statement verified.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sim.h"
#include "status.h"
#include "util.h"

#define MAX_REPORT_VIOLATIONS 20

static void host_work(struct sim *s, struct sim_host *h, int64_t now);

/* ---- helpers ------------------------------------------------------------- */

static int64_t since_start(const struct sim *s, int64_t now_mono)
{
    return now_mono - s->start_mono_ms;
}

static struct host_config *find_cfg(struct sim_host *h, const char *name)
{
    for (size_t i = 0; i < h->ncfg; i++) {
        if (strcmp(h->cfg[i].name, name) == 0) {
            return &h->cfg[i];
        }
    }
    return NULL;
}

static struct host_config *add_cfg(struct sim_host *h, const char *name)
{
    struct host_config *c;

    if (h->ncfg == SIM_MAX_CONFIGS) {
        return NULL;
    }
    c = &h->cfg[h->ncfg++];
    memset(c, 0, sizeof *c);
    cg_strlcpy(c->name, name, sizeof c->name);
    return c;
}

/* Records a decision; 'detail' (consumed) is {"error", "violations"?}. */
static void decide(struct sim *s, struct host_config *c, enum host_outcome o,
                   const struct cg_statement *st, json_t *detail)
{
    c->outcome = o;
    c->o_version = st->version;
    c->o_generation = st->generation;
    json_decref(c->detail);
    c->detail = detail;
    switch (o) {
    case OUT_APPLIED:
        s->st.applied++;
        break;
    case OUT_REJECTED:
        s->st.rejected++;
        break;
    case OUT_RELOAD_FAILED:
        s->st.reload_failed++;
        break;
    case OUT_VERIFY_FAILED:
        s->st.verify_failed++;
        break;
    default:
        break;
    }
}

static json_t *error_detail(const char *msg)
{
    return json_pack("{s:s}", "error", msg);
}

/* ---- the shared cache ------------------------------------------------------ */

static struct cache_blob *blob_get(struct sim *s, const char *sha, bool create)
{
    struct sim_cache *c = &s->cache;
    struct cache_blob *b, **n;

    for (size_t i = 0; i < c->nblobs; i++) {
        if (strcmp(c->blobs[i]->sha256, sha) == 0) {
            return c->blobs[i];
        }
    }
    if (!create) {
        return NULL;
    }
    n = realloc(c->blobs, (c->nblobs + 1) * sizeof *n);
    b = calloc(1, sizeof *b);
    if (n) {
        c->blobs = n;
    }
    if (!n || !b) {
        free(b);
        return NULL;
    }
    cg_strlcpy(b->sha256, sha, sizeof b->sha256);
    c->blobs[c->nblobs++] = b;
    return b;
}

static struct cache_contract *contract_get(struct sim *s, const char *config, const char *sha,
                                           bool create)
{
    struct sim_cache *c = &s->cache;
    struct cache_contract *k, **n;

    for (size_t i = 0; i < c->ncontracts; i++) {
        if (strcmp(c->contracts[i]->sha256, sha) == 0 &&
            strcmp(c->contracts[i]->config, config) == 0) {
            return c->contracts[i];
        }
    }
    if (!create) {
        return NULL;
    }
    n = realloc(c->contracts, (c->ncontracts + 1) * sizeof *n);
    k = calloc(1, sizeof *k);
    if (n) {
        c->contracts = n;
    }
    if (!n || !k) {
        free(k);
        return NULL;
    }
    cg_strlcpy(k->config, config, sizeof k->config);
    cg_strlcpy(k->sha256, sha, sizeof k->sha256);
    c->contracts[c->ncontracts++] = k;
    return k;
}

/*
 * The contract engine's verdict on doc (with 'live' as the version the host
 * runs, NULL = none), memoised: the check is a pure function of the three
 * inputs, so every host would compute the same answer.
 */
static const struct cache_verdict *verdict_get(struct sim *s, const struct cache_contract *k,
                                               const struct cache_blob *doc,
                                               const struct cache_blob *live)
{
    struct sim_cache *c = &s->cache;
    const char *lsha = live ? live->sha256 : "";
    struct cache_verdict *v, **n;
    struct cg_violations viol = {0};

    for (size_t i = 0; i < c->nverdicts; i++) {
        v = c->verdicts[i];
        if (strcmp(v->doc_sha, doc->sha256) == 0 && strcmp(v->live_sha, lsha) == 0 &&
            strcmp(v->contract_sha, k->sha256) == 0) {
            c->check_hits++;
            return v;
        }
    }
    n = realloc(c->verdicts, (c->nverdicts + 1) * sizeof *n);
    v = calloc(1, sizeof *v);
    if (n) {
        c->verdicts = n;
    }
    if (!n || !v) {
        free(v);
        return NULL;
    }
    c->checks++;
    cg_strlcpy(v->contract_sha, k->sha256, sizeof v->contract_sha);
    cg_strlcpy(v->doc_sha, doc->sha256, sizeof v->doc_sha);
    cg_strlcpy(v->live_sha, lsha, sizeof v->live_sha);
    v->rc = cg_contract_check(k->contract, doc->bytes, doc->len, live ? live->bytes : NULL,
                              live ? live->len : 0, &viol);
    if (v->rc == CG_ERR_VIOLATION) {
        json_t *vj = cg_violations_to_json(&viol);

        while (json_array_size(vj) > MAX_REPORT_VIOLATIONS) {
            json_array_remove(vj, json_array_size(vj) - 1);
        }
        v->violations = cg_json_dump(vj);
        json_decref(vj);
        snprintf(v->message, sizeof v->message, "contract violation: %s%s",
                 viol.count ? viol.items[0].message : "", viol.count > 1 ? " (and more)" : "");
    }
    cg_violations_free(&viol);
    c->verdicts[c->nverdicts++] = v;
    return v;
}

/* The behaviour of what (config, version, sha) makes a host do. */
static void behaviour_of(const struct sim *s, const char *config, int64_t version, const char *sha,
                         struct model_behaviour *out)
{
    char key[80];

    snprintf(key, sizeof key, "%s:%lld", config, (long long)version);
    for (size_t i = 0; i < s->nmap; i++) {
        if (strcmp(s->map[i].key, sha) == 0 || strcmp(s->map[i].key, key) == 0) {
            *out = s->map[i].b;
            return;
        }
    }
    for (size_t i = 0; i < s->cache.nblobs; i++) {
        const struct cache_blob *b = s->cache.blobs[i];

        if (strcmp(b->sha256, sha) == 0 && b->state == CACHE_READY) {
            *out = b->behaviour;
            return;
        }
    }
    *out = s->opt.base;
}

/* The host's behaviour now: the worst over the versions it runs. */
static void host_behaviour(const struct sim *s, const struct sim_host *h,
                           struct model_behaviour *out)
{
    bool first = true;

    *out = s->opt.base;
    for (size_t i = 0; i < h->ncfg; i++) {
        struct model_behaviour b;

        if (h->cfg[i].lkg_version <= 0) {
            continue;
        }
        behaviour_of(s, h->cfg[i].name, h->cfg[i].lkg_version, h->cfg[i].lkg_sha, &b);
        if (first) {
            *out = b;
            first = false;
        } else {
            model_behaviour_worst(out, &b);
        }
    }
}

/* Draws the health of the window since the last flush (under the versions
 * the host runs now) into h->unreported and the blast accounting. */
static void flush_health(struct sim *s, struct sim_host *h, int64_t now_wall)
{
    struct model_behaviour b;
    struct model_window w;
    const char *configs[SIM_MAX_CONFIGS];
    int64_t versions[SIM_MAX_CONFIGS];
    size_t n = 0;
    int64_t len = now_wall - h->window_start_ms;

    if (len <= 0) {
        return;
    }
    memset(&w, 0, sizeof w);
    host_behaviour(s, h, &b);
    {
        /* an errors fault raises the rate whatever the host runs (by the
         * wall clock's time since start: flushes happen on it) */
        double fr =
            faults_error_rate(&s->opt.faults, s->topo.cells[h->cell].zone,
                              s->topo.cells[h->cell].id, h->name, now_wall - s->start_wall_ms);
        if (fr > b.error_rate) {
            b.error_rate = fr;
        }
    }
    model_window_draw(&h->model, &b, s->opt.rps, len, &h->rng, &w);
    for (size_t i = 0; i < h->ncfg; i++) {
        if (h->cfg[i].lkg_version > 0) {
            configs[n] = h->cfg[i].name;
            versions[n++] = h->cfg[i].lkg_version;
        }
    }
    blast_served(&s->blast, configs, versions, n, w.requests, w.errors, h->window_start_ms,
                 now_wall);
    if (s->exporter) {
        exporter_served(s->exporter, s->topo.cells[h->cell].id, configs, versions, n, &w);
    }
    s->st.requests_total += w.requests;
    s->st.errors_total += w.errors;
    h->unreported.requests += w.requests;
    h->unreported.errors += w.errors;
    h->unreported.retries += w.retries;
    cg_hist_merge(&h->unreported.hist, &w.hist);
    h->unreported_ms += len;
    h->window_start_ms = now_wall;
}

/* ---- the main channel: poll, verify, fetch, check, apply ----------------- */

static void clear_pending(struct sim_host *h)
{
    free(h->pending);
    h->pending = NULL;
    h->npending = h->ipending = 0;
    h->apply_at_ms = 0;
}

/* A failed cycle: back off with full jitter (Retry-After as a floor) under
 * the retry budget, or, with --naive-retries, go again at once. The state
 * is fetched again whole (the ETag is not advanced). */
static void cycle_failed(struct sim *s, struct sim_host *h, int64_t retry_after_ms, int64_t now)
{
    int64_t delay = 0;

    h->poll_failures++;
    s->st.poll_failures++;
    if (retry_after_ms > 0) {
        s->st.retry_after_seen++;
    }
    if (!s->opt.naive_retries) {
        delay = cg_backoff_next(&h->bo, retry_after_ms > 0 ? retry_after_ms : 0);
        if (!cg_retry_budget_try_retry(&h->budget, now)) {
            /* budget spent: no retry now; come back at the next regular poll */
            int64_t wait = cg_jitter_wait((int64_t)s->opt.wait_s * 1000, NULL);

            if (wait > delay) {
                delay = wait;
            }
        }
    }
    h->last_failed = true;
    clear_pending(h);
    h->state = HS_IDLE;
    h->next_ms = now + delay;
}

static void mark_polled(struct sim *s, struct sim_host *h)
{
    if (!h->polled_once) {
        h->polled_once = true;
        s->hosts_polled_once++;
    }
}

/* A successful cycle: the state was fully processed. */
static void cycle_done(struct sim *s, struct sim_host *h, int64_t started, int64_t now)
{
    int64_t floor = cg_jitter(SIM_MIN_CYCLE_MS, 0.8, 1.2, NULL);

    cg_backoff_success(&h->bo);
    h->last_failed = false;
    cg_strlcpy(h->etag, h->pending_etag, sizeof h->etag);
    clear_pending(h);
    mark_polled(s, h);
    h->state = HS_IDLE;
    h->next_ms = now + (now - started < floor ? floor - (now - started) : 0);
}

static void on_poll(struct sim *s, struct sim_req *rq);

static void poll_start(struct sim *s, struct sim_host *h, int64_t now)
{
    char path[256];
    int wait = (int)((cg_jitter_wait((int64_t)s->opt.wait_s * 1000, NULL) + 500) / 1000);

    if (wait < 1) {
        wait = 1;
    }
    if (!h->last_failed) {
        cg_retry_budget_on_request(&h->budget, now);
    }
    /* host=: a one-box canary step may give this host its own version */
    snprintf(path, sizeof path, "/v1/agent/desired?cell=%s&host=%s&wait=%d",
             s->topo.cells[h->cell].id, h->name, wait);
    h->state = HS_POLLING;
    h->cycle_start_ms = now;
    h->req = loop_start(s, REQ_POLL, h, path, s->cell_tokens[h->cell], h->etag, NULL,
                        (long)wait * 1200L + 10000L, SIM_MAX_DESIRED, on_poll, NULL);
    if (!h->req) {
        cycle_failed(s, h, -1, now);
    }
}

/*
 * Verifies the statements of a 200 answer and queues the new generations.
 * Returns 0, or -1 when a statement failed verification (the cycle fails
 * and is retried after a backoff, keeping the last-known-good).
 */
static int take_state(struct sim *s, struct sim_host *h, const json_t *root)
{
    const json_t *items = json_object_get(root, "assignments");
    size_t n = json_array_size(items);
    int rc = 0;

    clear_pending(h);
    h->pending = calloc(n ? n : 1, sizeof *h->pending);
    if (!h->pending) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(items, i);
        const char *name = cg_json_str(item, "config", "", NULL);
        struct host_config *c;
        struct cg_stmt_expect exp;
        struct cg_statement st;
        struct cg_stmt_error se = {0};
        char msg[256];

        if (!json_is_object(item) || !cg_valid_name(name)) {
            continue;
        }
        c = find_cfg(h, name);
        if (!c) {
            c = add_cfg(h, name);
            if (!c) {
                continue; /* more configs than a simulated host follows */
            }
        }
        exp = (struct cg_stmt_expect){
            .keys = &s->pubkey,
            .nkeys = 1,
            .cell = s->topo.cells[h->cell].id,
            .now_ms = sim_wall(),
            .held_generation = c->lkg_generation,
        };
        if (cg_statement_verify(json_object_get(item, "statement"), &exp, &st, &se) != CG_OK) {
            if (se.reason == CG_STMT_NOT_NEWER && st.generation == c->lkg_generation &&
                strcmp(st.config, c->name) == 0) {
                continue; /* a renewal of what it holds */
            }
            if (se.reason == CG_STMT_NOT_NEWER && st.generation <= c->rejected_generation) {
                continue; /* refused before and reported */
            }
            snprintf(msg, sizeof msg, "%s: statement rejected: %s", cg_stmt_reason_str(se.reason),
                     se.message);
            st.version = st.version ? st.version : cg_json_int(item, "version", 0, NULL);
            st.generation =
                st.generation ? st.generation : cg_json_int(item, "generation", 0, NULL);
            decide(s, c, OUT_VERIFY_FAILED, &st, error_detail(msg));
            rc = -1;
            continue;
        }
        if (strcmp(st.config, c->name) != 0) {
            decide(s, c, OUT_VERIFY_FAILED, &st, error_detail("statement is for another config"));
            rc = -1;
            continue;
        }
        if (st.generation <= c->rejected_generation) {
            continue;
        }
        h->pending[h->npending].st = st;
        /* the signed one, not the item's unsigned copy */
        cg_strlcpy(h->pending[h->npending].contract_sha, st.contract_sha256,
                   sizeof h->pending[0].contract_sha);
        h->npending++;
    }
    return rc;
}

static void on_poll(struct sim *s, struct sim_req *rq)
{
    struct sim_host *h = rq->host;
    int64_t now = sim_mono(), started = h->cycle_start_ms;
    json_t *root = NULL;

    h->req = NULL;
    h->polls++;
    s->st.polls++;
    if (rq->status == 304) {
        s->st.polls_304++;
        cg_strlcpy(h->pending_etag, h->etag, sizeof h->pending_etag);
        cycle_done(s, h, started, now);
        return;
    }
    if (rq->status != 200) {
        if (rq->status >= 500) {
            s->st.status_5xx++;
        }
        cycle_failed(s, h, rq->retry_after_ms, now);
        return;
    }
    s->st.polls_200++;
    if (cg_json_parse(rq->body.data ? rq->body.data : "", rq->body.len, 0, 16, &root, NULL, 0) !=
            CG_JSON_OK ||
        !json_is_object(root) || !json_is_array(json_object_get(root, "assignments"))) {
        json_decref(root);
        cycle_failed(s, h, -1, now);
        return;
    }
    {
        const char *etag = rq->etag[0] ? rq->etag : cg_json_str(root, "etag", "", NULL);

        cg_strlcpy(h->pending_etag, strlen(etag) < sizeof h->pending_etag ? etag : "",
                   sizeof h->pending_etag);
    }
    if (take_state(s, h, root) != 0) {
        json_decref(root);
        cycle_failed(s, h, -1, now);
        return;
    }
    json_decref(root);
    h->state = HS_WORKING;
    host_work(s, h, now);
}

static void on_fetch(struct sim *s, struct sim_req *rq);

/* Starts this host's fetch of a cache entry. */
static void fetch_start(struct sim *s, struct sim_host *h, enum req_kind kind, const char *path,
                        size_t max, void *entry, int64_t now)
{
    h->state = HS_FETCHING;
    h->req = loop_start(s, kind, h, path, s->cell_tokens[h->cell], NULL, NULL,
                        (long)s->opt.timeout_ms, max, on_fetch, entry);
    if (!h->req) {
        if (kind == REQ_BLOB) {
            ((struct cache_blob *)entry)->state = CACHE_MISSING;
        } else {
            ((struct cache_contract *)entry)->state = CACHE_MISSING;
        }
        cycle_failed(s, h, -1, now);
    }
}

/* Fills a blob entry from a 200 answer. Returns 0, or -1 (sha mismatch). */
static int blob_fill(struct sim *s, struct cache_blob *b, struct sim_req *rq)
{
    char sha[65];
    size_t len = 0;

    cg_sha256_hex(rq->body.data ? rq->body.data : "", rq->body.len, sha);
    if (strcmp(sha, b->sha256) != 0) {
        return -1;
    }
    b->bytes = cg_buf_detach(&rq->body, &len);
    if (!b->bytes) {
        return -1;
    }
    b->len = len;
    b->behaviour = s->opt.base;
    b->behaviour_set = model_behaviour_from_doc(b->bytes, b->len, &b->behaviour);
    b->state = CACHE_READY;
    s->cache.blob_fetches++;
    return 0;
}

/* Fills a contract entry from a config object. Returns 0, -1, or -2 when
 * the contract does not hash to the signed contract_sha256 (k->sha256; the
 * hash is computed over the text the contract engine parses, as lib/watch.c
 * does). */
static int contract_fill(struct sim *s, struct cache_contract *k, struct sim_req *rq)
{
    json_t *root = NULL;
    char *text, sha[65];
    struct cg_violations errs = {0};
    int rc;

    if (cg_json_parse(rq->body.data ? rq->body.data : "", rq->body.len, 0, 0, &root, NULL, 0) !=
        CG_JSON_OK) {
        return -1;
    }
    text = json_is_object(json_object_get(root, "contract"))
               ? cg_json_dump(json_object_get(root, "contract"))
               : NULL;
    json_decref(root);
    if (!text) {
        return -1;
    }
    cg_sha256_hex(text, strlen(text), sha);
    if (strcmp(sha, k->sha256) != 0) {
        free(text);
        return -2;
    }
    rc = cg_contract_parse(text, strlen(text), &k->contract, &errs);
    free(text);
    cg_violations_free(&errs);
    if (rc != CG_OK) {
        return -1;
    }
    k->state = CACHE_READY;
    s->cache.contract_fetches++;
    return 0;
}

static void on_fetch(struct sim *s, struct sim_req *rq)
{
    struct sim_host *h = rq->host;
    int64_t now = sim_mono();
    int rc = -1;

    h->req = NULL;
    if (rq->status == 200) {
        rc = rq->kind == REQ_BLOB ? blob_fill(s, rq->ctx, rq) : contract_fill(s, rq->ctx, rq);
    }
    if (rc != 0) {
        if (rq->kind == REQ_BLOB) {
            ((struct cache_blob *)rq->ctx)->state = CACHE_MISSING;
        } else {
            ((struct cache_contract *)rq->ctx)->state = CACHE_MISSING;
        }
        if (rq->status >= 500) {
            s->st.status_5xx++;
        }
        if (rq->status == 200 && (rq->kind == REQ_BLOB || rc == -2) && h->ipending < h->npending) {
            struct host_pending *p = &h->pending[h->ipending];
            struct host_config *c = find_cfg(h, p->st.config);

            if (c) {
                decide(s, c, OUT_VERIFY_FAILED, &p->st,
                       error_detail(rq->kind == REQ_BLOB
                                        ? "sha256_mismatch: blob does not hash to the signed sha256"
                                        : "contract_mismatch: the server's contract does not hash "
                                          "to the signed contract_sha256"));
            }
        }
        s->st.fetch_failures++;
        cycle_failed(s, h, rq->retry_after_ms, now);
        return;
    }
    h->state = HS_WORKING;
    host_work(s, h, now);
}

/* The reload finished (or failed): the host runs the new version or keeps
 * its last-known-good. */
static void report_start(struct sim *s, struct sim_host *h, int64_t now);

static void apply_now(struct sim *s, struct sim_host *h, struct host_config *c,
                      const struct host_pending *p, int64_t now)
{
    int64_t wall = sim_wall();

    if (faults_reload_fails(&s->opt.faults, h->idx, p->st.version, since_start(s, now))) {
        c->rejected_generation = p->st.generation;
        decide(s, c, OUT_RELOAD_FAILED, &p->st,
               error_detail("apply_failed: reload hook exited with status 1 (simulated fault); "
                            "last-known-good kept"));
        return;
    }
    /* The window so far ran the old version: report it now, under the old
     * version, so the server does not count it against the new one. */
    if (!h->report_req) {
        /* an extra report: the periodic schedule stays where it was, as
         * the agent's does; otherwise a fleet-wide change would line up
         * every host's report timer (a self-made thundering herd) */
        int64_t next = h->report_next_ms;

        report_start(s, h, now);
        if (next - now >= s->opt.report_ms / 2) {
            h->report_next_ms = next;
        } /* else: a fresh period (a tiny window would be a noisy sample) */
    }
    flush_health(s, h, wall);
    if (c->lkg_version > 0) {
        blast_leave(&s->blast, c->name, c->lkg_version, wall);
    }
    c->lkg_version = p->st.version;
    c->lkg_generation = p->st.generation;
    cg_strlcpy(c->lkg_sha, p->st.sha256, sizeof c->lkg_sha);
    blast_enter(&s->blast, c->name, c->lkg_version, c->lkg_sha, h->idx, h->cell, wall);
    {
        struct blast_version *bv = blast_version_get(&s->blast, c->name, c->lkg_version, false);
        const struct cache_blob *b = blob_get(s, c->lkg_sha, false);

        if (bv && !bv->behaviour_set) {
            behaviour_of(s, c->name, c->lkg_version, c->lkg_sha, &bv->behaviour);
            bv->behaviour_set = (b && b->behaviour_set) ? b->behaviour_set : MODEL_ERROR_RATE;
        }
    }
    decide(s, c, OUT_APPLIED, &p->st, NULL);
}

/*
 * Works through the pending assignments: contract, blob, check, apply,
 * one at a time. Returns when it must wait (a fetch, another host's fetch,
 * the reload delay) or when the cycle is done.
 */
static void host_work(struct sim *s, struct sim_host *h, int64_t now)
{
    int64_t started = h->cycle_start_ms;

    while (h->ipending < h->npending) {
        struct host_pending *p = &h->pending[h->ipending];
        struct host_config *c = find_cfg(h, p->st.config);
        struct cache_contract *k;
        struct cache_blob *b;
        const struct cache_verdict *v;
        char path[160];

        if (!c) {
            h->ipending++;
            continue;
        }
        k = contract_get(s, c->name, p->contract_sha, true);
        b = blob_get(s, p->st.sha256, true);
        if (!k || !b) {
            cycle_failed(s, h, -1, now);
            return;
        }
        if (k->state != CACHE_READY) {
            if (k->state == CACHE_FETCHING) {
                h->next_ms = now + SIM_SCAN_MS; /* another host is fetching it */
                return;
            }
            k->state = CACHE_FETCHING;
            snprintf(path, sizeof path, "/v1/configs/%s", c->name);
            fetch_start(s, h, REQ_CONTRACT, path, SIM_MAX_CONFIG, k, now);
            return;
        }
        if (b->state != CACHE_READY) {
            if (b->state == CACHE_FETCHING) {
                h->next_ms = now + SIM_SCAN_MS;
                return;
            }
            b->state = CACHE_FETCHING;
            snprintf(path, sizeof path, "/v1/blobs/%s", b->sha256);
            fetch_start(s, h, REQ_BLOB, path, SIM_MAX_DOC, b, now);
            return;
        }
        if (h->apply_at_ms == 0) {
            const struct cache_blob *live = c->lkg_sha[0] ? blob_get(s, c->lkg_sha, false) : NULL;

            v = verdict_get(s, k, b, live && live->state == CACHE_READY ? live : NULL);
            if (!v || (v->rc != CG_OK && v->rc != CG_ERR_VIOLATION)) {
                cycle_failed(s, h, -1, now);
                return;
            }
            if (v->rc == CG_ERR_VIOLATION) {
                json_t *viol = NULL;

                if (v->violations) {
                    cg_json_parse(v->violations, strlen(v->violations), 0, 0, &viol, NULL, 0);
                }
                c->rejected_generation = p->st.generation;
                decide(s, c, OUT_REJECTED, &p->st,
                       json_pack("{s:s,s:o}", "error", v->message, "violations",
                                 viol ? viol : json_array()));
                h->ipending++;
                continue;
            }
            /* reload: takes --apply-delay */
            h->apply_at_ms = now + s->opt.apply_delay_ms;
        }
        if (now < h->apply_at_ms) {
            h->state = HS_WORKING;
            h->next_ms = h->apply_at_ms;
            return;
        }
        h->apply_at_ms = 0;
        apply_now(s, h, c, p, now);
        h->ipending++;
    }
    cycle_done(s, h, started, now);
}

/* ---- reports --------------------------------------------------------------- */

static const char *outcome_str(enum host_outcome o)
{
    switch (o) {
    case OUT_APPLIED:
        return "applied";
    case OUT_REJECTED:
        return "rejected";
    case OUT_RELOAD_FAILED:
        return "reload_failed";
    case OUT_VERIFY_FAILED:
        return "verify_failed";
    default:
        return "none";
    }
}

static json_t *report_configs(const struct sim_host *h)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr && i < h->ncfg; i++) {
        const struct host_config *c = &h->cfg[i];
        enum host_outcome o = c->outcome;
        int64_t v = c->o_version, g = c->o_generation;
        json_t *e;

        if (o == OUT_NONE) {
            if (c->lkg_version <= 0) {
                continue;
            }
            o = OUT_APPLIED;
            v = c->lkg_version;
            g = c->lkg_generation;
        }
        if (v <= 0 || g <= 0) {
            v = c->lkg_version;
            g = c->lkg_generation;
            if (v <= 0 || g <= 0) {
                continue;
            }
        }
        e = json_pack("{s:s,s:I,s:I,s:s,s:I,s:I}", "config", c->name, "version", (json_int_t)v,
                      "generation", (json_int_t)g, "outcome", outcome_str(o), "lkg_version",
                      (json_int_t)c->lkg_version, "lkg_generation", (json_int_t)c->lkg_generation);
        if (e && c->detail) {
            json_object_update(e, c->detail);
        }
        json_array_append_new(arr, e);
    }
    return arr;
}

static void put_counter(json_t *m, const char *name, uint64_t cur, uint64_t prev)
{
    json_object_set_new(m, name,
                        json_pack("{s:s,s:I}", "type", "counter", "value",
                                  (json_int_t)(cur >= prev ? cur - prev : 0)));
}

/* Builds the report body (malloc'd text) from the unreported window. */
static char *report_body(struct sim *s, struct sim_host *h, struct cg_retry_stats *rs)
{
    const struct model_window *w = &h->unreported;
    json_t *metrics = json_object(), *root;
    char *text;

    cg_retry_stats_get(&h->bo, &h->budget, rs);
    /* the gated characteristic metric first: the server keeps 8 per series */
    json_object_set_new(metrics, "retries_per_request",
                        json_pack("{s:s,s:f}", "type", "gauge", "value",
                                  w->requests ? (double)w->retries / (double)w->requests : 0.0));
    put_counter(metrics, "agent_requests", rs->requests, h->reported.requests);
    put_counter(metrics, "agent_retries", rs->retries, h->reported.retries);
    put_counter(metrics, "agent_retry_budget_denied", rs->budget_denied, h->reported.budget_denied);
    put_counter(metrics, "agent_backoffs", rs->backoffs, h->reported.backoffs);
    put_counter(metrics, "agent_retry_after_floors", rs->retry_after_floors,
                h->reported.retry_after_floors);
    put_counter(metrics, "agent_poll_failures", h->poll_failures, h->reported_poll_failures);
    put_counter(metrics, "agent_report_failures", h->report_failures, h->reported_report_failures);
    root = json_pack("{s:s,s:s,s:I,s:I,s:I,s:o,s:{s:I,s:I,s:o,s:o}}", "host", h->name, "cell",
                     s->topo.cells[h->cell].id, "seq", (json_int_t)(h->seq + 1), "window_ms",
                     (json_int_t)h->unreported_ms, "sent_at_ms", (json_int_t)sim_wall(), "configs",
                     report_configs(h), "health", "requests", (json_int_t)w->requests, "errors",
                     (json_int_t)w->errors, "latency_ms", cg_hist_to_json(&w->hist), "metrics",
                     metrics);
    text = root ? cg_json_dump(root) : NULL;
    json_decref(root);
    return text;
}

static void on_report(struct sim *s, struct sim_req *rq)
{
    struct sim_host *h = rq->host;
    struct cg_retry_stats *rs = rq->ctx;

    h->report_req = NULL;
    if (rq->status == 204 || rq->status == 200) {
        s->st.reports++;
        h->seq++;
        h->reported = *rs;
        h->reported_poll_failures = h->poll_failures;
        h->reported_report_failures = h->report_failures;
        memset(&h->unreported, 0, sizeof h->unreported);
        h->unreported_ms = 0;
    } else {
        s->st.report_failures++;
        h->report_failures++;
        if (rq->status >= 500) {
            s->st.status_5xx++;
        }
        if (s->opt.naive_retries) {
            /* naive: send the report again at the next tick */
            h->report_next_ms = sim_mono();
        } else if (rq->retry_after_ms > 0) {
            /* shed or rate limited: the next report waits at least that long */
            int64_t at = sim_mono() + cg_jitter(rq->retry_after_ms, 1.0, 1.2, NULL);

            if (at > h->report_next_ms) {
                h->report_next_ms = at;
            }
        }
        if (h->unreported_ms > 60000) {
            /* a minute without an accepted report: drop the oldest data
             * rather than send one huge window later */
            memset(&h->unreported, 0, sizeof h->unreported);
            h->unreported_ms = 0;
        }
    }
    free(rs);
}

static void report_start(struct sim *s, struct sim_host *h, int64_t now)
{
    int64_t wall = sim_wall();
    struct cg_retry_stats *rs;
    char *body;

    h->report_next_ms = now + cg_jitter(s->opt.report_ms, 0.9, 1.1, NULL);
    flush_health(s, h, wall);
    if (faults_silent(&s->opt.faults, h->idx, since_start(s, now))) {
        memset(&h->unreported, 0, sizeof h->unreported); /* nobody hears it */
        h->unreported_ms = 0;
        return;
    }
    rs = calloc(1, sizeof *rs);
    body = rs ? report_body(s, h, rs) : NULL;
    if (!body) {
        free(rs);
        return;
    }
    h->report_req = loop_start(s, REQ_REPORT, h, "/v1/agent/report", s->cell_tokens[h->cell], NULL,
                               body, (long)s->opt.timeout_ms, 64 * 1024, on_report, rs);
    if (!h->report_req) {
        free(rs);
    }
}

/* ---- fleet-wide ------------------------------------------------------------ */

int agents_init(struct sim *s)
{
    struct cg_backoff_config bc;
    struct model_noise noise = {
        .rate_sigma = s->opt.noise,
        .latency_sigma = s->opt.latency_noise >= 0 ? s->opt.latency_noise : s->opt.noise / 2,
        .tail_share = s->opt.tail_share,
        .tail_alpha = s->opt.tail_alpha,
        .tail_min = s->opt.tail_min,
        .error_dispersion = s->opt.error_dispersion,
    };
    const struct model_bias *bias;
    size_t k = 0;
    int64_t now = sim_mono(), wall = sim_wall();

    s->hosts = calloc(s->topo.nhosts, sizeof *s->hosts);
    if (!s->hosts) {
        return -1;
    }
    s->nhosts = s->topo.nhosts;
    cg_backoff_config_default(&bc);
    if (s->opt.backoff_base_ms > 0) {
        bc.base_ms = s->opt.backoff_base_ms;
    }
    if (s->opt.backoff_cap_ms > 0) {
        bc.cap_ms = s->opt.backoff_cap_ms;
    }
    for (size_t c = 0; c < s->topo.ncells; c++) {
        for (unsigned j = 0; j < s->topo.cells[c].hosts; j++) {
            struct sim_host *h = &s->hosts[k];
            int64_t start = cg_jitter_startup(s->opt.startup_ms, NULL);

            h->idx = (uint32_t)k;
            h->srv = (uint32_t)(k % (s->nservers ? s->nservers : 1));
            h->cell = (uint32_t)c;
            if (strlen(s->topo.cells[c].id) + 6 < sizeof h->name) {
                snprintf(h->name, sizeof h->name, "%s-h%03u", s->topo.cells[c].id, j + 1);
            } else {
                snprintf(h->name, sizeof h->name, "sim-host-%zu", k + 1);
            }
            model_rng_seed(&h->rng, s->opt.seed * 0x9e3779b97f4a7c15ULL + k + 1);
            model_host_init(&h->model, &noise, &h->rng);
            bias = model_biases_find(&s->opt.cell_bias, s->topo.cells[c].id);
            if (bias) {
                h->model.error_bias = bias->error;
                h->model.latency_bias = bias->latency;
            }
            cg_backoff_init(&h->bo, &bc, NULL);
            cg_retry_budget_init(&h->budget, NULL);
            h->state = HS_IDLE;
            h->next_ms = now + start;
            h->report_next_ms = now + start + cg_jitter(s->opt.report_ms, 0.0, 1.0, NULL);
            h->window_start_ms = wall + start;
            k++;
        }
    }
    return 0;
}

void agents_free(struct sim *s)
{
    for (size_t i = 0; i < s->nhosts; i++) {
        struct sim_host *h = &s->hosts[i];

        free(h->pending);
        for (size_t j = 0; j < h->ncfg; j++) {
            json_decref(h->cfg[j].detail);
        }
    }
    free(s->hosts);
    s->hosts = NULL;
    for (size_t i = 0; i < s->cache.nblobs; i++) {
        free(s->cache.blobs[i]->bytes);
        free(s->cache.blobs[i]);
    }
    for (size_t i = 0; i < s->cache.ncontracts; i++) {
        cg_contract_free(s->cache.contracts[i]->contract);
        free(s->cache.contracts[i]);
    }
    for (size_t i = 0; i < s->cache.nverdicts; i++) {
        free(s->cache.verdicts[i]->violations);
        free(s->cache.verdicts[i]);
    }
    free(s->cache.blobs);
    free(s->cache.contracts);
    free(s->cache.verdicts);
    memset(&s->cache, 0, sizeof s->cache);
}

void agents_tick(struct sim *s, int64_t now)
{
    for (size_t i = 0; i < s->nhosts; i++) {
        struct sim_host *h = &s->hosts[i];

        if (h->state == HS_IDLE && now >= h->next_ms) {
            poll_start(s, h, now);
        } else if (h->state == HS_WORKING && now >= h->next_ms) {
            host_work(s, h, now);
        }
        if (!h->report_req && now >= h->report_next_ms) {
            report_start(s, h, now);
        }
    }
}

size_t agents_versions(const struct sim *s, const char **configs, int64_t *versions,
                       uint64_t *counts, size_t max, uint64_t *none)
{
    size_t n = 0;

    *none = 0;
    for (size_t i = 0; i < s->nhosts; i++) {
        const struct sim_host *h = &s->hosts[i];
        bool any = false;

        for (size_t j = 0; j < h->ncfg; j++) {
            const struct host_config *c = &h->cfg[j];
            size_t k;

            if (c->lkg_version <= 0) {
                continue;
            }
            any = true;
            for (k = 0; k < n; k++) {
                if (versions[k] == c->lkg_version && strcmp(configs[k], c->name) == 0) {
                    break;
                }
            }
            if (k == n) {
                if (n == max) {
                    continue;
                }
                configs[n] = c->name;
                versions[n] = c->lkg_version;
                counts[n] = 0;
                n++;
            }
            counts[k]++;
        }
        if (!any) {
            (*none)++;
        }
    }
    return n;
}
