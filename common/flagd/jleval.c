/* SPDX-License-Identifier: MIT */
/*
 * jleval.c: evaluating compiled targeting rules (flagd_int.h, jl_eval).
 *
 * Each operator does what json-logic-engine's compiled form of it does in
 * flagd-core (the reference evaluator flagd's docs point to), with the
 * value rules of jsvalue.c. Where JavaScript throws (arithmetic on an
 * object, a comparison of a number with "abc", map over a string), the
 * evaluation fails with a message and the flag resolves to an error, as
 * there. Nothing here allocates except through the evaluation's arena, and
 * every evaluation is bounded: JL_STEPS_MAX node evaluations and
 * JL_ARENA_MAX bytes of scratch.
 */
#include "flagd_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int jl_fail(struct jl_env *env, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(env->msg, sizeof(env->msg), fmt, ap);
    va_end(ap);
    return -1;
}

static void set_bool(struct jl_val *out, int b)
{
    memset(out, 0, sizeof(*out));
    out->k = JL_BOOL;
    out->b = b != 0;
}

static void set_num(struct jl_val *out, double n)
{
    memset(out, 0, sizeof(*out));
    out->k = JL_NUM;
    out->n = n;
}

static void set_null(struct jl_val *out)
{
    memset(out, 0, sizeof(*out));
    out->k = JL_NULL;
}

static struct jl_arr *arr_new(struct jl_env *env, size_t n)
{
    struct jl_arr *a = jl_arena_alloc(env->arena, sizeof(*a) + n * sizeof(a->v[0]));
    if (a != NULL) {
        a->n = 0;
    }
    return a;
}

static void set_arr(struct jl_val *out, const struct jl_arr *a)
{
    memset(out, 0, sizeof(*out));
    out->k = JL_ARR;
    out->p = a;
}

/* Evaluates every argument (the operators json-logic-engine calls with
 * evaluated arguments). 'buf' holds up to 8; more come from the arena. */
static struct jl_val *eval_args(const struct jl_node *n, const struct jl_val *data,
                                struct jl_env *env, struct jl_val buf[8])
{
    struct jl_val *v = buf;
    if (n->n > 8) {
        v = jl_arena_alloc(env->arena, n->n * sizeof(*v));
        if (v == NULL) {
            jl_fail(env, "out of memory");
            return NULL;
        }
    }
    for (size_t i = 0; i < n->n; i++) {
        if (jl_eval(n->a[i], data, env, &v[i]) != 0) {
            return NULL;
        }
    }
    return v;
}

/* ---- var and missing --------------------------------------------------------- */

static int walk(struct jl_env *env, const struct jl_val *data, const struct jl_path *p,
                struct jl_val *out)
{
    struct jl_val cur = *data;
    for (size_t i = 0; i < p->n; i++) {
        if (cur.k == JL_NULL || cur.k == JL_UNDEF) {
            return 0;
        }
        struct jl_val next;
        if (!jl_get(env, &cur, p->seg[i].s, p->seg[i].len, &next)) {
            return 0;
        }
        cur = next;
    }
    *out = cur;
    return 1;
}

static int eval_var(const struct jl_node *n, const struct jl_val *data, struct jl_env *env,
                    struct jl_val *out)
{
    struct jl_val def = n->k;
    int nullish = n->nullish && !env->fold;
    struct jl_path dyn;
    const struct jl_path *p = n->paths;
    if (n->dynamic) {
        struct jl_val key;
        if (jl_eval(n->a[0], data, env, &key) != 0) {
            return -1;
        }
        set_null(&def);
        if (jl_is_array(&key)) {
            struct jl_val k0 = {.k = JL_UNDEF};
            if (jl_arr_len(&key) > 1) {
                jl_arr_at(&key, 1, &def);
                if (def.k == JL_UNDEF) {
                    set_null(&def);
                }
            }
            if (jl_arr_len(&key) > 0) {
                jl_arr_at(&key, 0, &k0);
            }
            key = k0;
        }
        if (key.k == JL_UNDEF || key.k == JL_NULL || (key.k == JL_STR && key.len == 0)) {
            *out = *data;
            return 0;
        }
        const char *s;
        size_t len;
        if (jl_tostr(env, &key, &s, &len) != 0) {
            return -1;
        }
        if (jl_split_path(env->arena, s, len, &dyn) != 0) {
            return jl_fail(env, "out of memory");
        }
        p = &dyn;
    } else if (p->whole) {
        *out = *data;
        return 0;
    }
    if (!walk(env, data, p, out) || out->k == JL_UNDEF || (nullish && out->k == JL_NULL)) {
        *out = def;
    }
    if (nullish) {
        env->prev = *out; /* (typeof (prev = context?.a ?? d) === 'function' ? null : prev) */
    }
    return 0;
}

/* 1 when the key is missing: the compiled form looks one plain key up
 * directly; the method walks the path and stops at any falsy value. */
static int is_missing(struct jl_env *env, const struct jl_val *data, const struct jl_path *p,
                      int direct)
{
    struct jl_val cur = *data, next;
    if (direct) {
        if (!jl_js_truthy(&cur)) {
            return 1;
        }
        const struct jl_seg *s = p->n > 0 ? &p->seg[0] : NULL;
        return !jl_get(env, &cur, s != NULL ? s->s : "", s != NULL ? s->len : 0, &next);
    }
    for (size_t i = 0; i < p->n; i++) {
        if (!jl_js_truthy(&cur)) {
            return 1;
        }
        if (!jl_get(env, &cur, p->seg[i].s, p->seg[i].len, &next)) {
            return 1;
        }
        cur = next;
    }
    return 0;
}

static int eval_missing(const struct jl_node *n, const struct jl_val *data, struct jl_env *env,
                        struct jl_val *out)
{
    struct jl_arr *a = arr_new(env, n->npaths);
    if (a == NULL) {
        return jl_fail(env, "out of memory");
    }
    for (size_t i = 0; i < n->npaths; i++) {
        if (is_missing(env, data, &n->paths[i], n->direct)) {
            jl_from_json(json_array_get((const json_t *)n->k.p, i), &a->v[a->n++]);
        }
    }
    set_arr(out, a);
    if (n->op == JL_OP_MISSING_SOME) {
        env->prev = *out; /* N - (prev = missing).length < need ? prev : [] */
        if (!((double)n->npaths - (double)a->n < n->need)) {
            struct jl_arr *none = arr_new(env, 0);
            if (none == NULL) {
                return jl_fail(env, "out of memory");
            }
            set_arr(out, none);
        }
    }
    return 0;
}

/* ---- arithmetic --------------------------------------------------------------- */

/* numberCoercion(): objects throw, the rest goes through ToNumber. */
static int operand(struct jl_env *env, const struct jl_val *v, double *d)
{
    if (jl_is_object(v)) {
        return jl_fail(env, "arithmetic on an object or array");
    }
    return jl_tonum(env, v, d);
}

static int eval_arith(const struct jl_node *n, const struct jl_val *data, struct jl_env *env,
                      struct jl_val *out)
{
    struct jl_val buf[8];
    struct jl_val *v = eval_args(n, data, env, buf);
    if (v == NULL) {
        return -1;
    }
    double r, d;
    if (n->op == JL_OP_DIV && n->n == 1) {
        r = 1;
    } else if (operand(env, &v[0], &r) != 0) {
        return -1;
    }
    size_t first = n->op == JL_OP_DIV && n->n == 1 ? 0 : 1;
    if (n->op == JL_OP_SUB && n->n == 1) {
        r = -r;
    }
    for (size_t i = first; i < n->n; i++) {
        if (operand(env, &v[i], &d) != 0) {
            return -1;
        }
        switch (n->op) {
        case JL_OP_ADD:
            r += d;
            break;
        case JL_OP_SUB:
            r -= d;
            break;
        case JL_OP_MUL:
            r *= d;
            break;
        case JL_OP_DIV:
            if (d == 0 || isnan(d)) {
                return jl_fail(env, "division by zero");
            }
            r /= d;
            break;
        default: /* JL_OP_MOD */
            r = fmod(r, d);
            break;
        }
    }
    if (isnan(r)) {
        return jl_fail(env, "the result is not a number");
    }
    if (env->fold && n->op == JL_OP_DIV && isinf(r)) {
        return jl_fail(env, "the result is not finite");
    }
    set_num(out, r);
    return 0;
}

static int eval_minmax(const struct jl_node *n, const struct jl_val *data, struct jl_env *env,
                       struct jl_val *out)
{
    struct jl_val buf[8];
    struct jl_val *v = eval_args(n, data, env, buf);
    if (v == NULL) {
        return -1;
    }
    double r = 0;
    for (size_t i = 0; i < n->n; i++) {
        if (v[i].k != JL_NUM) {
            return jl_fail(env, "%s takes numbers", n->op == JL_OP_MAX ? "max" : "min");
        }
        if (i == 0 || (n->op == JL_OP_MAX ? v[i].n > r : v[i].n < r)) {
            r = v[i].n;
        }
    }
    set_num(out, r);
    return 0;
}

/* ---- arrays ------------------------------------------------------------------- */

static int eval_iter(const struct jl_node *n, const struct jl_val *data, struct jl_env *env,
                     struct jl_val *out)
{
    struct jl_val sel;
    if (jl_eval(n->a[0], data, env, &sel) != 0) {
        return -1;
    }
    size_t len = 0;
    if (jl_js_truthy(&sel)) {
        if (!jl_is_array(&sel)) {
            return jl_fail(env, "the first argument is not an array");
        }
        len = jl_arr_len(&sel);
    }
    if (n->op == JL_OP_ALL) {
        env->prev = sel; /* Array.isArray(prev = selector) && prev.length === 0 ? ... */
    }
    if (n->op == JL_OP_ALL && jl_is_array(&sel) && len == 0) {
        set_bool(out, 0);
        return 0;
    }
    struct jl_arr *res = NULL;
    if (n->op == JL_OP_MAP || n->op == JL_OP_FILTER) {
        res = arr_new(env, len);
        if (res == NULL) {
            return jl_fail(env, "out of memory");
        }
    }
    for (size_t i = 0; i < len; i++) {
        struct jl_val item, r, outer = env->prev;
        jl_arr_at(&sel, i, &item);
        env->prev.k = JL_UNDEF; /* the mapper is a function of its own */
        if (jl_eval(n->a[1], &item, env, &r) != 0) {
            return -1;
        }
        env->prev = outer;
        switch (n->op) {
        case JL_OP_MAP:
            res->v[res->n++] = r;
            break;
        case JL_OP_FILTER:
            if (jl_truthy(&r)) {
                res->v[res->n++] = item;
            }
            break;
        case JL_OP_ALL:
            if (!jl_truthy(&r)) {
                set_bool(out, 0);
                return 0;
            }
            break;
        default: /* some, none */
            if (jl_truthy(&r)) {
                set_bool(out, n->op == JL_OP_SOME);
                return 0;
            }
            break;
        }
    }
    if (res != NULL) {
        set_arr(out, res);
    } else {
        set_bool(out, n->op != JL_OP_SOME);
    }
    return 0;
}

static int eval_reduce(const struct jl_node *n, const struct jl_val *data, struct jl_env *env,
                       struct jl_val *out)
{
    struct jl_val sel, acc;
    if (jl_eval(n->a[0], data, env, &sel) != 0) {
        return -1;
    }
    if (jl_js_truthy(&sel) && !jl_is_array(&sel)) {
        return jl_fail(env, "the first argument of reduce is not an array");
    }
    if (jl_eval(n->a[2], data, env, &acc) != 0) {
        return -1;
    }
    /* json-logic-engine's default maxDepth of 0: an accumulator may not
     * hold arrays or objects */
    if (!jl_flat(&acc)) {
        return jl_fail(env, "reduce's accumulator nests too deep");
    }
    size_t len = jl_js_truthy(&sel) ? jl_arr_len(&sel) : 0;
    for (size_t i = 0; i < len; i++) {
        struct jl_pair pr = {.acc = acc};
        jl_arr_at(&sel, i, &pr.cur);
        struct jl_val ctx = {.k = JL_PAIR, .p = &pr}, r, outer = env->prev;
        env->prev.k = JL_UNDEF;
        if (jl_eval(n->a[1], &ctx, env, &r) != 0) {
            return -1;
        }
        env->prev = outer;
        if (!jl_flat(&r)) {
            return jl_fail(env, "reduce's accumulator nests too deep");
        }
        if (r.k == JL_PAIR) {
            struct jl_pair *keep = jl_arena_alloc(env->arena, sizeof(*keep));
            if (keep == NULL) {
                return jl_fail(env, "out of memory");
            }
            *keep = *(const struct jl_pair *)r.p;
            r.p = keep;
        }
        acc = r;
    }
    *out = acc;
    return 0;
}

static int eval_merge(const struct jl_node *n, const struct jl_val *data, struct jl_env *env,
                      struct jl_val *out)
{
    struct jl_val buf[8];
    struct jl_val *v = eval_args(n, data, env, buf);
    if (v == NULL) {
        return -1;
    }
    size_t total = 0;
    for (size_t i = 0; i < n->n; i++) {
        total += jl_is_array(&v[i]) ? jl_arr_len(&v[i]) : 1;
    }
    struct jl_arr *a = arr_new(env, total);
    if (a == NULL) {
        return jl_fail(env, "out of memory");
    }
    for (size_t i = 0; i < n->n; i++) {
        if (jl_is_array(&v[i])) {
            for (size_t j = 0, m = jl_arr_len(&v[i]); j < m; j++) {
                jl_arr_at(&v[i], j, &a->v[a->n++]);
            }
        } else {
            a->v[a->n++] = v[i];
        }
    }
    set_arr(out, a);
    return 0;
}

static int eval_in(const struct jl_node *n, const struct jl_val *data, struct jl_env *env,
                   struct jl_val *out)
{
    /* compiled: (B || []).includes(A), B first */
    struct jl_val v[2];
    if (jl_eval(n->a[1], data, env, &v[1]) != 0 || jl_eval(n->a[0], data, env, &v[0]) != 0) {
        return -1;
    }
    const struct jl_val *hay = &v[1];
    if (!jl_js_truthy(hay)) {
        set_bool(out, 0);
        return 0;
    }
    if (hay->k == JL_STR) {
        const char *s;
        size_t len;
        if (jl_tostr(env, &v[0], &s, &len) != 0) {
            return -1;
        }
        int found = len == 0;
        for (size_t i = 0; !found && i + len <= hay->len; i++) {
            found = memcmp(hay->s + i, s, len) == 0;
        }
        set_bool(out, found);
        return 0;
    }
    if (!jl_is_array(hay)) {
        return jl_fail(env, "in needs an array or a string");
    }
    for (size_t i = 0, m = jl_arr_len(hay); i < m; i++) {
        struct jl_val it;
        jl_arr_at(hay, i, &it);
        if (jl_strict_eq(&it, &v[0])) {
            set_bool(out, 1);
            return 0;
        }
    }
    set_bool(out, 0);
    return 0;
}

/* ---- strings ------------------------------------------------------------------ */

static int eval_cat(const struct jl_node *n, const struct jl_val *data, struct jl_env *env,
                    struct jl_val *out)
{
    struct jl_val buf[8];
    struct jl_val *v = eval_args(n, data, env, buf);
    if (v == NULL) {
        return -1;
    }
    const char *parts_s[8];
    size_t parts_len[8];
    const char **ps = parts_s;
    size_t *pl = parts_len, total = 0;
    if (n->n > 8) {
        ps = jl_arena_alloc(env->arena, n->n * sizeof(*ps));
        pl = jl_arena_alloc(env->arena, n->n * sizeof(*pl));
        if (ps == NULL || pl == NULL) {
            return jl_fail(env, "out of memory");
        }
    }
    for (size_t i = 0; i < n->n; i++) {
        /* compiled: '' + a + b (null is "null"); folding runs the method,
         * which skips null */
        if (env->fold && (v[i].k == JL_NULL || v[i].k == JL_UNDEF)) {
            ps[i] = "";
            pl[i] = 0;
            continue;
        }
        if (jl_tostr(env, &v[i], &ps[i], &pl[i]) != 0) {
            return -1;
        }
        total += pl[i];
    }
    char *s = jl_arena_alloc(env->arena, total + 1);
    if (s == NULL) {
        return jl_fail(env, "out of memory");
    }
    size_t w = 0;
    for (size_t i = 0; i < n->n; i++) {
        if (pl[i] > 0) {
            memcpy(s + w, ps[i], pl[i]);
        }
        w += pl[i];
    }
    s[w] = '\0';
    memset(out, 0, sizeof(*out));
    out->k = JL_STR;
    out->s = s;
    out->len = w;
    return 0;
}

/* ToIntegerOrInfinity(v). */
static int to_integer(struct jl_env *env, const struct jl_val *v, double *out)
{
    double d;
    if (jl_tonum(env, v, &d) != 0) {
        return -1;
    }
    *out = isnan(d) ? 0 : trunc(d);
    return 0;
}

/* String.prototype.substr(start, length) in UTF-16 units. */
static int js_substr(struct jl_env *env, const char *s, size_t len, const struct jl_val *start,
                     const struct jl_val *length, struct jl_val *out)
{
    double size = (double)jl_utf16_len(s, len), st, ln;
    if (to_integer(env, start, &st) != 0) {
        return -1;
    }
    st = st < 0 ? fmax(size + st, 0) : fmin(st, size);
    if (length == NULL || length->k == JL_UNDEF) {
        ln = size;
    } else if (to_integer(env, length, &ln) != 0) {
        return -1;
    }
    ln = fmin(fmax(ln, 0), size);
    double end = fmin(st + ln, size);
    memset(out, 0, sizeof(*out));
    out->k = JL_STR;
    out->s = s;
    if (st >= end) {
        out->len = 0;
        return 0;
    }
    size_t b = jl_utf16_offset(s, len, (size_t)st), e = jl_utf16_offset(s, len, (size_t)end);
    out->s = s + b;
    out->len = e - b;
    return 0;
}

static int eval_substr(const struct jl_node *n, const struct jl_val *data, struct jl_env *env,
                       struct jl_val *out)
{
    struct jl_val buf[8];
    struct jl_val *v = eval_args(n, data, env, buf);
    if (v == NULL) {
        return -1;
    }
    if (v[0].k != JL_STR) {
        return jl_fail(env, "substr needs a string");
    }
    struct jl_val undef = {.k = JL_UNDEF};
    const struct jl_val *end = n->n > 2 ? &v[2] : &undef;
    int neg = 0;
    if (end->k != JL_UNDEF) {
        double d; /* end < 0, JavaScript's relational comparison */
        if (jl_tonum(env, end, &d) != 0) {
            return -1;
        }
        neg = !isnan(d) && d < 0;
    }
    if (!neg) {
        return js_substr(env, v[0].s, v[0].len, &v[1], end, out);
    }
    struct jl_val tail;
    if (js_substr(env, v[0].s, v[0].len, &v[1], NULL, &tail) != 0) {
        return -1;
    }
    /* result.substr(0, result.length + end): "+" adds numbers, but
     * concatenates when end is a string or an array */
    struct jl_val length;
    double tl = (double)jl_utf16_len(tail.s, tail.len);
    if (end->k == JL_STR || jl_is_object(end)) {
        char num[32];
        const char *es;
        size_t elen, nl = jl_fmt_num(tl, num);
        if (jl_tostr(env, end, &es, &elen) != 0) {
            return -1;
        }
        char *cat = jl_arena_alloc(env->arena, nl + elen + 1);
        if (cat == NULL) {
            return jl_fail(env, "out of memory");
        }
        memcpy(cat, num, nl);
        memcpy(cat + nl, es, elen);
        memset(&length, 0, sizeof(length));
        length.k = JL_STR;
        length.s = cat;
        length.len = nl + elen;
    } else {
        double d;
        jl_tonum(env, end, &d);
        set_num(&length, tl + d);
    }
    struct jl_val from0 = {.k = JL_NUM};
    return js_substr(env, tail.s, tail.len, &from0, &length, out);
}

static int eval_affix(const struct jl_node *n, const struct jl_val *data, struct jl_env *env,
                      struct jl_val *out)
{
    struct jl_val buf[8];
    struct jl_val *v = eval_args(n, data, env, buf);
    if (v == NULL) {
        return -1;
    }
    if (v[0].k != JL_STR || v[1].k != JL_STR) {
        set_null(out); /* flagd: "array values are not strings" */
        return 0;
    }
    const struct jl_val *s = &v[0], *a = &v[1];
    int r = a->len <= s->len &&
            (a->len == 0 ||
             memcmp(n->op == JL_OP_STARTS_WITH ? s->s : s->s + s->len - a->len, a->s, a->len) == 0);
    set_bool(out, r);
    return 0;
}

/* ---- the dispatcher -------------------------------------------------------------- */

int jl_eval(const struct jl_node *n, const struct jl_val *data, struct jl_env *env,
            struct jl_val *out)
{
    if (++env->steps > JL_STEPS_MAX) {
        return jl_fail(env, "the rule needs more than %u steps", JL_STEPS_MAX);
    }
    switch (n->op) {
    case JL_OP_CONST:
        *out = n->k;
        return 0;
    case JL_OP_ARRAY: {
        struct jl_arr *a = arr_new(env, n->n);
        if (a == NULL) {
            return jl_fail(env, "out of memory");
        }
        for (size_t i = 0; i < n->n; i++) {
            if (jl_eval(n->a[i], data, env, &a->v[i]) != 0) {
                return -1;
            }
            a->n++;
        }
        set_arr(out, a);
        return 0;
    }
    case JL_OP_VAR:
        return eval_var(n, data, env, out);
    case JL_OP_MISSING:
    case JL_OP_MISSING_SOME:
        return eval_missing(n, data, env, out);
    case JL_OP_IF:
        if (n->n == 1) {
            return jl_eval(n->a[0], data, env, out);
        }
        for (size_t i = 0; i + 1 < n->n; i += 2) {
            struct jl_val c;
            if (jl_eval(n->a[i], data, env, &c) != 0) {
                return -1;
            }
            if (jl_truthy(&c)) {
                return jl_eval(n->a[i + 1], data, env, out);
            }
        }
        if (n->n % 2 == 1) {
            return jl_eval(n->a[n->n - 1], data, env, out);
        }
        set_null(out);
        return 0;
    case JL_OP_EQ:
    case JL_OP_SEQ:
    case JL_OP_NE:
    case JL_OP_SNE:
    case JL_OP_GT:
    case JL_OP_GE:
    case JL_OP_LT:
    case JL_OP_LE: {
        /* compiled: (prev = A) OP compareCheck(B, prev), and for three
         * arguments ... && prev OP (prev = compareCheck(C, prev)). B's own
         * code may have stored into prev before compareCheck reads it (a var
         * does), so the check may look at B instead of A: emulated exactly,
         * with env->prev */
        struct jl_val a, b, p, chk;
        int r = 0;
        if (jl_eval(n->a[0], data, env, &a) != 0) {
            return -1;
        }
        env->prev = a;
        for (size_t i = 1; i < n->n; i++) {
            if (jl_eval(n->a[i], data, env, &b) != 0) {
                return -1;
            }
            p = env->fold ? a : env->prev;
            if (jl_compare(env, n->op, &a, &b, &p, &chk, &r) != 0) {
                return -1;
            }
            if (n->n > 2) {
                env->prev = chk;
            }
            if (!r) {
                break;
            }
            a = chk;
        }
        set_bool(out, r);
        return 0;
    }
    case JL_OP_NOT:
    case JL_OP_NOTNOT: {
        struct jl_val v;
        if (jl_eval(n->a[0], data, env, &v) != 0) {
            return -1;
        }
        set_bool(out, n->op == JL_OP_NOT ? !jl_truthy(&v) : jl_truthy(&v));
        return 0;
    }
    case JL_OP_OR:
    case JL_OP_AND:
        for (size_t i = 0; i < n->n; i++) {
            if (jl_eval(n->a[i], data, env, out) != 0) {
                return -1;
            }
            env->prev = *out; /* engine.truthy(prev = x) ? prev : ... */
            if (jl_truthy(out) == (n->op == JL_OP_OR)) {
                return 0;
            }
        }
        return 0;
    case JL_OP_MAX:
    case JL_OP_MIN:
        return eval_minmax(n, data, env, out);
    case JL_OP_ADD:
    case JL_OP_SUB:
    case JL_OP_MUL:
    case JL_OP_DIV:
    case JL_OP_MOD:
        return eval_arith(n, data, env, out);
    case JL_OP_MAP:
    case JL_OP_FILTER:
    case JL_OP_ALL:
    case JL_OP_NONE:
    case JL_OP_SOME:
        return eval_iter(n, data, env, out);
    case JL_OP_REDUCE:
        return eval_reduce(n, data, env, out);
    case JL_OP_MERGE:
        return eval_merge(n, data, env, out);
    case JL_OP_IN:
        return eval_in(n, data, env, out);
    case JL_OP_CAT:
        return eval_cat(n, data, env, out);
    case JL_OP_SUBSTR:
        return eval_substr(n, data, env, out);
    case JL_OP_STARTS_WITH:
    case JL_OP_ENDS_WITH:
        return eval_affix(n, data, env, out);
    case JL_OP_SEM_VER:
    case JL_OP_FRACTIONAL: {
        struct jl_val buf[8];
        struct jl_val *v = eval_args(n, data, env, buf);
        if (v == NULL) {
            return -1;
        }
        return n->op == JL_OP_SEM_VER ? jl_sem_ver(env, v, n->n, out)
                                      : jl_fractional(env, data, v, n->n, out);
    }
    case JL_OP__COUNT:
        break;
    }
    return jl_fail(env, "unknown operation");
}
