/* SPDX-License-Identifier: MIT */
/*
 * bench_flags_eval.c DOC CONTEXTS ITERATIONS: in-process flag evaluation
 * with libcellgate (cg_flags_*, the evaluator of common/flagd/): every flag
 * of DOC for every context (JSON lines, parsed once, as the peer does),
 * ITERATIONS times after a warm-up, on one thread. Prints
 * "RESULT ns_per_eval=.. evals=..". Its peer is bench/flags_eval.js
 * (@openfeature/flagd-core) on the same files.
 */
#include <cellgate/cellgate.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One evaluation of flag k with the type its variants have. */
static long eval1(const struct cg_flags *f, const char *key, int type,
                  const struct cg_flags_context *c)
{
    char buf[64], *o;

    switch (type) {
    case 0:
        return cg_flags_bool(f, key, c, 0, NULL);
    case 1:
        return cg_flags_string(f, key, c, "", buf, sizeof buf, NULL)[0] != 0;
    case 2:
        return cg_flags_number(f, key, c, 0, NULL) != 0;
    default:
        o = cg_flags_object(f, key, c, NULL);
        cg_free(o);
        return o != NULL;
    }
}

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    struct cg_flags *f = NULL;
    struct cg_flags_context *ctx[4096];
    struct cg_error e = {0};
    const char *keys[256];
    int types[256]; /* 0 boolean, 1 string, 2 number, 3 object: of the variants */
    size_t nk = 0, nc = 0, i, k;
    long iters, it, sink = 0;
    json_t *doc, *v;
    const char *key;
    char line[8192];
    FILE *cf;
    double t0, ns;

    if (argc != 4) {
        fprintf(stderr, "usage: bench_flags_eval DOC CONTEXTS ITERATIONS\n");
        return 2;
    }
    iters = atol(argv[3]);
    doc = json_load_file(argv[1], 0, NULL);
    if (!doc || cg_flags_new(&f, &e) != CG_OK) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    {
        char *text = json_dumps(doc, JSON_COMPACT);
        if (cg_flags_load(f, text, strlen(text), 1, &e) != CG_OK) {
            fprintf(stderr, "load: %s\n", e.message);
            return 1;
        }
        free(text);
    }
    json_object_foreach(json_object_get(doc, "flags"), key, v)
    {
        const char *vk;
        json_t *x, *first = NULL;
        json_object_foreach(json_object_get(v, "variants"), vk, x) if (!first) first = x;
        if (nk < 256) {
            types[nk] = json_is_boolean(first)  ? 0
                        : json_is_string(first) ? 1
                        : json_is_number(first) ? 2
                                                : 3;
            keys[nk++] = key;
        }
    }
    if (!(cf = fopen(argv[2], "r")))
        return 1;
    while (nc < 4096 && fgets(line, sizeof line, cf))
        if (line[0] == '{' && cg_flags_context_new(line, &ctx[nc], &e) == CG_OK)
            nc++;
    fclose(cf);
    for (it = 0; it < iters / 10 + 1; it++)
        for (i = 0; i < nc; i++)
            for (k = 0; k < nk; k++)
                sink += eval1(f, keys[k], types[k], ctx[i]);
    t0 = now_ns();
    for (it = 0; it < iters; it++)
        for (i = 0; i < nc; i++)
            for (k = 0; k < nk; k++)
                sink += eval1(f, keys[k], types[k], ctx[i]);
    ns = now_ns() - t0;
    printf("RESULT ns_per_eval=%.1f evals=%ld sink=%ld\n",
           ns / ((double)iters * (double)nc * (double)nk), iters * (long)nc * (long)nk, sink);
    for (i = 0; i < nc; i++)
        cg_flags_context_free(ctx[i]);
    cg_flags_free(f);
    json_decref(doc);
    return 0;
}
