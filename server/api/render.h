/* SPDX-License-Identifier: MIT */
/*
 * render.h: store structs → API JSON objects (docs/api/README.md "Objects").
 * Each returns a new reference, or NULL when out of memory.
 */
#ifndef CG_RENDER_H
#define CG_RENDER_H

#include <jansson.h>
#include <stdint.h>

#include "store.h"

json_t *render_time(int64_t ms); /* RFC 3339 string, or null for 0 */
json_t *render_cell(const struct store_cell *c);
json_t *render_config(const struct store_config *c);
json_t *render_version(const struct store_version *v);
json_t *render_plan(const struct store_plan *p);
/* A contract version: {"config","number","created_at","actor","reason",
 * "forced","sha256"} and, with with_body, "contract" (the document). */
json_t *render_contract(const struct store_contract *c, int with_body);
/* A plan version: {"name","number","created_at","actor","sha256","plan"}. */
json_t *render_plan_version(const struct store_plan_version *p);
json_t *render_token(const struct store_token *t); /* never the hash */
json_t *render_scope(const char *configs);         /* "a,b" as ["a","b"]; "" as [] */
json_t *render_audit(const struct store_audit *a);

#endif /* CG_RENDER_H */
