/* SPDX-License-Identifier: MIT */
/*
 * fleet.c - the simulator's setup through the admin API, before the event
 * loop starts (blocking libcurl easy calls, bounded by timeouts): pin the
 * server's public key, register the topology's cells that are missing (the
 * server's cells read page by page, every page), and
 * create one agent token per cell (POST /v1/tokens, role agent, bound to
 * the cell). Every simulated host of a cell uses its cell's token, as a
 * fleet provisioned per cell would.
 *
 * Must not: change cells that exist (a cell registered with another region
 * or zone is an error, not silently moved).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "sim.h"
#include "status.h"
#include "util.h"

#define SETUP_TIMEOUT_MS 30000L
/* Keyset paging of the list routes (docs/api/README.md, "Paging"): the
 * server's largest page, and a bound on the pages of one list. */
#define LIST_PAGE_LIMIT 1000
#define LIST_MAX_PAGES  10000

static int setup_err(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int setup_err(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return -1;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    return cg_buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

/*
 * One blocking JSON exchange with the admin token. 'body' (borrowed) is
 * sent as JSON when not NULL. *out receives the parsed answer (or NULL when
 * there is none or it is not JSON). Returns the HTTP status, or 0 when the
 * server could not be reached (msg says why).
 */
static long call(CURL *c, const struct sim *s, const char *method, const char *path,
                 const json_t *body, json_t **out, char *msg, size_t msglen)
{
    struct curl_slist *hdrs = NULL;
    struct cg_buf resp = {.max = 16u * 1024 * 1024};
    char url[512], auth[256], *text = NULL;
    long status = 0;
    CURLcode cc;

    *out = NULL;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", s->opt.token ? s->opt.token : "");
    hdrs = curl_slist_append(hdrs, auth);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (body)
        text = cg_json_dump(body);
    /* the replicas in order: the first that answers at all */
    for (size_t i = 0; i < (s->nservers ? s->nservers : 1); i++) {
        snprintf(url, sizeof url, "%s%s", s->nservers ? s->servers[i] : s->opt.server, path);
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, SETUP_TIMEOUT_MS);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (body)
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, text ? text : "");
        resp.len = 0;
        cc = curl_easy_perform(c);
        if (cc == CURLE_OK)
            break;
    }
    if (cc != CURLE_OK) {
        snprintf(msg, msglen, "%s %s: %s", method, url, curl_easy_strerror(cc));
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (resp.len) {
            cg_json_parse(resp.data, resp.len, 0, 0, out, NULL, 0);
        }
        if (status >= 300) {
            const char *m = cg_json_str(json_object_get(*out, "error"), "message", "", NULL);

            snprintf(msg, msglen, "%s %s: HTTP %ld %s", method, path, status, m);
        }
    }
    free(text);
    cg_buf_free(&resp);
    curl_slist_free_all(hdrs);
    return status;
}

/*
 * GETs every page of the list route 'path' (without a query string): pages
 * of LIST_PAGE_LIMIT items, following next_after until it is null (or
 * absent: a server from before paging), each request bounded by
 * SETUP_TIMEOUT_MS and the walk by LIST_MAX_PAGES pages. Appends the
 * elements of every page's array 'key' to 'items' (caller-owned). Returns
 * 0, or -1 with msg: an HTTP or transport error, a page without the array,
 * a cursor that is neither a string nor an integer, that repeats the
 * previous one or follows an empty page, too many pages, out of memory.
 */
static int get_all(CURL *c, const struct sim *s, const char *path, const char *key, json_t *items,
                   char *msg, size_t msglen)
{
    char after[200] = "", cur[200], url[400]; /* an escaped name: at most 63 x 3 bytes */
    size_t pages;

    for (pages = 0; pages < LIST_MAX_PAGES; pages++) {
        json_t *o = NULL, *arr, *next;
        char *esc = NULL;
        long st;

        snprintf(url, sizeof url, "%s?limit=%d%s%s", path, LIST_PAGE_LIMIT,
                 after[0] ? "&after=" : "", after);
        st = call(c, s, "GET", url, NULL, &o, msg, msglen);
        if (st != 200) {
            json_decref(o); /* call() said why in msg, unless it was a 2xx */
            return st > 0 && st < 300 ? setup_err(msg, msglen, "GET %s: HTTP %ld", url, st) : -1;
        }
        arr = json_object_get(o, key);
        next = json_object_get(o, "next_after");
        if (!json_is_array(arr)) {
            json_decref(o);
            return setup_err(msg, msglen, "GET %s: the answer has no \"%s\" array", url, key);
        }
        if (json_array_extend(items, arr) != 0) {
            json_decref(o);
            return setup_err(msg, msglen, "out of memory");
        }
        if (!next || json_is_null(next)) {
            json_decref(o);
            return 0;
        }
        if (json_is_integer(next)) {
            snprintf(cur, sizeof cur, "%lld", (long long)json_integer_value(next));
        } else if (json_is_string(next) && json_string_length(next) < 64 &&
                   strlen(json_string_value(next)) == json_string_length(next) &&
                   (esc = curl_easy_escape(c, json_string_value(next), 0)) != NULL) {
            cg_strlcpy(cur, esc, sizeof cur);
            curl_free(esc);
        } else {
            json_decref(o);
            return setup_err(msg, msglen, "GET %s: the answer has an invalid next_after", path);
        }
        if (json_array_size(arr) == 0 || strcmp(cur, after) == 0) {
            json_decref(o);
            return setup_err(msg, msglen, "GET %s: the server's page cursor does not advance (%s)",
                             path, cur);
        }
        cg_strlcpy(after, cur, sizeof after);
        json_decref(o);
    }
    return setup_err(msg, msglen, "GET %s: more than %d pages", path, LIST_MAX_PAGES);
}

/* Pins the key: --pubkey (hex or a file), else the server's own. */
static int pin_key(CURL *c, struct sim *s, char *msg, size_t msglen)
{
    json_t *o = NULL;
    char m2[200];
    long st;

    if (s->opt.pubkey) {
        if (strlen(s->opt.pubkey) == CG_PUBKEY_HEX_LEN &&
            cg_pubkey_from_hex(s->opt.pubkey, &s->pubkey, m2, sizeof m2) == CG_OK) {
            return 0;
        }
        if (cg_pubkey_load(s->opt.pubkey, &s->pubkey, m2, sizeof m2) != CG_OK) {
            return setup_err(msg, msglen, "--pubkey: %s", m2);
        }
        return 0;
    }
    /* bootstrapping over a trusted channel: the loopback, in a demo */
    st = call(c, s, "GET", "/v1/agent/pubkey", NULL, &o, msg, msglen);
    if (st != 200 || cg_pubkey_from_hex(cg_json_str(o, "public_key", "", NULL), &s->pubkey, m2,
                                        sizeof m2) != CG_OK) {
        json_decref(o);
        return st == 200 ? setup_err(msg, msglen, "the server's public key: %s", m2) : -1;
    }
    json_decref(o);
    return 0;
}

/* Registers the cells the server does not know. */
static int register_cells(CURL *c, struct sim *s, char *msg, size_t msglen)
{
    json_t *cells = json_array();
    size_t added = 0;
    long st;

    if (!cells) {
        return setup_err(msg, msglen, "out of memory");
    }
    if (get_all(c, s, "/v1/cells", "cells", cells, msg, msglen) != 0) {
        json_decref(cells);
        return -1;
    }
    for (size_t i = 0; i < s->topo.ncells; i++) {
        const struct topo_cell *tc = &s->topo.cells[i];
        const json_t *found = NULL, *x;
        size_t j;

        json_array_foreach(cells, j, x)
        {
            if (strcmp(cg_json_str(x, "id", "", NULL), tc->id) == 0) {
                found = x;
                break;
            }
        }
        if (found) {
            if (strcmp(cg_json_str(found, "region", "", NULL), tc->region) != 0 ||
                strcmp(cg_json_str(found, "zone", "", NULL), tc->zone) != 0) {
                int rc =
                    setup_err(msg, msglen,
                              "cell %s exists in region %s zone %s, not %s/%s as the topology says",
                              tc->id, cg_json_str(found, "region", "", NULL),
                              cg_json_str(found, "zone", "", NULL), tc->region, tc->zone);

                json_decref(cells);
                return rc;
            }
            continue;
        }
        {
            json_t *body =
                json_pack("{s:s,s:s,s:s}", "id", tc->id, "region", tc->region, "zone", tc->zone);
            json_t *r = NULL;

            st = call(c, s, "POST", "/v1/cells", body, &r, msg, msglen);
            json_decref(body);
            json_decref(r);
            if (st != 201 && st != 200 && st != 409) {
                json_decref(cells);
                return -1;
            }
            added++;
        }
    }
    json_decref(cells);
    if (!s->opt.quiet) {
        fprintf(stderr, "cellgate-sim: %zu cells known to the server, %zu registered now\n",
                s->topo.ncells - added, added);
    }
    return 0;
}

/* Creates the agent token of every cell. */
static int create_tokens(CURL *c, struct sim *s, char *msg, size_t msglen)
{
    char prefix[24];

    s->cell_tokens = calloc(s->topo.ncells, sizeof *s->cell_tokens);
    if (!s->cell_tokens) {
        return setup_err(msg, msglen, "out of memory");
    }
    if (s->opt.token_prefix) {
        cg_strlcpy(prefix, s->opt.token_prefix, sizeof prefix);
    } else {
        snprintf(prefix, sizeof prefix, "sim%04x", (unsigned)(cg_rand_below(0x10000)));
    }
    for (size_t i = 0; i < s->topo.ncells; i++) {
        char name[128];
        json_t *body, *r = NULL;
        long st;

        snprintf(name, sizeof name, "%s-%s", prefix, s->topo.cells[i].id);
        if (strlen(name) > 63) {
            snprintf(name, sizeof name, "%s-cell%zu", prefix, i + 1);
        }
        body =
            json_pack("{s:s,s:s,s:s}", "name", name, "role", "agent", "cell", s->topo.cells[i].id);
        st = call(c, s, "POST", "/v1/tokens", body, &r, msg, msglen);
        json_decref(body);
        if (st != 201 || !json_is_string(json_object_get(r, "token"))) {
            json_decref(r);
            return st == 201 ? setup_err(msg, msglen, "POST /v1/tokens: no token in the answer")
                             : -1;
        }
        s->cell_tokens[i] = strdup(json_string_value(json_object_get(r, "token")));
        json_decref(r);
        if (!s->cell_tokens[i]) {
            return setup_err(msg, msglen, "out of memory");
        }
    }
    return 0;
}

int fleet_setup(struct sim *s, char *msg, size_t msglen)
{
    CURL *c = curl_easy_init();
    int rc;

    if (!c) {
        return setup_err(msg, msglen, "cannot initialise libcurl");
    }
    rc = pin_key(c, s, msg, msglen);
    if (rc == 0) {
        rc = register_cells(c, s, msg, msglen);
    }
    if (rc == 0) {
        rc = create_tokens(c, s, msg, msglen);
    }
    curl_easy_cleanup(c);
    return rc;
}
