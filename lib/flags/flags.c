/* SPDX-License-Identifier: MIT */
/*
 * lib/flags/flags.c: in-process flag evaluation for libcellgate
 * (cellgate.h, "Feature flags, evaluated in process"): a compiled flagd
 * document (common/flagd/) swapped in whole when the watcher accepts a new
 * version, evaluated from any number of threads.
 *
 * Evaluations take a reference to the current snapshot under a mutex held
 * for a pointer copy and an increment, then evaluate without any lock; a
 * load swaps the pointer and the last evaluation of the old snapshot frees
 * it.
 */
#include <cellgate/cellgate.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "contract.h"
#include "flagd.h"
#include "json.h"
#include "lib-internal.h"
#include "util.h"

#define FLAGS_MAX_DOC (16u * 1024 * 1024)

struct snap {
    atomic_size_t refs;
    struct flagd_set *set;
    int64_t version;
};

struct cg_flags {
    pthread_mutex_t mu;
    struct snap *cur; /* NULL before the first load */
};

struct cg_flags_context {
    json_t *ctx;
};

static void snap_put(struct snap *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        flagd_free(s->set);
        free(s);
    }
}

static struct snap *snap_get(const struct cg_flags *f)
{
    struct cg_flags *m = (struct cg_flags *)f; /* the lock is not the value */
    struct snap *s;

    pthread_mutex_lock(&m->mu);
    s = m->cur;
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&m->mu);
    return s;
}

int cg_flags_new(struct cg_flags **out, struct cg_error *err)
{
    struct cg_flags *f = calloc(1, sizeof *f);

    *out = NULL;
    if (!f)
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    pthread_mutex_init(&f->mu, NULL);
    *out = f;
    return CG_OK;
}

void cg_flags_free(struct cg_flags *f)
{
    if (!f)
        return;
    snap_put(f->cur);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

int cg_flags_load(struct cg_flags *f, const void *bytes, size_t len, int64_t version,
                  struct cg_error *err)
{
    struct cg_violations vi = {0};
    struct snap *s, *old;
    int rc;

    if (!f || !bytes || len > FLAGS_MAX_DOC)
        return cg__error_set(err, CG_ERR_INVALID, 0, "flags: no document, or over 16 MiB");
    if (!(s = calloc(1, sizeof *s)))
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    rc = flagd_compile(bytes, len, &s->set, &vi);
    if (rc != CG_OK) {
        if (rc == CG_ERR_VIOLATION)
            cg__error_set(err, CG_ERR_VIOLATION, 0, "flags: not a valid flag document: %s: %s",
                          vi.count ? vi.items[0].pointer : "", vi.count ? vi.items[0].message : "");
        else
            cg__error_set(err, rc, 0, "flags: cannot compile the document");
        cg_violations_free(&vi);
        free(s);
        return rc;
    }
    cg_violations_free(&vi);
    atomic_init(&s->refs, 1);
    s->version = version;
    pthread_mutex_lock(&f->mu);
    old = f->cur;
    f->cur = s;
    pthread_mutex_unlock(&f->mu);
    snap_put(old);
    return CG_OK;
}

int cg_flags_apply(void *ud, const struct cg_watch_doc *doc, char *why, size_t whylen)
{
    struct cg_error e = {0};
    int rc = cg_flags_load(ud, doc->bytes, doc->len, doc->version, &e);

    if (rc != CG_OK && why && whylen)
        snprintf(why, whylen, "%s", e.message);
    return rc == CG_OK ? CG_OK : rc == CG_ERR_VIOLATION ? CG_ERR_VIOLATION : CG_ERR_IO;
}

int cg_flags_context_new(const char *json, struct cg_flags_context **out, struct cg_error *err)
{
    struct cg_flags_context *c;
    char msg[160];
    json_t *v = NULL;

    *out = NULL;
    if (!json || cg_json_parse(json, strlen(json), 1u << 20, 0, &v, msg, sizeof msg) != CG_JSON_OK)
        return cg__error_set(err, CG_ERR_INVALID, 0, "flags: the context is not JSON%s%s",
                             json ? ": " : "", json ? msg : "");
    if (!json_is_object(v)) {
        json_decref(v);
        return cg__error_set(err, CG_ERR_INVALID, 0, "flags: the context must be an object");
    }
    if (!(c = malloc(sizeof *c))) {
        json_decref(v);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    c->ctx = v;
    *out = c;
    return CG_OK;
}

void cg_flags_context_free(struct cg_flags_context *c)
{
    if (!c)
        return;
    json_decref(c->ctx);
    free(c);
}

/* Evaluates into r on snapshot s (held); fills d. The value in r stays
 * valid while s is held. */
static void eval(const struct snap *s, const char *flag, const struct cg_flags_context *ctx,
                 enum flagd_type want, struct flagd_result *r, struct cg_flag_details *d)
{
    if (!s) {
        memset(r, 0, sizeof *r);
        r->reason = FLAGD_REASON_ERROR;
        r->error = FLAGD_FLAG_NOT_FOUND;
        snprintf(r->message, sizeof r->message, "no flag document loaded yet");
    } else {
        flagd_evaluate(s->set, flag, ctx ? ctx->ctx : NULL, (int64_t)time(NULL), want, r);
    }
    json_decref(r->metadata);
    r->metadata = NULL;
    if (d && d->size >= sizeof *d) {
        cg_strlcpy(d->variant, r->variant ? r->variant : "", sizeof d->variant);
        d->reason = flagd_reason_name(r->reason);
        d->error = r->error == FLAGD_OK ? "" : flagd_error_name(r->error);
        cg_strlcpy(d->message, r->message, sizeof d->message);
        d->version = s ? s->version : 0;
    }
}

int cg_flags_bool(const struct cg_flags *f, const char *flag, const struct cg_flags_context *ctx,
                  int def, struct cg_flag_details *d)
{
    struct snap *s = f ? snap_get(f) : NULL;
    struct flagd_result r;
    int v;

    eval(s, flag, ctx, FLAGD_BOOLEAN, &r, d);
    v = r.value && json_is_boolean(r.value) ? json_is_true(r.value) : def;
    snap_put(s);
    return v;
}

const char *cg_flags_string(const struct cg_flags *f, const char *flag,
                            const struct cg_flags_context *ctx, const char *def, char *buf,
                            size_t buflen, struct cg_flag_details *d)
{
    struct snap *s = f ? snap_get(f) : NULL;
    struct flagd_result r;

    eval(s, flag, ctx, FLAGD_STRING, &r, d);
    if (buf && buflen)
        cg_strlcpy(buf,
                   r.value && json_is_string(r.value) ? json_string_value(r.value)
                   : def                              ? def
                                                      : "",
                   buflen);
    snap_put(s);
    return buf;
}

double cg_flags_number(const struct cg_flags *f, const char *flag,
                       const struct cg_flags_context *ctx, double def, struct cg_flag_details *d)
{
    struct snap *s = f ? snap_get(f) : NULL;
    struct flagd_result r;
    double v;

    eval(s, flag, ctx, FLAGD_NUMBER, &r, d);
    v = r.value && json_is_number(r.value) ? json_number_value(r.value) : def;
    snap_put(s);
    return v;
}

char *cg_flags_object(const struct cg_flags *f, const char *flag,
                      const struct cg_flags_context *ctx, struct cg_flag_details *d)
{
    struct snap *s = f ? snap_get(f) : NULL;
    struct flagd_result r;
    char *out = NULL;

    eval(s, flag, ctx, FLAGD_OBJECT, &r, d);
    if (r.value && json_is_object(r.value))
        out = cg_json_dump(r.value);
    snap_put(s);
    return out;
}
