/* SPDX-License-Identifier: MIT */
/*
 * test_cli_gitops_load.c - the loader of `cellgate apply -f` (cli/gitops_load.c):
 * YAML through libyaml and JSON through jansson into the same values, the
 * YAML 1.2 core schema for scalars, several documents per file, positions
 * (file:line:column) of nodes, every refused construct as an error naming
 * file:line:column and never a crash, directories read recursively in
 * sorted order, and the size limit.
 */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gitops.h"

static int parse_yaml(const char *text, struct gitops_docs *d, char *err)
{
    return gitops_parse_yaml("t.yaml", text, strlen(text), d, err);
}

static void yaml_scalars_follow_the_core_schema(void **state)
{
    struct gitops_docs d = {0};
    char err[GITOPS_ERR_MAX];
    const char *y = "n1: null\nn2: ~\nn3:\nb1: true\nb2: False\nyes_is_a_string: yes\n"
                    "i: 42\nneg: -7\nhex: 0x1f\noct: 0o17\nf: 0.05\ne: 1e3\n"
                    "q: \"42\"\nsq: 'true'\ntagged: !!str 12\nplain: hello world\n"
                    "200: numeric key\nlist: [1, a, {x: 1}]\n";
    json_t *r;

    (void)state;
    assert_int_equal(parse_yaml(y, &d, err), 0);
    assert_int_equal(d.count, 1);
    r = d.items[0].root;
    assert_true(json_is_null(json_object_get(r, "n1")));
    assert_true(json_is_null(json_object_get(r, "n2")));
    assert_true(json_is_null(json_object_get(r, "n3")));
    assert_true(json_is_true(json_object_get(r, "b1")));
    assert_true(json_is_false(json_object_get(r, "b2")));
    assert_string_equal(json_string_value(json_object_get(r, "yes_is_a_string")), "yes");
    assert_int_equal(json_integer_value(json_object_get(r, "i")), 42);
    assert_int_equal(json_integer_value(json_object_get(r, "neg")), -7);
    assert_int_equal(json_integer_value(json_object_get(r, "hex")), 31);
    assert_int_equal(json_integer_value(json_object_get(r, "oct")), 15);
    assert_true(json_is_real(json_object_get(r, "f")));
    assert_true(json_real_value(json_object_get(r, "f")) == 0.05);
    assert_true(json_real_value(json_object_get(r, "e")) == 1000.0);
    assert_string_equal(json_string_value(json_object_get(r, "q")), "42");
    assert_string_equal(json_string_value(json_object_get(r, "sq")), "true");
    assert_string_equal(json_string_value(json_object_get(r, "tagged")), "12");
    assert_string_equal(json_string_value(json_object_get(r, "plain")), "hello world");
    assert_string_equal(json_string_value(json_object_get(r, "200")), "numeric key");
    assert_int_equal(json_array_size(json_object_get(r, "list")), 3);
    gitops_docs_free(&d);
}

static void yaml_documents_and_positions(void **state)
{
    struct gitops_docs d = {0};
    char err[GITOPS_ERR_MAX];
    const char *y = "kind: Cell\nname: a\n---\n# comment\nkind: Plan\nname: p\nspec:\n"
                    "  waves:\n    - name: w\n      bake_s: 1\n---\n";
    struct gitops_pos p;

    (void)state;
    assert_int_equal(parse_yaml(y, &d, err), 0);
    assert_int_equal(d.count, 2); /* the empty document after the last --- is no document */
    assert_int_equal(d.items[0].pos.line, 1);
    const json_t *spec = json_object_get(d.items[1].root, "spec");
    p = gitops_doc_pos(&d.items[1], spec, "waves", 0);
    assert_int_equal(p.line, 8);
    assert_int_equal(p.col, 3);
    const json_t *w0 = json_array_get(json_object_get(spec, "waves"), 0);
    p = gitops_doc_pos(&d.items[1], w0, "bake_s", 0);
    assert_int_equal(p.line, 10);
    assert_int_equal(p.col, 7);
    p = gitops_doc_pos(&d.items[1], d.items[1].root, "kind", 0);
    assert_int_equal(p.line, 5);
    /* an unknown key falls back to its container */
    p = gitops_doc_pos(&d.items[1], w0, "nope", 0);
    assert_int_equal(p.line, 9);
    gitops_docs_free(&d);
}

/* Every refused input: an error with file:line:column, nothing added. */
static void yaml_refusals_name_the_place(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"a: [1, 2\nb: 3\n", "t.yaml:2:"},
        {"a: &x 1\nb: *x\n", "t.yaml:1:4: anchors (&x)"},
        {"a: 1\nb: *x\n", "t.yaml:2:"},
        {"a: 1\na: 2\n", "t.yaml:2:1: duplicate key \"a\""},
        {"a: !!binary aGVsbG8=\n", "t.yaml:1:4: tag"},
        {"a: !custom {x: 1}\n", "t.yaml:1:4: tag"},
        {"a: .inf\n", "t.yaml:1:4: .inf: infinity"},
        {"a: 99999999999999999999\n", "t.yaml:1:4: integer"},
        {"a: 1e400\n", "t.yaml:1:4: number 1e400 is out of range"},
        {"? [1, 2]\n: x\n", "t.yaml:1:3: a mapping key"},
        {"a:\n\tb: 1\n", "t.yaml:2:"},
    };
    char err[GITOPS_ERR_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gitops_docs d = {0};
        if (parse_yaml(cases[i].text, &d, err) != -1) {
            fail_msg("case %zu accepted: %s", i, cases[i].text);
        }
        if (!strstr(err, cases[i].want)) {
            fail_msg("case %zu: error '%s' lacks '%s'", i, err, cases[i].want);
        }
        assert_int_equal(d.count, 0);
        gitops_docs_free(&d);
    }
}

static void yaml_nesting_is_bounded(void **state)
{
    char text[4096] = "";
    struct gitops_docs d = {0};
    char err[GITOPS_ERR_MAX];
    size_t n = 0;

    (void)state;
    for (int i = 0; i < GITOPS_MAX_DEPTH + 5; i++) {
        text[n++] = '[';
    }
    for (int i = 0; i < GITOPS_MAX_DEPTH + 5; i++) {
        text[n++] = ']';
    }
    text[n] = '\0';
    assert_int_equal(parse_yaml(text, &d, err), -1);
    assert_non_null(strstr(err, "nested deeper"));
    gitops_docs_free(&d);
}

static void yaml_and_json_give_the_same_values(void **state)
{
    const char *y = "kind: Plan\nname: safe\nspec:\n  waves:\n"
                    "    - {name: canary, cells: 1, bake_s: 600}\n"
                    "    - name: rest\n      percent: 100\n      bake_s: 0\n      approval: true\n"
                    "  gates: {error_rate: {max: 0.05}}\n  deny: []\n";
    const char *j = "{\"kind\":\"Plan\",\"name\":\"safe\",\"spec\":{\"waves\":["
                    "{\"name\":\"canary\",\"cells\":1,\"bake_s\":600},"
                    "{\"name\":\"rest\",\"percent\":100,\"bake_s\":0,\"approval\":true}],"
                    "\"gates\":{\"error_rate\":{\"max\":0.05}},\"deny\":[]}}";
    struct gitops_docs a = {0}, b = {0};
    char err[GITOPS_ERR_MAX];

    (void)state;
    assert_int_equal(parse_yaml(y, &a, err), 0);
    assert_int_equal(gitops_parse_json("t.json", j, strlen(j), &b, err), 0);
    assert_int_equal(a.count, 1);
    assert_int_equal(b.count, 1);
    assert_true(json_equal(a.items[0].root, b.items[0].root));
    gitops_docs_free(&a);
    gitops_docs_free(&b);
}

static void json_files_strict_and_arrays(void **state)
{
    struct gitops_docs d = {0};
    char err[GITOPS_ERR_MAX];
    const char *dup = "{\"a\":1,\"a\":2}";
    const char *arr = "[{\"kind\":\"Cell\"},{\"kind\":\"Plan\"}]";
    const char *bad = "{\n  \"a\": 1,\n}";

    (void)state;
    assert_int_equal(gitops_parse_json("t.json", dup, strlen(dup), &d, err), -1);
    assert_non_null(strstr(err, "t.json: invalid JSON"));
    assert_int_equal(gitops_parse_json("t.json", bad, strlen(bad), &d, err), -1);
    assert_non_null(strstr(err, "line 3"));
    assert_int_equal(d.count, 0);
    assert_int_equal(gitops_parse_json("t.json", arr, strlen(arr), &d, err), 0);
    assert_int_equal(d.count, 2);
    gitops_docs_free(&d);

    /* JSON files have positions too: of keys, and of each item of an array */
    const char *pos = "[\n  {\"kind\": \"Cell\"},\n  {\"kind\": \"Plan\",\n   \"spec\": {}}\n]";
    assert_int_equal(gitops_parse_json("t.json", pos, strlen(pos), &d, err), 0);
    assert_int_equal(d.count, 2);
    assert_int_equal(d.items[1].pos.line, 3);
    struct gitops_pos p = gitops_doc_pos(&d.items[1], d.items[1].root, "spec", 0);
    assert_int_equal(p.line, 4);
    assert_int_equal(p.col, 4);
    gitops_docs_free(&d);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void directories_recursive_sorted(void **state)
{
    char *dir = th_tmpdir();
    char sub[1024], err[GITOPS_ERR_MAX];
    struct gitops_docs d = {0};
    const char *paths[1] = {dir};

    (void)state;
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(dir, "b.yaml", "n: b1\n---\nn: b2\n");
    write_file(dir, "a.json", "{\"n\": \"a\"}");
    write_file(dir, "sub/c.yml", "n: c\n");
    write_file(dir, "README.md", "not read\n");
    write_file(dir, ".hidden.yaml", "n: hidden\n");
    assert_int_equal(gitops_load_paths(paths, 1, &d, err), 0);
    assert_int_equal(d.count, 4);
    static const char *const want[] = {"a", "b1", "b2", "c"};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(json_string_value(json_object_get(d.items[i].root, "n")), want[i]);
    }
    assert_non_null(strstr(d.items[3].file, "sub/c.yml"));
    gitops_docs_free(&d);

    /* a file named directly must be .json/.yaml/.yml */
    char md[1024];
    snprintf(md, sizeof md, "%s/README.md", dir);
    paths[0] = md;
    assert_int_equal(gitops_load_paths(paths, 1, &d, err), -1);
    assert_non_null(strstr(err, "not a .json, .yaml or .yml file"));
    th_rmrf(dir);
    free(dir);
}

static void files_over_the_limit_are_refused(void **state)
{
    char *dir = th_tmpdir();
    char path[1024], err[GITOPS_ERR_MAX];
    struct gitops_docs d = {0};
    const char *paths[1] = {path};
    FILE *f;

    (void)state;
    snprintf(path, sizeof path, "%s/big.yaml", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i <= GITOPS_MAX_FILE / 16; i++) {
        fputs("# padding......\n", f);
    }
    fclose(f);
    assert_int_equal(gitops_load_paths(paths, 1, &d, err), -1);
    assert_non_null(strstr(err, "larger than"));
    assert_int_equal(d.count, 0);
    th_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(yaml_scalars_follow_the_core_schema),
        cmocka_unit_test(yaml_documents_and_positions),
        cmocka_unit_test(yaml_refusals_name_the_place),
        cmocka_unit_test(yaml_nesting_is_bounded),
        cmocka_unit_test(yaml_and_json_give_the_same_values),
        cmocka_unit_test(json_files_strict_and_arrays),
        cmocka_unit_test(directories_recursive_sorted),
        cmocka_unit_test(files_over_the_limit_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
