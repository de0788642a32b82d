/* SPDX-License-Identifier: MIT */
/*
 * fuzz_promtext.c - fuzz target: the Prometheus text exposition parser and
 * its queries (common/promtext.c), which read whatever the host
 * application's /metrics returns, and the selector parser, which reads the
 * agent's config file.
 *
 * Input: an exposition text. When it starts with "#@", that first line
 * (without "#@") is a selector instead and the rest is the exposition.
 * After parsing, the set's documented invariants are checked (abort() when
 * one fails) and the agent's queries run on it: sums and histograms for
 * the input's selector, a few fixed ones and every family, and the
 * histogram delta between them.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"
#include "status.h"

#define FUZZ_MAX_INPUT (64 * 1024) /* the agent accepts 8 MiB; 64 KiB is plenty to fuzz */
#define MAX_SELECTOR   1024
#define MAX_FAMILIES   8   /* families queried per input */
#define MAX_MATCHED    256 /* samples tested one by one per selector */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fixed_selectors[] = {
    "http_requests_total",
    "http_requests_total{code=~\"5..\"}",
    "http_request_duration_seconds{job!=\"x\",le!~\"\"}",
    "{__name__=~\".*_total\"}",
    "x{a=`raw\\`,b!~'q.*'}",
};

/* Checks the invariants promtext.h lists for a parsed set. */
static void check_set(const struct cg_prom_set *s)
{
    size_t ns = cg_prom_set_nsamples(s), nf = cg_prom_set_nfamilies(s), total = 0;

    for (size_t i = 0; i < ns; i++) {
        const struct cg_prom_sample *smp = cg_prom_set_sample(s, i);
        if (!smp || !smp->family || !smp->name || smp->line == 0) {
            abort();
        }
        if (cg_prom_set_find_family(s, smp->family->name) != smp->family) {
            abort();
        }
        for (size_t k = 0; k < smp->nlabels; k++) {
            if (!smp->labels[k].name || !smp->labels[k].value) {
                abort();
            }
            if (k > 0 && strcmp(smp->labels[k - 1].name, smp->labels[k].name) >= 0) {
                abort(); /* sorted by name, names unique */
            }
            if (cg_prom_sample_label(smp, smp->labels[k].name) != smp->labels[k].value) {
                abort();
            }
        }
    }
    for (size_t i = 0; i < nf; i++) {
        const struct cg_prom_family *f = cg_prom_set_family(s, i);
        if (!f || !f->name) {
            abort();
        }
        (void)cg_prom_type_name(f->type);
        total += f->nsamples;
    }
    if (total != ns || cg_prom_set_sample(s, ns) || cg_prom_set_family(s, nf)) {
        abort();
    }
}

/* Runs the agent's queries for one selector; 'prev' is a histogram of an
 * earlier query (or zeroed) for the delta. */
static void query(const struct cg_prom_set *s, const struct cg_prom_selector *sel,
                  struct cg_prom_hist *prev)
{
    struct cg_prom_hist h = {0}, d = {0};
    double sum = 0;
    size_t nmatched = 0, ns = cg_prom_set_nsamples(s);
    char msg[192];
    int reset = 0;

    if (cg_prom_sum(s, sel, &sum, &nmatched) == CG_OK && nmatched > ns) {
        abort();
    }
    for (size_t i = 0; i < ns && i < MAX_MATCHED; i++) {
        (void)cg_prom_selector_matches(sel, cg_prom_set_sample(s, i));
    }
    if (cg_prom_histogram(s, sel, &h, msg, sizeof msg) != CG_OK) {
        return;
    }
    if (h.nbuckets == 0 || !isinf(h.upper[h.nbuckets - 1])) {
        abort(); /* the last bound is +Inf */
    }
    for (size_t i = 1; i < h.nbuckets; i++) {
        if (!(h.upper[i - 1] < h.upper[i]) || h.cumulative[i - 1] > h.cumulative[i]) {
            abort(); /* ascending bounds, non-decreasing counts */
        }
    }
    if (cg_prom_hist_delta(&h, &h, &d, &reset) == CG_OK) {
        cg_prom_hist_release(&d);
    }
    if (prev->nbuckets && cg_prom_hist_delta(prev, &h, &d, &reset) == CG_OK) {
        if (d.nbuckets != h.nbuckets) {
            abort();
        }
        cg_prom_hist_release(&d);
    }
    cg_prom_hist_release(prev);
    *prev = h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct cg_prom_set *set = NULL;
    struct cg_prom_selector *sel = NULL;
    struct cg_prom_error err;
    struct cg_prom_hist prev = {0};
    char spec[MAX_SELECTOR + 1], msg[256];
    size_t off = 0;

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    if (size >= 2 && text[0] == '#' && text[1] == '@') {
        const char *nl = memchr(text, '\n', size);
        size_t n = (nl ? (size_t)(nl - text) : size) - 2;
        if (n > MAX_SELECTOR) {
            return 0;
        }
        memcpy(spec, text + 2, n);
        spec[n] = '\0';
        off = nl ? (size_t)(nl - text) + 1 : size;
        if (cg_prom_selector_parse(spec, &sel, msg, sizeof msg) != CG_OK && sel) {
            abort(); /* no selector on failure */
        }
    }
    if (cg_prom_parse(text + off, size - off, NULL, &set, &err) != CG_OK) {
        if (set || err.kind == CG_PROM_OK || !memchr(err.message, '\0', sizeof err.message)) {
            abort();
        }
        cg_prom_selector_free(sel);
        return 0;
    }
    check_set(set);
    if (sel) {
        (void)cg_prom_selector_metric(sel);
        query(set, sel, &prev);
    }
    for (size_t i = 0; i < sizeof fixed_selectors / sizeof fixed_selectors[0]; i++) {
        struct cg_prom_selector *fs = NULL;
        if (cg_prom_selector_parse(fixed_selectors[i], &fs, msg, sizeof msg) != CG_OK) {
            abort(); /* they are all valid */
        }
        query(set, fs, &prev);
        cg_prom_selector_free(fs);
    }
    for (size_t i = 0; i < cg_prom_set_nfamilies(set) && i < MAX_FAMILIES; i++) {
        struct cg_prom_selector *fs = NULL;
        if (cg_prom_selector_new(cg_prom_set_family(set, i)->name, &fs) == CG_OK) {
            query(set, fs, &prev);
            cg_prom_selector_free(fs);
        }
    }
    cg_prom_hist_release(&prev);
    cg_prom_selector_free(sel);
    cg_prom_set_free(set);
    return 0;
}
