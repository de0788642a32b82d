/* SPDX-License-Identifier: MIT */
/* web_static.c: the embedded assets at BASE/static/NAME (web_assets.h),
 * cached for a year: their URLs carry their content hash. */
#include <string.h>

#include "web_assets.h"
#include "web_int.h"

int web_page_static(struct web_ctx *x)
{
    const char *name = x->params[0];

    for (size_t i = 0; i < web_assets_count; i++) {
        const struct web_asset *a = &web_assets[i];
        size_t n = strlen(a->name);
        if (strcmp(a->name, name) != 0)
            continue;
        reply_bytes(x->rs, 200,
                    n > 4 && strcmp(a->name + n - 4, ".css") == 0 ? "text/css; charset=utf-8"
                    : n > 4 && strcmp(a->name + n - 4, ".svg") == 0
                        ? "image/svg+xml"
                        : "text/javascript; charset=utf-8",
                    a->bytes, a->len);
        web_headers(x->rs, 31536000);
        return 0;
    }
    web_error_page(x->rs, 404, "not_found", "no such asset");
    return 0;
}
