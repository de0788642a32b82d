/* SPDX-License-Identifier: MIT */
/*
 * ops_flags.c: the flag kill switch and its undo (docs/flags.md, "Kill
 * switch"); see ops.h. A kill is a new version of a `flags` config that
 * differs from its base (the live version) in exactly one thing, the
 * flag's "state" set to "DISABLED", checked by the contract like any
 * publish (I1) and sent to every cell at once as an expedited rollout
 * (I7: no bake, still fenced and audited). An unkill is the reverse
 * change and goes through the config's plan like any other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "json.h"
#include "notify.h"
#include "ops.h"
#include "util.h"

/* The version a kill starts from: the live one, or (before any rollout
 * completed) the newest assigned to any cell. 0 when there is none. */
static int64_t kill_base(struct ops *o, const struct store_config *c)
{
    char msg[STORE_MSG_MAX];
    struct store_assignment *as = NULL;
    int64_t best = 0;
    size_t n = 0, i;

    if (c->live_version > 0)
        return c->live_version;
    if (store_assignment_list(o->store, NULL, c->name, &as, &n, msg) == CG_OK)
        for (i = 0; i < n; i++)
            if (as[i].version > best)
                best = as[i].version;
    store_assignments_free(as, n);
    return best;
}

/* The base document, parsed (new reference), or NULL and 'e'. */
static json_t *base_doc(struct ops *o, const char *config, int64_t base, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_version v;
    json_t *doc = NULL;
    void *bytes = NULL;
    size_t len = 0;
    int rc = store_version_get(o->store, config, base, &v, msg);

    if (rc != CG_OK) {
        ops_store_fail(e, rc, msg, "version");
        return NULL;
    }
    rc = store_blob_get(o->store, v.sha256, &bytes, &len, msg);
    store_version_free(&v);
    if (rc != CG_OK) {
        ops_store_fail(e, rc, msg, "blob");
        return NULL;
    }
    doc = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, NULL);
    free(bytes);
    if (!json_is_object(json_object_get(doc, "flags"))) {
        json_decref(doc);
        ops_fail(e, CG_ERR_CONFLICT, NULL, NULL,
                 "version %lld of %s is not a flag document (no \"flags\" object)", (long long)base,
                 config);
        return NULL;
    }
    return doc;
}

/* The kill (or unkill) is exactly one change: 'next' equals 'base' with
 * flags[flag].state set to 'state'. The server builds 'next' itself; this
 * says so again on the bytes it will publish, so that no later edit of the
 * code above can slip a second change into an expedited version. */
static int exactly_one_change(const json_t *base, const char *text, const char *flag,
                              const char *state)
{
    json_t *want = json_deep_copy(base), *got = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    json_t *f = json_object_get(json_object_get(want, "flags"), flag);
    int same = f && json_object_set_new(f, "state", json_string(state)) == 0 && got &&
               json_equal(want, got);

    json_decref(want);
    json_decref(got);
    return same;
}

int ops_flag_switch(struct ops *o, const char *config, const char *flag, int kill,
                    const struct ops_actor *who, struct ops_flag_change *out, struct ops_err *e)
{
    const char *state = kill ? "DISABLED" : "ENABLED";
    char msg[STORE_MSG_MAX] = "", cmsg[CONTROLLER_MSG_MAX] = "", *text = NULL, note[512];
    struct store_config c;
    struct store_version v;
    json_t *doc = NULL, *fl, *cur;
    int rc;

    memset(out, 0, sizeof *out);
    if (!cg_valid_name(config) || !flag || !*flag || strlen(flag) > 255)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "a flag switch needs a config and a flag key");
    if (!who || !who->reason || !*who->reason)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "a flag %s needs a reason (it is audited)",
                        kill ? "kill" : "unkill");
    rc = store_config_get(o->store, config, &c, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "no such config");
    if (strcmp(c.kind, "flags") != 0) {
        rc = ops_fail(e, CG_ERR_CONFLICT, NULL, NULL, "config %s is of kind %s, not flags", config,
                      c.kind);
        goto out;
    }
    out->base_version = kill_base(o, &c);
    if (out->base_version == 0) {
        rc = ops_fail(e, CG_ERR_CONFLICT, NULL, NULL,
                      "config %s has no version on any cell: nothing to %s", config,
                      kill ? "kill" : "unkill");
        goto out;
    }
    if (!(doc = base_doc(o, config, out->base_version, e))) {
        rc = e->status;
        goto out;
    }
    fl = json_object_get(json_object_get(doc, "flags"), flag);
    if (!json_is_object(fl)) {
        rc = ops_fail(e, CG_ERR_NOTFOUND, "flag_not_found", NULL,
                      "version %lld of %s has no flag '%s'", (long long)out->base_version, config,
                      flag);
        goto out;
    }
    cur = json_object_get(fl, "state");
    if (json_is_string(cur) && strcmp(json_string_value(cur), state) == 0) {
        rc =
            ops_fail(e, CG_ERR_CONFLICT, NULL, NULL, "flag '%s' of %s is %s already (version %lld)",
                     flag, config, state, (long long)out->base_version);
        goto out;
    }
    {
        json_t *next = json_deep_copy(doc);
        json_object_set_new(json_object_get(json_object_get(next, "flags"), flag), "state",
                            json_string(state));
        text = json_dumps(next, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(next);
    }
    if (!text || !exactly_one_change(doc, text, flag, state)) {
        rc = ops_fail(e, CG_ERR_IO, NULL, NULL, "cannot build the %s version",
                      kill ? "kill" : "unkill");
        goto out;
    }
    snprintf(note, sizeof note, "flag %s: %s (from version %lld): %s", kill ? "kill" : "unkill",
             flag, (long long)out->base_version, who->reason);
    rc = ops_publish(o, config, text, strlen(text), note, 1, who, &v, e);
    if (rc != CG_OK)
        goto out;
    out->version = v.number;
    store_version_free(&v);
    {
        struct controller_actor a = {who->name, note, who->role >= ROLE_APPROVER};
        if (kill)
            rc = controller_kill(o->controller, config, out->version, &a, &out->rollout_id,
                                 &out->aborted_rollout_id, cmsg);
        else
            rc = controller_begin(o->controller, config, out->version, NULL, &a, &out->rollout_id,
                                  cmsg);
    }
    if (rc == CG_OK && kill) {
        /* the kill switch, for sinks and the log (docs/notifications.md) */
        json_t *d =
            json_pack("{s:s,s:I,s:I}", "flag", flag, "from_version", (json_int_t)out->base_version,
                      "to_version", (json_int_t)out->version);
        char *dtext = d ? cg_json_dump(d) : NULL;
        struct notify_announcement an = {
            "flag.killed", cg_now_ms(), out->rollout_id, config, who->name, who->reason, dtext};
        notify_announce(o->notify, &an);
        free(dtext);
        json_decref(d);
    }
    if (rc != CG_OK)
        rc = ops_fail(e, rc, NULL, NULL, "version %lld of %s is published, but %s: %s",
                      (long long)out->version, config,
                      kill ? "the kill could not be sent" : "its rollout could not start", cmsg);
out:
    free(text);
    json_decref(doc);
    store_config_free(&c);
    return rc;
}
