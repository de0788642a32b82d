/* SPDX-License-Identifier: MIT */
/*
 * store_file.c: the dump file of `cellgated dump`, `load` and `migrate`
 * (docs/operations.md, "Dumps, migration and restore"): JSON Lines,
 *
 *   {"format":"cellgate-dump","version":1,"created_ms":N}
 *   {"t":"cells","r":{...}}                      one line per row, in load order
 *   ...
 *   {"end":{"rows":N,"audit_records":M,"audit_head":"<hash>"}}
 *
 * Reading checks everything before the load commits: the header, each line
 * (at most STORE_FILE_LINE_MAX bytes), each row's table and columns (the
 * backend's load), the audit chain recomputed as its rows stream by, and
 * the trailer's counts and head. A truncated or edited file loads nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "json.h"
#include "store.h"
#include "util.h"

#define FORMAT_NAME    "cellgate-dump"
#define FORMAT_VERSION 1

struct writer {
    FILE *f;
    int64_t rows, audits;
    char head[65];
    int failed;
};

static int write_line(FILE *f, json_t *v)
{
    char *s = cg_json_dump(v);
    int rc = s && fputs(s, f) >= 0 && fputc('\n', f) != EOF ? 0 : -1;

    free(s);
    return rc;
}

static int emit(void *ctx, const struct store_table *t, json_t *row)
{
    struct writer *w = ctx;
    json_t *line = json_pack("{s:s, s:O}", "t", t->name, "r", row);
    int rc = line ? write_line(w->f, line) : -1;

    json_decref(line);
    if (rc < 0) {
        w->failed = 1;
        return CG_ERR_IO;
    }
    w->rows++;
    if (strcmp(t->name, "audit") == 0) {
        const char *h = json_string_value(json_object_get(row, "hash"));
        cg_strlcpy(w->head, h ? h : "", sizeof w->head);
        w->audits++;
    }
    return 0;
}

int store_dump_file(struct store *st, FILE *f, int64_t *rows, char *msg)
{
    struct writer w = {f, 0, 0, CG_AUDIT_GENESIS, 0};
    json_t *v = json_pack("{s:s, s:i, s:I}", "format", FORMAT_NAME, "version", FORMAT_VERSION,
                          "created_ms", (json_int_t)cg_now_ms());
    int rc = v && write_line(f, v) == 0 ? CG_OK : CG_ERR_IO;

    json_decref(v);
    if (rc == CG_OK)
        rc = store_dump(st, emit, &w, msg);
    if (rc == CG_OK) {
        v = json_pack("{s:{s:I, s:I, s:s}}", "end", "rows", (json_int_t)w.rows, "audit_records",
                      (json_int_t)w.audits, "audit_head", w.head);
        rc = v && write_line(f, v) == 0 ? CG_OK : CG_ERR_IO;
        json_decref(v);
    }
    if (rc == CG_OK && (fflush(f) != 0 || ferror(f)))
        rc = CG_ERR_IO;
    if (rc == CG_ERR_IO && (w.failed || ferror(f)) && msg)
        snprintf(msg, STORE_MSG_MAX, "cannot write the dump: %s", strerror(errno));
    if (rows)
        *rows = w.rows;
    return rc;
}

struct reader {
    FILE *f;
    struct cg_buf line;
    json_t *cur; /* the row line handed out last */
    int64_t lineno, rows, audits;
    char prev[65];
    int ended;
    char err[STORE_MSG_MAX];
};

/* Reads one line (without '\n') into r->line. 1, 0 at EOF, -1 too long or
 * a read error (r->err set). */
static int read_line(struct reader *r)
{
    char chunk[8192];

    r->line.len = 0;
    if (r->line.data)
        r->line.data[0] = '\0';
    for (;;) {
        size_t n;
        if (!fgets(chunk, sizeof chunk, r->f)) {
            if (ferror(r->f)) {
                snprintf(r->err, sizeof r->err, "cannot read the dump: %s", strerror(errno));
                return -1;
            }
            return r->line.len > 0 ? 1 : 0;
        }
        n = strlen(chunk);
        if (n > 0 && chunk[n - 1] == '\n') {
            if (cg_buf_append(&r->line, chunk, n - 1) != 0)
                goto too_long;
            return 1;
        }
        if (cg_buf_append(&r->line, chunk, n) != 0)
            goto too_long;
    }
too_long:
    snprintf(r->err, sizeof r->err, "line %lld: longer than %d bytes (or no memory)",
             (long long)r->lineno + 1, STORE_FILE_LINE_MAX);
    return -1;
}

static json_t *parse(struct reader *r)
{
    json_t *v = NULL;

    r->lineno++;
    if (cg_json_parse(r->line.data, r->line.len, 0, 64, &v, NULL, 0) != CG_JSON_OK ||
        !json_is_object(v)) {
        json_decref(v);
        snprintf(r->err, sizeof r->err, "line %lld: not a JSON object", (long long)r->lineno);
        return NULL;
    }
    return v;
}

/* The audit row's hash must chain on r->prev and match its fields. */
static int check_audit(struct reader *r, json_t *row)
{
    char h[65];
    struct cg_audit_fields f = {
        r->prev,
        json_integer_value(json_object_get(row, "seq")),
        json_integer_value(json_object_get(row, "time_ms")),
        json_string_value(json_object_get(row, "actor")),
        json_string_value(json_object_get(row, "action")),
        json_string_value(json_object_get(row, "object")),
        json_string_value(json_object_get(row, "before")),
        json_string_value(json_object_get(row, "after")),
        json_string_value(json_object_get(row, "reason")),
    };
    const char *hash = json_string_value(json_object_get(row, "hash"));
    const char *prev = json_string_value(json_object_get(row, "prev_hash"));

    if (!f.actor || !f.action || !f.object || !f.before || !f.after || !f.reason || !hash ||
        !prev || f.seq != r->audits + 1 || strcmp(prev, r->prev) != 0) {
        snprintf(r->err, sizeof r->err, "line %lld: audit record %lld does not follow the chain",
                 (long long)r->lineno, (long long)f.seq);
        return -1;
    }
    cg_audit_hash(&f, h);
    if (strcmp(h, hash) != 0) {
        snprintf(r->err, sizeof r->err, "line %lld: audit record %lld: hash mismatch (edited)",
                 (long long)r->lineno, (long long)f.seq);
        return -1;
    }
    cg_strlcpy(r->prev, hash, sizeof r->prev);
    r->audits++;
    return 0;
}

/* The trailer: counts and head must match what streamed by. */
static int check_end(struct reader *r, json_t *end)
{
    const char *head = json_string_value(json_object_get(end, "audit_head"));

    if (!json_is_integer(json_object_get(end, "rows")) ||
        json_integer_value(json_object_get(end, "rows")) != r->rows ||
        json_integer_value(json_object_get(end, "audit_records")) != r->audits || !head ||
        strcmp(head, r->prev) != 0) {
        snprintf(r->err, sizeof r->err,
                 "the trailer does not match the rows (%lld rows, %lld audit records read)",
                 (long long)r->rows, (long long)r->audits);
        return -1;
    }
    return 0;
}

static int next(void *ctx, const struct store_table **t, json_t **row)
{
    struct reader *r = ctx;
    json_t *v, *end;
    int got;

    json_decref(r->cur);
    r->cur = NULL;
    if (r->ended)
        return 0;
    got = read_line(r);
    if (got <= 0) {
        if (got == 0)
            snprintf(r->err, sizeof r->err, "the dump ends without its trailer (truncated)");
        return CG_ERR_INVALID;
    }
    v = parse(r);
    if (!v)
        return CG_ERR_INVALID;
    end = json_object_get(v, "end");
    if (end) {
        int bad = check_end(r, end);
        json_decref(v);
        if (bad)
            return CG_ERR_INVALID;
        r->ended = 1;
        if (read_line(r) != 0) {
            snprintf(r->err, sizeof r->err, "line %lld: data after the trailer",
                     (long long)r->lineno + 1);
            return CG_ERR_INVALID;
        }
        return 0;
    }
    *t = store_table_find(json_string_value(json_object_get(v, "t")));
    *row = json_object_get(v, "r");
    if (!*t || !json_is_object(*row) || json_object_size(v) != 2) {
        snprintf(r->err, sizeof r->err, "line %lld: not a row of a known table",
                 (long long)r->lineno);
        json_decref(v);
        return CG_ERR_INVALID;
    }
    if (strcmp((*t)->name, "audit") == 0 && check_audit(r, *row) < 0) {
        json_decref(v);
        return CG_ERR_INVALID;
    }
    r->rows++;
    r->cur = v;
    return 1;
}

int store_load_file(struct store *st, FILE *f, int64_t *rows, char *msg)
{
    struct reader r;
    json_t *h;
    int rc;

    memset(&r, 0, sizeof r);
    r.f = f;
    r.line.max = STORE_FILE_LINE_MAX;
    cg_strlcpy(r.prev, CG_AUDIT_GENESIS, sizeof r.prev);
    if (read_line(&r) != 1 || !(h = parse(&r))) {
        if (!r.err[0])
            snprintf(r.err, sizeof r.err, "empty file: not a cellgate dump");
        rc = CG_ERR_INVALID;
        goto out;
    }
    if (strcmp(json_string_value(json_object_get(h, "format"))
                   ? json_string_value(json_object_get(h, "format"))
                   : "",
               FORMAT_NAME) != 0 ||
        json_integer_value(json_object_get(h, "version")) != FORMAT_VERSION) {
        json_decref(h);
        snprintf(r.err, sizeof r.err, "not a cellgate dump of format version %d", FORMAT_VERSION);
        rc = CG_ERR_INVALID;
        goto out;
    }
    json_decref(h);
    rc = store_load(st, next, &r, msg);
    if (rc == CG_OK && !r.ended) {
        /* cannot happen: next() returns 0 only after the trailer */
        snprintf(r.err, sizeof r.err, "the dump ends without its trailer");
        rc = CG_ERR_INVALID;
    }
out:
    if (r.err[0] && msg)
        snprintf(msg, STORE_MSG_MAX, "%s", r.err);
    json_decref(r.cur);
    cg_buf_free(&r.line);
    if (rows)
        *rows = r.rows;
    return rc;
}
