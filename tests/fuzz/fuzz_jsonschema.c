/* SPDX-License-Identifier: MIT */
/*
 * fuzz_jsonschema.c - fuzz target: the JSON Schema compiler and validator
 * (common/jsonschema/) on their own, without the contract around them,
 * so the fuzzer spends its time on keywords, $ref resolution and regexes.
 *
 * Input: "<schema>\n%%\n<instance>" (see split.h). The schema is parsed as
 * the contract parser does (cg_json_parse_doc, depth 128) and compiled
 * with format assertion on (the "format" checkers of jsonschema/format.c
 * then run on every string; seeds format-*.txt); the instance is
 * validated three ways, which must agree: collecting every violation on a
 * cg_jdoc, on a jansson value, and the yes/no fast path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonschema.h"
#include "split.h"
#include "status.h"

#define FUZZ_MAX_INPUT (64 * 1024)
#define SCHEMA_DEPTH   128 /* CONTRACT_TEXT_DEPTH in common/contract.c */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void validate(const struct cg_schema *s, const struct fuzz_part *inst)
{
    struct cg_jdoc *doc = NULL;
    json_t *v = NULL;
    struct cg_violations v1 = {0}, v2 = {0};
    int rc1, rc2, quick;

    if (cg_jdoc_parse(inst->data, inst->len, 0, &doc, NULL, 0) != CG_JSON_OK) {
        return;
    }
    if (cg_json_parse_doc(inst->data, inst->len, 0, 0, &v, NULL, 0) != CG_JSON_OK) {
        cg_jdoc_free(doc);
        return;
    }
    rc1 = cg_schema_validate_doc(s, doc, &v1);
    rc2 = cg_schema_validate(s, v, &v2);
    quick = cg_schema_is_valid(s, v);
    if (rc1 != CG_ERR_NOMEM && rc2 != CG_ERR_NOMEM && quick != CG_ERR_NOMEM) {
        if (rc1 != rc2 || v1.count != v2.count || (rc1 == CG_OK) != (quick == 1) ||
            (rc1 == CG_OK) != (v1.count == 0 && !v1.truncated)) {
            abort(); /* the three validations disagree */
        }
    }
    for (size_t i = 0; i < v1.count; i++) {
        const struct cg_violation *x = &v1.items[i];
        if (strncmp(x->rule, "schema:", 7) != 0 || (x->pointer[0] && x->pointer[0] != '/')) {
            abort(); /* rules are schema:<keyword>, pointers "" or "/..." */
        }
    }
    cg_violations_free(&v1);
    cg_violations_free(&v2);
    json_decref(v);
    cg_jdoc_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_part parts[2];
    struct cg_schema *s = NULL;
    struct cg_violations errs = {0};
    json_t *schema = NULL;
    int rc;

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    fuzz_split((const char *)data, size, parts, 2);
    struct cg_schema_opts opts = {.format_assertion = 1};

    if (cg_json_parse_doc(parts[0].data, parts[0].len, 0, SCHEMA_DEPTH, &schema, NULL, 0) !=
        CG_JSON_OK) {
        return 0;
    }
    rc = cg_schema_compile_opts(schema, "/schema", &opts, &s, &errs);
    json_decref(schema); /* the compiled schema holds its own reference */
    if (rc == CG_OK) {
        if (!s || errs.count) {
            abort();
        }
        if (parts[1].data) {
            validate(s, &parts[1]);
        }
        cg_schema_free(s);
    } else if (rc == CG_ERR_INVALID) {
        if (s || errs.count == 0) {
            abort(); /* a refused schema says why */
        }
        for (size_t i = 0; i < errs.count; i++) {
            if (strcmp(errs.items[i].rule, "schema.invalid") != 0 ||
                strncmp(errs.items[i].pointer, "/schema", 7) != 0) {
                abort();
            }
        }
    } else if (rc != CG_ERR_NOMEM) {
        abort();
    }
    cg_violations_free(&errs);
    return 0;
}
