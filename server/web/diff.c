/* SPDX-License-Identifier: MIT */
/* diff.c: Myers' line diff; see diff.h. */
#include "diff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct line {
    const char *p;
    size_t len;
};

/* Splits s into lines: *out (malloc'd) and their count; -1 on no memory
 * or too many lines. */
static int split(const char *s, size_t len, struct line **out, size_t *n)
{
    size_t cap = 16, k = 0;
    struct line *v = malloc(cap * sizeof *v);

    if (!v)
        return -1;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(s + i, '\n', len - i);
        size_t l = nl ? (size_t)(nl - (s + i)) : len - i;
        if (k == DIFF_MAX_LINES) {
            free(v);
            return -3;
        }
        if (k == cap) {
            struct line *w = realloc(v, 2 * cap * sizeof *v);
            if (!w) {
                free(v);
                return -1;
            }
            v = w;
            cap *= 2;
        }
        v[k].p = s + i;
        v[k].len = l;
        k++;
        i += l + (nl ? 1 : 0);
    }
    *out = v;
    *n = k;
    return 0;
}

static int eq(const struct line *x, const struct line *y)
{
    return x->len == y->len && memcmp(x->p, y->p, x->len) == 0;
}

/* Appends one output line. */
static void put(struct diff_line *o, size_t *k, enum diff_kind kind, const struct line *l,
                size_t al, size_t bl)
{
    o[*k].kind = kind;
    o[*k].text = l->p;
    o[*k].len = l->len;
    o[*k].a_line = al;
    o[*k].b_line = bl;
    (*k)++;
}

/*
 * The middle part: a[0..N) against b[0..M). Fills mid (reversed, appended
 * from the end) through the trace of V arrays. Returns the number of
 * entries, or a negative error.
 */
static long myers(const struct line *a, long N, const struct line *b, long M, long max_d,
                  struct diff_line *rev, size_t a0, size_t b0)
{
    long maxd = N + M < max_d ? N + M : max_d, D = -1;
    /* trace[d] holds V[k] for k in -(d+1)..(d+1) as it was before step d
     * (x <= N <= DIFF_MAX_LINES fits 32 bits): 4 (d + 1)^2 bytes in all */
    int32_t **trace;
    long *V, off = maxd + 1;
    long k, x, y, n = 0;
    size_t trace_bytes = 0;

    /* at least |N - M| lines are inserted or deleted: known too different
     * before any work */
    if ((N > M ? N - M : M - N) > maxd)
        return DIFF_TOO_DIFFERENT;
    trace = calloc((size_t)maxd + 1, sizeof *trace);
    V = calloc(2 * (size_t)maxd + 3, sizeof *V);
    if (!trace || !V) {
        free(trace);
        free(V);
        return DIFF_NOMEM;
    }
    V[off + 1] = 0;
    for (long d = 0; d <= maxd && D < 0; d++) {
        trace_bytes += (2 * (size_t)d + 3) * sizeof **trace;
        if (trace_bytes > DIFF_TRACE_MAX_BYTES)
            break; /* whatever max_edits says: too different to afford */
        trace[d] = malloc((2 * (size_t)d + 3) * sizeof **trace);
        if (!trace[d])
            break;
        for (k = -(d + 1); k <= d + 1; k++)
            trace[d][k + d + 1] = (int32_t)((k >= -maxd - 1 && k <= maxd + 1) ? V[off + k] : 0);
        for (k = -d; k <= d; k += 2) {
            if (k == -d || (k != d && V[off + k - 1] < V[off + k + 1]))
                x = V[off + k + 1];
            else
                x = V[off + k - 1] + 1;
            y = x - k;
            while (x < N && y < M && eq(&a[x], &b[y])) {
                x++;
                y++;
            }
            V[off + k] = x;
            if (x >= N && y >= M) {
                D = d;
                break;
            }
        }
    }
    if (D < 0) {
        long rc = DIFF_TOO_DIFFERENT;
        for (long d = 0; d <= maxd; d++)
            free(trace[d]);
        free(trace);
        free(V);
        return rc;
    }
    /* back from (N, M) */
    x = N;
    y = M;
    for (long d = D; d >= 0; d--) {
        const int32_t *T = trace[d];
        long pk, px, py;
        k = x - y;
        if (d == 0) {
            pk = 0;
            px = 0;
            py = 0;
        } else {
            if (k == -d || (k != d && T[k - 1 + d + 1] < T[k + 1 + d + 1]))
                pk = k + 1;
            else
                pk = k - 1;
            px = T[pk + d + 1];
            py = px - pk;
        }
        while (x > px && y > py) {
            x--;
            y--;
            rev[n].kind = DIFF_SAME;
            rev[n].text = a[x].p;
            rev[n].len = a[x].len;
            rev[n].a_line = a0 + (size_t)x + 1;
            rev[n].b_line = b0 + (size_t)y + 1;
            n++;
        }
        if (d > 0) {
            if (x == px) { /* down: b[py] inserted */
                rev[n].kind = DIFF_INS;
                rev[n].text = b[py].p;
                rev[n].len = b[py].len;
                rev[n].a_line = 0;
                rev[n].b_line = b0 + (size_t)py + 1;
            } else { /* right: a[px] deleted */
                rev[n].kind = DIFF_DEL;
                rev[n].text = a[px].p;
                rev[n].len = a[px].len;
                rev[n].a_line = a0 + (size_t)px + 1;
                rev[n].b_line = 0;
            }
            n++;
        }
        x = px;
        y = py;
    }
    for (long d = 0; d <= D; d++)
        free(trace[d]);
    for (long d = D + 1; d <= maxd; d++)
        free(trace[d]);
    free(trace);
    free(V);
    return n;
}

int diff_lines(const char *a, size_t alen, const char *b, size_t blen, size_t max_edits,
               struct diff_line **out, size_t *n)
{
    struct line *la = NULL, *lb = NULL;
    size_t na = 0, nb = 0, pre = 0, suf = 0, k = 0;
    struct diff_line *o = NULL, *rev = NULL;
    int rc;
    long m;

    *out = NULL;
    *n = 0;
    rc = split(a ? a : "", a ? alen : 0, &la, &na);
    if (rc == 0)
        rc = split(b ? b : "", b ? blen : 0, &lb, &nb);
    if (rc < 0) {
        free(la);
        return rc == -3 ? DIFF_TOO_MANY_LINES : DIFF_NOMEM;
    }
    while (pre < na && pre < nb && eq(&la[pre], &lb[pre]))
        pre++;
    while (suf < na - pre && suf < nb - pre && eq(&la[na - 1 - suf], &lb[nb - 1 - suf]))
        suf++;
    o = malloc((na + nb + 1) * sizeof *o);
    rev = malloc((na + nb + 1) * sizeof *rev);
    if (!o || !rev) {
        rc = DIFF_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < pre; i++)
        put(o, &k, DIFF_SAME, &la[i], i + 1, i + 1);
    m = myers(la + pre, (long)(na - pre - suf), lb + pre, (long)(nb - pre - suf),
              max_edits > (size_t)INT32_MAX ? INT32_MAX : (long)max_edits, rev, pre, pre);
    if (m < 0) {
        rc = (int)m;
        goto out;
    }
    while (m-- > 0)
        o[k++] = rev[m];
    for (size_t i = 0; i < suf; i++)
        put(o, &k, DIFF_SAME, &la[na - suf + i], na - suf + i + 1, nb - suf + i + 1);
    *out = o;
    *n = k;
    o = NULL;
    rc = DIFF_OK;
out:
    free(o);
    free(rev);
    free(la);
    free(lb);
    return rc;
}
