/* SPDX-License-Identifier: MIT */
/*
 * routes.h: THE route table of cellgated and its matcher.
 *
 * Every HTTP endpoint is one row of routes[] in routes.c: method, path
 * pattern (segments starting with ':' capture one path segment), the lane
 * it is admitted through, the minimum role, access flags and the handler.
 * Adding an endpoint: see docs/internals/ROUTES.md.
 */
#ifndef CG_ROUTES_H
#define CG_ROUTES_H

#include <stddef.h>

#include "auth.h"
#include "surface.h"

struct api;
struct request;
struct response;

/* Admission lanes (docs/design.md, the hospital queue: control traffic is
 * never queued behind agent polling). */
enum lane {
    LANE_CONTROL = 0, /* operator writes: rollback, abort, publish, ... */
    LANE_READ = 1,    /* operator reads */
    LANE_REPORT = 2,  /* agent health reports */
    LANE_POLL = 3,    /* agent desired-state polls and blobs */
    LANE__COUNT
};

/* An API handler (api.h): 0 when rs holds the answer, HANDLER_PARKED
 * (request.h) when it parked the request. */
typedef int (*route_fn)(struct api *a, struct request *rq, struct response *rs);

struct route {
    const char *method;
    const char *pattern;
    enum lane lane;
    enum role min_role;
    unsigned flags; /* AUTH_* */
    route_fn fn;
    const char *name;     /* short id for metrics and logs, e.g. "configs.publish" */
    enum surface surface; /* the shape of the transport's own errors (default API) */
};

#define ROUTE_ALLOW_MAX 64 /* bytes of the 'allow' list of route_match() */

#define ROUTE_OK        0
#define ROUTE_ENOTFOUND (-1) /* no pattern matches the path */
#define ROUTE_ENOMETHOD (-2) /* a pattern matches, but not for this method */

/*
 * Finds the route for method + path, capturing ':' segments into params
 * (pointers into 'scratch', which must hold at least strlen(path)+1 bytes
 * and outlive their use). On ROUTE_ENOMETHOD, 'allow' (if not NULL, at least
 * ROUTE_ALLOW_MAX bytes) gets the comma-separated methods that do exist.
 */
int route_match(const char *method, const char *path, char *scratch, const struct route **out,
                const char **params, size_t *nparams, char *allow);

/* The row the dashboard's requests are admitted by (not in the table: the
 * pages are the web room's own table, server/web/web_pages.c): GET (and
 * HEAD) on the read lane, everything else on the control lane; named "ui"
 * in logs and metrics, SURFACE_UI. */
const struct route *route_ui(const char *method);

/* The whole table, for tests and docs generation. */
const struct route *route_table(size_t *n);

/* The lane's name ("control", "read", "report", "poll"). */
const char *lane_name(enum lane l);

#endif /* CG_ROUTES_H */
