/* SPDX-License-Identifier: MIT */
/*
 * policy.c - config rollout policies: validation, the parsed form, and the
 * check of a plan against a policy; see policy.h and docs/policies.md.
 *
 * Deny windows are parsed by the plan parser (the same document form and
 * the same rules as a plan's "deny"): the policy keeps a plan that holds
 * nothing but them, so there is one implementation of windows and zones.
 */
#include "policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "status.h"
#include "util.h"

/* A field of an object; null counts as absent (the normalized form,
 * policy_to_json(), shows unset fields as null and parses back). */
static const json_t *field(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_null(v) ? NULL : v;
}

struct pol_ctx {
    json_t *errors; /* borrowed; may be NULL */
    size_t n_errors;
    bool nomem;
};

static void perr(struct pol_ctx *c, const char *ptr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void perr(struct pol_ctx *c, const char *ptr, const char *fmt, ...)
{
    char msg[320];
    va_list ap;

    c->n_errors++;
    if (!c->errors)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (json_array_append_new(c->errors, json_pack("{s:s,s:s}", "pointer", ptr, "message", msg)))
        c->nomem = true;
}

/* An integer field in [min, max]; leaves *out alone when absent. */
static void get_int(struct pol_ctx *c, const json_t *doc, const char *key, int64_t min, int64_t max,
                    int64_t *out)
{
    const json_t *v = field(doc, key);
    char ptr[64];

    if (!v)
        return;
    snprintf(ptr, sizeof ptr, "/%s", key);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        perr(c, ptr, "must be an integer %lld..%lld", (long long)min, (long long)max);
        return;
    }
    *out = json_integer_value(v);
}

/* A string from 'words' (NULL-terminated); returns its index or -1. */
static int word_index(const char *s, const char *const *words)
{
    for (int i = 0; s && words[i]; i++)
        if (strcmp(s, words[i]) == 0)
            return i;
    return -1;
}

/* Bits of an array of unique words: word i sets bit i. Returns 0 when
 * empty or invalid (then an error is recorded). */
static unsigned get_word_set(struct pol_ctx *c, const json_t *v, const char *ptr,
                             const char *const *words, const char *allowed)
{
    unsigned bits = 0;
    size_t i;

    if (!json_is_array(v)) {
        perr(c, ptr, "must be an array of %s", allowed);
        return 0;
    }
    for (i = 0; i < json_array_size(v); i++) {
        const char *s = json_string_value(json_array_get(v, i));
        int k = word_index(s, words);
        char p[96];

        snprintf(p, sizeof p, "%s/%zu", ptr, i);
        if (k < 0)
            perr(c, p, "must be one of %s", allowed);
        else if (bits & (1u << k))
            perr(c, p, "\"%s\" is listed twice", s);
        else
            bits |= 1u << k;
    }
    return bits;
}

static void parse_allowed_plans(struct pol_ctx *c, const json_t *v, struct policy *p)
{
    size_t i, j, n = json_array_size(v);

    if (!json_is_array(v) || n == 0 || n > POLICY_MAX_PLANS) {
        perr(c, "/allowed_plans", "must be an array of 1..%d plan names", POLICY_MAX_PLANS);
        return;
    }
    p->allowed_plans = calloc(n, sizeof *p->allowed_plans);
    if (!p->allowed_plans) {
        c->nomem = true;
        return;
    }
    for (i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        char ptr[48];

        snprintf(ptr, sizeof ptr, "/allowed_plans/%zu", i);
        if (!s || !cg_valid_name(s)) {
            perr(c, ptr, "must be a plan name (1..63 of [a-z0-9._-])");
            continue;
        }
        for (j = 0; j < p->n_allowed_plans; j++)
            if (strcmp(p->allowed_plans[j], s) == 0)
                break;
        if (j < p->n_allowed_plans) {
            perr(c, ptr, "plan \"%s\" is listed twice", s);
            continue;
        }
        if (!(p->allowed_plans[p->n_allowed_plans] = strdup(s))) {
            c->nomem = true;
            return;
        }
        p->n_allowed_plans++;
    }
}

static const char *const approval_words[] = {"first", "second", "last", "every", NULL};
static const char *const gate_words[] = {"error_rate", "latency_p50_ms", "latency_p99_ms", NULL};
static const char *const assign_words[] = {"proven", "never", "any", NULL};

static void parse_approvals(struct pol_ctx *c, const json_t *v, struct policy *p)
{
    const char *k;
    json_t *x;

    if (!json_is_object(v) || json_object_size(v) == 0) {
        perr(c, "/approvals", "must be an object with \"waves\" and/or \"approvers\"");
        return;
    }
    json_object_foreach((json_t *)v, k, x)
    {
        char ptr[96];
        snprintf(ptr, sizeof ptr, "/approvals/%.80s", k);
        if (json_is_null(x))
            continue;
        if (strcmp(k, "waves") == 0) {
            p->approval_waves = get_word_set(c, x, ptr, approval_words,
                                             "\"first\", \"second\", \"last\", \"every\"");
        } else if (strcmp(k, "approvers") == 0) {
            if (!json_is_integer(x) || json_integer_value(x) < 1 ||
                json_integer_value(x) > POLICY_MAX_APPROVERS)
                perr(c, ptr, "must be an integer 1..%d", POLICY_MAX_APPROVERS);
            else
                p->approvers = json_integer_value(x);
        } else {
            perr(c, ptr, "unknown field (approvals has \"waves\" and \"approvers\")");
        }
    }
}

/* The deny windows, through the plan parser: {"waves": [one wave],
 * "deny": ...}; its errors under /deny are the policy's. */
static void parse_deny(struct pol_ctx *c, const json_t *v, const char *zonedir, struct policy *p)
{
    json_t *doc = json_pack("{s:[{s:s,s:i,s:i}],s:O}", "waves", "name", "w", "percent", 100,
                            "bake_s", 0, "deny", v);
    json_t *errs = json_array();
    size_t i;
    int rc;

    if (!doc || !errs) {
        c->nomem = true;
        json_decref(doc);
        json_decref(errs);
        return;
    }
    rc = plan_parse_ex(doc, zonedir, &p->deny, errs);
    if (rc == CG_ERR_NOMEM)
        c->nomem = true;
    for (i = 0; i < json_array_size(errs); i++) {
        json_t *e = json_array_get(errs, i);
        const char *ptr = json_string_value(json_object_get(e, "pointer"));
        perr(c, ptr && strncmp(ptr, "/deny", 5) == 0 ? ptr : "/deny", "%s",
             json_string_value(json_object_get(e, "message")));
    }
    if (rc == CG_OK && p->deny && p->deny->n_deny == 0) {
        plan_free(p->deny);
        p->deny = NULL;
    }
    json_decref(doc);
    json_decref(errs);
}

static const char *const top_keys[] = {
    "allowed_plans",  "min_waves",       "min_bake_s", "max_first_wave_cells", "approvals",
    "required_gates", "on_gate_failure", "deny",       "direct_assign",        NULL};

int policy_parse(const json_t *doc, const char *zonedir, struct policy **out, json_t *errors)
{
    struct pol_ctx c = {json_is_array(errors) ? errors : NULL, 0, false};
    struct policy *p;
    const char *k;
    const json_t *f;
    json_t *v;

    *out = NULL;
    if (!json_is_object(doc)) {
        perr(&c, "", "a policy must be a JSON object");
        return c.nomem ? CG_ERR_NOMEM : CG_ERR_INVALID;
    }
    if (!(p = calloc(1, sizeof *p)))
        return CG_ERR_NOMEM;
    p->min_bake_s = -1;
    p->approvers = 1;
    p->assign = POLICY_ASSIGN_PROVEN;
    json_object_foreach((json_t *)doc, k, v)
    {
        char ptr[96];
        if (word_index(k, top_keys) < 0) {
            snprintf(ptr, sizeof ptr, "/%.80s", k);
            perr(&c, ptr, "unknown field (a policy has %s)",
                 "allowed_plans, min_waves, min_bake_s, max_first_wave_cells, approvals, "
                 "required_gates, on_gate_failure, deny, direct_assign");
        }
    }
    if ((f = field(doc, "allowed_plans")))
        parse_allowed_plans(&c, f, p);
    get_int(&c, doc, "min_waves", 1, PLAN_MAX_WAVES, &p->min_waves);
    get_int(&c, doc, "min_bake_s", 0, PLAN_MAX_BAKE_S, &p->min_bake_s);
    get_int(&c, doc, "max_first_wave_cells", 1, PLAN_MAX_CELLS, &p->max_first_wave_cells);
    if ((f = field(doc, "approvals")))
        parse_approvals(&c, f, p);
    if ((f = field(doc, "required_gates")))
        p->required_gates = get_word_set(&c, f, "/required_gates", gate_words,
                                         "\"error_rate\", \"latency_p50_ms\", \"latency_p99_ms\"");
    if ((f = field(doc, "on_gate_failure"))) {
        if (!json_is_string(f) || strcmp(json_string_value(f), "rollback") != 0)
            perr(&c, "/on_gate_failure",
                 "must be \"rollback\" (a policy can only require that a failing gate rolls "
                 "back; leave it out to let the plan decide)");
        else
            p->require_rollback = true;
    }
    if ((f = field(doc, "deny")))
        parse_deny(&c, f, zonedir, p);
    if ((f = field(doc, "direct_assign"))) {
        int i = word_index(json_string_value(f), assign_words);
        if (i < 0)
            perr(&c, "/direct_assign", "must be \"proven\", \"never\" or \"any\"");
        else
            p->assign = (enum policy_assign)(i + 1);
    }
    if (c.nomem || c.n_errors) {
        policy_free(p);
        return c.nomem ? CG_ERR_NOMEM : CG_ERR_INVALID;
    }
    *out = p;
    return CG_OK;
}

int policy_parse_text(const char *text, const char *zonedir, struct policy **out, json_t *errors)
{
    json_error_t je;
    json_t *doc = text ? json_loads(text, JSON_REJECT_DUPLICATES, &je) : NULL;
    int rc;

    *out = NULL;
    if (!doc) {
        if (json_is_array(errors))
            json_array_append_new(errors, json_pack("{s:s,s:s}", "pointer", "", "message",
                                                    text ? je.text : "no policy document"));
        return CG_ERR_INVALID;
    }
    rc = policy_parse(doc, zonedir, out, errors);
    json_decref(doc);
    return rc;
}

void policy_free(struct policy *p)
{
    size_t i;

    if (!p)
        return;
    for (i = 0; i < p->n_allowed_plans; i++)
        free(p->allowed_plans[i]);
    free(p->allowed_plans);
    plan_free(p->deny);
    free(p);
}

/* ---- checking a plan ---- */

static void broke(json_t *out, size_t *n, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void broke(json_t *out, size_t *n, const char *rule, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    (*n)++;
    if (json_is_array(out))
        json_array_append_new(out, json_pack("{s:s,s:s}", "rule", rule, "message", msg));
}

/* Does wave i need an approval under the policy? */
static bool approval_needed(const struct policy *pol, size_t i, size_t n)
{
    unsigned w = pol->approval_waves;

    return (w & POLICY_APPROVE_EVERY) || (i == 0 && (w & POLICY_APPROVE_FIRST)) ||
           (i == 1 && (w & POLICY_APPROVE_SECOND)) || (i + 1 == n && (w & POLICY_APPROVE_LAST));
}

size_t policy_check(const struct policy *pol, const char *plan_name, const struct plan *p,
                    int64_t first_wave_cells, json_t *violations)
{
    size_t n = 0, i;

    if (!pol || !p)
        return 0;
    if (pol->n_allowed_plans) {
        char list[512] = "";
        size_t at = 0;
        bool ok = false;
        for (i = 0; i < pol->n_allowed_plans; i++) {
            if (plan_name && strcmp(plan_name, pol->allowed_plans[i]) == 0)
                ok = true;
            if (at < sizeof list) {
                int w = snprintf(list + at, sizeof list - at, "%s%s", i ? ", " : "",
                                 pol->allowed_plans[i]);
                at += w > 0 ? (size_t)w : 0;
            }
        }
        if (!ok)
            broke(violations, &n, "allowed_plans", "plan '%s' is not one of the allowed plans (%s)",
                  plan_name ? plan_name : "", list);
    }
    if (pol->min_waves && (int64_t)p->n_waves < pol->min_waves)
        broke(violations, &n, "min_waves", "the plan has %zu wave%s; at least %lld required",
              p->n_waves, p->n_waves == 1 ? "" : "s", (long long)pol->min_waves);
    if (pol->min_bake_s >= 0)
        for (i = 0; i + 1 < p->n_waves; i++)
            if (p->waves[i].bake_s < pol->min_bake_s) {
                broke(violations, &n, "min_bake_s",
                      "wave '%s' bakes %lld s; every wave but the last must bake at least %lld s",
                      p->waves[i].name, (long long)p->waves[i].bake_s, (long long)pol->min_bake_s);
                break;
            }
    if (pol->max_first_wave_cells && first_wave_cells > pol->max_first_wave_cells)
        broke(violations, &n, "max_first_wave_cells",
              "the first wave takes %lld cells; at most %lld allowed", (long long)first_wave_cells,
              (long long)pol->max_first_wave_cells);
    for (i = 0; i < p->n_waves; i++)
        if (approval_needed(pol, i, p->n_waves) && !p->waves[i].approval) {
            broke(violations, &n, "approvals",
                  "wave '%s' (wave %zu of %zu) must ask for an approval (\"approval\": true)",
                  p->waves[i].name, i + 1, p->n_waves);
            break;
        }
    for (i = 0; gate_words[i]; i++) {
        const struct plan_threshold *t = i == 0   ? &p->gates.error_rate
                                         : i == 1 ? &p->gates.latency_p50_ms
                                                  : &p->gates.latency_p99_ms;
        if ((pol->required_gates & (1u << i)) && !t->is_set)
            broke(violations, &n, "required_gates", "the plan has no %s gate", gate_words[i]);
    }
    if (pol->require_rollback && p->on_gate_failure != PLAN_ACTION_ROLLBACK)
        broke(violations, &n, "on_gate_failure",
              "the plan halts on a failing gate; the policy requires \"rollback\"");
    return n;
}

int policy_in_deny_window(const struct policy *pol, int64_t now_ms, char *why, size_t whylen)
{
    char inner[300];

    if (why && whylen)
        *why = '\0';
    if (!pol || !pol->deny || !plan_in_deny_window(pol->deny, now_ms, inner, sizeof inner))
        return 0;
    if (why && whylen)
        snprintf(why, whylen, "policy %s", inner);
    return 1;
}

const char *policy_assign_name(enum policy_assign a)
{
    return a == POLICY_ASSIGN_NEVER ? "never" : a == POLICY_ASSIGN_ANY ? "any" : "proven";
}

static json_t *word_list(unsigned bits, const char *const *words)
{
    json_t *a = json_array();

    for (int i = 0; a && words[i]; i++)
        if (bits & (1u << i))
            json_array_append_new(a, json_string(words[i]));
    return a;
}

json_t *policy_to_json(const struct policy *pol)
{
    json_t *o = json_object(), *plans = NULL, *deny = json_array();
    size_t i;

    if (!o || !deny) {
        json_decref(o);
        json_decref(deny);
        return NULL;
    }
    if (pol->n_allowed_plans) {
        plans = json_array();
        for (i = 0; plans && i < pol->n_allowed_plans; i++)
            json_array_append_new(plans, json_string(pol->allowed_plans[i]));
    }
    if (pol->deny) {
        json_t *pj = plan_to_json(pol->deny);
        json_t *d = json_object_get(pj, "deny");
        if (json_is_array(d))
            json_array_extend(deny, d);
        json_decref(pj);
    }
    json_object_set_new(o, "allowed_plans", plans ? plans : json_null());
    json_object_set_new(o, "min_waves",
                        pol->min_waves ? json_integer(pol->min_waves) : json_null());
    json_object_set_new(o, "min_bake_s",
                        pol->min_bake_s >= 0 ? json_integer(pol->min_bake_s) : json_null());
    json_object_set_new(o, "max_first_wave_cells",
                        pol->max_first_wave_cells ? json_integer(pol->max_first_wave_cells)
                                                  : json_null());
    json_object_set_new(o, "approvals",
                        json_pack("{s:o,s:I}", "waves",
                                  word_list(pol->approval_waves, approval_words), "approvers",
                                  (json_int_t)pol->approvers));
    json_object_set_new(o, "required_gates", word_list(pol->required_gates, gate_words));
    json_object_set_new(o, "on_gate_failure",
                        pol->require_rollback ? json_string("rollback") : json_null());
    json_object_set_new(o, "deny", deny);
    json_object_set_new(o, "direct_assign", json_string(policy_assign_name(pol->assign)));
    return o;
}
