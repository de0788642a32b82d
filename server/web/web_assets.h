/* SPDX-License-Identifier: MIT */
/*
 * web_assets.h: the dashboard's CSS and JavaScript, embedded at build time
 * from server/web/assets/ (scripts/embed-assets.cmake generates
 * web_assets_gen.c). Served at BASE/static/NAME with a long cache; pages
 * link them as NAME?v=HASH, so a new build is fetched again.
 */
#ifndef CG_WEB_ASSETS_H
#define CG_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *name;           /* file name, e.g. "style.css"; NULL ends the table */
    const char *hash;           /* first 16 hex digits of its sha256 */
    const unsigned char *bytes; /* its content (NUL-terminated) */
    size_t len;
};

extern const struct web_asset web_assets[];
extern const size_t web_assets_count;

#endif /* CG_WEB_ASSETS_H */
