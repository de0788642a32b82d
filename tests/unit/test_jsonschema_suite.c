/* SPDX-License-Identifier: MIT */
/*
 * test_jsonschema_suite.c: runs the official JSON-Schema-Test-Suite (draft
 * 2020-12 files in tests/data/json-schema-test-suite/) against
 * common/jsonschema/.
 *
 * Every case of every file in 'suite_files' (every .json file of the
 * folder: one not listed fails the test) must pass, except the groups
 * listed in 'exclusions' (with the reason). An exclusion that matches no
 * group is itself a failure, so the table cannot go stale. Each case is run
 * twice: collecting violations (cg_schema_validate) and yes/no
 * (cg_schema_is_valid); both must agree with the expected result, and an
 * invalid instance must yield at least one violation.
 */
#include "testhelp.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonschema.h"
#include "status.h"

/* Every required file of the draft 2020-12 suite (optional/ is not here):
 * cellgate claims them all, less the exclusions below. */
static const char *const suite_files[] = {
    "additionalProperties.json",
    "allOf.json",
    "anchor.json",
    "anyOf.json",
    "boolean_schema.json",
    "const.json",
    "contains.json",
    "content.json",
    "default.json",
    "defs.json",
    "dependentRequired.json",
    "dependentSchemas.json",
    "dynamicRef.json",
    "enum.json",
    "exclusiveMaximum.json",
    "exclusiveMinimum.json",
    "format.json",
    "if-then-else.json",
    "infinite-loop-detection.json",
    "items.json",
    "maxContains.json",
    "maxItems.json",
    "maxLength.json",
    "maxProperties.json",
    "maximum.json",
    "minContains.json",
    "minItems.json",
    "minLength.json",
    "minProperties.json",
    "minimum.json",
    "multipleOf.json",
    "not.json",
    "oneOf.json",
    "pattern.json",
    "patternProperties.json",
    "prefixItems.json",
    "properties.json",
    "propertyNames.json",
    "ref.json",
    "refRemote.json",
    "required.json",
    "type.json",
    "unevaluatedItems.json",
    "unevaluatedProperties.json",
    "uniqueItems.json",
    "vocabulary.json",
};

/* Why refRemote.json is excluded, group by group: every one of its schemas
 * is a $ref to a document served by the suite's remotes/ web server. */
#define REMOTE                                                                                     \
    "$ref to a remote document (the suite's http://localhost:1234/ server); remote references "    \
    "are refused by design: a contract must not fetch from the network at validation time"

/* Groups not run, and why. Keep this minimal and honest. */
static const struct {
    const char *file;
    const char *group;
    const char *reason;
} exclusions[] = {
    {"defs.json", "validate definition against metaschema",
     "$ref to the draft 2020-12 meta-schema https://json-schema.org/draft/2020-12/schema "
     "(and its vocabulary meta-schemas), remote documents; remote references are refused by "
     "design"},
    {"ref.json", "remote ref, containing refs itself",
     "$ref to the draft 2020-12 meta-schema https://json-schema.org/draft/2020-12/schema, a "
     "remote document; remote references are refused by design"},
    {"dynamicRef.json", "strict-tree schema, guards against misspelled properties",
     "$ref to the remote document http://localhost:1234/draft2020-12/tree.json (not in the "
     "schema); remote references are refused by design"},
    {"dynamicRef.json", "tests for implementation dynamic anchor and reference link",
     "$ref to the remote document http://localhost:1234/draft2020-12/extendible-dynamic-ref.json "
     "(not in the schema); remote references are refused by design"},
    {"dynamicRef.json", "$ref and $dynamicAnchor are independent of order - $defs first",
     "$ref to the remote document http://localhost:1234/draft2020-12/extendible-dynamic-ref.json "
     "(not in the schema); remote references are refused by design"},
    {"dynamicRef.json", "$ref and $dynamicAnchor are independent of order - $ref first",
     "$ref to the remote document http://localhost:1234/draft2020-12/extendible-dynamic-ref.json "
     "(not in the schema); remote references are refused by design"},
    {"dynamicRef.json", "$ref to $dynamicRef finds detached $dynamicAnchor",
     "$ref to the remote document http://localhost:1234/draft2020-12/detached-dynamicref.json (not "
     "in the schema); remote references are refused by design"},
    {"vocabulary.json", "schema that uses custom metaschema with with no validation vocabulary",
     "$schema names a custom meta-schema served remotely (its $vocabulary turns validation "
     "off); cellgate reads no meta-schema and accepts only the 2020-12 one, with every "
     "vocabulary on"},
    {"vocabulary.json", "ignore unrecognized optional vocabulary",
     "$schema names a custom meta-schema served remotely; cellgate accepts only the 2020-12 "
     "meta-schema URI (it never fetches one)"},
    {"refRemote.json", "remote ref", REMOTE},
    {"refRemote.json", "fragment within remote ref", REMOTE},
    {"refRemote.json", "anchor within remote ref", REMOTE},
    {"refRemote.json", "ref within remote ref", REMOTE},
    {"refRemote.json", "base URI change", REMOTE},
    {"refRemote.json", "base URI change - change folder", REMOTE},
    {"refRemote.json", "base URI change - change folder in subschema", REMOTE},
    {"refRemote.json", "root ref in remote ref", REMOTE},
    {"refRemote.json", "remote ref with ref to defs", REMOTE},
    {"refRemote.json", "Location-independent identifier in remote ref", REMOTE},
    {"refRemote.json", "retrieved nested refs resolve relative to their URI not $id", REMOTE},
    {"refRemote.json", "remote HTTP ref with different $id", REMOTE},
    {"refRemote.json", "remote HTTP ref with different URN $id", REMOTE},
    {"refRemote.json", "remote HTTP ref with nested absolute ref", REMOTE},
    {"refRemote.json", "$ref to $ref finds detached $anchor", REMOTE},
};

struct counts {
    int passed, failed, excluded;
    int used[sizeof(exclusions) / sizeof(exclusions[0])];
};

static int excluded(struct counts *k, const char *file, const char *group)
{
    size_t i;

    for (i = 0; i < sizeof(exclusions) / sizeof(exclusions[0]); i++)
        if (strcmp(exclusions[i].file, file) == 0 && strcmp(exclusions[i].group, group) == 0) {
            k->used[i] = 1;
            return 1;
        }
    return 0;
}

static void run_file(struct counts *total, const char *file)
{
    struct counts before = *total, *k = total;
    char path[4096];
    json_error_t jerr;
    json_t *groups;
    size_t gi, ti;

    snprintf(path, sizeof(path), "%s/json-schema-test-suite/tests/draft2020-12/%s", th_data_dir(),
             file);
    groups = json_load_file(path, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!groups)
        fail_msg("cannot load %s: %s (line %d)", path, jerr.text, jerr.line);
    for (gi = 0; gi < json_array_size(groups); gi++) {
        json_t *g = json_array_get(groups, gi);
        const char *desc = json_string_value(json_object_get(g, "description"));
        json_t *tests = json_object_get(g, "tests");
        struct cg_violations errs = {0};
        struct cg_schema *s = NULL;
        int rc;

        if (excluded(k, file, desc)) {
            k->excluded += (int)json_array_size(tests);
            continue;
        }
        rc = cg_schema_compile(json_object_get(g, "schema"), "", &s, &errs);
        if (rc != CG_OK) {
            printf("FAIL %s | %s: schema does not compile (%d): %s: %s\n", file, desc, rc,
                   errs.count ? errs.items[0].pointer : "",
                   errs.count ? errs.items[0].message : "");
            k->failed += (int)json_array_size(tests);
            cg_violations_free(&errs);
            continue;
        }
        for (ti = 0; ti < json_array_size(tests); ti++) {
            json_t *t = json_array_get(tests, ti);
            int want = json_is_true(json_object_get(t, "valid"));
            struct cg_violations v = {0};
            int got = cg_schema_validate(s, json_object_get(t, "data"), &v);
            int quick = cg_schema_is_valid(s, json_object_get(t, "data"));
            int good = (got == CG_OK) == want && quick == want &&
                       (want ? v.count == 0 : (v.count > 0 || v.truncated));

            if (good) {
                k->passed++;
            } else {
                k->failed++;
                printf("FAIL %s | %s | %s: expected %s, validate=%d quick=%d violations=%zu%s%s\n",
                       file, desc, json_string_value(json_object_get(t, "description")),
                       want ? "valid" : "invalid", got, quick, v.count, v.count ? " first: " : "",
                       v.count ? v.items[0].message : "");
            }
            cg_violations_free(&v);
        }
        cg_schema_free(s);
    }
    json_decref(groups);
    printf("%-32s %4d passed, %d failed, %d excluded\n", file, k->passed - before.passed,
           k->failed - before.failed, k->excluded - before.excluded);
}

/* Every .json file of the draft 2020-12 folder must be in suite_files, so
 * a file added with a new copy of the suite is not silently skipped.
 * Returns the number missing. */
static int unlisted_files(void)
{
    char path[4096];
    struct dirent *e;
    DIR *d;
    int missing = 0;
    size_t i, len;

    snprintf(path, sizeof(path), "%s/json-schema-test-suite/tests/draft2020-12", th_data_dir());
    d = opendir(path);
    if (!d)
        fail_msg("cannot open %s", path);
    while ((e = readdir(d)) != NULL) {
        len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        for (i = 0; i < sizeof(suite_files) / sizeof(suite_files[0]); i++)
            if (strcmp(suite_files[i], e->d_name) == 0)
                break;
        if (i == sizeof(suite_files) / sizeof(suite_files[0])) {
            printf("FAIL %s is not in suite_files\n", e->d_name);
            missing++;
        }
    }
    closedir(d);
    return missing;
}

static void official_suite(void **state)
{
    struct counts k;
    size_t i;

    (void)state;
    memset(&k, 0, sizeof(k));
    for (i = 0; i < sizeof(suite_files) / sizeof(suite_files[0]); i++)
        run_file(&k, suite_files[i]);
    k.failed += unlisted_files();
    for (i = 0; i < sizeof(exclusions) / sizeof(exclusions[0]); i++) {
        if (!k.used[i]) {
            printf("FAIL stale exclusion: %s | %s\n", exclusions[i].file, exclusions[i].group);
            k.failed++;
        } else {
            printf("excluded: %s | %s: %s\n", exclusions[i].file, exclusions[i].group,
                   exclusions[i].reason);
        }
    }
    printf("JSON-Schema-Test-Suite draft2020-12 (%zu files): %d passed, %d failed, %d excluded\n",
           sizeof(suite_files) / sizeof(suite_files[0]), k.passed, k.failed, k.excluded);
    assert_int_equal(k.failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(official_suite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
