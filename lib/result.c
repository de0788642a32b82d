/* SPDX-License-Identifier: MIT */
/*
 * result.c - struct cg_result (one decoded answer) and the struct cg_obj
 * getters. A struct cg_obj * is a json_t * inside the result's document,
 * handed out as an opaque pointer; it is never dereferenced as anything
 * else. Getters never fail and never allocate (except cg_obj_dup_json).
 * cg__result_cursor() reads the paging cursor of an answer (page.c walks it).
 */
#include <cellgate/cellgate.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib-internal.h"
#include "util.h"

static const json_t *J(const struct cg_obj *o)
{
    return (const json_t *)(const void *)o;
}

static const struct cg_obj *O(const json_t *j)
{
    return json_is_object(j) ? (const struct cg_obj *)(const void *)j : NULL;
}

int cg__result_cursor(struct cg_result *r, struct cg_error *err)
{
    const json_t *v = json_object_get(r->json, "next_after");

    r->next_after[0] = '\0';
    if (!v || json_is_null(v)) {
        return CG_OK;
    }
    if (json_is_integer(v)) {
        snprintf(r->next_after, sizeof r->next_after, "%" PRId64, (int64_t)json_integer_value(v));
        return CG_OK;
    }
    if (json_is_string(v) && json_string_length(v) < sizeof r->next_after &&
        strlen(json_string_value(v)) == json_string_length(v)) {
        cg_strlcpy(r->next_after, json_string_value(v), sizeof r->next_after);
        return CG_OK;
    }
    return cg__error_set(err, CG_ERR_PROTOCOL, r->http_status,
                         "server answer has an invalid next_after");
}

int cg__result_from_resp(struct cg__resp *rs, unsigned flags, const char *items_key,
                         struct cg_result **out, struct cg_error *err)
{
    struct cg_result *r;
    char msg[200];

    *out = NULL;
    r = calloc(1, sizeof *r);
    if (!r) {
        return cg__error_set(err, CG_ERR_NOMEM, rs->status, "out of memory");
    }
    r->http_status = rs->status;
    cg_strlcpy(r->content_type, rs->content_type, sizeof r->content_type);
    cg_strlcpy(r->etag, rs->etag, sizeof r->etag);
    r->body = cg_buf_detach(&rs->body, &r->len);
    if (!r->body) {
        free(r);
        return cg__error_set(err, CG_ERR_NOMEM, rs->status, "out of memory");
    }
    if (!(flags & CG__RAW) && !(flags & CG__NO_BODY && r->len == 0)) {
        enum cg_json_fail f =
            cg_json_parse_doc(r->body, r->len, 0, CG__MAX_DEPTH, &r->json, msg, sizeof msg);
        if (f != CG_JSON_OK) {
            int code = f == CG_JSON_NOMEM ? CG_ERR_NOMEM : CG_ERR_PROTOCOL;
            cg_result_free(r);
            return cg__error_set(err, code, rs->status, "server answer is not JSON: %s", msg);
        }
        if (items_key) {
            const json_t *items = json_object_get(r->json, items_key);
            if (!json_is_array(items)) {
                cg_result_free(r);
                return cg__error_set(err, CG_ERR_PROTOCOL, rs->status,
                                     "server answer has no \"%s\" array", items_key);
            }
            r->items = items;
        }
        if (cg__result_cursor(r, err) != CG_OK) {
            cg_result_free(r);
            return CG_ERR_PROTOCOL;
        }
    }
    *out = r;
    return CG_OK;
}

int cg__call(struct cg_client *c, const struct cg__req *rq, unsigned flags, const char *items_key,
             struct cg_result **out, struct cg_error *err)
{
    struct cg__resp rs;
    struct cg_result *r = NULL;
    int rc;

    if (out) {
        *out = NULL;
    }
    if (!c) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "client is NULL");
    }
    rc = cg__http(c, rq, &rs, err);
    if (rc != CG_OK) {
        return rc;
    }
    if (rs.status < 200 || rs.status > 299) {
        rc = cg__error_from_http(rs.status, rs.body.data, rs.body.len, err);
        if (((rc == CG_ERR_VIOLATION && (flags & CG__VIOLATIONS)) ||
             (flags & CG__ANY_VIOLATIONS)) &&
            out) {
            /* hand back every violation: items = error.details.violations */
            int rc2 = cg__result_from_resp(&rs, 0, NULL, &r, NULL);
            if (rc2 == CG_OK) {
                const json_t *e = json_object_get(r->json, "error");
                const json_t *v = json_object_get(json_object_get(e, "details"), "violations");
                r->items = json_is_array(v) ? v : NULL;
                if (!r->items && !(flags & CG__VIOLATIONS)) {
                    cg_result_free(r); /* an error without violations: no result */
                    r = NULL;
                }
                *out = r;
            }
        }
        cg_buf_free(&rs.body);
        return rc;
    }
    if (!out) {
        cg_buf_free(&rs.body);
        return CG_OK;
    }
    rc = cg__result_from_resp(&rs, flags, items_key, &r, err);
    cg_buf_free(&rs.body);
    if (rc == CG_OK) {
        *out = r;
    }
    return rc;
}

void cg_result_free(struct cg_result *r)
{
    if (!r) {
        return;
    }
    json_decref(r->json);
    free(r->body);
    free(r);
}

const char *cg_result_body(const struct cg_result *r, size_t *len)
{
    if (len) {
        *len = r ? r->len : 0;
    }
    return r && r->body ? r->body : "";
}

int cg_result_http_status(const struct cg_result *r)
{
    return r ? r->http_status : 0;
}

const char *cg_result_content_type(const struct cg_result *r)
{
    return r ? r->content_type : "";
}

const char *cg_result_etag(const struct cg_result *r)
{
    return r ? r->etag : "";
}

const struct cg_obj *cg_result_obj(const struct cg_result *r)
{
    return r ? O(r->json) : NULL;
}

size_t cg_result_count(const struct cg_result *r)
{
    return r && r->items ? json_array_size(r->items) : 0;
}

const struct cg_obj *cg_result_item(const struct cg_result *r, size_t i)
{
    if (!r || !r->items) {
        return NULL;
    }
    return O(json_array_get(r->items, i));
}

static const json_t *field(const struct cg_obj *o, const char *name)
{
    if (!o || !name) {
        return NULL;
    }
    return json_object_get(J(o), name);
}

const char *cg_obj_str(const struct cg_obj *o, const char *name)
{
    const json_t *v = field(o, name);

    return json_is_string(v) ? json_string_value(v) : "";
}

int64_t cg_obj_int(const struct cg_obj *o, const char *name, int64_t def)
{
    if (!o || !name) {
        return def;
    }
    return (int64_t)cg_json_int(J(o), name, (long long)def, NULL);
}

int cg_obj_bool(const struct cg_obj *o, const char *name, int def)
{
    if (!o || !name) {
        return def;
    }
    return cg_json_bool(J(o), name, def, NULL);
}

double cg_obj_num(const struct cg_obj *o, const char *name, double def)
{
    const json_t *v = field(o, name);

    return json_is_number(v) ? json_number_value(v) : def;
}

int cg_obj_has(const struct cg_obj *o, const char *name)
{
    const json_t *v = field(o, name);

    return v && !json_is_null(v);
}

const struct cg_obj *cg_obj_child(const struct cg_obj *o, const char *name)
{
    return O(field(o, name));
}

size_t cg_obj_array_size(const struct cg_obj *o, const char *name)
{
    const json_t *v = field(o, name);

    return json_is_array(v) ? json_array_size(v) : 0;
}

const struct cg_obj *cg_obj_array_get(const struct cg_obj *o, const char *name, size_t i)
{
    const json_t *v = field(o, name);

    return json_is_array(v) ? O(json_array_get(v, i)) : NULL;
}

size_t cg_obj_size(const struct cg_obj *o)
{
    return o ? json_object_size(J(o)) : 0;
}

const char *cg_obj_key(const struct cg_obj *o, size_t i)
{
    void *it;

    if (!o) {
        return NULL;
    }
    it = json_object_iter((json_t *)J(o));
    while (it && i > 0) {
        it = json_object_iter_next((json_t *)J(o), it);
        i--;
    }
    return it ? json_object_iter_key(it) : NULL;
}

const char *cg_obj_text(const struct cg_obj *o, const char *name, char *buf, size_t size)
{
    const json_t *v = field(o, name);

    if (!buf || size == 0) {
        return "";
    }
    buf[0] = '\0';
    if (!v) {
        return buf;
    }
    if (json_is_string(v)) {
        cg_strlcpy(buf, json_string_value(v), size);
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        if (s) {
            cg_strlcpy(buf, s, size);
            free(s);
        }
    }
    return buf;
}

char *cg_obj_dup_json(const struct cg_obj *o, const char *name, unsigned flags)
{
    const json_t *v = name ? field(o, name) : J(o);
    size_t jf = JSON_ENCODE_ANY;

    if (!v) {
        return NULL;
    }
    jf |= (flags & CG_DUMP_PRETTY) ? JSON_INDENT(2) : JSON_COMPACT;
    if (flags & CG_DUMP_SORTED) {
        jf |= JSON_SORT_KEYS;
    }
    return json_dumps(v, jf);
}
