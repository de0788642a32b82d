/* SPDX-License-Identifier: MIT */
/* delivery.c: the delivery statistics; see delivery.h. */
#include "delivery.h"

#include <stdlib.h>
#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

int64_t delivery_quantile(int64_t *v, size_t n, double q)
{
    double t = q * (double)n;
    size_t rank;

    if (!v || n == 0)
        return -1;
    qsort(v, n, sizeof *v, cmp_i64);
    rank = (size_t)t;
    if ((double)rank < t)
        rank++; /* ceil without libm */
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

static void dist(int64_t *v, size_t n, struct delivery_dist *d)
{
    d->n = (int64_t)n;
    d->sum_ms = 0;
    for (size_t i = 0; i < n; i++)
        d->sum_ms += v[i];
    d->median_ms = delivery_quantile(v, n, 0.5);
    d->p90_ms = delivery_quantile(v, n, 0.9);
}

void delivery_restore(const int64_t *back, size_t n, int64_t ended_ms, int64_t now_ms,
                      int64_t wait_ms, int64_t *restored_ms, int64_t *not_back, int *restoring)
{
    int64_t last = ended_ms, away = 0;

    for (size_t i = 0; i < n; i++) {
        if (back[i] <= 0 || back[i] > ended_ms + wait_ms)
            away++;
        else if (back[i] > last)
            last = back[i];
    }
    *not_back = away;
    *restoring = away > 0 && now_ms < ended_ms + wait_ms;
    *restored_ms = *restoring ? 0 : last;
}

int delivery_is_failure(const char *state)
{
    return strcmp(state, "rolled_back") == 0 || strcmp(state, "halted") == 0;
}

static int is_open(const char *state)
{
    return strcmp(state, "completed") != 0 && strcmp(state, "rolled_back") != 0 &&
           strcmp(state, "aborted") != 0 && strcmp(state, "halted") != 0;
}

int delivery_compute(const struct delivery_rollout *r, size_t n, int64_t window_ms,
                     struct delivery_stats *out)
{
    int64_t *buf = calloc(n ? 5 * n : 1, sizeof *buf);
    int64_t *lead, *det, *res, *apw, *dnw;
    size_t nl = 0, nd = 0, nr = 0, na = 0, nw = 0;

    memset(out, 0, sizeof *out);
    if (!buf)
        return -1;
    lead = buf;
    det = buf + n;
    res = buf + 2 * n;
    apw = buf + 3 * n;
    dnw = buf + 4 * n;
    out->window_ms = window_ms;
    for (size_t i = 0; i < n; i++) {
        const struct delivery_rollout *x = &r[i];
        if (!x->forward) {
            out->restores++;
            continue;
        }
        out->started++;
        if (x->approval_wait_ms > 0) {
            apw[na++] = x->approval_wait_ms;
            out->approval_wait_total_ms += x->approval_wait_ms;
        }
        if (x->deny_wait_ms > 0) {
            dnw[nw++] = x->deny_wait_ms;
            out->deny_wait_total_ms += x->deny_wait_ms;
        }
        if (strcmp(x->state, "completed") == 0) {
            out->completed++;
            if (x->published_ms > 0 && x->ended_ms >= x->published_ms)
                lead[nl++] = x->ended_ms - x->published_ms;
        } else if (delivery_is_failure(x->state)) {
            out->failed++;
            if (x->detected_ms >= x->created_ms && x->detected_ms > 0)
                det[nd++] = x->detected_ms - x->created_ms;
            if (strcmp(x->state, "rolled_back") == 0 && x->restoring) {
                out->restoring++;
            } else if (strcmp(x->state, "rolled_back") == 0) {
                if (x->detected_ms > 0 && x->restored_ms >= x->detected_ms)
                    res[nr++] = x->restored_ms - x->detected_ms;
                if (x->hosts_not_back > 0) {
                    out->restores_incomplete++;
                    out->hosts_not_restored += x->hosts_not_back;
                }
            }
            out->blast_cells_total += x->cells_exposed;
            out->blast_hosts_total += x->hosts_exposed;
            if (x->cells_exposed > out->blast_cells_max)
                out->blast_cells_max = x->cells_exposed;
            if (x->hosts_exposed > out->blast_hosts_max)
                out->blast_hosts_max = x->hosts_exposed;
        } else if (strcmp(x->state, "aborted") == 0) {
            out->aborted++;
        } else if (is_open(x->state)) {
            out->open++;
        }
    }
    out->deploys_per_day =
        window_ms > 0 ? (double)out->completed * (double)DAY_MS / (double)window_ms : 0.0;
    out->failure_rate = out->started > 0 ? (double)out->failed / (double)out->started : -1.0;
    dist(lead, nl, &out->lead);
    dist(det, nd, &out->detect);
    dist(res, nr, &out->restore);
    dist(apw, na, &out->approval_wait);
    dist(dnw, nw, &out->deny_wait);
    free(buf);
    return 0;
}
