/* SPDX-License-Identifier: MIT */
/* health.c: fixed log-scale latency histogram; see health.h. */
#include "health.h"

#include <math.h>

double cg_hist_bound_ms(size_t i)
{
    if (i >= CG_HIST_BUCKETS - 1)
        return INFINITY;
    return 0.25 * (double)(1u << i);
}

void cg_hist_observe(struct cg_hist *h, double ms)
{
    size_t i;

    if (!(ms >= 0)) /* NaN and negatives land in bucket 0 */
        ms = 0;
    for (i = 0; i < CG_HIST_BUCKETS - 1; i++)
        if (ms <= cg_hist_bound_ms(i))
            break;
    h->b[i]++;
}

void cg_hist_merge(struct cg_hist *dst, const struct cg_hist *src)
{
    size_t i;

    for (i = 0; i < CG_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
}

uint64_t cg_hist_count(const struct cg_hist *h)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; i < CG_HIST_BUCKETS; i++)
        n += h->b[i];
    return n;
}

double cg_hist_quantile(const struct cg_hist *h, double q)
{
    uint64_t total = cg_hist_count(h), seen = 0;
    double rank;
    size_t i;

    if (total == 0 || !(q > 0) || q > 1)
        return NAN;
    rank = q * (double)total;
    for (i = 0; i < CG_HIST_BUCKETS; i++) {
        if (h->b[i] && (double)(seen + h->b[i]) >= rank) {
            double lo = i == 0 ? 0 : cg_hist_bound_ms(i - 1);
            double hi =
                i == CG_HIST_BUCKETS - 1 ? cg_hist_bound_ms(i - 1) * 2 : cg_hist_bound_ms(i);
            return lo + (hi - lo) * ((rank - (double)seen) / (double)h->b[i]);
        }
        seen += h->b[i];
    }
    return cg_hist_bound_ms(CG_HIST_BUCKETS - 2) * 2;
}

json_t *cg_hist_to_json(const struct cg_hist *h)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < CG_HIST_BUCKETS; i++)
        json_array_append_new(a, json_integer((json_int_t)h->b[i]));
    return json_pack("{s:o}", "buckets", a);
}

int cg_hist_from_json(const json_t *v, struct cg_hist *out)
{
    const json_t *a = json_object_get(v, "buckets");
    size_t i;

    for (i = 0; i < CG_HIST_BUCKETS; i++)
        out->b[i] = 0;
    if (!json_is_object(v) || !json_is_array(a) || json_array_size(a) > CG_HIST_BUCKETS)
        return -1;
    for (i = 0; i < json_array_size(a); i++) {
        json_t *x = json_array_get(a, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            return -1;
        out->b[i] = (uint64_t)json_integer_value(x);
    }
    return 0;
}
