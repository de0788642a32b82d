/* SPDX-License-Identifier: MIT */
/*
 * test_jsonschema_optional.c: runs the optional/ and optional/format/ files
 * of the JSON-Schema-Test-Suite (draft 2020-12, in
 * tests/data/json-schema-test-suite/) against common/jsonschema/, and
 * prints passed/failed/excluded per file.
 *
 * optional/format/ runs with format assertion on (cg_schema_opts, what a
 * contract's "format_assertion": true turns on), every file of it; the
 * other optional/ files run with the defaults. The files are loaded with
 * cg_json_parse_doc(), the loader contracts and documents go through, so
 * big numbers (bignum.json) and "\u0000" (in const/enum) take the same
 * path as in production.
 *
 * Every case must pass, except the ones in 'exclusions' (a whole group
 * when 'test' is NULL, else one case), each with its reason. An exclusion
 * that matches nothing is itself a failure, so the table cannot go stale.
 * Each case is validated twice (collecting violations and yes/no), as in
 * test_jsonschema_suite.c.
 */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "jsonschema.h"
#include "status.h"

static const char *const format_files[] = {
    "format/date-time.json",
    "format/date.json",
    "format/duration.json",
    "format/ecmascript-regex.json",
    "format/email.json",
    "format/hostname.json",
    "format/idn-email.json",
    "format/idn-hostname.json",
    "format/ipv4.json",
    "format/ipv6.json",
    "format/iri-reference.json",
    "format/iri.json",
    "format/json-pointer.json",
    "format/regex.json",
    "format/relative-json-pointer.json",
    "format/time.json",
    "format/unknown.json",
    "format/uri-reference.json",
    "format/uri-template.json",
    "format/uri.json",
    "format/uuid.json",
};

static const char *const other_files[] = {
    "anchor.json",
    "bignum.json",
    "cross-draft.json",
    "dependencies-compatibility.json",
    "dynamicRef.json",
    "ecmascript-regex.json",
    "float-overflow.json",
    "format-assertion.json",
    "id.json",
    "no-schema.json",
    "non-bmp-regex.json",
    "refOfUnknownKeyword.json",
    "unknownKeyword.json",
};

/* Groups (test NULL) or single cases not run, and why. */
static const struct {
    const char *file;
    const char *group;
    const char *test; /* NULL: the whole group */
    const char *reason;
} exclusions[] = {
    {"format/ecmascript-regex.json", "ECMA 262 lookbehind is valid, including variable width",
     "a variable-width lookbehind (ES2018)",
     "PCRE2 10.42 (Debian 12) refuses variable-length lookbehind (10.43 accepts it); the "
     "\"pattern\" keyword cannot run such a pattern either, so calling it valid would be a lie"},
    {"cross-draft.json", "refs to historic drafts are processed as historic drafts", NULL,
     "$ref to a remote document (http://localhost:1234/...); remote references are not "
     "supported"},
    {"format-assertion.json", "schema that uses custom metaschema with format-assertion: false",
     NULL,
     "needs a remote custom meta-schema with $vocabulary; cellgate turns format assertion on "
     "per contract (\"format_assertion\") instead"},
    {"format-assertion.json", "schema that uses custom metaschema with format-assertion: true",
     NULL,
     "needs a remote custom meta-schema with $vocabulary; cellgate turns format assertion on "
     "per contract (\"format_assertion\") instead"},
#define DEP_REASON                                                                                 \
    "draft-7 \"dependencies\" is refused at compile time, its message naming dependentRequired "   \
    "and dependentSchemas: a keyword of another draft is neither honoured nor silently ignored "   \
    "(docs/contracts.md, keywords of other drafts)"
    {"dependencies-compatibility.json", "single dependency", NULL, DEP_REASON},
    {"dependencies-compatibility.json", "empty dependents", NULL, DEP_REASON},
    {"dependencies-compatibility.json", "multiple dependents required", NULL, DEP_REASON},
    {"dependencies-compatibility.json", "dependencies with escaped characters", NULL, DEP_REASON},
    {"dependencies-compatibility.json", "single schema dependency", NULL, DEP_REASON},
    {"dependencies-compatibility.json", "boolean subschemas", NULL, DEP_REASON},
    {"dependencies-compatibility.json", "schema dependencies with escaped characters", NULL,
     DEP_REASON},
#undef DEP_REASON
};

struct counts {
    int passed, failed, excluded;
};

static int used[sizeof(exclusions) / sizeof(exclusions[0])];

/* 1 when the case (test non-NULL) or the whole group (test NULL) is
 * excluded. */
static int excluded(const char *file, const char *group, const char *test)
{
    for (size_t i = 0; i < sizeof(exclusions) / sizeof(exclusions[0]); i++) {
        if (strcmp(exclusions[i].file, file) != 0 || strcmp(exclusions[i].group, group) != 0) {
            continue;
        }
        if (exclusions[i].test ? test && strcmp(exclusions[i].test, test) == 0 : !test) {
            used[i] = 1;
            return 1;
        }
    }
    return 0;
}

static json_t *load(const char *file)
{
    char path[4096], msg[256];
    FILE *f;
    char *text;
    long len;
    json_t *v = NULL;

    snprintf(path, sizeof(path), "%s/json-schema-test-suite/tests/draft2020-12/optional/%s",
             th_data_dir(), file);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = malloc((size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    if (cg_json_parse_doc(text, (size_t)len, 0, 0, &v, msg, sizeof msg) != CG_JSON_OK)
        fail_msg("cannot load %s: %s", path, msg);
    free(text);
    return v;
}

static void run_case(struct counts *k, const char *file, const char *desc, struct cg_schema *s,
                     json_t *t)
{
    const char *tdesc = json_string_value(json_object_get(t, "description"));
    int want = json_is_true(json_object_get(t, "valid"));
    struct cg_violations v = {0};
    int got, quick, good;

    if (excluded(file, desc, tdesc)) {
        k->excluded++;
        return;
    }
    got = cg_schema_validate(s, json_object_get(t, "data"), &v);
    quick = cg_schema_is_valid(s, json_object_get(t, "data"));
    good = (got == CG_OK) == want && quick == want &&
           (want ? v.count == 0 : (v.count > 0 || v.truncated));
    if (good) {
        k->passed++;
    } else {
        k->failed++;
        printf("FAIL %s | %s | %s: expected %s, validate=%d quick=%d violations=%zu%s%s\n", file,
               desc, tdesc, want ? "valid" : "invalid", got, quick, v.count,
               v.count ? " first: " : "", v.count ? v.items[0].message : "");
    }
    cg_violations_free(&v);
}

static void run_file(struct counts *total, const char *file, const struct cg_schema_opts *opts)
{
    json_t *groups = load(file);
    struct counts k = {0, 0, 0};

    for (size_t gi = 0; gi < json_array_size(groups); gi++) {
        json_t *g = json_array_get(groups, gi);
        const char *desc = json_string_value(json_object_get(g, "description"));
        json_t *tests = json_object_get(g, "tests");
        struct cg_violations errs = {0};
        struct cg_schema *s = NULL;
        int rc;

        if (excluded(file, desc, NULL)) {
            k.excluded += (int)json_array_size(tests);
            continue;
        }
        rc = cg_schema_compile_opts(json_object_get(g, "schema"), "", opts, &s, &errs);
        if (rc != CG_OK) {
            /* cases excluded one by one still count as excluded */
            for (size_t ti = 0; ti < json_array_size(tests); ti++) {
                json_t *t = json_array_get(tests, ti);
                if (excluded(file, desc, json_string_value(json_object_get(t, "description"))))
                    k.excluded++;
                else
                    k.failed++;
            }
            printf("FAIL %s | %s: schema does not compile (%d): %s: %s\n", file, desc, rc,
                   errs.count ? errs.items[0].pointer : "",
                   errs.count ? errs.items[0].message : "");
            cg_violations_free(&errs);
            continue;
        }
        for (size_t ti = 0; ti < json_array_size(tests); ti++)
            run_case(&k, file, desc, s, json_array_get(tests, ti));
        cg_schema_free(s);
    }
    json_decref(groups);
    printf("optional/%s: %d passed, %d failed, %d excluded\n", file, k.passed, k.failed,
           k.excluded);
    total->passed += k.passed;
    total->failed += k.failed;
    total->excluded += k.excluded;
}

/* Reports the exclusions of files under (or not under) "format/" and fails
 * on a stale one. */
static int report_exclusions(int format)
{
    int stale = 0;

    for (size_t i = 0; i < sizeof(exclusions) / sizeof(exclusions[0]); i++) {
        if ((strncmp(exclusions[i].file, "format/", 7) == 0) != format)
            continue;
        if (!used[i]) {
            printf("FAIL stale exclusion: %s | %s | %s\n", exclusions[i].file, exclusions[i].group,
                   exclusions[i].test ? exclusions[i].test : "(group)");
            stale++;
        } else {
            printf("excluded: %s | %s | %s: %s\n", exclusions[i].file, exclusions[i].group,
                   exclusions[i].test ? exclusions[i].test : "(group)", exclusions[i].reason);
        }
    }
    return stale;
}

static void optional_format(void **state)
{
    struct cg_schema_opts opts = {.format_assertion = 1};
    struct counts k = {0, 0, 0};

    (void)state;
    for (size_t i = 0; i < sizeof(format_files) / sizeof(format_files[0]); i++)
        run_file(&k, format_files[i], &opts);
    k.failed += report_exclusions(1);
    printf("optional/format (%zu files, format assertion on): %d passed, %d failed, %d "
           "excluded\n",
           sizeof(format_files) / sizeof(format_files[0]), k.passed, k.failed, k.excluded);
    assert_int_equal(k.failed, 0);
}

static void optional_other(void **state)
{
    struct counts k = {0, 0, 0};

    (void)state;
    for (size_t i = 0; i < sizeof(other_files) / sizeof(other_files[0]); i++)
        run_file(&k, other_files[i], NULL);
    k.failed += report_exclusions(0);
    printf("optional (%zu files): %d passed, %d failed, %d excluded\n",
           sizeof(other_files) / sizeof(other_files[0]), k.passed, k.failed, k.excluded);
    assert_int_equal(k.failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(optional_format),
        cmocka_unit_test(optional_other),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
