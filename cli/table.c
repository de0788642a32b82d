/* SPDX-License-Identifier: MIT */
/*
 * table.c - aligned text tables for human output. Widths count UTF-8
 * code points, so non-ASCII names stay aligned in a UTF-8 terminal.
 * cli_table_emit() is how every command prints its tables: the -o wide
 * columns and the colour of state columns are decided here, once.
 */
#include <cellgate/cellgate.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

void cli_table_init(struct cli_table *t, int ncols, const char *const *head)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols > CLI_TABLE_MAX_COLS ? CLI_TABLE_MAX_COLS : ncols;
    for (int i = 0; i < t->ncols; i++) {
        t->wide[i] = head[i][0] == '+';
        t->head[i] = head[i] + (t->wide[i] ? 1 : 0);
    }
}

int cli_table_add(struct cli_table *t, const char *const *row)
{
    size_t base;

    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **cells = realloc(t->cells, cap * (size_t)t->ncols * sizeof *cells);
        if (!cells) {
            return -1;
        }
        t->cells = cells;
        t->cap = cap;
    }
    base = t->nrows * (size_t)t->ncols;
    for (int i = 0; i < t->ncols; i++) {
        const char *s = row[i] ? row[i] : "";
        size_t n = strlen(s);
        char *copy = malloc(n + 1);
        if (!copy) {
            for (int j = 0; j < i; j++) {
                free(t->cells[base + (size_t)j]);
            }
            return -1;
        }
        cli_sanitize(s, copy, n + 1);
        t->cells[base + (size_t)i] = copy;
    }
    t->nrows++;
    return 0;
}

/* Display width: UTF-8 code points. */
static size_t width(const char *s)
{
    size_t w = 0;

    for (; *s; s++) {
        if (((unsigned char)*s & 0xc0) != 0x80) {
            w++;
        }
    }
    return w;
}

/* How one print shows a table. */
struct view {
    bool show[CLI_TABLE_MAX_COLS];  /* column shown */
    bool state[CLI_TABLE_MAX_COLS]; /* coloured by its words */
    bool color;
};

static void print_row(FILE *f, const struct cli_table *t, const char *const *cells, const size_t *w,
                      const struct view *v, bool head)
{
    int last = -1; /* last non-empty shown column: no padding after it */

    for (int i = 0; i < t->ncols; i++) {
        if (v->show[i] && cells[i] && cells[i][0]) {
            last = i;
        }
    }
    for (int i = 0; i <= last; i++) {
        const char *s = cells[i] ? cells[i] : "";
        enum cli_color c = head ? CLI_COLOR_BOLD : v->state[i] ? cli_color_of(s) : CLI_COLOR_NONE;
        if (!v->show[i]) {
            continue;
        }
        cli_color_puts(f, v->color, c, s);
        if (i < last) {
            for (size_t pad = width(s); pad < w[i] + 2; pad++) {
                fputc(' ', f);
            }
        }
    }
    fputc('\n', f);
}

static void print_view(const struct cli_table *t, FILE *f, const struct view *v)
{
    size_t w[CLI_TABLE_MAX_COLS] = {0};

    for (int i = 0; i < t->ncols; i++) {
        w[i] = width(t->head[i]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t cw = width(t->cells[r * (size_t)t->ncols + (size_t)i]);
            if (cw > w[i]) {
                w[i] = cw;
            }
        }
    }
    print_row(f, t, t->head, w, v, true);
    for (size_t r = 0; r < t->nrows; r++) {
        print_row(f, t, (const char *const *)&t->cells[r * (size_t)t->ncols], w, v, false);
    }
}

void cli_table_print(const struct cli_table *t, FILE *f)
{
    struct view v = {.color = false};

    for (int i = 0; i < t->ncols; i++) {
        v.show[i] = true;
    }
    print_view(t, f, &v);
}

/* Columns whose words are states or verdicts. */
static bool state_column(const char *head);

void cli_table_print_color(const struct cli_table *t, FILE *f, bool color)
{
    struct view v = {.color = color};

    for (int i = 0; i < t->ncols; i++) {
        v.show[i] = true;
        v.state[i] = state_column(t->head[i]);
    }
    print_view(t, f, &v);
}

/* Columns whose words are states or verdicts. */
static bool state_column(const char *head)
{
    static const char *const names[] = {"STATE", "OUTCOME", "VERDICT", "STATUS", "RESULT"};

    for (size_t i = 0; i < CG_ARRAY_SIZE(names); i++) {
        if (strcmp(head, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

void cli_table_emit(struct cli_ctx *ctx, const struct cli_table *t)
{
    struct view v = {.color = ctx->color_out};

    for (int i = 0; i < t->ncols; i++) {
        v.show[i] = !t->wide[i] || ctx->output == CLI_OUT_WIDE;
        v.state[i] = state_column(t->head[i]);
    }
    print_view(t, ctx->out, &v);
}

void cli_table_release(struct cli_table *t)
{
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++) {
        free(t->cells[i]);
    }
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}
