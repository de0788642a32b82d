/* SPDX-License-Identifier: MIT */
/*
 * test_watch.c: struct cg_watch (lib/watch.c), the verify -> fetch ->
 * sha256 -> contract -> apply pipeline, against a tiny in-process HTTP
 * server on 127.0.0.1 that serves canned answers, with statements signed
 * by a key made for the test (common/sign.h).
 */
#include "testhelp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cellgate/cellgate.h>

#include "json.h"
#include "sign.h"
#include "util.h"

/* ---- a canned HTTP server -------------------------------------------- */

struct canned {
    pthread_mutex_t mu;
    int fd, port, stop;
    pthread_t th;
    char *desired; /* body of /v1/agent/desired (200), NULL = 500 */
    char *blob;    /* body of any /v1/blobs/ */
    size_t blob_len;
    char *config; /* body of /v1/configs/NAME */
    int hits;
};

static void reply(int c, int status, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: "
                     "%zu\r\nConnection: close\r\n\r\n",
                     status, len);
    if (write(c, head, (size_t)n) < 0 || (len && write(c, body, len) < 0)) {
        return;
    }
}

static void *serve(void *arg)
{
    struct canned *s = arg;

    for (;;) {
        char req[4096] = "";
        size_t n = 0;
        int c = accept(s->fd, NULL, NULL);

        if (c < 0) {
            return NULL;
        }
        while (n < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
            ssize_t r = read(c, req + n, sizeof req - 1 - n);
            if (r <= 0) {
                break;
            }
            n += (size_t)r;
            req[n] = '\0';
        }
        pthread_mutex_lock(&s->mu);
        s->hits++;
        if (s->stop) {
            pthread_mutex_unlock(&s->mu);
            close(c);
            return NULL;
        }
        if (strncmp(req, "GET /v1/agent/desired", 21) == 0) {
            if (s->desired) {
                reply(c, 200, s->desired, strlen(s->desired));
            } else {
                reply(c, 500, "{}", 2);
            }
        } else if (strncmp(req, "GET /v1/blobs/", 14) == 0 && s->blob) {
            reply(c, 200, s->blob, s->blob_len);
        } else if (strncmp(req, "GET /v1/configs/", 16) == 0 && s->config) {
            reply(c, 200, s->config, strlen(s->config));
        } else {
            reply(c, 404, "{}", 2);
        }
        pthread_mutex_unlock(&s->mu);
        close(c);
    }
}

static struct canned *canned_start(void)
{
    struct canned *s = calloc(1, sizeof *s);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;

    pthread_mutex_init(&s->mu, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    getsockname(s->fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->th, NULL, serve, s);
    return s;
}

static void canned_stop(struct canned *s)
{
    int c;
    struct sockaddr_in a = {.sin_family = AF_INET};

    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    /* wake accept() */
    c = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)s->port);
    if (connect(c, (struct sockaddr *)&a, sizeof a) != 0) {
        /* the thread is gone already */
    }
    close(c);
    pthread_join(s->th, NULL);
    close(s->fd);
    free(s->desired);
    free(s->blob);
    free(s->config);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- fixture ------------------------------------------------------------ */

static const char contract[] =
    "{\"media_type\":\"application/json\",\"schema\":{\"type\":\"object\",\"required\":"
    "[\"features\"]},\"cardinality\":[{\"pointer\":\"/features\",\"min\":1,\"max\":4}],"
    "\"growth\":[{\"pointer\":\"/features\",\"max_abs\":2}]}";

/* What a tampering proxy would swap in: anything goes. */
static const char permissive[] =
    "{\"media_type\":\"application/json\",\"schema\":{\"type\":\"object\"}}";

struct fx {
    char *dir;
    struct cg_signkey *key;
    char pubhex[65];
    struct canned *srv;
    struct cg_client *client;
    struct cg_watch *w;
    int applies;
    int apply_rc;
    int64_t last_version;
    char contract_sha[65];   /* of 'contract' as the server stores it */
    char permissive_sha[65]; /* of 'permissive' */
    /* serve_doc knobs */
    const char *signed_contract; /* contract_sha256 to sign; NULL = contract_sha */
    const char *item_contract;   /* the item's unsigned copy; NULL = as signed */
    int strip_contract;          /* drop contract_sha256 from the statement (v1) */
};

/* sha256 of a contract in the canonical form the server stores and the
 * watcher hashes (cg_json_dump: compact, sorted keys). */
static void contract_hash(const char *text, char out[65])
{
    json_t *v = json_loads(text, 0, NULL);
    char *canon;

    assert_non_null(v);
    canon = cg_json_dump(v);
    assert_non_null(canon);
    cg_sha256_hex(canon, strlen(canon), out);
    free(canon);
    json_decref(v);
}

/* Makes the canned server answer GET /v1/configs/NAME with 'k'. */
static void serve_contract(struct fx *f, const char *k)
{
    size_t n = strlen(k) + 32;
    char *c = malloc(n);

    assert_non_null(c);
    snprintf(c, n, "{\"contract\":%s}", k);
    pthread_mutex_lock(&f->srv->mu);
    free(f->srv->config);
    f->srv->config = c;
    pthread_mutex_unlock(&f->srv->mu);
}

static int on_apply(void *ud, const struct cg_watch_doc *doc, char *why, size_t whylen)
{
    struct fx *f = ud;

    f->applies++;
    f->last_version = doc->version;
    if (f->apply_rc != CG_OK) {
        snprintf(why, whylen, "reload exited with 1");
    }
    return f->apply_rc;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char path[1024], msg[256], url[64];
    struct cg_pubkey pk;
    const char *keys[1];
    const char *configs[] = {"features"};
    struct cg_watch_options o = {.size = sizeof o};

    f->dir = th_tmpdir();
    snprintf(path, sizeof path, "%s/key", f->dir);
    assert_int_equal(cg_signkey_create(path, msg, sizeof msg), CG_OK);
    assert_int_equal(cg_signkey_load(path, &f->key, msg, sizeof msg), CG_OK);
    cg_signkey_public(f->key, &pk);
    cg_pubkey_to_hex(&pk, f->pubhex);
    f->srv = canned_start();
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f->srv->port);
    assert_int_equal(cg_client_new(url, &f->client, NULL), CG_OK);
    cg_client_set_timeout_ms(f->client, 3000);
    serve_contract(f, contract);
    contract_hash(contract, f->contract_sha);
    contract_hash(permissive, f->permissive_sha);
    assert_string_not_equal(f->contract_sha, f->permissive_sha);
    keys[0] = f->pubhex;
    o.cell = "c1";
    o.pubkeys = keys;
    o.npubkeys = 1;
    o.configs = configs;
    o.nconfigs = 1;
    o.apply = on_apply;
    o.apply_ud = f;
    o.backoff_base_ms = 100;
    o.backoff_cap_ms = 200;
    assert_int_equal(cg_watch_new(&f->client, 1, &o, &f->w, NULL), CG_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    cg_watch_free(f->w);
    cg_client_free(f->client);
    canned_stop(f->srv);
    cg_signkey_free(f->key);
    th_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Serves 'doc' as generation 'gen' (statement for 'cell', expiring in
 * ttl_ms); blob_override replaces the bytes served (sha stays doc's). */
static void serve_doc(struct fx *f, const char *doc, int64_t version, int64_t gen, const char *cell,
                      int64_t ttl_ms, const char *blob_override)
{
    struct cg_statement st;
    char *wire = NULL, msg[128], body[8192];
    int64_t now = cg_now_ms();

    memset(&st, 0, sizeof st);
    cg_strlcpy(st.config, "features", sizeof st.config);
    cg_strlcpy(st.cell, cell, sizeof st.cell);
    st.version = version;
    st.generation = gen;
    cg_sha256_hex(doc, strlen(doc), st.sha256);
    cg_strlcpy(st.contract_sha256, f->signed_contract ? f->signed_contract : f->contract_sha,
               sizeof st.contract_sha256);
    st.issued_at = ttl_ms > 0 ? now : now - 10000;
    st.expires_at = ttl_ms > 0 ? now + ttl_ms : now - 5000;
    assert_int_equal(cg_statement_sign_text(&st, f->key, &wire, msg, sizeof msg), CG_OK);
    if (f->strip_contract) {
        /* what an older server sent: the statement without the field */
        char *p = strstr(wire, "\"contract_sha256\":\"");
        size_t cut = strlen("\"contract_sha256\":\"") + 64 + strlen("\",");

        assert_non_null(p);
        memmove(p, p + cut, strlen(p + cut) + 1);
    }
    snprintf(body, sizeof body,
             "{\"cell\":\"c1\",\"etag\":\"e%lld-%lld\",\"assignments\":[{\"config\":\"features\","
             "\"version\":%lld,\"generation\":%lld,\"sha256\":\"%s\",\"media_type\":"
             "\"application/json\",\"contract_sha256\":\"%s\",\"statement\":%s}]}",
             (long long)gen, (long long)now, (long long)version, (long long)gen, st.sha256,
             f->item_contract ? f->item_contract : st.contract_sha256, wire);
    free(wire);
    pthread_mutex_lock(&f->srv->mu);
    free(f->srv->desired);
    free(f->srv->blob);
    f->srv->desired = strdup(body);
    f->srv->blob = strdup(blob_override ? blob_override : doc);
    f->srv->blob_len = strlen(f->srv->blob);
    pthread_mutex_unlock(&f->srv->mu);
}

static void status_of(struct fx *f, struct cg_watch_status *s)
{
    memset(s, 0, sizeof *s);
    s->size = sizeof *s;
    assert_int_equal(cg_watch_status(f->w, "features", s, NULL), CG_OK);
}

#define DOC2 "{\"features\":[{\"n\":1},{\"n\":2}]}"
#define DOC3 "{\"features\":[{\"n\":1},{\"n\":2},{\"n\":3}]}"

/* ---- tests ------------------------------------------------------------------ */

static void new_validates_options(void **state)
{
    struct fx *f = *state;
    struct cg_watch_options o = {.size = sizeof o};
    const char *bad_keys[] = {"zz"};
    const char *keys[] = {f->pubhex};
    const char *bad_cfg[] = {"Bad Name"};
    struct cg_watch *w = (struct cg_watch *)1;
    struct cg_error e;

    assert_int_equal(cg_watch_new(&f->client, 1, &o, &w, &e), CG_ERR_INVALID); /* no cell */
    assert_null(w);
    o.cell = "c1";
    assert_int_equal(cg_watch_new(&f->client, 1, &o, &w, &e), CG_ERR_INVALID); /* no keys */
    o.pubkeys = bad_keys;
    o.npubkeys = 1;
    assert_int_equal(cg_watch_new(&f->client, 1, &o, &w, &e), CG_ERR_INVALID);
    o.pubkeys = keys;
    o.configs = bad_cfg;
    o.nconfigs = 1;
    assert_int_equal(cg_watch_new(&f->client, 1, &o, &w, &e), CG_ERR_INVALID);
    o.configs = NULL;
    o.nconfigs = 0;
    o.size = 8;
    assert_int_equal(cg_watch_new(&f->client, 1, &o, &w, &e), CG_ERR_INVALID);
    o.size = sizeof o;
    assert_int_equal(cg_watch_new(&f->client, 1, &o, &w, &e), CG_OK); /* all assigned */
    cg_watch_free(w);
    assert_string_equal(cg_watch_outcome_str(CG_WATCH_RELOAD_FAILED), "reload_failed");
    assert_string_equal(cg_watch_outcome_str(99), "none");
}

static void seed_and_current(void **state)
{
    struct fx *f = *state;
    struct cg_watch_doc d = {.size = sizeof d,
                             .config = "features",
                             .version = 3,
                             .generation = 5,
                             .bytes = DOC2,
                             .len = strlen(DOC2)};
    void *bytes = NULL;
    size_t len = 0;
    int64_t v = 0;
    struct cg_watch_status s;

    assert_int_equal(cg_watch_current(f->w, "features", &bytes, &len, &v, NULL), CG_ERR_NOTFOUND);
    d.sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
    assert_int_equal(cg_watch_seed(f->w, &d, 0, NULL), CG_ERR_INVALID); /* wrong hash */
    d.sha256 = NULL;
    assert_int_equal(cg_watch_seed(f->w, &d, 0, NULL), CG_OK);
    assert_int_equal(cg_watch_current(f->w, "features", &bytes, &len, &v, NULL), CG_OK);
    assert_int_equal(len, strlen(DOC2));
    assert_memory_equal(bytes, DOC2, len);
    assert_int_equal(v, 3);
    cg_free(bytes);
    status_of(f, &s);
    assert_int_equal(s.lkg_generation, 5);
    assert_int_equal(s.stale, 1); /* nothing confirmed it yet */
    d.config = "other";
    assert_int_equal(cg_watch_seed(f->w, &d, 0, NULL), CG_ERR_INVALID); /* not watched */
}

static void applies_a_good_generation_once(void **state)
{
    struct fx *f = *state;
    struct cg_watch_status s;
    void *bytes;
    size_t len;
    int64_t v;
    char *rep;

    serve_doc(f, DOC2, 1, 1, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    assert_int_equal(f->applies, 1);
    status_of(f, &s);
    assert_int_equal(s.outcome, CG_WATCH_APPLIED);
    assert_int_equal(s.lkg_generation, 1);
    assert_int_equal(s.stale, 0);
    assert_int_equal(cg_watch_current(f->w, "features", &bytes, &len, &v, NULL), CG_OK);
    assert_string_equal(bytes, DOC2);
    cg_free(bytes);
    /* the same state again: nothing is applied twice (renewal) */
    serve_doc(f, DOC2, 1, 1, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    assert_int_equal(f->applies, 1);
    rep = cg_watch_dup_report_configs(f->w);
    assert_non_null(strstr(rep, "\"outcome\":\"applied\""));
    cg_free(rep);
    /* a newer one applies */
    serve_doc(f, DOC3, 2, 2, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    assert_int_equal(f->applies, 2);
    assert_int_equal(f->last_version, 2);
}

static void contract_violation_keeps_lkg(void **state)
{
    struct fx *f = *state;
    struct cg_watch_status s;
    void *bytes;
    size_t len;
    int64_t v;
    char *rep;
    const char *big = "{\"features\":[1,2,3,4,5,6,7,8]}"; /* cardinality + growth */

    serve_doc(f, DOC2, 1, 1, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    serve_doc(f, big, 2, 2, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK); /* decided for good */
    assert_int_equal(f->applies, 1);
    status_of(f, &s);
    assert_int_equal(s.outcome, CG_WATCH_REJECTED);
    assert_string_equal(s.reason, "contract_violation");
    assert_true(s.nviolations >= 2);
    assert_int_equal(s.lkg_generation, 1);
    assert_int_equal(s.rejected_generation, 2);
    assert_int_equal(cg_watch_current(f->w, "features", &bytes, &len, &v, NULL), CG_OK);
    assert_string_equal(bytes, DOC2);
    cg_free(bytes);
    rep = cg_watch_dup_report_configs(f->w);
    assert_non_null(strstr(rep, "\"outcome\":\"rejected\""));
    assert_non_null(strstr(rep, "cardinality.max"));
    cg_free(rep);
    /* offered again: not re-processed */
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    assert_int_equal(f->applies, 1);
}

static void verification_failures(void **state)
{
    struct fx *f = *state;
    struct cg_watch_status s;
    struct cg_watch_stats st = {.size = sizeof st};
    struct cg_error e;

    serve_doc(f, DOC2, 1, 1, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);

    serve_doc(f, DOC3, 2, 2, "c1", 60000, "{\"features\":[9,9,9]}");
    assert_int_equal(cg_watch_poll_once(f->w, 0, &e), CG_ERR_VERIFY);
    status_of(f, &s);
    assert_string_equal(s.reason, "sha256_mismatch");
    /* a failure backs off: full jitter may draw 0 ms, so check the count */
    cg_watch_get_stats(f->w, &st);
    assert_int_equal(st.failures, 1);
    assert_int_equal(st.backoffs, 1);
    assert_true(cg_watch_next_delay_ms(f->w) >= 0);

    serve_doc(f, DOC3, 2, 2, "c2", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, &e), CG_ERR_VERIFY);
    status_of(f, &s);
    assert_string_equal(s.reason, "wrong_cell");

    serve_doc(f, DOC3, 2, 2, "c1", -1, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, &e), CG_ERR_VERIFY);
    status_of(f, &s);
    assert_string_equal(s.reason, "expired");

    serve_doc(f, DOC3, 1, 0 + 1, "c1", 60000, NULL); /* same generation, other bytes */
    assert_int_equal(cg_watch_poll_once(f->w, 0, &e), CG_ERR_VERIFY);
    status_of(f, &s);
    assert_string_equal(s.reason, "not_newer");

    assert_int_equal(f->applies, 1);
    assert_int_equal(s.lkg_generation, 1);
    /* and the honest one still goes through afterwards */
    serve_doc(f, DOC3, 2, 2, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    assert_int_equal(f->applies, 2);
}

#define BIG "{\"features\":[1,2,3,4,5,6,7,8]}" /* breaks cardinality and growth */

/* The proxy swaps the server's contract for a permissive one (and the
 * unsigned contract_sha256 with it) and the document for a validly signed
 * bad version: the fetched contract does not hash to the signed
 * contract_sha256, so it is refused (verify_failed, contract_mismatch,
 * retried), last-known-good kept. */
static void swapped_contract_is_refused(void **state)
{
    struct fx *f = *state;
    struct cg_watch_doc d = {.size = sizeof d,
                             .config = "features",
                             .version = 1,
                             .generation = 1,
                             .bytes = DOC2,
                             .len = strlen(DOC2)};
    struct cg_watch_status s;
    struct cg_watch_stats st = {.size = sizeof st};
    struct cg_error e;
    void *bytes;
    size_t len;
    int64_t v;
    char *rep;

    assert_int_equal(cg_watch_seed(f->w, &d, 0, NULL), CG_OK);
    serve_contract(f, permissive);
    f->item_contract = f->permissive_sha; /* unsigned: must not matter */
    serve_doc(f, BIG, 2, 2, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, &e), CG_ERR_VERIFY);
    assert_non_null(strstr(e.message, "contract_sha256"));
    assert_int_equal(f->applies, 0);
    status_of(f, &s);
    assert_int_equal(s.outcome, CG_WATCH_VERIFY_FAILED);
    assert_string_equal(s.reason, "contract_mismatch");
    assert_non_null(strstr(s.error, "contract_mismatch: "));
    assert_int_equal(s.version, 2);
    assert_int_equal(s.generation, 2);
    assert_int_equal(s.lkg_generation, 1);
    assert_int_equal(s.rejected_generation, 0); /* not authentic: retried */
    cg_watch_get_stats(f->w, &st);
    assert_int_equal(st.failures, 1); /* backed off (full jitter may draw 0 ms) */
    assert_int_equal(st.backoffs, 1);
    assert_int_equal(cg_watch_current(f->w, "features", &bytes, &len, &v, NULL), CG_OK);
    assert_string_equal(bytes, DOC2);
    cg_free(bytes);
    rep = cg_watch_dup_report_configs(f->w);
    assert_non_null(strstr(rep, "\"outcome\":\"verify_failed\""));
    assert_non_null(strstr(rep, "contract_mismatch"));
    cg_free(rep);
    /* the same again: still refused, never cached */
    assert_int_equal(cg_watch_poll_once(f->w, 0, &e), CG_ERR_VERIFY);
    status_of(f, &s);
    assert_string_equal(s.reason, "contract_mismatch");

    /* the honest contract is back: the bad version meets it and is refused
     * for good, although the unsigned field still names the permissive one */
    serve_contract(f, contract);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    status_of(f, &s);
    assert_int_equal(s.outcome, CG_WATCH_REJECTED);
    assert_string_equal(s.reason, "contract_violation");
    assert_int_equal(s.rejected_generation, 2);
    assert_int_equal(f->applies, 0);

    /* the cached (honest) contract is used while the signed sha matches it,
     * whatever the server serves now */
    serve_contract(f, permissive);
    serve_doc(f, BIG, 3, 3, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    status_of(f, &s);
    assert_string_equal(s.reason, "contract_violation");
    assert_int_equal(s.rejected_generation, 3);

    /* a statement that really signs the permissive contract: its sha256 is
     * fetched and checked, then used (I1 against what the server signed) */
    f->signed_contract = f->permissive_sha;
    f->item_contract = NULL;
    serve_doc(f, DOC3, 4, 4, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    assert_int_equal(f->applies, 1);
    status_of(f, &s);
    assert_int_equal(s.outcome, CG_WATCH_APPLIED);
    assert_int_equal(s.lkg_generation, 4);
}

/* A contract pinned locally (the agent's contract_file) wins: the server's
 * contract is neither fetched nor compared with the signed hash. The
 * signature still covers contract_sha256. */
static void pinned_contract_wins(void **state)
{
    struct fx *f = *state;
    struct cg_watch_status s;
    struct cg_error e;
    int hits;

    assert_int_equal(cg_watch_set_contract(f->w, "features", contract, strlen(contract), NULL),
                     CG_OK);
    serve_contract(f, permissive);
    /* the server signs its (permissive) contract: the pin still decides */
    f->signed_contract = f->permissive_sha;
    serve_doc(f, DOC2, 1, 1, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    assert_int_equal(f->applies, 1);
    serve_doc(f, BIG, 2, 2, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    status_of(f, &s);
    assert_int_equal(s.outcome, CG_WATCH_REJECTED);
    assert_string_equal(s.reason, "contract_violation");
    assert_int_equal(f->applies, 1);
    /* a signed sha256 that matches nothing served: no mismatch with a pin */
    f->signed_contract = "0000000000000000000000000000000000000000000000000000000000000000";
    serve_doc(f, DOC3, 3, 3, "c1", 60000, NULL);
    pthread_mutex_lock(&f->srv->mu);
    hits = f->srv->hits;
    pthread_mutex_unlock(&f->srv->mu);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    assert_int_equal(f->applies, 2);
    pthread_mutex_lock(&f->srv->mu);
    assert_int_equal(f->srv->hits, hits + 2); /* desired + blob, no contract */
    pthread_mutex_unlock(&f->srv->mu);
    /* ...but a tampered contract_sha256 breaks the signature */
    f->signed_contract = NULL;
    serve_doc(f, DOC2, 4, 4, "c1", 60000, NULL);
    pthread_mutex_lock(&f->srv->mu);
    {
        char *p = strstr(f->srv->desired, f->contract_sha);
        p = p ? strstr(p + 64, f->contract_sha) : NULL; /* the signed copy */
        assert_non_null(p);
        memcpy(p, f->permissive_sha, 64);
    }
    pthread_mutex_unlock(&f->srv->mu);
    assert_int_equal(cg_watch_poll_once(f->w, 0, &e), CG_ERR_VERIFY);
    status_of(f, &s);
    assert_string_equal(s.reason, "bad_signature");
    assert_int_equal(s.lkg_generation, 3);
    /* and an older server's statement without it is refused */
    f->strip_contract = 1;
    serve_doc(f, DOC2, 4, 4, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, &e), CG_ERR_VERIFY);
    status_of(f, &s);
    assert_int_equal(s.outcome, CG_WATCH_VERIFY_FAILED);
    assert_string_equal(s.reason, "malformed");
    assert_non_null(strstr(s.error, "contract_sha256"));
    assert_int_equal(f->applies, 2);
}

static void failed_apply_is_reload_failed(void **state)
{
    struct fx *f = *state;
    struct cg_watch_status s;

    serve_doc(f, DOC2, 1, 1, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    f->apply_rc = CG_ERR_IO;
    serve_doc(f, DOC3, 2, 2, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    status_of(f, &s);
    assert_int_equal(s.outcome, CG_WATCH_RELOAD_FAILED);
    assert_non_null(strstr(s.error, "reload exited with 1"));
    assert_int_equal(s.lkg_generation, 1);
    f->apply_rc = CG_ERR_VIOLATION;
    serve_doc(f, DOC3, 3, 3, "c1", 60000, NULL);
    assert_int_equal(cg_watch_poll_once(f->w, 0, NULL), CG_OK);
    status_of(f, &s);
    assert_int_equal(s.outcome, CG_WATCH_REJECTED);
    assert_string_equal(s.reason, "apply_refused");
}

static void server_errors_back_off(void **state)
{
    struct fx *f = *state;
    struct cg_watch_stats st = {.size = sizeof st};
    struct cg_error e;

    /* desired == NULL: the server answers 500 */
    assert_int_equal(cg_watch_poll_once(f->w, 0, &e), CG_ERR_HTTP);
    assert_int_equal(e.http_status, 500);
    assert_true(cg_watch_next_delay_ms(f->w) >= 0);
    pthread_mutex_lock(&f->srv->mu);
    f->srv->desired = strdup("{\"assignments\": 7}");
    pthread_mutex_unlock(&f->srv->mu);
    assert_int_equal(cg_watch_poll_once(f->w, 0, &e), CG_ERR_PROTOCOL);
    cg_watch_get_stats(f->w, &st);
    assert_int_equal(st.failures, 2);
    assert_true(st.backoffs >= 2);
    assert_int_equal(f->applies, 0);
}

static void thread_start_stop(void **state)
{
    struct fx *f = *state;
    void *bytes = NULL;
    size_t len;
    int64_t v;

    serve_doc(f, DOC2, 1, 1, "c1", 60000, NULL);
    assert_int_equal(cg_watch_start(f->w, NULL), CG_OK);
    assert_int_equal(cg_watch_start(f->w, NULL), CG_ERR_INVALID);
    for (int i = 0; i < 200 && cg_watch_current(f->w, "features", &bytes, &len, &v, NULL); i++) {
        usleep(20000);
    }
    assert_non_null(bytes);
    cg_free(bytes);
    cg_watch_stop(f->w);
    cg_watch_stop(f->w); /* idempotent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(new_validates_options, setup, teardown),
        cmocka_unit_test_setup_teardown(seed_and_current, setup, teardown),
        cmocka_unit_test_setup_teardown(applies_a_good_generation_once, setup, teardown),
        cmocka_unit_test_setup_teardown(contract_violation_keeps_lkg, setup, teardown),
        cmocka_unit_test_setup_teardown(verification_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(swapped_contract_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(pinned_contract_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_apply_is_reload_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(server_errors_back_off, setup, teardown),
        cmocka_unit_test_setup_teardown(thread_start_stop, setup, teardown),
    };
    cg_library_init(NULL);
    {
        int rc = cmocka_run_group_tests(tests, NULL, NULL);
        cg_library_cleanup();
        return rc;
    }
}
