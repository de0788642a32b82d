/* SPDX-License-Identifier: MIT */
/* flagd.h: TEMPORARY interface copy until common/flagd lands (branch h-flagd). */
#ifndef CG_FLAGD_H
#define CG_FLAGD_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
struct cg_violations;
struct flagd_set;
enum flagd_reason { FLAGD_REASON_STATIC, FLAGD_REASON_TARGETING_MATCH, FLAGD_REASON_SPLIT, FLAGD_REASON_DEFAULT, FLAGD_REASON_DISABLED, FLAGD_REASON_ERROR };
enum flagd_error { FLAGD_OK = 0, FLAGD_FLAG_NOT_FOUND, FLAGD_PARSE_ERROR, FLAGD_TYPE_MISMATCH, FLAGD_TARGETING_KEY_MISSING, FLAGD_GENERAL };
enum flagd_type { FLAGD_ANY = 0, FLAGD_BOOLEAN, FLAGD_STRING, FLAGD_NUMBER, FLAGD_OBJECT };
struct flagd_result {
    const json_t *value;
    const char *variant;
    enum flagd_reason reason;
    enum flagd_error error;
    char message[256];
    json_t *metadata;
};
int flagd_compile(const char *json, size_t len, struct flagd_set **out, struct cg_violations *errs);
int flagd_compile_json(const json_t *doc, struct flagd_set **out, struct cg_violations *errs);
void flagd_free(struct flagd_set *s);
size_t flagd_count(const struct flagd_set *s);
const char *flagd_key_at(const struct flagd_set *s, size_t i);
void flagd_evaluate(const struct flagd_set *s, const char *key, const json_t *context, int64_t now_s, enum flagd_type want, struct flagd_result *out);
const char *flagd_reason_name(enum flagd_reason r);
const char *flagd_error_name(enum flagd_error e);
enum flagd_type flagd_value_type(const json_t *v);
#endif
