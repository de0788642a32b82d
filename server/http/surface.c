/* SPDX-License-Identifier: MIT */
/* surface.c: error shapes per surface; see surface.h. */
#include "surface.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "request.h"
#include "util.h"
#include "web.h"

typedef void (*surface_error_fn)(struct response *rs, int status, const char *code,
                                 const char *msg);

static void api_error(struct response *rs, int status, const char *code, const char *msg)
{
    reply_error(rs, status, code, NULL, "%s", msg);
}

static void text_error(struct response *rs, int status, const char *code, const char *msg)
{
    char body[640];
    int n = snprintf(body, sizeof body, "%d %s: %s\n", status, code, msg);

    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof body)
        n = (int)sizeof body - 1;
    if (reply_bytes(rs, status, "text/plain; charset=utf-8", body, (size_t)n) < 0)
        rs->status = status;
}

/* OFREP's error shape (open-feature/protocol service/openapi.yaml): 400
 * and 404 carry an OpenFeature error code, the others only details. */
static void ofrep_error(struct response *rs, int status, const char *code, const char *msg)
{
    const char *oc = status == 404 ? "FLAG_NOT_FOUND" : status == 400 ? "PARSE_ERROR" : "GENERAL";
    json_t *o = json_pack("{s:s,s:s}", "errorCode", oc, "errorDetails", msg);

    (void)code;
    reply_json(rs, status, o);
}

/* One row per surface: its name, the path prefix that selects it for an
 * unmatched path (NULL: none), and its error writer. */
static const struct {
    const char *name;
    const char *prefix;
    surface_error_fn error;
} surfaces[] = {
    [SURFACE_API] = {"api", NULL, api_error},
    [SURFACE_TEXT] = {"text", "/metrics", text_error},
    [SURFACE_OFREP] = {"ofrep", "/ofrep/", ofrep_error},
    [SURFACE_UI] = {"ui", NULL, web_error_page},
};
_Static_assert(CG_ARRAY_SIZE(surfaces) == SURFACE__COUNT, "surfaces must match enum surface");

void surface_error(enum surface s, struct response *rs, int status, const char *code,
                   const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if ((unsigned)s >= SURFACE__COUNT)
        s = SURFACE_API;
    surfaces[s].error(rs, status, code, msg);
}

enum surface surface_for_path(const char *path)
{
    size_t i;

    for (i = 0; path && i < CG_ARRAY_SIZE(surfaces); i++)
        if (surfaces[i].prefix &&
            strncmp(path, surfaces[i].prefix, strlen(surfaces[i].prefix)) == 0)
            return (enum surface)i;
    return SURFACE_API;
}

const char *surface_name(enum surface s)
{
    return (unsigned)s < SURFACE__COUNT ? surfaces[s].name : "api";
}
