/* SPDX-License-Identifier: MIT */
/* replica.c: following the other replicas of a shared store; see
 * replica.h. */
#include "replica.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "notify.h"
#include "relay.h"
#include "reports.h"
#include "stats.h"
#include "util.h"

#define CHANGES_PAGE   1000
#define RELAYS_PAGE    16
#define TRIM_EVERY_MS  60000
#define ERROR_PAUSE_MS 250 /* least pause after a failed wait, before reading anyway */

struct replica {
    struct store *st;
    struct notify *notify;
    struct reports *reports;
    struct replica_config cfg;
    char id[STORE_NAME_MAX];

    pthread_mutex_t mu; /* guards queue, s, stopping */
    pthread_cond_t cv;
    struct cg_buf queue; /* reports to relay (relay.h lines) */
    uint64_t queued;     /* reports in queue */
    struct replica_status s;
    int stopping, running;
    pthread_t thread;

    /* the thread's own (no lock) */
    int64_t last_read_mono; /* when the log was last read without error */
    int64_t next_trim_mono;
};

struct replica *replica_new(struct store *st, struct notify *n, struct reports *r,
                            const struct replica_config *cfg, char *msg)
{
    struct replica *rp;
    int64_t rev = 0, relay_id = 0;

    if (!store_replicated(st)) {
        snprintf(msg, STORE_MSG_MAX, "the store is not shared by replicas");
        return NULL;
    }
    if (!cfg || !cfg->replica_id || !cg_valid_name(cfg->replica_id) || cfg->poll_ms < 0 ||
        cfg->flush_ms < 0) {
        snprintf(msg, STORE_MSG_MAX, "replica: need a replica id (a name) and poll/flush >= 0");
        return NULL;
    }
    if (store_changes_head(st, &rev, &relay_id, msg) != CG_OK)
        return NULL;
    rp = calloc(1, sizeof *rp);
    if (!rp) {
        snprintf(msg, STORE_MSG_MAX, "out of memory");
        return NULL;
    }
    rp->st = st;
    rp->notify = n;
    rp->reports = r;
    rp->cfg = *cfg;
    if (rp->cfg.poll_ms == 0)
        rp->cfg.poll_ms = 1000;
    if (rp->cfg.flush_ms == 0)
        rp->cfg.flush_ms = 1000;
    cg_strlcpy(rp->id, cfg->replica_id, sizeof rp->id);
    rp->cfg.replica_id = rp->id;
    rp->s.rev = rev;
    rp->s.relay_id = relay_id;
    rp->last_read_mono = cg_mono_ms();
    rp->next_trim_mono = cg_mono_ms() + (int64_t)cg_rand_below(TRIM_EVERY_MS);
    pthread_mutex_init(&rp->mu, NULL);
    pthread_cond_init(&rp->cv, NULL);
    return rp;
}

void replica_relay(struct replica *rp, const char *cell, int64_t now_ms, const json_t *report)
{
    int rc;

    if (!rp || !report)
        return;
    pthread_mutex_lock(&rp->mu);
    rc = relay_encode(&rp->queue, REPLICA_RELAY_BUF_MAX, cell, now_ms, report);
    if (rc == 1)
        rp->queued++;
    else
        rp->s.relay_dropped++;
    pthread_mutex_unlock(&rp->mu);
}

/* Writes the queued reports as one batch. */
static void flush(struct replica *rp)
{
    char msg[STORE_MSG_MAX];
    struct cg_buf b;
    uint64_t n;
    int rc;

    pthread_mutex_lock(&rp->mu);
    b = rp->queue;
    n = rp->queued;
    memset(&rp->queue, 0, sizeof rp->queue);
    rp->queued = 0;
    pthread_mutex_unlock(&rp->mu);
    if (n == 0) {
        cg_buf_free(&b);
        return;
    }
    rc = store_relay_put(rp->st, rp->id, cg_now_ms(), b.data, b.len, msg);
    pthread_mutex_lock(&rp->mu);
    if (rc == CG_OK) {
        rp->s.relayed_out += n;
        rp->s.relay_bytes_out += b.len;
        rp->s.relay_batches++;
    } else {
        /* reports are observations: a batch the store refused is counted,
         * not kept (the agents report again within their interval) */
        rp->s.relay_dropped += n;
        rp->s.errors++;
    }
    pthread_mutex_unlock(&rp->mu);
    if (rc != CG_OK)
        fprintf(stderr, "cellgated: replica: relaying %" PRIu64 " reports: %s\n", n, msg);
    cg_buf_free(&b);
}

/* Announces a run of changes: consecutive assignments of one config go
 * out as one event with all their cells. */
static void announce(struct replica *rp, const struct store_change *ch, size_t n)
{
    const char *cells[64];
    size_t i = 0;

    while (i < n) {
        const struct store_change *c = &ch[i];
        if (strcmp(c->kind, "assign") == 0) {
            size_t k = 0;
            while (i < n && k < sizeof cells / sizeof cells[0] &&
                   strcmp(ch[i].kind, "assign") == 0 && strcmp(ch[i].config, c->config) == 0)
                cells[k++] = ch[i++].cell;
            notify_change(rp->notify, NOTIFY_ASSIGN, c->config, cells, k);
            continue;
        }
        cells[0] = c->cell;
        if (strcmp(c->kind, "cell.add") == 0 || strcmp(c->kind, "cell.update") == 0 ||
            strcmp(c->kind, "cell.remove") == 0)
            notify_change(rp->notify, NOTIFY_CELLS, NULL, cells, 1);
        else if (strcmp(c->kind, "token.revoke") == 0 || strcmp(c->kind, "token.rotate") == 0)
            notify_change(rp->notify, NOTIFY_TOKENS, NULL, cells, c->cell[0] ? 1 : 0);
        else if (strcmp(c->kind, "version.publish") == 0 ||
                 strcmp(c->kind, "config.set_plan") == 0 ||
                 strcmp(c->kind, "config.contract") == 0 ||
                 strcmp(c->kind, "config.set_scope") == 0 ||
                 strcmp(c->kind, "config.generation_raise") == 0)
            notify_change(rp->notify, NOTIFY_CONFIG, c->config, NULL, 0);
        else if (strcmp(c->kind, "host.release") == 0 && rp->reports)
            /* an admin released the host's identity on another replica:
             * the claim this one cached must be checked with the store
             * again (the host's next credential claims it anew) */
            reports_claim_set(rp->reports, c->cell, "");
        else /* a kind a newer replica writes: re-read everything */
            notify_change(rp->notify, NOTIFY_RESYNC, NULL, NULL, 0);
        i++;
    }
}

/* Reads and announces the changes after the last revision. 0, or -1 on a
 * store error. */
static int read_changes(struct replica *rp)
{
    char msg[STORE_MSG_MAX];
    int64_t rev;

    pthread_mutex_lock(&rp->mu);
    rev = rp->s.rev;
    pthread_mutex_unlock(&rp->mu);
    for (;;) {
        struct store_change *ch = NULL;
        size_t n = 0;
        if (store_changes_after(rp->st, rev, CHANGES_PAGE, &ch, &n, msg) != CG_OK) {
            fprintf(stderr, "cellgated: replica: reading the change log: %s\n", msg);
            return -1;
        }
        if (n > 0) {
            announce(rp, ch, n);
            rev = ch[n - 1].rev;
            pthread_mutex_lock(&rp->mu);
            rp->s.rev = rev;
            rp->s.changes += n;
            rp->s.last_change_lag_s = (double)(cg_now_ms() - ch[n - 1].at_ms) / 1000.0;
            pthread_mutex_unlock(&rp->mu);
        }
        free(ch);
        if (n < CHANGES_PAGE)
            return 0;
    }
}

struct ingest_ctx {
    struct replica *rp;
    uint64_t in, refused;
};

static void ingest_line(void *ctx, const char *cell, int64_t at_ms, json_t *report)
{
    struct ingest_ctx *ic = ctx;
    struct reports_change ch[REPORTS_MAX_CONFIGS];
    char msg[256];
    size_t n = 0;

    /* The relaying replica persisted the host's applied / last-known-good
     * versions (I3); this one only learns what it saw. */
    if (reports_ingest(ic->rp->reports, report, cell, at_ms, ch, &n, msg) < 0)
        ic->refused++;
    else
        ic->in++;
    json_decref(report);
}

/* Reads and ingests the other replicas' relay batches. 0 or -1. */
static int read_relays(struct replica *rp)
{
    char msg[STORE_MSG_MAX];
    int64_t after;

    pthread_mutex_lock(&rp->mu);
    after = rp->s.relay_id;
    pthread_mutex_unlock(&rp->mu);
    for (;;) {
        struct store_relay *rl = NULL;
        size_t n = 0, i;
        struct ingest_ctx ic = {rp, 0, 0};
        if (store_relay_after(rp->st, after, rp->id, RELAYS_PAGE, &rl, &n, msg) != CG_OK) {
            fprintf(stderr, "cellgated: replica: reading the report relay: %s\n", msg);
            return -1;
        }
        for (i = 0; i < n; i++) {
            ic.refused += relay_decode(rl[i].body, rl[i].len, ingest_line, &ic);
            after = rl[i].id;
        }
        pthread_mutex_lock(&rp->mu);
        rp->s.relay_id = after;
        rp->s.relayed_in += ic.in;
        rp->s.relay_refused += ic.refused;
        if (n > 0)
            rp->s.last_relay_lag_s = (double)(cg_now_ms() - rl[n - 1].at_ms) / 1000.0;
        pthread_mutex_unlock(&rp->mu);
        store_relays_free(rl, n);
        if (n < RELAYS_PAGE)
            return 0;
    }
}

/* Sleeps ms unless stopping (replica_stop() wakes it): 0. */
static int sleep_for(struct replica *rp, int64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&rp->mu);
    if (!rp->stopping)
        pthread_cond_timedwait(&rp->cv, &rp->mu, &ts);
    pthread_mutex_unlock(&rp->mu);
    return 0;
}

void replica_round(struct replica *rp, int64_t wait_ms, int do_flush)
{
    char msg[STORE_MSG_MAX];
    int woke, failed = 0;
    int64_t now;

    if (do_flush)
        flush(rp);
    woke = rp->cfg.poll_only ? sleep_for(rp, wait_ms) : store_changes_wait(rp->st, wait_ms, msg);
    pthread_mutex_lock(&rp->mu);
    rp->s.listening = woke >= 0 && !rp->cfg.poll_only;
    if (woke > 0)
        rp->s.wakeups++;
    if (woke < 0)
        rp->s.errors++;
    pthread_mutex_unlock(&rp->mu);
    if (woke < 0) /* the notices are lost until the session is back: poll */
        sleep_for(rp, wait_ms > ERROR_PAUSE_MS ? wait_ms : ERROR_PAUSE_MS);
    now = cg_mono_ms();
    if (now - rp->last_read_mono > REPLICA_CHANGES_KEEP_MS / 2) {
        /* the log may have been trimmed past what this replica saw */
        int64_t rev = 0, relay_id = 0;
        if (store_changes_head(rp->st, &rev, &relay_id, msg) == CG_OK) {
            pthread_mutex_lock(&rp->mu);
            rp->s.rev = rev;
            rp->s.relay_id = relay_id;
            rp->s.resyncs++;
            pthread_mutex_unlock(&rp->mu);
            notify_change(rp->notify, NOTIFY_RESYNC, NULL, NULL, 0);
            rp->last_read_mono = now;
        }
    }
    if (read_changes(rp) < 0)
        failed = 1;
    else
        rp->last_read_mono = now;
    if (rp->reports && read_relays(rp) < 0)
        failed = 1;
    pthread_mutex_lock(&rp->mu);
    rp->s.polls++;
    rp->s.errors += (uint64_t)failed;
    pthread_mutex_unlock(&rp->mu);
    if (now >= rp->next_trim_mono) {
        rp->next_trim_mono = now + TRIM_EVERY_MS;
        if (store_changes_trim(rp->st, cg_now_ms() - REPLICA_CHANGES_KEEP_MS,
                               cg_now_ms() - REPLICA_RELAYS_KEEP_MS, msg) != CG_OK)
            fprintf(stderr, "cellgated: replica: trimming the change log: %s\n", msg);
    }
}

static void *run(void *arg)
{
    struct replica *rp = arg;
    int64_t next_flush = cg_mono_ms() + rp->cfg.flush_ms;

    for (;;) {
        int64_t now = cg_mono_ms(), wait;
        int stop, do_flush = now >= next_flush;

        pthread_mutex_lock(&rp->mu);
        stop = rp->stopping;
        pthread_mutex_unlock(&rp->mu);
        if (stop)
            break;
        if (do_flush)
            next_flush = now + rp->cfg.flush_ms;
        wait = next_flush - cg_mono_ms();
        if (wait > rp->cfg.poll_ms)
            wait = rp->cfg.poll_ms;
        replica_round(rp, wait < 0 ? 0 : wait, do_flush);
    }
    flush(rp);
    return NULL;
}

int replica_start(struct replica *rp)
{
    if (!rp || rp->running)
        return 0;
    if (pthread_create(&rp->thread, NULL, run, rp) != 0)
        return -1;
    rp->running = 1;
    return 0;
}

void replica_stop(struct replica *rp)
{
    if (!rp || !rp->running)
        return;
    pthread_mutex_lock(&rp->mu);
    rp->stopping = 1;
    pthread_cond_broadcast(&rp->cv);
    pthread_mutex_unlock(&rp->mu);
    pthread_join(rp->thread, NULL);
    rp->running = 0;
}

void replica_free(struct replica *rp)
{
    if (!rp)
        return;
    replica_stop(rp);
    cg_buf_free(&rp->queue);
    pthread_mutex_destroy(&rp->mu);
    pthread_cond_destroy(&rp->cv);
    free(rp);
}

void replica_status(struct replica *rp, struct replica_status *out)
{
    pthread_mutex_lock(&rp->mu);
    *out = rp->s;
    pthread_mutex_unlock(&rp->mu);
}

static void render_stats(void *ctx, struct cg_buf *b)
{
    struct replica_status s;

    replica_status(ctx, &s);
    stats_family(b, "cellgate_replica_listening", "gauge",
                 "1 while this replica's notification session to the store is up.");
    cg_buf_printf(b, "cellgate_replica_listening %d\n", s.listening);
    stats_family(b, "cellgate_replica_change_revision", "gauge",
                 "The last change-log revision this replica read.");
    cg_buf_printf(b, "cellgate_replica_change_revision %" PRId64 "\n", s.rev);
    stats_family(b, "cellgate_replica_changes_total", "counter",
                 "Changes committed through any replica, read from the log and announced here.");
    cg_buf_printf(b, "cellgate_replica_changes_total %" PRIu64 "\n", s.changes);
    stats_family(b, "cellgate_replica_wakeups_total", "counter",
                 "Notifications received (each followed by a read of the log).");
    cg_buf_printf(b, "cellgate_replica_wakeups_total %" PRIu64 "\n", s.wakeups);
    stats_family(b, "cellgate_replica_polls_total", "counter",
                 "Reads of the change log and the relay (after a notice or a timeout).");
    cg_buf_printf(b, "cellgate_replica_polls_total %" PRIu64 "\n", s.polls);
    stats_family(b, "cellgate_replica_errors_total", "counter",
                 "Failed store calls of the follower (listen, read, flush).");
    cg_buf_printf(b, "cellgate_replica_errors_total %" PRIu64 "\n", s.errors);
    stats_family(b, "cellgate_replica_resyncs_total", "counter",
                 "Times this replica lost track of the log and re-read everything.");
    cg_buf_printf(b, "cellgate_replica_resyncs_total %" PRIu64 "\n", s.resyncs);
    stats_family(b, "cellgate_replica_propagation_lag_seconds", "gauge",
                 "For the last change read: its arrival here minus its commit (two clocks).");
    cg_buf_printf(b, "cellgate_replica_propagation_lag_seconds %.3f\n", s.last_change_lag_s);
    stats_family(b, "cellgate_replica_relay_lag_seconds", "gauge",
                 "For the last relay batch read: its arrival here minus its flush.");
    cg_buf_printf(b, "cellgate_replica_relay_lag_seconds %.3f\n", s.last_relay_lag_s);
    stats_family(b, "cellgate_replica_relayed_reports_total", "counter",
                 "Agent reports relayed, by direction (out: received here; in: from others).");
    cg_buf_printf(b, "cellgate_replica_relayed_reports_total{direction=\"out\"} %" PRIu64 "\n",
                  s.relayed_out);
    cg_buf_printf(b, "cellgate_replica_relayed_reports_total{direction=\"in\"} %" PRIu64 "\n",
                  s.relayed_in);
    stats_family(b, "cellgate_replica_relay_bytes_total", "counter",
                 "Bytes of relay batches this replica wrote.");
    cg_buf_printf(b, "cellgate_replica_relay_bytes_total %" PRIu64 "\n", s.relay_bytes_out);
    stats_family(b, "cellgate_replica_relay_batches_total", "counter",
                 "Relay batches this replica wrote.");
    cg_buf_printf(b, "cellgate_replica_relay_batches_total %" PRIu64 "\n", s.relay_batches);
    stats_family(b, "cellgate_replica_relay_refused_total", "counter",
                 "Relayed reports this replica could not ingest (malformed or refused).");
    cg_buf_printf(b, "cellgate_replica_relay_refused_total %" PRIu64 "\n", s.relay_refused);
    stats_family(b, "cellgate_replica_relay_dropped_total", "counter",
                 "Reports received here but not relayed (queue full or the store failed).");
    cg_buf_printf(b, "cellgate_replica_relay_dropped_total %" PRIu64 "\n", s.relay_dropped);
}

int replica_register_stats(struct replica *rp, struct stats *st)
{
    return stats_register(st, "replica", render_stats, rp);
}
