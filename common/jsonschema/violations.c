/* SPDX-License-Identifier: MIT */
/*
 * violations.c: the violation list of jsonschema.h (cg_violations_*),
 * which the schema compiler, the validator and the contract engine append
 * to.
 */
#include "jsonschema_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void violation_release(struct cg_violation *x)
{
    free(x->pointer);
    free(x->rule);
    free(x->expected);
    free(x->actual);
    free(x->message);
}

void cg_violations_free(struct cg_violations *v)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < v->count; i++)
        violation_release(&v->items[i]);
    free(v->items);
    memset(v, 0, sizeof(*v));
}

char *js_dupstr(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    char *d = malloc(n + 1);

    if (d) {
        if (n)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

int js_viol_add(struct cg_violations *v, const char *pointer, const char *rule,
                const char *expected, const char *actual, const char *message)
{
    struct cg_violation x;

    if (v->count >= CG_VIOLATIONS_MAX) {
        v->truncated = 1;
        return 0;
    }
    if (v->count == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 8;
        struct cg_violation *ni = realloc(v->items, ncap * sizeof(*ni));
        if (!ni)
            return -1;
        v->items = ni;
        v->cap = ncap;
    }
    x.pointer = js_dupstr(pointer);
    x.rule = js_dupstr(rule);
    x.expected = js_dupstr(expected);
    x.actual = js_dupstr(actual);
    x.message = js_dupstr(message);
    if (!x.pointer || !x.rule || !x.expected || !x.actual || !x.message) {
        violation_release(&x);
        return -1;
    }
    v->items[v->count++] = x;
    return 0;
}

int cg_violations_add(struct cg_violations *v, const char *pointer, const char *rule,
                      const char *expected, const char *actual, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return js_viol_add(v, pointer, rule, expected, actual, msg);
}

json_t *cg_violations_to_json(const struct cg_violations *v)
{
    json_t *arr = json_array();
    size_t i;

    if (!arr)
        return NULL;
    for (i = 0; v && i < v->count; i++) {
        const struct cg_violation *x = &v->items[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "pointer", x->pointer, "rule", x->rule,
                              "expected", x->expected, "actual", x->actual, "message", x->message);
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}
