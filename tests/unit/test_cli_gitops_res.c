/* SPDX-License-Identifier: MIT */
/*
 * test_cli_gitops_res.c - the resources of `cellgate apply -f`
 * (cli/gitops_res.c), without a server: every kind's fields and their
 * checks, each problem reported as file:line:column with the resource's
 * kind and name, all problems of all files at once; the specs compared
 * with the server (a config's defaults, a flags contract's format, a
 * scope's empty parts); contract_file and secret_file read relative to
 * their file, the contract file then not taken for a resource; secrets
 * never inline.
 */
#include "testhelp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gitops.h"

struct built {
    struct gitops_docs docs;
    struct gitops_set set;
    char *errtext; /* what was printed to ctx->err */
    size_t errlen;
    int problems;
};

static void build_text(struct built *b, const char *file, const char *yaml)
{
    char err[GITOPS_ERR_MAX];
    struct cli_ctx ctx = {0};
    FILE *f;

    memset(b, 0, sizeof *b);
    assert_int_equal(gitops_parse_yaml(file, yaml, strlen(yaml), &b->docs, err), 0);
    f = open_memstream(&b->errtext, &b->errlen);
    assert_non_null(f);
    ctx.err = f;
    ctx.out = f;
    b->problems = gitops_build(&ctx, &b->docs, &b->set);
    fclose(f);
}

static void built_free(struct built *b)
{
    gitops_set_free(&b->set);
    gitops_docs_free(&b->docs);
    free(b->errtext);
}

static void has(const struct built *b, const char *want)
{
    if (!strstr(b->errtext, want)) {
        fail_msg("the problems lack '%s':\n%s", want, b->errtext);
    }
}

static void every_kind_valid(void **state)
{
    struct built b;

    (void)state;
    build_text(&b, "r.yaml",
               "kind: Cell\nname: c1\nspec: {region: r1, zone: z1, labels: {t: web}}\n---\n"
               "kind: Plan\nname: p1\nspec: {waves: [{name: all, percent: 100, bake_s: 0}]}\n"
               "---\nkind: Config\nname: cfg\nspec: {contract: {}}\n---\n"
               "kind: Config\nname: fl\nspec: {kind: flags, plan: p1, contract: {},\n"
               "  scope: {regions: [r1]}}\n---\n"
               "kind: Policy\nname: cfg\nspec: {min_waves: 1}\n---\n"
               "apiVersion: cellgate/v1\nkind: NotificationSink\nname: s1\n"
               "spec: {url: 'https://x.example/', events: 'rollout.halted,flag.killed'}\n");
    assert_int_equal(b.problems, 0);
    assert_int_equal(b.set.count, 6);
    /* sorted in apply order: cells, plans, configs, policies, sinks */
    static const enum gitops_kind order[] = {GITOPS_CELL,   GITOPS_PLAN,   GITOPS_CONFIG,
                                             GITOPS_CONFIG, GITOPS_POLICY, GITOPS_SINK};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(b.set.items[i].kind, order[i]);
    }
    const struct gitops_res *cfg = gitops_set_find(&b.set, GITOPS_CONFIG, "cfg");
    assert_non_null(cfg);
    assert_string_equal(json_string_value(json_object_get(cfg->spec, "kind")), "config");
    assert_string_equal(json_string_value(json_object_get(cfg->spec, "plan")), "");
    assert_null(json_object_get(cfg->spec, "scope"));
    const struct gitops_res *fl = gitops_set_find(&b.set, GITOPS_CONFIG, "fl");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(fl->spec, "contract"), "format")),
        "flagd");
    const json_t *scope = json_object_get(fl->spec, "scope");
    assert_int_equal(json_array_size(json_object_get(scope, "regions")), 1);
    /* the server's normal form: empty members dropped */
    assert_null(json_object_get(scope, "cells"));
    assert_null(json_object_get(scope, "labels"));
    const struct gitops_res *s1 = gitops_set_find(&b.set, GITOPS_SINK, "s1");
    assert_int_equal(json_array_size(json_object_get(s1->spec, "events")), 2);
    assert_string_equal(json_string_value(json_object_get(s1->spec, "format")), "json");
    assert_true(json_is_null(json_object_get(s1->spec, "config")));
    assert_null(s1->secret);
    built_free(&b);
}

static void every_problem_with_its_place(void **state)
{
    struct built b;

    (void)state;
    build_text(&b, "bad.yaml",
               "kind: Cell\nname: c1\nspec:\n  region: r1\n  zone: Z 1\n  labels: {t: 7}\n"
               "---\nkind: Cell\nname: c1\nspec: {region: r1, zone: z1}\n"
               "---\nkind: Widget\nname: w\nspec: {}\n"
               "---\nkind: Plan\nname: Bad_Name\nspec: {}\n"
               "---\nkind: Plan\nname: p\n"
               "---\napiVersion: v2\nkind: Plan\nname: p2\nspec: {}\nextra: 1\n"
               "---\nkind: Config\nname: c\nspec: {kind: blob, contract: {}, contract_file: x}\n"
               "---\nkind: Config\nname: c2\nspec: {contract: {max_depth: 9999, nope: 1}}\n"
               "---\nkind: Config\nname: c3\nspec: {contract: {}, scope: {zones: z1, x: 1}}\n"
               "---\nkind: NotificationSink\nname: s\nspec:\n  url: ftp://x\n"
               "  format: xml\n  events: [rollout.boom]\n  secret: hunter2\n"
               "---\nkind: NotificationSink\nname: s2\nspec: {url: 'http://x/', events: all,\n"
               "  secret_env: CG_TEST_NO_SUCH_VARIABLE_X}\n");
    assert_int_equal(b.set.count, 0);
    has(&b, "bad.yaml:5:3: Cell c1: spec.zone is not a valid name");
    has(&b, "bad.yaml:6:12: Cell c1: spec.labels: label t must be a string");
    has(&b, "bad.yaml:9:1: Cell c1: defined twice: also at bad.yaml:1");
    has(&b, "bad.yaml:12:1: unknown kind 'Widget'");
    has(&b, "bad.yaml:17:1: 'Bad_Name' is not a valid name");
    has(&b, "bad.yaml:20:1: resource.spec is required");
    has(&b, "bad.yaml:23:1: apiVersion must be cellgate/v1");
    has(&b, "bad.yaml:27:1: unknown field resource.extra");
    has(&b, "Config c: spec.kind must be config, flags or artifact");
    has(&b, "Config c: give spec.contract or spec.contract_file, not both");
    has(&b, "Config c2: spec.contract: invalid contract at '/max_depth'");
    has(&b, "Config c2: spec.contract: invalid contract at '/nope'");
    has(&b, "Config c3: spec.scope.zones must be a list of strings");
    has(&b, "Config c3: unknown field spec.scope.x");
    has(&b, "NotificationSink s: spec.secret: a secret is never written in the repository");
    has(&b, "NotificationSink s: spec.events: unknown event 'rollout.boom'");
    has(&b, "NotificationSink s: spec.format must be json");
    has(&b, "NotificationSink s: spec.url must be an http:// or https:// URL");
    has(&b, "NotificationSink s2: environment variable CG_TEST_NO_SUCH_VARIABLE_X is not set");
    assert_true(b.problems >= 19);
    built_free(&b);
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

static void files_relative_to_their_file(void **state)
{
    char *dir = th_tmpdir();
    char sub[1024], err[GITOPS_ERR_MAX];
    struct gitops_docs docs = {0};
    struct gitops_set set = {0};
    struct cli_ctx ctx = {0};
    const char *paths[1] = {dir};
    char *text = NULL;
    size_t len = 0;

    (void)state;
    snprintf(sub, sizeof sub, "%s/web", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(dir, "web/config.yaml",
               "kind: Config\nname: web\nspec: {contract_file: contract.json, plan: p}\n");
    write_file(dir, "web/contract.json", "{\"max_bytes\": 100}");
    write_file(dir, "sink.yaml",
               "kind: NotificationSink\nname: s\nspec: {url: 'https://x/', events: all,\n"
               "  secret_file: hook.secret}\n");
    write_file(dir, "hook.secret", "s3cret\n");
    assert_int_equal(gitops_load_paths(paths, 1, &docs, err), 0);
    assert_int_equal(docs.count, 3); /* the contract file is read, then skipped */
    ctx.err = open_memstream(&text, &len);
    assert_int_equal(gitops_build(&ctx, &docs, &set), 0);
    fclose(ctx.err);
    assert_int_equal(set.count, 2);
    const struct gitops_res *web = gitops_set_find(&set, GITOPS_CONFIG, "web");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(web->spec, "contract"), "max_bytes")),
        100);
    const struct gitops_res *s = gitops_set_find(&set, GITOPS_SINK, "s");
    assert_string_equal(s->secret, "s3cret"); /* without the newline */
    assert_true(json_is_true(json_object_get(s->spec, "secret")));
    char *dumped = json_dumps(s->spec, 0);
    assert_null(strstr(dumped, "s3cret")); /* the secret is never in what is compared */
    free(dumped);
    gitops_set_free(&set);
    gitops_docs_free(&docs);
    free(text);
    th_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_valid),
        cmocka_unit_test(every_problem_with_its_place),
        cmocka_unit_test(files_relative_to_their_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
