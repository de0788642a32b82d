/* SPDX-License-Identifier: MIT */
/*
 * promtext.h: Prometheus text exposition format (version 0.0.4) parser and
 * the queries the agent needs (docs/internals/promtext.md).
 *
 * The agent scrapes the host application's /metrics and maps series to
 * requests, errors, a latency histogram and characteristic metrics. The
 * input comes from another process, so the parser is bounded (struct
 * cg_prom_limits) and every problem is an error with a line number, never a
 * crash.
 *
 * Invariants of a parsed struct cg_prom_set:
 *  - it is immutable: every pointer it hands out (samples, families,
 *    labels, strings) stays valid and unchanged until cg_prom_set_free();
 *  - every sample belongs to exactly one family (declared by # TYPE/# HELP,
 *    or an implicit untyped family named like the sample);
 *  - no two samples have the same name and label set;
 *  - labels of a sample are sorted by name, label names are unique, label
 *    values and HELP texts are unescaped, valid UTF-8.
 *
 * Thread safety: parsing has no shared state. A set and a selector are
 * read-only after construction and may be queried from several threads at
 * once.
 */
#ifndef CG_PROMTEXT_H
#define CG_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

/* Metric family types of the text format. */
enum cg_prom_type {
    CG_PROM_UNTYPED = 0,
    CG_PROM_COUNTER = 1,
    CG_PROM_GAUGE = 2,
    CG_PROM_HISTOGRAM = 3,
    CG_PROM_SUMMARY = 4,
};

/* Bounds applied while parsing. Fill with cg_prom_limits_default() and
 * adjust; a 0 field means "use the default". */
struct cg_prom_limits {
    size_t max_bytes;     /* whole input; default 8 MiB */
    size_t max_series;    /* samples (and families); default 50000 */
    size_t max_labels;    /* labels per sample; default 64, at most 1024 */
    size_t max_name_len;  /* metric and label names; default 256 */
    size_t max_value_len; /* one label value after unescaping; default 4096 */
};

/* Kind of parse failure. */
enum cg_prom_fail {
    CG_PROM_OK = 0,
    CG_PROM_SYNTAX = 1, /* not valid exposition format */
    CG_PROM_LIMIT = 2,  /* valid so far, but a limit was exceeded */
    CG_PROM_NOMEM = 3,
};

/* Where and why cg_prom_parse() failed. Caller-owned. */
struct cg_prom_error {
    enum cg_prom_fail kind;
    size_t line;       /* 1-based line number; 0 if not about one line */
    size_t column;     /* 1-based byte column; 0 if unknown */
    char message[192]; /* NUL-terminated */
};

struct cg_prom_label {
    const char *name;  /* borrowed from the set */
    const char *value; /* unescaped, borrowed from the set */
};

struct cg_prom_family {
    const char *name;       /* family name, e.g. "http_request_duration_seconds" */
    enum cg_prom_type type; /* CG_PROM_UNTYPED when no # TYPE line */
    const char *help;       /* unescaped HELP text, or NULL */
    size_t nsamples;        /* samples of this family in the set */
};

struct cg_prom_sample {
    const char *name;                    /* as written, e.g. "x_bucket" */
    const struct cg_prom_family *family; /* never NULL */
    const struct cg_prom_label *labels;  /* sorted by name */
    size_t nlabels;
    double value;         /* may be NaN or +-Inf */
    int64_t timestamp_ms; /* valid when has_timestamp */
    int has_timestamp;
    size_t line; /* 1-based line in the input */
};

/* Parsed exposition. Opaque; see the invariants above. */
struct cg_prom_set;

/* A metric name plus label matchers, e.g. http_requests_total{code=~"5.."}.
 * Opaque; immutable once built. */
struct cg_prom_selector;

enum cg_prom_match_op {
    CG_PROM_EQ = 0,  /* =  */
    CG_PROM_NE = 1,  /* != */
    CG_PROM_RE = 2,  /* =~ anchored full match (PCRE2, dot matches newline) */
    CG_PROM_NRE = 3, /* !~ */
};

/* A merged histogram: cumulative counts per upper bound. */
struct cg_prom_hist {
    double *upper;      /* owned; ascending bucket upper bounds, last +Inf */
    double *cumulative; /* owned; cumulative count per bound, same length */
    size_t nbuckets;
    double sum;     /* sum of matching <name>_sum samples (0 if none) */
    double count;   /* sum of matching <name>_count samples, else +Inf bucket */
    size_t nseries; /* label sets merged (sum by le) */
};

/* Fills 'l' with the defaults listed in struct cg_prom_limits. */
void cg_prom_limits_default(struct cg_prom_limits *l);

/**
 * Parses 'len' bytes of text exposition format.
 *
 * Lines end in "\n"; a "\r" right before it is ignored (CRLF tolerated) and
 * the last line may lack its "\n". NUL bytes are rejected.
 *
 * @param buf  input bytes (borrowed; copied as needed, may be freed after)
 * @param len  number of bytes
 * @param lim  limits, or NULL for the defaults
 * @param out  on success a new set, free with cg_prom_set_free(); NULL on
 *             failure
 * @param err  optional; kind, line, column and message on failure
 * @return CG_OK; CG_ERR_INVALID (syntax or limit, see err->kind);
 *         CG_ERR_NOMEM.
 * Thread safety: safe.
 */
int cg_prom_parse(const char *buf, size_t len, const struct cg_prom_limits *lim,
                  struct cg_prom_set **out, struct cg_prom_error *err);

/* Frees a set and everything it handed out. NULL is a no-op. */
void cg_prom_set_free(struct cg_prom_set *s);

/* Number of samples / families. */
size_t cg_prom_set_nsamples(const struct cg_prom_set *s);
size_t cg_prom_set_nfamilies(const struct cg_prom_set *s);

/* The i-th sample / family in input order (i < count), borrowed from the
 * set. NULL when i is out of range. */
const struct cg_prom_sample *cg_prom_set_sample(const struct cg_prom_set *s, size_t i);
const struct cg_prom_family *cg_prom_set_family(const struct cg_prom_set *s, size_t i);

/* Family by exact name (borrowed), or NULL. */
const struct cg_prom_family *cg_prom_set_find_family(const struct cg_prom_set *s, const char *name);

/* Value of label 'name' of a sample (borrowed), or NULL when absent. */
const char *cg_prom_sample_label(const struct cg_prom_sample *smp, const char *name);

/* "counter", "gauge", "histogram", "summary", "untyped"; static string. */
const char *cg_prom_type_name(enum cg_prom_type t);

/**
 * Parses a selector: [metric_name] ["{" matcher ("," matcher)* [","] "}"]
 * where matcher is label_name ("=" | "!=" | "=~" | "!~") string and string
 * is "..." or '...' (escapes \\ \" \' \n \t \r) or `...` (raw). Needs a
 * metric name or at least one matcher; "__name__" matches the sample name.
 * Regexes are compiled here, so a bad regex is reported at load time.
 *
 * @param spec  NUL-terminated text (copied)
 * @param out   on success a new selector, free with cg_prom_selector_free()
 * @param msg   optional buffer (msglen bytes) for the reason on failure
 * @return CG_OK; CG_ERR_INVALID; CG_ERR_NOMEM.
 */
int cg_prom_selector_parse(const char *spec, struct cg_prom_selector **out, char *msg,
                           size_t msglen);

/**
 * Builds a selector in code. 'metric' may be NULL (match any name).
 * Returns CG_OK, CG_ERR_INVALID (bad name) or CG_ERR_NOMEM.
 */
int cg_prom_selector_new(const char *metric, struct cg_prom_selector **out);

/**
 * Adds one matcher (label and value are copied). Returns CG_OK,
 * CG_ERR_INVALID (bad label name, bad regex: reason in msg, or more than 32
 * matchers) or CG_ERR_NOMEM. Not thread-safe with concurrent queries on
 * the same selector.
 */
int cg_prom_selector_add(struct cg_prom_selector *sel, const char *label, enum cg_prom_match_op op,
                         const char *value, char *msg, size_t msglen);

/* Frees a selector. NULL is a no-op. */
void cg_prom_selector_free(struct cg_prom_selector *sel);

/* Metric name of the selector (borrowed), or NULL if it has none. */
const char *cg_prom_selector_metric(const struct cg_prom_selector *sel);

/**
 * Tests one sample against the name and all matchers. A label the sample
 * lacks has the value "" (so {x=""} matches samples without x).
 * @return 1 match, 0 no match, CG_ERR_INVALID if a regex hit its match limit,
 *         CG_ERR_NOMEM.
 */
int cg_prom_selector_matches(const struct cg_prom_selector *sel, const struct cg_prom_sample *smp);

/**
 * Sums the values of every sample that matches 'sel'.
 *
 * @param sum       receives the sum (0 when nothing matched; NaN samples
 *                  make it NaN, as in Prometheus)
 * @param nmatched  optional; receives the number of matching samples
 * @return CG_OK (also when nothing matched); CG_ERR_INVALID (regex limit);
 *         CG_ERR_NOMEM.
 */
int cg_prom_sum(const struct cg_prom_set *s, const struct cg_prom_selector *sel, double *sum,
                size_t *nmatched);

/**
 * Extracts the histogram named by the selector's metric (the base name,
 * without _bucket) from <name>_bucket, <name>_sum and <name>_count samples
 * whose labels (other than "le") match the selector, summed by "le" across
 * the matching label sets. Works with and without a # TYPE line.
 *
 * Every merged series must have the same bucket bounds, a "+Inf" bucket
 * and non-decreasing cumulative counts.
 *
 * @param out  on success filled (caller releases with cg_prom_hist_release());
 *             zeroed on failure
 * @param msg  optional buffer for the reason on failure
 * @return CG_OK; CG_ERR_NOTFOUND (no matching bucket); CG_ERR_INVALID (no
 *         metric name, a matcher on "le", inconsistent buckets, bad "le");
 *         CG_ERR_NOMEM.
 */
int cg_prom_histogram(const struct cg_prom_set *s, const struct cg_prom_selector *sel,
                      struct cg_prom_hist *out, char *msg, size_t msglen);

/* Frees the arrays of 'h' and zeroes it. Safe on a zeroed struct. */
void cg_prom_hist_release(struct cg_prom_hist *h);

/**
 * Increase of a counter between two scrapes, with reset detection: when
 * 'cur' < 'prev' the counter restarted and the increase is 'cur'. A
 * non-finite or negative 'cur' gives 0; a non-finite 'prev' counts as a
 * reset. Pure function.
 */
double cg_prom_counter_delta(double prev, double cur);

/**
 * Per-bucket increase between two scrapes of the same histogram. When the
 * bounds differ, or any bucket or the count decreased, the histogram was
 * reset and 'out' is a copy of 'cur' (*reset = 1). The sum's increase is
 * taken as is (it may be negative when observations are).
 *
 * @param out    receives a new histogram; release with cg_prom_hist_release()
 * @param reset  optional; 1 when a reset was detected, else 0
 * @return CG_OK or CG_ERR_NOMEM.
 */
int cg_prom_hist_delta(const struct cg_prom_hist *prev, const struct cg_prom_hist *cur,
                       struct cg_prom_hist *out, int *reset);

#endif /* CG_PROMTEXT_H */
