/* SPDX-License-Identifier: MIT */
/*
 * flagd_int.h: what the files of common/flagd/ share and nobody else sees.
 *
 *   flagd.c       the document: schema rules, $evaluators, flags, results
 *   jsonlogic.c   targeting rules: compile into a tree (jl_compile), evaluate
 *                 it (jl_eval), the operator table
 *   jsvalue.c     the JavaScript value semantics JsonLogic is defined by
 *                 (truthiness, ToString, ToNumber, == and <, property access)
 *   fractional.c  MurmurHash3 and the "fractional" operator
 *   semver.c      the "sem_ver" operator
 *   arena.c       the bump allocator behind compiled sets and evaluations
 *
 * Values (struct jl_val) are small and passed by value; what they point to
 * is borrowed: from the set (constants, the copied document), from the
 * caller's context, or from the evaluation's arena. Nothing in an
 * evaluation outlives flagd_evaluate(), except the borrowed variant.
 */
#ifndef CG_FLAGD_INT_H
#define CG_FLAGD_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "flagd.h"

/* ---- arena --------------------------------------------------------------- */

struct jl_chunk;

/* A bump allocator: memory is freed all at once (jl_arena_free). It may
 * start on a caller's buffer (an evaluation's stack) and grows by malloc'd
 * chunks up to 'limit' bytes (0 = none). */
struct jl_arena {
    char *cur;               /* next free byte */
    size_t left;             /* bytes left at cur */
    struct jl_chunk *chunks; /* owned, freed by jl_arena_free() */
    size_t used;             /* bytes handed out from chunks */
    size_t limit;            /* 0 = no limit */
};

void jl_arena_init(struct jl_arena *a, void *buf, size_t len, size_t limit);
/* Returns n bytes aligned for any value, or NULL (out of memory or limit). */
void *jl_arena_alloc(struct jl_arena *a, size_t n);
/* Copies n bytes plus a NUL. */
char *jl_arena_strndup(struct jl_arena *a, const char *s, size_t n);
void jl_arena_free(struct jl_arena *a);

/* ---- values ---------------------------------------------------------------- */

enum jl_kind {
    JL_UNDEF, /* JavaScript undefined: only inside the engine (a missing property) */
    JL_NULL,
    JL_BOOL,
    JL_NUM,
    JL_STR,
    JL_ARR,   /* struct jl_arr: made by an operator (map, merge, missing, ...) */
    JL_JSON,  /* a JSON array or object (never a scalar: those are loaded) */
    JL_ROOT,  /* the evaluation context: the caller's object plus "$flagd" */
    JL_FLAGD, /* the "$flagd" object: flagKey, timestamp */
    JL_PAIR,  /* reduce's {"accumulator", "current"} */
};

struct jl_val {
    enum jl_kind k;
    int b;         /* JL_BOOL */
    double n;      /* JL_NUM */
    const char *s; /* JL_STR: UTF-8, need not be NUL-terminated */
    size_t len;    /* JL_STR: bytes */
    const void *p; /* JL_ARR: struct jl_arr; JL_JSON: json_t; JL_PAIR: struct jl_pair */
};

struct jl_arr {
    size_t n;
    struct jl_val v[];
};

struct jl_pair {
    struct jl_val acc, cur;
};

/* ---- compiled rules -------------------------------------------------------- */

enum jl_op {
    JL_OP_CONST, /* k */
    JL_OP_ARRAY, /* an array literal whose items are evaluated */
    JL_OP_VAR,
    JL_OP_MISSING,
    JL_OP_MISSING_SOME,
    JL_OP_IF,
    JL_OP_EQ,
    JL_OP_SEQ,
    JL_OP_NE,
    JL_OP_SNE,
    JL_OP_GT,
    JL_OP_GE,
    JL_OP_LT,
    JL_OP_LE,
    JL_OP_NOT,
    JL_OP_NOTNOT,
    JL_OP_OR,
    JL_OP_AND,
    JL_OP_MAX,
    JL_OP_MIN,
    JL_OP_ADD,
    JL_OP_SUB,
    JL_OP_MUL,
    JL_OP_DIV,
    JL_OP_MOD,
    JL_OP_MAP,
    JL_OP_FILTER,
    JL_OP_REDUCE,
    JL_OP_ALL,
    JL_OP_NONE,
    JL_OP_SOME,
    JL_OP_MERGE,
    JL_OP_IN,
    JL_OP_CAT,
    JL_OP_SUBSTR,
    JL_OP_STARTS_WITH,
    JL_OP_ENDS_WITH,
    JL_OP_SEM_VER,
    JL_OP_FRACTIONAL,
    JL_OP__COUNT
};

/* A path segment of "var" or "missing" (split at unescaped dots). */
struct jl_seg {
    const char *s;
    size_t len;
};

/* One compiled path: the whole context when n == 0 and 'whole' is set. */
struct jl_path {
    const struct jl_seg *seg;
    size_t n;
    int whole;
};

struct jl_node {
    enum jl_op op;
    size_t n;                 /* arguments */
    const struct jl_node **a; /* arguments (arena of the set) */
    struct jl_val k;          /* JL_OP_CONST: the value; JL_OP_VAR: the default */
    /* JL_OP_VAR with a literal key: the path; JL_OP_MISSING(_SOME): one per key */
    const struct jl_path *paths;
    size_t npaths;
    int dynamic;     /* JL_OP_VAR: the key is computed by a[0] */
    int nullish;     /* JL_OP_VAR: a null value also takes the default (json-logic-engine's
                      * compiled form: "context?.a ?? default") */
    int direct;      /* JL_OP_MISSING(_SOME): one or two keys without dots, looked up
                      * directly (the compiled form) */
    double need;     /* JL_OP_MISSING_SOME: how many must be present */
    int height;      /* longest path to a leaf, through $refs */
    int lit;         /* JL_OP_CONST: the value is the JSON literal itself (not folded) */
    const char *ptr; /* JL_OP_CONST: JSON Pointer of the expression in the document */
};

/* ---- evaluation ------------------------------------------------------------ */

#define JL_STEPS_MAX  1000000u           /* node evaluations per flag evaluation */
#define JL_ARENA_MAX  (4u * 1024 * 1024) /* bytes of scratch per flag evaluation */
#define JL_HEIGHT_MAX 128                /* nesting of a rule, through $refs */
#define JL_ERRMSG_MAX 200

struct jl_env {
    const json_t *ctx;    /* the caller's context object, or NULL (borrowed) */
    const char *flag_key; /* borrowed */
    double now_s;         /* $flagd.timestamp */
    int fold;             /* constant folding at compile time: the interpreter's
                           * semantics of json-logic-engine, an empty context */
    unsigned long steps;
    struct jl_val prev; /* the compiled code's shared "prev" variable (jleval.c) */
    struct jl_arena *arena;
    char msg[JL_ERRMSG_MAX]; /* why the rule threw */
};

/* Evaluates 'n' with 'data' as the current data ("var" reads it). Returns 0
 * and *out, or -1 (the JavaScript rule threw: env->msg says why). */
int jl_eval(const struct jl_node *n, const struct jl_val *data, struct jl_env *env,
            struct jl_val *out);

/* Sets env->msg (printf-style) and returns -1. */
int jl_fail(struct jl_env *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- compiling rules ------------------------------------------------------- */

struct jl_ref; /* one $evaluators entry while compiling */

struct jl_compiler {
    struct jl_arena *arena;     /* the set's: nodes and constants */
    struct cg_violations *errs; /* may be NULL */
    struct cg_buf ptr;          /* JSON Pointer of the value being compiled */
    const json_t *evaluators;   /* the document's "$evaluators" object, or NULL */
    struct jl_ref *refs;        /* one per evaluator, in iteration order */
    size_t nrefs;
    int nomem;
    int failed;
};

/* Compiles one rule (the value at c->ptr). Returns the node, or NULL after
 * appending violations (or setting c->nomem). */
const struct jl_node *jl_compile(struct jl_compiler *c, const json_t *rule);

/* Compiles every "$evaluators" entry (violations at their own pointers). */
int jl_compile_evaluators(struct jl_compiler *c);

void jl_compiler_free(struct jl_compiler *c);

/* Splits a var/missing key at unescaped dots (json-logic-engine's splitPath). */
int jl_split_path(struct jl_arena *ar, const char *s, size_t len, struct jl_path *out);

/* Appends one violation at c->ptr (+ 'suffix' token when not NULL). */
void jl_violation(struct jl_compiler *c, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The literal results a targeting rule can return (for the variant check):
 * calls fn for every constant in a result position, with its JSON Pointer
 * (ptr followed by suffix). */
typedef void (*jl_result_fn)(const struct jl_val *v, const char *ptr, const char *suffix,
                             void *arg);
void jl_constant_results(const struct jl_node *n, jl_result_fn fn, void *arg);

/* ---- JavaScript value semantics (jsvalue.c) -------------------------------- */

void jl_from_json(const json_t *j, struct jl_val *out);
int jl_truthy(const struct jl_val *v);    /* json-logic-engine's engine.truthy() */
int jl_js_truthy(const struct jl_val *v); /* JavaScript's: every object is true */
int jl_is_object(const struct jl_val *v); /* array or object of any kind */
int jl_is_array(const struct jl_val *v);
size_t jl_arr_len(const struct jl_val *v);
void jl_arr_at(const struct jl_val *v, size_t i, struct jl_val *out);
/* JavaScript ToString; *s borrowed (arena or the value itself). */
int jl_tostr(struct jl_env *env, const struct jl_val *v, const char **s, size_t *len);
/* JavaScript ToNumber. */
int jl_tonum(struct jl_env *env, const struct jl_val *v, double *out);
double jl_str_tonum(const char *s, size_t len);
/* Number::toString (shortest round trip, JavaScript's exponent rules). */
size_t jl_fmt_num(double d, char out[32]);
int jl_strict_eq(const struct jl_val *a, const struct jl_val *b);
/* a OP b for the comparison operators as json-logic-engine compiles them:
 * b is first checked (compareCheck) against p, and *checked receives the
 * checked b (the left side of the next comparison of a chain). */
int jl_compare(struct jl_env *env, enum jl_op op, const struct jl_val *a, const struct jl_val *b,
               const struct jl_val *p, struct jl_val *checked, int *result);
/* JavaScript property access v[key] (key as a string): 1 and *out when
 * defined, 0 when undefined. */
int jl_get(struct jl_env *env, const struct jl_val *v, const char *key, size_t len,
           struct jl_val *out);
/* UTF-16 length of UTF-8 text, and the byte offset of UTF-16 index i. */
size_t jl_utf16_len(const char *s, size_t len);
size_t jl_utf16_offset(const char *s, size_t len, size_t i);
int jl_str_cmp16(const char *a, size_t alen, const char *b, size_t blen);
/* JavaScript's "a has no nested object" check of reduce (assertAllowedDepth 0). */
int jl_flat(const struct jl_val *v);

/* ---- custom operators ------------------------------------------------------- */

uint32_t jl_murmur3_32(const void *key, size_t len, uint32_t seed);
int jl_fractional(struct jl_env *env, const struct jl_val *data, const struct jl_val *args,
                  size_t n, struct jl_val *out);
int jl_sem_ver(struct jl_env *env, const struct jl_val *args, size_t n, struct jl_val *out);
/* 1 when 'v' parses as flagd-core's sem_ver accepts a version (literal check). */
int jl_semver_valid(struct jl_env *env, const struct jl_val *v);
int jl_semver_op_valid(const char *s, size_t len);

#endif /* CG_FLAGD_INT_H */
