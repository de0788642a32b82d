/* SPDX-License-Identifier: MIT */
/*
 * flags.h: what each cell's feature flags are, compiled, for evaluation on
 * the server (OFREP, `cellgate flag eval`; docs/flags.md).
 *
 * A cell's flags are the documents of the `flags` configs assigned to it:
 * a flag change moves cell by cell with its rollout, like any config. This
 * cache keeps, per cell, a view: the cell's flags configs with the version
 * and generation assigned and the document compiled once (common/flagd/),
 * shared by every cell that runs the same bytes (keyed by sha256). Views
 * are immutable and reference-counted: a request takes one, evaluates
 * without any lock and releases it. A view is built from the store on the
 * first request for its cell and dropped when the change funnel announces
 * an assignment of the cell (NOTIFY_ASSIGN) or a resync; the next request
 * builds it again.
 */
#ifndef CG_FLAGS_H
#define CG_FLAGS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct flags;
struct flags_view;
struct flagd_set;
struct notify;
struct stats;
struct store;

/* One flags config of a view. */
struct flags_entry {
    const char *config;          /* the config's name */
    int64_t version;             /* the version assigned to the cell */
    int64_t generation;          /* its assignment generation */
    const char *sha256;          /* the document's hash */
    const struct flagd_set *set; /* compiled; NULL when the document does not compile */
};

/* A new, empty cache over 'st' (borrowed). max_cells bounds the views
 * kept (0: 4096); beyond it the least recently used is dropped. NULL when
 * out of memory. */
struct flags *flags_new(struct store *st, size_t max_cells);

/* Frees the cache. Every view must have been released (free it after the
 * HTTP server stopped). NULL is a no-op. */
void flags_free(struct flags *f);

/* Subscribes to the change funnel: NOTIFY_ASSIGN drops the views of its
 * cells (all views when it names none), NOTIFY_RESYNC drops every view.
 * 0 or -1. */
int flags_attach(struct flags *f, struct notify *n);

/* Registers cellgate_flags_* in /metrics (views, compiled documents,
 * builds, evaluations by result). 0 or -1. */
int flags_register_stats(struct flags *f, struct stats *st);

/* The view of 'cell' (a new reference, flags_view_release()), built from
 * the store when not cached. CG_OK, or a store error with msg
 * (STORE_MSG_MAX bytes). A cell without flags configs has an empty view. */
int flags_view_get(struct flags *f, const char *cell, struct flags_view **out, char *msg);

/* Drops a reference. NULL is a no-op. */
void flags_view_release(struct flags_view *v);

/* The cell of a view, its flags configs (ordered by config name) and
 * their number. */
const char *flags_view_cell(const struct flags_view *v);
size_t flags_view_count(const struct flags_view *v);
const struct flags_entry *flags_view_at(const struct flags_view *v, size_t i);

/* 32 hex characters naming what the view holds (cell, configs, versions,
 * generations): equal views, equal tags. */
const char *flags_view_tag(const struct flags_view *v);

/*
 * Finds flag 'key' in the view, in config 'config' only when not NULL.
 * Returns the index of its entry, -1 when no entry has it, or -2 when more
 * than one config has it and 'config' is NULL (*other then names the
 * second one's index). Entries whose document does not compile hold no
 * flags.
 */
long flags_view_find(const struct flags_view *v, const char *config, const char *key,
                     size_t *other);

/* Counts one evaluation by its result ("ok", "not_found", "error") for
 * /metrics. */
void flags_count_eval(struct flags *f, const char *result);

#endif /* CG_FLAGS_H */
