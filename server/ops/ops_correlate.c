/* SPDX-License-Identifier: MIT */
/*
 * ops_correlate.c: "what changed, where, just before this?" (see ops.h,
 * ops_correlate(), and docs/correlation.md "Ranking").
 *
 * Gathers what the pure scoring (correlate.h) needs: the scope's hosts
 * (a cell's from the reports, or the ones named), a control group (other
 * hosts with a health history, and every host that ran a candidate
 * change), each host's zone (its cell's), their health histories around
 * T, the candidate changes (ops_changes_list() over [T - window, T]) and,
 * for each, which hosts ran it and since when (the exposure history:
 * store_host_exposure_list() by config and generation). Then ranks and
 * renders. Bounded: CORR_CHANGES_MAX candidates, CORR_HOSTS_MAX hosts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate.h"
#include "ops.h"
#include "reports.h"
#include "util.h"

#define CORR_CHANGES_MAX    200  /* candidate changes read */
#define CORR_HOSTS_MAX      5000 /* scope + control hosts */
#define CORR_CONTROL_MAX    2000 /* control hosts taken from the reports */
#define CORR_HOST_CELLS_MAX 32   /* cells of named hosts read one by one */

struct hname {
    char name[REPORTS_NAME_MAX];
    int scope;
};

struct corr_ctx {
    struct ops *o;
    struct hname *h; /* sorted by name after collect() */
    size_t nh, caph;
    json_t *changes;  /* the candidates (ops_changes_list() items) */
    int64_t *exposed; /* [change][host] */
    struct store_cell *cells;
    size_t ncells;
    /* each candidate's exposures, read once (read_exposures()) */
    struct store_host_exposure **ex;
    size_t *nex;
};

static int add_host(struct corr_ctx *x, const char *name, int scope)
{
    if (x->nh == x->caph) {
        size_t nc = x->caph ? x->caph * 2 : 64;
        void *p;
        if (nc > CORR_HOSTS_MAX)
            nc = CORR_HOSTS_MAX;
        if (x->nh >= nc)
            return 0; /* bounded: the rest are left out */
        p = realloc(x->h, nc * sizeof *x->h);
        if (!p)
            return -1;
        x->h = p;
        x->caph = nc;
    }
    cg_strlcpy(x->h[x->nh].name, name, sizeof x->h[0].name);
    x->h[x->nh].scope = scope;
    x->nh++;
    return 0;
}

static int cmp_hname(const void *a, const void *b)
{
    const struct hname *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : y->scope - x->scope; /* a scope entry first among equals */
}

/* Sorts the hosts and drops duplicates (keeping the scope flag). */
static void hosts_unique(struct corr_ctx *x)
{
    size_t w = 0;

    if (x->nh > 1)
        qsort(x->h, x->nh, sizeof *x->h, cmp_hname);
    for (size_t i = 0; i < x->nh; i++) {
        if (w > 0 && strcmp(x->h[w - 1].name, x->h[i].name) == 0)
            continue;
        x->h[w++] = x->h[i];
    }
    x->nh = w;
}

static long host_index(const struct corr_ctx *x, const char *name)
{
    struct hname key;
    const struct hname *f;

    cg_strlcpy(key.name, name, sizeof key.name);
    key.scope = 0;
    f = bsearch(&key, x->h, x->nh, sizeof *x->h, cmp_hname);
    if (f)
        return (long)(f - x->h);
    /* bsearch compares the scope flag too: look for the other one */
    key.scope = 1;
    f = bsearch(&key, x->h, x->nh, sizeof *x->h, cmp_hname);
    return f ? (long)(f - x->h) : -1;
}

static int cmp_cells(const void *a, const void *b)
{
    return strcmp(((const struct store_cell *)a)->id, ((const struct store_cell *)b)->id);
}

static int cmp_cell_id(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const struct store_cell *)elem)->id);
}

/* The zone of 'cell' ("" when unknown): a binary search of the cells
 * sorted by id (a control group may hold thousands of hosts, the fleet
 * thousands of cells). */
static const char *zone_of(const struct corr_ctx *x, const char *cell)
{
    const struct store_cell *c = bsearch(cell, x->cells, x->ncells, sizeof *x->cells, cmp_cell_id);

    return c ? c->zone : "";
}

static void ctx_free(struct corr_ctx *x)
{
    for (size_t i = 0; x->ex && i < json_array_size(x->changes); i++)
        store_host_exposures_free(x->ex[i], x->nex[i]);
    free(x->ex);
    free(x->nex);
    free(x->h);
    json_decref(x->changes);
    free(x->exposed);
    store_cells_free(x->cells, x->ncells);
}

/* 1 when x->changes holds the change of audit seq 'seq'. */
static int have_change(const struct corr_ctx *x, json_int_t seq)
{
    size_t i;
    json_t *c;

    json_array_foreach(x->changes, i, c)
    {
        if (json_integer_value(json_object_get(c, "seq")) == seq)
            return 1;
    }
    return 0;
}

/* Appends the changes of [from, to] that reached 'cell' or 'host' (both
 * NULL: any) with a known generation, publishes left out, each once. */
static int read_changes_of(struct corr_ctx *x, const char *cell, const char *host, int64_t from,
                           int64_t to, const struct ops_actor *who, struct ops_err *e)
{
    struct ops_changes_filter f;
    json_t *items = NULL, *c;
    int64_t next = 0;
    size_t i;
    int rc;

    memset(&f, 0, sizeof f);
    f.cell = cell;
    f.host = host;
    f.from_ms = from > 0 ? from : 1;
    f.to_ms = to;
    f.limit = CORR_CHANGES_MAX;
    f.no_delivery = 1; /* the exposures say who ran each candidate */
    do {
        f.after = next;
        rc = ops_changes_list(x->o, &f, who, &items, &next, e);
        if (rc != CG_OK)
            return rc;
        json_array_foreach(items, i, c)
        {
            if (json_array_size(x->changes) >= CORR_CHANGES_MAX)
                break;
            if (strcmp(json_string_value(json_object_get(c, "kind")), "publish") == 0 ||
                !json_is_integer(json_object_get(c, "generation")) ||
                have_change(x, json_integer_value(json_object_get(c, "seq"))))
                continue;
            json_array_append(x->changes, c);
        }
        json_decref(items);
        items = NULL;
    } while (next > 0 && json_array_size(x->changes) < CORR_CHANGES_MAX);
    return CG_OK;
}

static int cmp_seq(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "seq"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "seq"));

    return x < y ? -1 : x > y;
}

/* The candidate changes: those of [T - window, T] that reached the scope
 * (its cell; its host; for named hosts, their cells as the reports know
 * them, or every change when they span more than CORR_HOST_CELLS_MAX
 * cells), oldest first. */
static int read_changes(struct corr_ctx *x, const struct ops_correlate_req *q, int64_t from,
                        const struct ops_actor *who, struct ops_err *e)
{
    char cells[CORR_HOST_CELLS_MAX][REPORTS_NAME_MAX], cell[REPORTS_NAME_MAX];
    size_t nc = 0, n;
    json_t **v;
    int rc = CG_OK, wide = 0;

    x->changes = json_array();
    if (!x->changes)
        return ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
    if (q->cell || q->host)
        return read_changes_of(x, q->cell, q->host, from, q->at_ms, who, e);
    for (size_t i = 0; i < q->nhosts && !wide; i++) {
        int seen = 0;
        reports_history_get(x->o->reports, q->hosts[i], 0, NULL, 0, cell);
        if (!cell[0])
            continue; /* never reported: no history, it cannot be faulty */
        for (size_t k = 0; k < nc && !seen; k++)
            seen = strcmp(cells[k], cell) == 0;
        if (seen)
            continue;
        if (nc == CORR_HOST_CELLS_MAX)
            wide = 1;
        else
            cg_strlcpy(cells[nc++], cell, sizeof cells[0]);
    }
    if (wide)
        return read_changes_of(x, NULL, NULL, from, q->at_ms, who, e);
    for (size_t k = 0; k < nc && rc == CG_OK; k++)
        rc = read_changes_of(x, cells[k], NULL, from, q->at_ms, who, e);
    if (rc != CG_OK || (n = json_array_size(x->changes)) < 2)
        return rc;
    /* several cells' lists: back in audit order */
    v = calloc(n, sizeof *v);
    if (!v)
        return ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(x->changes, i));
    qsort(v, n, sizeof *v, cmp_seq);
    json_array_clear(x->changes);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(x->changes, v[i]);
    free(v);
    return CG_OK;
}

/* The exposures of every candidate: the hosts that ran it and since when.
 * With 'add' (the first call) reads them from the store and adds those
 * hosts to the control group; else (the second) fills x->exposed from what
 * the first read. */
static int read_exposures(struct corr_ctx *x, int add, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    size_t i;
    json_t *c;

    if (!x->ex) {
        size_t nc = json_array_size(x->changes);
        x->ex = calloc(nc ? nc : 1, sizeof *x->ex);
        x->nex = calloc(nc ? nc : 1, sizeof *x->nex);
        if (!x->ex || !x->nex)
            return ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
    }
    json_array_foreach(x->changes, i, c)
    {
        struct store_host_exposure *ex = x->ex[i];
        size_t n = x->nex[i];

        if (add) {
            struct store_exposure_query q;
            int rc;
            memset(&q, 0, sizeof q);
            q.config = json_string_value(json_object_get(c, "config"));
            q.generation = json_integer_value(json_object_get(c, "generation"));
            q.limit = CORR_HOSTS_MAX;
            rc = store_host_exposure_list(x->o->store, &q, &x->ex[i], &x->nex[i], NULL, msg);
            if (rc != CG_OK)
                return ops_store_fail(e, rc, msg, "exposures");
            ex = x->ex[i];
            n = x->nex[i];
        }
        for (size_t k = 0; k < n; k++) {
            if (add) {
                if (add_host(x, ex[k].host, 0) < 0)
                    return ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
            } else {
                long j = host_index(x, ex[k].host);
                int64_t *slot = j >= 0 ? &x->exposed[i * x->nh + (size_t)j] : NULL;
                if (slot && (*slot == 0 || ex[k].from_ms < *slot))
                    *slot = ex[k].from_ms;
            }
        }
    }
    return CG_OK;
}

/* The scope's hosts and the control group into x->h. */
static int collect_hosts(struct corr_ctx *x, const struct ops_correlate_req *q, struct ops_err *e)
{
    char(*names)[REPORTS_NAME_MAX] = NULL;
    size_t n = 0;
    int rc = 0;

    if (q->cell) {
        if (reports_history_cell_hosts(x->o->reports, q->cell, &names, &n) < 0)
            return ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = add_host(x, names[i], 1);
        free(names);
    } else if (q->host) {
        rc = add_host(x, q->host, 1);
    } else {
        for (size_t i = 0; i < q->nhosts && rc == 0; i++)
            rc = add_host(x, q->hosts[i], 1);
    }
    if (rc == 0) {
        names = NULL;
        n = 0;
        if (reports_history_hosts(x->o->reports, CORR_CONTROL_MAX, &names, &n) < 0)
            rc = -1;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = add_host(x, names[i], 0);
        free(names);
    }
    if (rc < 0)
        return ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
    return read_exposures(x, 1, e);
}

static json_t *num_or_null(double v)
{
    return v == v ? json_real(v) : json_null();
}

static json_t *time_json(int64_t ms)
{
    char buf[32];

    if (ms <= 0)
        return json_null();
    cg_time_format(ms, buf);
    return json_string(buf);
}

/* The answer: the onset, the candidates ranked, the verdict. */
static json_t *render(const struct corr_ctx *x, const struct ops_correlate_req *q, int latency,
                      const struct corr_input *in, const struct corr_onset *on,
                      const struct corr_score *sc)
{
    size_t nc = json_array_size(x->changes), *order = calloc(nc ? nc : 1, sizeof *order);
    json_t *out, *cands = json_array(), *scope, *hosts = json_array();
    long top = -1;

    if (!order || !cands || !hosts) {
        free(order);
        json_decref(cands);
        json_decref(hosts);
        return NULL;
    }
    for (size_t i = 0; i < nc; i++)
        order[i] = i;
    /* by score, then newest first (insertion sort: at most CORR_CHANGES_MAX) */
    for (size_t i = 1; i < nc; i++) {
        size_t v = order[i], j = i;
        while (j > 0 && (sc[order[j - 1]].score < sc[v].score ||
                         (sc[order[j - 1]].score == sc[v].score && order[j - 1] < v))) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = v;
    }
    for (size_t r = 0; r < nc; r++) {
        const struct corr_score *s = &sc[order[r]];
        json_t *c = json_array_get(x->changes, order[r]), *reasons = json_array();
        for (size_t k = 0; k < CORR_FACTORS; k++)
            if (s->reasons[k][0])
                json_array_append_new(reasons, json_string(s->reasons[k]));
        if (s->blamed && top < 0)
            top = (long)order[r];
        json_array_append_new(
            cands,
            json_pack("{s:I,s:f,s:b,s:b,s:O,s:{s:f,s:f,s:f,s:f,s:o},s:o,s:o}", "rank",
                      (json_int_t)r + 1, "score", s->score, "blamed", s->blamed, "vetoed",
                      s->vetoed, "change", c, "factors", "overlap", s->overlap, "decay", s->decay,
                      "effect", s->effect, "breadth", s->breadth, "did_p", num_or_null(s->did_p),
                      "first_exposure", time_json(s->first_exposure_ms), "reasons", reasons));
    }
    for (size_t j = 0; j < x->nh; j++)
        if (x->h[j].scope)
            json_array_append_new(hosts, json_string(x->h[j].name));
    scope = json_pack("{s:o,s:o,s:o,s:I,s:I}", "cell", q->cell ? json_string(q->cell) : json_null(),
                      "host", q->host ? json_string(q->host) : json_null(), "hosts", hosts,
                      "with_traffic", (json_int_t)on->scope, "faulty", (json_int_t)on->faulty);
    out = json_pack("{s:o,s:I,s:I,s:s,s:o,s:{s:b,s:o,s:f,s:f,s:o},s:o,s:o,s:s,s:I,s:I}", "at",
                    time_json(q->at_ms), "at_ms", (json_int_t)q->at_ms, "window_s",
                    (json_int_t)(q->window_ms / 1000), "metric", latency ? "latency" : "errors",
                    "scope", scope, "onset", "found", on->found, "time",
                    on->found ? time_json(on->onset_ms) : json_null(), "before_rate", on->before,
                    "after_rate", on->after, "p", num_or_null(on->p), "candidates", cands, "blamed",
                    top >= 0 ? json_incref(json_array_get(x->changes, (size_t)top)) : json_null(),
                    "verdict", top >= 0 ? "change" : "none", "control_hosts",
                    (json_int_t)(x->nh - on->scope), "bucket_ms", (json_int_t)in->bucket_ms);
    if (out && latency &&
        json_object_set_new(out, "slow_ms", json_real(reports_history_slow_ms(x->o->reports))) <
            0) {
        json_decref(out);
        out = NULL;
    }
    free(order);
    return out;
}

static int check_req(struct ops *o, const struct ops_correlate_req *q, int64_t now, int64_t *t0,
                     size_t *nb, struct ops_err *e)
{
    int64_t bms = 0, span;
    size_t nbk = 0;
    int given = (q->cell != NULL) + (q->host != NULL) + (q->nhosts > 0);

    if (given != 1)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "give exactly one of cell, host or hosts (the faulty hosts)");
    if ((q->cell && !cg_valid_name(q->cell)) || (q->host && !cg_valid_name(q->host)))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "cell and host must be names");
    if (q->nhosts > OPS_CORRELATE_HOSTS_MAX)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "at most %d hosts", OPS_CORRELATE_HOSTS_MAX);
    for (size_t i = 0; i < q->nhosts; i++)
        if (!q->hosts[i] || !cg_valid_name(q->hosts[i]))
            return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "hosts[%zu] must be a name", i);
    if (q->metric && strcmp(q->metric, "errors") != 0 && strcmp(q->metric, "latency") != 0)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "metric must be \"errors\" (the error rate the hosts report) or "
                        "\"latency\" (the share of their requests slower than "
                        "--history-slow-ms)");
    if (q->metric && strcmp(q->metric, "latency") == 0 && o->reports &&
        reports_history_slow_ms(o->reports) <= 0)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "this server keeps no latency history: start it with "
                        "--history-slow-ms MS (the latency your requests should stay under)");
    if (q->window_ms < 60000 || q->window_ms > 7LL * 86400 * 1000)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "window must be 1m..7d");
    if (q->at_ms <= 0 || q->at_ms > now + 60000)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "at must be a time not in the future");
    if (!o->reports)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "this server keeps no health history");
    reports_history_geometry(o->reports, &bms, &nbk);
    span = bms * (int64_t)nbk;
    if (q->at_ms < now - span + bms)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "at is older than the health history held (the last %lld minutes; "
                        "--history-buckets x --history-bucket-ms)",
                        (long long)(span / 60000));
    /* two windows before T (the change's window and a before period for
     * the difference in differences), within the history held */
    *t0 = q->at_ms - 2 * q->window_ms;
    if (*t0 < now - span + bms)
        *t0 = now - span + bms;
    *t0 -= ((*t0 % bms) + bms) % bms;
    *nb = (size_t)((q->at_ms - *t0) / bms) + 1;
    return CG_OK;
}

json_t *ops_correlate(struct ops *o, const struct ops_correlate_req *q, const struct ops_actor *who,
                      struct ops_err *e)
{
    struct corr_ctx x;
    struct corr_input in;
    struct corr_onset on;
    struct corr_host *ch = NULL;
    struct corr_change *cc = NULL;
    struct corr_score *sc = NULL;
    struct reports_hist_bucket *hb = NULL;
    const char **names = NULL;
    char msg[STORE_MSG_MAX] = "", (*hcell)[REPORTS_NAME_MAX] = NULL;
    int64_t t0 = 0, now = cg_now_ms();
    size_t nb = 0, nc;
    json_t *out = NULL;
    int latency = q->metric && strcmp(q->metric, "latency") == 0;

    memset(&x, 0, sizeof x);
    x.o = o;
    if (check_req(o, q, now, &t0, &nb, e) != CG_OK)
        return NULL;
    if (read_changes(&x, q, q->at_ms - q->window_ms, who, e) != CG_OK ||
        collect_hosts(&x, q, e) != CG_OK)
        goto done;
    hosts_unique(&x);
    nc = json_array_size(x.changes);
    if (store_cell_list(o->store, &x.cells, &x.ncells, msg) != CG_OK) {
        ops_store_fail(e, CG_ERR_IO, msg, "cells");
        goto done;
    }
    /* by strcmp() for zone_of() (a database's collation may order otherwise) */
    qsort(x.cells, x.ncells, sizeof *x.cells, cmp_cells);
    ch = calloc(x.nh ? x.nh : 1, sizeof *ch);
    cc = calloc(nc ? nc : 1, sizeof *cc);
    sc = calloc(nc ? nc : 1, sizeof *sc);
    hb = calloc(x.nh ? x.nh * nb : 1, sizeof *hb);
    x.exposed = calloc(nc > 0 && x.nh > 0 ? nc * x.nh : 1, sizeof *x.exposed);
    names = calloc(x.nh ? x.nh : 1, sizeof *names);
    hcell = calloc(x.nh ? x.nh : 1, sizeof *hcell);
    if (!ch || !cc || !sc || !hb || !x.exposed || !names || !hcell) {
        ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
        goto done;
    }
    if (read_exposures(&x, 0, e) != CG_OK)
        goto done;
    for (size_t j = 0; j < x.nh; j++)
        names[j] = x.h[j].name;
    reports_history_get_many(o->reports, latency ? REPORTS_HIST_SLOW : REPORTS_HIST_ERRORS, names,
                             x.nh, t0, hb, nb, hcell);
    for (size_t j = 0; j < x.nh; j++) {
        ch[j].name = x.h[j].name;
        ch[j].zone = zone_of(&x, hcell[j]);
        ch[j].b = &hb[j * nb];
        ch[j].scope = x.h[j].scope;
    }
    for (size_t i = 0; i < nc; i++) {
        cc[i].time_ms =
            json_integer_value(json_object_get(json_array_get(x.changes, i), "time_ms"));
        cc[i].exposed_ms = &x.exposed[i * x.nh];
    }
    memset(&in, 0, sizeof in);
    in.at_ms = q->at_ms;
    in.window_ms = q->window_ms;
    in.t0_ms = t0;
    reports_history_geometry(o->reports, &in.bucket_ms, NULL);
    in.n_buckets = nb;
    in.hosts = ch;
    in.n_hosts = x.nh;
    in.changes = cc;
    in.n_changes = nc;
    in.rate_name = latency ? "share of slow requests" : "error rate";
    if (corr_onset(&in, &on) < 0 || corr_rank(&in, &on, sc) < 0) {
        ops_fail(e, CG_ERR_INVALID, NULL, NULL, "no history to correlate");
        goto done;
    }
    out = render(&x, q, latency, &in, &on, sc);
    if (!out)
        ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
done:
    free(names);
    free(hcell);
    free(ch);
    free(cc);
    free(sc);
    free(hb);
    ctx_free(&x);
    return out;
}
