/* SPDX-License-Identifier: MIT */
/*
 * promsrc.h - a plan's health source in a central Prometheus: the parsed
 * "source": {"prometheus": ...} of a plan, placeholder substitution, the
 * /api/v1/query request and the parsing of its answer.
 *
 * Pure: no I/O, no threads, no clock, no global state. The queries are run
 * by promsrc_worker.h (its own thread, libcurl) and their results turned
 * into gate inputs by controller_source.c; the user-facing contract is
 * docs/plans.md "Health from Prometheus".
 *
 * Invariants of a struct promsrc returned by promsrc_parse():
 * - url is http:// or https://, without credentials, query or fragment,
 *   and without a trailing '/';
 * - queries are sorted by name, names are unique, every text is non-empty,
 *   at most PROMSRC_QUERY_MAX bytes, uses only the known placeholders and
 *   names $cell or $hosts at least once;
 * - it is immutable once returned: any number of threads may read it.
 */
#ifndef CG_SERVER_PROMSRC_H
#define CG_SERVER_PROMSRC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct plan;

/* Limits of a source (plan validation). */
#define PROMSRC_URL_MAX       512           /* bytes of "url" */
#define PROMSRC_QUERY_MAX     4096          /* bytes of one query as written */
#define PROMSRC_MAX_QUERIES   68            /* 4 fixed names + PLAN_MAX_METRICS */
#define PROMSRC_METRIC_MAX    47            /* a metric query's name (struct health_agg) */
#define PROMSRC_TIMEOUT_MAX_S 60            /* "timeout_s": 1..60 */
#define PROMSRC_TIMEOUT_DEF_S 5             /* its default */
#define PROMSRC_EXPANDED_MAX  (256 * 1024)  /* a query after substitution */
#define PROMSRC_RESPONSE_MAX  (1024 * 1024) /* bytes of an answer read */
#define PROMSRC_MSG_MAX       192           /* a query's error message */

/* The fixed query names; any other name is a characteristic metric. */
#define PROMSRC_Q_REQUESTS "requests"
#define PROMSRC_Q_ERRORS   "errors"
#define PROMSRC_Q_P50      "latency_p50_ms"
#define PROMSRC_Q_P99      "latency_p99_ms"

/* One query of a source. */
struct promsrc_query {
    char *name; /* owned: "requests", "errors", "latency_p50_ms", "latency_p99_ms"
                   or a metric name */
    char *text; /* owned: PromQL with placeholders */
};

/* A plan's Prometheus source. */
struct promsrc {
    char *url; /* owned; no trailing '/' */
    int64_t timeout_s;
    struct promsrc_query *queries; /* owned; sorted by name */
    size_t n_queries;
};

/*
 * Reports one problem of a "source" object: 'pointer' is relative to the
 * "source" member ("" for the object itself, "/prometheus/url", ...; keys
 * escaped as RFC 6901 wants), 'msg' one sentence.
 */
typedef void (*promsrc_err_fn)(void *ctx, const char *pointer, const char *msg);

/**
 * Validates a plan's "source" member and builds its parsed form.
 *
 * @param v     the value of "source" (borrowed)
 * @param out   on success receives a new source (promsrc_free()); NULL on
 *              failure
 * @param err   called once per problem found (every problem is reported)
 * @param ctx   passed to err
 * @return CG_OK, CG_ERR_INVALID (problems reported), CG_ERR_NOMEM.
 *
 * Thread safety: safe.
 */
int promsrc_parse(const json_t *v, struct promsrc **out, promsrc_err_fn err, void *ctx);

/**
 * Checks that the queries of 'src' fit the gates of plan 'p' (the plan-wide
 * ones and every wave's): "requests" is always needed; "errors" exactly
 * when some error_rate gate is set; each latency query exactly when its
 * gate is set somewhere; a metric query exactly when a metric gate of that
 * name exists. Problems are reported through err with pointers relative to
 * "source" (the missing or unused query).
 *
 * @return the number of problems reported (0: consistent).
 */
size_t promsrc_check_gates(const struct promsrc *src, const struct plan *p, promsrc_err_fn err,
                           void *ctx);

/** Frees a source. promsrc_free(NULL) is a no-op. */
void promsrc_free(struct promsrc *src);

/**
 * The normalized "source" member: {"prometheus": {"url", "queries": {...},
 * "timeout_s"}} (new reference; NULL when out of memory).
 */
json_t *promsrc_to_json(const struct promsrc *src);

/** The query named 'name' of src, or NULL. */
const struct promsrc_query *promsrc_query_find(const struct promsrc *src, const char *name);

/* What the placeholders of one side stand for (all borrowed). */
struct promsrc_vars {
    const char *const *cells; /* the side's cell ids -> $cell */
    size_t n_cells;
    const int64_t *versions; /* each cell's version -> $version (distinct values
                                > 0, ascending, joined by '|'; "0" when none) */
    size_t n_versions;
    const char *const *hosts; /* the side's hosts -> $hosts; NULL: the side is
                                 whole cells and $hosts is ".+" */
    size_t n_hosts;
    int64_t window_ms; /* -> $window: whole seconds, rounded up, at least 1 ("600s") */
};

/**
 * Substitutes the placeholders of one query for one side into 'out'
 * (appended to; the caller resets it). $cell and $hosts become regex
 * alternations whose members are regex-escaped and then escaped for a
 * double-quoted PromQL string (so "a.b" becomes a\\.b); $version and
 * $window are plain. A '$' not followed by a placeholder name is copied.
 *
 * @return 0, or -1 with msg (PROMSRC_MSG_MAX bytes) set: an unknown
 *         placeholder, a side without cells, or an expansion longer than
 *         PROMSRC_EXPANDED_MAX bytes (or out of memory).
 */
int promsrc_expand(const char *text, const struct promsrc_vars *vars, struct cg_buf *out,
                   char *msg);

/**
 * The form body of a POST to <url>/api/v1/query:
 * "query=<urlencoded>&time=<epoch s with ms>&timeout=<N>s", appended to 'out'.
 *
 * @return 0, or -1 when out of memory.
 */
int promsrc_request_body(const char *query, int64_t time_ms, int64_t timeout_s, struct cg_buf *out);

/**
 * Parses an answer of /api/v1/query into one finite number.
 *
 * Accepted: HTTP 2xx with {"status":"success","data":{"resultType":
 * "vector","result":[one sample]}} or resultType "scalar". Everything else
 * is an error with a message that says why: the HTTP status with
 * Prometheus' errorType and error when the body has them, "empty result
 * (no series matched)", "N series (aggregate the query to one, e.g. with
 * sum())", a value that is NaN or infinite, a matrix or string result,
 * malformed JSON, an answer larger than PROMSRC_RESPONSE_MAX.
 *
 * @param http_status  the status of the answer
 * @param body, len    its bytes (borrowed; need not be NUL-terminated)
 * @param value        receives the number on success
 * @param msg          PROMSRC_MSG_MAX bytes; the error on failure
 * @return 0, or -1 (msg set).
 */
int promsrc_parse_response(long http_status, const char *body, size_t len, double *value,
                           char *msg);

#endif /* CG_SERVER_PROMSRC_H */
