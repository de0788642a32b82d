/* SPDX-License-Identifier: MIT */
/*
 * output.c - what the simulator prints and writes: the live summary line
 * (stderr; hosts by version, requests/s, errors/s, agent traffic), the
 * JSON report (--json-out: blast radius of every rollout and version, the
 * agents' counters, the process's own cost), and the final text report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "json.h"
#include "sim.h"
#include "util.h"

#define SUMMARY_MAX_VERSIONS 8

/* Formats a count compactly: 950, 12.3k, 4.56M. */
static void human(double v, char *out, size_t outlen)
{
    if (v >= 1e6) {
        snprintf(out, outlen, "%.2fM", v / 1e6);
    } else if (v >= 1e4) {
        snprintf(out, outlen, "%.1fk", v / 1e3);
    } else {
        snprintf(out, outlen, "%.0f", v);
    }
}

void output_summary(struct sim *s, int64_t now, bool final)
{
    const char *configs[SUMMARY_MAX_VERSIONS];
    int64_t versions[SUMMARY_MAX_VERSIONS];
    uint64_t counts[SUMMARY_MAX_VERSIONS], none;
    size_t n;
    struct cg_buf line = {0};
    double dt = (double)(now - s->last_summary_ms) / 1000.0;
    char a[32], b[32];

    if (s->opt.quiet && !final) {
        return;
    }
    n = agents_versions(s, configs, versions, counts, SUMMARY_MAX_VERSIONS, &none);
    cg_buf_printf(&line, "[%6.1fs] %zu hosts |", (double)(now - s->start_mono_ms) / 1000.0,
                  s->nhosts);
    for (size_t i = 0; i < n; i++) {
        cg_buf_printf(&line, " %s v%lld: %llu", configs[i], (long long)versions[i],
                      (unsigned long long)counts[i]);
    }
    if (none) {
        cg_buf_printf(&line, " no config: %llu", (unsigned long long)none);
    }
    if (dt <= 0) {
        dt = 1;
    }
    human((double)(s->st.requests_total - s->last_requests) / dt, a, sizeof a);
    human((double)(s->st.errors_total - s->last_errors) / dt, b, sizeof b);
    cg_buf_printf(&line, " | %s req/s %s err/s | agent polls %llu, reports %llu, failures %llu", a,
                  b, (unsigned long long)s->st.polls, (unsigned long long)s->st.reports,
                  (unsigned long long)(s->st.poll_failures + s->st.report_failures));
    fprintf(stderr, "%s\n", line.data ? line.data : "");
    cg_buf_free(&line);
    s->last_requests = s->st.requests_total;
    s->last_errors = s->st.errors_total;
    s->last_summary_ms = now;
}

static json_t *agent_json(const struct sim *s)
{
    struct cg_retry_stats sum = {0};

    for (size_t i = 0; i < s->nhosts; i++) {
        struct cg_retry_stats rs;

        cg_retry_stats_get(&s->hosts[i].bo, &s->hosts[i].budget, &rs);
        sum.requests += rs.requests;
        sum.retries += rs.retries;
        sum.budget_denied += rs.budget_denied;
        sum.backoffs += rs.backoffs;
        sum.retry_after_floors += rs.retry_after_floors;
    }
    return json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:I}", "polls",
        (json_int_t)s->st.polls, "polls_200", (json_int_t)s->st.polls_200, "polls_304",
        (json_int_t)s->st.polls_304, "poll_failures", (json_int_t)s->st.poll_failures, "reports",
        (json_int_t)s->st.reports, "report_failures", (json_int_t)s->st.report_failures,
        "fetch_failures", (json_int_t)s->st.fetch_failures, "applied", (json_int_t)s->st.applied,
        "rejected", (json_int_t)s->st.rejected, "reload_failed", (json_int_t)s->st.reload_failed,
        "verify_failed", (json_int_t)s->st.verify_failed, "retries", (json_int_t)sum.retries,
        "backoffs", (json_int_t)sum.backoffs, "budget_denied", (json_int_t)sum.budget_denied,
        "retry_after_floors", (json_int_t)sum.retry_after_floors, "status_5xx",
        (json_int_t)s->st.status_5xx, "refused_by_partition", (json_int_t)s->st.http_refused,
        "naive_retries", s->opt.naive_retries, "failovers", (json_int_t)s->st.failovers);
}

static json_t *process_json(const struct sim *s, int64_t now)
{
    struct rusage ru;
    double user = 0, sys = 0, wall = (double)(now - s->start_mono_ms) / 1000.0;
    long rss_kb = 0;

    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
        sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        rss_kb = ru.ru_maxrss;
    }
    return json_pack("{s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:I}", "wall_s", wall, "cpu_user_s",
                     user, "cpu_sys_s", sys, "cpu_share", wall > 0 ? (user + sys) / wall : 0.0,
                     "max_rss_kb", (json_int_t)rss_kb, "http_requests",
                     (json_int_t)s->st.http_started, "max_inflight", (json_int_t)s->st.max_inflight,
                     "contract_checks", (json_int_t)s->cache.checks, "contract_check_cache_hits",
                     (json_int_t)s->cache.check_hits, "blob_fetches",
                     (json_int_t)s->cache.blob_fetches);
}

static json_t *report_json(struct sim *s, int64_t now_mono)
{
    json_t *root = blast_to_json(&s->blast, sim_wall()), *faults = json_array();
    char t[32];

    for (size_t i = 0; i < s->opt.faults.n; i++) {
        char d[160];

        faults_describe(&s->opt.faults, i, d, sizeof d);
        json_array_append_new(faults, json_string(d));
    }
    if (!root) {
        json_decref(faults);
        return NULL;
    }
    cg_time_format(s->start_wall_ms, t);
    json_object_set_new(root, "started_at", json_string(t));
    cg_time_format(sim_wall(), t);
    json_object_set_new(root, "written_at", json_string(t));
    json_object_set_new(
        root, "options",
        json_pack("{s:s,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:I,s:i,s:I,s:I,s:o}", "server", s->opt.server,
                  "regions", (json_int_t)topo_count_regions(&s->topo), "zones",
                  (json_int_t)topo_count_zones(&s->topo), "cells", (json_int_t)s->topo.ncells,
                  "rps_per_host", s->opt.rps, "base_error_rate", s->opt.base.error_rate,
                  "base_latency_ms", s->opt.base.latency_ms, "noise", s->opt.noise, "report_ms",
                  (json_int_t)s->opt.report_ms, "wait_s", s->opt.wait_s, "apply_delay_ms",
                  (json_int_t)s->opt.apply_delay_ms, "seed", (json_int_t)s->opt.seed, "faults",
                  faults));
    {
        /* the noise options of the health model (docs/sim.md "Health model") */
        json_t *bias = json_object(), *opts = json_object_get(root, "options");

        for (size_t i = 0; i < s->opt.cell_bias.n; i++) {
            json_object_set_new(bias, s->opt.cell_bias.b[i].cell,
                                json_pack("{s:f,s:f}", "error", s->opt.cell_bias.b[i].error,
                                          "latency", s->opt.cell_bias.b[i].latency));
        }
        json_object_set_new(
            opts, "health_noise",
            json_pack("{s:f,s:f,s:f,s:f,s:f,s:o}", "latency_noise",
                      s->opt.latency_noise >= 0 ? s->opt.latency_noise : s->opt.noise / 2,
                      "tail_share", s->opt.tail_share, "tail_alpha", s->opt.tail_alpha, "tail_min",
                      s->opt.tail_min, "error_dispersion", s->opt.error_dispersion, "cell_bias",
                      bias));
    }
    json_object_set_new(root, "hosts_polled_once", json_integer((json_int_t)s->hosts_polled_once));
    json_object_set_new(root, "agents", agent_json(s));
    json_object_set_new(root, "process", process_json(s, now_mono));
    return root;
}

int output_json(struct sim *s, const char *path, char *msg, size_t msglen)
{
    json_t *root = report_json(s, sim_mono());
    char tmp[4096];
    FILE *f;
    int rc = -1;

    if (!root) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f && json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) == 0 &&
        fputc('\n', f) != EOF && fclose(f) == 0) {
        f = NULL;
        rc = rename(tmp, path) == 0 ? 0 : -1;
    }
    if (f) {
        fclose(f);
    }
    if (rc != 0) {
        snprintf(msg, msglen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    json_decref(root);
    return rc;
}

/* Prints one rollout of the blast-radius report. */
static void print_rollout(const json_t *r)
{
    const json_t *br = json_object_get(r, "blast_radius");
    double share = json_number_value(json_object_get(br, "share_of_fleet_requests"));

    printf("  rollout %lld: %s v%lld -> v%lld (%s), %s\n", (long long)cg_json_int(r, "id", 0, NULL),
           cg_json_str(r, "config", "", NULL), (long long)cg_json_int(r, "from_version", 0, NULL),
           (long long)cg_json_int(r, "to_version", 0, NULL), cg_json_str(r, "kind", "", NULL),
           cg_json_str(r, "state", "", NULL));
    printf("    ran on %lld cells, %lld hosts; served %lld requests = %.3f%% of fleet requests "
           "during the rollout\n",
           (long long)cg_json_int(br, "cells_count", 0, NULL),
           (long long)cg_json_int(br, "hosts", 0, NULL),
           (long long)cg_json_int(br, "requests", 0, NULL), share * 100);
    if (json_is_number(json_object_get(r, "time_to_detect_s"))) {
        printf("    detected %.1fs after the rollout started (%.1fs after publish): %s\n",
               json_number_value(json_object_get(r, "time_to_detect_s")),
               json_number_value(json_object_get(r, "time_to_detect_from_publish_s")),
               cg_json_str(r, "reason", "", NULL));
    }
    if (json_is_number(json_object_get(r, "time_to_end_of_rollback_s"))) {
        printf("    rollback complete %.1fs after the start (%.1fs after detection)\n",
               json_number_value(json_object_get(r, "time_to_end_of_rollback_s")),
               json_number_value(json_object_get(r, "rollback_duration_s")));
    }
}

void output_final(struct sim *s)
{
    json_t *root = report_json(s, sim_mono()), *x;
    const json_t *proc;
    size_t i;

    if (!root) {
        return;
    }
    printf("cellgate-sim: %zu hosts in %zu cells, %.0f s; fleet served %lld requests "
           "(%lld errors)\n",
           s->nhosts, s->topo.ncells, (double)(sim_mono() - s->start_mono_ms) / 1000.0,
           (long long)s->blast.fleet_requests, (long long)s->blast.fleet_errors);
    printf("blast radius by rollout:\n");
    json_array_foreach(json_object_get(root, "rollouts"), i, x)
    {
        print_rollout(x);
    }
    if (json_array_size(json_object_get(root, "rollouts")) == 0) {
        printf("  (no rollouts seen%s)\n", s->opt.token ? "" : "; the monitor needs --token");
    }
    printf("versions that were rolled back:\n");
    json_array_foreach(json_object_get(root, "versions"), i, x)
    {
        if (json_is_true(json_object_get(x, "rolled_back"))) {
            printf("  %s v%lld: %lld cells, %lld hosts, %.3f%% of all requests of the run\n",
                   cg_json_str(x, "config", "", NULL),
                   (long long)cg_json_int(x, "version", 0, NULL),
                   (long long)cg_json_int(x, "cells_ever", 0, NULL),
                   (long long)cg_json_int(x, "hosts_ever", 0, NULL),
                   json_number_value(json_object_get(x, "share_of_run")) * 100);
        }
    }
    proc = json_object_get(root, "process");
    printf("process: %.1f s CPU (%.0f%% of one core), max RSS %lld MiB, %lld HTTP requests\n",
           json_number_value(json_object_get(proc, "cpu_user_s")) +
               json_number_value(json_object_get(proc, "cpu_sys_s")),
           json_number_value(json_object_get(proc, "cpu_share")) * 100,
           (long long)cg_json_int(proc, "max_rss_kb", 0, NULL) / 1024,
           (long long)cg_json_int(proc, "http_requests", 0, NULL));
    fflush(stdout);
    json_decref(root);
}
