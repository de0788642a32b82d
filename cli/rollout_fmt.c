/* SPDX-License-Identifier: MIT */
/*
 * rollout_fmt.c - human output for rollouts, plan previews and rollout
 * watch frames (see rollout_fmt.h). Lines are built into bounded buffers
 * with app() and sanitized as a whole before they are written.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rollout_fmt.h"
#include "util.h"

/* Appends to buf (size bytes, *used so far); truncates silently. */
static void app(char *buf, size_t size, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void app(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*used + 1 >= size) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(buf + *used, size - *used, fmt, ap);
    va_end(ap);
    if (n < 0) {
        buf[*used] = '\0';
        return;
    }
    *used += (size_t)n < size - *used ? (size_t)n : size - *used - 1;
}

/* Writes a line (sanitized) followed by a newline. */
static void put_line(FILE *f, const char *raw)
{
    char line[2048];

    fprintf(f, "%s\n", cli_sanitize(raw, line, sizeof line));
}

bool cli_rollout_ended(const char *state)
{
    static const char *const ended[] = {"completed", "rolled_back", "halted", "aborted"};

    for (size_t i = 0; i < CG_ARRAY_SIZE(ended); i++) {
        if (state && strcmp(state, ended[i]) == 0) {
            return true;
        }
    }
    return false;
}

int cli_rollout_exit(const char *state)
{
    return state && strcmp(state, "completed") == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

const char *cli_fmt_duration(int64_t s, char *buf, size_t size)
{
    if (s < 0) {
        snprintf(buf, size, "-");
    } else if (s < 60) {
        snprintf(buf, size, "%" PRId64 "s", s);
    } else if (s < 3600) {
        snprintf(buf, size, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    } else if (s < 86400) {
        snprintf(buf, size, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
    } else {
        snprintf(buf, size, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
    }
    return buf;
}

const char *cli_fmt_bar(double frac, int width, char *buf, size_t size)
{
    size_t used = 0;
    int fill;

    if (!(frac > 0)) { /* also NaN */
        frac = 0;
    }
    if (frac > 1) {
        frac = 1;
    }
    if (width < 1) {
        width = 1;
    }
    fill = (int)floor(frac * width + 1e-9);
    buf[0] = '\0';
    app(buf, size, &used, "[");
    for (int i = 0; i < width; i++) {
        app(buf, size, &used, "%c", i < fill ? '#' : '-');
    }
    app(buf, size, &used, "]");
    return buf;
}

const char *cli_fmt_value(const struct cg_obj *o, const char *field, char *buf, size_t size)
{
    char text[128];
    char *end;
    double v;

    cg_obj_text(o, field, text, sizeof text);
    if (!text[0] || strcmp(text, "null") == 0) {
        snprintf(buf, size, "-");
        return buf;
    }
    v = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(v)) {
        return cli_sanitize(text, buf, size);
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, size, "%.0f", v);
    } else {
        snprintf(buf, size, "%.4g", v);
    }
    return buf;
}

const char *cli_fmt_list(const struct cg_obj *o, const char *field, size_t max, char *buf,
                         size_t size)
{
    size_t n = cg_obj_array_size(o, field), used = 0;
    char *json = cg_obj_dup_json(o, field, 0);
    size_t shown = 0;

    buf[0] = '\0';
    if (!json) {
        return buf;
    }
    /* The public getters have no "string element i", so walk the compact
     * JSON of the array and take its string literals (ids and names,
     * which never contain escapes; an escape is shown as sent). */
    for (const char *p = json; *p && shown < max;) {
        const char *q;
        if (*p != '"') {
            p++;
            continue;
        }
        p++;
        q = p;
        while (*q && *q != '"') {
            q += (*q == '\\' && q[1]) ? 2 : 1;
        }
        app(buf, size, &used, "%s%.*s", shown ? "," : "", (int)(q - p), p);
        shown++;
        p = *q ? q + 1 : q;
    }
    if (n > shown) {
        app(buf, size, &used, "%s+%zu", shown ? " " : "", n - shown);
    }
    cg_free(json);
    return buf;
}

const char *cli_fmt_zones(const struct cg_obj *step, size_t max, char *buf, size_t size)
{
    size_t n = cg_obj_array_size(step, "zones"), used = 0, i;

    buf[0] = '\0';
    for (i = 0; i < n && i < max; i++) {
        const struct cg_obj *z = cg_obj_array_get(step, "zones", i);
        app(buf, size, &used, "%s%s/%s", i ? "," : "", cg_obj_str(z, "region"),
            cg_obj_str(z, "zone"));
    }
    if (n > i) {
        app(buf, size, &used, " +%zu", n - i);
    }
    return buf;
}

const char *cli_step_mark(const struct cg_obj *st, size_t i)
{
    const char *state = cg_obj_str(st, "state");
    int64_t cur = cg_obj_int(st, "step", 0);

    if (strcmp(state, "completed") == 0 || (int64_t)i < cur) {
        return "done";
    }
    if ((int64_t)i > cur) {
        return cli_rollout_ended(state) ? "not run" : "pending";
    }
    if (cli_rollout_ended(state)) {
        return state;
    }
    if (strcmp(state, "waiting_approval") == 0) {
        return "approval";
    }
    if (strcmp(state, "paused") == 0) {
        return "paused";
    }
    if (strcmp(state, "rolling_back") == 0) {
        return "rolling back";
    }
    return "current";
}

const char *cli_fmt_event(const struct cg_obj *ev, char *buf, size_t size)
{
    const struct cg_obj *d = cg_obj_child(ev, "detail");
    size_t used = 0;
    const char *sep = ": ";
    char list[256];

    buf[0] = '\0';
    app(buf, size, &used, "%s", cg_obj_str(ev, "kind"));
    if (cg_obj_has(d, "step")) {
        app(buf, size, &used, "%sstep %" PRId64, sep, cg_obj_int(d, "step", 0) + 1);
        sep = ", ";
        if (cg_obj_str(d, "wave")[0]) {
            app(buf, size, &used, " (%s)", cg_obj_str(d, "wave"));
        }
    }
    if (cg_obj_has(d, "version")) {
        app(buf, size, &used, "%sversion %" PRId64, sep, cg_obj_int(d, "version", 0));
        sep = ", ";
    }
    if (cg_obj_has(d, "to_version")) {
        /* In a rolled_back event, to_version is the rollout's target: the
         * version withdrawn, not the one cells returned to. */
        app(buf, size, &used,
            strcmp(cg_obj_str(ev, "kind"), "rolled_back") == 0 ? "%sversion %" PRId64 " withdrawn"
                                                               : "%sto version %" PRId64,
            sep, cg_obj_int(d, "to_version", 0));
        sep = ", ";
    }
    if (cg_obj_array_size(d, "cells") > 0 || cg_obj_array_size(d, "cell_ids") > 0) {
        const char *k = cg_obj_array_size(d, "cells") > 0 ? "cells" : "cell_ids";
        app(buf, size, &used, "%scells %s", sep, cli_fmt_list(d, k, 8, list, sizeof list));
        sep = ", ";
    } else if (cg_obj_has(d, "cells") && cg_obj_int(d, "cells", -1) >= 0) {
        app(buf, size, &used, "%s%" PRId64 " cells", sep, cg_obj_int(d, "cells", 0));
        sep = ", ";
    }
    if (cg_obj_str(d, "summary")[0]) {
        app(buf, size, &used, "%s%s", sep, cg_obj_str(d, "summary"));
        sep = ", ";
    } else if (cg_obj_str(d, "verdict")[0]) {
        app(buf, size, &used, "%s%s", sep, cg_obj_str(d, "verdict"));
        sep = ", ";
    }
    if (cg_obj_str(d, "by")[0]) {
        app(buf, size, &used, "%sby %s", sep, cg_obj_str(d, "by"));
        sep = ", ";
    }
    if (cg_obj_str(d, "reason")[0]) {
        app(buf, size, &used, "%sreason: %s", sep, cg_obj_str(d, "reason"));
        sep = ", ";
    }
    if (cg_obj_str(d, "note")[0]) {
        app(buf, size, &used, "%s%s", sep, cg_obj_str(d, "note"));
    }
    return buf;
}

/* The evaluation of a status when it is about step i, else NULL. */
static const struct cg_obj *eval_of(const struct cg_obj *st, size_t i)
{
    const struct cg_obj *ev = cg_obj_child(st, "evaluation");

    if (!ev || cg_obj_int(ev, "step", -1) != (int64_t)i) {
        return NULL;
    }
    return ev;
}

/* The gates array of an evaluation ("gates", or "records"). */
static const char *gates_key(const struct cg_obj *eval)
{
    return cg_obj_array_size(eval, "gates") > 0 ? "gates" : "records";
}

/* "pass", or "inconclusive: convergence,requests" (the gates not passed). */
static void gate_verdicts(const struct cg_obj *eval, char *buf, size_t size)
{
    const char *key = gates_key(eval);
    size_t used = 0, n = cg_obj_array_size(eval, key), bad = 0;
    const char *verdict = cg_obj_str(eval, "verdict");

    buf[0] = '\0';
    app(buf, size, &used, "%s", verdict[0] ? verdict : "?");
    for (size_t i = 0; i < n; i++) {
        const struct cg_obj *g = cg_obj_array_get(eval, key, i);
        if (strcmp(cg_obj_str(g, "verdict"), "pass") == 0) {
            continue;
        }
        app(buf, size, &used, "%s%s", bad++ ? "," : ": ", cg_obj_str(g, "gate"));
    }
}

const char *cli_fmt_step_line(const struct cg_obj *st, size_t i, char *buf, size_t size)
{
    const struct cg_obj *step = cg_obj_array_get(st, "steps", i);
    const struct cg_obj *ev = eval_of(st, i);
    const char *mark = cli_step_mark(st, i);
    size_t total = cg_obj_array_size(st, "steps"), used = 0;
    int64_t ncells = (int64_t)cg_obj_array_size(step, "cells");
    char raw[1024], bar[CLI_BAR_WIDTH + 4], a[32], b[32];
    double frac = 0;

    raw[0] = '\0';
    app(raw, sizeof raw, &used, "step %" PRId64 "/%zu %s", cg_obj_int(step, "step", (int64_t)i + 1),
        total, cg_obj_str(step, "wave_name"));
    if (cg_obj_int(step, "parts", 1) > 1) {
        app(raw, sizeof raw, &used, " (%" PRId64 "/%" PRId64 ")", cg_obj_int(step, "part", 1),
            cg_obj_int(step, "parts", 1));
    }
    if (strcmp(mark, "done") == 0) {
        frac = 1;
    } else if (ev && cg_obj_int(ev, "hosts", 0) > 0) {
        frac = (double)cg_obj_int(ev, "converged", 0) / (double)cg_obj_int(ev, "hosts", 1);
    }
    app(raw, sizeof raw, &used, "  %s  %s", cli_fmt_bar(frac, CLI_BAR_WIDTH, bar, sizeof bar),
        mark);
    if (ev) {
        int64_t window_s = cg_obj_int(ev, "window_ms", 0) / 1000;
        char verdicts[256];
        gate_verdicts(ev, verdicts, sizeof verdicts);
        app(raw, sizeof raw, &used, "  hosts %" PRId64 "/%" PRId64, cg_obj_int(ev, "converged", 0),
            cg_obj_int(ev, "hosts", 0));
        app(raw, sizeof raw, &used, "  bake %s/%s", cli_fmt_duration(window_s, a, sizeof a),
            cli_fmt_duration(cg_obj_int(step, "bake_s", 0), b, sizeof b));
        app(raw, sizeof raw, &used, "  requests %" PRId64 "/%" PRId64,
            cg_obj_int(ev, "wave_requests", 0), cg_obj_int(step, "min_requests", 0));
        app(raw, sizeof raw, &used, "  gates %s", verdicts);
    } else {
        app(raw, sizeof raw, &used, "  %" PRId64 " cell%s", ncells, ncells == 1 ? "" : "s");
        if (strcmp(mark, "pending") == 0 || strcmp(mark, "approval") == 0 ||
            strcmp(mark, "current") == 0) {
            app(raw, sizeof raw, &used, "  bake %s",
                cli_fmt_duration(cg_obj_int(step, "bake_s", 0), a, sizeof a));
            if (cg_obj_int(step, "min_requests", 0) > 0) {
                app(raw, sizeof raw, &used, "  min_requests %" PRId64,
                    cg_obj_int(step, "min_requests", 0));
            }
            if (cg_obj_bool(step, "approval", 0)) {
                app(raw, sizeof raw, &used, "  needs approval");
            }
        }
    }
    return cli_sanitize(raw, buf, size);
}

void cli_print_gates(FILE *f, const struct cg_obj *eval, bool color)
{
    static const char *const head[] = {"GATE", "WAVE", "BASELINE", "THRESHOLD", "TEST", "VERDICT"};
    const char *key = gates_key(eval);
    struct cli_table t;

    cli_table_init(&t, 6, head);
    for (size_t i = 0; i < cg_obj_array_size(eval, key); i++) {
        const struct cg_obj *g = cg_obj_array_get(eval, key, i);
        char w[48], bl[48], th[48];
        const char *test = cg_obj_str(g, "test");
        const char *row[] = {
            cg_obj_str(g, "gate"),
            cli_fmt_value(g, "wave_value", w, sizeof w),
            cli_fmt_value(g, "baseline_value", bl, sizeof bl),
            cli_fmt_value(g, "threshold", th, sizeof th),
            test[0] ? test : "-",
            cg_obj_str(g, "verdict"),
        };
        _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(head), "a cell per column");
        cli_table_add(&t, row);
    }
    cli_table_print_color(&t, f, color);
    cli_table_release(&t);
}

/* "cfg 1 -> 2" with "none" for version 0. */
static void versions_text(const struct cg_obj *st, char *buf, size_t size)
{
    int64_t from = cg_obj_int(st, "from_version", 0);
    size_t used = 0;

    buf[0] = '\0';
    if (from > 0) {
        app(buf, size, &used, "%" PRId64, from);
    } else {
        app(buf, size, &used, "none");
    }
    app(buf, size, &used, " -> %" PRId64, cg_obj_int(st, "to_version", 0));
}

const char *cli_fmt_rollout_state(const struct cg_obj *st, char *buf, size_t size)
{
    size_t used = 0, total = cg_obj_array_size(st, "steps");
    int64_t step = cg_obj_int(st, "step", 0);
    const char *state = cg_obj_str(st, "state");

    buf[0] = '\0';
    app(buf, size, &used, "%s", state);
    if (!cli_rollout_ended(state) && (size_t)step < total) {
        app(buf, size, &used, ", step %" PRId64 "/%zu", step + 1, total);
        if (cg_obj_str(st, "step_state")[0]) {
            app(buf, size, &used, " (%s)", cg_obj_str(st, "step_state"));
        }
    }
    return buf;
}

const char *cli_fmt_rollout_header(const struct cg_obj *st, char *buf, size_t size)
{
    char vers[64], state[128];
    size_t used = 0;

    versions_text(st, vers, sizeof vers);
    cli_fmt_rollout_state(st, state, sizeof state);
    buf[0] = '\0';
    app(buf, size, &used, "rollout %" PRId64 ": %s %s (%s", cg_obj_int(st, "id", 0),
        cg_obj_str(st, "config"), vers, cg_obj_str(st, "kind"));
    if (cg_obj_str(st, "plan")[0]) {
        app(buf, size, &used, ", plan %s", cg_obj_str(st, "plan"));
    }
    if (cg_obj_bool(st, "expedited", 0)) {
        app(buf, size, &used, ", expedited");
    }
    app(buf, size, &used, "): %s", state);
    return buf;
}

/* The wave's cells (worst first, at most 10) and the outliers of an
 * evaluation, when it has them. */
static void print_cells(FILE *f, const struct cg_obj *ev, bool color)
{
    static const char *const head[] = {"CELL",   "REQUESTS",   "ERROR_RATE", "P99_MS",
                                       "BEFORE", "BEFORE_P99", "OUTLIER"};
    size_t n = cg_obj_array_size(ev, "cells"), nout = cg_obj_array_size(ev, "outliers");
    struct cli_table t;
    char line[1024];

    if (n > 0) {
        cli_table_init(&t, 7, head);
        for (size_t i = 0; i < n && i < 10; i++) {
            const struct cg_obj *c = cg_obj_array_get(ev, "cells", i);
            char rq[32], er[48], p99[48], be[48], bp[48];
            const char *row[] = {
                cg_obj_str(c, "cell"),
                cli_fmt_value(c, "requests", rq, sizeof rq),
                cli_fmt_value(c, "error_rate", er, sizeof er),
                cli_fmt_value(c, "p99_ms", p99, sizeof p99),
                cli_fmt_value(c, "before_error_rate", be, sizeof be),
                cli_fmt_value(c, "before_p99_ms", bp, sizeof bp),
                cg_obj_bool(c, "outlier", 0) ? "yes" : "-",
            };
            _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(head), "a cell per column");
            cli_table_add(&t, row);
        }
        cli_table_print_color(&t, f, color);
        cli_table_release(&t);
        if (n > 10) {
            snprintf(line, sizeof line, "  (%zu more cells; --json shows them)", n - 10);
            put_line(f, line);
        }
    }
    for (size_t i = 0; i < nout; i++) {
        const struct cg_obj *o = cg_obj_array_get(ev, "outliers", i);
        char raw[512];
        snprintf(raw, sizeof raw, "  outlier %s: %s", cg_obj_str(o, "cell"),
                 cg_obj_str(o, "reason"));
        put_line(f, cli_sanitize(raw, line, sizeof line));
    }
}

/* The evaluation block: headline, summary, figures, gate table. */
static void print_evaluation(FILE *f, const struct cg_obj *st, const struct cg_obj *ev, bool color)
{
    const struct cg_obj *step = cg_obj_array_get(st, "steps", (size_t)cg_obj_int(ev, "step", 0));
    char line[1024], t[32], a[32], b[32];
    size_t used = 0;

    line[0] = '\0';
    app(line, sizeof line, &used, "evaluation of step %" PRId64, cg_obj_int(ev, "step", 0) + 1);
    if (cg_obj_str(ev, "evaluated_at")[0]) {
        app(line, sizeof line, &used, " at %s",
            cli_short_time(cg_obj_str(ev, "evaluated_at"), t, sizeof t));
    }
    app(line, sizeof line, &used, ": %s", cg_obj_str(ev, "verdict"));
    put_line(f, line);
    if (cg_obj_str(ev, "summary")[0]) {
        used = 0;
        app(line, sizeof line, &used, "  %s", cg_obj_str(ev, "summary"));
        put_line(f, line);
    }
    used = 0;
    app(line, sizeof line, &used,
        "  hosts %" PRId64 "/%" PRId64 " converged, bake %s/%s, requests %" PRId64 "/%" PRId64,
        cg_obj_int(ev, "converged", 0), cg_obj_int(ev, "hosts", 0),
        cli_fmt_duration(cg_obj_int(ev, "window_ms", 0) / 1000, a, sizeof a),
        cli_fmt_duration(cg_obj_int(ev, "bake_s", cg_obj_int(step, "bake_s", 0)), b, sizeof b),
        cg_obj_int(ev, "wave_requests", 0), cg_obj_int(step, "min_requests", 0));
    if (cg_obj_has(ev, "baseline_requests")) {
        const char *kind = cg_obj_str(ev, "baseline");
        if (!kind[0]) {
            kind = cg_obj_str(ev, "baseline_kind");
        }
        app(line, sizeof line, &used, ", baseline %" PRId64 " requests",
            cg_obj_int(ev, "baseline_requests", 0));
        if (kind[0]) {
            app(line, sizeof line, &used, " (%s)", kind);
        }
    }
    put_line(f, line);
    cli_print_gates(f, ev, color);
    print_cells(f, ev, color);
}

/* The newest 'max' events, oldest of them first. */
static void print_events(FILE *f, const struct cg_obj *st, size_t max, const char *indent)
{
    size_t n = cg_obj_array_size(st, "events");
    size_t from = n > max ? n - max : 0;

    for (size_t i = from; i < n; i++) {
        const struct cg_obj *ev = cg_obj_array_get(st, "events", i);
        const char *time = cg_obj_str(ev, "time");
        char text[1024], line[1200], t[32];
        cli_fmt_event(ev, text, sizeof text);
        cli_short_time(time, t, sizeof t);
        snprintf(line, sizeof line, "%s%s  %s", indent, t, text);
        put_line(f, line);
    }
}

void cli_print_rollout(FILE *f, const struct cg_obj *st, size_t max_events, bool color)
{
    static const char *const head[] = {"STEP",    "WAVE",  "PART", "STATE",        "CELLS",
                                       "REGIONS", "ZONES", "BAKE", "MIN_REQUESTS", "APPROVAL"};
    const struct cg_obj *ev = cg_obj_child(st, "evaluation");
    size_t nsteps = cg_obj_array_size(st, "steps"), nev = cg_obj_array_size(st, "events");
    char line[1024], buf[256], t[32];
    struct cli_table tab;

    cli_fmt_rollout_header(st, line, sizeof line);
    put_line(f, line);
    cli_fmt_rollout_state(st, buf, sizeof buf);
    cli_print_kv(f, "state:", buf);
    snprintf(line, sizeof line, "%s by %s",
             cli_short_time(cg_obj_str(st, "created_at"), t, sizeof t),
             cg_obj_str(st, "created_by"));
    cli_print_kv(f, "created:", line);
    if (cg_obj_str(st, "plan")[0] && cg_obj_int(st, "plan_version", 0) > 0) {
        /* the plan version it ran (docs/plans.md "Plan versions") */
        snprintf(line, sizeof line, "%s version %" PRId64, cg_obj_str(st, "plan"),
                 cg_obj_int(st, "plan_version", 0));
        cli_print_kv(f, "plan:", line);
    }
    if (cg_obj_str(st, "reason")[0]) {
        cli_print_kv(f, "reason:", cg_obj_str(st, "reason"));
    }
    if (cg_obj_has(st, "ended_at")) {
        cli_print_kv(f, "ended:", cli_short_time(cg_obj_str(st, "ended_at"), t, sizeof t));
    }
    if (cg_obj_str(st, "held")[0]) {
        cli_print_kv(f, "held:", cg_obj_str(st, "held"));
    }
    if (strcmp(cg_obj_str(st, "state"), "waiting_approval") == 0) {
        snprintf(line, sizeof line,
                 "cellgate rollout approve %" PRId64 " (an approver other than %s)",
                 cg_obj_int(st, "id", 0), cg_obj_str(st, "created_by"));
        cli_print_kv(f, "next:", line);
    }
    fputc('\n', f);

    cli_table_init(&tab, 10, head);
    for (size_t i = 0; i < nsteps; i++) {
        const struct cg_obj *s = cg_obj_array_get(st, "steps", i);
        char num[24], part[48], cells[256], regions[256], zones[256], bake[32], minreq[24];
        const char *row[] = {
            num,
            cg_obj_str(s, "wave_name"),
            part,
            cli_step_mark(st, i),
            cli_fmt_list(s, "cells", 6, cells, sizeof cells),
            cli_fmt_list(s, "regions", 6, regions, sizeof regions),
            cli_fmt_zones(s, 6, zones, sizeof zones),
            cli_fmt_duration(cg_obj_int(s, "bake_s", 0), bake, sizeof bake),
            minreq,
            cg_obj_bool(s, "approval", 0) ? "yes" : "-",
        };
        _Static_assert(CG_ARRAY_SIZE(row) == CG_ARRAY_SIZE(head), "a cell per column");
        snprintf(num, sizeof num, "%" PRId64, cg_obj_int(s, "step", (int64_t)i + 1));
        snprintf(part, sizeof part, "%" PRId64 "/%" PRId64, cg_obj_int(s, "part", 1),
                 cg_obj_int(s, "parts", 1));
        snprintf(minreq, sizeof minreq, "%" PRId64, cg_obj_int(s, "min_requests", 0));
        cli_table_add(&tab, row);
    }
    cli_table_print_color(&tab, f, color);
    cli_table_release(&tab);

    if (ev) {
        fputc('\n', f);
        print_evaluation(f, st, ev, color);
    }
    if (nev > 0 && max_events > 0) {
        fputc('\n', f);
        if (nev > max_events) {
            fprintf(f, "events (newest %zu of %zu):\n", max_events, nev);
        } else {
            fprintf(f, "events:\n");
        }
        print_events(f, st, max_events, "  ");
    }
}

/* Writes 'raw' sanitized and cut at 'cols' characters (UTF-8 aware). */
static void put_cut(FILE *f, const char *raw, int cols)
{
    char line[2048];
    int w = 0;

    cli_sanitize(raw, line, sizeof line);
    for (char *p = line; *p; p++) {
        if (((unsigned char)*p & 0xc0) != 0x80) {
            if (cols > 0 && w == cols) {
                *p = '\0';
                break;
            }
            w++;
        }
    }
    fprintf(f, "%s\n", line);
}

int cli_print_watch_frame(FILE *f, const struct cg_obj *st, int cols)
{
    const struct cg_obj *ev = cg_obj_child(st, "evaluation");
    size_t nsteps = cg_obj_array_size(st, "steps");
    char line[2048];
    int lines = 0;

    cli_fmt_rollout_header(st, line, sizeof line);
    put_cut(f, line, cols);
    lines++;
    if (cg_obj_str(st, "held")[0]) {
        snprintf(line, sizeof line, "  held: %s", cg_obj_str(st, "held"));
        put_cut(f, line, cols);
        lines++;
    }
    for (size_t i = 0; i < nsteps; i++) {
        char step[1024];
        snprintf(line, sizeof line, "  %s", cli_fmt_step_line(st, i, step, sizeof step));
        put_cut(f, line, cols);
        lines++;
    }
    if (ev && !cli_rollout_ended(cg_obj_str(st, "state"))) {
        const char *key = gates_key(ev);
        for (size_t i = 0; i < cg_obj_array_size(ev, key); i++) {
            const struct cg_obj *g = cg_obj_array_get(ev, key, i);
            char w[48], b[48], t[48];
            snprintf(line, sizeof line, "    %-18s %-12s wave %s  baseline %s  threshold %s",
                     cg_obj_str(g, "gate"), cg_obj_str(g, "verdict"),
                     cli_fmt_value(g, "wave_value", w, sizeof w),
                     cli_fmt_value(g, "baseline_value", b, sizeof b),
                     cli_fmt_value(g, "threshold", t, sizeof t));
            put_cut(f, line, cols);
            lines++;
        }
    }
    {
        size_t n = cg_obj_array_size(st, "events");
        size_t from = n > 3 ? n - 3 : 0;
        for (size_t i = from; i < n; i++) {
            const struct cg_obj *e = cg_obj_array_get(st, "events", i);
            char text[1024], t[32];
            cli_fmt_event(e, text, sizeof text);
            snprintf(line, sizeof line, "  %s  %s",
                     cli_short_time(cg_obj_str(e, "time"), t, sizeof t), text);
            put_cut(f, line, cols);
            lines++;
        }
    }
    return lines;
}

void cli_print_preview(FILE *f, const char *plan, const struct cg_obj *pv)
{
    const struct cg_obj *fleet = cg_obj_child(pv, "fleet");
    size_t nsteps = cg_obj_array_size(pv, "steps"), nnotes = cg_obj_array_size(pv, "notes");
    char line[2048], order[512];
    size_t used = 0;

    line[0] = '\0';
    app(line, sizeof line, &used,
        "plan %s: %zu step%s over %" PRId64 " cells in %" PRId64 " regions, %" PRId64 " zones",
        plan, nsteps, nsteps == 1 ? "" : "s", cg_obj_int(fleet, "cells", 0),
        cg_obj_int(fleet, "regions", 0), cg_obj_int(fleet, "zones", 0));
    if (cg_obj_int(fleet, "done", 0) > 0) {
        app(line, sizeof line, &used, " (%" PRId64 " already done)", cg_obj_int(fleet, "done", 0));
    }
    put_line(f, line);
    cli_fmt_list(pv, "region_order", 32, order, sizeof order);
    if (order[0]) {
        cli_print_kv(f, "region order:", order);
    }
    if (cg_obj_str(pv, "seed")[0]) {
        cli_print_kv(f, "seed:", cg_obj_str(pv, "seed"));
    }
    for (size_t i = 0; i < nsteps; i++) {
        const struct cg_obj *s = cg_obj_array_get(pv, "steps", i);
        int64_t ncells = (int64_t)cg_obj_array_size(s, "cells");
        char list[1024], bake[32];

        fputc('\n', f);
        used = 0;
        line[0] = '\0';
        app(line, sizeof line, &used, "step %" PRId64 "/%zu  wave %s",
            cg_obj_int(s, "step", (int64_t)i + 1), nsteps, cg_obj_str(s, "wave_name"));
        if (cg_obj_int(s, "parts", 1) > 1) {
            app(line, sizeof line, &used, " (part %" PRId64 "/%" PRId64 ")",
                cg_obj_int(s, "part", 1), cg_obj_int(s, "parts", 1));
        }
        app(line, sizeof line, &used, "  %" PRId64 " cell%s, %" PRId64 "/%" PRId64 " covered",
            ncells, ncells == 1 ? "" : "s", cg_obj_int(s, "covered", 0),
            cg_obj_int(fleet, "cells", 0));
        put_line(f, line);
        cli_print_kv(f, "  cells:", cli_fmt_list(s, "cells", 24, list, sizeof list));
        cli_print_kv(f, "  regions:", cli_fmt_list(s, "regions", 24, list, sizeof list));
        cli_print_kv(f, "  zones:", cli_fmt_zones(s, 24, list, sizeof list));
        snprintf(line, sizeof line, "%s, min_requests %" PRId64 "%s",
                 cli_fmt_duration(cg_obj_int(s, "bake_s", 0), bake, sizeof bake),
                 cg_obj_int(s, "min_requests", 0),
                 cg_obj_bool(s, "approval", 0) ? ", needs approval" : "");
        cli_print_kv(f, "  bake:", line);
        cli_print_kv(f, "  constraint:", cg_obj_str(s, "constraint"));
    }
    if (nnotes > 0) {
        fprintf(f, "\nnotes:\n");
        for (size_t i = 0; i < nnotes; i++) {
            const struct cg_obj *n = cg_obj_array_get(pv, "notes", i);
            used = 0;
            line[0] = '\0';
            app(line, sizeof line, &used, "  %s", cg_obj_str(n, "kind"));
            if (cg_obj_str(n, "wave_name")[0]) {
                app(line, sizeof line, &used, " (%s)", cg_obj_str(n, "wave_name"));
            }
            app(line, sizeof line, &used, ": %s", cg_obj_str(n, "message"));
            put_line(f, line);
        }
    }
}
