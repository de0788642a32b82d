/* SPDX-License-Identifier: MIT */
/*
 * hooks_render.h: what a notification looks like on the wire and in the
 * log (docs/notifications.md). Pure functions over one event: no I/O, no
 * clock, no state, so every byte is unit-tested (tests/unit/test_hooks.c).
 *
 *  - hooks_render(): the request body of a sink's format (json, slack,
 *    grafana, pagerduty);
 *  - hooks_sign(): the Cellgate-Signature header of the json format,
 *    "t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>";
 *  - hooks_logfmt(): the one logfmt line the server writes to standard
 *    error per announcement, every value quoted and escaped so a hostile
 *    config name or reason cannot forge a field or a line.
 */
#ifndef CG_HOOKS_RENDER_H
#define CG_HOOKS_RENDER_H

#include <stddef.h>
#include <stdint.h>

struct cg_buf;

/* Longest event name, config name and actor an event keeps. */
#define HOOKS_EVENT_MAX  48
#define HOOKS_CONFIG_MAX 64
#define HOOKS_ACTOR_MAX  128

/* One event, as the delivery thread keeps it (an owned copy of a
 * struct notify_announcement). */
struct hooks_event {
    char event[HOOKS_EVENT_MAX];
    int64_t time_ms;
    int64_t rollout; /* 0: none */
    char config[HOOKS_CONFIG_MAX];
    char actor[HOOKS_ACTOR_MAX];
    char *reason;      /* owned; NULL when none */
    char *detail_json; /* owned; a JSON object, or NULL */
};

/* The event names a sink may ask for (docs/notifications.md), NULL-ended;
 * "all" stands for every one of them. */
extern const char *const hooks_event_names[];

/* 1 when 'name' is one of hooks_event_names or "all", else 0. */
int hooks_event_known(const char *name);

/* 1 when a sink asking for 'events' (names joined by ',') and limited to
 * 'config' ("" for every config) wants event 'ev', else 0. */
int hooks_sink_wants(const char *events, const char *config, const struct hooks_event *ev);

/* One line of text about the event for people ("app: rollout 7 v3 -> v4:
 * step 2 (half, 4 cells) started, by controller"), into b. Returns 0, or -1
 * when out of memory. */
int hooks_summary(const struct hooks_event *ev, struct cg_buf *b);

/* Where a payload's links point ("" or NULL: no such link). */
struct hooks_links {
    const char *api; /* the server's public URL: API links (URL/v1/rollouts/ID) */
    const char *ui;  /* the dashboard's public URL (URL + --ui-base-path): URL/rollouts/ID */
};

/*
 * The request body of format 'format' (json, slack, grafana, pagerduty) for
 * event ev. 'secret' is the sink's secret (the routing key of pagerduty; ""
 * when none); 'links' where links point (NULL: none): json has both
 * (`url`, `ui_url`), slack's link is the dashboard's when there is one,
 * pagerduty lists the dashboard's then the API's.
 * A new string, or NULL (unknown format, out of memory).
 */
char *hooks_render(const char *format, const struct hooks_event *ev, const char *secret,
                   const struct hooks_links *links);

/* The value of the Cellgate-Signature header for 'body' signed at Unix
 * time 't' with 'secret', into out (at least HOOKS_SIGNATURE_MAX bytes). */
#define HOOKS_SIGNATURE_MAX 96
void hooks_sign(const char *secret, int64_t t, const char *body, size_t len, char *out);

/* Appends 'v' to b as a logfmt value: bare when it is 1..256 bytes of
 * letters, digits and "-._:/@+", else double-quoted with '"' and '\\'
 * escaped, \n \r \t as such and other control bytes as \xNN. Returns 0 or
 * -1 when out of memory. */
int hooks_logfmt_value(struct cg_buf *b, const char *v);

/* The logfmt line of an announcement, ending in '\n': "ts=... level=info
 * event=... rollout=... config=... from=... to=... step=... wave=...
 * cells=N actor=... reason=..." (fields without a value left out). A new
 * string, or NULL when out of memory. */
char *hooks_logfmt(const struct hooks_event *ev);

#endif /* CG_HOOKS_RENDER_H */
