/* SPDX-License-Identifier: MIT */
/*
 * stats.h: the statistics registry behind GET /metrics.
 *
 * Each subsystem registers its own source (a name and a function that
 * writes its families in the Prometheus text exposition format) when it is
 * wired into the daemon; stats_render() only loops over the sources in
 * registration order and knows none of them. So a new subsystem exports its
 * counters by registering, and nothing that exists has to learn about it
 * (the model is postgres' pgstat.c: "infrastructure files should not
 * contain code related to specific kinds of stats").
 *
 * This is a leaf: it depends on common/ only, and every server layer may
 * register into it. Register before the server starts serving; rendering is
 * thread-safe against itself.
 *
 * The helpers below write the pieces every source needs: a family header,
 * an escaped label value, and a lock-free fixed-bucket histogram.
 */
#ifndef CG_STATS_H
#define CG_STATS_H

#include <stdatomic.h>
#include <stddef.h>

#include "buf.h"

struct stats;

/* Writes one source's families into 'out'. Runs on a request worker while
 * /metrics is rendered; must not block on the store. */
typedef void (*stats_render_fn)(void *ctx, struct cg_buf *out);

/* Most sources a registry holds. */
#define STATS_MAX_SOURCES 32

/* A new, empty registry; NULL when out of memory. */
struct stats *stats_new(void);

/* Frees the registry (not the sources' contexts). NULL is a no-op. */
void stats_free(struct stats *st);

/* Adds source 'name' (a static string, unique in the registry) that
 * renders with fn(ctx, out). Returns 0, or -1 when the name is taken or the
 * registry is full. */
int stats_register(struct stats *st, const char *name, stats_render_fn fn, void *ctx);

/* Removes source 'name' (before its context is freed). Returns 0, or -1 if
 * no such source. */
int stats_unregister(struct stats *st, const char *name);

/* Number of registered sources. */
size_t stats_count(const struct stats *st);

/* Renders every source into a malloc'd text (caller frees); *len gets its
 * length. NULL when out of memory. */
char *stats_render(struct stats *st, size_t *len);

/* Writes the "# HELP" and "# TYPE" lines of family 'name'. */
void stats_family(struct cg_buf *b, const char *name, const char *type, const char *help);

/* Writes 'v' as the inside of a quoted label value (backslash, quote and
 * newline escaped). */
void stats_label_value(struct cg_buf *b, const char *v);

/* Most finite bucket bounds of a histogram. */
#define STATS_HISTO_MAX 24

/*
 * A histogram with fixed bucket bounds (seconds), lock-free to observe.
 * Embed it in the owner's struct and initialise with stats_histo_init().
 */
struct stats_histo {
    const double *bounds;                             /* ascending, static */
    size_t nbounds;                                   /* <= STATS_HISTO_MAX */
    atomic_uint_fast64_t counts[STATS_HISTO_MAX + 1]; /* per bucket, last = +Inf */
    atomic_uint_fast64_t sum_us;
};

/* Sets the bounds (static array of n ascending values, n <= STATS_HISTO_MAX;
 * more are ignored) and zeroes the counts. */
void stats_histo_init(struct stats_histo *h, const double *bounds, size_t n);

/* Counts one observation of 'seconds'. Thread-safe, lock-free. */
void stats_histo_observe(struct stats_histo *h, double seconds);

/* Writes the _bucket (cumulative), _sum and _count lines of 'h' under
 * 'name', with extra 'labels' (e.g. "lane=\"poll\"", or "" for none). */
void stats_histo_write(struct cg_buf *b, const char *name, const char *labels,
                       const struct stats_histo *h);

/* The sum of every bucket of 'h'. */
unsigned long long stats_histo_count(const struct stats_histo *h);

#endif /* CG_STATS_H */
