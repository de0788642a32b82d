/* SPDX-License-Identifier: MIT */
/*
 * cmd_config.c - `cellgate config create|list|show|set-plan|set-contract|contracts|
 * policy|set-policy|clear-policy|scope|set-scope`.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "util.h"

static int config_create(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *kind = NULL, *contract = NULL, *plan = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "kind",     0, CLI_OPT_STR, &kind },
        { "contract", 0, CLI_OPT_STR, &contract },
        { "plan",     0, CLI_OPT_STR, &plan },
        { NULL,       0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, opts, &a, 1, 1, &done);
    struct cg_client *c;
    char *doc;
    size_t len;

    if (done) {
        return rc;
    }
    if (!kind || !contract) {
        return cli_usage_error(ctx, "config create needs --kind and --contract");
    }
    doc = cli_read_input(ctx, contract, CLI_MAX_INPUT, &len);
    if (!doc) {
        return CLI_EXIT_USAGE;
    }
    c = cli_client(ctx, &rc);
    if (c) {
        rc = cg_config_create(c, a.pos[0], kind, doc, len, plan, &r, &e);
        if (rc != CG_OK) {
            rc = cli_api_error(ctx, rc, &e, "cannot create config");
        } else if (ctx->json) {
            cli_print_json(ctx, r);
        } else {
            char name[128], k[64];
            fprintf(ctx->out, "created config %s (kind %s)\n",
                    cli_sanitize(cg_obj_str(cg_result_obj(r), "name"), name, sizeof name),
                    cli_sanitize(cg_obj_str(cg_result_obj(r), "kind"), k, sizeof k));
        }
    }
    free(doc);
    cg_result_free(r);
    return rc;
}

/* "-" for 0 (no version yet), else the number. */
static const char *num_or_dash(int64_t n, char *buf, size_t size)
{
    if (n <= 0) {
        return "-";
    }
    snprintf(buf, size, "%" PRId64, n);
    return buf;
}

static int config_list(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"NAME", "KIND", "PLAN",    "LATEST",
                                       "LIVE", "GEN",  "CREATED", "+CREATED_AT"};
    struct cli_page pg = {0};
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "limit", 0, CLI_OPT_INT,  &pg.limit },
        { "after", 0, CLI_OPT_STR,  &pg.after },
        { NULL,    0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 0, 0, &rc);

    if (!c) {
        return rc;
    }
    if ((rc = cli_page_check(ctx, &pg)) != 0) {
        return rc;
    }
    if (cli_page_one(&pg)) {
        rc = cg_configs_page(c, pg.after, (int)pg.limit, &r, &e);
    } else {
        rc = cg_configs_list(c, &r, &e);
    }
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot list configs")) >= 0) {
        return rc;
    }
    cli_table_init(&t, (int)CG_ARRAY_SIZE(head), head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char latest[24], live[24], gen[24], created[32];
        const char *plan = cg_obj_str(o, "plan");
        const char *row[] = {
            cg_obj_str(o, "name"),
            cg_obj_str(o, "kind"),
            plan[0] ? plan : "-",
            num_or_dash(cg_obj_int(o, "latest_version", 0), latest, sizeof latest),
            num_or_dash(cg_obj_int(o, "live_version", 0), live, sizeof live),
            num_or_dash(cg_obj_int(o, "generation", 0), gen, sizeof gen),
            cli_short_time(cg_obj_str(o, "created_at"), created, sizeof created),
            cg_obj_str(o, "created_at"),
        };
        _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(head), "a cell per column");
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    cli_page_more(ctx, &pg, r, "config list");
    cg_result_free(r);
    return CLI_EXIT_OK;
}

/* Key/value view of a config, then its contract. */
static void print_config(FILE *f, const struct cg_obj *o)
{
    char buf[32];
    const char *plan = cg_obj_str(o, "plan");

    cli_print_kv(f, "name:", cg_obj_str(o, "name"));
    cli_print_kv(f, "kind:", cg_obj_str(o, "kind"));
    cli_print_kv(f, "plan:", plan[0] ? plan : "(none)");
    cli_print_kv(
        f, "latest version:", num_or_dash(cg_obj_int(o, "latest_version", 0), buf, sizeof buf));
    cli_print_kv(f,
                 "live version:", num_or_dash(cg_obj_int(o, "live_version", 0), buf, sizeof buf));
    cli_print_kv(f, "generation:", num_or_dash(cg_obj_int(o, "generation", 0), buf, sizeof buf));
    cli_print_kv(
        f, "contract version:", num_or_dash(cg_obj_int(o, "contract_version", 0), buf, sizeof buf));
    cli_print_kv(f, "created:", cg_obj_str(o, "created_at"));
    fprintf(f, "contract:\n");
    cli_print_json_field(f, o, "contract");
}

static int config_show(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 1, 1, &rc);

    if (!c) {
        return rc;
    }
    rc = cg_config_get(c, a.pos[0], &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, a.pos[0]);
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        print_config(ctx->out, cg_result_obj(r));
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int config_set_plan(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 2, 2, &rc);
    char name[128], plan[128];

    if (!c) {
        return rc;
    }
    rc = cg_config_set_plan(c, a.pos[0], a.pos[1], &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot set the plan");
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        fprintf(ctx->out, "config %s now uses plan %s\n", cli_sanitize(a.pos[0], name, sizeof name),
                cli_sanitize(a.pos[1], plan, sizeof plan));
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

/* `config policy NAME`: the config's rollout policy (docs/policies.md). */
static int config_policy(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 1, 1, &rc);
    const struct cg_obj *o;
    char name[128], by[128];

    if (!c) {
        return rc;
    }
    rc = cg_policy_get(c, a.pos[0], &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, a.pos[0]);
    }
    o = cg_result_obj(r);
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else if (!cg_obj_str(o, "updated_at")[0]) {
        fprintf(ctx->out, "config %s has no policy: any plan may be used\n",
                cli_sanitize(a.pos[0], name, sizeof name));
    } else {
        cli_print_kv(ctx->out, "config:", cli_sanitize(a.pos[0], name, sizeof name));
        cli_print_kv(ctx->out,
                     "updated by:", cli_sanitize(cg_obj_str(o, "updated_by"), by, sizeof by));
        cli_print_kv(ctx->out, "updated:", cg_obj_str(o, "updated_at"));
        if (!cg_obj_bool(o, "valid", 1)) {
            cli_print_kv(ctx->out, "valid:",
                         "no: it does not validate any more, rollouts are held; set it again");
        }
        fprintf(ctx->out, "policy (normalized):\n");
        cli_print_json_field(ctx->out, o, cg_obj_bool(o, "valid", 1) ? "policy" : "document");
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

/* `config set-policy NAME FILE -m REASON` and `config clear-policy NAME
 * -m REASON`. */
static int policy_change(struct cli_ctx *ctx, int argc, char **argv, int set)
{
    const char *message = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "message", 'm', CLI_OPT_STR,  &message },
        { NULL,      0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    char *doc = NULL, name[128];
    size_t len = 0;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, set ? 2 : 1, set ? 2 : 1, &rc);

    if (!c) {
        return rc;
    }
    if (!message || !message[0]) {
        return cli_usage_error(ctx, "a policy change needs -m REASON (it is audited)");
    }
    if (set) {
        doc = cli_read_input(ctx, a.pos[1], CLI_MAX_INPUT, &len);
        if (!doc) {
            return CLI_EXIT_USAGE;
        }
        rc = cg_policy_set(c, a.pos[0], doc, len, message, &r, &e);
    } else {
        rc = cg_policy_clear(c, a.pos[0], message, &r, &e);
    }
    free(doc);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e,
                             set ? "cannot set the policy" : "cannot clear the policy");
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        fprintf(ctx->out, set ? "config %s: policy set\n" : "config %s: policy removed\n",
                cli_sanitize(a.pos[0], name, sizeof name));
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int config_set_policy(struct cli_ctx *ctx, int argc, char **argv)
{
    return policy_change(ctx, argc, argv, 1);
}

static int config_clear_policy(struct cli_ctx *ctx, int argc, char **argv)
{
    return policy_change(ctx, argc, argv, 0);
}

/* Prints the strings of the array field of o, space-separated, sanitized. */
static void print_names(struct cli_ctx *ctx, const struct cg_obj *o, const char *field)
{
    char *text = cg_obj_dup_json(o, field, 0);
    json_t *arr = text ? json_loads(text, 0, NULL) : NULL, *v;
    size_t i;

    json_array_foreach(arr, i, v)
    {
        char id[128];
        fprintf(ctx->out, " %s", cli_sanitize(json_string_value(v), id, sizeof id));
    }
    json_decref(arr);
    cg_free(text);
}

/* Prints a scope view {"config","scope","cells","outside"}. */
static void print_scope(struct cli_ctx *ctx, const struct cg_obj *o)
{
    char name[128], scope[1024];

    fprintf(ctx->out, "config %s: ", cli_sanitize(cg_obj_str(o, "config"), name, sizeof name));
    if (!cg_obj_child(o, "scope")) {
        fprintf(ctx->out, "every cell (no scope)\n");
    } else {
        fprintf(ctx->out, "scope %s\n",
                cli_sanitize(cg_obj_text(o, "scope", scope, sizeof scope), name, sizeof name));
    }
    fprintf(ctx->out, "cells in its fleet (%zu):", (size_t)cg_obj_int(o, "ncells", 0));
    print_names(ctx, o, "cells");
    fprintf(ctx->out, "\n");
    if (cg_obj_int(o, "noutside", 0) > 0) {
        fprintf(ctx->out, "outside, still assigned (they keep it, get nothing new):");
        print_names(ctx, o, "outside");
        fprintf(ctx->out, "\n");
    }
}

/* `config scope NAME`. */
static int config_scope(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 1, 1, &rc);

    if (!c) {
        return rc;
    }
    rc = cg_config_scope(c, a.pos[0], &r, &e);
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot read the scope")) >= 0) {
        return rc;
    }
    print_scope(ctx, cg_result_obj(r));
    cg_result_free(r);
    return CLI_EXIT_OK;
}

/* The list l as a JSON array under key of obj (nothing when empty). */
static void scope_list(json_t *obj, const char *key, const struct cli_list *l)
{
    json_t *arr;

    if (l->n == 0 || !(arr = json_array())) {
        return;
    }
    for (int i = 0; i < l->n; i++) {
        json_array_append_new(arr, json_string(l->v[i]));
    }
    json_object_set_new(obj, key, arr);
}

/* `config set-scope NAME [--region R]... [--zone Z]... [--cell C]...
 * [--label k=v]... | --all  -m REASON`. */
static int config_set_scope(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_list regions = {0}, zones = {0}, cells = {0}, labels = {0};
    const char *message = NULL;
    bool all = false;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "region",  0,   CLI_OPT_LIST, &regions },
        { "zone",    0,   CLI_OPT_LIST, &zones },
        { "cell",    0,   CLI_OPT_LIST, &cells },
        { "label",   0,   CLI_OPT_LIST, &labels },
        { "all",     0,   CLI_OPT_FLAG, &all },
        { "message", 'm', CLI_OPT_STR,  &message },
        { NULL,      0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    json_t *sel = NULL, *lab;
    char *text = NULL;
    int rc, none;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 1, 1, &rc);

    if (!c) {
        return rc;
    }
    none = regions.n + zones.n + cells.n + labels.n == 0;
    if (!message || !message[0]) {
        return cli_usage_error(ctx, "a scope change needs -m REASON (it is audited)");
    }
    if (all == !none) {
        return cli_usage_error(ctx, "give --all, or at least one of --region, --zone, --cell and "
                                    "--label");
    }
    if (!all) {
        sel = json_object();
        lab = json_object();
        scope_list(sel, "regions", &regions);
        scope_list(sel, "zones", &zones);
        scope_list(sel, "cells", &cells);
        for (int i = 0; i < labels.n; i++) {
            const char *eq = strchr(labels.v[i], '=');
            char key[128];
            if (!eq || eq == labels.v[i] || (size_t)(eq - labels.v[i]) >= sizeof key) {
                json_decref(sel);
                json_decref(lab);
                return cli_usage_error(ctx, "--label wants key=value, not '%s'", labels.v[i]);
            }
            memcpy(key, labels.v[i], (size_t)(eq - labels.v[i]));
            key[eq - labels.v[i]] = '\0';
            json_object_set_new(lab, key, json_string(eq + 1));
        }
        if (labels.n) {
            json_object_set(sel, "labels", lab);
        }
        json_decref(lab);
        text = sel ? json_dumps(sel, JSON_COMPACT) : NULL;
        json_decref(sel);
        if (!text) {
            return cli_usage_error(ctx, "out of memory");
        }
    }
    rc = cg_config_set_scope(c, a.pos[0], text, message, &r, &e);
    free(text);
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot set the scope")) >= 0) {
        return rc;
    }
    print_scope(ctx, cg_result_obj(r));
    cg_result_free(r);
    return CLI_EXIT_OK;
}

/* `config set-contract NAME FILE -m REASON [--force]`: the next contract
 * version (docs/contracts.md "Contract versions"). */
static int config_set_contract(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *message = NULL;
    bool force = false;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "message", 'm', CLI_OPT_STR,  &message },
        { "force",   0,   CLI_OPT_FLAG, &force },
        { NULL,      0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    char *doc, name[128];
    size_t len = 0;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 2, 2, &rc);

    if (!c) {
        return rc;
    }
    if (!message || !message[0]) {
        return cli_usage_error(ctx, "a contract change needs -m REASON (it is audited)");
    }
    doc = cli_read_input(ctx, a.pos[1], CLI_MAX_INPUT, &len);
    if (!doc) {
        return CLI_EXIT_USAGE;
    }
    rc = cg_config_set_contract(c, a.pos[0], doc, len, force, message, &r, &e);
    free(doc);
    cli_sanitize(a.pos[0], name, sizeof name);
    if (rc != CG_OK && r && cg_result_count(r) > 0) {
        if (ctx->json) {
            cli_print_json(ctx, r);
        } else {
            cli_print_violations(ctx, ctx->out, r);
        }
        cli_error(ctx,
                  "contract not changed: the live version of %s violates it (--force with "
                  "-m stores it anyway)",
                  name);
        cg_result_free(r);
        return CLI_EXIT_FAIL;
    }
    if (rc != CG_OK) {
        cg_result_free(r);
        return cli_api_error(ctx, rc, &e, "cannot change the contract");
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        const struct cg_obj *o = cg_result_obj(r);
        if (!cg_obj_bool(o, "changed", 0)) {
            fprintf(ctx->out, "config %s: the contract is unchanged (version %" PRId64 ")\n", name,
                    cg_obj_int(o, "contract_version", 0));
        } else {
            fprintf(ctx->out, "config %s: contract version %" PRId64 " (was %" PRId64 ")%s\n", name,
                    cg_obj_int(o, "contract_version", 0), cg_obj_int(o, "previous_version", 0),
                    cg_obj_bool(o, "forced", 0) ? ", forced: the live version violates it" : "");
        }
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

/* `config contracts NAME`: every contract version, oldest first. */
static int config_contracts(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"VERSION", "CREATED", "ACTOR", "FORCED", "SHA256", "REASON"};
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 1, 1, &rc);

    if (!c) {
        return rc;
    }
    rc = cg_config_contracts(c, a.pos[0], &r, &e);
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot list the contracts")) >= 0) {
        return rc;
    }
    cli_table_init(&t, 6, head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char num[24], created[32], sha[16];
        const char *actor = cg_obj_str(o, "actor");
        const char *row[] = {
            num_or_dash(cg_obj_int(o, "number", 0), num, sizeof num),
            cli_short_time(cg_obj_str(o, "created_at"), created, sizeof created),
            actor[0] ? actor : "-",
            cg_obj_bool(o, "forced", 0) ? "yes" : "no",
            sha,
            cg_obj_str(o, "reason"),
        };
        snprintf(sha, sizeof sha, "%.12s", cg_obj_str(o, "sha256"));
        cli_table_add(&t, row);
    }
    cli_table_print(&t, ctx->out);
    cli_table_release(&t);
    cg_result_free(r);
    return CLI_EXIT_OK;
}

int cmd_config(struct cli_ctx *ctx, int argc, char **argv)
{
    /* clang-format off */
    static const struct cli_sub subs[] = {
        { "clear-policy", config_clear_policy },
        { "contracts",    config_contracts },
        { "create",       config_create },
        { "list",         config_list },
        { "policy",       config_policy },
        { "scope",        config_scope },
        { "set-contract", config_set_contract },
        { "set-plan",     config_set_plan },
        { "set-policy",   config_set_policy },
        { "set-scope",    config_set_scope },
        { "show",         config_show },
    };
    /* clang-format on */

    return cli_run_sub(ctx, argc, argv, subs, CG_ARRAY_SIZE(subs));
}
