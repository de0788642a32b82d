/* SPDX-License-Identifier: MIT */
/*
 * fuzz_routes.c - fuzz target: the route matcher of cellgated
 * (server/http/routes.c route_match()) on any method and path.
 *
 * Input: "<method> <path>" (the first space splits them; no space means
 * the whole input is the path and the method is "GET"). Both become
 * NUL-terminated strings, as libmicrohttpd hands them over, so a NUL byte
 * ends them early. Paths of HTTP_MAX_PATH (2048) bytes or more are refused
 * by http.c before the matcher runs, so they are skipped here too.
 *
 * Checked for every input besides memory safety: a match has the method
 * asked for, captures exactly the ':' segments of its pattern (each one
 * non-empty, without '/', pointing into the scratch buffer), and a 405
 * names at least one allowed method in a NUL-terminated 'allow' list.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "routes.h"

#define MAX_PATH   2048 /* HTTP_MAX_PATH in server/http/http.c */
#define MAX_METHOD 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_params(const char *pattern)
{
    size_t n = 0;

    for (const char *p = pattern; *p; p++) {
        if (*p == ':' && p > pattern && p[-1] == '/') {
            n++;
        }
    }
    return n;
}

static void check_match(const char *method, const char *path)
{
    size_t plen = strlen(path), np = 99;
    char *scratch = malloc(plen + 1);
    const struct route *r = NULL;
    const char *params[REQUEST_MAX_PARAMS] = {0};
    char allow[64];
    int rc;

    if (!scratch) {
        return;
    }
    memset(allow, 'x', sizeof allow);
    rc = route_match(method, path, scratch, &r, params, &np, allow);
    if (rc == ROUTE_OK) {
        if (!r || strcmp(r->method, method) != 0 || np != count_params(r->pattern) ||
            np > REQUEST_MAX_PARAMS) {
            abort();
        }
        for (size_t i = 0; i < np; i++) {
            if (params[i] < scratch || params[i] > scratch + plen || !params[i][0] ||
                strchr(params[i], '/')) {
                abort();
            }
        }
    } else if (rc == ROUTE_ENOMETHOD) {
        if (r || np != 0 || !memchr(allow, '\0', sizeof allow) || !allow[0]) {
            abort();
        }
    } else if (rc != ROUTE_ENOTFOUND || r || np != 0) {
        abort();
    }
    free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sp = size ? memchr(data, ' ', size) : NULL;
    char method[MAX_METHOD + 1], *path;
    size_t mlen = 0, off = 0;

    if (sp) {
        mlen = (size_t)(sp - data);
        off = mlen + 1;
        if (mlen > MAX_METHOD) {
            return 0;
        }
        memcpy(method, data, mlen);
        method[mlen] = '\0';
    } else {
        memcpy(method, "GET", 4);
    }
    if (size - off >= MAX_PATH) {
        return 0;
    }
    path = malloc(size - off + 1);
    if (!path) {
        return 0;
    }
    memcpy(path, data + off, size - off);
    path[size - off] = '\0';
    check_match(method, path);
    /* http.c maps HEAD to GET; exercise the table walk with an unknown method too. */
    check_match("PATCH", path);
    free(path);
    return 0;
}
