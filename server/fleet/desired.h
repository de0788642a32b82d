/*
 * desired.h: the desired-state cache that agents poll (DESIGN.md §5).
 *
 * For every cell it keeps the rendered 200 body of GET /v1/agent/desired
 * (the cell's assignments, each with a signed statement) and its ETag,
 * rebuilt from the store only when the cell's assignments change or its
 * statements reach half their lifetime. Polls are answered from memory:
 * 304 when the ETag matches, 200 with the body otherwise; a long-poll
 * (wait=S) whose ETag matches is parked until the cell changes or the wait
 * (with ±10% jitter) ends or its client closes the connection (checked
 * every second, so dead agents do not hold a parked slot and a descriptor
 * for the rest of their wait). One sweeper thread expires parked polls and
 * re-signs statements.
 */
#ifndef CG_DESIRED_H
#define CG_DESIRED_H

#include <stddef.h>
#include <stdint.h>

struct daemon;
struct request;
struct response;
struct store;
struct cg_signkey;
struct desired;

struct desired_config {
    int64_t statement_ttl_ms; /* statement lifetime; re-signed at half-life */
    size_t max_parked;        /* parked long-polls beyond this are shed (503) */
    unsigned max_wait_s;      /* cap on wait= (default 300) */
    int keep_gone;            /* --no-shed: polls of closed clients stay parked */
};

struct desired_stats {
    uint64_t parked;    /* long-polls parked now */
    uint64_t cells;     /* cells in the cache */
    uint64_t rebuilds;  /* bodies rendered since start */
    uint64_t shed;      /* long-polls refused because max_parked was reached */
    uint64_t abandoned; /* parked long-polls released because the client left */
};

/* Builds the cache for every cell in the store and starts the sweeper.
 * 'key' is borrowed and must outlive the cache. NULL on failure (msg). */
struct desired *desired_start(struct store *st, const struct cg_signkey *key,
                              const struct desired_config *cfg, char *msg);

/* Answers every parked poll with 304 and stops the sweeper; later polls
 * are answered at once (never parked). Call before the HTTP server stops. */
void desired_drain(struct desired *ds);

/* Frees the cache. Call after the HTTP server stopped. NULL is a no-op. */
void desired_free(struct desired *ds);

/* Re-renders the given cells from the store (after an assignment change or
 * a new cell) and wakes their parked polls if the body changed. Returns 0,
 * or -1 if the store failed (the old body stays; the sweeper retries). */
int desired_refresh(struct desired *ds, const char *const *cells, size_t n);

/*
 * Handles one poll for 'cell': fills rs (200 / 304 / 404) and returns 0, or
 * parks the request and returns HANDLER_PARKED (http.h). 'inm' is the
 * If-None-Match header (may be NULL), 'wait_s' 0 for no long-poll.
 */
int desired_poll(struct desired *ds, const char *cell, const char *inm, unsigned wait_s,
                 struct request *rq, struct response *rs);

/* Current counters. */
void desired_stats(struct desired *ds, struct desired_stats *out);

#endif /* CG_DESIRED_H */
