/* SPDX-License-Identifier: MIT */
/*
 * bench_validate.c: how long does checking a 1 MiB document against a
 * realistic contract take? (Not part of the test suite.)
 *
 * Generates a feature-file-like document (an array of feature objects with
 * name/type/enabled/weights/...) of about 1 MiB and a contract with a schema
 * (required, types, patterns, enums, bounds, additionalProperties),
 * cardinality and growth rules, then times, over RUNS runs:
 *
 *   validate_1mib        cg_contract_check(): parse + check, live version
 *                        already prepared (cached cg_doc, as the server and
 *                        agent keep it)
 *   validate_1mib_cold   cg_contract_check() with the live bytes parsed too
 *
 * and prints one line each:
 *   name bytes=.. median_ms=.. p99_ms=.. goal_ms=20 cpu_median_ms=..
 * (wall-clock times; cpu_median_ms is the thread's CPU time, which tells a
 * slow validator from a busy machine).
 * Usage: bench_validate [runs]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "contract.h"
#include "status.h"

#define TARGET_BYTES (1024 * 1024)
#define GOAL_MS      20

static const char contract_text[] =
    "{\"media_type\": \"application/json\","
    " \"schema\": {"
    "  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\","
    "  \"type\": \"object\", \"required\": [\"version\", \"features\"],"
    "  \"additionalProperties\": false,"
    "  \"properties\": {"
    "   \"version\": {\"type\": \"integer\", \"minimum\": 1},"
    "   \"generated_at\": {\"type\": \"string\", \"pattern\": "
    "\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$\"},"
    "   \"features\": {\"type\": \"array\", \"items\": {\"$ref\": \"#/$defs/feature\"}}},"
    "  \"$defs\": {\"feature\": {"
    "   \"type\": \"object\", \"required\": [\"name\", \"type\", \"enabled\", \"weights\"],"
    "   \"additionalProperties\": false,"
    "   \"properties\": {"
    "    \"name\": {\"type\": \"string\", \"pattern\": \"^[a-z][a-z0-9_]{2,63}$\"},"
    "    \"type\": {\"enum\": [\"float\", \"int\", \"bool\", \"categorical\"]},"
    "    \"enabled\": {\"type\": \"boolean\"},"
    "    \"owner\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 64},"
    "    \"db\": {\"enum\": [\"default\", \"r0\", \"r1\"]},"
    "    \"version\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 1000},"
    "    \"weights\": {\"type\": \"array\", \"minItems\": 1, \"maxItems\": 16,"
    "                 \"items\": {\"type\": \"number\", \"minimum\": -1, \"maximum\": 1}},"
    "    \"tags\": {\"type\": \"array\", \"uniqueItems\": true,"
    "              \"items\": {\"type\": \"string\", \"pattern\": \"^[a-z-]+$\"}},"
    "    \"threshold\": {\"type\": \"number\", \"exclusiveMinimum\": 0, \"multipleOf\": 0.001}"
    "   }}}},"
    " \"max_bytes\": 2097152,"
    " \"max_depth\": 16,"
    " \"cardinality\": [{\"pointer\": \"/features\", \"min\": 1, \"max\": 10000}],"
    " \"growth\": [{\"pointer\": \"/features\", \"max_ratio\": 1.5, \"max_abs\": 1000},"
    "            {\"pointer\": \"\", \"max_ratio\": 2.0}],"
    " \"preserve\": [\"/version\"]}";

static const char *const types[] = {"float", "int", "bool", "categorical"};
static const char *const tags[] = {"bot", "ml", "edge", "fraud", "latency", "geo"};

/* Appends one feature object. */
static int feature(struct cg_buf *b, unsigned i)
{
    unsigned k, nw = 4 + i % 5;
    int rc = cg_buf_printf(b,
                           "%s{\"name\": \"feature_%05u_%s\", \"type\": \"%s\", \"enabled\": %s,"
                           " \"owner\": \"team-%u\", \"db\": \"default\", \"version\": %u,"
                           " \"threshold\": %u.%03u, \"weights\": [",
                           i ? ",\n" : "", i, tags[i % 6], types[i % 4], i % 7 ? "true" : "false",
                           i % 13, 1 + i % 9, i % 3, (i * 37) % 1000 + 1);

    for (k = 0; k < nw && rc == 0; k++)
        rc = cg_buf_printf(b, "%s%.4f", k ? ", " : "",
                           (double)((i * 31 + k * 17) % 2000) / 1000.0 - 1.0);
    if (rc == 0)
        rc = cg_buf_printf(b, "], \"tags\": [\"%s\", \"%s\"]}", tags[i % 6], tags[(i + 1) % 6]);
    return rc;
}

/* Builds the document: features until about 'target' bytes. *nfeat gets
 * the count. */
static int make_doc(struct cg_buf *b, size_t target, unsigned *nfeat)
{
    unsigned i = 0;

    if (cg_buf_puts(b, "{\"version\": 42, \"generated_at\": \"2026-11-22T14:55:28.123Z\","
                       " \"features\": [\n") < 0)
        return -1;
    while (b->len + 400 < target)
        if (feature(b, i++) < 0)
            return -1;
    if (cg_buf_puts(b, "]}") < 0)
        return -1;
    /* pad with spaces inside the document to hit the target exactly */
    while (b->len < target) {
        b->data[b->len - 2] = ' ';
        b->data[b->len - 1] = ']';
        if (cg_buf_puts(b, "}") < 0)
            return -1;
    }
    *nfeat = i;
    return 0;
}

static double clock_ms(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double now_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

static double cpu_ms(void)
{
    return clock_ms(CLOCK_THREAD_CPUTIME_ID);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void report(const char *name, size_t bytes, double *t, double *cpu, int runs)
{
    int p99 = (runs * 99 + 99) / 100 - 1;

    qsort(t, (size_t)runs, sizeof(*t), cmp_double);
    qsort(cpu, (size_t)runs, sizeof(*cpu), cmp_double);
    printf("%s bytes=%zu median_ms=%.2f p99_ms=%.2f goal_ms=%d cpu_median_ms=%.2f\n", name, bytes,
           t[runs / 2], t[p99 < runs ? p99 : runs - 1], GOAL_MS, cpu[runs / 2]);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 50, r;
    struct cg_buf doc = {0}, live = {0};
    struct cg_contract *c = NULL;
    struct cg_violations errs = {0};
    struct cg_doc *dlive = NULL;
    unsigned nfeat = 0, nlive = 0;
    double *t, *cpu;

    if (runs < 1)
        runs = 50;
    t = calloc((size_t)runs, sizeof(*t));
    cpu = calloc((size_t)runs, sizeof(*cpu));
    if (!t || !cpu || make_doc(&doc, TARGET_BYTES, &nfeat) < 0 ||
        make_doc(&live, TARGET_BYTES * 9 / 10, &nlive) < 0) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    if (cg_contract_parse(contract_text, strlen(contract_text), &c, &errs) != CG_OK) {
        fprintf(stderr, "contract: %s %s\n", errs.count ? errs.items[0].pointer : "",
                errs.count ? errs.items[0].message : "");
        return 1;
    }
    if (cg_doc_new(c, live.data, live.len, &dlive) != CG_OK)
        return 1;
    /* sanity: the generated document passes, so the whole schema is walked */
    {
        struct cg_violations v = {0};
        if (cg_contract_check(c, doc.data, doc.len, live.data, live.len, &v) != CG_OK) {
            fprintf(stderr, "generated document fails its contract: %s %s %s\n",
                    v.count ? v.items[0].pointer : "", v.count ? v.items[0].rule : "",
                    v.count ? v.items[0].message : "");
            return 1;
        }
        cg_violations_free(&v);
    }
    fprintf(stderr, "document: %zu bytes, %u features (live: %zu bytes, %u features)\n", doc.len,
            nfeat, live.len, nlive);

    for (r = 0; r < runs; r++) {
        struct cg_violations v = {0};
        struct cg_doc *d = NULL;
        double t0 = now_ms(), c0 = cpu_ms();
        int rc = cg_doc_new(c, doc.data, doc.len, &d);
        if (rc == CG_OK)
            rc = cg_contract_check_doc(c, d, dlive, &v);
        cg_doc_free(d);
        t[r] = now_ms() - t0;
        cpu[r] = cpu_ms() - c0;
        if (rc != CG_OK)
            return 1;
        cg_violations_free(&v);
    }
    report("validate_1mib", doc.len, t, cpu, runs);

    for (r = 0; r < runs; r++) {
        struct cg_violations v = {0};
        double t0 = now_ms(), c0 = cpu_ms();
        int rc = cg_contract_check(c, doc.data, doc.len, live.data, live.len, &v);
        t[r] = now_ms() - t0;
        cpu[r] = cpu_ms() - c0;
        if (rc != CG_OK)
            return 1;
        cg_violations_free(&v);
    }
    report("validate_1mib_cold", doc.len, t, cpu, runs);

    cg_doc_free(dlive);
    cg_contract_free(c);
    cg_buf_free(&doc);
    cg_buf_free(&live);
    free(t);
    free(cpu);
    return 0;
}
