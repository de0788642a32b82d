/* SPDX-License-Identifier: MIT */
/*
 * jsonlogic.c: compiling flagd targeting rules (JsonLogic plus flagd's
 * operators) into trees of struct jl_node, once per document
 * (flagd_int.h). Evaluation is in jleval.c.
 *
 * The operator table below is THE list of operators flagd's schema
 * (https://flagd.dev/schema/v0/targeting.json) allows, with the argument
 * counts it allows; anything else is a violation, never a surprise at
 * evaluation time. "$ref"s to "$evaluators" are resolved to the evaluator's
 * compiled node (shared, compiled once; a missing one or a cycle is a
 * violation). Sub-expressions without inputs are evaluated here, as
 * json-logic-engine does when it builds a rule, so one that always throws
 * (1/0, a literal "abc" in arithmetic) is refused with its pointer.
 */
#include "flagd_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonptr.h"
#include "status.h"

enum arity {
    AR_LIST,  /* an array of min..max arguments */
    AR_UNARY, /* [x] or x */
    AR_VAR,
    AR_MISSING,
    AR_MISSING_SOME,
};

struct opdef {
    const char *name;
    enum jl_op op;
    enum arity arity;
    int min, max; /* max -1 = no limit */
};

/* clang-format off */
static const struct opdef opdefs[] = {
    /* name           op                  arity            min max */
    {"var",           JL_OP_VAR,          AR_VAR,          0,  0},
    {"missing",       JL_OP_MISSING,      AR_MISSING,      0,  -1},
    {"missing_some",  JL_OP_MISSING_SOME, AR_MISSING_SOME, 2,  2},
    {"if",            JL_OP_IF,           AR_LIST,         1,  -1},
    {"?:",            JL_OP_IF,           AR_LIST,         1,  -1},
    {"==",            JL_OP_EQ,           AR_LIST,         2,  2},
    {"===",           JL_OP_SEQ,          AR_LIST,         2,  2},
    {"!=",            JL_OP_NE,           AR_LIST,         2,  2},
    {"!==",           JL_OP_SNE,          AR_LIST,         2,  2},
    {">",             JL_OP_GT,           AR_LIST,         2,  2},
    {">=",            JL_OP_GE,           AR_LIST,         2,  2},
    {"<",             JL_OP_LT,           AR_LIST,         2,  3},
    {"<=",            JL_OP_LE,           AR_LIST,         2,  3},
    {"!",             JL_OP_NOT,          AR_UNARY,        1,  1},
    {"!!",            JL_OP_NOTNOT,       AR_UNARY,        1,  1},
    {"or",            JL_OP_OR,           AR_LIST,         1,  -1},
    {"and",           JL_OP_AND,          AR_LIST,         1,  -1},
    {"max",           JL_OP_MAX,          AR_LIST,         1,  -1},
    {"min",           JL_OP_MIN,          AR_LIST,         1,  -1},
    {"+",             JL_OP_ADD,          AR_LIST,         1,  -1},
    {"-",             JL_OP_SUB,          AR_LIST,         1,  -1},
    {"*",             JL_OP_MUL,          AR_LIST,         2,  -1},
    {"/",             JL_OP_DIV,          AR_LIST,         2,  2},
    {"%",             JL_OP_MOD,          AR_LIST,         2,  2},
    {"map",           JL_OP_MAP,          AR_LIST,         2,  2},
    {"filter",        JL_OP_FILTER,       AR_LIST,         2,  2},
    {"reduce",        JL_OP_REDUCE,       AR_LIST,         3,  3},
    {"all",           JL_OP_ALL,          AR_LIST,         2,  2},
    {"none",          JL_OP_NONE,         AR_LIST,         2,  2},
    {"some",          JL_OP_SOME,         AR_LIST,         2,  2},
    {"merge",         JL_OP_MERGE,        AR_LIST,         1,  -1},
    {"in",            JL_OP_IN,           AR_LIST,         2,  2},
    {"cat",           JL_OP_CAT,          AR_LIST,         1,  -1},
    {"substr",        JL_OP_SUBSTR,       AR_LIST,         2,  3},
    {"starts_with",   JL_OP_STARTS_WITH,  AR_LIST,         2,  2},
    {"ends_with",     JL_OP_ENDS_WITH,    AR_LIST,         2,  2},
    {"sem_ver",       JL_OP_SEM_VER,      AR_LIST,         3,  3},
    {"fractional",    JL_OP_FRACTIONAL,   AR_LIST,         1,  -1},
};
/* clang-format on */

struct jl_ref {
    const char *name;
    const json_t *rule;
    const struct jl_node *node;
    int state; /* 0 not compiled, 1 compiling, 2 done, 3 failed */
};

void jl_violation(struct jl_compiler *c, const char *rule, const char *fmt, ...)
{
    c->failed = 1;
    if (c->errs == NULL) {
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cg_violations_add(c->errs, c->ptr.data != NULL ? c->ptr.data : "", rule, "", "", "%s",
                          msg) != 0) {
        c->nomem = 1;
    }
}

static int push_key(struct jl_compiler *c, const char *key, size_t *saved)
{
    *saved = c->ptr.len;
    if (cg_jsonptr_append(&c->ptr, key, strlen(key)) != 0) {
        c->nomem = 1;
        return -1;
    }
    return 0;
}

static int push_index(struct jl_compiler *c, size_t i, size_t *saved)
{
    *saved = c->ptr.len;
    if (cg_jsonptr_append_index(&c->ptr, i) != 0) {
        c->nomem = 1;
        return -1;
    }
    return 0;
}

static void pop(struct jl_compiler *c, size_t saved)
{
    c->ptr.len = saved;
    if (c->ptr.data != NULL) {
        c->ptr.data[saved] = '\0';
    }
}

static struct jl_node *node_new(struct jl_compiler *c, enum jl_op op, size_t n)
{
    struct jl_node *nd = jl_arena_alloc(c->arena, sizeof(*nd));
    if (nd == NULL) {
        c->nomem = 1;
        return NULL;
    }
    memset(nd, 0, sizeof(*nd));
    nd->op = op;
    nd->n = n;
    if (n > 0) {
        nd->a = jl_arena_alloc(c->arena, n * sizeof(*nd->a));
        if (nd->a == NULL) {
            c->nomem = 1;
            return NULL;
        }
        memset(nd->a, 0, n * sizeof(*nd->a));
    }
    return nd;
}

static struct jl_node *const_node(struct jl_compiler *c, const struct jl_val *v, int lit)
{
    struct jl_node *nd = node_new(c, JL_OP_CONST, 0);
    if (nd == NULL) {
        return NULL;
    }
    nd->k = *v;
    nd->lit = lit;
    nd->ptr = jl_arena_strndup(c->arena, c->ptr.data != NULL ? c->ptr.data : "", c->ptr.len);
    if (nd->ptr == NULL) {
        c->nomem = 1;
        return NULL;
    }
    return nd;
}

/* Splits a var/missing key at unescaped dots, as json-logic-engine's
 * splitPath() does ("a.b" -> a, b; "a\.b" -> "a.b"; "\\" -> "\"). */
static int split_path(struct jl_arena *ar, const char *s, size_t len, struct jl_path *out)
{
    memset(out, 0, sizeof(*out));
    size_t dots = 0, only_dots = 1;
    for (size_t i = 0; i < len; i++) {
        dots += s[i] == '.';
        only_dots &= s[i] == '.';
    }
    struct jl_seg *seg = jl_arena_alloc(ar, (dots + 1) * sizeof(*seg));
    char *buf = jl_arena_alloc(ar, len + 1);
    if (seg == NULL || buf == NULL) {
        return -1;
    }
    if (len > 0 && only_dots) {
        for (size_t i = 0; i < len; i++) {
            seg[i].s = buf;
            seg[i].len = 0;
        }
        out->seg = seg;
        out->n = len;
        return 0;
    }
    size_t n = 0, start = 0, w = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len && (s[i + 1] == '.' || s[i + 1] == '/')) {
            buf[w++] = s[++i];
        } else if (s[i] == '\\' && i + 1 < len && s[i + 1] == '\\') {
            buf[w++] = '\\';
            i++;
        } else if (s[i] == '.') {
            seg[n].s = buf + start;
            seg[n].len = w - start;
            n++;
            start = w;
        } else {
            buf[w++] = s[i];
        }
    }
    if (len > 0) {
        seg[n].s = buf + start;
        seg[n].len = w - start;
        n++;
    }
    out->seg = seg;
    out->n = n;
    return 0;
}

int jl_split_path(struct jl_arena *ar, const char *s, size_t len, struct jl_path *out)
{
    return split_path(ar, s, len, out);
}

static const struct jl_node *compile_value(struct jl_compiler *c, const json_t *v);

static int is_rule(const json_t *v)
{
    return json_is_object(v) && json_object_size(v) > 0;
}

/* Folds a node whose arguments are all constant, the way json-logic-engine
 * evaluates deterministic sub-expressions when it builds a rule. */
static const struct jl_node *fold(struct jl_compiler *c, struct jl_node *nd)
{
    switch (nd->op) {
    case JL_OP_VAR:
    case JL_OP_MISSING:
    case JL_OP_MISSING_SOME:
    case JL_OP_STARTS_WITH:
    case JL_OP_ENDS_WITH:
    case JL_OP_SEM_VER:
    case JL_OP_FRACTIONAL:
    case JL_OP_CONST:
        return nd; /* not deterministic in json-logic-engine (custom operators have no
                    * such annotation), or nothing to do */
    default:
        break;
    }
    for (size_t i = 0; i < nd->n; i++) {
        if (nd->a[i]->op != JL_OP_CONST) {
            return nd;
        }
    }
    struct jl_env env;
    memset(&env, 0, sizeof(env));
    env.flag_key = "";
    env.fold = 1;
    env.arena = c->arena;
    struct jl_val root = {.k = JL_ROOT}, out;
    if (jl_eval(nd, &root, &env, &out) != 0) {
        jl_violation(c, "flagd.targeting", "this expression always fails: %s", env.msg);
        return NULL;
    }
    struct jl_node *k = const_node(c, &out, 0);
    return k;
}

static int check_number_literal(struct jl_compiler *c, enum jl_op op, const json_t *arg, size_t i)
{
    /* json-logic-engine coerces literal operands of arithmetic when it
     * builds the rule: an array, text that is not a number or a literal
     * zero divisor throws there and the whole flag fails to parse */
    if (json_is_array(arg)) {
        jl_violation(c, "flagd.targeting", "an array is not a number");
        return -1;
    }
    double d;
    if (json_is_string(arg)) {
        d = jl_str_tonum(json_string_value(arg), json_string_length(arg));
        if (isnan(d)) {
            jl_violation(c, "flagd.targeting", "\"%s\" is not a number", json_string_value(arg));
            return -1;
        }
    } else if (json_is_number(arg)) {
        d = json_number_value(arg);
    } else {
        return 0;
    }
    if (op == JL_OP_DIV && i > 0 && d == 0) {
        jl_violation(c, "flagd.targeting", "division by zero");
        return -1;
    }
    return 0;
}

static const struct jl_node *compile_var(struct jl_compiler *c, const json_t *arg)
{
    struct jl_node *nd = node_new(c, JL_OP_VAR, 0);
    if (nd == NULL) {
        return NULL;
    }
    nd->k.k = JL_NULL;
    const json_t *key = arg;
    nd->nullish = 1;
    if (json_is_array(arg)) {
        key = json_array_size(arg) > 0 ? json_array_get(arg, 0) : NULL;
        if (json_array_size(arg) > 2) {
            nd->nullish = 0; /* not the compiled form: the method (null stays null) */
        }
        for (size_t i = 1; i < json_array_size(arg); i++) {
            const json_t *d = json_array_get(arg, i);
            if (json_is_object(d) || json_is_array(d)) {
                size_t saved;
                if (push_index(c, i, &saved) == 0) {
                    jl_violation(c, "flagd.targeting", "the default of var must be a literal");
                    pop(c, saved);
                }
                return NULL;
            }
        }
        if (json_array_size(arg) > 1) {
            jl_from_json(json_array_get(arg, 1), &nd->k);
        }
    }
    if (is_rule(key)) {
        /* a computed key: json-logic-engine's var method on the evaluated
         * argument (the array form: key and default) */
        nd->dynamic = 1;
        nd->nullish = 0;
        nd->n = 1;
        nd->a = jl_arena_alloc(c->arena, sizeof(*nd->a));
        if (nd->a == NULL) {
            c->nomem = 1;
            return NULL;
        }
        nd->a[0] = compile_value(c, arg);
        if (nd->a[0] == NULL) {
            return NULL;
        }
        nd->height = nd->a[0]->height + 1;
        return nd;
    }
    struct jl_path *path = jl_arena_alloc(c->arena, sizeof(*path));
    if (path == NULL) {
        c->nomem = 1;
        return NULL;
    }
    memset(path, 0, sizeof(*path));
    nd->paths = path;
    nd->npaths = 1;
    nd->height = 1;
    if (key == NULL || json_is_null(key) || (json_is_string(key) && json_string_length(key) == 0) ||
        (json_is_object(key))) {
        path->whole = 1;
        return nd;
    }
    char num[32];
    const char *s;
    size_t len;
    if (json_is_string(key)) {
        s = json_string_value(key);
        len = json_string_length(key);
        if (len > 7 && memcmp(s, "$flagd.", 7) == 0 && strcmp(s, "$flagd.flagKey") != 0 &&
            strcmp(s, "$flagd.timestamp") != 0) {
            jl_violation(c, "flagd.targeting",
                         "\"%s\": $flagd has only the properties flagKey and timestamp", s);
            return NULL;
        }
        if (strstr(s, "../") != NULL) {
            nd->nullish = 0;
        }
    } else if (json_is_number(key)) {
        len = jl_fmt_num(json_number_value(key), num);
        s = num;
    } else if (json_is_boolean(key)) {
        s = json_is_true(key) ? "true" : "false";
        len = strlen(s);
        nd->nullish = 0;
    } else {
        jl_violation(c, "flagd.targeting", "the key of var must be a string or a number");
        return NULL;
    }
    if (split_path(c->arena, s, len, path) != 0) {
        c->nomem = 1;
        return NULL;
    }
    return nd;
}

static const struct jl_node *compile_missing(struct jl_compiler *c, struct jl_node *nd,
                                             const json_t *keys)
{
    if (!json_is_array(keys)) {
        jl_violation(c, "flagd.targeting", "missing takes an array of keys");
        return NULL;
    }
    size_t n = json_array_size(keys);
    struct jl_path *paths = jl_arena_alloc(c->arena, (n + 1) * sizeof(*paths));
    if (paths == NULL) {
        c->nomem = 1;
        return NULL;
    }
    nd->direct = n <= 2;
    for (size_t i = 0; i < n; i++) {
        const json_t *k = json_array_get(keys, i);
        if (!json_is_string(k)) {
            size_t saved;
            if (push_index(c, i, &saved) == 0) {
                jl_violation(c, "flagd.targeting", "the keys of missing are strings");
                pop(c, saved);
            }
            return NULL;
        }
        const char *s = json_string_value(k);
        size_t len = json_string_length(k);
        if (memchr(s, '.', len) != NULL) {
            nd->direct = 0;
        }
        if (split_path(c->arena, s, len, &paths[i]) != 0) {
            c->nomem = 1;
            return NULL;
        }
    }
    nd->paths = paths;
    nd->npaths = n;
    nd->k.k = JL_JSON;
    nd->k.p = keys; /* the keys, for the result */
    nd->height = 1;
    return nd;
}

/* The literal parts of fractional's buckets, as flagd's schema has them:
 * [variant, weight] with a string (number, boolean, null) variant and a
 * non-negative integer weight, the weights summing to at most 2^31 - 1. */
static int check_fractional(struct jl_compiler *c, const json_t *args)
{
    double sum = 0;
    int ok = 1;
    for (size_t i = 0; i < json_array_size(args); i++) {
        const json_t *b = json_array_get(args, i);
        size_t saved;
        if (push_index(c, i, &saved) != 0) {
            return -1;
        }
        if (!json_is_array(b)) {
            if (i > 0 || !(json_is_string(b) || is_rule(b))) {
                jl_violation(c, "flagd.targeting",
                             i > 0 ? "a fractional bucket is [variant, weight]"
                                   : "the first argument of fractional is a bucket or the "
                                     "bucketing value (a string or an expression)");
                ok = 0;
            }
        } else if (json_array_size(b) < 1 || json_array_size(b) > 2) {
            jl_violation(c, "flagd.targeting", "a fractional bucket is [variant, weight]");
            ok = 0;
        } else {
            const json_t *v = json_array_get(b, 0), *w = json_array_get(b, 1);
            if (json_is_array(v) || (json_is_object(v) && !is_rule(v))) {
                jl_violation(c, "flagd.targeting", "a bucket's variant is a string");
                ok = 0;
            }
            if (w != NULL && !is_rule(w)) {
                double d = json_is_number(w) ? json_number_value(w) : -1;
                if (d < 0 || d != floor(d)) {
                    jl_violation(c, "flagd.targeting",
                                 "a bucket's weight is an integer of at least 0");
                    ok = 0;
                } else {
                    sum += d;
                }
            } else if (w == NULL) {
                sum += 1;
            }
        }
        pop(c, saved);
    }
    if (ok && sum > 2147483647.0) {
        jl_violation(c, "flagd.targeting", "the weights sum to more than 2147483647");
        ok = 0;
    }
    return ok ? 0 : -1;
}

static const struct jl_node *compile_op(struct jl_compiler *c, const struct opdef *od,
                                        const json_t *arg)
{
    if (od->arity == AR_VAR) {
        return compile_var(c, arg);
    }
    if (od->arity == AR_MISSING) {
        struct jl_node *nd = node_new(c, JL_OP_MISSING, 0);
        return nd != NULL ? compile_missing(c, nd, arg) : NULL;
    }
    if (od->arity == AR_MISSING_SOME) {
        if (!json_is_array(arg) || json_array_size(arg) != 2 ||
            !json_is_number(json_array_get(arg, 0))) {
            jl_violation(c, "flagd.targeting", "missing_some takes [a number, an array of keys]");
            return NULL;
        }
        struct jl_node *nd = node_new(c, JL_OP_MISSING_SOME, 0);
        if (nd == NULL) {
            return NULL;
        }
        nd->need = json_number_value(json_array_get(arg, 0));
        size_t saved;
        if (push_index(c, 1, &saved) != 0) {
            return NULL;
        }
        const struct jl_node *r = compile_missing(c, nd, json_array_get(arg, 1));
        pop(c, saved);
        return r;
    }
    size_t n;
    int single = 0;
    if (json_is_array(arg)) {
        n = json_array_size(arg);
    } else if (od->arity == AR_UNARY) {
        n = 1;
        single = 1;
    } else {
        jl_violation(c, "flagd.targeting", "the arguments of \"%s\" must be an array", od->name);
        return NULL;
    }
    if ((int)n < od->min || (od->max >= 0 && (int)n > od->max)) {
        if (od->max < 0) {
            jl_violation(c, "flagd.targeting", "\"%s\" takes at least %d argument%s", od->name,
                         od->min, od->min == 1 ? "" : "s");
        } else if (od->min == od->max) {
            jl_violation(c, "flagd.targeting", "\"%s\" takes %d argument%s", od->name, od->min,
                         od->min == 1 ? "" : "s");
        } else {
            jl_violation(c, "flagd.targeting", "\"%s\" takes %d to %d arguments", od->name, od->min,
                         od->max);
        }
        return NULL;
    }
    if (od->op == JL_OP_FRACTIONAL && check_fractional(c, arg) != 0) {
        return NULL;
    }
    struct jl_node *nd = node_new(c, od->op, n);
    if (nd == NULL) {
        return NULL;
    }
    int ok = 1, height = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *a = single ? arg : json_array_get(arg, i);
        size_t saved = c->ptr.len;
        if (!single && push_index(c, i, &saved) != 0) {
            return NULL;
        }
        if ((od->op == JL_OP_ADD || od->op == JL_OP_SUB || od->op == JL_OP_MUL ||
             od->op == JL_OP_DIV || od->op == JL_OP_MOD) &&
            check_number_literal(c, od->op, a, n == 1 && od->op == JL_OP_DIV ? 1 : i) != 0) {
            ok = 0;
        } else if ((od->op == JL_OP_STARTS_WITH || od->op == JL_OP_ENDS_WITH) &&
                   !json_is_string(a) && !json_is_object(a)) {
            jl_violation(c, "flagd.targeting", "\"%s\" compares strings", od->name);
            ok = 0;
        } else {
            nd->a[i] = compile_value(c, a);
            if (nd->a[i] == NULL) {
                ok = 0;
            } else if (nd->a[i]->height > height) {
                height = nd->a[i]->height;
            }
        }
        if (!single) {
            pop(c, saved);
        }
        if (c->nomem) {
            return NULL;
        }
    }
    if (!ok) {
        return NULL;
    }
    nd->height = height + 1;
    if (nd->height > JL_HEIGHT_MAX) {
        jl_violation(c, "flagd.targeting", "the rule nests deeper than %d levels", JL_HEIGHT_MAX);
        return NULL;
    }
    if (od->op == JL_OP_SEM_VER || od->op == JL_OP_FRACTIONAL) {
        struct jl_env env;
        memset(&env, 0, sizeof(env));
        env.arena = c->arena;
        env.flag_key = "";
        if (od->op == JL_OP_SEM_VER) {
            for (size_t i = 0; i < 3; i += 2) {
                if (nd->a[i]->op == JL_OP_CONST && !jl_semver_valid(&env, &nd->a[i]->k)) {
                    size_t saved;
                    if (push_index(c, i, &saved) == 0) {
                        jl_violation(c, "flagd.targeting", "not a semantic version");
                        pop(c, saved);
                    }
                    return NULL;
                }
            }
            if (nd->a[1]->op == JL_OP_CONST) {
                const char *s;
                size_t len;
                if (jl_tostr(&env, &nd->a[1]->k, &s, &len) != 0 || !jl_semver_op_valid(s, len)) {
                    size_t saved;
                    if (push_index(c, 1, &saved) == 0) {
                        jl_violation(c, "flagd.targeting",
                                     "sem_ver operators are =, !=, <, <=, >, >=, ^ and ~");
                        pop(c, saved);
                    }
                    return NULL;
                }
            }
        }
    }
    return fold(c, nd);
}

static const struct jl_node *compile_ref(struct jl_compiler *c, struct jl_ref *r);

static const struct jl_node *resolve_ref(struct jl_compiler *c, const json_t *name)
{
    size_t saved;
    if (push_key(c, "$ref", &saved) != 0) {
        return NULL;
    }
    const struct jl_node *nd = NULL;
    if (!json_is_string(name)) {
        jl_violation(c, "flagd.ref", "$ref names an evaluator: a string");
        pop(c, saved);
        return NULL;
    }
    struct jl_ref *r = NULL;
    for (size_t i = 0; i < c->nrefs; i++) {
        if (strcmp(c->refs[i].name, json_string_value(name)) == 0) {
            r = &c->refs[i];
            break;
        }
    }
    if (r == NULL) {
        jl_violation(c, "flagd.ref", "no evaluator \"%s\" in $evaluators", json_string_value(name));
    } else if (r->state == 1) {
        jl_violation(c, "flagd.ref", "evaluator \"%s\" refers to itself", r->name);
    } else {
        pop(c, saved);
        return compile_ref(c, r);
    }
    pop(c, saved);
    return nd;
}

static const struct jl_node *compile_value(struct jl_compiler *c, const json_t *v)
{
    if (c->nomem) {
        return NULL;
    }
    struct jl_val k;
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        struct jl_node *nd = node_new(c, JL_OP_ARRAY, n);
        if (nd == NULL) {
            return NULL;
        }
        int ok = 1, lit = 1, konst = 1, height = 0;
        for (size_t i = 0; i < n; i++) {
            size_t saved;
            if (push_index(c, i, &saved) != 0) {
                return NULL;
            }
            nd->a[i] = compile_value(c, json_array_get(v, i));
            pop(c, saved);
            if (nd->a[i] == NULL) {
                ok = 0;
                continue;
            }
            konst &= nd->a[i]->op == JL_OP_CONST;
            lit &= nd->a[i]->op == JL_OP_CONST && nd->a[i]->lit;
            if (nd->a[i]->height > height) {
                height = nd->a[i]->height;
            }
        }
        if (!ok) {
            return NULL;
        }
        nd->height = height;
        if (lit) {
            jl_from_json(v, &k);
            return const_node(c, &k, 1);
        }
        if (konst) {
            struct jl_arr *arr = jl_arena_alloc(c->arena, sizeof(*arr) + n * sizeof(arr->v[0]));
            if (arr == NULL) {
                c->nomem = 1;
                return NULL;
            }
            arr->n = n;
            for (size_t i = 0; i < n; i++) {
                arr->v[i] = nd->a[i]->k;
            }
            memset(&k, 0, sizeof(k));
            k.k = JL_ARR;
            k.p = arr;
            return const_node(c, &k, 0);
        }
        return nd;
    }
    if (!is_rule(v)) {
        jl_from_json(v, &k); /* a scalar, or {} (data: an empty object) */
        return const_node(c, &k, 1);
    }
    if (json_object_size(v) > 1) {
        jl_violation(c, "flagd.operator", "an operation is an object with exactly one key");
        return NULL;
    }
    const char *key = json_object_iter_key(json_object_iter((json_t *)v));
    const json_t *arg = json_object_get(v, key);
    if (strcmp(key, "$ref") == 0) {
        return resolve_ref(c, arg);
    }
    const struct opdef *od = NULL;
    for (size_t i = 0; i < sizeof(opdefs) / sizeof(opdefs[0]); i++) {
        if (strcmp(opdefs[i].name, key) == 0) {
            od = &opdefs[i];
            break;
        }
    }
    size_t saved;
    if (push_key(c, key, &saved) != 0) {
        return NULL;
    }
    const struct jl_node *nd = NULL;
    if (od == NULL) {
        jl_violation(c, "flagd.operator", "unknown operator \"%s\"", key);
    } else {
        nd = compile_op(c, od, arg);
    }
    pop(c, saved);
    return nd;
}

static const struct jl_node *compile_ref(struct jl_compiler *c, struct jl_ref *r)
{
    if (r->state == 2) {
        return r->node;
    }
    if (r->state == 3) {
        c->failed = 1;
        return NULL;
    }
    struct cg_buf saved = c->ptr;
    memset(&c->ptr, 0, sizeof(c->ptr));
    if (cg_jsonptr_append(&c->ptr, "$evaluators", 11) != 0 ||
        cg_jsonptr_append(&c->ptr, r->name, strlen(r->name)) != 0) {
        c->nomem = 1;
        cg_buf_free(&c->ptr);
        c->ptr = saved;
        return NULL;
    }
    r->state = 1;
    const struct jl_node *nd = NULL;
    if (!json_is_object(r->rule)) {
        jl_violation(c, "flagd.schema", "an evaluator is a targeting rule: an object");
    } else {
        nd = compile_value(c, r->rule);
    }
    cg_buf_free(&c->ptr);
    c->ptr = saved;
    r->node = nd;
    r->state = nd != NULL ? 2 : 3;
    return nd;
}

int jl_compile_evaluators(struct jl_compiler *c)
{
    if (c->evaluators == NULL) {
        return CG_OK;
    }
    size_t n = json_object_size(c->evaluators);
    c->refs = jl_arena_alloc(c->arena, (n + 1) * sizeof(*c->refs));
    if (c->refs == NULL) {
        return CG_ERR_NOMEM;
    }
    const char *name;
    const json_t *rule;
    json_object_foreach((json_t *)c->evaluators, name, rule)
    {
        struct jl_ref *r = &c->refs[c->nrefs++];
        r->name = name;
        r->rule = rule;
        r->node = NULL;
        r->state = 0;
    }
    for (size_t i = 0; i < c->nrefs; i++) {
        compile_ref(c, &c->refs[i]);
        if (c->nomem) {
            return CG_ERR_NOMEM;
        }
    }
    return CG_OK;
}

const struct jl_node *jl_compile(struct jl_compiler *c, const json_t *rule)
{
    return compile_value(c, rule);
}

void jl_compiler_free(struct jl_compiler *c)
{
    cg_buf_free(&c->ptr);
}

void jl_constant_results(const struct jl_node *n, jl_result_fn fn, void *arg)
{
    switch (n->op) {
    case JL_OP_CONST:
        fn(&n->k, n->ptr, "", arg);
        break;
    case JL_OP_IF:
        if (n->n == 1) {
            jl_constant_results(n->a[0], fn, arg);
            break;
        }
        for (size_t i = 1; i < n->n; i += 2) {
            jl_constant_results(n->a[i], fn, arg);
        }
        if (n->n % 2 == 1) {
            jl_constant_results(n->a[n->n - 1], fn, arg);
        }
        break;
    case JL_OP_OR:
    case JL_OP_AND:
        for (size_t i = 0; i + 1 < n->n; i++) {
            const struct jl_node *a = n->a[i];
            /* "or" returns a truthy argument, "and" a falsy one */
            if (a->op == JL_OP_CONST && jl_truthy(&a->k) == (n->op == JL_OP_OR)) {
                fn(&a->k, a->ptr, "", arg);
            }
        }
        jl_constant_results(n->a[n->n - 1], fn, arg);
        break;
    case JL_OP_FRACTIONAL:
        for (size_t i = 0; i < n->n; i++) {
            const struct jl_node *b = n->a[i];
            if (b->op == JL_OP_ARRAY && b->n >= 1 && b->a[0]->op == JL_OP_CONST) {
                fn(&b->a[0]->k, b->a[0]->ptr, "", arg);
            } else if (b->op == JL_OP_CONST && jl_is_array(&b->k) && jl_arr_len(&b->k) >= 1) {
                struct jl_val v;
                jl_arr_at(&b->k, 0, &v);
                fn(&v, b->ptr, "/0", arg);
            }
        }
        break;
    default:
        break;
    }
}
