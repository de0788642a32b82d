/* SPDX-License-Identifier: MIT */
/*
 * flagd_eval.c: the C side of the flagd differential test (tests/flagd/).
 *
 * Usage: flagd_eval DOCUMENT.json NOW_S < requests.jsonl > results.jsonl
 *
 * Compiles the flag-definition document with common/flagd (violations go
 * to stderr, exit 2), then reads one request per line,
 *   {"flag": "key", "type": "boolean|string|number|object|any", "context": {...}}
 * evaluates it at time NOW_S and writes one line per request:
 *   {"value": ..., "variant": ..., "reason": "...", "error": "..."}
 * (value and variant null when there is none). reference.js does the same
 * with @openfeature/flagd-core; differential.py compares the two.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flagd/flagd.h"
#include "json.h"
#include "status.h"
#include "util.h"

static enum flagd_type parse_type(const char *t)
{
    static const struct {
        const char *name;
        enum flagd_type type;
    } types[] = {{"boolean", FLAGD_BOOLEAN},
                 {"string", FLAGD_STRING},
                 {"number", FLAGD_NUMBER},
                 {"object", FLAGD_OBJECT}};
    for (size_t i = 0; t != NULL && i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(types[i].name, t) == 0) {
            return types[i].type;
        }
    }
    return FLAGD_ANY;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: flagd_eval DOCUMENT.json NOW_S < requests.jsonl\n");
        return 2;
    }
    size_t len;
    char *text = cg_read_file(argv[1], 64 * 1024 * 1024, &len);
    if (text == NULL) {
        fprintf(stderr, "flagd_eval: cannot read %s\n", argv[1]);
        return 2;
    }
    long long now = strtoll(argv[2], NULL, 10);
    struct flagd_set *set = NULL;
    struct cg_violations errs = {0};
    int rc = flagd_compile(text, len, &set, &errs);
    free(text);
    if (rc != CG_OK) {
        for (size_t i = 0; i < errs.count; i++) {
            fprintf(stderr, "%s: %s: %s\n", errs.items[i].pointer, errs.items[i].rule,
                    errs.items[i].message);
        }
        cg_violations_free(&errs);
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int status = 0;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        json_t *req = NULL;
        char msg[200];
        if (cg_json_parse(line, (size_t)n, 0, 128, &req, msg, sizeof(msg)) != CG_JSON_OK) {
            fprintf(stderr, "flagd_eval: bad request: %s\n", msg);
            status = 2;
            break;
        }
        struct flagd_result r;
        flagd_evaluate(set, json_string_value(json_object_get(req, "flag")),
                       json_object_get(req, "context"), now,
                       parse_type(json_string_value(json_object_get(req, "type"))), &r);
        json_t *out =
            json_pack("{s:O?,s:s?,s:s,s:s}", "value", r.value, "variant", r.variant, "reason",
                      flagd_reason_name(r.reason), "error", flagd_error_name(r.error));
        char *s = out != NULL ? json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (s == NULL) {
            fprintf(stderr, "flagd_eval: out of memory\n");
            status = 2;
            json_decref(out);
            json_decref(req);
            json_decref(r.metadata);
            break;
        }
        puts(s);
        free(s);
        json_decref(out);
        json_decref(r.metadata);
        json_decref(req);
    }
    free(line);
    flagd_free(set);
    return status;
}
