/* SPDX-License-Identifier: MIT */
/*
 * cmd_notify.c - `cellgate notify add|list|remove|test|log`: where the
 * server sends rollout, kill switch and audit events (docs/notifications.md).
 * A sink's secret is read from a file (--secret-file), never from the
 * command line (it would land in shell history and ps).
 */
#include <cellgate/cellgate.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

#define SECRET_MAX 1024

static int notify_add(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *url = NULL, *events = NULL, *format = "json", *secret_file = NULL, *config = NULL;
    const char *message = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "url",         0,   CLI_OPT_STR,  &url },
        { "events",      0,   CLI_OPT_STR,  &events },
        { "format",      0,   CLI_OPT_STR,  &format },
        { "secret-file", 0,   CLI_OPT_STR,  &secret_file },
        { "config",      0,   CLI_OPT_STR,  &config },
        { "message",     'm', CLI_OPT_STR,  &message },
        { NULL,          0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    char *secret = NULL;
    size_t len = 0;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 1, 1, &rc);

    if (!c) {
        return rc;
    }
    if (!url || !events) {
        return cli_usage_error(ctx, "notify add needs --url and --events");
    }
    if (secret_file) {
        secret = cli_read_input(ctx, secret_file, SECRET_MAX, &len);
        if (!secret) {
            return CLI_EXIT_USAGE;
        }
        while (len > 0 && (secret[len - 1] == '\n' || secret[len - 1] == '\r')) {
            secret[--len] = '\0'; /* a file written by echo */
        }
    }
    rc = cg_notify_sink_add(c, a.pos[0], url, format, events, config, secret, message, &r, &e);
    if (secret) {
        memset(secret, 0, len);
        free(secret);
    }
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot add the sink");
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        char name[128];
        fprintf(ctx->out, "added sink %s\n", cli_sanitize(a.pos[0], name, sizeof name));
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

/* The "events" array of a sink as "a,b". */
static const char *events_text(const struct cg_obj *o, char *buf, size_t size)
{
    char *json = cg_obj_dup_json(o, "events", 0);
    size_t used = 0;

    buf[0] = '\0';
    for (const char *p = json ? json : ""; *p && used + 1 < size; p++) {
        if (*p != '[' && *p != ']' && *p != '"') {
            buf[used++] = *p;
        }
    }
    buf[used] = '\0';
    cg_free(json);
    return buf;
}

static int notify_list(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"NAME",   "FORMAT", "EVENTS",     "CONFIG",
                                       "SECRET", "URL",    "CREATED_BY", "CREATED"};
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 0, 0, &rc);

    if (!c) {
        return rc;
    }
    rc = cg_notify_sinks_list(c, &r, &e);
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot list the sinks")) >= 0) {
        return rc;
    }
    cli_table_init(&t, 8, head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char events[600], created[32];
        const char *config = cg_obj_str(o, "config");
        const char *row[] = {
            cg_obj_str(o, "name"),
            cg_obj_str(o, "format"),
            events_text(o, events, sizeof events),
            config[0] ? config : "*",
            cg_obj_bool(o, "secret", 0) ? "yes" : "no",
            cg_obj_str(o, "url"),
            cg_obj_str(o, "created_by"),
            cli_short_time(cg_obj_str(o, "created_at"), created, sizeof created),
        };
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int notify_remove(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *message = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "message", 'm', CLI_OPT_STR,  &message },
        { NULL,      0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_error e = {0};
    char name[128];
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 1, 1, &rc);

    if (!c) {
        return rc;
    }
    rc = cg_notify_sink_remove(c, a.pos[0], message, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot remove the sink");
    }
    fprintf(ctx->out, "removed sink %s\n", cli_sanitize(a.pos[0], name, sizeof name));
    return CLI_EXIT_OK;
}

static int notify_test(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    struct cg_error e = {0};
    char name[128];
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 1, 1, &rc);

    if (!c) {
        return rc;
    }
    rc = cg_notify_sink_test(c, a.pos[0], &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot queue the test event");
    }
    cli_sanitize(a.pos[0], name, sizeof name);
    fprintf(ctx->out, "queued a test event for sink %s; see: cellgate notify log %s\n", name, name);
    return CLI_EXIT_OK;
}

static int notify_log(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"TIME", "EVENT", "ATTEMPT", "STATUS", "RESULT", "ERROR"};
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 1, 1, &rc);

    if (!c) {
        return rc;
    }
    rc = cg_notify_sink_log(c, a.pos[0], &r, &e);
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot read the delivery log")) >= 0) {
        return rc;
    }
    cli_table_init(&t, 6, head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char when[32], attempt[24], status[24];
        const char *err = cg_obj_str(o, "error");
        const char *row[] = {
            cli_short_time(cg_obj_str(o, "time"), when, sizeof when),
            cg_obj_str(o, "event"),
            cg_obj_text(o, "attempt", attempt, sizeof attempt),
            cg_obj_text(o, "status", status, sizeof status),
            cg_obj_bool(o, "ok", 0) ? "sent" : "failed",
            err[0] ? err : "-",
        };
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    cg_result_free(r);
    return CLI_EXIT_OK;
}

int cmd_notify(struct cli_ctx *ctx, int argc, char **argv)
{
    /* clang-format off */
    static const struct cli_sub subs[] = {
        { "add",    notify_add },
        { "list",   notify_list },
        { "log",    notify_log },
        { "remove", notify_remove },
        { "test",   notify_test },
    };
    /* clang-format on */

    return cli_run_sub(ctx, argc, argv, subs, CG_ARRAY_SIZE(subs));
}
