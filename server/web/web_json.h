/* SPDX-License-Identifier: MIT */
/* web_json.h: small readers of the JSON documents the dashboard renders
 * (rollout statuses, plans): a missing or mistyped member reads as "" or
 * 0, so a page never fails on a document's shape. */
#ifndef CG_WEB_JSON_H
#define CG_WEB_JSON_H

#include <jansson.h>
#include <stdint.h>

/* o[key] as a string, or "" (borrowed from o). */
const char *wj_str(const json_t *o, const char *key);

/* o[key] as an integer (a real is truncated), or 0. */
int64_t wj_int(const json_t *o, const char *key);

/* o[key] as a number in out: 1, or 0 when it is not a number. */
int wj_num(const json_t *o, const char *key, double *out);

/* 1 when the rollout state is terminal (completed, rolled_back, aborted,
 * halted). */
int wj_terminal(const char *state);

#endif /* CG_WEB_JSON_H */
