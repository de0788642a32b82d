/* SPDX-License-Identifier: MIT */
/*
 * report.c - health from the host's Prometheus endpoint and the report
 * the agent posts every interval (docs/api/agent.md "Reports").
 *
 * Counters are turned into deltas between scrapes with reset detection
 * (cg_prom_counter_delta / cg_prom_hist_delta) and accumulated until a
 * report is accepted, so a report that fails loses nothing: the next one
 * carries the whole window. A failed scrape folds nothing; the next good
 * scrape's delta covers the gap.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "json.h"
#include "util.h"

static int parse_sel(const char *spec, struct cg_prom_selector **out, const char *what, char *msg,
                     size_t msglen)
{
    char m[192];

    *out = NULL;
    if (!spec[0]) {
        return 0;
    }
    if (cg_prom_selector_parse(spec, out, m, sizeof m) != CG_OK) {
        snprintf(msg, msglen, "[health] %s selector '%s': %s", what, spec, m);
        return -1;
    }
    return 0;
}

int report_init(struct agent *a, char *msg, size_t msglen)
{
    const struct agent_conf *c = &a->conf;
    char base[AGENT_PATH_MAX];
    const char *p;
    struct cg_error err;

    a->window_start_ms = cg_mono_ms();
    a->seq = cg_now_ms(); /* increases across restarts too */
    if (!c->prom_url[0]) {
        return 0;
    }
    p = strstr(c->prom_url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    if (p) {
        snprintf(base, sizeof base, "%.*s", (int)(p - c->prom_url), c->prom_url);
        cg_strlcpy(a->prom_path, p, sizeof a->prom_path);
    } else {
        cg_strlcpy(base, c->prom_url, sizeof base);
        cg_strlcpy(a->prom_path, "/metrics", sizeof a->prom_path);
    }
    if (cg_client_new(base, &a->prom, &err) != CG_OK) {
        snprintf(msg, msglen, "prometheus_url: %s", err.message);
        return -1;
    }
    /* the scrape carries no credential: plain HTTP to an exporter on
     * another address is the operator's call (docs/agent.md) */
    cg_client_set_allow_plain_http(a->prom, 1);
    cg_client_set_timeout_ms(a->prom, 5000);
    cg_client_set_connect_timeout_ms(a->prom, 2000);
    cg_client_set_max_response(a->prom, 8u * 1024 * 1024);
    if (parse_sel(c->sel_requests, &a->sel_req, "requests", msg, msglen) != 0 ||
        parse_sel(c->sel_errors, &a->sel_err, "errors", msg, msglen) != 0 ||
        parse_sel(c->sel_latency, &a->sel_lat, "latency", msg, msglen) != 0) {
        return -1;
    }
    for (size_t i = 0; i < c->nmetrics; i++) {
        if (parse_sel(c->metrics[i].selector, &a->sel_m[i], c->metrics[i].name, msg, msglen) != 0) {
            return -1;
        }
    }
    return 0;
}

void report_release(struct agent *a)
{
    cg_client_free(a->prom);
    a->prom = NULL;
    cg_prom_selector_free(a->sel_req);
    cg_prom_selector_free(a->sel_err);
    cg_prom_selector_free(a->sel_lat);
    for (size_t i = 0; i < AGENT_MAX_METRICS; i++) {
        cg_prom_selector_free(a->sel_m[i]);
        a->sel_m[i] = NULL;
    }
    a->sel_req = a->sel_err = a->sel_lat = NULL;
    cg_prom_hist_release(&a->prev_hist);
}

void report_hist_fold(const struct cg_prom_hist *d, double scale_ms, struct cg_hist *out)
{
    double below = 0;

    for (size_t i = 0; i < d->nbuckets; i++) {
        double n = d->cumulative[i] - below;
        size_t j = CG_HIST_BUCKETS - 1;

        below = d->cumulative[i];
        if (!(n > 0) || !isfinite(n)) {
            continue;
        }
        if (isfinite(d->upper[i])) {
            double ub = d->upper[i] * scale_ms;
            for (j = 0; j < CG_HIST_BUCKETS - 1; j++) {
                if (cg_hist_bound_ms(j) >= ub) {
                    break;
                }
            }
        }
        out->b[j] += (uint64_t)llround(n);
    }
}

static int sum(const struct cg_prom_set *set, const struct cg_prom_selector *sel, double *out)
{
    size_t n = 0;

    if (!sel) {
        *out = 0;
        return 0;
    }
    if (cg_prom_sum(set, sel, out, &n) != CG_OK || !isfinite(*out)) {
        return -1;
    }
    return 0;
}

int report_scrape(struct agent *a)
{
    struct cg_result *r = NULL;
    struct cg_error err;
    struct cg_prom_set *set = NULL;
    struct cg_prom_error perr;
    struct cg_prom_hist h = {0};
    double req = 0, errs = 0, m[AGENT_MAX_METRICS] = {0};
    const char *body;
    size_t len;
    int have_h = 0;
    char hmsg[192];

    if (!a->prom) {
        return 0;
    }
    if (cg_get_raw(a->prom, a->prom_path, &r, &err) != CG_OK) {
        ALOG(a, LV_WARN, "health scrape failed: %s", err.message);
        a->scrape_failures++;
        return -1;
    }
    body = cg_result_body(r, &len);
    if (cg_prom_parse(body, len, NULL, &set, &perr) != CG_OK) {
        ALOG(a, LV_WARN, "health scrape: line %zu: %s", perr.line, perr.message);
        cg_result_free(r);
        a->scrape_failures++;
        return -1;
    }
    cg_result_free(r);
    if (sum(set, a->sel_req, &req) != 0 || sum(set, a->sel_err, &errs) != 0) {
        goto bad;
    }
    for (size_t i = 0; i < a->conf.nmetrics; i++) {
        if (sum(set, a->sel_m[i], &m[i]) != 0) {
            goto bad;
        }
    }
    if (a->sel_lat) {
        int rc = cg_prom_histogram(set, a->sel_lat, &h, hmsg, sizeof hmsg);
        if (rc == CG_OK) {
            have_h = 1;
        } else if (rc != CG_ERR_NOTFOUND) {
            ALOG(a, LV_WARN, "health scrape: latency histogram: %s", hmsg);
        }
    }
    cg_prom_set_free(set);
    if (a->have_prev) {
        double dr = cg_prom_counter_delta(a->prev_req, req);
        double de = cg_prom_counter_delta(a->prev_err, errs);
        a->acc_req += dr;
        a->acc_err += de > dr ? dr : de;
        for (size_t i = 0; i < a->conf.nmetrics; i++) {
            if (a->conf.metrics[i].gauge) {
                a->acc_m[i] = m[i];
            } else {
                a->acc_m[i] += cg_prom_counter_delta(a->prev_m[i], m[i]);
            }
        }
    } else {
        for (size_t i = 0; i < a->conf.nmetrics; i++) {
            if (a->conf.metrics[i].gauge) {
                a->acc_m[i] = m[i];
            }
        }
    }
    if (have_h && a->have_prev_hist) {
        struct cg_prom_hist d = {0};
        if (cg_prom_hist_delta(&a->prev_hist, &h, &d, NULL) == CG_OK) {
            report_hist_fold(&d, a->conf.latency_scale_ms, &a->acc_hist);
        }
        cg_prom_hist_release(&d);
    }
    if (have_h) {
        cg_prom_hist_release(&a->prev_hist);
        a->prev_hist = h;
        a->have_prev_hist = 1;
    }
    a->prev_req = req;
    a->prev_err = errs;
    memcpy(a->prev_m, m, sizeof m);
    a->have_prev = 1;
    return 0;
bad:
    ALOG(a, LV_WARN, "health scrape: a selector matched a non-finite value or failed");
    cg_prom_set_free(set);
    a->scrape_failures++;
    return -1;
}

static void put_counter(json_t *metrics, const char *name, uint64_t cur, uint64_t prev)
{
    json_object_set_new(metrics, name,
                        json_pack("{s:s,s:f}", "type", "counter", "value",
                                  cur >= prev ? (double)(cur - prev) : (double)cur));
}

char *report_build(struct agent *a, int64_t window_ms)
{
    struct cg_watch_stats st = {.size = sizeof st};
    json_t *root = NULL, *health, *metrics, *configs = NULL;
    char *cfg_text, *text = NULL;
    json_t *hist;
    uint64_t req = (uint64_t)llround(a->acc_req), errs = (uint64_t)llround(a->acc_err);

    cfg_text = cg_watch_dup_report_configs(a->watch);
    if (cfg_text) {
        configs = json_loads(cfg_text, 0, NULL);
        cg_free(cfg_text);
    }
    if (!configs) {
        configs = json_array();
    }
    cg_watch_get_stats(a->watch, &st);
    metrics = json_object();
    hist = cg_hist_to_json(&a->acc_hist);
    health = json_pack("{s:I,s:I,s:o,s:o}", "requests", (json_int_t)req, "errors",
                       (json_int_t)(errs > req ? req : errs), "latency_ms",
                       hist ? hist : json_object(), "metrics", metrics ? metrics : json_object());
    if (!health || !metrics || !configs) {
        goto out;
    }
    for (size_t i = 0; i < a->conf.nmetrics; i++) {
        json_object_set_new(metrics, a->conf.metrics[i].name,
                            json_pack("{s:s,s:f}", "type",
                                      a->conf.metrics[i].gauge ? "gauge" : "counter", "value",
                                      isfinite(a->acc_m[i]) ? a->acc_m[i] : 0.0));
    }
    /* the agent's own loop state (characteristic metrics: docs/design.md
     * "The failures it exists to prevent") */
    put_counter(metrics, "agent_requests", st.requests, a->reported.requests);
    put_counter(metrics, "agent_retries", st.retries, a->reported.retries);
    put_counter(metrics, "agent_retry_budget_denied", st.budget_denied, a->reported.budget_denied);
    put_counter(metrics, "agent_backoffs", st.backoffs, a->reported.backoffs);
    put_counter(metrics, "agent_retry_after_floors", st.retry_after_floors,
                a->reported.retry_after_floors);
    put_counter(metrics, "agent_poll_failures", st.failures, a->reported.failures);
    put_counter(metrics, "agent_failovers", st.failovers, a->reported.failovers);
    put_counter(metrics, "agent_report_failures", a->report_failures, a->reported_report_failures);
    put_counter(metrics, "agent_scrape_failures", a->scrape_failures, a->reported_scrape_failures);
    root = json_pack("{s:s,s:s,s:I,s:I,s:I,s:O,s:O}", "host", a->conf.host, "cell", a->conf.cell,
                     "seq", (json_int_t)a->seq, "window_ms", (json_int_t)window_ms, "sent_at_ms",
                     (json_int_t)cg_now_ms(), "configs", configs, "health", health);
    if (root) {
        text = cg_json_dump(root);
    }
out:
    json_decref(root);
    json_decref(health);
    json_decref(configs);
    return text;
}

int report_send(struct agent *a)
{
    struct cg_watch_stats st = {.size = sizeof st};
    int64_t now = cg_mono_ms();
    struct cg_error err = {0};
    char *text;
    int rc = CG_ERR_IO;

    report_scrape(a);
    cg_watch_get_stats(a->watch, &st);
    text = report_build(a, now - a->window_start_ms);
    if (!text) {
        ALOG(a, LV_ERROR, "report: out of memory");
        return -1;
    }
    for (size_t i = 0; i < a->nclients; i++) {
        size_t k = (a->report_server + i) % a->nclients;
        rc = cg_agent_report(a->clients[k], text, strlen(text), &err);
        if (rc == CG_OK) {
            a->report_server = k;
            break;
        }
        ALOG(a, LV_WARN, "report to %s failed: %s", cg_client_server(a->clients[k]), err.message);
        if (rc == CG_ERR_INVALID) {
            break; /* the server refuses this report; another will too */
        }
        if (a->stop && a->stop()) {
            break;
        }
    }
    free(text);
    if (rc != CG_OK) {
        a->report_failures++;
        return -1;
    }
    ALOG(a, LV_DEBUG, "report %lld sent", (long long)a->seq);
    a->seq++;
    a->window_start_ms = now;
    a->acc_req = a->acc_err = 0;
    memset(&a->acc_hist, 0, sizeof a->acc_hist);
    for (size_t i = 0; i < a->conf.nmetrics; i++) {
        if (!a->conf.metrics[i].gauge) {
            a->acc_m[i] = 0;
        }
    }
    a->reported = st;
    a->reported_report_failures = a->report_failures;
    a->reported_scrape_failures = a->scrape_failures;
    return 0;
}
