/* SPDX-License-Identifier: MIT */
/*
 * controller_announce.c: the announcements of rollout transitions
 * (notify.h, docs/notifications.md). A transition that landed and that
 * operators hear of (a step started or passed, a pause, an approval, a
 * halt, a rollback, the end) is announced once, by the replica whose
 * controller (or request) wrote it; the change log that other replicas
 * follow carries no announcements, so a sink hears of it once.
 */
#include <stdlib.h>
#include <string.h>

#include "controller_int.h"
#include "json.h"
#include "notify.h"
#include "util.h"

/* The announced name of a transition, or NULL when it is not one. */
static const char *event_name(const struct store_rollout_update *u)
{
    static const struct {
        const char *kind, *event;
    } map[] = {
        {"step.start", "rollout.step_started"},
        {"step.passed", "rollout.step_passed"},
        {"approval.wait", "rollout.awaiting_approval"},
        {"approve", "rollout.approved"},
        {"pause", "rollout.paused"},
        {"resume", "rollout.resumed"},
        {"abort", "rollout.aborted"},
        {"rollback.start", "rollout.rollback_started"},
        {"rolled_back", "rollout.rolled_back"},
        {"halted", "rollout.halted"},
        {"completed", "rollout.completed"},
    };

    if (!u->event_kind)
        return NULL;
    if (u->state && strcmp(u->state, "completed") == 0)
        return "rollout.completed"; /* also an expedited one-step return */
    if (strcmp(u->event_kind, "approve") == 0 && u->state &&
        strcmp(u->state, "waiting_approval") == 0)
        return "rollout.approved"; /* one of several approvers */
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].kind, u->event_kind) == 0)
            return map[i].event;
    return NULL;
}

static void announce(struct controller *c, const char *event, const struct store_rollout *r,
                     const char *event_json, const struct store_actor *who)
{
    json_t *d = event_json ? ctl_parse_text(event_json) : NULL;
    struct notify_announcement a;
    char *text;

    if (!json_is_object(d)) {
        json_decref(d);
        d = json_object();
    }
    json_object_set_new(d, "from_version", json_integer(r->from_version));
    json_object_set_new(d, "to_version", json_integer(r->to_version));
    json_object_set_new(d, "state", json_string(r->state));
    if (!json_object_get(d, "step") && r->steps_json)
        json_object_set_new(d, "step", json_integer(r->step));
    if (!json_object_get(d, "wave") && r->steps_json && json_object_get(d, "step")) {
        json_t *steps = ctl_parse_text(r->steps_json);
        json_t *st = json_array_get(steps, (size_t)json_integer_value(json_object_get(d, "step")));
        json_t *w = json_object_get(st, "wave_name");
        if (json_is_string(w))
            json_object_set(d, "wave", w);
        json_decref(steps);
    }
    text = cg_json_dump(d);
    json_decref(d);
    memset(&a, 0, sizeof a);
    a.event = event;
    a.time_ms = cg_now_ms();
    a.rollout = r->id;
    a.config = r->config;
    a.actor = who && who->actor ? who->actor : ctl_actor.actor;
    a.reason = who && who != &ctl_actor ? who->reason : NULL;
    a.detail_json = text;
    notify_announce(c->notify, &a);
    free(text);
}

void ctl_announce(struct controller *c, const struct store_rollout_update *u,
                  const struct store_actor *who)
{
    const char *event = event_name(u);
    struct store_rollout r;
    char msg[STORE_MSG_MAX];

    if (!event || !c->notify)
        return;
    if (store_rollout_get(c->st, u->id, &r, msg) != CG_OK)
        return; /* it landed; a read that fails costs only the notice */
    announce(c, event, &r, u->event_json, who);
    store_rollout_free(&r);
}

void ctl_announce_start(struct controller *c, const struct store_rollout *r,
                        const struct store_actor *who)
{
    struct store_rollout x = *r;

    x.steps_json = NULL; /* no step yet (and the caller's may be gone) */
    x.detail_json = NULL;
    if (c->notify)
        announce(c, "rollout.started", &x, NULL, who);
}
