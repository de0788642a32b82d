/* SPDX-License-Identifier: MIT */
/*
 * history_saver.c: the health histories saved while running
 * (history_saver.h). On a periodic thread (periodic.h): write the file
 * with reports_history_save(), log and count.
 */
#include "history_saver.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hooks_render.h"
#include "periodic.h"
#include "reports.h"
#include "stats.h"
#include "util.h"

struct history_saver {
    struct reports *reports;
    char *path;
    int64_t every_ms;
    struct periodic *thread; /* while started with every_ms > 0 */
    pthread_mutex_t save_mu; /* one save at a time (the thread's, the stop's) */
    pthread_mutex_t mu;
    int stopped; /* the stop's save is the last: logged even when fine */
    /* what /metrics shows; under mu */
    int64_t last_ok_ms, last_took_ms;
    uint64_t last_hosts, ok_n, failed_n;
    int last_failed; /* the newest save failed: the next success is logged */
};

/* One logfmt line on stderr: event=history.saved|history.save_failed. */
static void log_line(const char *path, size_t hosts, int64_t took_ms, const char *err)
{
    struct cg_buf b;
    char when[32];

    memset(&b, 0, sizeof b);
    cg_time_format(cg_now_ms(), when);
    cg_buf_printf(&b, "time=%s level=%s event=%s path=", when, err ? "error" : "info",
                  err ? "history.save_failed" : "history.saved");
    hooks_logfmt_value(&b, path);
    if (err) {
        cg_buf_puts(&b, " error=");
        hooks_logfmt_value(&b, err);
    } else {
        cg_buf_printf(&b, " hosts=%zu took_ms=%" PRId64, hosts, took_ms);
    }
    cg_buf_puts(&b, "\n");
    if (b.data)
        fputs(b.data, stderr); /* one write of a whole line */
    cg_buf_free(&b);
}

int history_saver_save(struct history_saver *s)
{
    char msg[256] = "";
    size_t n = 0;
    int64_t t0, took;
    int rc, quiet;

    pthread_mutex_lock(&s->save_mu);
    t0 = cg_mono_ms();
    rc = reports_history_save(s->reports, s->path, cg_now_ms(), &n, msg);
    took = cg_mono_ms() - t0;
    pthread_mutex_lock(&s->mu);
    /* a periodic success after a success says nothing new: not logged */
    quiet = rc == 0 && !s->last_failed && s->ok_n > 0 && !s->stopped;
    if (rc == 0) {
        s->ok_n++;
        s->last_ok_ms = cg_now_ms();
        s->last_took_ms = took;
        s->last_hosts = n;
    } else {
        s->failed_n++;
    }
    s->last_failed = rc != 0;
    pthread_mutex_unlock(&s->mu);
    if (!quiet)
        log_line(s->path, n, took, rc == 0 ? NULL : msg);
    pthread_mutex_unlock(&s->save_mu);
    return rc;
}

static void save_round(void *ctx)
{
    history_saver_save(ctx);
}

struct history_saver *history_saver_new(struct reports *r, const char *path, int64_t every_ms)
{
    struct history_saver *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->reports = r;
    s->every_ms = every_ms > 0 ? every_ms : 0;
    if (!(s->path = strdup(path))) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->save_mu, NULL);
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

int history_saver_start(struct history_saver *s)
{
    if (!s || s->every_ms == 0)
        return 0;
    s->thread = periodic_start(s->every_ms, s->every_ms, save_round, s);
    return s->thread ? 0 : -1;
}

void history_saver_stop(struct history_saver *s)
{
    if (!s)
        return;
    periodic_stop(s->thread);
    s->thread = NULL;
    pthread_mutex_lock(&s->mu);
    s->stopped = 1;
    pthread_mutex_unlock(&s->mu);
}

void history_saver_free(struct history_saver *s)
{
    if (!s)
        return;
    history_saver_stop(s);
    pthread_mutex_destroy(&s->save_mu);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

static void render_stats(void *ctx, struct cg_buf *out)
{
    struct history_saver *s = ctx;
    int64_t last_ok, took;
    uint64_t hosts, ok, failed;

    pthread_mutex_lock(&s->mu);
    last_ok = s->last_ok_ms;
    took = s->last_took_ms;
    hosts = s->last_hosts;
    ok = s->ok_n;
    failed = s->failed_n;
    pthread_mutex_unlock(&s->mu);
    stats_family(out, "cellgate_health_history_last_save_timestamp_seconds", "gauge",
                 "When the hosts' health histories were last saved to the data directory, Unix "
                 "time (0: not since the start).");
    cg_buf_printf(out, "cellgate_health_history_last_save_timestamp_seconds %.3f\n",
                  (double)last_ok / 1000.0);
    stats_family(out, "cellgate_health_history_last_save_duration_seconds", "gauge",
                 "How long the newest successful save of the health histories took.");
    cg_buf_printf(out, "cellgate_health_history_last_save_duration_seconds %.3f\n",
                  (double)took / 1000.0);
    stats_family(out, "cellgate_health_history_saved_hosts", "gauge",
                 "Hosts whose health history the newest successful save wrote.");
    cg_buf_printf(out, "cellgate_health_history_saved_hosts %" PRIu64 "\n", hosts);
    stats_family(out, "cellgate_health_history_saves_total", "counter",
                 "Saves of the health histories by result (ok, failed).");
    cg_buf_printf(out, "cellgate_health_history_saves_total{result=\"ok\"} %" PRIu64 "\n", ok);
    cg_buf_printf(out, "cellgate_health_history_saves_total{result=\"failed\"} %" PRIu64 "\n",
                  failed);
}

int history_saver_register_stats(struct history_saver *s, struct stats *st)
{
    if (!s)
        return 0;
    return stats_register(st, "history", render_stats, s);
}
