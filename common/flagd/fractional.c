/* SPDX-License-Identifier: MIT */
/*
 * fractional.c: flagd's "fractional" operator and the MurmurHash3 it
 * buckets with (flagd_int.h). docs/flags.md, "Fractional bucketing", is
 * the long form.
 *
 * The bucketing value is the first argument when that evaluates to a
 * string, else the flag key followed by the context's targetingKey (no
 * targetingKey: no bucket, null). Its MurmurHash3 (x86, 32 bits, seed 0,
 * over the UTF-8 bytes) maps to [0, total weight) as
 * (hash * total) >> 32, and the buckets take consecutive ranges of their
 * weights in order. This is flagd's current scheme ("High-Precision
 * Fractional Bucketing": integer weights, any total up to 2^31 - 1), the
 * one flagd, flagd-core and the other in-process providers share.
 */
#include "flagd_int.h"

#include <math.h>
#include <string.h>

/* MurmurHash3_x86_32, fed in pieces (the bucketing value is often the
 * flag key and the targeting key, which need not be copied together). */
struct mm3 {
    uint32_t h;
    uint32_t tail;
    size_t ntail;
    size_t len;
};

static uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static uint32_t mix_k(uint32_t k)
{
    k *= 0xcc9e2d51u;
    k = rotl32(k, 15);
    return k * 0x1b873593u;
}

static void mm3_add(struct mm3 *m, const void *data, size_t len)
{
    const unsigned char *p = data;
    m->len += len;
    for (size_t i = 0; i < len; i++) {
        m->tail |= (uint32_t)p[i] << (8 * m->ntail);
        if (++m->ntail == 4) {
            m->h ^= mix_k(m->tail);
            m->h = rotl32(m->h, 13);
            m->h = m->h * 5 + 0xe6546b64u;
            m->tail = 0;
            m->ntail = 0;
        }
    }
}

static uint32_t mm3_end(struct mm3 *m)
{
    uint32_t h = m->h;
    if (m->ntail > 0) {
        h ^= mix_k(m->tail);
    }
    h ^= (uint32_t)m->len;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

uint32_t jl_murmur3_32(const void *key, size_t len, uint32_t seed)
{
    struct mm3 m = {.h = seed};
    mm3_add(&m, key, len);
    return mm3_end(&m);
}

int jl_fractional(struct jl_env *env, const struct jl_val *data, const struct jl_val *args,
                  size_t n, struct jl_val *out)
{
    memset(out, 0, sizeof(*out));
    out->k = JL_NULL;
    struct jl_val flagd;
    if (n < 1 || !jl_get(env, data, "$flagd", 6, &flagd) || !jl_js_truthy(&flagd)) {
        return 0;
    }
    struct mm3 m = {0};
    size_t first = 0;
    if (args[0].k == JL_STR) {
        mm3_add(&m, args[0].s, args[0].len);
        first = 1;
    } else {
        struct jl_val tk, fk = {.k = JL_UNDEF};
        if (!jl_get(env, data, "targetingKey", 12, &tk) || !jl_js_truthy(&tk)) {
            return 0; /* no targeting key: no bucket */
        }
        jl_get(env, &flagd, "flagKey", 7, &fk);
        const char *s;
        size_t len;
        if (jl_tostr(env, &fk, &s, &len) != 0) {
            return -1;
        }
        mm3_add(&m, s, len);
        if (jl_tostr(env, &tk, &s, &len) != 0) {
            return -1;
        }
        mm3_add(&m, s, len);
    }
    double total = 0;
    for (size_t i = first; i < n; i++) {
        const struct jl_val *b = &args[i];
        if (!jl_is_array(b) || jl_arr_len(b) < 1 || jl_arr_len(b) > 2) {
            return 0; /* flagd-core: an invalid bucket means no result */
        }
        struct jl_val v, w;
        jl_arr_at(b, 0, &v);
        if (v.k != JL_STR && v.k != JL_NUM && v.k != JL_BOOL && v.k != JL_NULL) {
            return 0;
        }
        if (jl_arr_len(b) == 2) {
            jl_arr_at(b, 1, &w);
            if (w.k != JL_NUM || !isfinite(w.n) || w.n != trunc(w.n)) {
                return 0;
            }
            total += w.n > 0 ? w.n : 0; /* negative weights count as 0 */
        } else {
            total += 1;
        }
    }
    if (total > 2147483647.0) {
        return 0;
    }
    uint64_t bucket = ((uint64_t)mm3_end(&m) * (uint64_t)total) >> 32;
    uint64_t sum = 0;
    for (size_t i = first; i < n; i++) {
        struct jl_val v, w;
        jl_arr_at(&args[i], 0, &v);
        uint64_t weight = 1;
        if (jl_arr_len(&args[i]) == 2) {
            jl_arr_at(&args[i], 1, &w);
            weight = w.n > 0 ? (uint64_t)w.n : 0;
        }
        sum += weight;
        if (sum > bucket) {
            *out = v;
            return 0;
        }
    }
    return 0;
}
