/* SPDX-License-Identifier: MIT */
/*
 * surface.h: the shapes in which the transport answers errors of its own.
 *
 * Most errors are written by handlers; the transport writes the rest
 * (401, 403, 404, 405, 413, 414, 429, 503 from admission, lanes and
 * deadlines). Each route belongs to a surface (a column of the route
 * table), and each surface says how those answers look: the JSON error
 * envelope of the API, plain text for Prometheus' scrapes, an OFREP error
 * object for /ofrep/ and an HTML page for the dashboard (whose base path
 * is configured: http.c selects SURFACE_UI itself). A path that matches no
 * route gets the surface of its prefix.
 */
#ifndef CG_SURFACE_H
#define CG_SURFACE_H

struct response;

enum surface {
    SURFACE_API = 0,   /* {"error":{"code","message","details"}} (docs/api/README.md) */
    SURFACE_TEXT = 1,  /* text/plain "STATUS CODE: message" (/metrics) */
    SURFACE_OFREP = 2, /* OFREP's {"errorCode","errorDetails"} (/ofrep/; docs/flags.md) */
    SURFACE_UI = 3,    /* a small HTML page (the dashboard, docs/dashboard.md) */
    SURFACE__COUNT
};

/* Writes a transport error: HTTP 'status', machine 'code' and a message, in
 * the shape of surface 's'. Headers (Retry-After, Allow, ...) are added by
 * the caller afterwards. */
void surface_error(enum surface s, struct response *rs, int status, const char *code,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The surface of a path that matches no route (by prefix; default API). */
enum surface surface_for_path(const char *path);

/* The surface's name ("api", "text"). */
const char *surface_name(enum surface s);

#endif /* CG_SURFACE_H */
