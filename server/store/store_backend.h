/* SPDX-License-Identifier: MIT */
/*
 * store_backend.h: what every store backend shares (store_backend.c):
 * argument checks and the audit summaries whose bytes must be the same on
 * every backend. For the backends under server/store/ only; callers of the
 * store use store.h. 'msg' is NULL or STORE_MSG_MAX bytes.
 */
#ifndef CG_STORE_BACKEND_H
#define CG_STORE_BACKEND_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_LABELS_MAX 65536 /* bytes of a cell's labels JSON */

/* CG_ERR_INVALID unless a names an actor: non-empty and shorter than
 * STORE_NAME_MAX. */
int store_check_actor(const struct store_actor *a, char *msg);

/* CG_ERR_INVALID unless name passes cg_valid_name(); 'what' ("cell",
 * "plan", ...) names it in the message. */
int store_check_name(const char *what, const char *name, char *msg);

/* Serialises v compactly with sorted keys (cg_json_dump(): the bytes every
 * backend writes) and drops the reference to v (which may be NULL). A new
 * string the caller frees with free(), or NULL. */
char *store_json_take(json_t *v);

/* A summary that could not be built (invalid UTF-8 in a field, or no
 * memory): sets msg and returns CG_ERR_INVALID. */
int store_summary_fail(char *msg);

/* The audit summary of a contract version, the same bytes on every
 * backend: {"contract_version","contract_sha256"} plus "forced" (a
 * boolean) when forced >= 0. A new string (free()) or NULL. */
char *store_contract_summary(int64_t version, const char *contract_json, int forced);

/* Parses a cell's labels (NULL or "" = {}): a JSON object of strings of at
 * most STORE_LABELS_MAX bytes. CG_OK and a new reference in *out, or
 * CG_ERR_INVALID / CG_ERR_NOMEM with msg. */
int store_parse_labels(const char *text, json_t **out, char *msg);

/* CG_ERR_INVALID unless a lease call has a name and a holder of
 * 1..STORE_NAME_MAX-1 bytes and, when ttl_ms >= 0 (an acquire; -1 for
 * the other calls), a ttl of 1..3600000 ms. */
int store_check_lease(const char *name, const char *holder, int64_t ttl_ms, char *msg);

/* The audit summary of a lease holding: {"holder","term"} and "ttl_ms"
 * when ttl_ms > 0; a new string, or NULL. */
char *store_lease_summary(const char *holder, int64_t term, int64_t ttl_ms);

/* CG_ERR_INVALID unless a meta fact has a key of 1..STORE_NAME_MAX-1
 * bytes, a value of at most 1023 and an out buffer. */
int store_check_meta(const char *key, const char *value, const char *out, size_t outlen, char *msg);

/* CG_ERR_INVALID unless a meta replacement has a key of 1..STORE_NAME_MAX-1
 * bytes, an old and a new value of 1..1023 bytes that differ, and an
 * actor. */
int store_check_meta_replace(const char *key, const char *old_value, const char *new_value,
                             const struct store_actor *a, char *msg);

/* The audit summary {"value": v} of a meta fact; a new string or NULL. */
char *store_meta_summary(const char *value);

/* CG_ERR_INVALID unless a host claim names a host (1..63 bytes, no control
 * bytes), a cell and a credential (names of 1..63 bytes) and out. */
int store_check_claim(const char *host, const char *cell, const char *credential,
                      const struct store_host_claim *out, char *msg);
/* CG_ERR_INVALID unless c is a well-formed signed checkpoint
 * (cg_checkpoint_check()). */
int store_check_checkpoint(const struct cg_checkpoint *c, char *msg);

/* The audit summaries of store_checkpoint_reset(): before {"hash","seq"}
 * of the checkpoint lost, after {"dropped","hash","seq"} of the head it
 * was accepted on. New strings, or NULL. */
char *store_checkpoint_lost_summary(const struct cg_checkpoint *lost);
char *store_checkpoint_head_summary(int64_t dropped, int64_t head_seq, const char *head_hash);

/* The audit summary {"policy": document} of a config policy ({"policy":
 * null} for body NULL: none). The document is embedded as JSON, so the
 * audit log shows the rules themselves. A new string, or NULL (also when
 * body is not JSON). */
char *store_policy_summary(const char *body);

/* The JSON document in text (new reference); JSON null when text is NULL
 * or not JSON, NULL only when out of memory. */
json_t *store_json_doc(const char *text);

/* The audit summary {"scope": document or null} of a config scope; a new
 * string, or NULL. */
char *store_scope_summary(const char *body);

/* CG_ERR_INVALID unless sink s is well formed: a name (cg_valid_name()),
 * an http:// or https:// URL of at most 2048 bytes without control bytes,
 * a known format (json, slack, grafana, pagerduty), 1..32 event names
 * joined by ',' (lowercase letters, '.' and '_'), config "" or a name, a
 * secret of at most 1024 bytes. */
int store_check_sink(const struct store_sink *s, char *msg);

/* The audit summary of a sink: {"config","events","format","secret":
 * bool,"url": "scheme://host/..."}; never the secret nor the URL's path.
 * A new string, or NULL. */
char *store_sink_summary(const struct store_sink *s);
/* CG_ERR_INVALID unless drill run d is well formed: config a name,
 * scenario and outcome of lowercase letters and '-' (1..31 bytes), plan ""
 * or a name, detail_json NULL or at most 64 KiB. */
int store_check_drill(const struct store_drill *d, char *msg);

/* CG_ERR_INVALID unless schedule s is well formed: config a name, plan ""
 * or a name, every_s 0 (remove) or 60..31536000. */
int store_check_drill_schedule(const struct store_drill_schedule *s, char *msg);

/* The audit summary of a drill run: {"scenario","outcome","plan"}. A new
 * string, or NULL. */
char *store_drill_summary(const struct store_drill *d);

/* ---- The token lifecycle (store_token_create(), store_token_rotate()) ---- */

/* CG_ERR_INVALID unless t's lifecycle fields hold: expires_ms >= 0, and
 * configs either "" or 1..STORE_TOKEN_SCOPE_MAX names (cg_valid_name()) in
 * strictly ascending byte order joined by ',', on a deployer or approver
 * token only. */
int store_check_token_lifecycle(const struct store_token *t, char *msg);

/* The audit summary of token_create: {"cell","name","role"}, plus
 * "expires_ms" when t expires and "configs" (an array) when t is scoped;
 * a new string, or NULL. */
char *store_token_create_summary(const struct store_token *t);

/* The audit summary of token_rotate: {"from","name","old_expires_ms",
 * "to"}; a new string, or NULL. */
char *store_token_rotate_summary(int64_t from, int64_t to, const char *name,
                                 int64_t old_expires_ms);

/* CG_ERR_INVALID unless a rotation's input is whole: r, id > 0, a 64-hex
 * hash, old_expires_ms > 0, expires_ms >= 0. */
int store_check_token_rotate(const struct store_token_rotate *r, char *msg);

/* CG_ERR_INVALID unless the assignment parts of a rollout update hold:
 * cells given with a version > 0 and no NULL name; hosts (nhosts > 0)
 * given with their cells, a version > 0, every host a valid name
 * (cg_valid_name()) and every cell non-NULL. */
int store_check_rollout_assign(const struct store_rollout_update *u, char *msg);

/* CG_ERR_INVALID unless uses holds 1..STORE_PAGE_MAX entries. */
int store_check_token_touch(const struct store_token_use *uses, size_t n, char *msg);

/* CG_ERR_INVALID unless id_hash is 64 lowercase hex digits (a dashboard
 * session's key). */
int store_check_ui_session_id(const char *id_hash, char *msg);

/* CG_ERR_INVALID unless s is a whole dashboard session: three hashes of
 * 64 lowercase hex digits, 0 < created_ms < expires_ms, last_seen_ms >= 0. */
int store_check_ui_session(const struct store_ui_session *s, char *msg);

#endif /* CG_STORE_BACKEND_H */
