/* SPDX-License-Identifier: MIT */
/*
 * flagd.c: flagd flag-definition documents (flagd.h): the schema rules of
 * https://flagd.dev/schema/v0/flags.json checked with JSON Pointers, the
 * compiled set, and flag evaluation with flagd's reasons and error codes.
 * The targeting rules themselves are jsonlogic.c (compile) and jleval.c
 * (evaluate).
 */
#include "flagd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flagd_int.h"
#include "json.h"
#include "jsonptr.h"
#include "status.h"

#define FLAGD_MAX_DEPTH 256 /* nesting of a document's JSON text */

struct flagd_variant {
    const char *name; /* borrowed from the set's document */
    size_t len;
    const json_t *value;
};

struct flagd_flag {
    const char *key;
    int disabled;
    struct flagd_variant *variants; /* sorted by name (bytes) */
    size_t nvariants;
    const struct flagd_variant *def; /* NULL: none (the code default applies) */
    const struct jl_node *targeting; /* NULL: none */
    json_t *metadata;                /* owned: set metadata merged with the flag's; NULL if empty */
};

struct flagd_set {
    json_t *doc;              /* owned copy: names, values and literals point into it */
    struct flagd_flag *flags; /* sorted by key */
    size_t nflags;
    json_t *metadata;      /* owned; NULL when empty */
    struct jl_arena arena; /* nodes, constants, the arrays above */
};

/* ---- names --------------------------------------------------------------------- */

/* clang-format off */
static const char *const reason_names[] = {
    [FLAGD_REASON_STATIC] = "STATIC",
    [FLAGD_REASON_TARGETING_MATCH] = "TARGETING_MATCH",
    [FLAGD_REASON_SPLIT] = "SPLIT",
    [FLAGD_REASON_DEFAULT] = "DEFAULT",
    [FLAGD_REASON_DISABLED] = "DISABLED",
    [FLAGD_REASON_ERROR] = "ERROR",
};
static const char *const error_names[] = {
    [FLAGD_OK] = "",
    [FLAGD_FLAG_NOT_FOUND] = "FLAG_NOT_FOUND",
    [FLAGD_PARSE_ERROR] = "PARSE_ERROR",
    [FLAGD_TYPE_MISMATCH] = "TYPE_MISMATCH",
    [FLAGD_TARGETING_KEY_MISSING] = "TARGETING_KEY_MISSING",
    [FLAGD_GENERAL] = "GENERAL",
};
/* clang-format on */
_Static_assert(sizeof(reason_names) / sizeof(reason_names[0]) == FLAGD_REASON_ERROR + 1,
               "reason_names matches enum flagd_reason");
_Static_assert(sizeof(error_names) / sizeof(error_names[0]) == FLAGD_GENERAL + 1,
               "error_names matches enum flagd_error");

const char *flagd_reason_name(enum flagd_reason r)
{
    return (unsigned)r < sizeof(reason_names) / sizeof(reason_names[0]) ? reason_names[r]
                                                                        : "UNKNOWN";
}

const char *flagd_error_name(enum flagd_error e)
{
    return (unsigned)e < sizeof(error_names) / sizeof(error_names[0]) ? error_names[e] : "GENERAL";
}

enum flagd_type flagd_value_type(const json_t *v)
{
    if (v == NULL) {
        return FLAGD_ANY;
    }
    switch (json_typeof(v)) {
    case JSON_TRUE:
    case JSON_FALSE:
        return FLAGD_BOOLEAN;
    case JSON_STRING:
        return FLAGD_STRING;
    case JSON_INTEGER:
    case JSON_REAL:
        return FLAGD_NUMBER;
    case JSON_OBJECT:
    case JSON_ARRAY:
        return FLAGD_OBJECT;
    default:
        return FLAGD_ANY;
    }
}

/* ---- compiling a document -------------------------------------------------------- */

/* Appends a violation at c->ptr + "/" + token (token NULL: c->ptr). */
static void violation_at(struct jl_compiler *c, const char *token, const char *rule,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void violation_at(struct jl_compiler *c, const char *token, const char *rule,
                         const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t saved = c->ptr.len;
    if (token != NULL && cg_jsonptr_append(&c->ptr, token, strlen(token)) != 0) {
        c->nomem = 1;
        return;
    }
    jl_violation(c, rule, "%s", msg);
    c->ptr.len = saved;
    if (c->ptr.data != NULL) {
        c->ptr.data[saved] = '\0';
    }
}

static int push(struct jl_compiler *c, const char *token, size_t *saved)
{
    *saved = c->ptr.len;
    if (cg_jsonptr_append(&c->ptr, token, strlen(token)) != 0) {
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

/* flagd's key pattern "^.{1,}$": not empty, no line terminator. */
static int valid_key(const char *k)
{
    if (k[0] == '\0') {
        return 0;
    }
    for (const char *p = k; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r' || strncmp(p, "\xe2\x80\xa8", 3) == 0 ||
            strncmp(p, "\xe2\x80\xa9", 3) == 0) {
            return 0;
        }
    }
    return 1;
}

static void check_metadata(struct jl_compiler *c, const json_t *md, int set_level)
{
    if (!json_is_object(md)) {
        violation_at(c, NULL, "flagd.schema", "metadata is an object");
        return;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)md, k, v)
    {
        if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) {
            violation_at(c, k, "flagd.schema",
                         "a metadata value is a string, a number or a boolean");
        } else if (set_level && (strcmp(k, "flagSetId") == 0 || strcmp(k, "version") == 0) &&
                   !json_is_string(v)) {
            violation_at(c, k, "flagd.schema", "%s is a string", k);
        }
    }
}

static int cmp_variant(const void *a, const void *b)
{
    const struct flagd_variant *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->name, y->name, n);
    if (r != 0) {
        return r;
    }
    return x->len < y->len ? -1 : x->len > y->len;
}

static const struct flagd_variant *find_variant(const struct flagd_flag *f, const char *name,
                                                size_t len)
{
    if (f->nvariants == 0) {
        return NULL;
    }
    struct flagd_variant key = {.name = name, .len = len};
    return bsearch(&key, f->variants, f->nvariants, sizeof(key), cmp_variant);
}

static const char *type_word(const json_t *v)
{
    switch (flagd_value_type(v)) {
    case FLAGD_BOOLEAN:
        return "a boolean";
    case FLAGD_STRING:
        return "a string";
    case FLAGD_NUMBER:
        return "a number";
    default:
        return json_is_object(v) ? "an object" : json_is_array(v) ? "an array" : "null";
    }
}

static void compile_variants(struct jl_compiler *c, struct flagd_flag *f, const json_t *vs)
{
    size_t saved;
    if (push(c, "variants", &saved) != 0) {
        return;
    }
    if (!json_is_object(vs) || json_object_size(vs) == 0) {
        jl_violation(c, "flagd.schema", "variants is an object with at least one variant");
        pop(c, saved);
        return;
    }
    f->variants = jl_arena_alloc(c->arena, json_object_size(vs) * sizeof(*f->variants));
    if (f->variants == NULL) {
        c->nomem = 1;
        return;
    }
    const char *name;
    const json_t *v, *first = NULL;
    json_object_foreach((json_t *)vs, name, v)
    {
        if (!valid_key(name)) {
            violation_at(c, name, "flagd.schema",
                         "a variant name is not empty and has no line break");
            continue;
        }
        if (!json_is_boolean(v) && !json_is_number(v) && !json_is_string(v) && !json_is_object(v)) {
            violation_at(c, name, "flagd.variant",
                         "a variant's value is a boolean, a number, a string or an object, "
                         "not %s",
                         type_word(v));
            continue;
        }
        if (first == NULL) {
            first = v;
        } else if (flagd_value_type(v) != flagd_value_type(first)) {
            violation_at(c, name, "flagd.variant",
                         "all variants of a flag have one type: this one is %s, the first %s",
                         type_word(v), type_word(first));
            continue;
        }
        struct flagd_variant *fv = &f->variants[f->nvariants++];
        fv->name = name;
        fv->len = strlen(name);
        fv->value = v;
    }
    qsort(f->variants, f->nvariants, sizeof(*f->variants), cmp_variant);
    pop(c, saved);
}

struct variant_check {
    struct jl_compiler *c;
    const struct flagd_flag *f;
};

/* A literal that targeting can return must name a variant. */
static void check_result(const struct jl_val *v, const char *ptr, const char *suffix, void *arg)
{
    struct variant_check *vc = arg;
    if (v->k == JL_NULL || v->k == JL_UNDEF) {
        return; /* the default variant */
    }
    struct jl_env env;
    memset(&env, 0, sizeof(env));
    env.arena = vc->c->arena;
    env.flag_key = vc->f->key;
    const char *s;
    size_t len;
    if (jl_tostr(&env, v, &s, &len) != 0) {
        vc->c->nomem = 1;
        return;
    }
    if (find_variant(vc->f, s, len) != NULL) {
        return;
    }
    struct cg_buf saved = vc->c->ptr;
    memset(&vc->c->ptr, 0, sizeof(vc->c->ptr));
    if (cg_buf_puts(&vc->c->ptr, ptr) != 0 || cg_buf_puts(&vc->c->ptr, suffix) != 0) {
        vc->c->nomem = 1;
    } else {
        jl_violation(vc->c, "flagd.variant",
                     "targeting of flag \"%s\" can return \"%.*s\", which is not one of its "
                     "variants",
                     vc->f->key, (int)(len > 100 ? 100 : len), s);
    }
    cg_buf_free(&vc->c->ptr);
    vc->c->ptr = saved;
}

static json_t *merge_metadata(const json_t *set_md, const json_t *flag_md, int *nomem)
{
    size_t n = (json_is_object(set_md) ? json_object_size(set_md) : 0) +
               (json_is_object(flag_md) ? json_object_size(flag_md) : 0);
    if (n == 0) {
        return NULL;
    }
    json_t *m = json_object();
    if (m == NULL || (json_is_object(set_md) && json_object_update(m, (json_t *)set_md) != 0) ||
        (json_is_object(flag_md) && json_object_update(m, (json_t *)flag_md) != 0)) {
        json_decref(m);
        *nomem = 1;
        return NULL;
    }
    return m;
}

static void compile_flag(struct jl_compiler *c, struct flagd_set *s, struct flagd_flag *f,
                         const char *key, const json_t *fl)
{
    f->key = key;
    if (!json_is_object(fl)) {
        jl_violation(c, "flagd.schema", "a flag is an object");
        return;
    }
    const json_t *state = json_object_get(fl, "state");
    if (state == NULL) {
        jl_violation(c, "flagd.schema", "a flag has a state (ENABLED or DISABLED)");
    } else if (!json_is_string(state) || (strcmp(json_string_value(state), "ENABLED") != 0 &&
                                          strcmp(json_string_value(state), "DISABLED") != 0)) {
        violation_at(c, "state", "flagd.schema", "state is \"ENABLED\" or \"DISABLED\"");
    } else {
        f->disabled = strcmp(json_string_value(state), "DISABLED") == 0;
    }
    const json_t *vs = json_object_get(fl, "variants");
    if (vs == NULL) {
        jl_violation(c, "flagd.schema", "a flag has variants");
    } else {
        compile_variants(c, f, vs);
    }
    const json_t *dv = json_object_get(fl, "defaultVariant");
    if (dv != NULL && !json_is_null(dv)) {
        if (!json_is_string(dv)) {
            violation_at(c, "defaultVariant", "flagd.schema",
                         "defaultVariant is a variant's name or null");
        } else if (json_string_length(dv) > 0) {
            /* "" counts as none, as in flagd-core */
            f->def = find_variant(f, json_string_value(dv), json_string_length(dv));
            if (f->def == NULL && vs != NULL) {
                violation_at(c, "defaultVariant", "flagd.variant",
                             "defaultVariant \"%s\" is not one of the variants",
                             json_string_value(dv));
            }
        }
    }
    const json_t *md = json_object_get(fl, "metadata");
    if (md != NULL) {
        size_t saved;
        if (push(c, "metadata", &saved) == 0) {
            check_metadata(c, md, 0);
            pop(c, saved);
        }
    }
    const json_t *tg = json_object_get(fl, "targeting");
    if (tg != NULL) {
        size_t saved;
        if (push(c, "targeting", &saved) != 0) {
            return;
        }
        if (!json_is_object(tg)) {
            jl_violation(c, "flagd.schema", "targeting is a JsonLogic rule: an object");
        } else if (json_object_size(tg) > 0) {
            int before = c->failed;
            c->failed = 0;
            const struct jl_node *n = jl_compile(c, tg);
            if (n != NULL && !(n->op == JL_OP_CONST && n->lit && n->k.k == JL_JSON &&
                               json_is_object((const json_t *)n->k.p))) {
                f->targeting = n; /* a $ref to {} is no targeting either */
            }
            if (f->targeting != NULL && f->nvariants > 0) {
                struct variant_check vc = {.c = c, .f = f};
                jl_constant_results(n, check_result, &vc);
            }
            c->failed |= before;
        }
        pop(c, saved);
    }
    int nomem = 0;
    f->metadata = merge_metadata(s->metadata, md, &nomem);
    if (nomem) {
        c->nomem = 1;
    }
}

static int cmp_flag(const void *a, const void *b)
{
    return strcmp(((const struct flagd_flag *)a)->key, ((const struct flagd_flag *)b)->key);
}

static void compile_doc(struct jl_compiler *c, struct flagd_set *s)
{
    const json_t *doc = s->doc;
    if (!json_is_object(doc)) {
        jl_violation(c, "flagd.schema", "a flag definition document is an object");
        return;
    }
    const json_t *md = json_object_get(doc, "metadata");
    if (md != NULL) {
        size_t saved;
        if (push(c, "metadata", &saved) == 0) {
            check_metadata(c, md, 1);
            pop(c, saved);
        }
        if (json_is_object(md) && json_object_size(md) > 0) {
            s->metadata = json_incref((json_t *)md);
        }
    }
    const json_t *ev = json_object_get(doc, "$evaluators");
    if (ev != NULL && !json_is_object(ev)) {
        violation_at(c, "$evaluators", "flagd.schema", "$evaluators is an object");
    } else if (ev != NULL) {
        const char *name;
        const json_t *rule;
        json_object_foreach((json_t *)ev, name, rule)
        {
            if (!valid_key(name)) {
                size_t saved;
                if (push(c, "$evaluators", &saved) == 0) {
                    violation_at(c, name, "flagd.schema",
                                 "an evaluator's name is not empty and has no line break");
                    pop(c, saved);
                }
            }
        }
        c->evaluators = ev;
        if (jl_compile_evaluators(c) != CG_OK) {
            c->nomem = 1;
        }
    }
    const json_t *flags = json_object_get(doc, "flags");
    if (flags == NULL) {
        jl_violation(c, "flagd.schema", "the document has \"flags\"");
        return;
    }
    size_t saved;
    if (push(c, "flags", &saved) != 0) {
        return;
    }
    if (!json_is_object(flags)) {
        jl_violation(c, "flagd.schema", "flags is an object of flags by key");
        pop(c, saved);
        return;
    }
    s->flags = jl_arena_alloc(&s->arena, (json_object_size(flags) + 1) * sizeof(*s->flags));
    if (s->flags == NULL) {
        c->nomem = 1;
        return;
    }
    const char *key;
    const json_t *fl;
    json_object_foreach((json_t *)flags, key, fl)
    {
        size_t fsaved;
        if (push(c, key, &fsaved) != 0) {
            break;
        }
        if (!valid_key(key)) {
            jl_violation(c, "flagd.schema", "a flag key is not empty and has no line break");
        } else {
            struct flagd_flag *f = &s->flags[s->nflags++];
            memset(f, 0, sizeof(*f));
            compile_flag(c, s, f, key, fl);
        }
        pop(c, fsaved);
        if (c->nomem) {
            break;
        }
    }
    pop(c, saved);
    qsort(s->flags, s->nflags, sizeof(*s->flags), cmp_flag);
}

int flagd_compile_json(const json_t *doc, struct flagd_set **out, struct cg_violations *errs)
{
    if (out == NULL) {
        return CG_ERR_INVALID;
    }
    *out = NULL;
    if (doc == NULL) {
        return CG_ERR_INVALID;
    }
    struct flagd_set *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return CG_ERR_NOMEM;
    }
    jl_arena_init(&s->arena, NULL, 0, 0);
    s->doc = json_deep_copy(doc);
    if (s->doc == NULL) {
        flagd_free(s);
        return CG_ERR_NOMEM;
    }
    struct jl_compiler c;
    memset(&c, 0, sizeof(c));
    c.arena = &s->arena;
    c.errs = errs;
    if (cg_buf_puts(&c.ptr, "") != 0) {
        flagd_free(s);
        return CG_ERR_NOMEM;
    }
    compile_doc(&c, s);
    int nomem = c.nomem, failed = c.failed;
    jl_compiler_free(&c);
    if (nomem || failed) {
        flagd_free(s);
        return nomem ? CG_ERR_NOMEM : CG_ERR_VIOLATION;
    }
    *out = s;
    return CG_OK;
}

int flagd_compile(const char *json, size_t len, struct flagd_set **out, struct cg_violations *errs)
{
    if (out == NULL) {
        return CG_ERR_INVALID;
    }
    *out = NULL;
    json_t *doc = NULL;
    char msg[256];
    enum cg_json_fail f = cg_json_parse(json != NULL ? json : "", json != NULL ? len : 0, 0,
                                        FLAGD_MAX_DEPTH, &doc, msg, sizeof(msg));
    if (f == CG_JSON_NOMEM) {
        return CG_ERR_NOMEM;
    }
    if (f != CG_JSON_OK) {
        if (errs != NULL && cg_violations_add(errs, "", "flagd.json", "JSON", "", "%s", msg) != 0) {
            return CG_ERR_NOMEM;
        }
        return CG_ERR_VIOLATION;
    }
    int rc = flagd_compile_json(doc, out, errs);
    json_decref(doc);
    return rc;
}

void flagd_free(struct flagd_set *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nflags; i++) {
        json_decref(s->flags[i].metadata);
    }
    json_decref(s->metadata);
    jl_arena_free(&s->arena);
    json_decref(s->doc);
    free(s);
}

size_t flagd_count(const struct flagd_set *s)
{
    return s != NULL ? s->nflags : 0;
}

const char *flagd_key_at(const struct flagd_set *s, size_t i)
{
    return s != NULL && i < s->nflags ? s->flags[i].key : NULL;
}

/* ---- evaluating ----------------------------------------------------------------- */

static const struct flagd_flag *find_flag(const struct flagd_set *s, const char *key)
{
    if (s == NULL || key == NULL || s->nflags == 0) {
        return NULL;
    }
    struct flagd_flag k = {.key = key};
    return bsearch(&k, s->flags, s->nflags, sizeof(k), cmp_flag);
}

static void fail(struct flagd_result *out, enum flagd_error e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct flagd_result *out, enum flagd_error e, const char *fmt, ...)
{
    out->value = NULL;
    out->variant = NULL;
    out->reason = FLAGD_REASON_ERROR;
    out->error = e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof(out->message), fmt, ap);
    va_end(ap);
}

#define EVAL_STACK 2048 /* scratch bytes on the stack before the arena mallocs */

/* Runs the targeting rule: 0 and the variant (NULL: the default applies),
 * or -1 after filling 'out' with the error. */
static int run_targeting(const struct flagd_flag *f, const json_t *context, int64_t now_s,
                         const struct flagd_variant **variant, struct flagd_result *out)
{
    _Alignas(max_align_t) char stack[EVAL_STACK];
    struct jl_arena arena;
    jl_arena_init(&arena, stack, sizeof(stack), JL_ARENA_MAX);
    struct jl_env env;
    env.ctx = context;
    env.flag_key = f->key;
    env.now_s = (double)now_s;
    env.fold = 0;
    env.steps = 0;
    memset(&env.prev, 0, sizeof(env.prev));
    env.arena = &arena;
    env.msg[0] = '\0';
    struct jl_val root = {.k = JL_ROOT, .b = 1, .p = context}, r;
    int rc = 0;
    *variant = NULL;
    if (jl_eval(f->targeting, &root, &env, &r) != 0) {
        fail(out, FLAGD_GENERAL, "error evaluating the targeting rule of flag '%s': %s", f->key,
             env.msg);
        rc = -1;
    } else if (r.k != JL_NULL && r.k != JL_UNDEF) {
        const char *name;
        size_t len;
        if (jl_tostr(&env, &r, &name, &len) != 0) {
            fail(out, FLAGD_GENERAL, "flag '%s': %s", f->key, env.msg);
            rc = -1;
        } else {
            *variant = find_variant(f, name, len);
            if (*variant == NULL) {
                fail(out, FLAGD_GENERAL, "variant '%.*s' not found in flag with key '%s'",
                     (int)(len > 64 ? 64 : len), name, f->key);
                rc = -1;
            } else {
                out->reason = FLAGD_REASON_TARGETING_MATCH;
            }
        }
    } else {
        *variant = f->def;
        out->reason = FLAGD_REASON_DEFAULT;
    }
    jl_arena_free(&arena);
    return rc;
}

void flagd_evaluate(const struct flagd_set *s, const char *key, const json_t *context,
                    int64_t now_s, enum flagd_type want, struct flagd_result *out)
{
    /* every field but the message, which only an error writes (a 256-byte
     * memset was a tenth of an evaluation) */
    out->value = NULL;
    out->variant = NULL;
    out->reason = FLAGD_REASON_STATIC;
    out->error = FLAGD_OK;
    out->message[0] = '\0';
    out->metadata = NULL;
    const struct flagd_flag *f = find_flag(s, key);
    if (f == NULL) {
        fail(out, FLAGD_FLAG_NOT_FOUND, "flag '%s' not found", key != NULL ? key : "");
        out->metadata = s != NULL ? json_incref(s->metadata) : NULL;
        return;
    }
    out->metadata = json_incref(f->metadata);
    if (f->disabled) {
        out->reason = FLAGD_REASON_DISABLED;
        return;
    }
    if (context != NULL && !json_is_object(context)) {
        fail(out, FLAGD_PARSE_ERROR, "the evaluation context is not an object");
        return;
    }
    const struct flagd_variant *v = f->def;
    out->reason = FLAGD_REASON_STATIC;
    if (f->targeting != NULL && run_targeting(f, context, now_s, &v, out) != 0) {
        return;
    }
    if (v == NULL) {
        out->reason = FLAGD_REASON_DEFAULT; /* no default variant: the code default */
        return;
    }
    if (want != FLAGD_ANY && flagd_value_type(v->value) != want) {
        static const char *const names[] = {"any", "boolean", "string", "number", "object"};
        enum flagd_type t = flagd_value_type(v->value);
        fail(out, FLAGD_TYPE_MISMATCH, "flag '%s' is of type %s, not %s", f->key,
             (unsigned)t < 5 ? names[t] : "?", (unsigned)want < 5 ? names[want] : "?");
        return;
    }
    out->value = v->value;
    out->variant = v->name;
}
