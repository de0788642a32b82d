/* SPDX-License-Identifier: MIT */
/*
 * backup_sched.c: scheduled backups (backup_sched.h). On a periodic
 * thread (periodic.h): write a backup with backup_write(), remove the
 * oldest beyond 'keep', log and count.
 */
#include "backup_sched.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "buf.h"
#include "hooks_render.h"
#include "periodic.h"
#include "stats.h"
#include "util.h"

#define NAME_PREFIX "cellgate-"
#define NAME_LEN    (sizeof NAME_PREFIX - 1 + 20) /* cellgate-YYYYMMDDTHHMMSS.mmmZ */
#define PATH_LEN    4096
#define KEEP_SCAN   4096 /* backups looked at when pruning */

struct backup_sched {
    struct backup_sched_config cfg;
    char *data_dir, *dir;
    struct periodic *thread; /* while started */
    pthread_mutex_t mu;
    /* what /metrics shows; under mu */
    int64_t last_ok_ms, last_took_ms, last_bytes;
    uint64_t ok_n, failed_n, pruned_n;
};

/* "cellgate-YYYYMMDDTHHMMSS.mmmZ" for the time ms (UTC) into out: names
 * sort by time. */
static void backup_name(int64_t ms, char out[64])
{
    char t[32];

    cg_time_format(ms, t); /* 2026-12-06T19:45:11.698Z */
    snprintf(out, 64, NAME_PREFIX "%.4s%.2s%.2sT%.2s%.2s%.2s.%.3sZ", t, t + 5, t + 8, t + 11,
             t + 14, t + 17, t + 20);
}

/* 1 when name is one of ours: the prefix, 8 digits, T, 6 digits, '.', 3
 * digits, Z. */
static int ours(const char *name)
{
    const char *p = name + sizeof NAME_PREFIX - 1;

    if (strlen(name) != NAME_LEN || strncmp(name, NAME_PREFIX, sizeof NAME_PREFIX - 1) != 0)
        return 0;
    for (int i = 0; i < 19; i++) {
        if (i == 8 ? p[i] != 'T' : i == 15 ? p[i] != '.' : (p[i] < '0' || p[i] > '9'))
            return 0;
    }
    return p[19] == 'Z';
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removes dir/name and the plain files in it. */
static void remove_backup(const char *dir, const char *name)
{
    char path[PATH_LEN], file[PATH_LEN];
    DIR *d;
    struct dirent *e;

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return;
    d = opendir(path);
    if (d) {
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
                snprintf(file, sizeof file, "%s/%s", path, e->d_name) < (int)sizeof file)
                unlink(file);
        closedir(d);
    }
    rmdir(path);
}

/* Keeps the newest 'keep' of our backups in dir (names sort by time).
 * Returns how many were removed. */
static size_t prune(const char *dir, size_t keep)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, removed = 0;

    if (!d)
        return 0;
    names = calloc(KEEP_SCAN, sizeof *names);
    while (names && n < KEEP_SCAN && (e = readdir(d)) != NULL)
        if (ours(e->d_name) && (names[n] = strdup(e->d_name)) != NULL)
            n++;
    closedir(d);
    if (!names)
        return 0;
    qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i + keep < n; i++) {
        remove_backup(dir, names[i]);
        removed++;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return removed;
}

/* One logfmt line on stderr: event=backup.ok|backup.failed ... */
static void log_line(const char *event, const char *path, const struct backup_info *info,
                     size_t pruned, const char *err)
{
    struct cg_buf b;
    char when[32];

    memset(&b, 0, sizeof b);
    cg_time_format(cg_now_ms(), when);
    cg_buf_printf(&b, "time=%s level=%s event=%s path=", when, err ? "error" : "info", event);
    hooks_logfmt_value(&b, path);
    if (info)
        cg_buf_printf(&b,
                      " bytes=%" PRId64 " audit_records=%" PRId64 " configs=%zu took_ms=%" PRId64
                      " pruned=%zu",
                      info->bytes, info->records, info->configs, info->took_ms, pruned);
    if (err) {
        cg_buf_puts(&b, " error=");
        hooks_logfmt_value(&b, err);
    }
    cg_buf_puts(&b, "\n");
    if (b.data)
        fputs(b.data, stderr); /* one write of a whole line */
    cg_buf_free(&b);
}

static void round_once(void *ctx)
{
    struct backup_sched *b = ctx;
    struct backup_info info;
    char name[64], path[PATH_LEN], msg[PATH_LEN + 256];
    int64_t now = cg_now_ms();
    size_t pruned = 0;
    int rc;

    backup_name(now, name);
    if (snprintf(path, sizeof path, "%s/%s", b->dir, name) >= (int)sizeof path) {
        snprintf(msg, sizeof msg, "path too long");
        rc = -1;
    } else {
        rc = backup_write(b->data_dir, path, &info, msg, sizeof msg);
    }
    if (rc == 0)
        pruned = prune(b->dir, b->cfg.keep);
    pthread_mutex_lock(&b->mu);
    if (rc == 0) {
        b->ok_n++;
        b->last_ok_ms = info.created_ms;
        b->last_took_ms = info.took_ms;
        b->last_bytes = info.bytes;
        b->pruned_n += pruned;
    } else {
        b->failed_n++;
    }
    pthread_mutex_unlock(&b->mu);
    log_line(rc == 0 ? "backup.ok" : "backup.failed", path, rc == 0 ? &info : NULL, pruned,
             rc == 0 ? NULL : msg);
}

struct backup_sched *backup_sched_new(const struct backup_sched_config *cfg, char *msg,
                                      size_t msglen)
{
    struct backup_sched *b;

    if (!cfg->dir || !cfg->data_dir || cfg->every_ms <= 0 || cfg->keep < 1) {
        snprintf(msg, msglen, "scheduled backups: bad settings");
        return NULL;
    }
    if (mkdir(cfg->dir, 0700) != 0 && errno != EEXIST) {
        snprintf(msg, msglen, "--backup-dir %s: %s", cfg->dir, strerror(errno));
        return NULL;
    }
    b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(msg, msglen, "no memory");
        return NULL;
    }
    b->cfg = *cfg;
    b->data_dir = strdup(cfg->data_dir);
    b->dir = strdup(cfg->dir);
    if (!b->data_dir || !b->dir) {
        free(b->data_dir);
        free(b->dir);
        free(b);
        snprintf(msg, msglen, "no memory");
        return NULL;
    }
    pthread_mutex_init(&b->mu, NULL);
    return b;
}

int backup_sched_start(struct backup_sched *b)
{
    if (!b)
        return 0;
    b->thread = periodic_start(b->cfg.first_ms, b->cfg.every_ms, round_once, b);
    return b->thread ? 0 : -1;
}

void backup_sched_stop(struct backup_sched *b)
{
    if (!b)
        return;
    periodic_stop(b->thread);
    b->thread = NULL;
}

void backup_sched_free(struct backup_sched *b)
{
    if (!b)
        return;
    backup_sched_stop(b);
    pthread_mutex_destroy(&b->mu);
    free(b->data_dir);
    free(b->dir);
    free(b);
}

static void render_stats(void *ctx, struct cg_buf *out)
{
    struct backup_sched *b = ctx;
    int64_t last_ok, took, bytes;
    uint64_t ok, failed, pruned;

    pthread_mutex_lock(&b->mu);
    last_ok = b->last_ok_ms;
    took = b->last_took_ms;
    bytes = b->last_bytes;
    ok = b->ok_n;
    failed = b->failed_n;
    pruned = b->pruned_n;
    pthread_mutex_unlock(&b->mu);
    stats_family(out, "cellgate_backup_last_success_timestamp_seconds", "gauge",
                 "When the newest scheduled backup that succeeded was taken, Unix time (0: none "
                 "since the start).");
    cg_buf_printf(out, "cellgate_backup_last_success_timestamp_seconds %.3f\n",
                  (double)last_ok / 1000.0);
    stats_family(out, "cellgate_backup_last_duration_seconds", "gauge",
                 "How long the newest successful scheduled backup took.");
    cg_buf_printf(out, "cellgate_backup_last_duration_seconds %.3f\n", (double)took / 1000.0);
    stats_family(out, "cellgate_backup_last_size_bytes", "gauge",
                 "The store's size in the newest successful scheduled backup.");
    cg_buf_printf(out, "cellgate_backup_last_size_bytes %" PRId64 "\n", bytes);
    stats_family(out, "cellgate_backups_total", "counter",
                 "Scheduled backups by result (ok, failed).");
    cg_buf_printf(out, "cellgate_backups_total{result=\"ok\"} %" PRIu64 "\n", ok);
    cg_buf_printf(out, "cellgate_backups_total{result=\"failed\"} %" PRIu64 "\n", failed);
    stats_family(out, "cellgate_backups_pruned_total", "counter",
                 "Old backups removed to keep --backup-keep.");
    cg_buf_printf(out, "cellgate_backups_pruned_total %" PRIu64 "\n", pruned);
}

int backup_sched_register_stats(struct backup_sched *b, struct stats *st)
{
    if (!b)
        return 0;
    return stats_register(st, "backup", render_stats, b);
}
