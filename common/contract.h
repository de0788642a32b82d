/* SPDX-License-Identifier: MIT */
/*
 * contract.h: the contract engine (docs/design.md "Contract",
 * docs/contracts.md), shared by the server (checked at publish) and the
 * agent (checked again before apply).
 *
 * A contract is parsed and validated once (cg_contract_parse) into an
 * immutable object that any number of threads may share for reading. A
 * document is prepared once (cg_doc_new: parsed, growth facts counted) and
 * may be kept as the "live" side of later checks. A check returns every
 * violation it finds, never only the first (up to CG_VIOLATIONS_MAX, then
 * the list is marked truncated).
 *
 * Rule names in violations (docs/contracts.md has the full list):
 *   max_bytes, json, max_depth, schema:<keyword> (schema:false,
 *   schema:depth, schema:budget), cardinality.min, cardinality.max, cardinality.type,
 *   growth.max_ratio, growth.max_abs, preserve; with "format": "flagd" also
 *   flagd.json, flagd.schema, flagd.variant, flagd.operator, flagd.ref,
 *   flagd.targeting (common/flagd/flagd.h).
 * Rule names in contract parse errors:
 *   contract.json, contract.type, contract.unknown_field, contract.missing,
 *   contract.value, contract.pointer, contract.not_json, schema.invalid.
 *
 * Bad input (not JSON, too deep, too large) is a violation, never a crash.
 */
#ifndef CG_CONTRACT_H
#define CG_CONTRACT_H

#include <jansson.h>
#include <stddef.h>

#include "jsonschema.h" /* struct cg_violation(s), cg_violations_free/_to_json */

#define CG_CONTRACT_MAX_TEXT      (1024 * 1024) /* largest contract text accepted */
#define CG_CONTRACT_DEFAULT_DEPTH 64            /* default max_depth */
#define CG_CONTRACT_MAX_DEPTH     512           /* largest max_depth accepted */
#define CG_CONTRACT_PARSE_FACTOR  4             /* docs up to 4 x max_bytes are still parsed */

/* A parsed contract: opaque, immutable, thread-safe to share for reading. */
struct cg_contract;

/* A document prepared for checking against one contract. Immutable once
 * made; may be cached (e.g. as the live version) and shared for reading. */
struct cg_doc;

/**
 * Parses and validates a contract document.
 *
 * @param text    contract JSON text (borrowed; need not be NUL-terminated)
 * @param len     length of 'text' in bytes (at most CG_CONTRACT_MAX_TEXT)
 * @param out     on success receives the new contract, freed with
 *                cg_contract_free(); NULL on failure
 * @param errors  optional; on CG_ERR_INVALID receives one entry per
 *                problem found (every one, not only the first), with the
 *                JSON Pointer of the offending field in the contract
 * @return CG_OK, CG_ERR_INVALID (errors filled), CG_ERR_NOMEM.
 */
int cg_contract_parse(const char *text, size_t len, struct cg_contract **out,
                      struct cg_violations *errors);

/** Frees a contract. NULL is a no-op. Every cg_doc made with it must be
 * freed first (or at least never used again). */
void cg_contract_free(struct cg_contract *c);

/**
 * @return the contract's media type as written (default
 *         "application/json"), borrowed from 'c' (valid until
 *         cg_contract_free()).
 */
const char *cg_contract_media_type(const struct cg_contract *c);

/** @return the contract's document format ("flagd": every document is
 *          also compiled as a flagd flag-definition document, its problems
 *          appended as violations), or NULL when it names none. Static. */
const char *cg_contract_format(const struct cg_contract *c);

/** @return 1 when the media type is parsed as JSON (application/json,
 *          text/json, any "+json" suffix), 0 for opaque bytes. */
int cg_contract_is_json(const struct cg_contract *c);

/** @return max_bytes (0 = no limit). */
size_t cg_contract_max_bytes(const struct cg_contract *c);

/**
 * Prepares a document: parses it (JSON media types) with the contract's
 * depth limit and counts the items at every growth pointer, so it can be
 * checked, or serve as the live side of checks, many times.
 *
 * @param c      contract (borrowed; must outlive the document)
 * @param bytes  document bytes (copied as needed; may be freed after
 *               return); may be NULL when len is 0
 * @param len    length in bytes
 * @param out    receives the new document, freed with cg_doc_free(); NULL
 *               on failure
 * @return CG_OK, also when the bytes are not valid JSON, too deep or too
 *         large (that becomes a violation at check time); CG_ERR_NOMEM;
 *         CG_ERR_INVALID when c or out is NULL.
 */
int cg_doc_new(const struct cg_contract *c, const void *bytes, size_t len, struct cg_doc **out);

/** Frees a document. NULL is a no-op. */
void cg_doc_free(struct cg_doc *d);

/** @return the document's size in bytes. */
size_t cg_doc_size(const struct cg_doc *d);

/** @return the parsed document, borrowed from 'd' (valid until
 *          cg_doc_free()), or NULL when it is opaque, not valid JSON, too
 *          deep or was too large to parse. */
const struct cg_jdoc *cg_doc_parsed(const struct cg_doc *d);

/**
 * Checks a prepared document against its contract.
 *
 * @param c     contract (borrowed)
 * @param doc   the candidate document (borrowed), made with cg_doc_new(c)
 * @param live  the live version (borrowed) for growth and preserve, made
 *              with cg_doc_new(c); NULL when there is none (those rules are
 *              then skipped)
 * @param out   every violation found is appended (caller-owned list)
 * @return CG_OK (no violation), CG_ERR_VIOLATION (at least one appended),
 *         CG_ERR_NOMEM, CG_ERR_INVALID (NULL argument).
 *
 * Thread safety: concurrent checks may share c, doc and live.
 */
int cg_contract_check_doc(const struct cg_contract *c, const struct cg_doc *doc,
                          const struct cg_doc *live, struct cg_violations *out);

/**
 * One-shot form of cg_doc_new() + cg_contract_check_doc().
 *
 * @param bytes, len           the candidate document (borrowed)
 * @param live, live_len       the live version (borrowed); live NULL = none
 * @param out                  every violation found is appended
 * @return as cg_contract_check_doc().
 */
int cg_contract_check(const struct cg_contract *c, const void *bytes, size_t len, const void *live,
                      size_t live_len, struct cg_violations *out);

#endif /* CG_CONTRACT_H */
