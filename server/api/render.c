/* SPDX-License-Identifier: MIT */
/* render.c: store structs → API JSON; see render.h. */
#include "render.h"

#include <string.h>

#include "json.h"
#include "util.h"

json_t *render_time(int64_t ms)
{
    char buf[32];

    if (ms == 0)
        return json_null();
    cg_time_format(ms, buf);
    return json_string(buf);
}

/* Parses stored JSON text (with the loader of contracts: a contract may
 * hold "\u0000" and big integers); falls back to null if the text is
 * damaged. */
static json_t *stored_json(const char *text)
{
    json_t *v = NULL;

    if (!text || !*text)
        return json_object();
    if (cg_json_parse_doc(text, strlen(text), 0, 0, &v, NULL, 0) != CG_JSON_OK)
        return json_null();
    return v;
}

json_t *render_cell(const struct store_cell *c)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:b,s:o}", "id", c->id, "region", c->region, "zone",
                     c->zone, "labels", stored_json(c->labels_json), "created_at",
                     render_time(c->created_ms), "drained", c->drained_ms != 0, "drained_at",
                     c->drained_ms ? render_time(c->drained_ms) : json_null());
}

json_t *render_config(const struct store_config *c)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:I,s:I,s:I,s:o,s:I}", "name", c->name, "kind", c->kind,
                     "plan", c->plan, "contract", stored_json(c->contract_json), "latest_version",
                     (json_int_t)c->latest_version, "live_version", (json_int_t)c->live_version,
                     "generation", (json_int_t)c->generation, "created_at",
                     render_time(c->created_ms), "contract_version",
                     (json_int_t)c->contract_version);
}

json_t *render_version(const struct store_version *v)
{
    return json_pack("{s:s,s:I,s:s,s:s,s:I,s:s,s:s,s:I,s:o,s:o,s:I}", "config", v->config, "number",
                     (json_int_t)v->number, "sha256", v->sha256, "media_type", v->media_type,
                     "size", (json_int_t)v->size, "author", v->author, "message",
                     v->message ? v->message : "", "parent", (json_int_t)v->parent, "created_at",
                     render_time(v->created_ms), "deleted_at", render_time(v->deleted_ms),
                     "contract_version", (json_int_t)v->contract_version);
}

json_t *render_plan(const struct store_plan *p)
{
    return json_pack("{s:s,s:o,s:o,s:o,s:I}", "name", p->name, "plan", stored_json(p->body_json),
                     "created_at", render_time(p->created_ms), "updated_at",
                     render_time(p->updated_ms), "version", (json_int_t)p->version);
}

json_t *render_contract(const struct store_contract *c, int with_body)
{
    char sha[65];
    json_t *o;

    cg_sha256_hex(c->contract_json, strlen(c->contract_json), sha);
    o = json_pack("{s:s,s:I,s:o,s:s,s:s,s:b,s:s}", "config", c->config, "number",
                  (json_int_t)c->number, "created_at", render_time(c->created_ms), "actor",
                  c->actor, "reason", c->reason ? c->reason : "", "forced", c->forced, "sha256",
                  sha);
    if (o && with_body)
        json_object_set_new(o, "contract", stored_json(c->contract_json));
    return o;
}

json_t *render_plan_version(const struct store_plan_version *p)
{
    char sha[65];

    cg_sha256_hex(p->body_json, strlen(p->body_json), sha);
    return json_pack("{s:s,s:I,s:o,s:s,s:s,s:o}", "name", p->name, "number", (json_int_t)p->number,
                     "created_at", render_time(p->created_ms), "actor", p->actor, "sha256", sha,
                     "plan", stored_json(p->body_json));
}

json_t *render_scope(const char *configs)
{
    json_t *arr = json_array();

    for (const char *p = configs ? configs : ""; arr && *p;) {
        size_t n = strcspn(p, ",");
        if (json_array_append_new(arr, json_stringn(p, n)) != 0) {
            json_decref(arr);
            return NULL;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return arr;
}

json_t *render_token(const struct store_token *t)
{
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:I,s:o,s:I,s:o,s:o}", "id",
                     (json_int_t)t->id, "name", t->name, "role", t->role, "cell", t->cell,
                     "created_by", t->created_by, "created_at", render_time(t->created_ms),
                     "revoked_at", render_time(t->revoked_ms), "expires_at",
                     render_time(t->expires_ms), "expires_ms", (json_int_t)t->expires_ms,
                     "last_used_at", render_time(t->last_used_ms), "last_used_ms",
                     (json_int_t)t->last_used_ms, "configs", render_scope(t->configs), "rotated_to",
                     t->rotated_to > 0 ? json_integer((json_int_t)t->rotated_to) : json_null());
}

json_t *render_audit(const struct store_audit *a)
{
    return json_pack("{s:I,s:o,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "seq", (json_int_t)a->seq,
                     "time", render_time(a->time_ms), "time_ms", (json_int_t)a->time_ms, "actor",
                     a->actor, "action", a->action, "object", a->object, "before",
                     a->before ? a->before : "", "after", a->after ? a->after : "", "reason",
                     a->reason ? a->reason : "", "prev_hash", a->prev_hash, "hash", a->hash);
}
