/* SPDX-License-Identifier: MIT */
/* ops_notify.c: notification sinks, added and removed by admins
 * (docs/notifications.md); see ops.h. The sinks live in the store; the
 * delivery thread (server/hooks/) reads them for every event. */
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "json.h"
#include "ops.h"
#include "util.h"

/* Every name of 'events' is known (hooks_event_known()). */
static int events_known(const char *events, char *bad, size_t badlen)
{
    const char *p = events;

    while (p && *p) {
        size_t n = strcspn(p, ",");
        char name[HOOKS_EVENT_MAX];
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), p);
        if (!hooks_event_known(name) || strcmp(name, "test") == 0) {
            snprintf(bad, badlen, "%s", name);
            return 0;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 1;
}

int ops_sink_add(struct ops *o, const struct ops_sink *s, const struct ops_actor *who,
                 struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "", bad[HOOKS_EVENT_MAX];
    struct store_actor a = ops_store_actor(who);
    struct store_sink ss;
    int rc;

    if (!s->name || !s->url || !s->format || !s->events)
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "a sink needs a name, a url, a format and events");
    if (!events_known(s->events, bad, sizeof bad))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL,
                        "unknown event '%s' (docs/notifications.md lists them)", bad);
    memset(&ss, 0, sizeof ss);
    if (strlen(s->name) >= sizeof ss.name || strlen(s->format) >= sizeof ss.format ||
        (s->config && strlen(s->config) >= sizeof ss.config))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "a name, format or config is too long");
    cg_strlcpy(ss.name, s->name, sizeof ss.name);
    cg_strlcpy(ss.format, s->format, sizeof ss.format);
    cg_strlcpy(ss.config, s->config ? s->config : "", sizeof ss.config);
    ss.url = (char *)s->url;
    ss.events = (char *)s->events;
    ss.secret = (char *)(s->secret ? s->secret : "");
    rc = store_sink_add(o->store, &ss, &a, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "sink");
    return CG_OK;
}

json_t *ops_sink_list(struct ops *o, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_sink *s = NULL;
    size_t n = 0;
    json_t *arr;
    int rc = store_sink_list(o->store, &s, &n, msg);

    if (rc != CG_OK) {
        ops_store_fail(e, rc, msg, "sinks");
        return NULL;
    }
    arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        char at[32];
        json_t *ev = json_array();
        const char *p = s[i].events;
        while (ev && p && *p) {
            size_t k = strcspn(p, ",");
            json_array_append_new(ev, json_stringn(p, k));
            p += k;
            if (*p == ',')
                p++;
        }
        cg_time_format(s[i].created_ms, at);
        json_array_append_new(
            arr, json_pack("{s:s,s:s,s:s,s:o,s:o,s:b,s:s,s:s}", "name", s[i].name, "url", s[i].url,
                           "format", s[i].format, "events", ev, "config",
                           s[i].config[0] ? json_string(s[i].config) : json_null(), "secret",
                           s[i].secret && s[i].secret[0], "created_by", s[i].created_by,
                           "created_at", at));
    }
    store_sinks_free(s, n);
    if (!arr) {
        ops_fail(e, CG_ERR_NOMEM, NULL, NULL, "out of memory");
        return NULL;
    }
    return json_pack("{s:o}", "sinks", arr);
}

int ops_sink_remove(struct ops *o, const char *name, const struct ops_actor *who, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_actor a = ops_store_actor(who);
    int rc = store_sink_remove(o->store, name, &a, msg);

    return rc == CG_OK ? CG_OK : ops_store_fail(e, rc, msg, "sink");
}

/* CG_OK when sink 'name' exists (e: 404 otherwise). */
static int sink_exists(struct ops *o, const char *name, struct ops_err *e)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_sink *s = NULL;
    size_t n = 0;
    int found = 0, rc;

    if (!cg_valid_name(name))
        return ops_fail(e, CG_ERR_INVALID, NULL, NULL, "invalid sink name");
    rc = store_sink_list(o->store, &s, &n, msg);
    if (rc != CG_OK)
        return ops_store_fail(e, rc, msg, "sinks");
    for (size_t i = 0; i < n; i++)
        found |= strcmp(s[i].name, name) == 0;
    store_sinks_free(s, n);
    return found ? CG_OK : ops_fail(e, CG_ERR_NOTFOUND, NULL, NULL, "sink '%s' not found", name);
}

int ops_sink_test(struct ops *o, const char *name, const struct ops_actor *who, struct ops_err *e)
{
    int rc = sink_exists(o, name, e);

    if (rc != CG_OK)
        return rc;
    if (!o->hooks || hooks_test(o->hooks, name, who->name) != 0)
        return ops_fail(e, CG_ERR_IO, NULL, NULL,
                        "the notification queue is full (or delivery is off); try again");
    return CG_OK;
}

json_t *ops_sink_log(struct ops *o, const char *name, struct ops_err *e)
{
    if (sink_exists(o, name, e) != CG_OK)
        return NULL;
    return json_pack("{s:s,s:o}", "sink", name, "log",
                     o->hooks ? hooks_log_json(o->hooks, name) : json_array());
}
