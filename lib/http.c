/* SPDX-License-Identifier: MIT */
/*
 * http.c - the only file that knows libcurl: process-wide init, the client
 * lifecycle and setters, and one synchronous HTTP exchange (cg__http).
 *
 * Every exchange has a total timeout, a connect timeout and a response
 * size limit; redirects are never followed and only http/https are
 * allowed. The easy handle is reused so connections are kept alive.
 * https:// always verifies the server (TLS 1.2 or newer); the settings of
 * tls.c (CA file, client certificate, the plain-HTTP rule) apply here.
 */
#include <cellgate/cellgate.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "backoff.h"
#include "lib-internal.h"
#include "util.h"

int cg_library_init(struct cg_error *err)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

    if (rc != CURLE_OK) {
        return cg__error_set(err, CG_ERR_IO, 0, "cannot initialise libcurl: %s",
                             curl_easy_strerror(rc));
    }
    return CG_OK;
}

void cg_library_cleanup(void)
{
    curl_global_cleanup();
}

/* Overwrites a secret so it does not linger in freed memory. */
static void wipe(char *s)
{
    volatile char *p = s;

    while (p && *p) {
        *p++ = '\0';
    }
}

static bool has_ctl(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return true;
        }
    }
    return false;
}

int cg_client_new(const char *server_url, struct cg_client **out, struct cg_error *err)
{
    struct cg_client *c;
    size_t n;

    if (out) {
        *out = NULL;
    }
    if (!out) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "out is NULL");
    }
    if (!server_url || !server_url[0]) {
        server_url = CG_DEFAULT_SERVER;
    }
    if ((strncmp(server_url, "http://", 7) != 0 && strncmp(server_url, "https://", 8) != 0) ||
        has_ctl(server_url) || strchr(server_url, ' ') || strchr(server_url, '?') ||
        strchr(server_url, '#')) {
        return cg__error_set(err, CG_ERR_INVALID, 0,
                             "server URL must look like http://host:port, not '%s'", server_url);
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    c->server = strdup(server_url);
    c->easy = curl_easy_init();
    if (!c->server || !c->easy) {
        cg_client_free(c);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory creating the client");
    }
    n = strlen(c->server);
    while (n > 0 && c->server[n - 1] == '/') {
        c->server[--n] = '\0';
    }
    c->timeout_ms = CG_DEFAULT_TIMEOUT_MS;
    c->connect_ms = CG_DEFAULT_CONNECT_MS;
    c->max_response = CG_DEFAULT_MAX_RESPONSE;
    *out = c;
    return CG_OK;
}

void cg_client_free(struct cg_client *c)
{
    if (!c) {
        return;
    }
    if (c->easy) {
        curl_easy_cleanup(c->easy);
    }
    wipe(c->token);
    free(c->token);
    free(c->ca_file);
    free(c->client_cert);
    free(c->client_key);
    free(c->server);
    free(c);
}

int cg_client_set_token(struct cg_client *c, const char *token, struct cg_error *err)
{
    char *copy = NULL;

    if (!c) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "client is NULL");
    }
    if (token && token[0]) {
        if (has_ctl(token) || strchr(token, ' ')) {
            return cg__error_set(err, CG_ERR_INVALID, 0,
                                 "token contains spaces or control characters");
        }
        copy = strdup(token);
        if (!copy) {
            return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
        }
    }
    wipe(c->token);
    free(c->token);
    c->token = copy;
    return CG_OK;
}

int cg_client_set_timeout_ms(struct cg_client *c, long timeout_ms)
{
    if (!c || timeout_ms <= 0) {
        return CG_ERR_INVALID;
    }
    c->timeout_ms = timeout_ms;
    return CG_OK;
}

int cg_client_set_connect_timeout_ms(struct cg_client *c, long timeout_ms)
{
    if (!c || timeout_ms <= 0) {
        return CG_ERR_INVALID;
    }
    c->connect_ms = timeout_ms;
    return CG_OK;
}

int cg_client_set_max_response(struct cg_client *c, size_t max_bytes)
{
    if (!c || max_bytes == 0) {
        return CG_ERR_INVALID;
    }
    c->max_response = max_bytes;
    return CG_OK;
}

const char *cg_client_server(const struct cg_client *c)
{
    return c ? c->server : "";
}

/* Per-exchange state shared with the curl callbacks. */
struct exchange {
    struct cg__resp *rs;
    const struct cg__req *rq;
    bool too_large;
    bool nomem;
    bool cancelled;
};

/* Progress callback: lets a caller abandon a (long) request early. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct exchange *x = ud;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    if (x->rq->cancel && x->rq->cancel(x->rq->cancel_ud)) {
        x->cancelled = true;
        return 1;
    }
    return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct exchange *x = ud;
    size_t n = size * nmemb;

    if (x->rs->body.len + n > x->rs->body.max) {
        x->too_large = true;
        return 0;
    }
    if (cg_buf_append(&x->rs->body, p, n) != 0) {
        x->nomem = true;
        return 0;
    }
    return n;
}

/* Copies a header value (trimmed; optionally cut at ';', lowercased,
 * unquoted) into dst. */
static void header_value(const char *v, size_t n, char *dst, size_t size, bool media)
{
    size_t i = 0;

    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ')) {
        n--;
    }
    if (!media && n >= 2 && v[0] == 'W' && v[1] == '/') {
        v += 2;
        n -= 2;
    }
    if (!media && n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    for (; i < n && i + 1 < size; i++) {
        if (media && (v[i] == ';' || v[i] == ' ')) {
            break;
        }
        dst[i] = media ? (char)tolower((unsigned char)v[i]) : v[i];
    }
    dst[i] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct exchange *x = ud;
    size_t n = size * nmemb;

    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* a new header block (e.g. after 100 Continue) */
        x->rs->content_type[0] = '\0';
        x->rs->etag[0] = '\0';
        x->rs->retry_after_ms = -1;
    } else if (n > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
        char v[32];
        int64_t ms;

        header_value(p + 12, n - 12, v, sizeof v, false);
        if (cg_retry_after_parse(v, &ms) == 0) {
            x->rs->retry_after_ms = ms;
        }
    } else if (n > 13 && strncasecmp(p, "content-type:", 13) == 0) {
        header_value(p + 13, n - 13, x->rs->content_type, sizeof x->rs->content_type, true);
    } else if (n > 5 && strncasecmp(p, "etag:", 5) == 0) {
        header_value(p + 5, n - 5, x->rs->etag, sizeof x->rs->etag, false);
    }
    return n;
}

static int map_curl_error(struct cg_client *c, CURLcode rc, const struct exchange *x,
                          const char *detail, struct cg_error *err)
{
    const char *why = detail[0] ? detail : curl_easy_strerror(rc);

    if (x->cancelled || rc == CURLE_ABORTED_BY_CALLBACK) {
        return cg__error_set(err, CG_ERR_IO, 0, "request to %s was cancelled", c->server);
    }
    if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        return cg__error_set(err, CG_ERR_PROTOCOL, 0, "answer from %s is larger than %zu bytes",
                             c->server, x->rs->body.max);
    }
    if (x->nomem || rc == CURLE_OUT_OF_MEMORY) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory receiving the answer");
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        return cg__error_set(err, CG_ERR_TIMEOUT, 0, "request to %s timed out: %s", c->server, why);
    }
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "bad server URL %s: %s", c->server, why);
    }
    if (rc == CURLE_PEER_FAILED_VERIFICATION) {
        return cg__error_set(err, CG_ERR_IO, 0,
                             "the TLS certificate of %s is not trusted: %s (is the CA that "
                             "signed it given with --ca-file?)",
                             c->server, why);
    }
    if (rc == CURLE_SSL_CACERT_BADFILE) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "CA file %s: %s", c->ca_file ? c->ca_file : "",
                             why);
    }
    if (rc == CURLE_SSL_CERTPROBLEM) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "client certificate %s or key %s: %s",
                             c->client_cert ? c->client_cert : "",
                             c->client_key ? c->client_key : "", why);
    }
    if (rc == CURLE_SSL_CONNECT_ERROR) {
        return cg__error_set(err, CG_ERR_IO, 0, "TLS handshake with %s failed: %s", c->server, why);
    }
    return cg__error_set(err, CG_ERR_IO, 0, "cannot talk to %s: %s", c->server, why);
}

/* Builds the request headers. Returns NULL on allocation failure. */
static struct curl_slist *make_headers(const struct cg_client *c, const struct cg__req *rq)
{
    struct curl_slist *h = NULL, *t;
    struct cg_buf b = {0};
    const char *fixed[] = {"Accept: application/json, */*", "Expect:"};

    for (size_t i = 0; i < CG_ARRAY_SIZE(fixed); i++) {
        t = curl_slist_append(h, fixed[i]);
        if (!t) {
            goto fail;
        }
        h = t;
    }
    if (rq->body) {
        if (cg_buf_printf(&b, "Content-Type: %s",
                          rq->content_type ? rq->content_type : "application/json") != 0) {
            goto fail;
        }
        t = curl_slist_append(h, b.data);
        cg_buf_reset(&b);
        if (!t) {
            goto fail;
        }
        h = t;
    }
    if (rq->if_none_match && rq->if_none_match[0]) {
        if (cg_buf_printf(&b, "If-None-Match: \"%s\"", rq->if_none_match) != 0) {
            goto fail;
        }
        t = curl_slist_append(h, b.data);
        cg_buf_reset(&b);
        if (!t) {
            goto fail;
        }
        h = t;
    }
    /* How long we wait for the answer: the server drops the request
     * unprocessed if it is still queued when we have given up. */
    if (cg_buf_printf(&b, "Cellgate-Timeout-Ms: %ld",
                      rq->timeout_ms > 0 ? (long)rq->timeout_ms : (long)c->timeout_ms) != 0) {
        goto fail;
    }
    t = curl_slist_append(h, b.data);
    cg_buf_reset(&b);
    if (!t) {
        goto fail;
    }
    h = t;
    if (c->token) {
        if (cg_buf_printf(&b, "Authorization: Bearer %s", c->token) != 0) {
            goto fail;
        }
        t = curl_slist_append(h, b.data);
        if (!t) {
            goto fail;
        }
        h = t;
    }
    wipe(b.data);
    cg_buf_free(&b);
    return h;
fail:
    wipe(b.data);
    cg_buf_free(&b);
    curl_slist_free_all(h);
    return NULL;
}

/* https://: the server is always verified (chain, name), TLS 1.2 or
 * newer; a CA file replaces the system's CAs; a client certificate is
 * presented when the server asks. */
static void set_tls(const struct cg_client *c, CURL *e)
{
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (c->ca_file) {
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL); /* only these CAs */
    }
    if (c->client_cert) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, c->client_cert);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(e, CURLOPT_SSLKEY, c->client_key);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
}

int cg__http(struct cg_client *c, const struct cg__req *rq, struct cg__resp *rs,
             struct cg_error *err)
{
    CURL *e = c->easy;
    struct exchange x = {.rs = rs, .rq = rq};
    struct curl_slist *headers = NULL;
    struct cg_buf url = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    CURLcode rc;
    long status = 0;

    memset(rs, 0, sizeof *rs);
    rs->body.max = rq->max_response ? rq->max_response : c->max_response;
    rs->retry_after_ms = -1;
    if (cg_client_check(c, err) != CG_OK) {
        return CG_ERR_INVALID; /* before anything is sent */
    }
    if ((rq->content_type && has_ctl(rq->content_type)) ||
        (rq->if_none_match && (has_ctl(rq->if_none_match) || strchr(rq->if_none_match, '"')))) {
        return cg__error_set(err, CG_ERR_INVALID, 0,
                             "media type or ETag contains control characters or quotes");
    }
    if (cg_buf_puts(&url, c->server) != 0 || cg_buf_puts(&url, rq->path) != 0) {
        cg_buf_free(&url);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    if (rq->oneshot && strncmp(c->server, "http://", 7) == 0) {
        /* plain HTTP: on a connection of its own, closed after it, so the
         * client's kept connection carries only what the server's
         * long-poll front serves (polls, reports) and stays there */
        e = curl_easy_init();
        if (!e) {
            cg_buf_free(&url);
            return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
        }
    }
    headers = make_headers(c, rq);
    if (!headers) {
        if (e != c->easy) {
            curl_easy_cleanup(e);
        }
        cg_buf_free(&url);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url.data);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ? rq->timeout_ms : c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rs->body.max);
    if (rq->cancel) {
        curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(e, CURLOPT_XFERINFODATA, &x);
        curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    }
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    set_tls(c, e);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "libcellgate/" CG_VERSION_STRING);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
    if (rq->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body_len ? rq->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "POST") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (strcmp(rq->method, "POST") == 0 && !rq->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    if (e != c->easy) {
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    }
    rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    /* drop pointers to our stack before returning */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    if (e != c->easy) {
        curl_easy_cleanup(e);
    }
    curl_slist_free_all(headers);
    cg_buf_free(&url);
    if (rc != CURLE_OK) {
        int code = map_curl_error(c, rc, &x, errbuf, err);
        cg_buf_free(&rs->body);
        return code;
    }
    rs->status = (int)status;
    if (!rs->body.data && cg_buf_append(&rs->body, "", 0) != 0) {
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return CG_OK;
}
