/* SPDX-License-Identifier: MIT */
/*
 * cmd_rollout.c - `cellgate rollout start|status|list|watch|pause|resume|
 * abort|approve` and `cellgate rollback`: the rollout engine's commands.
 * The human output is built by rollout_fmt.c.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "rollout_fmt.h"
#include "util.h"

#define WATCH_DEFAULT_MS 1000
#define WATCH_MIN_MS     50
#define WATCH_MAX_MS     3600000

/* Parses a rollout id argument; prints a usage error and returns -1. */
static int64_t rollout_id(struct cli_ctx *ctx, const char *s)
{
    long long id = cli_parse_number(s);

    if (id <= 0) {
        cli_usage_error(ctx, "'%s' is not a rollout id", s);
        return -1;
    }
    return id;
}

/* Prints a status answer of a write: the JSON, or "<verb> " + header. */
static void print_outcome(struct cli_ctx *ctx, const struct cg_result *r, const char *verb)
{
    char line[1024], out[1024];

    if (ctx->json) {
        cli_print_json(ctx, r);
        return;
    }
    cli_fmt_rollout_header(cg_result_obj(r), line, sizeof line);
    fprintf(ctx->out, "%s%s\n", verb, cli_sanitize(line, out, sizeof out));
}

static int rollout_start(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *plan = NULL, *reason = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "plan",    0,   CLI_OPT_STR,  &plan },
        { "message", 'm', CLI_OPT_STR,  &reason },
        { NULL,      0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, opts, &a, 2, 2, &done);
    struct cg_client *c;
    long long version;

    if (done) {
        return rc;
    }
    version = cli_parse_number(a.pos[1]);
    if (version <= 0) {
        return cli_usage_error(ctx, "'%s' is not a version number", a.pos[1]);
    }
    if (!reason || !reason[0]) {
        return cli_usage_error(ctx, "rollout start needs -m REASON");
    }
    c = cli_client(ctx, &rc);
    if (!c) {
        return rc;
    }
    rc = cg_rollout_start(c, a.pos[0], version, plan, reason, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "rollout not started");
    }
    print_outcome(ctx, r, "started ");
    if (!ctx->json) {
        fprintf(ctx->out, "follow it with: cellgate rollout watch %" PRId64 "\n",
                cg_obj_int(cg_result_obj(r), "id", 0));
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int rollout_status(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, NULL, &a, 1, 1, &rc);
    int64_t id;

    if (!c) {
        return rc;
    }
    id = rollout_id(ctx, a.pos[0]);
    if (id < 0) {
        return CLI_EXIT_USAGE;
    }
    rc = cg_rollout_get(c, id, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "rollout status");
    }
    if (ctx->json) {
        cli_print_json(ctx, r);
    } else {
        cli_print_rollout(ctx->out, cg_result_obj(r), CLI_STATUS_EVENTS, ctx->color_out);
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

/* The STEP column of `rollout list`: "N/TOTAL" as `rollout status` counts
 * (1-based; a completed rollout's index is past its last step, so it shows
 * TOTAL/TOTAL); only "N" from a server that does not send steps_total. */
static void list_step(const struct cg_obj *o, char *buf, size_t size)
{
    int64_t step = cg_obj_int(o, "step", 0), total = cg_obj_int(o, "steps_total", -1);

    if (total < 0) {
        snprintf(buf, size, "%" PRId64, step + 1);
    } else if (total == 0) {
        snprintf(buf, size, "-");
    } else {
        snprintf(buf, size, "%" PRId64 "/%" PRId64, step < total ? step + 1 : total, total);
    }
}

static int rollout_list(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"ID", "CONFIG",      "KIND",       "FROM",
                                       "TO", "STATE",       "STEP",       "CREATED",
                                       "BY", "+STEP_INDEX", "+EXPEDITED", "+CREATED_AT"};
    const char *config = NULL;
    bool open_only = false;
    struct cli_page pg = {0};
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "config", 0, CLI_OPT_STR,  &config },
        { "open",   0, CLI_OPT_FLAG, &open_only },
        { "limit",  0, CLI_OPT_INT,  &pg.limit },
        { "after",  0, CLI_OPT_STR,  &pg.after },
        { NULL,     0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    char more[160];
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 0, 0, &rc);

    if (!c) {
        return rc;
    }
    if ((rc = cli_page_check(ctx, &pg)) != 0) {
        return rc;
    }
    if (cli_page_one(&pg)) {
        rc = cg_rollouts_page(c, config, open_only, pg.after, (int)pg.limit, &r, &e);
    } else {
        rc = cg_rollouts_list(c, config, open_only, &r, &e);
    }
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot list rollouts")) >= 0) {
        return rc;
    }
    cli_table_init(&t, (int)CG_ARRAY_SIZE(head), head);
    for (size_t i = 0; i < cg_result_count(r); i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char id[24], from[24], to[24], step[24], created[32], kind[64], index[24];
        const char *row[] = {
            id,
            cg_obj_str(o, "config"),
            kind,
            from,
            to,
            cg_obj_str(o, "state"),
            step,
            cli_short_time(cg_obj_str(o, "created_at"), created, sizeof created),
            cg_obj_str(o, "created_by"),
            index,
            cg_obj_bool(o, "expedited", 0) ? "yes" : "no",
            cg_obj_str(o, "created_at"),
        };
        _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(head), "a cell per column");
        snprintf(id, sizeof id, "%" PRId64, cg_obj_int(o, "id", 0));
        snprintf(kind, sizeof kind, "%s%s", cg_obj_str(o, "kind"),
                 cg_obj_bool(o, "expedited", 0) ? " (expedited)" : "");
        snprintf(from, sizeof from, "%" PRId64, cg_obj_int(o, "from_version", 0));
        snprintf(to, sizeof to, "%" PRId64, cg_obj_int(o, "to_version", 0));
        list_step(o, step, sizeof step);
        snprintf(index, sizeof index, "%" PRId64, cg_obj_int(o, "step", 0));
        if (cg_obj_int(o, "from_version", 0) == 0) {
            snprintf(from, sizeof from, "-");
        }
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    snprintf(more, sizeof more, "rollout list%s%s%s", config ? " --config " : "",
             config ? config : "", open_only ? " --open" : "");
    cli_page_more(ctx, &pg, r, more);
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Columns of the terminal on fd, or 0 if unknown. */
static int term_cols(int fd)
{
    struct winsize ws;

    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        return ws.ws_col;
    }
    return 0;
}

/* State of the plain (not a terminal) output between polls. */
struct watch_plain {
    int64_t last_seq; /* newest event printed */
    char state[64];   /* state last printed */
    char key[256];    /* what the last progress line said (see progress_key) */
    int64_t line_ms;  /* when it was printed */
    bool header;      /* header printed */
};

/* A progress line is printed again only when something that matters
 * changed (or every WATCH_PLAIN_EVERY_MS): not for every new request or
 * second of bake, so that logs of long bakes stay short. */
#define WATCH_PLAIN_EVERY_MS 30000

static void progress_key(const struct cg_obj *st, size_t i, char *buf, size_t size)
{
    const struct cg_obj *ev = cg_obj_child(st, "evaluation");
    const struct cg_obj *step = cg_obj_array_get(st, "steps", i);
    bool mine = ev && cg_obj_int(ev, "step", -1) == (int64_t)i;

    snprintf(buf, size, "%zu|%s|%" PRId64 "/%" PRId64 "|%s|%d|%d", i, cli_step_mark(st, i),
             mine ? cg_obj_int(ev, "converged", 0) : -1, mine ? cg_obj_int(ev, "hosts", 0) : -1,
             mine ? cg_obj_str(ev, "verdict") : "", mine ? cg_obj_bool(ev, "baked", 0) : -1,
             mine ? cg_obj_int(ev, "wave_requests", 0) >= cg_obj_int(step, "min_requests", 0) : -1);
}

/* Plain output: the header once, every new event, the current step's
 * progress line whenever it changes, and state changes. */
static void watch_plain(FILE *f, const struct cg_obj *st, struct watch_plain *w, int64_t now_ms)
{
    const char *state = cg_obj_str(st, "state");
    size_t nev = cg_obj_array_size(st, "events");
    int64_t step = cg_obj_int(st, "step", 0);
    char buf[1024], out[1200];

    if (!w->header) {
        cli_fmt_rollout_header(st, buf, sizeof buf);
        fprintf(f, "%s\n", cli_sanitize(buf, out, sizeof out));
        w->header = true;
        cg_strlcpy(w->state, state, sizeof w->state);
    }
    for (size_t i = 0; i < nev; i++) {
        const struct cg_obj *ev = cg_obj_array_get(st, "events", i);
        int64_t seq = cg_obj_int(ev, "seq", 0);
        char t[32];
        if (seq <= w->last_seq) {
            continue;
        }
        w->last_seq = seq;
        cli_fmt_event(ev, buf, sizeof buf);
        fprintf(f, "%s  %s\n", cli_short_time(cg_obj_str(ev, "time"), t, sizeof t),
                cli_sanitize(buf, out, sizeof out));
    }
    if (strcmp(w->state, state) != 0 && !cli_rollout_ended(state)) {
        cg_strlcpy(w->state, state, sizeof w->state);
        fprintf(f, "state: %s\n", cli_fmt_rollout_state(st, buf, sizeof buf));
    }
    if (!cli_rollout_ended(state) && step >= 0 && (size_t)step < cg_obj_array_size(st, "steps")) {
        char key[256];
        progress_key(st, (size_t)step, key, sizeof key);
        if (strcmp(key, w->key) != 0 || now_ms - w->line_ms >= WATCH_PLAIN_EVERY_MS) {
            cg_strlcpy(w->key, key, sizeof w->key);
            w->line_ms = now_ms;
            fprintf(f, "%s\n", cli_fmt_step_line(st, (size_t)step, buf, sizeof buf));
        }
    }
}

static int rollout_watch(struct cli_ctx *ctx, int argc, char **argv)
{
    long interval = WATCH_DEFAULT_MS;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "interval", 0, CLI_OPT_INT,  &interval },
        { NULL,       0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct watch_plain plain = {0};
    int rc, drawn = 0;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 1, 1, &rc);
    bool tty;
    int64_t id;

    if (!c) {
        return rc;
    }
    id = rollout_id(ctx, a.pos[0]);
    if (id < 0) {
        return CLI_EXIT_USAGE;
    }
    if (interval < WATCH_MIN_MS || interval > WATCH_MAX_MS) {
        return cli_usage_error(ctx, "--interval must be %d..%d ms", WATCH_MIN_MS, WATCH_MAX_MS);
    }
    tty = !ctx->json && isatty(fileno(ctx->out));
    for (;;) {
        struct cg_result *r = NULL;
        struct cg_error e = {0};
        const struct cg_obj *st;
        const char *state;
        bool ended;

        rc = cg_rollout_get(c, id, &r, &e);
        if (rc != CG_OK) {
            return cli_api_error(ctx, rc, &e, "rollout watch");
        }
        st = cg_result_obj(r);
        state = cg_obj_str(st, "state");
        ended = cli_rollout_ended(state);
        if (ctx->json) {
            /* JSON Lines: one compact status per poll (YAML: one document each) */
            char *line = cg_obj_dup_json(st, NULL, 0);
            cli_emit_json_text(ctx, line ? line : "{}", line ? strlen(line) : 2, true);
            cg_free(line);
        } else if (tty) {
            int cols = term_cols(fileno(ctx->out));
            if (drawn > 0) {
                fprintf(ctx->out, "\x1b[%dA\r\x1b[J", drawn);
            }
            drawn = cli_print_watch_frame(ctx->out, st, cols > 1 ? cols - 1 : 0);
        } else {
            watch_plain(ctx->out, st, &plain, cg_mono_ms());
        }
        if (ended) {
            int code = cli_rollout_exit(state);
            if (!ctx->json) {
                char buf[128];
                fprintf(ctx->out, "rollout %" PRId64 " ", id);
                cli_put_verdict(ctx, cli_sanitize(state, buf, sizeof buf), 0);
                fputc('\n', ctx->out);
            }
            cg_result_free(r);
            return code;
        }
        cg_result_free(r);
        if (fflush(ctx->out) != 0) {
            return CLI_EXIT_FAIL;
        }
        sleep_ms(interval);
    }
}

/* pause / resume / abort / approve */
typedef int action_fn(struct cg_client *c, int64_t id, const char *reason, struct cg_result **out,
                      struct cg_error *err);

static int rollout_action(struct cli_ctx *ctx, int argc, char **argv, action_fn *fn,
                          const char *done_verb)
{
    const char *reason = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "message", 'm', CLI_OPT_STR,  &reason },
        { NULL,      0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 1, 1, &rc);
    char what[64];
    int64_t id;

    if (!c) {
        return rc;
    }
    id = rollout_id(ctx, a.pos[0]);
    if (id < 0) {
        return CLI_EXIT_USAGE;
    }
    rc = fn(c, id, reason, &r, &e);
    if (rc != CG_OK) {
        snprintf(what, sizeof what, "cannot %s rollout %" PRId64, argv[0], id);
        return cli_api_error(ctx, rc, &e, what);
    }
    print_outcome(ctx, r, done_verb);
    cg_result_free(r);
    return CLI_EXIT_OK;
}

static int rollout_pause(struct cli_ctx *ctx, int argc, char **argv)
{
    return rollout_action(ctx, argc, argv, cg_rollout_pause, "paused ");
}

static int rollout_resume(struct cli_ctx *ctx, int argc, char **argv)
{
    return rollout_action(ctx, argc, argv, cg_rollout_resume, "resumed ");
}

static int rollout_abort(struct cli_ctx *ctx, int argc, char **argv)
{
    return rollout_action(ctx, argc, argv, cg_rollout_abort, "aborted ");
}

static int rollout_approve(struct cli_ctx *ctx, int argc, char **argv)
{
    return rollout_action(ctx, argc, argv, cg_rollout_approve, "approved ");
}

int cmd_rollout(struct cli_ctx *ctx, int argc, char **argv)
{
    /* clang-format off */
    static const struct cli_sub subs[] = {
        { "abort",   rollout_abort },
        { "approve", rollout_approve },
        { "list",    rollout_list },
        { "pause",   rollout_pause },
        { "resume",  rollout_resume },
        { "start",   rollout_start },
        { "status",  rollout_status },
        { "watch",   rollout_watch },
    };
    /* clang-format on */

    return cli_run_sub(ctx, argc, argv, subs, CG_ARRAY_SIZE(subs));
}

int cmd_rollback(struct cli_ctx *ctx, int argc, char **argv)
{
    long to = -1;
    const char *reason = NULL;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "to",      0,   CLI_OPT_INT,  &to },
        { "message", 'm', CLI_OPT_STR,  &reason },
        { NULL,      0,   CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, opts, &a, 1, 1, &done);
    struct cg_client *c;

    if (done) {
        return rc;
    }
    if (to == 0) {
        return cli_usage_error(ctx, "--to wants a version number (>= 1)");
    }
    if (!reason || !reason[0]) {
        return cli_usage_error(ctx, "rollback needs -m REASON");
    }
    c = cli_client(ctx, &rc);
    if (!c) {
        return rc;
    }
    rc = cg_config_rollback(c, a.pos[0], to > 0 ? to : 0, reason, &r, &e);
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "rollback refused");
    }
    print_outcome(ctx, r, cg_result_http_status(r) == 201 ? "started " : "rolling back: ");
    if (!ctx->json && cg_obj_int(cg_result_obj(r), "undoes_rollout", 0) > 0) {
        fprintf(ctx->out,
                "chose version %" PRId64 ": the version rollout %" PRId64
                " (the newest completed one) started from\n",
                cg_obj_int(cg_result_obj(r), "to_version", 0),
                cg_obj_int(cg_result_obj(r), "undoes_rollout", 0));
    }
    if (!ctx->json) {
        fprintf(ctx->out, "follow it with: cellgate rollout watch %" PRId64 "\n",
                cg_obj_int(cg_result_obj(r), "id", 0));
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}
