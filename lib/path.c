/* SPDX-License-Identifier: MIT */
/*
 * path.c - request paths of the client: percent-encoding of one path
 * segment or query value, and prefix + segment + suffix with the segments
 * that would change the path ("." and "..") refused. Used by every file
 * that builds a route's path (api.c, api_rollout.c, agentapi.c, page.c,
 * watch.c); it knows no route.
 */
#include <string.h>

#include "lib-internal.h"
#include "util.h"

int cg__buf_escape(struct cg_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '.' || ch == '_' || ch == '~';
        if (ok) {
            if (cg_buf_append(b, s, 1) != 0) {
                return -1;
            }
        } else {
            char enc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            if (cg_buf_append(b, enc, 3) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

int cg__path3(struct cg_buf *b, const char *prefix, const char *seg, const char *suffix,
              struct cg_error *err)
{
    if (seg && (strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0)) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "'%s' is not a valid name", seg);
    }
    if (cg_buf_puts(b, prefix) != 0 || (seg && cg__buf_escape(b, seg) != 0) ||
        (suffix && cg_buf_puts(b, suffix) != 0)) {
        cg_buf_free(b);
        return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
    }
    return CG_OK;
}
