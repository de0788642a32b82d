/* SPDX-License-Identifier: MIT */
/*
 * fuzz_flagd.c - fuzz target: flagd flag-definition documents
 * (common/flagd/): compile any JSON as a document and evaluate every flag
 * of a set that compiles with a few contexts, as OFREP, the kill switch
 * and libcellgate do.
 *
 * Input: a document. Checked besides memory safety: a refused document
 * comes with at least one violation, each with its strings; every result
 * is consistent (an error has an error code and no value, a value has a
 * variant, names are known).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flagd/flagd.h"
#include "jsonschema.h"
#include "status.h"

#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const contexts[] = {
    "{}",
    "{\"targetingKey\": \"user-1\", \"email\": \"a@example.com\", \"age\": 30, \"tags\": "
    "[\"red\", 1, null], \"version\": \"1.2.3\"}",
    "{\"targetingKey\": 7, \"email\": null, \"age\": \"x\", \"tags\": {\"a\": []}, \"version\": "
    "[\"1\"], \"x\": [[1, [2]], {\"y\": true}]}",
    "{\"targetingKey\": \"\\u65e5\\u672c\", \"$flagd\": {\"flagKey\": 1}, \"items\": [{\"qty\": "
    "2}, {\"qty\": \"3\"}], \"n\": -0.5}",
};

static void check_result(const struct flagd_result *r)
{
    if (r->reason == FLAGD_REASON_ERROR) {
        if (r->error == FLAGD_OK || r->value != NULL || r->variant != NULL) {
            abort();
        }
    } else if (r->error != FLAGD_OK || (r->value != NULL) != (r->variant != NULL)) {
        abort();
    }
    if (strcmp(flagd_reason_name(r->reason), "UNKNOWN") == 0 ||
        memchr(r->message, '\0', sizeof(r->message)) == NULL) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    struct flagd_set *s = NULL;
    struct cg_violations errs = {0};
    int rc = flagd_compile((const char *)data, size, &s, &errs);
    if (rc == CG_ERR_VIOLATION) {
        if (errs.count == 0 || s != NULL) {
            abort();
        }
        for (size_t i = 0; i < errs.count; i++) {
            if (!errs.items[i].pointer || !errs.items[i].rule || !errs.items[i].message) {
                abort();
            }
        }
    } else if (rc == CG_OK) {
        if (s == NULL || errs.count != 0) {
            abort();
        }
        for (size_t c = 0; c < sizeof(contexts) / sizeof(contexts[0]); c++) {
            json_error_t e;
            json_t *ctx = json_loads(contexts[c], 0, &e);
            for (size_t i = 0; i < flagd_count(s); i++) {
                struct flagd_result r;
                flagd_evaluate(s, flagd_key_at(s, i), ctx, 1767225600, FLAGD_ANY, &r);
                check_result(&r);
                json_decref(r.metadata);
            }
            json_decref(ctx);
        }
    } else if (rc != CG_ERR_NOMEM) {
        abort();
    }
    cg_violations_free(&errs);
    flagd_free(s);
    return 0;
}
