/* SPDX-License-Identifier: MIT */
/*
 * error.c - status codes, their descriptions, struct cg_error filling and
 * the mapping from HTTP answers to status codes. No I/O here.
 */
#include <cellgate/cellgate.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib-internal.h"
#include "util.h"

/* clang-format off */
static const struct {
    int code;
    const char *text;
} status_texts[] = {
    { CG_OK,            "success" },
    { CG_ERR_NOMEM,     "out of memory" },
    { CG_ERR_INVALID,   "invalid argument" },
    { CG_ERR_IO,        "network or I/O error" },
    { CG_ERR_PROTOCOL,  "unexpected answer from the server" },
    { CG_ERR_HTTP,      "server error" },
    { CG_ERR_NOTFOUND,  "not found" },
    { CG_ERR_CONFLICT,  "conflict" },
    { CG_ERR_AUTH,      "authentication required or rejected" },
    { CG_ERR_VIOLATION, "contract violation" },
    { CG_ERR_FORBIDDEN, "forbidden" },
    { CG_ERR_TIMEOUT,   "timed out" },
    { CG_ERR_VERIFY,    "verification failed" },
};

/* HTTP status -> status code, for the statuses with a code of their own. */
static const struct {
    int http;
    int code;
} http_codes[] = {
    { 400, CG_ERR_INVALID },
    { 401, CG_ERR_AUTH },
    { 403, CG_ERR_FORBIDDEN },
    { 404, CG_ERR_NOTFOUND },
    { 409, CG_ERR_CONFLICT },
};
/* clang-format on */

const char *cg_version(void)
{
    return CG_VERSION_STRING;
}

int cg_version_num(void)
{
    return CG_VERSION_NUM;
}

const char *cg_strerror(int code)
{
    for (size_t i = 0; i < CG_ARRAY_SIZE(status_texts); i++) {
        if (status_texts[i].code == code) {
            return status_texts[i].text;
        }
    }
    return "unknown error";
}

void cg_free(void *p)
{
    free(p);
}

int cg__error_set(struct cg_error *err, int code, int http_status, const char *fmt, ...)
{
    va_list ap;

    if (!err) {
        return code;
    }
    err->code = code;
    err->http_status = http_status;
    err->api_code[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    if (!err->message[0]) {
        cg_strlcpy(err->message, cg_strerror(code), sizeof err->message);
    }
    return code;
}

int cg__need(const char *value, const char *what, struct cg_error *err)
{
    if (!value || !value[0]) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "%s is required", what);
    }
    return CG_OK;
}

/* Appends "; item" for each entry of details.errors (strings, or objects
 * with pointer/message) while it fits. */
static void append_details(struct cg_error *err, const json_t *errors)
{
    size_t i;
    json_t *e;

    json_array_foreach(errors, i, e)
    {
        char item[256];
        size_t used = strlen(err->message);

        if (json_is_string(e)) {
            snprintf(item, sizeof item, "%s", json_string_value(e));
        } else if (json_is_object(e)) {
            const char *ptr = cg_json_str(e, "pointer", NULL, NULL);
            const char *msg = cg_json_str(e, "message", "", NULL);
            if (ptr) {
                snprintf(item, sizeof item, "%s: %s", ptr[0] ? ptr : "(root)", msg);
            } else {
                snprintf(item, sizeof item, "%s", msg);
            }
        } else {
            continue;
        }
        if (used + 2 + strlen(item) >= sizeof err->message) {
            break;
        }
        snprintf(err->message + used, sizeof err->message - used, "; %s", item);
    }
}

int cg__error_from_http(int status, const char *body, size_t len, struct cg_error *err)
{
    int code = CG_ERR_HTTP;
    json_t *doc = NULL;
    const char *api_code = "";
    const char *msg = NULL;
    const json_t *eobj = NULL;

    for (size_t i = 0; i < CG_ARRAY_SIZE(http_codes); i++) {
        if (http_codes[i].http == status) {
            code = http_codes[i].code;
        }
    }
    if (body && len > 0 &&
        cg_json_parse(body, len, 0, CG__MAX_DEPTH, &doc, NULL, 0) == CG_JSON_OK) {
        eobj = json_object_get(doc, "error");
        if (json_is_object(eobj)) {
            api_code = cg_json_str(eobj, "code", "", NULL);
            msg = cg_json_str(eobj, "message", NULL, NULL);
        } else {
            eobj = NULL;
        }
    }
    if (status == 422 && strcmp(api_code, "contract_violation") == 0) {
        code = CG_ERR_VIOLATION;
    }
    if (msg && msg[0]) {
        cg__error_set(err, code, status, "%s", msg);
    } else {
        cg__error_set(err, code, status, "server answered HTTP %d", status);
    }
    if (err) {
        cg_strlcpy(err->api_code, api_code, sizeof err->api_code);
        if (eobj) {
            const json_t *details = json_object_get(eobj, "details");
            const json_t *errors = json_object_get(details, "errors");
            if (json_is_array(errors)) {
                append_details(err, errors);
            }
        }
    }
    json_decref(doc);
    return code;
}
