/* SPDX-License-Identifier: MIT */
/*
 * blast.h - blast-radius accounting: which cells and hosts ever ran each
 * version, how many requests each version served, what share of all fleet
 * requests that is, and the timeline of every rollout the simulator saw
 * (publish, start, detection, end of the rollback). docs/sim.md "Output".
 *
 * The simulated hosts feed it (enter/leave/served); the rollout monitor
 * feeds it the server's view of rollouts. blast_to_json() renders the
 * report written by --json-out.
 *
 * Pure: no I/O, no clock (times are parameters, epoch ms), no globals.
 * Not thread-safe (the simulator is single-threaded).
 */
#ifndef CG_SIM_BLAST_H
#define CG_SIM_BLAST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Everything known about one (config, version). */
struct blast_version {
    char config[64];
    int64_t version;
    char sha256[65];                  /* "" until a host applied it */
    struct model_behaviour behaviour; /* what the simulator made it do */
    int behaviour_set;                /* enum model_fields from its source */
    uint8_t *hosts_ever;              /* owned bitset over host indexes */
    uint8_t *cells_ever;              /* owned bitset over cell indexes */
    size_t nhosts_ever, ncells_ever;  /* bits set */
    uint64_t requests, errors;        /* served while a host ran it */
    uint32_t hosts_now;               /* hosts running it now */
    int64_t first_ms;                 /* first host applied it; 0 = never */
    int64_t last_ms;                  /* last time a host left it (or ran it) */
};

/* One rollout as the server reported it (times epoch ms, 0 = not yet). */
struct blast_rollout {
    int64_t id;
    char config[64];
    int64_t from_version, to_version;
    char kind[16];  /* "forward", "rollback" */
    char state[24]; /* running, rolling_back, rolled_back, completed, ... */
    int64_t published_ms;
    int64_t started_ms;
    int64_t detected_ms; /* the controller decided to roll back / halt */
    int64_t ended_ms;    /* the rollout ended (rolled_back, completed, ...) */
    char reason[256];    /* why it rolled back or halted */
    char **first_cells;  /* owned: cells of the first step */
    size_t nfirst;
    int64_t steps_total;   /* steps in the plan */
    int64_t steps_started; /* steps whose cells were assigned */
};

struct blast {
    size_t nhosts, ncells;
    const char *const *cell_ids; /* borrowed, ncells entries (for the report) */
    int64_t start_ms;            /* the simulator's start (epoch ms) */
    struct blast_version *v;     /* owned array */
    size_t nv, capv;
    struct blast_rollout *r; /* owned array */
    size_t nr, capr;
    double *fleet_per_s; /* owned: fleet requests per second since start_ms */
    size_t nsec;
    uint64_t fleet_requests, fleet_errors;
};

/* Initialises 'b' for a fleet. cell_ids is borrowed and must outlive 'b'.
 * Returns 0 or -1 (out of memory). */
int blast_init(struct blast *b, size_t nhosts, size_t ncells, const char *const *cell_ids,
               int64_t start_ms);

/* Frees everything 'b' owns. */
void blast_free(struct blast *b);

/* The entry of (config, version), created when 'create' (NULL when absent
 * or out of memory). The pointer stays valid until the next call that
 * creates an entry. */
struct blast_version *blast_version_get(struct blast *b, const char *config, int64_t version,
                                        bool create);

/* Host 'host' of cell 'cell' starts running (config, version) at now_ms. */
void blast_enter(struct blast *b, const char *config, int64_t version, const char *sha256,
                 size_t host, size_t cell, int64_t now_ms);

/* A host stops running (config, version) at now_ms. */
void blast_leave(struct blast *b, const char *config, int64_t version, int64_t now_ms);

/*
 * A host served 'requests' (of which 'errors' failed) over [from_ms,
 * to_ms) while running the listed versions (configs[i], versions[i]; n may
 * be 0). The fleet totals are spread evenly over the window's seconds.
 */
void blast_served(struct blast *b, const char *const *configs, const int64_t *versions, size_t n,
                  uint64_t requests, uint64_t errors, int64_t from_ms, int64_t to_ms);

/* Fleet requests served in [from_ms, to_ms) (partial seconds pro rata). */
double blast_fleet_requests(const struct blast *b, int64_t from_ms, int64_t to_ms);

/* Inserts or updates the rollout src->id (src is copied; first_cells are
 * copied when src->nfirst > 0, else the known ones are kept). Returns 0 or
 * -1 (out of memory). */
int blast_rollout_put(struct blast *b, const struct blast_rollout *src);

/* Was (config, version) rolled back: the target of a rollout that rolled
 * back or is rolling back? */
bool blast_rolled_back(const struct blast *b, const char *config, int64_t version);

/* The whole report at now_ms (new reference; NULL when out of memory). */
json_t *blast_to_json(const struct blast *b, int64_t now_ms);

#endif /* CG_SIM_BLAST_H */
