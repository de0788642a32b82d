/* SPDX-License-Identifier: MIT */
/*
 * trace.c - --trace-out FILE: one CSV line every --trace-ms (default 100 ms)
 * with the fleet's cumulative request counters and a few gauges, for the
 * storm and metastability benchmarks (bench/storm.py, issue 6): the
 * attempt and connection rate per period, goodput (successful polls and
 * reports), and how many hosts hold their cell's current state. Counters
 * are cumulative since start; a reader takes differences between lines
 * (t_ms says how long a period really was). The file is line-buffered and
 * flushed every line, so a script can follow it while the sim runs.
 *
 * Columns (docs/sim.md "Trace"):
 *   t_ms        monotonic ms since the sim started
 *   wall_ms     wall clock (Unix ms)
 *   started     HTTP requests handed to libcurl (attempts)
 *   conns       TCP connections libcurl opened (counted when a transfer ends)
 *   polls_ok    long-polls answered 200 or 304
 *   poll_fail   failed poll cycles (transport, 5xx, 429, bad answer)
 *   reports_ok  reports accepted (200/204)
 *   report_fail reports that failed
 *   s5xx        5xx answers seen
 *   retry_after answers that carried Retry-After (failed poll cycles)
 *   inflight    requests in flight now
 *   hosts_ok    hosts that completed a poll and whose last cycle succeeded
 *   newest_gen  newest generation any host holds of the first config seen
 *   newest_version the version that generation assigns
 *   hosts_newest hosts that run newest_version of that config (after a
 *               rollback to an older version: hosts that are back on it)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"

int trace_open(struct sim *s, char *msg, size_t msglen)
{
    if (!s->opt.trace_out) {
        return 0;
    }
    s->trace = fopen(s->opt.trace_out, "w");
    if (!s->trace) {
        snprintf(msg, msglen, "cannot write %s: %s", s->opt.trace_out, strerror(errno));
        return -1;
    }
    setvbuf(s->trace, NULL, _IOLBF, 0);
    fprintf(s->trace,
            "t_ms,wall_ms,started,conns,polls_ok,poll_fail,reports_ok,report_fail,"
            "s5xx,retry_after,inflight,hosts_ok,newest_gen,newest_version,hosts_newest\n");
    return 0;
}

void trace_tick(struct sim *s, int64_t now)
{
    const char *cfg = NULL;
    int64_t newest = 0, newest_v = 0;
    size_t ok = 0, at_newest = 0;

    if (!s->trace || now < s->trace_next_ms) {
        return;
    }
    s->trace_next_ms = (s->trace_next_ms > 0 ? s->trace_next_ms : now) + s->opt.trace_ms;
    if (s->trace_next_ms <= now) {
        s->trace_next_ms = now + s->opt.trace_ms; /* a late tick: no catch-up burst */
    }
    for (size_t i = 0; i < s->nhosts; i++) {
        const struct sim_host *h = &s->hosts[i];

        if (h->polled_once && !h->last_failed) {
            ok++;
        }
        for (size_t j = 0; j < h->ncfg; j++) {
            const struct host_config *c = &h->cfg[j];

            if (!cfg) {
                cfg = c->name;
            }
            if (strcmp(c->name, cfg) == 0 && c->lkg_generation > newest) {
                newest = c->lkg_generation;
                newest_v = c->lkg_version;
            }
        }
    }
    for (size_t i = 0; cfg && i < s->nhosts; i++) {
        const struct sim_host *h = &s->hosts[i];

        for (size_t j = 0; j < h->ncfg; j++) {
            if (h->cfg[j].lkg_version == newest_v && strcmp(h->cfg[j].name, cfg) == 0) {
                at_newest++;
            }
        }
    }
    fprintf(s->trace, "%lld,%lld,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%zu,%zu,%lld,%lld,%zu\n",
            (long long)(now - s->start_mono_ms), (long long)sim_wall(),
            (unsigned long long)s->st.http_started, (unsigned long long)s->st.new_conns,
            (unsigned long long)(s->st.polls_200 + s->st.polls_304),
            (unsigned long long)s->st.poll_failures, (unsigned long long)s->st.reports,
            (unsigned long long)s->st.report_failures, (unsigned long long)s->st.status_5xx,
            (unsigned long long)s->st.retry_after_seen, loop_inflight(s), ok, (long long)newest,
            (long long)newest_v, at_newest);
}

void trace_close(struct sim *s)
{
    if (s->trace) {
        fclose(s->trace);
        s->trace = NULL;
    }
}
