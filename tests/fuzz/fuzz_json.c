/* SPDX-License-Identifier: MIT */
/*
 * fuzz_json.c - fuzz target: the JSON parsers every request body, document
 * and statement goes through (common/json.c cg_json_parse() and
 * cg_json_depth(), common/jsonschema/jdoc.c cg_jdoc_parse(), the read-only
 * document form), and cg_json_dump() of what parsed.
 *
 * Besides "no crash, no leak, no UB" it checks properties that must hold
 * for every input (abort() when one does not, which the fuzzer reports):
 *  - cg_json_depth() of valid JSON is its real nesting depth;
 *  - cg_json_parse_doc() and cg_jdoc_parse() accept the same texts (json.h
 *    and jdoc.h promise the same rules: "\u0000" in values, big integers
 *    as reals), and when both accept, the two documents are equal (checked
 *    with a {"const": ...} schema);
 *  - what cg_json_parse() accepts, cg_json_parse_doc() accepts too;
 *  - the dump of a parsed value parses again and dumps to the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonschema.h"
#include "status.h"

#define FUZZ_MAX_INPUT (64 * 1024) /* the server takes 4 MiB; 64 KiB finds the same bugs faster */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Nesting depth of a parsed value (arrays and objects count). */
static int depth_of(const json_t *v)
{
    int max = 0;

    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            int d = depth_of(json_array_get(v, i));
            max = d > max ? d : max;
        }
        return max + 1;
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val)
        {
            int d = depth_of(val);
            (void)key;
            max = d > max ? d : max;
        }
        return max + 1;
    }
    return 0;
}

/* The jansson value and the cg_jdoc must be the same document: a schema
 * {"const": v} accepts the jdoc. */
static void check_same(json_t *v, const struct cg_jdoc *doc)
{
    struct cg_schema *s = NULL;
    struct cg_violations viol = {0};
    json_t *schema = json_pack("{s:O}", "const", v);
    int rc;

    if (!schema) {
        return;
    }
    rc = cg_schema_compile(schema, NULL, &s, NULL);
    json_decref(schema);
    if (rc == CG_ERR_NOMEM) {
        return;
    }
    if (rc != CG_OK) {
        abort(); /* a const schema always compiles */
    }
    rc = cg_schema_validate_doc(s, doc, &viol);
    if (rc == CG_ERR_VIOLATION) {
        abort(); /* jansson and cg_jdoc read the text differently */
    }
    cg_violations_free(&viol);
    cg_schema_free(s);
}

/* Dumps, re-parses and dumps again: the text must be stable. */
static void check_dump(const json_t *v)
{
    char *text = cg_json_dump(v), *again;
    json_t *v2 = NULL;

    if (!text) {
        return;
    }
    if (cg_json_parse_doc(text, strlen(text), 0, 0, &v2, NULL, 0) != CG_JSON_OK) {
        abort(); /* we wrote something we cannot read back */
    }
    again = cg_json_dump(v2);
    if (again && strcmp(text, again) != 0) {
        abort();
    }
    free(again);
    json_decref(v2);
    free(text);
}

/* The typed getters on every member of an object (they must tolerate any
 * type). */
static void poke_getters(const json_t *obj)
{
    static const char *const allowed[] = {"a", "id", "name", NULL};
    const char *key;
    json_t *val;
    int bad = 0;

    json_object_foreach((json_t *)obj, key, val)
    {
        (void)val;
        (void)cg_json_str(obj, key, NULL, &bad);
        (void)cg_json_int(obj, key, 0, &bad);
        (void)cg_json_num(obj, key, 0, &bad);
        (void)cg_json_bool(obj, key, 0, &bad);
    }
    (void)cg_json_unknown_key(obj, allowed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    json_t *v = NULL;
    struct cg_jdoc *doc = NULL;
    char msg[256], msg2[256];
    enum cg_json_fail rc, strict;
    int jrc, depth;

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    depth = cg_json_depth(text, size, CG_JSON_DEFAULT_MAX_DEPTH);
    rc = cg_json_parse(text, size, FUZZ_MAX_INPUT, 0, &v, msg, sizeof msg);
    if (rc == CG_JSON_OK) {
        json_decref(v);
        v = NULL;
    }
    strict = rc;
    rc = cg_json_parse_doc(text, size, FUZZ_MAX_INPUT, 0, &v, msg, sizeof msg);
    jrc = cg_jdoc_parse(text, size, 0, &doc, msg2, sizeof msg2);
    if ((rc == CG_JSON_OK) != (v != NULL) || (jrc == CG_JSON_OK) != (doc != NULL)) {
        abort();
    }
    if (strict == CG_JSON_OK && rc != CG_JSON_OK && rc != CG_JSON_NOMEM) {
        abort(); /* the document loader refuses what the strict one takes */
    }
    if (rc != CG_JSON_NOMEM && jrc != CG_JSON_NOMEM && (rc == CG_JSON_OK) != (jrc == CG_JSON_OK)) {
        abort(); /* the two parsers disagree on whether this is JSON */
    }
    if (v) {
        if (depth_of(v) != depth) {
            abort();
        }
        check_dump(v);
        if (json_is_object(v)) {
            poke_getters(v);
        }
    }
    if (doc) {
        (void)cg_jv_type_name(cg_jdoc_get(doc, ""));
        (void)cg_jv_count(cg_jdoc_get(doc, "/0"));
        (void)cg_jv_is_object(cg_jdoc_get(doc, "/a/1"));
    }
    if (v && doc) {
        struct cg_jdoc *mirror = NULL;
        check_same(v, doc);
        if (cg_jdoc_from_json(v, &mirror) == CG_OK) {
            if (strcmp(cg_jv_type_name(cg_jdoc_get(mirror, "")),
                       cg_jv_type_name(cg_jdoc_get(doc, ""))) != 0) {
                abort();
            }
            cg_jdoc_free(mirror);
        }
    }
    cg_jdoc_free(doc);
    json_decref(v);
    return 0;
}
