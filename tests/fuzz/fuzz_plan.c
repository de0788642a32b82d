/* SPDX-License-Identifier: MIT */
/*
 * fuzz_plan.c - fuzz target: the rollout plan validator (server/plan.c
 * plan_parse()) on any JSON, as PUT /v1/plans/NAME runs it on a request
 * body, then the consumers of a valid plan: plan_to_json(), the deny
 * window queries and re-parsing of the normalized form.
 *
 * Weekly deny windows load zones from /usr/share/zoneinfo (read only).
 * Checked besides memory safety:
 *  - a refused plan has 1..PLAN_MAX_ERRORS+1 errors, each {pointer,
 *    message} with a "" or "/..." pointer;
 *  - a valid plan keeps the invariants listed in plan.h (last wave is 100
 *    percent, percent waves strictly increase, wave names are unique);
 *  - plan_to_json() of it parses again to the same normalized form;
 *  - the instant plan_deny_until() returns is outside every deny window.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "plan.h"
#include "status.h"

#define FUZZ_MAX_INPUT (64 * 1024) /* bodies may be 4 MiB; a plan is a few KiB */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Instants the deny queries are asked about (epoch ms). */
static const int64_t instants[] = {
    0,
    1767225600000LL, /* 2026-01-01T00:00:00Z, a Thursday */
    1798761599999LL, /* 2026-12-31T23:59:59.999Z */
    1774746000000LL, /* 2026-03-29T01:00:00Z, EU clocks go forward */
    4102444800000LL, /* 2100-01-01 */
};

static void check_errors(const json_t *errors)
{
    size_t n = json_array_size(errors);

    if (n == 0 || n > PLAN_MAX_ERRORS + 1) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(errors, i);
        const char *ptr = json_string_value(json_object_get(e, "pointer"));
        if (!ptr || !json_is_string(json_object_get(e, "message")) || (ptr[0] && ptr[0] != '/')) {
            abort();
        }
    }
}

static void check_plan(const struct plan *p)
{
    double last_percent = 0;

    if (p->n_waves < 1 || p->n_waves > PLAN_MAX_WAVES) {
        abort();
    }
    for (size_t i = 0; i < p->n_waves; i++) {
        const struct plan_wave *w = &p->waves[i];
        if (!w->name) {
            abort();
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(p->waves[k].name, w->name) == 0) {
                abort();
            }
        }
        if (w->kind == PLAN_WAVE_PERCENT) {
            if (!(w->percent > last_percent) || (w->percent >= 100 && i + 1 < p->n_waves)) {
                abort();
            }
            last_percent = w->percent;
        }
        (void)plan_wave_kind_name(w->kind);
    }
    if (p->waves[p->n_waves - 1].kind != PLAN_WAVE_PERCENT ||
        p->waves[p->n_waves - 1].percent != 100) {
        abort();
    }
    (void)plan_action_name(p->on_stuck);
    (void)plan_action_name(p->on_gate_failure);
}

static void check_deny(const struct plan *p)
{
    char why[256];

    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
        int64_t until;
        int inside = plan_in_deny_window(p, instants[i], why, sizeof why);
        if ((inside != 0) != (why[0] != '\0')) {
            abort(); /* "why" is set exactly when inside */
        }
        until = plan_deny_until(p, instants[i]);
        if (until == -1) {
            continue;
        }
        if (until < instants[i] || (!inside && until != instants[i]) ||
            plan_in_deny_window(p, until, why, sizeof why)) {
            abort();
        }
    }
}

/* plan_to_json() of the plan parses again, to the same normalized form. */
static void check_roundtrip(const struct plan *p)
{
    json_t *j = plan_to_json(p), *j2 = NULL, *errors = json_array();
    struct plan *p2 = NULL;

    if (!j || !errors) {
        json_decref(j);
        json_decref(errors);
        return;
    }
    if (plan_parse(j, &p2, errors) != CG_OK) {
        abort(); /* the normalized form of a valid plan is valid */
    }
    j2 = plan_to_json(p2);
    if (j2 && !json_equal(j, j2)) {
        abort();
    }
    json_decref(j2);
    plan_free(p2);
    json_decref(errors);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = NULL, *errors;
    struct plan *p = NULL;
    int rc;

    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    if (cg_json_parse((const char *)data, size, FUZZ_MAX_INPUT, 0, &doc, NULL, 0) != CG_JSON_OK) {
        return 0;
    }
    errors = json_array();
    if (!errors) {
        json_decref(doc);
        return 0;
    }
    rc = plan_parse(doc, &p, errors);
    if (rc == CG_OK) {
        if (!p || json_array_size(errors) != 0) {
            abort();
        }
        check_plan(p);
        check_deny(p);
        check_roundtrip(p);
        plan_free(p);
    } else if (rc == CG_ERR_INVALID) {
        if (p) {
            abort();
        }
        check_errors(errors);
    } else if (rc != CG_ERR_NOMEM) {
        abort();
    }
    json_decref(errors);
    json_decref(doc);
    return 0;
}
