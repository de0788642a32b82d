/* SPDX-License-Identifier: MIT */
/*
 * lib-internal.h - private to lib/: the client and result layouts and the
 * helpers the API files share. Never installed, never included outside
 * lib/ (the unit tests are the one exception: they include it to reach
 * the pure functions below).
 *
 * Layering: api.c / audit_verify.c build paths and bodies and call
 * cg__call(); cg__call() runs one HTTP exchange with cg__http() (http.c,
 * the only file that knows libcurl) and turns the answer into a struct
 * cg_result (result.c) or a struct cg_error (error.c).
 */
#ifndef CG_LIB_INTERNAL_H
#define CG_LIB_INTERNAL_H

#include <cellgate/cellgate.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "json.h"

/* Nesting limit for JSON answers (they embed contracts and plans). */
#define CG__MAX_DEPTH 128

/* Longest page cursor kept from an answer's next_after, with its NUL
 * (names are at most 63 bytes, numbers at most 20 digits). */
#define CG__CURSOR_MAX 128

/* The page size the follow-every-page list functions ask for (the
 * server's largest, docs/api/README.md "Paging"). */
#define CG__PAGE_ALL 1000

struct cg_client {
    char *server;        /* owned; base URL without trailing '/' */
    char *token;         /* owned, wiped on free; NULL = none */
    char *ca_file;       /* owned; NULL = the system's CAs */
    char *client_cert;   /* owned; NULL = none (then client_key is NULL too) */
    char *client_key;    /* owned */
    int allow_plain;     /* 1: plain http:// to any host */
    long timeout_ms;     /* whole request, > 0 */
    long connect_ms;     /* connect phase, > 0 */
    size_t max_response; /* bytes, > 0 */
    void *easy;          /* owned CURL * easy handle, reused for keep-alive */
};

struct cg_result {
    int http_status;
    char *body;                      /* owned, NUL-terminated; never NULL */
    size_t len;                      /* bytes in body, not counting the NUL */
    char content_type[128];          /* without parameters, lowercase */
    char etag[80];                   /* without quotes */
    json_t *json;                    /* owned reference; NULL unless JSON */
    const json_t *items;             /* borrowed from json: array or NULL */
    char next_after[CG__CURSOR_MAX]; /* the answer's next_after as text, "" = none */
};

/* One request. 'path' starts with '/' and is already escaped. */
struct cg__req {
    const char *method; /* "GET", "POST", "PUT", "DELETE" */
    const char *path;
    const void *body; /* borrowed for the call; NULL = no body */
    size_t body_len;
    const char *content_type; /* of the body; NULL = application/json */
    /* Optional per-request settings (zero = the client's defaults). */
    long timeout_ms;           /* whole request (long polls need more) */
    size_t max_response;       /* bytes; 0 = the client's limit */
    const char *if_none_match; /* ETag without quotes; NULL = none */
    int (*cancel)(void *ud);   /* polled during the transfer; non-zero aborts */
    void *cancel_ud;
    /* 1: over plain HTTP, send it on a connection of its own, closed after
     * it (blobs and contracts an agent fetches once per change). The
     * client's kept connection then carries only long-polls and reports,
     * which the server's long-poll front serves and parks in a few hundred
     * bytes; any other request would hand it to the full HTTP stack for
     * good (docs/agent.md). Under TLS (no front) it shares the kept one. */
    int oneshot;
};

/* One answer, as received. */
struct cg__resp {
    int status;
    struct cg_buf body; /* owned; max = the client's limit */
    char content_type[128];
    char etag[80];
    long long retry_after_ms; /* Retry-After in ms, -1 when absent */
};

/* Flags for cg__call(). */
enum cg__call_flags {
    CG__RAW = (1 << 0),            /* keep bytes as-is, do not parse JSON */
    CG__VIOLATIONS = (1 << 1),     /* on 422 contract_violation hand back a result */
    CG__NO_BODY = (1 << 2),        /* success answer has no body (204) */
    CG__ANY_VIOLATIONS = (1 << 3), /* on any error whose details hold "violations" (a 409
                                      live_violates_contract) hand back a result as
                                      CG__VIOLATIONS does */
};

/* Fills err (if not NULL) with code, http_status and a formatted message;
 * api_code is cleared. Returns 'code'. */
int cg__error_set(struct cg_error *err, int code, int http_status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Maps a non-2xx answer to a status code and fills err from the
 * {"error":{"code","message","details"}} body (any body is tolerated:
 * HTML from a proxy, nothing at all). details.errors, when present, is
 * appended to the message. Pure; unit-tested.
 */
int cg__error_from_http(int status, const char *body, size_t len, struct cg_error *err);

/* 1 when url is http:// and its host is not a loopback address
 * (127.0.0.0/8 as a dotted quad, [::1], "localhost"), else 0: such a
 * request is refused unless plain HTTP is allowed. Pure; unit-tested. */
int cg__plain_http_remote(const char *url);

/* Runs one HTTP exchange. On CG_OK, *rs holds the answer (any status);
 * the caller releases rs->body with cg_buf_free(). Transport failures are
 * mapped to CG_ERR_IO / TIMEOUT / PROTOCOL / NOMEM. */
int cg__http(struct cg_client *c, const struct cg__req *rq, struct cg__resp *rs,
             struct cg_error *err);

/* Builds a result from an answer, taking its body. 'items_key' names the
 * array exposed as items (NULL: none). For JSON (unless CG__RAW) the body
 * must be a JSON value, else CG_ERR_PROTOCOL. */
int cg__result_from_resp(struct cg__resp *rs, unsigned flags, const char *items_key,
                         struct cg_result **out, struct cg_error *err);

/* The whole call: cg__http(), then map the status; on 2xx build *out
 * (out may be NULL to discard the answer). See enum cg__call_flags. */
int cg__call(struct cg_client *c, const struct cg__req *rq, unsigned flags, const char *items_key,
             struct cg_result **out, struct cg_error *err);

/* ---- keyset paging (page.c) ---- */

/* Appends the paging query of one page to the path in b: "<sep>after=K"
 * (escaped; when after is neither NULL nor "") and "<sep>limit=N" (when
 * limit > 0); *sep becomes '&'. limit must be 0..1000 (CG_ERR_INVALID
 * otherwise). Frees b on failure. */
int cg__page_query(struct cg_buf *b, char *sep, const char *after, int limit, struct cg_error *err);

/* GETs one page: the path in b (taken: freed in every case) plus the
 * paging query; 'sep' is the separator the query starts with ('?', or '&'
 * when b already has one). */
int cg__get_page(struct cg_client *c, struct cg_buf *b, char sep, const char *after, int limit,
                 const char *items_key, struct cg_result **out, struct cg_error *err);

/* GETs a list following every page (CG__PAGE_ALL items each) and returns
 * them as one result: see cg__result_merge(). The path in b is taken
 * (freed in every case); 'sep' as for cg__get_page(). Fails with
 * CG_ERR_PROTOCOL when the pages together exceed the client's response
 * limit or the server's cursors do not advance. */
int cg__get_all(struct cg_client *c, struct cg_buf *b, char sep, const char *items_key,
                struct cg_result **out, struct cg_error *err);

/* Appends a later page to acc: every top-level array of page's object is
 * appended to the array of the same name in acc (the items, and e.g. the
 * status answer's "behind" and "failed"); other fields keep acc's values.
 * page is not changed (its elements are shared, reference-counted).
 * Returns CG_OK or CG_ERR_NOMEM. Pure; unit-tested. */
int cg__result_merge(struct cg_result *acc, const struct cg_result *page, struct cg_error *err);

/* Ends a merge of several pages: sets "next_after" to null and renders
 * acc's body again from its JSON (compact). Returns CG_OK or
 * CG_ERR_NOMEM. */
int cg__result_seal(struct cg_result *acc, struct cg_error *err);

/* Reads the answer's next_after (string or integer) into r->next_after;
 * CG_ERR_PROTOCOL when it is of another type or too long. */
int cg__result_cursor(struct cg_result *r, struct cg_error *err);

/* Appends 's' percent-encoded as one path segment or query value
 * (everything but [A-Za-z0-9._~-] is escaped). Returns 0 or -1. */
int cg__buf_escape(struct cg_buf *b, const char *s);

/* b = prefix + escaped(seg) + suffix; seg may be NULL. "." and ".." are
 * refused as segments (CG_ERR_INVALID: they would change the path). Frees
 * b on failure (CG_ERR_NOMEM). Returns CG_OK or the error. */
int cg__path3(struct cg_buf *b, const char *prefix, const char *seg, const char *suffix,
              struct cg_error *err);

/* Rejects NULL and empty required string arguments with CG_ERR_INVALID. */
int cg__need(const char *value, const char *what, struct cg_error *err);

/* ---- audit chain walk (audit_verify.c) ---- */

/* State carried from one page of records to the next. */
struct cg__audit_walk {
    int64_t records;    /* good records so far */
    int64_t last_seq;   /* 0 before the first record */
    char last_hash[65]; /* recomputed hash of the last good record */
    /* Optional (NULL after init): called for every good record, in order,
     * with its recomputed hash; a non-CG_OK return stops the walk with it.
     * cg_audit_verify_with() matches the checkpoints here. */
    int (*on_record)(void *ctx, int64_t seq, const char *hash, struct cg_audit_report *rep,
                     struct cg_error *err);
    void *ctx;
};

void cg__audit_walk_init(struct cg__audit_walk *w);

/* Checks one array of audit records (oldest first) against the walk so
 * far, advancing it. Returns CG_OK, or CG_ERR_VERIFY with rep->bad_seq and
 * rep->why set (and err). 'records' must be a JSON array. Pure. */
int cg__audit_walk_check(struct cg__audit_walk *w, const json_t *records,
                         struct cg_audit_report *rep, struct cg_error *err);

#endif /* CG_LIB_INTERNAL_H */
