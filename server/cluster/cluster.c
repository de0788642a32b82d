/* SPDX-License-Identifier: MIT */
/*
 * cluster.c: the replica's lease thread: renews "replica/ID" and the
 * controller's leader lease, hands the term and its deadline to the
 * controller, and keeps what it learnt for /metrics and GET /v1/cluster.
 * See cluster.h for the protocol.
 */
#include "cluster.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "controller.h"
#include "stats.h"
#include "util.h"

#define ERROR_LOG_EVERY_MS 10000 /* at most one "cannot renew" line per this */

struct cluster {
    struct store *st;
    struct controller *ctl; /* NULL: no controller here (--no-controller) */
    struct cluster_config cfg;
    char replica_lease[STORE_NAME_MAX];
    pthread_t thread;
    int running, stopping;
    pthread_mutex_t mu; /* guards everything below and 'stopping' */
    pthread_cond_t cv;
    struct cluster_status s;
    int64_t until_mono;   /* while leader: act until here (cg_mono_ms) */
    int64_t last_ok_mono; /* the last answer from the store; 0 none */
    int64_t last_err_log; /* cg_mono_ms of the last error line */
};

struct cluster *cluster_new(struct store *st, struct controller *ctl,
                            const struct cluster_config *cfg, char *msg)
{
    struct cluster *cl;
    size_t idlen = cfg && cfg->replica_id ? strlen(cfg->replica_id) : 0;

    if (!st || !cfg || idlen == 0 || idlen + strlen(CLUSTER_REPLICA_PREFIX) >= STORE_NAME_MAX) {
        snprintf(msg, STORE_MSG_MAX, "replica id must be 1..%zu bytes",
                 STORE_NAME_MAX - 1 - strlen(CLUSTER_REPLICA_PREFIX));
        return NULL;
    }
    if (cfg->ttl_ms < 300 || cfg->ttl_ms > 3600000 || cfg->renew_ms < 0 || cfg->margin_ms < 0) {
        snprintf(msg, STORE_MSG_MAX, "lease ttl must be 300..3600000 ms");
        return NULL;
    }
    cl = calloc(1, sizeof *cl);
    if (!cl) {
        snprintf(msg, STORE_MSG_MAX, "out of memory");
        return NULL;
    }
    cl->st = st;
    cl->ctl = ctl;
    cl->cfg = *cfg;
    if (cl->cfg.renew_ms <= 0)
        cl->cfg.renew_ms = cfg->ttl_ms / 3;
    if (cl->cfg.margin_ms <= 0)
        cl->cfg.margin_ms = cfg->ttl_ms / 6;
    if (cl->cfg.renew_ms + cl->cfg.margin_ms >= cfg->ttl_ms) {
        snprintf(msg, STORE_MSG_MAX,
                 "lease renewal (%" PRId64 " ms) plus margin (%" PRId64
                 " ms) must be shorter than the ttl (%" PRId64 " ms)",
                 cl->cfg.renew_ms, cl->cfg.margin_ms, cfg->ttl_ms);
        free(cl);
        return NULL;
    }
    snprintf(cl->replica_lease, sizeof cl->replica_lease, "%s%s", CLUSTER_REPLICA_PREFIX,
             cfg->replica_id);
    cg_strlcpy(cl->s.replica_id, cfg->replica_id, sizeof cl->s.replica_id);
    cl->cfg.replica_id = cl->s.replica_id;
    cl->s.last_ok_age_ms = -1;
    pthread_mutex_init(&cl->mu, NULL);
    pthread_cond_init(&cl->cv, NULL);
    return cl;
}

/* Logs a failed lease call, at most every ERROR_LOG_EVERY_MS (cl->mu held). */
static void log_error(struct cluster *cl, const char *what, const char *msg, int64_t now)
{
    cl->s.errors++;
    if (cl->last_err_log && now - cl->last_err_log < ERROR_LOG_EVERY_MS)
        return;
    cl->last_err_log = now;
    fprintf(stderr, "cellgated: cluster: cannot renew %s: %s\n", what, msg);
}

void cluster_round(struct cluster *cl)
{
    char msg[STORE_MSG_MAX] = "";
    struct store_lease l;
    int64_t sent = cg_mono_ms(), term = -1, until = 0;
    int rc = store_lease_acquire(cl->st, cl->replica_lease, cl->cfg.replica_id, cl->cfg.ttl_ms,
                                 NULL, msg);

    if (rc != CG_OK) {
        pthread_mutex_lock(&cl->mu);
        log_error(cl, cl->replica_lease, msg, sent);
        pthread_mutex_unlock(&cl->mu);
    }
    if (!cl->ctl)
        return;
    memset(&l, 0, sizeof l);
    sent = cg_mono_ms();
    rc = store_lease_acquire(cl->st, STORE_LEASE_CONTROLLER, cl->cfg.replica_id, cl->cfg.ttl_ms, &l,
                             msg);
    pthread_mutex_lock(&cl->mu);
    if (rc == CG_OK || rc == CG_ERR_CONFLICT) {
        int lead = rc == CG_OK;
        if (lead && (!cl->s.is_leader || cl->s.term != l.term)) {
            cl->s.acquisitions++;
            fprintf(stderr,
                    "cellgated: cluster: %s leads the controller, term %" PRId64
                    " (the lease had term %" PRId64 ")\n",
                    cl->cfg.replica_id, l.term, cl->s.leader_term);
        } else if (!lead && cl->s.is_leader) {
            cl->s.losses++;
            fprintf(stderr,
                    "cellgated: cluster: %s lost the controller lease (term %" PRId64
                    ") to %s, term %" PRId64 "\n",
                    cl->cfg.replica_id, cl->s.term, l.holder, l.term);
        }
        cl->s.is_leader = lead;
        cl->s.term = lead ? l.term : 0;
        cg_strlcpy(cl->s.leader, l.holder, sizeof cl->s.leader);
        cl->s.leader_term = l.term;
        cl->s.leader_acquired_ms = l.acquired_ms;
        cl->s.lease_remaining_ms = l.expires_ms - l.now_ms;
        cl->last_ok_mono = cg_mono_ms();
        cl->until_mono = lead ? sent + cl->cfg.ttl_ms - cl->cfg.margin_ms : 0;
        term = cl->s.term;
        until = cl->until_mono;
    } else {
        int64_t now = cg_mono_ms();
        log_error(cl, "the controller lease", msg, now);
        if (cl->s.is_leader && now >= cl->until_mono) {
            /* The controller stopped acting at until_mono on its own; say so. */
            cl->s.losses++;
            cl->s.is_leader = 0;
            cl->s.term = 0;
            term = 0;
            fprintf(stderr,
                    "cellgated: cluster: %s could not renew the controller lease before its "
                    "deadline: no longer acting as leader\n",
                    cl->cfg.replica_id);
        }
    }
    pthread_mutex_unlock(&cl->mu);
    if (term >= 0)
        controller_set_lease(cl->ctl, term, until);
}

static void *run(void *arg)
{
    struct cluster *cl = arg;

    for (;;) {
        struct timespec ts;
        int stop;

        pthread_mutex_lock(&cl->mu);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += cl->cfg.renew_ms / 1000;
        ts.tv_nsec += (cl->cfg.renew_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!cl->stopping)
            pthread_cond_timedwait(&cl->cv, &cl->mu, &ts);
        stop = cl->stopping;
        pthread_mutex_unlock(&cl->mu);
        if (stop)
            return NULL;
        cluster_round(cl);
    }
}

int cluster_start(struct cluster *cl)
{
    if (cl->ctl)
        controller_set_lease(cl->ctl, 0, 0); /* no acting before the first answer */
    cluster_round(cl);
    if (pthread_create(&cl->thread, NULL, run, cl) != 0)
        return -1;
    cl->running = 1;
    return 0;
}

void cluster_stop(struct cluster *cl)
{
    int64_t term;
    char msg[STORE_MSG_MAX];

    if (!cl || !cl->running)
        return;
    pthread_mutex_lock(&cl->mu);
    cl->stopping = 1;
    pthread_cond_broadcast(&cl->cv);
    pthread_mutex_unlock(&cl->mu);
    pthread_join(cl->thread, NULL);
    cl->running = 0;
    pthread_mutex_lock(&cl->mu);
    term = cl->s.is_leader ? cl->s.term : 0;
    cl->s.is_leader = 0;
    cl->s.term = 0;
    pthread_mutex_unlock(&cl->mu);
    if (cl->ctl)
        controller_set_lease(cl->ctl, 0, 0);
    if (term > 0 &&
        store_lease_release(cl->st, STORE_LEASE_CONTROLLER, cl->cfg.replica_id, term, msg) != CG_OK)
        fprintf(stderr, "cellgated: cluster: cannot release the controller lease: %s\n", msg);
    /* The replica lease expires by itself: a replica that restarts at once
     * keeps its place in the list. */
}

void cluster_free(struct cluster *cl)
{
    if (!cl)
        return;
    pthread_mutex_destroy(&cl->mu);
    pthread_cond_destroy(&cl->cv);
    free(cl);
}

void cluster_status(struct cluster *cl, struct cluster_status *out)
{
    pthread_mutex_lock(&cl->mu);
    *out = cl->s;
    out->last_ok_age_ms = cl->last_ok_mono ? cg_mono_ms() - cl->last_ok_mono : -1;
    pthread_mutex_unlock(&cl->mu);
}

int cluster_replicas(struct cluster *cl, char (**ids)[STORE_NAME_MAX], size_t *n, char *msg)
{
    struct store_lease *ls = NULL;
    size_t nl = 0, k = 0;
    size_t plen = strlen(CLUSTER_REPLICA_PREFIX);
    int rc = store_lease_list(cl->st, CLUSTER_REPLICA_PREFIX, &ls, &nl, msg);

    *ids = NULL;
    *n = 0;
    if (rc != CG_OK)
        return rc;
    if (nl > 0) {
        *ids = calloc(nl, sizeof **ids);
        if (!*ids) {
            free(ls);
            snprintf(msg, STORE_MSG_MAX, "out of memory");
            return CG_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < nl; i++)
        if (ls[i].expires_ms > ls[i].now_ms)
            cg_strlcpy((*ids)[k++], ls[i].name + plen, STORE_NAME_MAX);
    *n = k;
    free(ls);
    return CG_OK;
}

static void render_stats(void *ctx, struct cg_buf *b)
{
    struct cluster_status s;

    cluster_status(ctx, &s);
    stats_family(b, "cellgate_cluster_is_leader", "gauge",
                 "1 while this replica holds the controller lease and acts on it.");
    cg_buf_printf(b, "cellgate_cluster_is_leader %d\n", s.is_leader);
    stats_family(b, "cellgate_cluster_term", "gauge",
                 "The controller lease's term as this replica last saw it.");
    cg_buf_printf(b, "cellgate_cluster_term %" PRId64 "\n", s.leader_term);
    stats_family(b, "cellgate_cluster_lease_age_seconds", "gauge",
                 "Seconds since the store last answered this replica's lease call "
                 "(-1 before the first answer).");
    cg_buf_printf(b, "cellgate_cluster_lease_age_seconds %.3f\n",
                  s.last_ok_age_ms < 0 ? -1.0 : (double)s.last_ok_age_ms / 1000.0);
    stats_family(b, "cellgate_cluster_lease_remaining_seconds", "gauge",
                 "Time the controller lease had left at the last answer (store clock).");
    cg_buf_printf(b, "cellgate_cluster_lease_remaining_seconds %.3f\n",
                  (double)s.lease_remaining_ms / 1000.0);
    stats_family(b, "cellgate_cluster_lease_acquisitions_total", "counter",
                 "Terms this replica began as the controller's leader.");
    cg_buf_printf(b, "cellgate_cluster_lease_acquisitions_total %" PRIu64 "\n", s.acquisitions);
    stats_family(b, "cellgate_cluster_lease_losses_total", "counter",
                 "Terms of this replica that ended while it acted (lost or not renewed).");
    cg_buf_printf(b, "cellgate_cluster_lease_losses_total %" PRIu64 "\n", s.losses);
    stats_family(b, "cellgate_cluster_lease_errors_total", "counter",
                 "Lease calls that failed (the store unreachable or erring).");
    cg_buf_printf(b, "cellgate_cluster_lease_errors_total %" PRIu64 "\n", s.errors);
}

int cluster_register_stats(struct cluster *cl, struct stats *st)
{
    return stats_register(st, "cluster", render_stats, cl);
}
