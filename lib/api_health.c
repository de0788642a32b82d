/* SPDX-License-Identifier: MIT */
/*
 * api_health.c - the health views (docs/api/cells.md, "Health";
 * docs/api/agent.md, "Views"): GET /v1/cells?health=1, GET
 * /v1/hosts?health=1 and GET /v1/configs/{name}/status?cells=1. Like api.c,
 * each function builds the path (escaping every name) and calls the paging
 * helpers; nothing here knows HTTP mechanics.
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib-internal.h"
#include "util.h"

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != CG_OK) {                                                                        \
            return rc_;                                                                            \
        }                                                                                          \
    } while (0)

static void clear_out(struct cg_result **out)
{
    if (out) {
        *out = NULL;
    }
}

static int nomem(struct cg_buf *b, struct cg_error *err)
{
    cg_buf_free(b);
    return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
}

/* Appends "<sep>key=escaped(value)" when value is not empty; *sep becomes
 * '&'. Frees b on failure. */
static int query(struct cg_buf *b, char *sep, const char *key, const char *value,
                 struct cg_error *err)
{
    if (!value || !value[0]) {
        return CG_OK;
    }
    if (cg_buf_printf(b, "%c%s=", *sep, key) != 0 || cg__buf_escape(b, value) != 0) {
        return nomem(b, err);
    }
    *sep = '&';
    return CG_OK;
}

/* Appends "<sep>window=<s>s" when window_s > 0; checks its range. Frees b
 * on failure. */
static int query_window(struct cg_buf *b, char *sep, int64_t window_s, struct cg_error *err)
{
    if (window_s == 0) {
        return CG_OK;
    }
    if (window_s < 30 || window_s > 3600) {
        cg_buf_free(b);
        return cg__error_set(err, CG_ERR_INVALID, 0,
                             "the health window must be 30 to 3600 seconds (0 = 10 minutes), "
                             "not %" PRId64,
                             window_s);
    }
    if (cg_buf_printf(b, "%cwindow=%" PRId64 "s", *sep, window_s) != 0) {
        return nomem(b, err);
    }
    *sep = '&';
    return CG_OK;
}

/* "/v1/cells?health=1[&config=K][&window=Ns]"; *sep is the next separator. */
static int cells_path(struct cg_buf *p, char *sep, const char *config, int64_t window_s,
                      struct cg_error *err)
{
    CHECK(cg__path3(p, "/v1/cells", NULL, NULL, err));
    CHECK(query(p, sep, "health", "1", err));
    CHECK(query(p, sep, "config", config, err));
    return query_window(p, sep, window_s, err);
}

int cg_cells_health(struct cg_client *c, const char *config, int64_t window_s,
                    struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    CHECK(cells_path(&p, &sep, config, window_s, err));
    return cg__get_all(c, &p, sep, "cells", out, err);
}

int cg_cells_health_page(struct cg_client *c, const char *config, int64_t window_s,
                         const char *after, int limit, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    CHECK(cells_path(&p, &sep, config, window_s, err));
    return cg__get_page(c, &p, sep, after, limit, "cells", out, err);
}

/* "/v1/hosts?health=1[&cell=C][&config=K]"; *sep is the next separator. */
static int hosts_path(struct cg_buf *p, char *sep, const char *cell, const char *config,
                      struct cg_error *err)
{
    CHECK(cg__path3(p, "/v1/hosts", NULL, NULL, err));
    CHECK(query(p, sep, "health", "1", err));
    CHECK(query(p, sep, "cell", cell, err));
    return query(p, sep, "config", config, err);
}

int cg_hosts_health(struct cg_client *c, const char *cell, const char *config,
                    struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    CHECK(hosts_path(&p, &sep, cell, config, err));
    return cg__get_all(c, &p, sep, "hosts", out, err);
}

int cg_hosts_health_page(struct cg_client *c, const char *cell, const char *config,
                         const char *after, int limit, struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    CHECK(hosts_path(&p, &sep, cell, config, err));
    return cg__get_page(c, &p, sep, after, limit, "hosts", out, err);
}

int cg_config_status_cells(struct cg_client *c, const char *name, int64_t window_s,
                           struct cg_result **out, struct cg_error *err)
{
    struct cg_buf p = {0};
    char sep = '?';

    clear_out(out);
    CHECK(cg__need(name, "config name", err));
    CHECK(cg__path3(&p, "/v1/configs/", name, "/status", err));
    CHECK(query(&p, &sep, "cells", "1", err));
    CHECK(query_window(&p, &sep, window_s, err));
    return cg__get_all(c, &p, sep, "cells", out, err);
}
