/* SPDX-License-Identifier: MIT */
/*
 * cellgate.h - the public interface of libcellgate, the cellgated client.
 *
 * This is the only installed header. The cellgate CLI and the agent use
 * nothing else from the library. The HTTP contract it speaks is
 * docs/api/README.md; field names used with the cg_obj_* getters below are
 * exactly the JSON field names documented there.
 *
 * Conventions (see docs/libcellgate/README.md for the narrative):
 *
 *  - Every function that can fail returns an int status (enum cg_status):
 *    0 on success, a negative CG_ERR_* otherwise. Its last parameter is an
 *    optional struct cg_error * (may be NULL) that receives the details.
 *  - Objects returned through an out-parameter are owned by the caller and
 *    freed with the matching *_free(). Out-parameters are set to NULL on
 *    failure, so cleanup paths can always call *_free() (which accepts
 *    NULL). The one documented exception is cg_config_publish(), which also
 *    hands back the violations on CG_ERR_VIOLATION.
 *  - Pointers returned by getters (const char *, const struct cg_obj *) are
 *    borrowed from the object they came from and stay valid until that
 *    object is freed. Never free them.
 *  - Strings allocated for the caller (cg_*_dup_*) are freed with cg_free().
 *  - Input strings and buffers are copied or used only during the call;
 *    they may be freed as soon as the function returns.
 *  - Thread safety: a struct cg_client may be used by one thread at a time;
 *    different clients are independent. Results are immutable and may be
 *    read from several threads at once.
 */
#ifndef CELLGATE_H
#define CELLGATE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define CG_API __declspec(dllexport)
#elif defined(__GNUC__)
#define CG_API __attribute__((visibility("default")))
#else
#define CG_API
#endif

/* ------------------------------------------------------------------ */
/* Version                                                             */
/* ------------------------------------------------------------------ */

#define CG_VERSION_MAJOR 0
#define CG_VERSION_MINOR 2
#define CG_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH; compare with cg_version_num(). */
#define CG_VERSION_NUM    (CG_VERSION_MAJOR * 10000 + CG_VERSION_MINOR * 100 + CG_VERSION_PATCH)
#define CG_VERSION_STRING "0.2.0"

/**
 * The version of the library actually linked, e.g. "0.2.0".
 *
 * @return a static string; never NULL.
 * Thread safety: safe from any thread. Since: 0.1
 */
CG_API const char *cg_version(void);

/**
 * The linked library's CG_VERSION_NUM.
 * Thread safety: safe from any thread. Since: 0.1
 */
CG_API int cg_version_num(void);

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* Status codes. 0 is success, errors are negative. The values are ABI and
 * identical to common/status.h (which guards its macros with #ifndef CG_OK,
 * so include this header first): append new codes, never renumber. */
enum cg_status {
    CG_OK = 0,
    CG_ERR_NOMEM = -1,      /* allocation failed */
    CG_ERR_INVALID = -2,    /* bad argument (caller bug) or server said 400 */
    CG_ERR_IO = -3,         /* could not connect, send or receive */
    CG_ERR_PROTOCOL = -4,   /* the server sent something we cannot parse */
    CG_ERR_HTTP = -5,       /* any other non-2xx answer (details in error) */
    CG_ERR_NOTFOUND = -6,   /* 404: no such object */
    CG_ERR_CONFLICT = -7,   /* 409: exists, compare-and-set failed, referenced */
    CG_ERR_AUTH = -8,       /* 401: missing, unknown, revoked or expired token */
    CG_ERR_VIOLATION = -9,  /* 422 contract_violation: document breaks its contract */
    CG_ERR_FORBIDDEN = -10, /* 403: the token's role or config scope does not allow it */
    CG_ERR_TIMEOUT = -11,   /* the request did not finish within the timeout */
    CG_ERR_VERIFY = -12,    /* a client-side check failed (e.g. audit chain) */
};

#define CG_ERRMSG_MAX  256
#define CG_APICODE_MAX 32

/* Details of a failure. Caller-owned, usually on the stack; the library
 * never allocates it and never keeps a pointer to it. On success the
 * library leaves it untouched. */
struct cg_error {
    int code;                      /* the value the function returned */
    int http_status;               /* 0 if no HTTP answer was received */
    char api_code[CG_APICODE_MAX]; /* server's error.code ("conflict"...), or "" */
    char message[CG_ERRMSG_MAX];   /* NUL-terminated, never empty on failure */
};

/**
 * A static description of a status code ("not found", ...).
 *
 * @return never NULL, also for unknown codes; never allocates.
 * Thread safety: safe from any thread. Since: 0.1
 */
CG_API const char *cg_strerror(int code);

/**
 * Frees memory the library allocated for the caller (cg_*_dup_*). NULL is
 * a no-op. Thread safety: safe from any thread. Since: 0.1
 */
CG_API void cg_free(void *p);

/* ------------------------------------------------------------------ */
/* Process-wide setup                                                  */
/* ------------------------------------------------------------------ */

/**
 * Initialises the HTTP stack (libcurl's curl_global_init) for the whole
 * process. Call it once, from main(), before any thread creates a client,
 * and pair it with cg_library_cleanup() at exit. The library has no hidden
 * global state of its own; this exists only because libcurl's global init
 * is process-wide. If you skip it, libcurl initialises itself lazily in
 * cg_client_new(), which is only safe while a single thread is running.
 *
 * @param err  optional; filled on failure
 * @return CG_OK or CG_ERR_IO.
 * Thread safety: not thread-safe; call before starting threads. Since: 0.1
 */
CG_API int cg_library_init(struct cg_error *err);

/**
 * Undoes cg_library_init(). Call once, after every client was freed.
 * Thread safety: not thread-safe. Since: 0.1
 */
CG_API void cg_library_cleanup(void);

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

struct cg_client; /* opaque: server URL, token, limits, one connection */

#define CG_DEFAULT_SERVER       "http://127.0.0.1:7070"
#define CG_DEFAULT_TIMEOUT_MS   30000               /* whole request */
#define CG_DEFAULT_CONNECT_MS   5000                /* TCP + TLS handshake */
#define CG_DEFAULT_MAX_RESPONSE (64u * 1024 * 1024) /* bytes */

/**
 * Creates a client for one server.
 *
 * @param server_url  "http://host:port" or "https://...", optionally with a
 *                    path prefix; NULL means CG_DEFAULT_SERVER (copied)
 * @param out         on success receives a new client; free it with
 *                    cg_client_free(). Set to NULL on failure.
 * @param err         optional; filled on failure
 * @return CG_OK, CG_ERR_INVALID (not an http(s) URL), CG_ERR_NOMEM.
 *
 * Every request made with the client has a timeout (CG_DEFAULT_TIMEOUT_MS
 * unless changed) and a response size limit (CG_DEFAULT_MAX_RESPONSE).
 * Redirects are never followed. Thread safety: see the file comment.
 * Since: 0.1
 */
CG_API int cg_client_new(const char *server_url, struct cg_client **out, struct cg_error *err);

/**
 * Frees a client and wipes its token from memory. NULL is a no-op.
 * Since: 0.1
 */
CG_API void cg_client_free(struct cg_client *c);

/**
 * Sets the bearer token sent with every /v1/ request (copied). NULL or ""
 * removes it.
 *
 * @return CG_OK, CG_ERR_INVALID (contains control characters), CG_ERR_NOMEM.
 * Since: 0.1
 */
CG_API int cg_client_set_token(struct cg_client *c, const char *token, struct cg_error *err);

/**
 * Sets the timeout for a whole request in milliseconds (> 0).
 * @return CG_OK or CG_ERR_INVALID. Since: 0.1
 */
CG_API int cg_client_set_timeout_ms(struct cg_client *c, long timeout_ms);

/**
 * Sets the connect timeout in milliseconds (> 0).
 * @return CG_OK or CG_ERR_INVALID. Since: 0.1
 */
CG_API int cg_client_set_connect_timeout_ms(struct cg_client *c, long timeout_ms);

/**
 * Sets the largest response body accepted, in bytes (> 0). A larger
 * response fails with CG_ERR_PROTOCOL and is not kept.
 * @return CG_OK or CG_ERR_INVALID. Since: 0.1
 */
CG_API int cg_client_set_max_response(struct cg_client *c, size_t max_bytes);

/**
 * The server URL the client talks to, without a trailing slash.
 * @return borrowed from c; valid until c is freed. Since: 0.1
 */
CG_API const char *cg_client_server(const struct cg_client *c);

/*
 * Transport security (docs/libcellgate/README.md, "TLS"). An https://
 * server's certificate is always verified (chain and name; TLS 1.2 or
 * newer); there is no switch to turn that off. Plain http:// is for this
 * host only: a request to an http:// URL whose host is not a loopback
 * address (127.0.0.0/8, [::1], "localhost") is refused before anything
 * is sent (CG_ERR_INVALID), unless cg_client_set_allow_plain_http() says
 * so: the token and every answer would cross the network in clear. The
 * URL's host decides, not where a proxy or name lookup would lead.
 */

/**
 * Trusts only the CA certificates in this PEM file for https:// servers,
 * instead of the system's (a private CA). NULL or "" goes back to the
 * system's CAs. The path is copied; the file is read at each connection.
 *
 * @return CG_OK, CG_ERR_INVALID (the file cannot be read now),
 *         CG_ERR_NOMEM. Since: 0.5
 */
CG_API int cg_client_set_ca_file(struct cg_client *c, const char *path, struct cg_error *err);

/**
 * Presents this client certificate to https:// servers that ask for one
 * (mutual TLS: an agent's credential, docs/agent.md). cert_file holds the
 * PEM certificate, then its chain; key_file its PEM private key without a
 * passphrase, which other users must not be able to access (like ssh:
 * mode 0600, or 0640 with a group of its own). Both NULL: none. Paths are
 * copied; the files are read at each connection.
 *
 * @return CG_OK, CG_ERR_INVALID (one given without the other, a file that
 *         cannot be read, a key file others may access), CG_ERR_NOMEM.
 *         Since: 0.5
 */
CG_API int cg_client_set_client_cert(struct cg_client *c, const char *cert_file,
                                     const char *key_file, struct cg_error *err);

/**
 * Allows (allow != 0) or refuses again (0, the default) plain http:// to
 * a host that is not a loopback address; see "Transport security" above.
 * @return CG_OK or CG_ERR_INVALID (c is NULL). Since: 0.5
 */
CG_API int cg_client_set_allow_plain_http(struct cg_client *c, int allow);

/**
 * Checks the client's transport settings as every request does before it
 * connects: plain http:// to a host that is not this one (unless allowed).
 * Programs call it once at start to fail early with a clear message.
 *
 * @return CG_OK or CG_ERR_INVALID (err says why). Since: 0.5
 */
CG_API int cg_client_check(const struct cg_client *c, struct cg_error *err);

/* ------------------------------------------------------------------ */
/* Results: one decoded response                                       */
/* ------------------------------------------------------------------ */

/*
 * struct cg_result is one answer from the server: the raw body bytes as
 * received, plus (for JSON answers) the parsed document. Every accessor
 * returns data borrowed from the result, valid until cg_result_free().
 *
 * struct cg_obj is a borrowed view of one JSON object inside a result
 * (a cell, a version, a violation, ...). Read its fields with cg_obj_*()
 * using the field names of docs/api/README.md. Getters never fail: a
 * missing field or a field of another type gives the documented default,
 * so new server fields never break old clients.
 *
 * "Items" are the array a list-like answer carries:
 *   cg_cells_list     -> "cells"     cg_configs_list -> "configs"
 *   cg_versions_list  -> "versions"  cg_plans_list   -> "plans"
 *   cg_tokens_list    -> "tokens"    cg_audit_list   -> "records"
 *   cg_config_validate and a failed cg_config_publish -> the violations
 * (and the same for the cg_*_page variants). For other answers the item
 * count is 0.
 *
 * Paging (docs/api/README.md, "Paging"). The server answers every list in
 * keyset pages: at most 'limit' items (1..1000) after a cursor, the sort
 * key of the last item of the previous page, plus "next_after", that key
 * when more items follow (null when the page is the last). The library
 * offers two ways to read a list:
 *   - cg_X_list(): every item. It asks for pages of 1000 items, follows
 *     next_after until the last page and returns ONE result holding all
 *     items, as if the server had sent them at once: its items are every
 *     page's items in order, every other top-level array is concatenated
 *     too (cg_config_status: "behind", "failed"), other fields come from
 *     the first page, and its "next_after" is null. When there was more
 *     than one page, cg_result_body() is that merged document rendered
 *     by the library (compact JSON), not bytes the server sent. The pages
 *     together may not exceed the client's response limit
 *     (cg_client_set_max_response(); CG_ERR_PROTOCOL otherwise: read such
 *     a list page by page). Pages are read one after another, not in one
 *     snapshot: an item created or removed meanwhile may be missed or,
 *     for lists newest-first, not yet seen.
 *   - cg_X_page(): one page, for callers that stream or stop early. Pass
 *     after = NULL or "" for the first page, then the previous page's
 *     cg_result_next_after() until it returns "".
 * cg_versions_list() and cg_audit_list() have always been one page; they
 * take their numeric cursor as an integer (see each).
 */
struct cg_result;
struct cg_obj;

/**
 * Frees a result and everything borrowed from it. NULL is a no-op.
 * Since: 0.1
 */
CG_API void cg_result_free(struct cg_result *r);

/**
 * The body exactly as received (useful for --json output and raw bytes).
 *
 * @param len  optional; receives the length in bytes
 * @return borrowed; NUL-terminated for convenience (the bytes may also
 *         contain NULs, so use *len for binary data); never NULL.
 * Since: 0.1
 */
CG_API const char *cg_result_body(const struct cg_result *r, size_t *len);

/** The HTTP status of the answer (200, 201, 422, ...). Since: 0.1 */
CG_API int cg_result_http_status(const struct cg_result *r);

/**
 * The Content-Type of the answer without parameters, or "" if none.
 * @return borrowed from r. Since: 0.1
 */
CG_API const char *cg_result_content_type(const struct cg_result *r);

/**
 * The ETag of the answer without quotes (the sha256 for raw bytes and
 * blobs), or "" if none.
 * @return borrowed from r. Since: 0.1
 */
CG_API const char *cg_result_etag(const struct cg_result *r);

/**
 * The cursor of the next page of a list answer: its "next_after" as text
 * (a name, or a number in decimal), to pass as 'after' to the cg_*_page()
 * call that continues the list (or, as an integer, as 'before' to
 * cg_versions_list() and 'after' to cg_audit_list()).
 *
 * @return borrowed from r; "" when the answer has no further page (its
 *         next_after is null or missing), for answers that are not lists,
 *         for results that merged every page, and for r == NULL. For the
 *         audit log it is never "": the log has no last page, an empty
 *         page means you have read all of it for now.
 * Since: 0.3
 */
CG_API const char *cg_result_next_after(const struct cg_result *r);

/**
 * The top-level JSON object of the answer (the cell, the config, the
 * version, the validation report, the audit page, ...).
 *
 * @return borrowed from r; NULL when the answer was not a JSON object
 *         (raw document bytes, blobs).
 * Since: 0.1
 */
CG_API const struct cg_obj *cg_result_obj(const struct cg_result *r);

/** The number of items (see above); 0 if there are none. Since: 0.1 */
CG_API size_t cg_result_count(const struct cg_result *r);

/**
 * Item i (0-based) of the answer.
 * @return borrowed from r; NULL if i >= cg_result_count(r) or the item is
 *         not an object.
 * Since: 0.1
 */
CG_API const struct cg_obj *cg_result_item(const struct cg_result *r, size_t i);

/**
 * A string field.
 * @return borrowed; "" when the field is missing, null or not a string.
 * Since: 0.1
 */
CG_API const char *cg_obj_str(const struct cg_obj *o, const char *field);

/**
 * An integer field (integral reals are accepted).
 * @return the value, or 'def' when missing, null or not an integer.
 * Since: 0.1
 */
CG_API int64_t cg_obj_int(const struct cg_obj *o, const char *field, int64_t def);

/**
 * A boolean field.
 * @return 1 or 0, or 'def' when missing, null or not a boolean.
 * Since: 0.1
 */
CG_API int cg_obj_bool(const struct cg_obj *o, const char *field, int def);

/**
 * A number field (integer or real), e.g. the rates and latencies of the
 * health views.
 * @return the value, or 'def' when missing, null or not a number (pass
 *         NAN to tell "no figure" apart). Since: 0.6
 */
CG_API double cg_obj_num(const struct cg_obj *o, const char *field, double def);

/**
 * Whether the field is present with a non-null value. Since: 0.1
 */
CG_API int cg_obj_has(const struct cg_obj *o, const char *field);

/**
 * A nested object ("labels", "contract", "plan", "details", ...).
 * @return borrowed from the same result; NULL if missing or not an object.
 * Since: 0.1
 */
CG_API const struct cg_obj *cg_obj_child(const struct cg_obj *o, const char *field);

/**
 * The length of an array field; 0 when missing or not an array.
 * Since: 0.1
 */
CG_API size_t cg_obj_array_size(const struct cg_obj *o, const char *field);

/**
 * Element i of an array field, when that element is an object.
 * @return borrowed from the same result; NULL if out of range or not an
 *         object. Since: 0.1
 */
CG_API const struct cg_obj *cg_obj_array_get(const struct cg_obj *o, const char *field, size_t i);

/** The number of fields of the object. Since: 0.1 */
CG_API size_t cg_obj_size(const struct cg_obj *o);

/**
 * The name of field i, in the order the server sent them (O(i)).
 * @return borrowed; NULL if i >= cg_obj_size(o). Since: 0.1
 */
CG_API const char *cg_obj_key(const struct cg_obj *o, size_t i);

/**
 * Any field rendered as text into a caller buffer: strings as-is (no
 * quotes), numbers, booleans and null as JSON, objects and arrays as
 * compact JSON with sorted keys. A missing field gives "". Truncated to
 * size-1 bytes.
 *
 * @param buf   caller-owned, at least 1 byte
 * @return buf. Since: 0.1
 */
CG_API const char *cg_obj_text(const struct cg_obj *o, const char *field, char *buf, size_t size);

enum cg_dump_flags {
    CG_DUMP_PRETTY = (1 << 0), /* two-space indentation, one field a line */
    CG_DUMP_SORTED = (1 << 1), /* object keys in byte order */
};

/**
 * Serialises a field (field == NULL: the whole object) as JSON.
 *
 * @param flags  enum cg_dump_flags
 * @return a new string the caller frees with cg_free(); NULL when the
 *         field is missing or memory ran out.
 * Since: 0.1
 */
CG_API char *cg_obj_dup_json(const struct cg_obj *o, const char *field, unsigned flags);

/* ------------------------------------------------------------------ */
/* API calls                                                           */
/* ------------------------------------------------------------------ */

/*
 * Common contract of every function in this section:
 *
 *  @param c    the client (borrowed; used by one thread at a time)
 *  @param out  on success receives a new result the caller frees with
 *              cg_result_free(); set to NULL on failure
 *  @param err  optional; filled on failure. For answers of the server,
 *              err->http_status, err->api_code and err->message come from
 *              the {"error":{"code","message","details"}} body.
 *  @return CG_OK, or:
 *     CG_ERR_INVALID    bad argument (checked before sending), or 400
 *     CG_ERR_AUTH       401        CG_ERR_FORBIDDEN  403
 *     CG_ERR_NOTFOUND   404        CG_ERR_CONFLICT   409
 *     CG_ERR_VIOLATION  422 contract_violation
 *     CG_ERR_HTTP       any other non-2xx (413, 415, 422 invalid, 5xx, ...)
 *     CG_ERR_IO         connection failed     CG_ERR_TIMEOUT  timed out
 *     CG_ERR_PROTOCOL   unparsable or oversized answer
 *     CG_ERR_NOMEM
 *  Names (cell ids, config, plan and token names) are sent URL-escaped.
 *  Since: 0.1
 */

/** GET /healthz: liveness. The result object is {"status":"ok"}. */
CG_API int cg_health(struct cg_client *c, struct cg_result **out, struct cg_error *err);

/** GET /readyz: readiness; CG_ERR_HTTP (503) when the server is not ready. */
CG_API int cg_ready(struct cg_client *c, struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/cluster: the result object is {"replica","leader","term","lease",
 * "replicas","this"} (docs/api/cluster.md): the live replicas of the
 * server's store, the holder of the controller's leader lease and its term.
 */
CG_API int cg_cluster_status(struct cg_client *c, struct cg_result **out, struct cg_error *err);

/** GET /v1/whoami: the result object is {"name","role","cell"}. */
CG_API int cg_whoami(struct cg_client *c, struct cg_result **out, struct cg_error *err);

/**
 * POST /v1/cells: adds a cell. The result object is the new cell.
 *
 * @param id, region, zone   required strings
 * @param label_keys, label_values  'nlabels' parallel strings (may be NULL
 *                           when nlabels is 0); sent as "labels"
 */
CG_API int cg_cell_add(struct cg_client *c, const char *id, const char *region, const char *zone,
                       const char *const *label_keys, const char *const *label_values,
                       size_t nlabels, struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/cells, every page: items are all cells, ordered by id (see
 * "Paging" above).
 */
CG_API int cg_cells_list(struct cg_client *c, struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/cells?after=&limit=: one page of cells, ordered by id.
 *
 * @param after  cell id the page starts after; NULL or "" = the first page;
 *               normally the previous page's cg_result_next_after()
 *               (copied into the request; may be freed after the call)
 * @param limit  1..1000; 0 = the server's default (1000). Other values:
 *               CG_ERR_INVALID before anything is sent.
 * @param out    on CG_OK the page; cg_result_next_after() says where the
 *               next one starts ("" = this was the last)
 * @return as the API calls section; CG_ERR_INVALID also when the server
 *         rejects the cursor (400).
 * Since: 0.3
 */
CG_API int cg_cells_page(struct cg_client *c, const char *after, int limit, struct cg_result **out,
                         struct cg_error *err);

/** GET /v1/cells/{id}: the result object is the cell. */
CG_API int cg_cell_get(struct cg_client *c, const char *id, struct cg_result **out,
                       struct cg_error *err);

/**
 * PATCH /v1/cells/{id}: replaces the cell's labels with these (docs/cells.md).
 * The result object is the cell, with "changed" (false when the labels
 * were already these). Admin.
 *
 * @param label_keys, label_values  'nlabels' parallel strings (NULL when
 *                   nlabels is 0: the cell then has no label)
 * @param message    the reason, recorded in the audit record (may be NULL)
 * Since: 0.4
 */
CG_API int cg_cell_set_labels(struct cg_client *c, const char *id, const char *const *label_keys,
                              const char *const *label_values, size_t nlabels, const char *message,
                              struct cg_result **out, struct cg_error *err);

/**
 * PATCH /v1/cells/{id} {"drained": drained}: a drained cell takes no new
 * version and is in no wave; undraining (drained 0) returns it to its
 * configs' fleets. Result as cg_cell_set_labels(). Admin.
 * Since: 0.4
 */
CG_API int cg_cell_drain(struct cg_client *c, const char *id, int drained, const char *message,
                         struct cg_result **out, struct cg_error *err);

/**
 * DELETE /v1/cells/{id}: removes a drained cell. CG_ERR_CONFLICT (409)
 * while anything refers to it: the error message names each (an open
 * rollout, a config scope, reporting hosts, agent tokens). The result
 * object is {"id","removed":true}. Admin.
 * Since: 0.4
 */
CG_API int cg_cell_remove(struct cg_client *c, const char *id, const char *message,
                          struct cg_result **out, struct cg_error *err);

/**
 * POST /v1/configs: creates a config. The result object is the config.
 *
 * @param kind           "config", "flags" or "artifact"
 * @param contract_json  the contract document as JSON text, 'contract_len'
 *                       bytes; it is parsed locally (CG_ERR_INVALID with
 *                       the line and column when it is not JSON)
 * @param plan           default plan name, or NULL / "" for none
 */
CG_API int cg_config_create(struct cg_client *c, const char *name, const char *kind,
                            const char *contract_json, size_t contract_len, const char *plan,
                            struct cg_result **out, struct cg_error *err);

/** GET /v1/configs, every page: items are all configs, ordered by name. */
CG_API int cg_configs_list(struct cg_client *c, struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/configs?after=&limit=: one page of configs ordered by name;
 * 'after' is a config name. Parameters and result as cg_cells_page().
 * Since: 0.3
 */
CG_API int cg_configs_page(struct cg_client *c, const char *after, int limit,
                           struct cg_result **out, struct cg_error *err);

/** GET /v1/configs/{name}: the config, with its contract. */
CG_API int cg_config_get(struct cg_client *c, const char *name, struct cg_result **out,
                         struct cg_error *err);

/**
 * PUT /v1/configs/{name}/scope: the cells the config goes to
 * (docs/cells.md "Config scope"): a selector
 * {"regions":[],"zones":[],"cells":[],"labels":{}}; NULL, "", "null" or
 * "{}" = every cell (DELETE). The result object is the scope view
 * {"config","scope","cells":[in scope, not drained],"outside":[cells
 * outside that still have it assigned]}. Admin.
 * Since: 0.4
 */
CG_API int cg_config_set_scope(struct cg_client *c, const char *name, const char *scope_json,
                               const char *message, struct cg_result **out, struct cg_error *err);

/** GET /v1/configs/{name}/scope: the scope view of cg_config_set_scope(). Since: 0.4 */
CG_API int cg_config_scope(struct cg_client *c, const char *name, struct cg_result **out,
                           struct cg_error *err);

/** PUT /v1/configs/{name}/plan: sets the default plan; result is the config. */
CG_API int cg_config_set_plan(struct cg_client *c, const char *name, const char *plan,
                              struct cg_result **out, struct cg_error *err);

/**
 * PUT /v1/configs/{name}/contract: replaces the config's contract with a
 * new contract version (docs/contracts.md "Contract versions"). The server
 * validates the contract as at create, then checks the live version
 * against it; a live version that violates it is refused (CG_ERR_HTTP,
 * http status 409, api_code "live_violates_contract", the violations in
 * the error body's details) unless 'force' with a non-empty 'message'.
 * The same contract again records nothing ("changed": false).
 *
 * @param contract_json, len  the contract document, a JSON object (parsed
 *                            here: CG_ERR_INVALID when it is not one)
 * @param force               1: store it even when the live version breaks
 *                            it (needs 'message')
 * @param message             why (audited with "config.contract"); may be
 *                            NULL unless force
 * @param out                 on CG_OK the result object
 *                            {"config","contract_version","previous_version",
 *                            "live_version","changed","forced","violations"};
 *                            on the 409 refusal a result whose items are
 *                            ALL the live version's violations and whose
 *                            object is the error body (free it in both
 *                            cases); otherwise NULL
 * @return CG_OK, CG_ERR_INVALID, or the codes of the API calls section.
 * Thread safety: as for the client. Since: 0.1 (issue 17)
 */
CG_API int cg_config_set_contract(struct cg_client *c, const char *name, const char *contract_json,
                                  size_t len, int force, const char *message,
                                  struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/configs/{name}/contracts: every contract version of the config,
 * oldest first. Items ("contracts") are {"config","number","created_at",
 * "actor","reason","forced","sha256"}. Since: 0.1 (issue 17)
 */
CG_API int cg_config_contracts(struct cg_client *c, const char *name, struct cg_result **out,
                               struct cg_error *err);

/**
 * GET /v1/configs/{name}/contracts/{n}: one contract version with its
 * document in "contract". CG_ERR_INVALID for n < 1. Since: 0.1 (issue 17)
 */
CG_API int cg_config_contract_get(struct cg_client *c, const char *name, int64_t n,
                                  struct cg_result **out, struct cg_error *err);

/**
 * POST /v1/configs/{name}/validate: dry run. Returns CG_OK whenever the
 * server answered 200, valid or not: the result object is
 * {"valid","violations","live_version","base_version","size","sha256",
 * "contract_version"} ("live_version": docs/contracts.md "Live version";
 * "base_version": the version it was compared with) and the items are
 * the violations ({"pointer","rule","expected","actual","message"}).
 *
 * @param doc, len     the document bytes (copied into the request)
 * @param media_type   Content-Type to send; NULL means "application/json"
 */
CG_API int cg_config_validate(struct cg_client *c, const char *name, const void *doc, size_t len,
                              const char *media_type, struct cg_result **out, struct cg_error *err);

/**
 * POST /v1/configs/{name}/versions: publishes a new version.
 *
 * @param doc, len     the document bytes
 * @param media_type   Content-Type to send; NULL means "application/json"
 * @param message      the version message, or NULL
 * @param out          on CG_OK: the new version's metadata. On
 *                     CG_ERR_VIOLATION (nothing was stored): a result
 *                     whose items are ALL the violations and whose object
 *                     is the error body. Otherwise NULL. Free it with
 *                     cg_result_free() in both cases.
 */
CG_API int cg_config_publish(struct cg_client *c, const char *name, const void *doc, size_t len,
                             const char *media_type, const char *message, struct cg_result **out,
                             struct cg_error *err);

/** cg_config_publish_flags(): publish bytes identical to the live or the
 * latest version anyway (the server refuses them by default). */
#define CG_PUBLISH_ALLOW_IDENTICAL 0x1u

/**
 * POST /v1/configs/{name}/versions with flags: cg_config_publish() plus
 * 'flags', a bitwise OR of CG_PUBLISH_* (0 = cg_config_publish()).
 *
 * Without CG_PUBLISH_ALLOW_IDENTICAL a document whose sha256 equals the
 * live or the latest version's is refused: CG_ERR_CONFLICT, the error
 * code "identical" and a message naming the version ("identical to
 * version N"); nothing is stored or audited.
 *
 * @return as cg_config_publish(); CG_ERR_INVALID for an unknown flag.
 * Thread safety: as for the client. Since: 0.1 (issue 17)
 */
CG_API int cg_config_publish_flags(struct cg_client *c, const char *name, const void *doc,
                                   size_t len, const char *media_type, const char *message,
                                   unsigned flags, struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/configs/{name}/versions: ONE page of versions, newest first
 * (this function does not follow pages).
 *
 * @param before  only versions numbered below this; 0 = from the newest.
 *                To read the next page pass the number of the last
 *                version of this one: cg_result_next_after() as an
 *                integer ("" = there is no next page).
 * @param limit   at most this many, 1..1000; 0 = the server's default (100)
 */
CG_API int cg_versions_list(struct cg_client *c, const char *name, int64_t before, int limit,
                            struct cg_result **out, struct cg_error *err);

/** GET /v1/configs/{name}/versions/{n}: the version metadata. */
CG_API int cg_version_get(struct cg_client *c, const char *name, int64_t n, struct cg_result **out,
                          struct cg_error *err);

/**
 * GET /v1/configs/{name}/versions/{n}/raw: the document bytes. Read them
 * with cg_result_body(); cg_result_content_type() is the media type and
 * cg_result_etag() the sha256. The library checks that the bytes hash to
 * the ETag when one is sent (CG_ERR_VERIFY otherwise).
 */
CG_API int cg_version_raw(struct cg_client *c, const char *name, int64_t n, struct cg_result **out,
                          struct cg_error *err);

/** DELETE /v1/configs/{name}/versions/{n}: soft delete (CG_ERR_CONFLICT
 * when the version is still referenced). */
CG_API int cg_version_delete(struct cg_client *c, const char *name, int64_t n,
                             struct cg_error *err);

/**
 * GET /v1/blobs/{sha256}: immutable bytes by content address. The library
 * checks that the bytes hash to 'sha256' (CG_ERR_VERIFY otherwise).
 *
 * @param sha256  64 lowercase hex characters (CG_ERR_INVALID otherwise)
 */
CG_API int cg_blob_get(struct cg_client *c, const char *sha256, struct cg_result **out,
                       struct cg_error *err);

/**
 * PUT /v1/plans/{name}: creates or replaces a plan. The result object is
 * the plan; cg_result_http_status() is 201 when it was new, else 200. A
 * plan the server rejects gives CG_ERR_HTTP with api_code "invalid".
 *
 * @param plan_json, len  the plan document (sent as-is)
 */
CG_API int cg_plan_put(struct cg_client *c, const char *name, const char *plan_json, size_t len,
                       struct cg_result **out, struct cg_error *err);

/** GET /v1/plans, every page: items are all plans, ordered by name. */
CG_API int cg_plans_list(struct cg_client *c, struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/plans?after=&limit=: one page of plans ordered by name; 'after'
 * is a plan name. Parameters and result as cg_cells_page().
 * Since: 0.3
 */
CG_API int cg_plans_page(struct cg_client *c, const char *after, int limit, struct cg_result **out,
                         struct cg_error *err);

/**
 * PUT /v1/configs/{name}/policy: sets the config's rollout policy (admin;
 * docs/policies.md). The result object is {"config", "policy" (normalized),
 * "document", "valid", "updated_by", "updated_at"}. A policy the server
 * rejects gives CG_ERR_HTTP with api_code "invalid" and the problems.
 *
 * @param policy_json, len  the policy document (sent as-is)
 * @param message           the audit reason, NULL or "" for none
 * Thread safety: as for the client. Since: 0.4
 */
CG_API int cg_policy_set(struct cg_client *c, const char *config, const char *policy_json,
                         size_t len, const char *message, struct cg_result **out,
                         struct cg_error *err);

/** GET /v1/configs/{name}/policy: the policy ("policy": null when none).
 * Since: 0.4 */
CG_API int cg_policy_get(struct cg_client *c, const char *config, struct cg_result **out,
                         struct cg_error *err);

/** DELETE /v1/configs/{name}/policy: removes the policy (admin; audited
 * with 'message'). Since: 0.4 */
CG_API int cg_policy_clear(struct cg_client *c, const char *config, const char *message,
                           struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/configs/{config}/flags: the flags of a flags config as cell
 * 'cell' has them (its assigned version), or version 'version' (> 0), or
 * the live version (cell NULL and version 0). The object has "config",
 * "version", "cell" and "flags": items {"key","state","defaultVariant",
 * "variants","targeting"} (docs/api/flags.md). Since: 0.4
 */
CG_API int cg_flags_list(struct cg_client *c, const char *config, const char *cell, int64_t version,
                         struct cg_result **out, struct cg_error *err);

/** GET /v1/configs/{config}/flags/{flag}: one flag's definition ("flag"),
 * chosen as for cg_flags_list(). Since: 0.4 */
CG_API int cg_flag_get(struct cg_client *c, const char *config, const char *flag, const char *cell,
                       int64_t version, struct cg_result **out, struct cg_error *err);

/**
 * POST /v1/configs/{config}/flags/{flag}/evaluate?cell=C: the flag for an
 * evaluation context (JSON object text, NULL = {}) as cell 'cell's hosts
 * evaluate it: {"value","variant","reason","version","generation",
 * "error"?,"message"?,"metadata"?}. Since: 0.4
 */
CG_API int cg_flag_eval(struct cg_client *c, const char *config, const char *flag, const char *cell,
                        const char *context_json, struct cg_result **out, struct cg_error *err);

/**
 * POST /v1/configs/{config}/flags/{flag}/kill (kill = 1) or .../unkill
 * (kill = 0), with the audited 'reason' (required). A kill publishes the
 * live version with the flag disabled and sends it to every cell at once;
 * an unkill starts a rollout with the config's plan. The object has
 * "base_version", "version", "rollout" and "aborted_rollout" (docs/flags.md,
 * "Kill switch"). Since: 0.4
 */
CG_API int cg_flag_switch(struct cg_client *c, const char *config, const char *flag, int kill,
                          const char *reason, struct cg_result **out, struct cg_error *err);

/** GET /v1/plans/{name}: the plan. */
CG_API int cg_plan_get(struct cg_client *c, const char *name, struct cg_result **out,
                       struct cg_error *err);

/**
 * GET /v1/plans/{name}/versions: every version of the plan, oldest first
 * (docs/plans.md "Plan versions"). Items ("versions") are {"name",
 * "number","created_at","actor","sha256","plan"}. Since: 0.1 (issue 17)
 */
CG_API int cg_plan_versions(struct cg_client *c, const char *name, struct cg_result **out,
                            struct cg_error *err);

/**
 * POST /v1/tokens: creates a token. The result object is
 * {"id","name","role","cell","token"}; "token" is the secret and is shown
 * only in this answer.
 *
 * @param role  "reader", "approver", "deployer", "admin" or "agent"
 * @param cell  the cell an agent token is bound to, or NULL
 */
CG_API int cg_token_create(struct cg_client *c, const char *name, const char *role,
                           const char *cell, struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/tokens, every page: items are all tokens (revoked ones too,
 * without secrets), ordered by id.
 */
CG_API int cg_tokens_list(struct cg_client *c, struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/tokens?after=&limit=: one page of tokens ordered by id; 'after'
 * is a token id in decimal. Parameters and result as cg_cells_page().
 * Since: 0.3
 */
CG_API int cg_tokens_page(struct cg_client *c, const char *after, int limit, struct cg_result **out,
                          struct cg_error *err);

/** DELETE /v1/tokens/{id}: revokes a token. */
CG_API int cg_token_revoke(struct cg_client *c, const char *id, struct cg_error *err);

/**
 * POST /v1/tokens with a lifetime and a config scope: as cg_token_create(),
 * and the result object also has "expires_at" (null when it never
 * expires), "expires_ms" and "configs".
 *
 * @param ttl_s     lifetime in seconds, 1..316224000; 0 = none (a server
 *                  started with --token-max-ttl then gives deployer,
 *                  approver and reader tokens its maximum)
 * @param configs   the configs a deployer or approver token may act on
 *                  (strings copied); NULL = every config
 * @param nconfigs  their number, 1..16 when configs is set
 * @return CG_OK, CG_ERR_INVALID (a bad argument, or the server's 400),
 *         or the server's refusal as for cg_token_create().
 *
 * Thread safety: as for the client. Since: 0.5
 */
CG_API int cg_token_create_with(struct cg_client *c, const char *name, const char *role,
                                const char *cell, int64_t ttl_s, const char *const *configs,
                                size_t nconfigs, struct cg_result **out, struct cg_error *err);

/**
 * POST /v1/tokens/{id}/rotate: issues a successor of token 'id' (the same
 * name, role, cell, config scope and lifetime) and retires the old one
 * after a grace period. The result object is the successor, with its
 * secret in "token" (shown only in this answer), and "rotated":
 * {"id","expires_at","expires_ms"}, when the old token stops working.
 * Admin tokens may rotate any token; others only the token they call with.
 *
 * @param id       the token's id in decimal
 * @param grace_s  seconds the old token keeps working (0 = it stops now;
 *                 at most 2592000)
 * @return CG_OK, CG_ERR_FORBIDDEN (not the caller's own token),
 *         CG_ERR_NOTFOUND, CG_ERR_CONFLICT (revoked, expired or rotated
 *         already), CG_ERR_INVALID.
 *
 * Thread safety: as for the client. Since: 0.5
 */
CG_API int cg_token_rotate(struct cg_client *c, const char *id, int64_t grace_s,
                           struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/audit: one page of audit records, oldest first. The result
 * object is {"records","next_after"}; the items are the records. Unlike
 * the other lists, next_after is always a number: the seq of the last
 * record returned, or 'after' when none was.
 *
 * @param after  only records with seq > after (0 = from the first)
 * @param limit  1..1000, 0 = the server's default (100)
 */
CG_API int cg_audit_list(struct cg_client *c, int64_t after, int limit, struct cg_result **out,
                         struct cg_error *err);

/* Filters of cg_audit_page() (docs/api/audit.md). Zero it; every field is
 * optional (NULL or 0: no filter). Strings are used only during the call. */
struct cg_audit_filter {
    const char *config; /* records about this config: its object, or a summary naming it */
    const char *actor;  /* records by this actor, exactly ("token:ci", "system") */
    int64_t from_ms;    /* records at or after this time (epoch ms) */
    int64_t to_ms;      /* records before this time (epoch ms) */
};

/**
 * GET /v1/audit?config=&actor=&from=&to=: one page of the audit records
 * that pass a filter, oldest first. The server reads a bounded part of the
 * log per request, so a page may hold fewer than 'limit' records (even
 * none) while more follow: the result object is {"records","next_after",
 * "more"}; continue with after = next_after (the seq of the last record
 * the server READ) while "more" is true. With a NULL or empty filter this
 * is cg_audit_list() (no "more").
 *
 * @param f      the filter, NULL for none
 * @param after  only records with seq > after (0 = from the first)
 * @param limit  1..1000, 0 = the server's default (100)
 * @return CG_OK; CG_ERR_INVALID (after or a time below 0, limit out of
 *         range, or the server's 400 for a bad filter), the usual
 *         transport errors.
 * Thread safety: as for the client. Since: 0.7
 */
CG_API int cg_audit_page(struct cg_client *c, const struct cg_audit_filter *f, int64_t after,
                         int limit, struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/audit/checkpoints: one page of the server's signed audit
 * checkpoints ({"seq","hash","time","time_ms","key_id","signature"}),
 * oldest first by seq. The items are the checkpoints; the object also has
 * "latest", the newest checkpoint the server holds outside its database
 * (or null), and "next_after" (null on the last page). The signatures are
 * NOT verified here (cg_audit_verify_with() does it).
 *
 * @param after  only checkpoints with seq > after (0 = from the first)
 * @param limit  1..1000, 0 = the server's default (100)
 * Thread safety: as for the client. Since: 0.4
 */
CG_API int cg_audit_checkpoints_page(struct cg_client *c, int64_t after, int limit,
                                     struct cg_result **out, struct cg_error *err);

/* Filters of cg_changes_page() (docs/correlation.md). Zero it; every
 * field is optional (NULL or 0: no filter). */
struct cg_changes_filter {
    const char *config; /* one config */
    const char *cell;   /* changes that assigned this cell */
    const char *host;   /* changes that reached this host (its cell, or it by name) */
    int64_t from_ms;    /* changes at or after this time (epoch ms) */
    int64_t to_ms;      /* changes at or before this time (epoch ms) */
};

/**
 * GET /v1/changes: one page of assignment changes (publish, manual
 * assign, rollout steps, canary hosts, rollbacks, kill switches), oldest
 * first, with who, why, the cells (and hosts) and which hosts applied
 * them. The items are the changes; the result's next_after is "" on the
 * last page. A page may hold fewer than 'limit' changes (even none) while
 * next_after is not "": the server reads a bounded part of the audit log
 * per request; follow next_after until it is "".
 *
 * @param f      the filters, NULL for none
 * @param after  the previous page's next_after (an audit seq), 0 = from
 *               the start (or from f->from_ms)
 * @param limit  1..1000, 0 = the server's default (100)
 * Thread safety: as for the client. Since: 0.6
 */
CG_API int cg_changes_page(struct cg_client *c, const struct cg_changes_filter *f, int64_t after,
                           int limit, struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/state: the cells, plans, configs (versions, assignments per cell
 * and per host, generations) and open rollouts as they were at a time,
 * rebuilt by the server from its audit log (docs/api/state.md). The result
 * object is the whole answer; its items are the configs.
 *
 * @param at_ms   the time (epoch ms), 0 = now
 * @param config  one config, NULL for every config the caller may see
 * Thread safety: as for the client. Since: 0.6
 */
CG_API int cg_state(struct cg_client *c, int64_t at_ms, const char *config, struct cg_result **out,
                    struct cg_error *err);

/**
 * GET /v1/stats/delivery: the delivery statistics (deployment frequency,
 * lead time, change failure rate, time to detect and restore, waits on
 * approvals and deny windows, blast radius) of one config or of every
 * config the caller may see, over 'window'. The result object is the
 * answer of docs/api/changes.md; its items are the per-config figures.
 *
 * @param config  one config, NULL for the fleet
 * @param window  a duration such as "30d", "12h", NULL = 30 days
 * Thread safety: as for the client. Since: 0.6
 */
CG_API int cg_stats_delivery(struct cg_client *c, const char *config, const char *window,
                             struct cg_result **out, struct cg_error *err);

/* What cg_correlate() asks (docs/correlation.md "Ranking"). Zero it and
 * set exactly one of cell, host and hosts. Strings are borrowed for the
 * call. */
struct cg_correlate_query {
    const char *cell;         /* the faulty cell */
    const char *host;         /* one faulty host */
    const char *const *hosts; /* faulty hosts (1..1000) */
    size_t nhosts;
    int64_t at_ms;      /* when the fault is observed (epoch ms); 0 = now */
    const char *window; /* how far before it to look: "30m", "2h" (1m..7d); NULL = 1 hour */
    const char *metric; /* "errors" (NULL: the same) */
};

/**
 * POST /v1/correlate: which changes could explain a fault at a time on
 * some hosts, ranked. The server finds when the hosts' error rate
 * stepped up (from its per-host health history), never blames a change
 * that reached them after that, and scores the others on overlap, decay,
 * a difference in differences against hosts that did not run them, and
 * breadth. The result object is the answer of docs/api/changes.md
 * ("Correlate"): read "verdict" ("change" or "none"), "blamed" (the top
 * blamed change or null), "onset" and the "candidates" array
 * (cg_obj_array_get()) with each one's "score", "blamed", "vetoed",
 * "change" and "reasons".
 *
 * @return CG_OK; CG_ERR_INVALID for a query that does not name exactly
 *         one of cell, host, hosts (before any request), CG_ERR_HTTP with
 *         the server's 400 for bad input, and the usual transport errors.
 * Thread safety: as for the client. Since: 0.7
 */
CG_API int cg_correlate(struct cg_client *c, const struct cg_correlate_query *q,
                        struct cg_result **out, struct cg_error *err);

/* ------------------------------------------------------------------ */
/* Audit chain verification                                            */
/* ------------------------------------------------------------------ */

/* What cg_audit_verify_with() found wrong (cg_audit_report.failure). */
enum cg_audit_failure {
    CG_AUDIT_GOOD = 0,      /* nothing */
    CG_AUDIT_BROKEN = 1,    /* a record does not link or does not hash (bad_seq) */
    CG_AUDIT_CUT_SHORT = 2, /* a checkpoint or the expected head lies past the chain's end */
    CG_AUDIT_REWRITTEN = 3, /* the chain has another hash at a checkpoint's seq */
    CG_AUDIT_FORGED = 4,    /* a checkpoint claims a trusted key but does not verify */
    CG_AUDIT_BAD_SAVED = 5, /* a saved checkpoint line is not a checkpoint */
};

/* Outcome of cg_audit_verify() and cg_audit_verify_with(). Caller-allocated;
 * set 'size' to sizeof(struct cg_audit_report) (CG_AUDIT_REPORT_INIT does)
 * so fields can be appended in later versions. */
struct cg_audit_report {
    size_t size;             /* in: sizeof(struct cg_audit_report) */
    int64_t records;         /* out: records checked and found good */
    int64_t last_seq;        /* out: seq of the last good record, 0 if none */
    char last_hash[65];      /* out: its recomputed hash ("" if none) */
    int64_t bad_seq;         /* out: seq of the first bad record, 0 if none */
    char why[CG_ERRMSG_MAX]; /* out: why it is bad, "" if the chain is good */
    /* Since 0.4 (cg_audit_verify_with()): */
    int failure;                  /* out: enum cg_audit_failure */
    int checkpoints_served;       /* out: 1 when the server serves checkpoints */
    int64_t checkpoints;          /* out: checkpoints compared with the chain (the
                                     server's, its latest, the saved ones, the
                                     expected head) */
    int64_t checkpoints_verified; /* out: of them, signatures verified with a trusted key */
    int64_t checkpoints_unknown;  /* out: signed by a key that is not trusted here (their
                                     seq and hash are still compared) */
    int64_t covered_seq;          /* out: the highest seq of a verified checkpoint that
                                     the chain matches, 0 if none */
    char key_id[17];              /* out: the first trusted key's id, "" if none was used */
};

#define CG_AUDIT_REPORT_INIT                                                                       \
    {                                                                                              \
        sizeof(struct cg_audit_report), 0, 0, "", 0, "", 0, 0, 0, 0, 0, 0, ""                      \
    }

/**
 * Walks the whole audit log (every page, from seq 1) and checks it without
 * trusting anything the server computed: each record's hash is recomputed
 * from its fields (the encoding of docs/api/audit.md), each prev_hash must
 * equal the recomputed hash of the record before (the first record's must
 * be 64 zeros), and seq must increase.
 *
 * @param rep  caller-owned report, with rep->size set; filled in both the
 *             good and the broken case
 * @return CG_OK (chain good), CG_ERR_VERIFY (broken: rep->bad_seq and
 *         rep->why say where and why; err->message too), CG_ERR_INVALID
 *         (rep NULL or too small), or any error of cg_audit_list().
 * Thread safety: as for the client. Since: 0.1
 */
CG_API int cg_audit_verify(struct cg_client *c, struct cg_audit_report *rep, struct cg_error *err);

/* What cg_audit_verify_with() checks besides the chain. Caller-allocated;
 * start from CG_AUDIT_VERIFY_OPTS_INIT. Every pointer is borrowed for the
 * call. */
struct cg_audit_verify_opts {
    size_t size;                /* in: sizeof(struct cg_audit_verify_opts) */
    int64_t expect_seq;         /* > 0: the chain must hold record expect_seq ... */
    const char *expect_hash;    /* ... with this hash (64 lowercase hex) */
    const char *const *pubkeys; /* trusted public keys (64 hex each) for checkpoint
                                   signatures; none: the server's own key, read
                                   from GET /v1/agent/pubkey (which proves only
                                   that the server still has the key it signed
                                   with) */
    size_t npubkeys;
    int no_server_checkpoints; /* 1: do not read GET /v1/audit/checkpoints */
    const char *saved;         /* saved checkpoints, one wire line each (the format
                                  of the server's DIR/audit-checkpoints), or NULL */
    size_t saved_len;          /* bytes of saved */
};

#define CG_AUDIT_VERIFY_OPTS_INIT                                                                  \
    {                                                                                              \
        sizeof(struct cg_audit_verify_opts), 0, NULL, NULL, 0, 0, NULL, 0                          \
    }

/**
 * cg_audit_verify(), and checks the chain against signed audit checkpoints
 * (docs/api/audit.md "Checkpoints"): the server's (every page of GET
 * /v1/audit/checkpoints and its "latest"; a server without that route, 404,
 * is noted in rep->checkpoints_served and skipped), the saved ones and the
 * expected head. For each: when its key id is a trusted key's, the
 * signature must verify (else CG_AUDIT_FORGED); whatever its key, the
 * chain must hold record seq (else CG_AUDIT_CUT_SHORT) with exactly that
 * hash (else CG_AUDIT_REWRITTEN). So records deleted from the end, a
 * truncated log, or a chain edited and recomputed are found as long as one
 * checkpoint or head saved before survives anywhere.
 *
 * @param opts  NULL = CG_AUDIT_VERIFY_OPTS_INIT
 * @param rep   as for cg_audit_verify(); rep->failure says what was found
 * @return CG_OK, CG_ERR_VERIFY (rep->failure, bad_seq and why say what and
 *         where; err->message too), CG_ERR_INVALID (rep or opts too small,
 *         a key or the expected hash malformed), or an error of the calls.
 * Thread safety: as for the client. Since: 0.4
 */
CG_API int cg_audit_verify_with(struct cg_client *c, const struct cg_audit_verify_opts *opts,
                                struct cg_audit_report *rep, struct cg_error *err);

/* ------------------------------------------------------------------ */
/* Agent protocol (docs/api/agent.md)                                  */
/* ------------------------------------------------------------------ */

/*
 * The calls an agent (or an application that watches its own configs)
 * makes. The common contract of the "API calls" section applies: out is
 * NULL on failure, err optional, the same status codes.
 */

#define CG_AGENT_MAX_WAIT_S 300 /* longest long-poll the server accepts */

/**
 * GET /v1/agent/desired?cell=C[&wait=S]: the desired state of a cell.
 *
 * @param c       the client (agent token of that cell, or admin)
 * @param cell    the cell id (required)
 * @param etag    the ETag of the state the caller already holds, without
 *                quotes (sent as If-None-Match), or NULL / "" for none
 * @param wait_s  0: answer at once. 1..CG_AGENT_MAX_WAIT_S: long poll; when
 *                the state still matches 'etag' the server holds the
 *                request until it changes or about wait_s seconds pass.
 *                This one request then gets a timeout of wait_s * 1.2 +
 *                10 s instead of the client's (the server jitters waits by
 *                up to 10%). Other values give CG_ERR_INVALID.
 * @param out     on CG_OK a new result, in one of two forms:
 *                 - cg_result_http_status() == 200: the object is
 *                   {"cell","etag","server_time_ms","key_id","assignments"}
 *                   and the items are the assignments
 *                   ({"config","version","generation","sha256",
 *                   "media_type","contract_sha256","statement"});
 *                 - cg_result_http_status() == 304: nothing changed; the
 *                   body is empty and cg_result_obj() is NULL.
 *                The statements are NOT verified here (see struct
 *                cg_watch, which does it).
 * @param err     optional
 * @return CG_OK (200 or 304), or the codes of the API calls section.
 * Thread safety: as for the client. Since: 0.2
 */
CG_API int cg_agent_desired(struct cg_client *c, const char *cell, const char *etag, int wait_s,
                            struct cg_result **out, struct cg_error *err);

/**
 * POST /v1/agent/report: posts one report (shape in docs/api/agent.md).
 *
 * @param report_json  the report as JSON text (borrowed; sent as-is)
 * @param len          its length in bytes (the server accepts <= 256 KiB)
 * @param err          optional
 * @return CG_OK (the server answered 2xx), or the codes of the API calls
 *         section.
 * Thread safety: as for the client. Since: 0.2
 */
CG_API int cg_agent_report(struct cg_client *c, const char *report_json, size_t len,
                           struct cg_error *err);

/**
 * GET /v1/agent/pubkey: the server's statement-signing public key, for
 * bootstrapping over a trusted channel only (an agent must pin the key it
 * verifies with; fetching it from the server it verifies proves nothing).
 *
 * @param out  on CG_OK a new result whose object is the server's answer
 *             (it carries the key id and the 64-hex public key)
 * Thread safety: as for the client. Since: 0.2
 */
CG_API int cg_agent_pubkey(struct cg_client *c, struct cg_result **out, struct cg_error *err);

/**
 * GET of any path below the client's URL, keeping the bytes as they are
 * (no JSON parsing), e.g. a Prometheus "/metrics" endpoint. The client's
 * timeout and response size limit apply; the bearer token is sent if one
 * is set (use a client without a token for third-party endpoints).
 *
 * @param path  starts with '/', already URL-escaped, no control characters
 *              or spaces (CG_ERR_INVALID otherwise)
 * @param out   on CG_OK a new result; read the bytes with cg_result_body()
 * @return CG_OK for any 2xx, else the codes of the API calls section.
 * Thread safety: as for the client. Since: 0.2
 */
CG_API int cg_get_raw(struct cg_client *c, const char *path, struct cg_result **out,
                      struct cg_error *err);

/* ------------------------------------------------------------------ */
/* Assignments, fleet views and rollouts                               */
/* ------------------------------------------------------------------ */

/*
 * Moving versions onto cells (docs/api/agent.md, "Assignments" and
 * "Views"), and the rollout engine that does it wave by wave
 * (docs/plans.md). The common contract of the "API calls" section
 * applies: out is NULL on failure, err optional, the same status codes.
 *
 * Items of these answers (cg_result_count / cg_result_item):
 *   cg_assignments_list -> "assignments"   cg_hosts_list    -> "hosts"
 *   cg_config_status    -> "cells"         cg_rollouts_list -> "rollouts"
 *   cg_plan_preview     -> "steps"
 * (and the same for their cg_*_page variants). The *_list functions and
 * cg_config_status() follow every page; see "Paging" in the results
 * section.
 * A rollout status (cg_rollout_get, cg_rollout_start, the actions and
 * cg_config_rollback) has no items: read its "steps" and "events" arrays
 * with cg_obj_array_size() / cg_obj_array_get().
 *
 * Rollout ids are positive; every other id gives CG_ERR_INVALID before
 * anything is sent. Reasons are optional free text recorded in the audit
 * log; NULL or "" sends none.
 */

/**
 * POST /v1/configs/{name}/assign: sets the desired version of 'name' on
 * the listed cells as one change (one new generation). Role deployer.
 *
 * @param version            the version to assign (>= 1)
 * @param cells, ncells      1..10000 cell ids (borrowed for the call)
 * @param expect_generation  compare-and-set on the config's generation (the
 *                           one read with cg_config_get()), or
 *                           CG_ASSIGN_FORCE to override whatever it is now
 *                           (sent as "force": true and audited as "force:
 *                           REASON"); any other negative value sends
 *                           neither, which the server refuses (400)
 * @param reason             recorded in the audit log, or NULL
 * @param out                on CG_OK: {"config","version","generation","cells"}
 * @return as the API calls section; CG_ERR_CONFLICT when the generation
 *         moved, CG_ERR_VIOLATION when the version no longer satisfies
 *         the contract. Since: 0.2
 */
#define CG_ASSIGN_FORCE (-2) /**< cg_config_assign(): no compare-and-set, audited as forced */
CG_API int cg_config_assign(struct cg_client *c, const char *name, int64_t version,
                            const char *const *cells, size_t ncells, int64_t expect_generation,
                            const char *reason, struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/configs/{name}/assignments, every page: items are the
 * assignments ({"cell","config","version","generation","sha256",
 * "updated_at"}), ordered by cell.
 * Since: 0.2
 */
CG_API int cg_assignments_list(struct cg_client *c, const char *name, struct cg_result **out,
                               struct cg_error *err);

/**
 * One page of cg_assignments_list(); 'after' is a cell id. Parameters
 * and result as cg_cells_page().
 * Since: 0.3
 */
CG_API int cg_assignments_page(struct cg_client *c, const char *name, const char *after, int limit,
                               struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/configs/{name}/status: the object is {"config","latest_version",
 * "live_version","generation","versions","cells","behind","failed"}; items
 * are the cells ({"cell","version","generation","hosts":[{"host",
 * "running_version","running_generation","outcome","last_seen","error"?,
 * "violations"?}]}), ordered by cell. Follows every page: "cells",
 * "behind" and "failed" hold every cell's entries ("versions" covers the
 * whole fleet on every page). Since: 0.2
 */
CG_API int cg_config_status(struct cg_client *c, const char *name, struct cg_result **out,
                            struct cg_error *err);

/**
 * One page of cg_config_status(): the cells after the cell 'after'
 * (NULL / "" = from the first), at most 'limit' of them (1..1000, 0 =
 * the server's default, 1000); "behind" and "failed" list only hosts of
 * those cells. Result and cursor as cg_cells_page().
 * Since: 0.3
 */
CG_API int cg_config_status_page(struct cg_client *c, const char *name, const char *after,
                                 int limit, struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/hosts[?cell=C][&config=K], every page: items are the hosts
 * that reported ({"host","cell","last_seen","last_seen_ms","seq",
 * "configs":[{"config","version","generation","outcome","lkg_version",
 * "lkg_generation","error"?,"violations"?}]}), ordered by host name.
 *
 * @param cell    only hosts of this cell, or NULL / ""
 * @param config  only this config in each host's "configs", or NULL / ""
 * Since: 0.2
 */
CG_API int cg_hosts_list(struct cg_client *c, const char *cell, const char *config,
                         struct cg_result **out, struct cg_error *err);

/**
 * One page of cg_hosts_list(); 'after' is a host name. Parameters and
 * result as cg_cells_page().
 * Since: 0.3
 */
CG_API int cg_hosts_page(struct cg_client *c, const char *cell, const char *config,
                         const char *after, int limit, struct cg_result **out,
                         struct cg_error *err);

/*
 * Health views (docs/api/cells.md, "Health" and "Outliers"). Figures are
 * numbers or null (a rate without requests, a p50 below 20 or a p99 below
 * 1,000 latency observations): read them with cg_obj_num(), which gives
 * its default (e.g. NAN) for null.
 */

/**
 * GET /v1/cells?health=1, every page: items are the cells (as
 * cg_cells_list()), each with "health": {"hosts","requests","errors",
 * "error_rate","latency_samples","latency_p50_ms","latency_p99_ms","rps",
 * "last_report_age_ms","outlier","outlier_reason"} over the window; the
 * object also has "fleet" (the same figures for every cell that reports,
 * plus "cells" and "window_ms") and "config". "outlier" is true when the
 * cell is persistently far from the rest of the fleet over the last hour
 * (docs/api/cells.md, "Outliers"), and "outlier_reason" then names the
 * figures.
 *
 * @param config    NULL / "": the cells' host-level health (whatever
 *                  their hosts run); else their health on every version
 *                  of this config
 * @param window_s  the window in seconds, 30..3600; 0 = the server's
 *                  default (10 minutes). Other values: CG_ERR_INVALID
 *                  before anything is sent.
 * Since: 0.6
 */
CG_API int cg_cells_health(struct cg_client *c, const char *config, int64_t window_s,
                           struct cg_result **out, struct cg_error *err);

/**
 * One page of cg_cells_health(); 'after' is a cell id. Paging as
 * cg_cells_page(); "fleet" is the whole fleet's on every page.
 * Since: 0.6
 */
CG_API int cg_cells_health_page(struct cg_client *c, const char *config, int64_t window_s,
                                const char *after, int limit, struct cg_result **out,
                                struct cg_error *err);

/**
 * GET /v1/hosts?health=1, every page: cg_hosts_list() with each host's
 * own "health" over its latest reports (5 to 10 minutes of them):
 * {"requests","errors","error_rate","latency_samples","latency_p50_ms",
 * "latency_p99_ms","rps","window_ms","reports","far_from_cell",
 * "far_reason"}. "far_from_cell" is true when the host's error rate or
 * p99 is at least twice its cell's other hosts' and significantly so.
 * Parameters as cg_hosts_list().
 * Since: 0.6
 */
CG_API int cg_hosts_health(struct cg_client *c, const char *cell, const char *config,
                           struct cg_result **out, struct cg_error *err);

/**
 * One page of cg_hosts_health(); 'after' is a host name. Parameters and
 * result as cg_hosts_page().
 * Since: 0.6
 */
CG_API int cg_hosts_health_page(struct cg_client *c, const char *cell, const char *config,
                                const char *after, int limit, struct cg_result **out,
                                struct cg_error *err);

/**
 * GET /v1/configs/{name}/status?cells=1, every page: cg_config_status()
 * with each cell's "health" on the config (every version of it that the
 * cell's hosts run, over the window; as cg_cells_health() with 'config'),
 * and the object's "fleet".
 *
 * @param window_s  as cg_cells_health()
 * Since: 0.6
 */
CG_API int cg_config_status_cells(struct cg_client *c, const char *name, int64_t window_s,
                                  struct cg_result **out, struct cg_error *err);

/**
 * POST /v1/rollouts: starts moving 'config' to 'version' with a plan.
 * Role deployer. The result (201) is the rollout status (see
 * cg_rollout_get()).
 *
 * @param plan    the plan name, or NULL / "" for the config's default plan
 * @param reason  why, or NULL
 * @return as the API calls section; CG_ERR_CONFLICT when the config
 *         already has an open rollout (err->message names it).
 * Since: 0.2
 */
CG_API int cg_rollout_start(struct cg_client *c, const char *config, int64_t version,
                            const char *plan, const char *reason, struct cg_result **out,
                            struct cg_error *err);

/**
 * GET /v1/rollouts[?config=C][&open=1]: items are rollout summaries
 * ({"id","config","kind","from_version","to_version","state","step",
 * "created_by","created_at","expedited"}), newest first.
 *
 * @param config     only rollouts of this config, or NULL / ""
 * @param open_only  non-zero: only rollouts that have not ended
 * Follows every page (see "Paging" in the results section).
 * Since: 0.2
 */
CG_API int cg_rollouts_list(struct cg_client *c, const char *config, int open_only,
                            struct cg_result **out, struct cg_error *err);

/**
 * One page of cg_rollouts_list(), newest first: the rollouts whose id is
 * below 'after' (a rollout id in decimal; NULL / "" = from the newest).
 * Parameters and result as cg_cells_page().
 * Since: 0.3
 */
CG_API int cg_rollouts_page(struct cg_client *c, const char *config, int open_only,
                            const char *after, int limit, struct cg_result **out,
                            struct cg_error *err);

/**
 * GET /v1/rollouts/{id}: the rollout status. The object is
 * {"id","config","kind","from_version","to_version","state","plan","step",
 * "steps_total","step_state","step_started_at","generation","expedited",
 * "created_by","reason","created_at","ended_at","steps","detail","events"}
 * plus, while a step bakes, "evaluation" (the latest gate evaluation) and,
 * while a deny window holds it, "held". "step" is the 0-based index of
 * the current step in "steps"; steps[i].step counts from 1. States:
 * running, waiting_approval, paused, rolling_back (open); completed,
 * rolled_back, halted, aborted (ended: "ended_at" is set).
 * Since: 0.2
 */
CG_API int cg_rollout_get(struct cg_client *c, int64_t id, struct cg_result **out,
                          struct cg_error *err);

/**
 * POST /v1/rollouts/{id}/pause: holds a running rollout (a baking step is
 * still evaluated and rolled back on failure, never promoted). Role
 * deployer. The result is the status. Since: 0.2
 */
CG_API int cg_rollout_pause(struct cg_client *c, int64_t id, const char *reason,
                            struct cg_result **out, struct cg_error *err);

/** POST /v1/rollouts/{id}/resume: continues a paused rollout. Role
 * deployer. The result is the status. Since: 0.2 */
CG_API int cg_rollout_resume(struct cg_client *c, int64_t id, const char *reason,
                             struct cg_result **out, struct cg_error *err);

/**
 * POST /v1/rollouts/{id}/abort: ends the rollout where it stands (changed
 * cells keep the new version; see cg_config_rollback() to return them).
 * Role deployer. The result is the status. Since: 0.2
 */
CG_API int cg_rollout_abort(struct cg_client *c, int64_t id, const char *reason,
                            struct cg_result **out, struct cg_error *err);

/**
 * POST /v1/rollouts/{id}/approve: approves the step the rollout waits
 * for. Role approver, and never the rollout's creator (CG_ERR_FORBIDDEN);
 * CG_ERR_CONFLICT when it is not waiting for an approval. The result is
 * the status. Since: 0.2
 */
CG_API int cg_rollout_approve(struct cg_client *c, int64_t id, const char *reason,
                              struct cg_result **out, struct cg_error *err);

/**
 * POST /v1/configs/{name}/rollback: with an open rollout, returns the cells
 * it changed to their previous versions (that rollout moves to
 * rolling_back; 200). Otherwise starts a rollout of kind "rollback" to
 * 'to_version' (201): expedited (one step, no bake) when that version was
 * once complete on every cell, else through the plan. Role deployer.
 *
 * @param to_version  the version to return to; 0 = the live version
 * @param reason      why, or NULL
 * @param out         the rollout status; cg_result_http_status() is 200
 *                    or 201
 * Since: 0.2
 */
CG_API int cg_config_rollback(struct cg_client *c, const char *name, int64_t to_version,
                              const char *reason, struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/plans/{name}/preview[?config=C]: the steps the planner would
 * make from the plan for the fleet as it is now. The object is
 * {"seed","fleet":{"cells","regions","zones","done"},"region_order",
 * "steps","notes"}; items are the steps ({"step","wave","wave_name","part",
 * "parts","cells","regions","zones","covered","bake_s","min_requests",
 * "approval","constraint"}).
 *
 * @param config  the config the order is seeded with, or NULL / ""
 * Since: 0.2
 */
CG_API int cg_plan_preview(struct cg_client *c, const char *name, const char *config,
                           struct cg_result **out, struct cg_error *err);

/**
 * GET /v1/plans/{name}/preview?config=C&version=N: as cg_plan_preview(),
 * for a rollout of version N of config C (0: its newest version). The
 * steps are exactly those a rollout of that version started now with this
 * plan runs: the same planner, inputs and seed (the config's fleet: its
 * scope, without drained cells). CG_ERR_INVALID when version > 0 without
 * a config.
 * Since: 0.4
 */
CG_API int cg_plan_preview_version(struct cg_client *c, const char *name, const char *config,
                                   int64_t version, struct cg_result **out, struct cg_error *err);

/* ------------------------------------------------------------------ */
/* Watcher: verified, contract-checked config documents                */
/* ------------------------------------------------------------------ */

/*
 * A struct cg_watch follows the desired state of one cell and, for every
 * new generation of a watched config, runs the whole pipeline:
 *
 *   verify the signed statement (pinned key, this cell, not expired,
 *   generation > the one held)  ->  get the contract (a contract pinned
 *   with cg_watch_set_contract(), else the server's, which must hash to
 *   the statement's signed contract_sha256; cached by it)  ->  fetch the
 *   blob (size-limited)  ->  check its sha256 against the signed one  ->
 *   check the document with the contract engine against the
 *   last-known-good  ->  hand it to the apply callback  ->  on success it
 *   becomes the last-known-good.
 *
 * On any failure the last-known-good stays and the outcome (reason,
 * violations) is kept for the next report. Every request has a timeout and
 * a size limit; failures back off with full jitter under a retry budget,
 * honour Retry-After and fail over to the next server. See
 * docs/libcellgate/watch.md.
 *
 * Thread safety: cg_watch_current(), cg_watch_status(),
 * cg_watch_get_stats() and cg_watch_dup_report_configs() may be called
 * from any thread at any time (they copy under a lock and never wait for
 * the network). Everything else is for one thread at a time; while the
 * watcher's own thread runs (cg_watch_start()), do not call
 * cg_watch_poll_once() or use the watcher's clients.
 */
struct cg_watch;

/* What happened to the latest generation a config was offered. Values are
 * stable; append only. The names (cg_watch_outcome_str) are the report
 * "outcome" values. */
enum cg_watch_outcome {
    CG_WATCH_NONE = 0,          /* nothing decided yet */
    CG_WATCH_APPLIED = 1,       /* "applied": in use, it is the last-known-good */
    CG_WATCH_REJECTED = 2,      /* "rejected": contract violation, or the apply
                                   callback refused the document */
    CG_WATCH_RELOAD_FAILED = 3, /* "reload_failed": applying failed, the
                                   last-known-good was restored */
    CG_WATCH_VERIFY_FAILED = 4, /* "verify_failed": statement, sha256 or contract
                                   sha256 check failed */
};

/* A document offered to (or seeded into) the watcher. Plain value; every
 * pointer is borrowed for the duration of the call that receives it. */
struct cg_watch_doc {
    size_t size;            /* sizeof(struct cg_watch_doc) */
    const char *config;     /* config name */
    int64_t version;        /* version number (0 = unknown) */
    int64_t generation;     /* assignment generation (0 = unknown) */
    const char *sha256;     /* 64 lowercase hex of the bytes, or NULL */
    const char *media_type; /* e.g. "application/json"; may be NULL */
    const void *bytes;      /* the document; NULL when unknown (seed only) */
    size_t len;             /* its length */
};

/**
 * Apply callback: put the verified, contract-checked document in use.
 * Runs on the thread that polls. Must not call back into the watcher
 * except the lock-free-for-the-caller readers listed above.
 *
 * @param ud      the options' apply_ud
 * @param doc     the document (borrowed for the call)
 * @param why     buffer of whylen bytes for a one-line reason on failure
 * @return CG_OK: the document is in use and becomes the last-known-good.
 *         CG_ERR_VIOLATION: the application refuses it (e.g. a check
 *         command failed); outcome "rejected". Any other negative value:
 *         applying failed and the application is back on the previous
 *         document; outcome "reload_failed". Either way the generation is
 *         not offered again.
 */
typedef int (*cg_watch_apply_fn)(void *ud, const struct cg_watch_doc *doc, char *why,
                                 size_t whylen);

/* Cancellation test, polled during requests and between steps; non-zero
 * abandons the poll in progress (e.g. "a stop signal arrived"). Must be
 * cheap and async-safe to call from the polling thread. */
typedef int (*cg_watch_cancel_fn)(void *ud);

#define CG_WATCH_DEFAULT_WAIT_S     60
#define CG_WATCH_DEFAULT_TIMEOUT_MS 10000
#define CG_WATCH_DEFAULT_MAX_DOC    (16u * 1024 * 1024)
#define CG_WATCH_MAX_CONFIGS        256

/* Options of cg_watch_new(). Caller-owned; copied by cg_watch_new(). Zero
 * fields take the defaults. */
struct cg_watch_options {
    size_t size;                /* sizeof(struct cg_watch_options) */
    const char *cell;           /* required: the cell to follow */
    const char *const *pubkeys; /* required: pinned keys, 64 hex each */
    size_t npubkeys;            /* 1.. */
    const char *const *configs; /* configs to follow; NULL = every config
                                   assigned to the cell */
    size_t nconfigs;
    cg_watch_apply_fn apply; /* NULL: accept every checked document */
    void *apply_ud;
    cg_watch_cancel_fn cancel; /* optional */
    void *cancel_ud;
    int wait_s;              /* long-poll wait, default 60 (jittered +-20%);
                                negative: no long poll (wait=0) */
    long request_timeout_ms; /* every other request, default 10000 */
    size_t max_doc_bytes;    /* largest blob fetched, default 16 MiB */
    long backoff_base_ms;    /* first backoff ceiling after a failure, default 500 */
    long backoff_cap_ms;     /* largest backoff ceiling, default 60000 */
    /* Added after the first release (callers built before it pass a
     * smaller size and get NULL): */
    const char *host; /* this host's name (1..63 of [a-z0-9._-]), sent with every
                         desired-state poll (host=) so that a rollout's one-box
                         canary step can give this host its own version; NULL: the
                         cell's state only */
};

/* Latest state of one config (cg_watch_status). Caller-allocated; set
 * 'size' first. */
struct cg_watch_status {
    size_t size;                 /* in: sizeof(struct cg_watch_status) */
    int outcome;                 /* enum cg_watch_outcome of the latest decision */
    int64_t version, generation; /* the assignment that outcome is about */
    int64_t lkg_version;         /* what runs now (0 = nothing known) */
    int64_t lkg_generation;      /* its generation (0 = nothing held) */
    char lkg_sha256[65];         /* its sha256, "" if unknown */
    int64_t rejected_generation; /* newest generation refused for good */
    int64_t confirmed_ms;        /* wall clock of the last verified statement
                                    for the held generation; 0 = never */
    int stale;                   /* 1 when that confirmation is older than the
                                    statement's validity (server unreachable
                                    or frozen): still running the LKG */
    char reason[32];             /* short reason of a failure ("bad_signature",
                                    "sha256_mismatch", "contract_mismatch",
                                    "contract_violation", "apply_failed",
                                    ...), "" */
    char error[CG_ERRMSG_MAX];   /* one line, "" */
    size_t nviolations;          /* contract violations of a rejection */
};

/* Counters of a watcher (cg_watch_get_stats). Caller-allocated; set
 * 'size' first. All counters only grow. */
struct cg_watch_stats {
    size_t size;                 /* in: sizeof(struct cg_watch_stats) */
    uint64_t polls;              /* desired-state requests that got an answer */
    uint64_t not_modified;       /* of those, 304 */
    uint64_t failures;           /* cycles that failed (network, 5xx, bad body) */
    uint64_t applied;            /* outcomes: applied */
    uint64_t rejected;           /* outcomes: rejected */
    uint64_t reload_failed;      /* outcomes: reload_failed */
    uint64_t verify_failed;      /* outcomes: verify_failed */
    uint64_t requests;           /* original requests (retry budget) */
    uint64_t retries;            /* retries the budget allowed */
    uint64_t budget_denied;      /* retries the budget refused */
    uint64_t backoffs;           /* backoff delays handed out */
    uint64_t retry_after_floors; /* of those, raised by Retry-After */
    uint64_t failovers;          /* switches to another server */
};

/**
 * Creates a watcher.
 *
 * @param clients   1..nclients clients (borrowed; must outlive the watcher
 *                  and not be used by anyone else while it runs), tried in
 *                  order: after a failed exchange the next one is used
 *                  (failover), after a success the watcher stays
 * @param nclients  1..16
 * @param opt       options (copied, with every string and key in it)
 * @param out       on success the new watcher, freed with cg_watch_free();
 *                  NULL on failure
 * @param err       optional
 * @return CG_OK; CG_ERR_INVALID (no cell, a bad key, a bad config name,
 *         too many configs, opt->size too small); CG_ERR_NOMEM.
 * Since: 0.2
 */
CG_API int cg_watch_new(struct cg_client *const *clients, size_t nclients,
                        const struct cg_watch_options *opt, struct cg_watch **out,
                        struct cg_error *err);

/**
 * Stops the watcher's thread if running and frees everything. NULL is a
 * no-op. Since: 0.2
 */
CG_API void cg_watch_free(struct cg_watch *w);

/**
 * Tells the watcher what is already in use for a config (e.g. from the
 * state an agent persisted), before the first poll: its generation
 * becomes the held one (only newer generations are applied), and the
 * bytes (when given) are the last-known-good (served by
 * cg_watch_current() and used for the contract's growth rules).
 *
 * @param doc                  what is held (copied); doc->bytes may be NULL
 *                             (then doc->sha256, if given, is kept as is)
 * @param rejected_generation  a generation already refused for good (not
 *                             offered again), or 0
 * @return CG_OK; CG_ERR_INVALID (bad name, sha256 of the bytes differs from
 *         doc->sha256, config not watched); CG_ERR_NOMEM.
 * Thread safety: before cg_watch_start() / between polls only. Since: 0.2
 */
CG_API int cg_watch_seed(struct cg_watch *w, const struct cg_watch_doc *doc,
                         int64_t rejected_generation, struct cg_error *err);

/**
 * Pins a local contract for a config: it is used instead of the one the
 * server sends, which is then neither fetched nor compared with the
 * statement's signed contract_sha256 (the signature is still verified).
 * The server's contract is signed, so a server or proxy that cannot sign
 * cannot loosen it anyway; a pin also holds when the signing key itself
 * is compromised, or holds a host to stricter rules than the server's.
 *
 * @param contract_json, len  the contract document (parsed now; copied)
 * @return CG_OK; CG_ERR_INVALID (not a valid contract: message says why);
 *         CG_ERR_NOMEM.
 * Thread safety: before cg_watch_start() / between polls only. Since: 0.2
 */
CG_API int cg_watch_set_contract(struct cg_watch *w, const char *config, const char *contract_json,
                                 size_t len, struct cg_error *err);

/**
 * Runs one cycle: one desired-state request (a long poll of 'wait_s'
 * seconds; negative = the options' wait, jittered), then the pipeline for
 * every watched assignment with a new generation.
 *
 * @return CG_OK when the exchange worked and every assignment was decided
 *         (applied, or rejected for good; see cg_watch_status()).
 *         CG_ERR_VERIFY when a statement or blob failed verification (the
 *         state is fetched again after a backoff). A transport or server
 *         error (CG_ERR_IO, CG_ERR_TIMEOUT, CG_ERR_HTTP, CG_ERR_PROTOCOL,
 *         CG_ERR_AUTH, ...) when the cycle could not finish; it is retried
 *         after cg_watch_next_delay_ms().
 * Thread safety: one thread; not while cg_watch_start() runs. Since: 0.2
 */
CG_API int cg_watch_poll_once(struct cg_watch *w, int wait_s, struct cg_error *err);

/**
 * How long to wait before the next cg_watch_poll_once(), in ms: 0 after a
 * successful cycle (the long poll is the wait), else a full-jitter backoff
 * (at least any Retry-After), longer when the retry budget is spent.
 * Since: 0.2
 */
CG_API int64_t cg_watch_next_delay_ms(const struct cg_watch *w);

/**
 * Starts a thread that polls until cg_watch_stop(): poll, wait
 * cg_watch_next_delay_ms(), repeat. The apply callback runs on it.
 * @return CG_OK; CG_ERR_INVALID (already started); CG_ERR_NOMEM (no
 *         thread). Since: 0.2
 */
CG_API int cg_watch_start(struct cg_watch *w, struct cg_error *err);

/**
 * Stops the thread: a long poll in progress is abandoned; returns once the
 * thread has finished (at most one apply callback's duration). No-op when
 * not started. Since: 0.2
 */
CG_API void cg_watch_stop(struct cg_watch *w);

/**
 * A copy of the current good document of a config (its last-known-good).
 * Never touches the network, never blocks on it: safe on a hot path.
 *
 * @param bytes    on CG_OK a new copy (NUL-terminated for convenience),
 *                 freed with cg_free(); NULL on failure
 * @param len      receives its length (may be NULL)
 * @param version  receives its version (may be NULL)
 * @return CG_OK; CG_ERR_NOTFOUND (no good document yet); CG_ERR_NOMEM;
 *         CG_ERR_INVALID.
 * Thread safety: any thread. Since: 0.2
 */
CG_API int cg_watch_current(struct cg_watch *w, const char *config, void **bytes, size_t *len,
                            int64_t *version, struct cg_error *err);

/**
 * The latest state of one config.
 * @param out  caller-allocated with out->size set; filled on CG_OK
 * @return CG_OK; CG_ERR_NOTFOUND (config never seen); CG_ERR_INVALID.
 * Thread safety: any thread. Since: 0.2
 */
CG_API int cg_watch_status(struct cg_watch *w, const char *config, struct cg_watch_status *out,
                           struct cg_error *err);

/**
 * Fills the counters. out->size must be set. Thread safety: any thread.
 * Since: 0.2
 */
CG_API void cg_watch_get_stats(struct cg_watch *w, struct cg_watch_stats *out);

/**
 * The "configs" array of a report (docs/api/agent.md) as compact JSON:
 * one entry per config with a decision or a held version
 * ({"config","version","generation","outcome","lkg_version",
 * "lkg_generation"[,"violations"][,"error"]}).
 *
 * @return a new string freed with cg_free(); NULL when out of memory.
 * Thread safety: any thread. Since: 0.2
 */
CG_API char *cg_watch_dup_report_configs(struct cg_watch *w);

/**
 * The report name of an outcome ("applied", "rejected", "reload_failed",
 * "verify_failed", "none"). Static string, never NULL. Since: 0.2
 */
CG_API const char *cg_watch_outcome_str(int outcome);

/* ------------------------------------------------------------------ */
/* Feature flags, evaluated in process (docs/flags.md)                 */
/* ------------------------------------------------------------------ */

/*
 * A struct cg_flags holds one flags config's document (the flagd
 * flag-definition format), compiled, and evaluates its flags locally with
 * the same evaluator as the server and the agent (common/flagd/). Feed it
 * from a watcher, so it runs the version assigned to your cell, signed,
 * verified and contract-checked, and keeps the last-known-good:
 *
 *     cg_flags_new(&flags, &err);
 *     o.configs = (const char *[]){"checkout-flags"}; o.nconfigs = 1;
 *     o.apply = cg_flags_apply; o.apply_ud = flags;   // the watcher feeds it
 *     cg_watch_new(&client, 1, &o, &w, &err); cg_watch_start(w, &err);
 *     ...
 *     int on = cg_flags_bool(flags, "new-checkout", ctx, 0, &d);  // hot path
 *
 * Thread safety: evaluations may run on any number of threads at once,
 * also while a new document is loaded (they see the old or the new one,
 * whole). Everything else is for one thread at a time.
 */
struct cg_flags;

/* A prepared evaluation context (parsed once, used for many
 * evaluations). */
struct cg_flags_context;

/* How an evaluation came out. Caller-allocated; set 'size' to
 * sizeof(struct cg_flag_details) so fields can be appended later. */
struct cg_flag_details {
    size_t size;        /* in: sizeof(struct cg_flag_details) */
    char variant[128];  /* out: the variant ("" when none: the code default applies) */
    const char *reason; /* out: "STATIC", "TARGETING_MATCH", "SPLIT", "DEFAULT",
                           "DISABLED" or "ERROR" (static string) */
    const char *error;  /* out: "" or "FLAG_NOT_FOUND", "PARSE_ERROR",
                           "TYPE_MISMATCH", "TARGETING_KEY_MISSING", "GENERAL" */
    char message[256];  /* out: the error's detail, "" when none */
    int64_t version;    /* out: the version of the document evaluated (0: none loaded) */
};

/** A new, empty flag set (every flag is FLAG_NOT_FOUND until a document is
 * loaded). Since: 0.4 */
CG_API int cg_flags_new(struct cg_flags **out, struct cg_error *err);

/** Frees it (no evaluation may be running). NULL is a no-op. Since: 0.4 */
CG_API void cg_flags_free(struct cg_flags *f);

/**
 * Compiles a flagd document and makes it the one evaluated (the previous
 * one stays in use when this one does not compile).
 * @return CG_OK; CG_ERR_VIOLATION (err says where); CG_ERR_NOMEM.
 * Since: 0.4
 */
CG_API int cg_flags_load(struct cg_flags *f, const void *bytes, size_t len, int64_t version,
                         struct cg_error *err);

/** A cg_watch_apply_fn (ud = the struct cg_flags): loads each document
 * the watcher accepts; a document that does not compile is rejected
 * (CG_ERR_VIOLATION) and the last-known-good stays. Since: 0.4 */
CG_API int cg_flags_apply(void *ud, const struct cg_watch_doc *doc, char *why, size_t whylen);

/** Parses an evaluation context (a JSON object, e.g.
 * {"targetingKey":"user-1","plan":"pro"}). Since: 0.4 */
CG_API int cg_flags_context_new(const char *json, struct cg_flags_context **out,
                                struct cg_error *err);

/** Frees a context. NULL is a no-op. Since: 0.4 */
CG_API void cg_flags_context_free(struct cg_flags_context *c);

/**
 * Typed evaluations of flag 'flag' with context 'ctx' (NULL = empty). Each
 * returns the flag's value, or 'def' (the code default) when there is no
 * value: an error (the flag is missing, of another type, its targeting
 * failed), a disabled flag, or a flag without a default variant. 'd' (may
 * be NULL) says why. cg_flags_string() copies the value into buf (buflen
 * bytes, truncated) and returns buf; cg_flags_object() returns new JSON
 * text (cg_free()) or NULL for the default.
 * Since: 0.4
 */
CG_API int cg_flags_bool(const struct cg_flags *f, const char *flag,
                         const struct cg_flags_context *ctx, int def, struct cg_flag_details *d);
CG_API const char *cg_flags_string(const struct cg_flags *f, const char *flag,
                                   const struct cg_flags_context *ctx, const char *def, char *buf,
                                   size_t buflen, struct cg_flag_details *d);
CG_API double cg_flags_number(const struct cg_flags *f, const char *flag,
                              const struct cg_flags_context *ctx, double def,
                              struct cg_flag_details *d);
CG_API char *cg_flags_object(const struct cg_flags *f, const char *flag,
                             const struct cg_flags_context *ctx, struct cg_flag_details *d);

/* ---- notification sinks (docs/notifications.md); admin tokens only ---- */

/**
 * POST /v1/notify/sinks: adds a notification sink. The result object is the
 * sink as listed ({"name","url","format","events","config","secret": true
 * when one is set,"created_by","created_at"}); the secret is never returned.
 *
 * @param name    the sink's name (1..63 of [a-z0-9._-])
 * @param url     http:// or https:// URL the server POSTs to
 * @param format  "json", "slack", "grafana" or "pagerduty"
 * @param events  event names joined by ',' (or "all")
 * @param config  only events of this config; NULL or "" for every config
 * @param secret  json: the HMAC key; grafana: the bearer token; pagerduty:
 *                the routing key; NULL or "" for none
 * @param message the audit reason, NULL or "" for none
 * Thread safety: as for the client. Since: 0.5
 */
CG_API int cg_notify_sink_add(struct cg_client *c, const char *name, const char *url,
                              const char *format, const char *events, const char *config,
                              const char *secret, const char *message, struct cg_result **out,
                              struct cg_error *err);

/** GET /v1/notify/sinks: every sink (items of key "sinks"), without
 * secrets. Since: 0.5 */
CG_API int cg_notify_sinks_list(struct cg_client *c, struct cg_result **out, struct cg_error *err);

/** DELETE /v1/notify/sinks/{name}: removes a sink (audited with
 * 'message'). Since: 0.5 */
CG_API int cg_notify_sink_remove(struct cg_client *c, const char *name, const char *message,
                                 struct cg_error *err);

/** POST /v1/notify/sinks/{name}/test: queues a "test" event for that sink
 * (delivered asynchronously; see cg_notify_sink_log()). Since: 0.5 */
CG_API int cg_notify_sink_test(struct cg_client *c, const char *name, struct cg_error *err);

/** GET /v1/notify/sinks/{name}/log: the sink's recent delivery attempts on
 * the answering replica, newest first (items of key "log": {"time","event",
 * "attempt","status","ok","error"}). Since: 0.5 */
CG_API int cg_notify_sink_log(struct cg_client *c, const char *name, struct cg_result **out,
                              struct cg_error *err);

/* ---- Change drills (docs/drills.md) ---- */

/**
 * POST /v1/configs/{config}/drills: runs drills of 'config' on a simulated
 * fleet on the server (production is never touched) and answers with
 * {"config","plan","outcome","proposed","drills":[{"scenario","outcome",
 * "summary","expectations","figures","events","real_ms","id"}]}; items of
 * key "drills".
 *
 * @param scenario   "known-bad", "invalid-document", "stuck-wave",
 *                   "flag-flip", "rollback-path" or "all" (NULL: all)
 * @param plan       a stored plan's name; NULL or "": the config's default
 * @param plan_json  a proposed plan body (JSON text, len bytes) to drill
 *                   instead, without storing it or recording the runs
 *                   (`cellgate plan check`); NULL: none
 * A drill whose expectation broke is CG_OK with outcome "failed".
 * Thread safety: as for the client. Since: 0.5
 */
CG_API int cg_drill_run(struct cg_client *c, const char *config, const char *scenario,
                        const char *plan, const char *plan_json, size_t len, struct cg_result **out,
                        struct cg_error *err);

/** GET /v1/configs/{config}/drills (config NULL: GET /v1/drills, every
 * config): the newest recorded drills (items of key "drills": {"id",
 * "config","scenario","outcome","plan","actor","started_ms","real_ms",
 * "detail"}) and the schedules ("schedules"). Since: 0.5 */
CG_API int cg_drills_list(struct cg_client *c, const char *config, struct cg_result **out,
                          struct cg_error *err);

/** PUT /v1/configs/{config}/drills/schedule: the server drills 'config'
 * (every scenario) every 'every_s' seconds (60..31536000) with 'plan'
 * (NULL or "": the config's default); every_s 0 removes the schedule.
 * Audited with 'message'. Since: 0.5 */
CG_API int cg_drill_schedule(struct cg_client *c, const char *config, int64_t every_s,
                             const char *plan, const char *message, struct cg_error *err);

#ifdef __cplusplus
}
#endif

#endif /* CELLGATE_H */
