/* SPDX-License-Identifier: MIT */
/*
 * topo.c - topology from flags or from a JSON file (see topo.h). Pure
 * functions over caller-owned structs; no network, no globals.
 */
#include "topo.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

/* Region names for the flag form, with the short prefix of their zones. */
static const struct {
    const char *name, *shortname;
} region_names[] = {
    {"us-east-1", "use1"},  {"eu-west-1", "euw1"},    {"ap-southeast-2", "apse2"},
    {"us-west-2", "usw2"},  {"eu-central-1", "euc1"}, {"ap-northeast-1", "apne1"},
    {"sa-east-1", "sae1"},  {"ca-central-1", "cac1"}, {"ap-south-1", "aps1"},
    {"af-south-1", "afs1"}, {"me-south-1", "mes1"},   {"eu-north-1", "eun1"},
};

static int topo_err(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int topo_err(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;

    if (msg && msglen) {
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int topo_from_counts(unsigned regions, unsigned zones, unsigned cells, unsigned hosts,
                     struct topo *out, char *msg, size_t msglen)
{
    unsigned long long ncells = (unsigned long long)regions * zones * cells;
    size_t k = 0;

    memset(out, 0, sizeof *out);
    if (regions < 1 || zones < 1 || cells < 1 || hosts < 1) {
        return topo_err(msg, msglen, "--regions, --zones, --cells and --hosts must be >= 1");
    }
    if (regions > 999 || zones > 99 || cells > 999 || ncells > TOPO_MAX_CELLS) {
        return topo_err(msg, msglen, "at most %d cells (999 regions, 99 zones, 999 cells per zone)",
                        TOPO_MAX_CELLS);
    }
    if (ncells * hosts > TOPO_MAX_HOSTS) {
        return topo_err(msg, msglen, "at most %d hosts in all", TOPO_MAX_HOSTS);
    }
    out->cells = calloc((size_t)ncells, sizeof *out->cells);
    if (!out->cells) {
        return topo_err(msg, msglen, "out of memory");
    }
    for (unsigned r = 0; r < regions; r++) {
        char rname[TOPO_NAME_MAX], rshort[TOPO_NAME_MAX];

        if (r < CG_ARRAY_SIZE(region_names)) {
            cg_strlcpy(rname, region_names[r].name, sizeof rname);
            cg_strlcpy(rshort, region_names[r].shortname, sizeof rshort);
        } else {
            snprintf(rname, sizeof rname, "r%u", r + 1);
            snprintf(rshort, sizeof rshort, "r%u", r + 1);
        }
        for (unsigned z = 0; z < zones; z++) {
            char zname[TOPO_NAME_MAX];

            snprintf(zname, sizeof zname, "%s-az%u", rshort, z + 1);
            for (unsigned c = 0; c < cells; c++) {
                struct topo_cell *tc = &out->cells[k++];

                snprintf(tc->id, sizeof tc->id, "%s-c%02u", zname, c + 1);
                cg_strlcpy(tc->region, rname, sizeof tc->region);
                cg_strlcpy(tc->zone, zname, sizeof tc->zone);
                tc->hosts = hosts;
            }
        }
    }
    out->ncells = k;
    out->nhosts = k * hosts;
    return 0;
}

/* Reads a name field of cell i; returns it or NULL (msg set). */
static const char *name_field(const json_t *o, const char *key, size_t i, char *msg, size_t msglen)
{
    int bad = 0;
    const char *s = cg_json_str(o, key, NULL, &bad);

    if (bad || !s || !cg_valid_name(s)) {
        topo_err(
            msg, msglen,
            "/cells/%zu/%s: must be a name (1..63 chars of [a-z0-9._-], starting with a letter "
            "or digit)",
            i, key);
        return NULL;
    }
    return s;
}

int topo_parse(const char *text, size_t len, unsigned default_hosts, struct topo *out, char *msg,
               size_t msglen)
{
    static const char *const top_fields[] = {"hosts_per_cell", "cells", NULL};
    static const char *const cell_fields[] = {"id", "region", "zone", "hosts", NULL};
    json_t *root = NULL, *cells;
    char jmsg[160];
    const char *unknown;
    long long hpc;
    int bad = 0, rc = -1;

    memset(out, 0, sizeof *out);
    if (cg_json_parse(text, len, 16u * 1024 * 1024, 8, &root, jmsg, sizeof jmsg) != CG_JSON_OK) {
        return topo_err(msg, msglen, "topology is not JSON: %s", jmsg);
    }
    if (!json_is_object(root)) {
        topo_err(msg, msglen, "topology must be a JSON object");
        goto out;
    }
    unknown = cg_json_unknown_key(root, top_fields);
    if (unknown) {
        topo_err(msg, msglen, "/%s: unknown field", unknown);
        goto out;
    }
    hpc = cg_json_int(root, "hosts_per_cell", default_hosts, &bad);
    if (bad || hpc < 1 || hpc > TOPO_MAX_HOSTS) {
        topo_err(msg, msglen, "/hosts_per_cell: must be an integer in 1..%d", TOPO_MAX_HOSTS);
        goto out;
    }
    cells = json_object_get(root, "cells");
    if (!json_is_array(cells) || json_array_size(cells) == 0 ||
        json_array_size(cells) > TOPO_MAX_CELLS) {
        topo_err(msg, msglen, "/cells: must be an array of 1..%d cells", TOPO_MAX_CELLS);
        goto out;
    }
    out->cells = calloc(json_array_size(cells), sizeof *out->cells);
    if (!out->cells) {
        topo_err(msg, msglen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(cells); i++) {
        const json_t *c = json_array_get(cells, i);
        struct topo_cell *tc = &out->cells[i];
        const char *id, *region, *zone;
        long long h;

        if (!json_is_object(c)) {
            topo_err(msg, msglen, "/cells/%zu: must be an object", i);
            goto out;
        }
        unknown = cg_json_unknown_key(c, cell_fields);
        if (unknown) {
            topo_err(msg, msglen, "/cells/%zu/%s: unknown field", i, unknown);
            goto out;
        }
        id = name_field(c, "id", i, msg, msglen);
        region = id ? name_field(c, "region", i, msg, msglen) : NULL;
        zone = region ? name_field(c, "zone", i, msg, msglen) : NULL;
        if (!zone) {
            goto out;
        }
        h = cg_json_int(c, "hosts", hpc, &bad);
        if (bad || h < 1 || h > TOPO_MAX_HOSTS) {
            topo_err(msg, msglen, "/cells/%zu/hosts: must be an integer in 1..%d", i,
                     TOPO_MAX_HOSTS);
            goto out;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(out->cells[j].id, id) == 0) {
                topo_err(msg, msglen,
                         "/cells/%zu/id: duplicate cell id \"%s\" (also /cells/%zu/id)", i, id, j);
                goto out;
            }
        }
        cg_strlcpy(tc->id, id, sizeof tc->id);
        cg_strlcpy(tc->region, region, sizeof tc->region);
        cg_strlcpy(tc->zone, zone, sizeof tc->zone);
        tc->hosts = (unsigned)h;
        out->ncells++;
        out->nhosts += (size_t)h;
        if (out->nhosts > TOPO_MAX_HOSTS) {
            topo_err(msg, msglen, "at most %d hosts in all", TOPO_MAX_HOSTS);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    if (rc != 0) {
        topo_free(out);
    }
    return rc;
}

int topo_load(const char *path, unsigned default_hosts, struct topo *out, char *msg, size_t msglen)
{
    size_t len = 0;
    char *text = cg_read_file(path, 16u * 1024 * 1024, &len);
    int rc;

    memset(out, 0, sizeof *out);
    if (!text) {
        return topo_err(msg, msglen, "cannot read %s: %s", path, strerror(errno));
    }
    rc = topo_parse(text, len, default_hosts, out, msg, msglen);
    free(text);
    return rc;
}

size_t topo_count_regions(const struct topo *t)
{
    size_t n = 0;

    for (size_t i = 0; i < t->ncells; i++) {
        size_t j;

        for (j = 0; j < i; j++) {
            if (strcmp(t->cells[j].region, t->cells[i].region) == 0) {
                break;
            }
        }
        n += j == i;
    }
    return n;
}

size_t topo_count_zones(const struct topo *t)
{
    size_t n = 0;

    for (size_t i = 0; i < t->ncells; i++) {
        size_t j;

        for (j = 0; j < i; j++) {
            if (strcmp(t->cells[j].region, t->cells[i].region) == 0 &&
                strcmp(t->cells[j].zone, t->cells[i].zone) == 0) {
                break;
            }
        }
        n += j == i;
    }
    return n;
}

void topo_free(struct topo *t)
{
    if (!t) {
        return;
    }
    free(t->cells);
    memset(t, 0, sizeof *t);
}
