/* SPDX-License-Identifier: MIT */
/*
 * flagd.h: the flagd flag-definition format (https://flagd.dev/reference/
 * flag-definitions/) and THE evaluator of cellgate's feature flags, shared
 * by the server (OFREP, kill switch, contract check at publish), the agent
 * (contract check on every host) and libcellgate (in-process evaluation).
 * docs/flags.md, "Format" and "Evaluation", is the long form of this
 * header.
 *
 * A flag-definition document is compiled once (flagd_compile): the
 * document is checked against flagd's schema rules, every "$ref" to a
 * top-level "$evaluators" entry is resolved, and every "targeting" rule is
 * parsed into a tree of JsonLogic operators. Every problem found is a
 * violation with a JSON Pointer into the document; nothing is left to be
 * discovered at evaluation time that can be known at compile time.
 *
 * The compiled set is immutable. Any number of threads may call
 * flagd_evaluate() on one set at the same time without locks; evaluation
 * allocates nothing except the result's metadata object (and, in rare
 * JsonLogic forms that build new arrays or strings such as "map", "merge"
 * or "cat", a small scratch value that is freed before returning).
 *
 * Semantics are flagd's, as implemented by its own in-process evaluator
 * (@openfeature/flagd-core); tests/flagd/ compares the two on random
 * contexts, and the few deliberate differences are listed in
 * tests/flagd/differences.md and docs/flags.md.
 */
#ifndef CG_FLAGD_FLAGD_H
#define CG_FLAGD_FLAGD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonschema.h" /* struct cg_violations */

/* A compiled flag set (one document): opaque, immutable after
 * flagd_compile(), evaluated concurrently without locks. */
struct flagd_set;

/* Why a value was chosen (OpenFeature / OFREP reason names). */
enum flagd_reason {
    FLAGD_REASON_STATIC,          /* no targeting: the defaultVariant */
    FLAGD_REASON_TARGETING_MATCH, /* targeting returned a variant */
    FLAGD_REASON_SPLIT,           /* targeting's "fractional" picked the variant */
    FLAGD_REASON_DEFAULT,         /* targeting returned nothing: the defaultVariant */
    FLAGD_REASON_DISABLED,        /* state DISABLED */
    FLAGD_REASON_ERROR,           /* see 'error' and 'message' */
};

/* Error codes (OpenFeature / OFREP error code names). */
enum flagd_error {
    FLAGD_OK = 0,
    FLAGD_FLAG_NOT_FOUND,        /* no such flag in the set */
    FLAGD_PARSE_ERROR,           /* the context or the document could not be read */
    FLAGD_TYPE_MISMATCH,         /* the value is not of the requested type */
    FLAGD_TARGETING_KEY_MISSING, /* a rule needs a targetingKey the context lacks */
    FLAGD_GENERAL,               /* anything else, e.g. targeting named an unknown variant */
};

/* Value types a caller may ask for. */
enum flagd_type {
    FLAGD_ANY = 0, /* no check */
    FLAGD_BOOLEAN,
    FLAGD_STRING,
    FLAGD_NUMBER, /* integer or real */
    FLAGD_OBJECT, /* JSON object or array (OpenFeature "structure") */
};

/* The outcome of one evaluation. Filled completely by flagd_evaluate(). */
struct flagd_result {
    const json_t *value; /* borrowed from the set (a variant's value), valid until
                          * flagd_free(); NULL when no variant was chosen: the
                          * caller's code default applies */
    const char *variant; /* borrowed from the set; NULL when none */
    enum flagd_reason reason;
    enum flagd_error error; /* FLAGD_OK unless reason is FLAGD_REASON_ERROR (or the
                             * flag is not found) */
    char message[256];      /* error detail, "" when none */
    json_t *metadata;       /* NEW reference: the flag set's metadata merged with the
                             * flag's (the flag's keys win); the caller json_decref()s
                             * it; NULL when both are empty, the flag is not found, or
                             * out of memory */
};

/**
 * Compiles a flagd flag-definition document.
 *
 * Checks the document against flagd's schema (https://flagd.dev/schema/v0/
 * flags.json: a "flags" object; each flag an object with "state" ENABLED
 * or DISABLED, a non-empty "variants" object whose values all have one
 * type, a "defaultVariant" that names one of them (or null/absent), an
 * optional "targeting" JsonLogic rule and "metadata" of strings, numbers
 * and booleans; top-level "$evaluators", "metadata" and "$schema") and
 * compiles every targeting rule: unknown operators, wrong argument counts,
 * a "$ref" to a missing evaluator (or a "$ref" cycle) and a literal
 * variant name that targeting can return but that is not a variant are
 * all violations.
 *
 * @param json  the document's JSON text (borrowed; need not be
 *              NUL-terminated)
 * @param len   its length in bytes
 * @param out   on success receives the set, freed with flagd_free();
 *              NULL on failure
 * @param errs  every problem is appended (caller-owned list): pointer =
 *              JSON Pointer into the document, rule = "flagd.json",
 *              "flagd.schema", "flagd.variant", "flagd.operator",
 *              "flagd.ref" or "flagd.targeting"; may be NULL
 * @return CG_OK; CG_ERR_VIOLATION (at least one appended to errs);
 *         CG_ERR_NOMEM; CG_ERR_INVALID (out NULL).
 *
 * Thread safety: may run concurrently with anything; touches no shared
 * state.
 */
int flagd_compile(const char *json, size_t len, struct flagd_set **out, struct cg_violations *errs);

/**
 * Compiles an already parsed document; as flagd_compile().
 *
 * @param doc  the document (borrowed: the set copies what it keeps, so the
 *             caller may drop its reference after return)
 */
int flagd_compile_json(const json_t *doc, struct flagd_set **out, struct cg_violations *errs);

/** Frees a set and everything borrowed from it. NULL is a no-op. */
void flagd_free(struct flagd_set *s);

/** @return the number of flags in the set (0 for NULL). */
size_t flagd_count(const struct flagd_set *s);

/**
 * @return the key of flag i (0 <= i < flagd_count()), the flags sorted by
 *         key (byte order); borrowed from the set; NULL when out of range.
 */
const char *flagd_key_at(const struct flagd_set *s, size_t i);

/**
 * Evaluates one flag.
 *
 * @param s        the set (borrowed); NULL behaves as an empty set
 * @param key      the flag key (borrowed)
 * @param context  the evaluation context, a JSON object (borrowed); NULL
 *                 is an empty context. Its "targetingKey" (a string) is
 *                 the key "fractional" hashes by default. The evaluator
 *                 adds "$flagd": {"flagKey", "timestamp"} for targeting
 *                 without changing the caller's object.
 * @param now_s    epoch seconds, the value of $flagd.timestamp
 * @param want     the type the caller expects; FLAGD_ANY checks nothing.
 *                 A value of another type gives FLAGD_TYPE_MISMATCH with
 *                 reason FLAGD_REASON_ERROR and value/variant NULL.
 * @param out      filled completely (caller-owned; its 'metadata' is a
 *                 new reference the caller releases)
 *
 * Results (docs/flags.md "Evaluation" has the full table): no targeting:
 * the defaultVariant, STATIC; targeting returns a variant name (or a
 * boolean, naming variant "true"/"false"): that variant, TARGETING_MATCH
 * (SPLIT when it came from "fractional"); targeting returns null or
 * nothing: the defaultVariant, DEFAULT; a defaultVariant that is null or
 * absent: value and variant NULL (the code default applies) with reason
 * DEFAULT (STATIC when there is no targeting); state DISABLED: value NULL,
 * reason DISABLED... exactly as @openfeature/flagd-core does; unknown key:
 * FLAGD_FLAG_NOT_FOUND.
 *
 * Never allocates on the common path except out->metadata; thread-safe.
 */
void flagd_evaluate(const struct flagd_set *s, const char *key, const json_t *context,
                    int64_t now_s, enum flagd_type want, struct flagd_result *out);

/** @return "STATIC", "TARGETING_MATCH", "SPLIT", "DEFAULT", "DISABLED",
 *          "ERROR"; "UNKNOWN" for a value outside the enum. Static strings. */
const char *flagd_reason_name(enum flagd_reason r);

/** @return "FLAG_NOT_FOUND", "PARSE_ERROR", "TYPE_MISMATCH",
 *          "TARGETING_KEY_MISSING", "GENERAL"; "" for FLAGD_OK. Static. */
const char *flagd_error_name(enum flagd_error e);

/** @return the flagd type of a JSON value: FLAGD_BOOLEAN, FLAGD_STRING,
 *          FLAGD_NUMBER (integer or real), FLAGD_OBJECT (object or array),
 *          FLAGD_ANY for null or NULL. */
enum flagd_type flagd_value_type(const json_t *v);

#endif /* CG_FLAGD_FLAGD_H */
