/* SPDX-License-Identifier: MIT */
/*
 * gitops_load.c - reads the files of `cellgate apply -f` / `diff -f`:
 * YAML (libyaml's event parser) and JSON (cg_json_parse) into jansson
 * values, the same object model for both, remembering where each node
 * came from so that every later error names file:line:column.
 *
 * YAML is read as data only: no aliases (a billion laughs needs them), no
 * custom tags, keys are scalars and unique; scalars are typed by the YAML
 * 1.2 core schema, so "yes" and "no" stay strings.
 */
#include "gitops.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "json.h"
#include "util.h"

static void set_err(char *err, const char *file, struct gitops_pos p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_err(char *err, const char *file, struct gitops_pos p, const char *fmt, ...)
{
    char msg[GITOPS_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p.line > 0) {
        snprintf(err, GITOPS_ERR_MAX, "%s:%d:%d: %s", file, p.line, p.col, msg);
    } else {
        snprintf(err, GITOPS_ERR_MAX, "%s: %s", file, msg);
    }
}

static int mark_add(struct gitops_doc *d, const json_t *obj, const char *key, size_t index,
                    struct gitops_pos p)
{
    if (d->nmarks == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 32;
        struct gitops_mark *m = realloc(d->marks, cap * sizeof *m);
        if (!m) {
            return -1;
        }
        d->marks = m;
        d->cap = cap;
    }
    char *k = NULL;
    if (key) {
        k = strdup(key);
        if (!k) {
            return -1;
        }
    }
    d->marks[d->nmarks++] = (struct gitops_mark){obj, k, index, p};
    return 0;
}

static void doc_release(struct gitops_doc *d)
{
    for (size_t i = 0; i < d->nmarks; i++) {
        free(d->marks[i].key);
    }
    free(d->marks);
    free(d->file);
    json_decref(d->root);
    memset(d, 0, sizeof *d);
}

void gitops_docs_free(struct gitops_docs *docs)
{
    for (size_t i = 0; i < docs->count; i++) {
        doc_release(&docs->items[i]);
    }
    free(docs->items);
    memset(docs, 0, sizeof *docs);
}

/* Appends 'd' (moved in) to the list; frees it on failure. */
static int docs_push(struct gitops_docs *docs, struct gitops_doc *d)
{
    if (docs->count >= GITOPS_MAX_DOCS) {
        doc_release(d);
        return -1;
    }
    if (docs->count == docs->cap) {
        size_t cap = docs->cap ? docs->cap * 2 : 16;
        struct gitops_doc *n = realloc(docs->items, cap * sizeof *n);
        if (!n) {
            doc_release(d);
            return -1;
        }
        docs->items = n;
        docs->cap = cap;
    }
    docs->items[docs->count++] = *d;
    return 0;
}

struct gitops_pos gitops_doc_pos(const struct gitops_doc *d, const json_t *obj, const char *key,
                                 size_t index)
{
    struct gitops_pos own = d->pos;
    bool self = !key && index == (size_t)-1;

    for (size_t i = 0; i < d->nmarks; i++) {
        const struct gitops_mark *m = &d->marks[i];
        if (m->obj != obj) {
            continue;
        }
        if (!m->key && m->index == (size_t)-1) {
            own = m->pos;
            if (self) {
                return own;
            }
        } else if (key && m->key && strcmp(m->key, key) == 0) {
            return m->pos;
        } else if (!key && !m->key && m->index == index) {
            return m->pos;
        }
    }
    return own;
}

/* ---- YAML ---- */

static bool all_match(const char *s, const char *set)
{
    return *s && strspn(s, set) == strlen(s);
}

static bool one_of(const char *s, const char *const *words)
{
    for (size_t i = 0; words[i]; i++) {
        if (strcmp(s, words[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* A YAML 1.2 core-schema integer: [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+.
 * Returns 1 and *v, 0 when 's' is not one, -1 when it overflows. */
static int core_int(const char *s, long long *v)
{
    const char *digits = s;
    int base = 10;
    char *end;

    if (strncmp(s, "0x", 2) == 0 && all_match(s + 2, "0123456789abcdefABCDEF")) {
        digits = s + 2;
        base = 16;
    } else if (strncmp(s, "0o", 2) == 0 && all_match(s + 2, "01234567")) {
        digits = s + 2;
        base = 8;
    } else {
        const char *p = (*s == '-' || *s == '+') ? s + 1 : s;
        if (!all_match(p, "0123456789")) {
            return 0;
        }
    }
    errno = 0;
    *v = strtoll(digits, &end, base);
    if (errno == ERANGE || *end) {
        return -1;
    }
    return 1;
}

/* A YAML 1.2 core-schema float (without .inf and .nan, which JSON cannot
 * hold: the caller refuses those). Returns 1 and *v, 0 when 's' is not
 * one, -1 when it is one out of range (1e400). */
static int core_float(const char *s, double *v)
{
    const char *p = (*s == '-' || *s == '+') ? s + 1 : s;
    size_t int_digits = strspn(p, "0123456789");
    const char *q = p + int_digits;
    size_t frac_digits = 0;
    char *end;

    if (*q == '.') {
        frac_digits = strspn(q + 1, "0123456789");
        q += 1 + frac_digits;
    }
    if (int_digits + frac_digits == 0) {
        return 0;
    }
    if (*q == 'e' || *q == 'E') {
        q++;
        if (*q == '-' || *q == '+') {
            q++;
        }
        size_t e = strspn(q, "0123456789");
        if (e == 0) {
            return 0;
        }
        q += e;
    }
    if (*q) {
        return 0;
    }
    errno = 0;
    *v = strtod(s, &end);
    if (*end) {
        return 0;
    }
    /* underflow to zero or a denormal is a number; overflow is not */
    return isfinite(*v) ? 1 : -1;
}

struct yframe {
    json_t *node; /* borrowed: owned by its parent (or 'root') */
    char *key;    /* owned: a mapping's pending key; NULL = none */
    struct gitops_pos keypos;
};

struct yload {
    const char *file;
    char *err;
    struct gitops_doc doc;
    struct yframe stack[GITOPS_MAX_DEPTH + 1];
    int depth;
};

static struct gitops_pos pos_of(yaml_mark_t m)
{
    return (struct gitops_pos){(int)m.line + 1, (int)m.column + 1};
}

/* A scalar event -> a JSON value (new reference), or NULL with err set. */
static json_t *scalar_value(struct yload *y, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    struct gitops_pos p = pos_of(ev->start_mark);
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    static const char *const specials[] = {".inf",  ".Inf", ".INF", "-.inf", "-.Inf", "-.INF",
                                           "+.inf", ".nan", ".NaN", ".NAN",  NULL};
    long long iv;
    double dv;

    if (strlen(s) != ev->data.scalar.length) {
        set_err(y->err, y->file, p, "a NUL byte in a scalar");
        return NULL;
    }
    if (tag && strcmp(tag, YAML_STR_TAG) != 0) {
        set_err(y->err, y->file, p, "tag %s is not supported (only !!str)", tag);
        return NULL;
    }
    if (tag || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        return json_stringn(s, ev->data.scalar.length);
    }
    if (one_of(s, nulls)) {
        return json_null();
    }
    if (one_of(s, trues)) {
        return json_true();
    }
    if (one_of(s, falses)) {
        return json_false();
    }
    switch (core_int(s, &iv)) {
    case 1:
        return json_integer(iv);
    case -1:
        set_err(y->err, y->file, p, "integer %s is out of range", s);
        return NULL;
    default:
        break;
    }
    switch (core_float(s, &dv)) {
    case 1:
        return json_real(dv);
    case -1:
        set_err(y->err, y->file, p, "number %s is out of range", s);
        return NULL;
    default:
        break;
    }
    if (one_of(s, specials)) {
        set_err(y->err, y->file, p, "%s: infinity and NaN cannot be written in JSON", s);
        return NULL;
    }
    return json_stringn(s, ev->data.scalar.length);
}

/* Adds 'v' (reference stolen) to the current container, or makes it the
 * root. Containers are pushed by the caller afterwards. */
static int yadd(struct yload *y, json_t *v, struct gitops_pos p, bool is_key_candidate)
{
    if (!v) {
        if (!y->err[0]) {
            set_err(y->err, y->file, p, "out of memory");
        }
        return -1;
    }
    if (y->depth == 0) {
        y->doc.root = v;
        return 0;
    }
    struct yframe *f = &y->stack[y->depth - 1];
    if (json_is_array(f->node)) {
        size_t idx = json_array_size(f->node);
        if (json_array_append_new(f->node, v) != 0 || mark_add(&y->doc, f->node, NULL, idx, p)) {
            set_err(y->err, y->file, p, "out of memory");
            return -1;
        }
        return 0;
    }
    if (!f->key) {
        /* a mapping expects a key: only scalars are keys */
        if (!is_key_candidate || !json_is_string(v)) {
            json_decref(v);
            set_err(y->err, y->file, p, "a mapping key must be a plain string");
            return -1;
        }
        if (json_object_get(f->node, json_string_value(v))) {
            set_err(y->err, y->file, p, "duplicate key \"%s\"", json_string_value(v));
            json_decref(v);
            return -1;
        }
        f->key = strdup(json_string_value(v));
        f->keypos = p;
        json_decref(v);
        if (!f->key) {
            set_err(y->err, y->file, p, "out of memory");
            return -1;
        }
        return 0;
    }
    if (json_object_set_new(f->node, f->key, v) != 0 ||
        mark_add(&y->doc, f->node, f->key, 0, f->keypos)) {
        set_err(y->err, y->file, p, "out of memory");
        free(f->key);
        f->key = NULL;
        return -1;
    }
    free(f->key);
    f->key = NULL;
    return 0;
}

static int ypush(struct yload *y, json_t *c, struct gitops_pos p)
{
    if (y->depth >= GITOPS_MAX_DEPTH) {
        json_decref(c);
        set_err(y->err, y->file, p, "nested deeper than %d levels", GITOPS_MAX_DEPTH);
        return -1;
    }
    json_incref(c); /* keep it alive while yadd() hands one reference away */
    if (yadd(y, c, p, false) != 0) {
        json_decref(c);
        return -1;
    }
    if (mark_add(&y->doc, c, NULL, (size_t)-1, p) != 0) {
        json_decref(c);
        set_err(y->err, y->file, p, "out of memory");
        return -1;
    }
    y->stack[y->depth++] = (struct yframe){c, NULL, {0, 0}};
    json_decref(c);
    return 0;
}

static void yload_reset(struct yload *y)
{
    for (int i = 0; i < y->depth; i++) {
        free(y->stack[i].key);
    }
    y->depth = 0;
    doc_release(&y->doc);
}

/* Handles one parser event; returns 1 at the end of the stream, 0 to go
 * on, -1 on error. */
static int yevent(struct yload *y, const yaml_event_t *ev, struct gitops_docs *tmp)
{
    struct gitops_pos p = pos_of(ev->start_mark);

    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        return 1;
    case YAML_DOCUMENT_START_EVENT:
        memset(&y->doc, 0, sizeof y->doc);
        y->doc.pos = p;
        y->doc.file = strdup(y->file);
        return y->doc.file ? 0 : (set_err(y->err, y->file, p, "out of memory"), -1);
    case YAML_DOCUMENT_END_EVENT:
        if (!y->doc.root || json_is_null(y->doc.root)) {
            doc_release(&y->doc); /* an empty document (a trailing ---) */
            return 0;
        }
        if (docs_push(tmp, &y->doc) != 0) {
            memset(&y->doc, 0, sizeof y->doc);
            set_err(y->err, y->file, p, "too many documents or out of memory");
            return -1;
        }
        memset(&y->doc, 0, sizeof y->doc);
        return 0;
    case YAML_ALIAS_EVENT:
        set_err(y->err, y->file, p, "aliases (*%s) are not supported",
                (const char *)ev->data.alias.anchor);
        return -1;
    case YAML_SCALAR_EVENT:
        if (ev->data.scalar.anchor) {
            set_err(y->err, y->file, p, "anchors (&%s) are not supported",
                    (const char *)ev->data.scalar.anchor);
            return -1;
        }
        if (y->depth > 0 && json_is_object(y->stack[y->depth - 1].node) &&
            !y->stack[y->depth - 1].key) {
            /* a key: its text as written ("200" stays "200", "null" "null") */
            if (strlen((const char *)ev->data.scalar.value) != ev->data.scalar.length) {
                set_err(y->err, y->file, p, "a NUL byte in a key");
                return -1;
            }
            return yadd(y,
                        json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length),
                        p, true);
        }
        return yadd(y, scalar_value(y, ev), p, false);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        const char *anchor =
            (const char *)(ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor
                                                                 : ev->data.mapping_start.anchor);
        const char *tag =
            (const char *)(ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.tag
                                                                 : ev->data.mapping_start.tag);
        if (anchor) {
            set_err(y->err, y->file, p, "anchors (&%s) are not supported", anchor);
            return -1;
        }
        if (tag) {
            set_err(y->err, y->file, p, "tag %s is not supported", tag);
            return -1;
        }
        if (y->depth > 0 && json_is_object(y->stack[y->depth - 1].node) &&
            !y->stack[y->depth - 1].key) {
            set_err(y->err, y->file, p, "a mapping key must be a plain string");
            return -1;
        }
        json_t *c = ev->type == YAML_SEQUENCE_START_EVENT ? json_array() : json_object();
        if (!c) {
            set_err(y->err, y->file, p, "out of memory");
            return -1;
        }
        return ypush(y, c, p);
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (y->depth > 0) {
            y->depth--;
        }
        return 0;
    default:
        return 0;
    }
}

int gitops_parse_yaml(const char *file, const char *text, size_t len, struct gitops_docs *out,
                      char *err)
{
    yaml_parser_t parser;
    struct yload *y = calloc(1, sizeof *y);
    struct gitops_docs tmp = {0};
    int rc = -1;

    err[0] = '\0';
    if (!y || !yaml_parser_initialize(&parser)) {
        free(y);
        set_err(err, file, (struct gitops_pos){0, 0}, "out of memory");
        return -1;
    }
    y->file = file;
    y->err = err;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            struct gitops_pos p = pos_of(parser.problem_mark);
            set_err(err, file, p, "invalid YAML: %s%s%s", parser.problem ? parser.problem : "?",
                    parser.context ? " " : "", parser.context ? parser.context : "");
            break;
        }
        int r = yevent(y, &ev, &tmp);
        yaml_event_delete(&ev);
        if (r < 0) {
            break;
        }
        if (r == 1) {
            rc = 0;
            break;
        }
    }
    yaml_parser_delete(&parser);
    yload_reset(y);
    free(y);
    if (rc == 0) {
        for (size_t i = 0; i < tmp.count; i++) {
            if (docs_push(out, &tmp.items[i]) != 0) {
                memset(&tmp.items[i], 0, sizeof tmp.items[i]);
                set_err(err, file, (struct gitops_pos){0, 0}, "too many documents");
                rc = -1;
            } else {
                memset(&tmp.items[i], 0, sizeof tmp.items[i]);
            }
        }
    }
    gitops_docs_free(&tmp);
    return rc;
}

/* ---- JSON ---- */

/* Copies every mark of 'src' into 'dst'; -1 when memory ran out. */
static int marks_copy(struct gitops_doc *dst, const struct gitops_doc *src)
{
    for (size_t i = 0; i < src->nmarks; i++) {
        const struct gitops_mark *m = &src->marks[i];
        if (mark_add(dst, m->obj, m->key, m->index, m->pos) != 0) {
            return -1;
        }
    }
    return 0;
}

int gitops_parse_json(const char *file, const char *text, size_t len, struct gitops_docs *out,
                      char *err)
{
    json_t *v = NULL;
    char msg[512];
    struct gitops_docs y = {0};
    const struct gitops_doc *src = NULL;

    err[0] = '\0';
    if (cg_json_parse(text, len, GITOPS_MAX_FILE, GITOPS_MAX_DEPTH, &v, msg, sizeof msg) !=
        CG_JSON_OK) {
        set_err(err, file, (struct gitops_pos){0, 0}, "invalid JSON: %s", msg);
        return -1;
    }
    /* Positions: JSON is YAML too, so the YAML reader finds where each node
     * is. Its value is used only when it is exactly jansson's (a strict
     * parse decided the file is valid); otherwise positions fall back to
     * the start of the file. */
    if (gitops_parse_yaml(file, text, len, &y, msg) == 0 && y.count == 1 &&
        json_equal(y.items[0].root, v)) {
        src = &y.items[0];
        json_decref(v);
        v = json_incref(src->root);
    }
    err[0] = '\0';
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    for (size_t i = 0; i < n; i++) {
        struct gitops_doc d = {0};
        d.file = strdup(file);
        d.pos = (struct gitops_pos){1, 1};
        d.root = json_is_array(v) ? json_incref(json_array_get(v, i)) : json_incref(v);
        if (src) {
            d.pos = json_is_array(v) ? gitops_doc_pos(src, v, NULL, i) : src->pos;
        }
        if (!d.file || (src && marks_copy(&d, src) != 0)) {
            doc_release(&d);
            set_err(err, file, (struct gitops_pos){0, 0}, "out of memory");
            break;
        }
        if (docs_push(out, &d) != 0) {
            set_err(err, file, (struct gitops_pos){0, 0}, "too many documents or out of memory");
            break;
        }
    }
    json_decref(v);
    gitops_docs_free(&y);
    return err[0] ? -1 : 0;
}

/* ---- files and directories ---- */

enum ftype { F_OTHER, F_JSON, F_YAML };

static enum ftype file_type(const char *path)
{
    size_t n = strlen(path);

    if (n > 5 && strcmp(path + n - 5, ".json") == 0) {
        return F_JSON;
    }
    if ((n > 5 && strcmp(path + n - 5, ".yaml") == 0) ||
        (n > 4 && strcmp(path + n - 4, ".yml") == 0)) {
        return F_YAML;
    }
    return F_OTHER;
}

static int load_file(const char *path, struct gitops_docs *out, char *err, size_t *nfiles)
{
    size_t len;
    char *text;
    int rc;

    if (++*nfiles > GITOPS_MAX_FILES) {
        set_err(err, path, (struct gitops_pos){0, 0}, "more than %d files", GITOPS_MAX_FILES);
        return -1;
    }
    text = cg_read_file(path, GITOPS_MAX_FILE, &len);
    if (!text) {
        if (errno == EFBIG) {
            set_err(err, path, (struct gitops_pos){0, 0}, "larger than %u bytes", GITOPS_MAX_FILE);
        } else {
            set_err(err, path, (struct gitops_pos){0, 0}, "cannot read: %s", strerror(errno));
        }
        return -1;
    }
    if (file_type(path) == F_JSON) {
        rc = gitops_parse_json(path, text, len, out, err);
    } else {
        rc = gitops_parse_yaml(path, text, len, out, err);
    }
    free(text);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_path(const char *path, bool named, struct gitops_docs *out, char *err,
                     size_t *nfiles, int depth);

static int load_dir(const char *path, struct gitops_docs *out, char *err, size_t *nfiles, int depth)
{
    DIR *d = opendir(path);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;

    if (!d) {
        set_err(err, path, (struct gitops_pos){0, 0}, "cannot read: %s", strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
        }
        names[n] = strdup(de->d_name);
        if (!names[n]) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc != 0) {
        set_err(err, path, (struct gitops_pos){0, 0}, "out of memory");
    } else if (n > 1) {
        qsort(names, n, sizeof *names, cmp_names);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        char child[4096];
        if ((size_t)snprintf(child, sizeof child, "%s/%s", path, names[i]) >= sizeof child) {
            set_err(err, path, (struct gitops_pos){0, 0}, "path too long");
            rc = -1;
            break;
        }
        rc = load_path(child, false, out, err, nfiles, depth + 1);
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    return rc;
}

static int load_path(const char *path, bool named, struct gitops_docs *out, char *err,
                     size_t *nfiles, int depth)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        set_err(err, path, (struct gitops_pos){0, 0}, "cannot read: %s", strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        if (depth > 32) {
            set_err(err, path, (struct gitops_pos){0, 0}, "directories nested too deep");
            return -1;
        }
        return load_dir(path, out, err, nfiles, depth);
    }
    if (!S_ISREG(st.st_mode) || file_type(path) == F_OTHER) {
        if (named) {
            set_err(err, path, (struct gitops_pos){0, 0},
                    "not a .json, .yaml or .yml file or a directory");
            return -1;
        }
        return 0; /* other files in a directory (README.md, secrets) are skipped */
    }
    return load_file(path, out, err, nfiles);
}

/* "-": standard input, at most GITOPS_MAX_FILE bytes; JSON when it starts
 * with '{' or '[' (after white space), else YAML. */
static int load_stdin(struct gitops_docs *out, char *err)
{
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    int rc;

    while (buf) {
        if (len == cap) {
            if (cap > GITOPS_MAX_FILE) {
                free(buf);
                set_err(err, "-", (struct gitops_pos){0, 0}, "larger than %u bytes",
                        GITOPS_MAX_FILE);
                return -1;
            }
            char *n = realloc(buf, cap * 2);
            if (!n) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = n;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, stdin);
        len += got;
        if (got == 0) {
            break;
        }
    }
    if (!buf) {
        set_err(err, "-", (struct gitops_pos){0, 0}, "out of memory");
        return -1;
    }
    if (ferror(stdin) || len > GITOPS_MAX_FILE) {
        free(buf);
        set_err(err, "-", (struct gitops_pos){0, 0}, "cannot read standard input%s",
                len > GITOPS_MAX_FILE ? ": larger than the limit" : "");
        return -1;
    }
    size_t ws = 0;
    while (ws < len && strchr(" \t\r\n", buf[ws])) {
        ws++;
    }
    if (ws < len && (buf[ws] == '{' || buf[ws] == '[')) {
        rc = gitops_parse_json("-", buf, len, out, err);
    } else {
        rc = gitops_parse_yaml("-", buf, len, out, err);
    }
    free(buf);
    return rc;
}

int gitops_load_paths(const char *const *paths, size_t npaths, struct gitops_docs *out, char *err)
{
    size_t nfiles = 0;
    bool stdin_read = false;

    err[0] = '\0';
    for (size_t i = 0; i < npaths; i++) {
        if (strcmp(paths[i], "-") == 0) {
            if (stdin_read) {
                set_err(err, "-", (struct gitops_pos){0, 0}, "standard input named twice");
                return -1;
            }
            stdin_read = true;
            if (load_stdin(out, err) != 0) {
                return -1;
            }
            continue;
        }
        if (load_path(paths[i], true, out, err, &nfiles, 0) != 0) {
            return -1;
        }
    }
    return 0;
}
