/* SPDX-License-Identifier: MIT */
/*
 * ops_audit.c: reading the audit log through a filter (config, actor,
 * time): the one definition of what a filter matches, shared by GET
 * /v1/audit (?config=&actor=&from=&to=) and the dashboard's audit page.
 * Reads only; the log is never changed here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

#define AUDIT_CHUNK 500

int ops_audit_filtered(const struct ops_audit_filter *f)
{
    return f && (f->config || f->actor || f->from_ms || f->to_ms);
}

int ops_audit_matches(const struct store_audit *a, const struct ops_audit_filter *f)
{
    if (f->actor && strcmp(a->actor, f->actor) != 0)
        return 0;
    if (f->from_ms && a->time_ms < f->from_ms)
        return 0;
    if (f->to_ms && a->time_ms >= f->to_ms)
        return 0;
    if (f->config) {
        size_t n = strlen(f->config);
        char key[STORE_NAME_MAX + 16];
        if (strncmp(a->object, "config/", 7) == 0 && strncmp(a->object + 7, f->config, n) == 0 &&
            (a->object[7 + n] == '\0' || a->object[7 + n] == '/'))
            return 1;
        snprintf(key, sizeof key, "\"config\":\"%s\"", f->config);
        return (a->after && strstr(a->after, key)) || (a->before && strstr(a->before, key));
    }
    return 1;
}

/* Appends a[i] to *out (n of cap), taking its owned strings. -1 on OOM. */
static int take(struct store_audit **out, size_t *n, size_t *cap, struct store_audit *a)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct store_audit *p = realloc(*out, nc * sizeof *p);
        if (!p)
            return -1;
        *out = p;
        *cap = nc;
    }
    (*out)[(*n)++] = *a;
    memset(a, 0, sizeof *a);
    return 0;
}

int ops_audit_page(struct store *st, const struct ops_audit_filter *f, int64_t after, size_t limit,
                   size_t max_scan, struct store_audit **out, size_t *n, int64_t *next, int *more,
                   char *msg)
{
    size_t cap = 0, scanned = 0;
    int rc = CG_OK;

    *out = NULL;
    *n = 0;
    *next = after;
    *more = 0;
    while (*n < limit) {
        struct store_audit *as = NULL;
        size_t got = 0, i, want = AUDIT_CHUNK;

        if (scanned >= max_scan) {
            *more = 1;
            break;
        }
        if (want > max_scan - scanned)
            want = max_scan - scanned;
        rc = store_audit_list(st, *next, want, &as, &got, msg);
        if (rc != CG_OK)
            break;
        for (i = 0; i < got; i++) {
            if (*n >= limit) {
                *more = 1;
                break;
            }
            *next = as[i].seq;
            scanned++;
            if (ops_audit_matches(&as[i], f) && take(out, n, &cap, &as[i]) < 0) {
                rc = CG_ERR_NOMEM;
                if (msg)
                    snprintf(msg, STORE_MSG_MAX, "out of memory");
                break;
            }
        }
        store_audits_free(as, got);
        if (rc != CG_OK || got < want)
            break;
        if (*n >= limit)
            *more = 1; /* not known; the next page says */
    }
    if (rc != CG_OK) {
        store_audits_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}
