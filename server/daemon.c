/* SPDX-License-Identifier: MIT */
/* daemon.c: struct daemon lifecycle and wiring; see daemon.h. */
#include "daemon.h"
#include "contract_cache.h"

#include <errno.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup_sched.h"
#include "history_saver.h"
#include "buf.h"
#include "config.h"
#include "drills.h"
#include "checkpointer.h"
#include "delivery_metrics.h"
#include "hooks.h"
#include "cluster.h"
#include "controller.h"
#include "desired.h"
#include "flags.h"
#include "http.h"
#include "notify.h"
#include "reports.h"
#include "web.h"
#include "replica.h"
#include "roles.h"
#include "sign.h"
#include "stats.h"
#include "store.h"
#include "util.h"

/* The store's DSN and the key's path: DIR/cellgate.db (or --store) and
 * DIR/signing.key. */
static int paths(const struct daemon_config *cfg, char *db, char *key, char *msg)
{
    if ((cfg->store_dsn ? snprintf(db, 4096, "%s", cfg->store_dsn)
                        : snprintf(db, 4096, "%s/cellgate.db", cfg->data_dir)) >= 4096 ||
        snprintf(key, 4096, "%s/signing.key", cfg->data_dir) >= 4096) {
        snprintf(msg, 256, "data directory path or DSN too long");
        return -1;
    }
    return 0;
}

/* 1 when the store holds at least one token (it has been initialised), 0
 * when none, -1 on error with msg. */
static int store_initialised(struct store *st, char *msg)
{
    char smsg[STORE_MSG_MAX];
    struct store_token *t = NULL;
    size_t n = 0;
    int more = 0;

    if (store_token_page(st, 0, 1, &t, &n, &more, smsg) != CG_OK) {
        snprintf(msg, 256, "store: %s", smsg);
        return -1;
    }
    store_tokens_free(t, n);
    return n > 0;
}

/* The first admin token, written to the store; the secret into tok. */
static int create_admin(struct store *st, char *tok, char *msg)
{
    char smsg[STORE_MSG_MAX];
    struct store_token t;
    struct store_actor who = {"system", "initialise data directory"};

    memset(&t, 0, sizeof t);
    auth_token_new(tok, t.hash);
    cg_strlcpy(t.name, "admin", sizeof t.name);
    cg_strlcpy(t.role, "admin", sizeof t.role);
    cg_strlcpy(t.created_by, "system", sizeof t.created_by);
    if (store_token_create(st, &t, &who, smsg) != CG_OK) {
        snprintf(msg, 256, "admin token: %s", smsg);
        return -1;
    }
    return 0;
}

/*
 * init --store DSN: the database is shared by every replica, the key file
 * is each replica's copy of the one cluster key. Initialised means the
 * store has a token; then the key must be there too.
 */
static int init_shared(const struct daemon_config *cfg, const char *key, char *tok, char *msg)
{
    char smsg[STORE_MSG_MAX], red[512];
    struct store *st = NULL;
    int have_key = access(key, F_OK) == 0, init, rc = -1, made_key = 0;

    store_dsn_redact(cfg->store_dsn, red, sizeof red);
    if (store_open(cfg->store_dsn, &st, smsg) != CG_OK) {
        snprintf(msg, 256, "store %s: %s", red, smsg);
        return -1;
    }
    init = store_initialised(st, msg);
    if (init < 0)
        goto out;
    if (init) {
        if (!have_key) {
            snprintf(msg, 256,
                     "%s is initialised but %s is missing: copy the cluster's signing key there "
                     "(every replica signs with the same key)",
                     red, key);
            goto out;
        }
        rc = 1;
        goto out;
    }
    if (!have_key) {
        if (cg_signkey_create(key, smsg, sizeof smsg) != CG_OK) {
            snprintf(msg, 256, "signing key: %s", smsg);
            goto out;
        }
        made_key = 1;
    }
    if (create_admin(st, tok, msg) < 0) {
        if (made_key)
            unlink(key);
        goto out;
    }
    rc = 0;
out:
    store_close(st);
    return rc;
}

int daemon_init(const struct daemon_config *cfg, char *admin_token, char *msg)
{
    char db[4096], key[4096], smsg[STORE_MSG_MAX], tok[AUTH_TOKEN_LEN + 1];
    struct store *st = NULL;
    int rc;

    if (paths(cfg, db, key, msg) < 0)
        return -1;
    if (!cfg->store_dsn && access(key, F_OK) == 0 && access(db, F_OK) == 0)
        return 1;
    if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) {
        snprintf(msg, 256, "cannot create %s: %s", cfg->data_dir, strerror(errno));
        return -1;
    }
    if (cfg->store_dsn) {
        rc = init_shared(cfg, key, tok, msg);
        if (rc == 0 && admin_token)
            memcpy(admin_token, tok, sizeof tok);
        sodium_memzero(tok, sizeof tok);
        return rc;
    }
    if (access(db, F_OK) == 0) {
        snprintf(msg, 256, "%s exists but %s is missing: refusing to initialise over it", db, key);
        return -1;
    }
    if (cg_signkey_create(key, smsg, sizeof smsg) != CG_OK) {
        snprintf(msg, 256, "signing key: %s", smsg);
        return -1;
    }
    rc = store_open(db, &st, smsg);
    if (rc != CG_OK) {
        snprintf(msg, 256, "store: %s", smsg);
        unlink(key);
        return -1;
    }
    rc = create_admin(st, tok, msg);
    store_close(st);
    if (rc < 0) {
        unlink(db);
        unlink(key);
        return -1;
    }
    if (admin_token)
        memcpy(admin_token, tok, sizeof tok);
    sodium_memzero(tok, sizeof tok);
    return 0;
}

/* /metrics: cellgate_build_info{version,sqlite,store} 1, the family
 * dashboards join on (which build runs where, and on which store). */
/* DIR/health-history: the hosts' health histories across a restart
 * (reports_history_save(), docs/correlation.md "Health history"). */
static int history_path(const struct daemon *d, char *path, size_t size)
{
    return d->cfg.data_dir &&
           snprintf(path, size, "%s/%s", d->cfg.data_dir, HISTORY_FILE) < (int)size;
}

static void history_load(struct daemon *d)
{
    char path[4096], msg[256] = "";
    size_t n = 0;
    int rc;

    if (!history_path(d, path, sizeof path))
        return;
    rc = reports_history_load(d->reports, path, cg_now_ms(), &n, msg);
    if (rc == 0)
        fprintf(stderr, "cellgated: health history: %zu hosts read back from %s\n", n, path);
    else if (rc < 0)
        fprintf(stderr, "cellgated: health history: %s ignored: %s\n", path, msg);
}

/* The saver of the histories (history_saver.h): at a clean stop, and
 * every --history-save-every seconds. NULL without a data directory. */
static int history_saver_open(struct daemon *d, char *msg)
{
    char path[4096];

    if (!history_path(d, path, sizeof path))
        return 0;
    d->history = history_saver_new(d->reports, path, (int64_t)d->cfg.history_save_every_s * 1000);
    if (!d->history) {
        snprintf(msg, 256, "out of memory");
        return -1;
    }
    return 0;
}

static void render_build_info(void *ctx, struct cg_buf *b)
{
    const struct daemon *d = ctx;

    stats_family(b, "cellgate_build_info", "gauge",
                 "Always 1; the labels say which cellgated build runs: its version, the "
                 "SQLite library it runs with, and its store (sqlite or postgres).");
    cg_buf_printf(b, "cellgate_build_info{version=\"%s\",sqlite=\"%s\",store=\"%s\"} 1\n",
                  CELLGATED_VERSION, sqlite3_libversion(),
                  d->cfg.store_dsn ? "postgres" : "sqlite");
}

int daemon_open(struct daemon *d, const struct daemon_config *cfg, char *msg)
{
    char smsg[STORE_MSG_MAX];

    memset(d, 0, sizeof *d);
    d->cfg = *cfg;
    if (paths(cfg, d->db_path, d->key_path, msg) < 0)
        return -1;
    if (!cfg->store_dsn && access(d->db_path, F_OK) != 0) {
        snprintf(msg, 256, "%s is not initialised (run: cellgated init --data %s)", cfg->data_dir,
                 cfg->data_dir);
        return -1;
    }
    if (cg_signkey_load(d->key_path, &d->key, smsg, sizeof smsg) != CG_OK) {
        snprintf(msg, 256, "signing key: %s%s", smsg,
                 cfg->store_dsn ? " (with --store, copy the cluster's signing key into the data "
                                  "directory)"
                                : "");
        return -1;
    }
    if (store_open(d->db_path, &d->store, smsg) != CG_OK) {
        char red[512];
        snprintf(msg, 256, "store %s: %s", store_dsn_redact(d->db_path, red, sizeof red), smsg);
        daemon_close(d);
        return -1;
    }
    {
        /* every replica of a store signs with the same key: the first to
         * open the store records its public half, the others must match */
        struct cg_pubkey pk;
        char hex[CG_PUBKEY_HEX_LEN + 1], have[CG_PUBKEY_HEX_LEN + 64];
        cg_signkey_public(d->key, &pk);
        cg_pubkey_to_hex(&pk, hex);
        if (store_meta_put_once(d->store, "signing_pubkey", hex, have, sizeof have, smsg) !=
            CG_OK) {
            snprintf(msg, 256, "store: %s", smsg);
            daemon_close(d);
            return -1;
        }
        if (strcmp(have, hex) != 0) {
            snprintf(msg, 256,
                     "%s signs with key %.16s..., but the store's replicas sign with %.16s...: "
                     "copy the cluster's signing.key (agents pin it)",
                     d->key_path, hex, have);
            daemon_close(d);
            return -1;
        }
    }
    if (cfg->store_dsn) {
        int init = store_initialised(d->store, msg);
        if (init <= 0) {
            if (init == 0) {
                char red[512];
                snprintf(msg, 256,
                         "the store %s is not initialised (run: cellgated init --store DSN "
                         "--data %s)",
                         store_dsn_redact(d->db_path, red, sizeof red), cfg->data_dir);
            }
            daemon_close(d);
            return -1;
        }
    }
    {
        /* before anything serves: a store whose audit log was cut short or
         * rewritten since the last checkpoint is refused here */
        struct checkpointer_config kc;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", cfg->data_dir, CHECKPOINTER_FILE);
        memset(&kc, 0, sizeof kc);
        kc.path = path;
        kc.period_ms = (int64_t)cfg->audit_checkpoint_s * 1000;
        kc.accept_rewrite = cfg->accept_audit_rewrite;
        d->checkpointer = checkpointer_new(d->store, d->key, &kc, smsg);
        if (!d->checkpointer) {
            snprintf(msg, 256, "audit checkpoints: %s", smsg);
            daemon_close(d);
            return -1;
        }
        if (checkpointer_open(d->checkpointer, msg, 256) < 0) {
            daemon_close(d);
            return -1;
        }
    }
    if (cfg->backup_dir) {
        struct backup_sched_config bc = {
            .data_dir = cfg->data_dir,
            .dir = cfg->backup_dir,
            .every_ms = (int64_t)cfg->backup_every_s * 1000,
            .first_ms = 10000,
            .keep = cfg->backup_keep,
        };
        if (cfg->store_dsn) {
            snprintf(msg, 256,
                     "--backup-dir backs up the SQLite store; with --store use "
                     "pg_dump or PITR (docs/operations.md, \"Backups\")");
            daemon_close(d);
            return -1;
        }
        if (cfg->backup_every_s < 10)
            bc.first_ms = (int64_t)cfg->backup_every_s * 1000; /* rehearsals and tests */
        if (!(d->backups = backup_sched_new(&bc, msg, 256))) {
            daemon_close(d);
            return -1;
        }
    }
    /* The delivery figures of /metrics: every minute, the last 30 days. */
    if (!(d->delivery = delivery_metrics_new(d->store, 60000, 30LL * 86400 * 1000))) {
        snprintf(msg, 256, "out of memory");
        daemon_close(d);
        return -1;
    }
    delivery_metrics_set_exposure_retention(d->delivery,
                                            (int64_t)cfg->exposure_retention_days * 86400 * 1000);
    if (cfg->replica_id) {
        cg_strlcpy(d->replica_id, cfg->replica_id, sizeof d->replica_id);
    } else if (!cfg->store_dsn) {
        cg_strlcpy(d->replica_id, "local", sizeof d->replica_id); /* one process owns SQLite */
    } else {
        char host[STORE_NAME_MAX - 24] = "host";
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = '\0';
        snprintf(d->replica_id, sizeof d->replica_id, "%s-%ld", host, (long)getpid());
    }
    d->notify = notify_new();
    d->stats = stats_new();
    {
        struct reports_config rc = {0, 0, (int64_t)cfg->history_bucket_ms,
                                    (size_t)cfg->history_buckets, (double)cfg->history_slow_ms};
        d->reports = d->notify && d->stats ? reports_new(&rc) : NULL;
    }
    if (!d->reports) {
        snprintf(msg, 256, "out of memory");
        daemon_close(d);
        return -1;
    }
    history_load(d);
    if (history_saver_open(d, msg) < 0) {
        daemon_close(d);
        return -1;
    }
    if (store_replicated(d->store)) {
        /* before the caches load: what is committed after this is followed */
        struct replica_config rc;
        memset(&rc, 0, sizeof rc);
        rc.replica_id = d->replica_id;
        rc.poll_only = cfg->replica_poll_only;
        d->replica = replica_new(d->store, d->notify, d->reports, &rc, smsg);
        if (!d->replica) {
            snprintf(msg, 256, "replica: %s", smsg);
            daemon_close(d);
            return -1;
        }
    }
    {
        struct desired_config dc;
        memset(&dc, 0, sizeof dc);
        dc.statement_ttl_ms = (int64_t)cfg->statement_ttl_s * 1000;
        dc.max_parked = cfg->no_shed ? (size_t)-1 / 2 : cfg->max_parked;
        dc.keep_gone = cfg->no_shed;
        d->desired = desired_start(d->store, d->key, &dc, smsg);
        if (!d->desired) {
            snprintf(msg, 256, "desired state: %s", smsg);
            daemon_close(d);
            return -1;
        }
    }
    if (!(d->flags = flags_new(d->store, 0))) {
        snprintf(msg, 256, "flags: out of memory");
        daemon_close(d);
        return -1;
    }
    {
        struct controller_config cc = {(int64_t)cfg->tick_ms, (int64_t)cfg->host_stale_s * 1000,
                                       (int64_t)cfg->fault_controller_delay_ms};
        d->controller = controller_new(d->store, d->reports, d->notify, NULL, &cc);
    }
    if (d->controller) {
        struct cluster_config kc;
        memset(&kc, 0, sizeof kc);
        kc.replica_id = d->replica_id;
        kc.ttl_ms = cfg->lease_ttl_ms;
        d->cluster = cluster_new(d->store, cfg->no_controller ? NULL : d->controller, &kc, smsg);
        if (!d->cluster) {
            snprintf(msg, 256, "cluster: %s", smsg);
            daemon_close(d);
            return -1;
        }
    }
    d->ops.store = d->store;
    d->ops.notify = d->notify;
    d->ops.reports = d->reports;
    d->ops.controller = d->controller;
    d->ops.cluster = d->cluster;
    d->ops.replica = d->replica;
    d->ops.desired = d->desired;
    d->ops.checkpointer = d->checkpointer;
    d->ops.token_max_ttl_s = cfg->token_max_ttl_s;
    d->contracts = contract_cache_new();
    d->ops.contracts = d->contracts;
    if (!d->contracts || contract_cache_register_stats(d->contracts, d->stats) < 0) {
        snprintf(msg, 256, "cannot set up the contract cache");
        daemon_close(d);
        return -1;
    }
    {
        /* notifications: their own thread, fed by announcements */
        struct hooks_config hc;
        hooks_config_default(&hc);
        hc.timeout_ms = cfg->notify_timeout_ms ? cfg->notify_timeout_ms : hc.timeout_ms;
        hc.attempts = cfg->notify_attempts ? (int)cfg->notify_attempts : hc.attempts;
        hc.backoff_base_ms = cfg->notify_backoff_ms ? cfg->notify_backoff_ms : hc.backoff_base_ms;
        hc.queue_max = cfg->notify_queue ? cfg->notify_queue : hc.queue_max;
        hc.public_url = cfg->public_url;
        hc.ui_path = cfg->no_ui ? NULL : (cfg->ui_base_path ? cfg->ui_base_path : "/ui");
        d->hooks = hooks_new(d->store, &hc);
        d->ops.hooks = d->hooks;
        checkpointer_set_notify(d->checkpointer, d->notify);
        if (!d->hooks || notify_subscribe_announcements(d->notify, hooks_announce, d->hooks) < 0 ||
            hooks_register_stats(d->hooks, d->stats) < 0) {
            snprintf(msg, 256, "cannot set up notifications");
            daemon_close(d);
            return -1;
        }
    }
    d->api.ops = &d->ops;
    d->api.store = d->store;
    d->api.desired = d->desired;
    d->api.flags = d->flags;
    d->api.reports = d->reports;
    d->api.key = d->key;
    d->api.stats = d->stats;
    d->api.fault_report_clock = cfg->fault_report_clock;
    {
        struct http_config hc;
        size_t i;
        memset(&hc, 0, sizeof hc);
        hc.listen = cfg->listen;
        hc.max_body = cfg->max_body;
        hc.threads = cfg->threads;
        hc.conn_timeout_s = cfg->conn_timeout_s;
        hc.body_memory = cfg->body_memory;
        hc.request_timeout_s = cfg->request_timeout_s;
        /* a revoke through any replica clears the cache through the funnel
         * (server/replica/ follows the others' changes) */
        hc.token_cache_ms = 60000;
        hc.max_conns = cfg->max_conns;
        hc.max_conns_per_ip = cfg->max_conns_per_ip;
        for (i = 0; i < LANE__COUNT; i++) {
            hc.lane_workers[i] = cfg->lane_workers[i];
            hc.lane_queue[i] = cfg->lane_queue[i];
            hc.lane_fault_delay_ms[i] = cfg->lane_fault_delay_ms[i];
        }
        hc.no_shed = cfg->no_shed;
        hc.no_front = cfg->no_front;
        hc.token_rate = cfg->token_rate;
        hc.auth_fail_rate = cfg->auth_fail_rate;
        hc.auth_fail_burst = cfg->auth_fail_burst;
        hc.limit_localhost = cfg->limit_localhost;
        hc.access_log = cfg->access_log;
        hc.token_burst = cfg->token_burst;
        hc.tls_cert = cfg->tls_cert;
        hc.tls_key = cfg->tls_key;
        hc.tls_priorities = cfg->tls_priorities;
        hc.tls_client_ca = cfg->tls_client_ca;
        hc.require_client_cert = cfg->require_client_cert;
        d->http = d->controller ? http_new(&hc, &d->api, d->store, msg) : NULL;
        if (!d->http) {
            if (!d->controller)
                snprintf(msg, 256, "out of memory");
            daemon_close(d);
            return -1;
        }
    }
    if (!cfg->no_ui) {
        struct web_config wc;
        char wmsg[256];
        memset(&wc, 0, sizeof wc);
        wc.ops = &d->ops;
        wc.store = d->store;
        wc.reports = d->reports;
        wc.desired = d->desired;
        wc.flags = d->flags;
        wc.stats = d->stats;
        wc.base_path = cfg->ui_base_path;
        wc.tls = http_tls(d->http);
        wc.session_ttl_s = cfg->ui_session_ttl_s;
        wc.authenticate = http_authenticate;
        wc.note_use = http_note_use;
        wc.auth_cls = d->http;
        d->web = web_new(&wc, wmsg);
        if (!d->web) {
            snprintf(msg, 256, "dashboard: %s", wmsg);
            daemon_close(d);
            return -1;
        }
        http_set_web(d->http, d->web);
    }
    /* Change drills: scratch stores under the data directory. */
    {
        char tmp[4096];
        struct drills_config dc = {d->store,           d->reports, NULL, cfg->drill_budget_ms,
                                   cfg->drill_poll_ms, d->cluster};
        snprintf(tmp, sizeof tmp, "%s", cfg->data_dir ? cfg->data_dir : "/tmp");
        dc.tmpdir = tmp;
        if (!(d->drills = drills_new(&dc))) {
            snprintf(msg, 256, "out of memory");
            daemon_close(d);
            return -1;
        }
        d->api.drills = d->drills;
    }
    /* Wiring: who hears about changes, and what /metrics shows (in this
     * order). */
    if (desired_attach(d->desired, d->notify) < 0 || flags_attach(d->flags, d->notify) < 0 ||
        http_attach(d->http, d->notify, d->stats) < 0 ||
        desired_register_stats(d->desired, d->stats) < 0 ||
        store_register_stats(d->store, d->stats) < 0 ||
        controller_register_stats(d->controller, d->stats) < 0 ||
        cluster_register_stats(d->cluster, d->stats) < 0 ||
        (d->replica && replica_register_stats(d->replica, d->stats) < 0) ||
        reports_register_stats(d->reports, d->stats) < 0 ||
        flags_register_stats(d->flags, d->stats) < 0 ||
        checkpointer_register_stats(d->checkpointer, d->stats) < 0 ||
        backup_sched_register_stats(d->backups, d->stats) < 0 ||
        history_saver_register_stats(d->history, d->stats) < 0 ||
        drills_register_stats(d->drills, d->stats) < 0 ||
        delivery_metrics_register_stats(d->delivery, d->stats) < 0 ||
        delivery_metrics_attach(d->delivery, d->notify) < 0 ||
        notify_register_stats(d->notify, d->stats) < 0 ||
        stats_register(d->stats, "build", render_build_info, d) < 0) {
        snprintf(msg, 256, "cannot wire the server's parts");
        daemon_close(d);
        return -1;
    }
    return 0;
}

int daemon_start(struct daemon *d, char *msg)
{
    if (d->controller && !d->cfg.no_controller && controller_start(d->controller) < 0) {
        snprintf(msg, 256, "cannot start the rollout controller");
        return -1;
    }
    /* After the controller: its first round hands it the term (a lone
     * replica leads at once). */
    if (cluster_start(d->cluster) < 0) {
        snprintf(msg, 256, "cannot start the lease thread");
        return -1;
    }
    if (replica_start(d->replica) < 0) {
        snprintf(msg, 256, "cannot start the replica follower");
        return -1;
    }
    if (checkpointer_start(d->checkpointer) < 0) {
        snprintf(msg, 256, "cannot start the audit checkpoint thread");
        return -1;
    }
    if (history_saver_start(d->history) < 0) {
        snprintf(msg, 256, "cannot start the health histories' saver thread");
        return -1;
    }
    if (backup_sched_start(d->backups) < 0) {
        snprintf(msg, 256, "cannot start the scheduled backups' thread");
        return -1;
    }
    if (drills_start(d->drills) < 0) {
        snprintf(msg, 256, "cannot start the drill schedules' thread");
        return -1;
    }
    if (delivery_metrics_start(d->delivery) < 0) {
        snprintf(msg, 256, "cannot start the delivery figures' thread");
        return -1;
    }
    if (hooks_start(d->hooks, msg) < 0)
        return -1;
    if (http_start(d->http, msg) < 0)
        return -1;
    d->port = http_port(d->http);
    return 0;
}

int daemon_reload(struct daemon *d, char *msg)
{
    return http_reload(d->http, msg);
}

void daemon_stop(struct daemon *d)
{
    cluster_stop(d->cluster); /* a leader releases its lease for the next */
    controller_stop(d->controller);
    desired_drain(d->desired);      /* parked long-polls answer 304 now */
    http_stop(d->http);             /* queued requests run, then the listener stops */
    replica_stop(d->replica);       /* relays the last reports */
    history_saver_stop(d->history); /* after the save it is writing */
    if (d->history)
        history_saver_save(d->history); /* nothing ingests reports any more */
    /* after every writer of this process: the final head is signed */
    checkpointer_stop(d->checkpointer);
    delivery_metrics_stop(d->delivery);
    backup_sched_stop(d->backups); /* after the backup it is writing */
    drills_stop(d->drills);        /* after the drill it is running */
}

void daemon_close(struct daemon *d)
{
    http_free(d->http);
    d->http = NULL;
    web_free(d->web); /* after the transport: no request can reach it */
    d->web = NULL;
    cluster_free(d->cluster);
    d->cluster = NULL;
    replica_free(d->replica);
    d->replica = NULL;
    controller_free(d->controller);
    d->controller = NULL;
    desired_free(d->desired);
    flags_free(d->flags);
    d->desired = NULL;
    history_saver_free(d->history); /* before the reports it reads */
    d->history = NULL;
    reports_free(d->reports);
    d->reports = NULL;
    checkpointer_free(d->checkpointer);
    d->checkpointer = NULL;
    backup_sched_free(d->backups);
    d->backups = NULL;
    drills_free(d->drills);
    d->drills = NULL;
    delivery_metrics_free(d->delivery);
    d->delivery = NULL;
    hooks_free(d->hooks); /* after every announcer (controller, http) stopped */
    d->hooks = NULL;
    contract_cache_free(d->contracts); /* after everything that publishes stopped */
    d->contracts = NULL;
    stats_free(d->stats);
    d->stats = NULL;
    notify_free(d->notify);
    d->notify = NULL;
    store_close(d->store);
    d->store = NULL;
    cg_signkey_free(d->key);
    d->key = NULL;
}
