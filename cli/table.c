/* SPDX-License-Identifier: MIT */
/*
 * table.c - aligned text tables for human output. Widths count UTF-8
 * code points, so non-ASCII names stay aligned in a UTF-8 terminal.
 */
#include <cellgate/cellgate.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_table_init(struct cli_table *t, int ncols, const char *const *head)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols > CLI_TABLE_MAX_COLS ? CLI_TABLE_MAX_COLS : ncols;
    for (int i = 0; i < t->ncols; i++) {
        t->head[i] = head[i];
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

static void print_row(FILE *f, const struct cli_table *t, const char *const *cells, const size_t *w)
{
    int last = 0; /* last non-empty column: no padding after it */

    for (int i = 0; i < t->ncols; i++) {
        if (cells[i] && cells[i][0]) {
            last = i;
        }
    }
    for (int i = 0; i <= last; i++) {
        const char *s = cells[i] ? cells[i] : "";
        fputs(s, f);
        if (i < last) {
            for (size_t pad = width(s); pad < w[i] + 2; pad++) {
                fputc(' ', f);
            }
        }
    }
    fputc('\n', f);
}

void cli_table_print(const struct cli_table *t, FILE *f)
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
    print_row(f, t, t->head, w);
    for (size_t r = 0; r < t->nrows; r++) {
        print_row(f, t, (const char *const *)&t->cells[r * (size_t)t->ncols], w);
    }
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
