/* SPDX-License-Identifier: MIT */
/*
 * daemon.h: struct daemon, the one context of cellgated, and its lifecycle.
 *
 * main() fills a struct daemon_config from argv (config_parse(), config.h),
 * calls daemon_init() once for a new data directory (or lets daemon_open()
 * do it), then daemon_open() / daemon_start() / daemon_stop() /
 * daemon_close(). The daemon is the top
 * of the server: it creates every part, wires them together (the change
 * funnel's subscribers, the /metrics sources, the handlers' context) and
 * is the only file that knows them all. Nothing lives in globals.
 */
#ifndef CG_DAEMON_H
#define CG_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "ops.h"
#include "routes.h"
#include "store.h"

struct store;
struct cg_signkey;
struct desired;
struct flags;
struct reports;
struct controller;
struct http_server;
struct web;
struct cluster;
struct checkpointer;
struct notify;
struct stats;
struct backup_sched;

/* Settings from the command line: config.c's table says which option sets
 * each field, its range and its default (docs/man/cellgated.8.md). */
struct daemon_config {
    const char *config_file;            /* --config FILE: name = value lines; argv overrides */
    const char *admin_token_file;       /* --admin-token-file: the first token goes here, 0600 */
    const char *data_dir;               /* holds cellgate.db, signing.key, audit-checkpoints */
    const char *store_dsn;              /* --store: PostgreSQL DSN; NULL: DIR/cellgate.db */
    const char *dump_out;               /* dump --out FILE */
    const char *load_in;                /* load --in FILE */
    const char *from_data;              /* migrate --from-data DIR */
    const char *migrate_to;             /* migrate --to DSN */
    int rekey_commit;                   /* rekey --commit */
    const char *restore_key;            /* backup restore --key FILE */
    size_t restore_bump;                /* backup restore --bump-generations N */
    const char *backup_dir;             /* --backup-dir: scheduled backups; NULL: none */
    unsigned backup_every_s;            /* --backup-every */
    unsigned backup_keep;               /* --backup-keep */
    unsigned drill_budget_ms;           /* --drill-budget: real time of one drill scenario */
    unsigned drill_poll_ms;             /* --drill-poll: how often schedules are looked at */
    const char *listen;                 /* "ADDR:PORT"; PORT 0 = ephemeral */
    const char *port_file;              /* if set, the bound port is written here once listening */
    size_t max_body;                    /* request body limit in bytes */
    size_t body_memory;                 /* --body-memory */
    unsigned request_timeout_s;         /* --request-timeout */
    unsigned threads;                   /* HTTP I/O threads */
    unsigned conn_timeout_s;            /* idle connection timeout */
    unsigned max_conns;                 /* connection limit */
    unsigned statement_ttl_s;           /* lifetime of signed statements */
    size_t max_parked;                  /* parked long-polls */
    unsigned tick_ms;                   /* rollout controller period */
    unsigned host_stale_s;              /* --host-stale: a host unseen this long does not count */
    unsigned lane_workers[LANE__COUNT]; /* per lane (enum lane order): worker threads */
    unsigned lane_queue[LANE__COUNT];   /* per lane: queued requests before shedding */
    unsigned lane_fault_delay_ms[LANE__COUNT]; /* --fault-delay: per-request delay (0 = none) */
    int no_controller;                         /* --no-controller: do not start the rollout tick */
    int replica_poll_only;                     /* --replica-poll-only: no LISTEN session */
    unsigned fault_controller_delay_ms;        /* --fault-controller-delay (rehearsals) */
    const char *replica_id;                    /* --replica-id; NULL: the default (config.c) */
    unsigned lease_ttl_ms;                     /* --lease-ttl-ms */
    int no_shed;                 /* --no-shed: unbounded queues, no deadlines, no parked limit */
    int no_front;                /* --no-poll-front: long-polls through libmicrohttpd too */
    int fault_report_clock;      /* --fault-report-clock: admins' reports may set their time */
    unsigned max_conns_per_ip;   /* 0 = no per-address limit */
    double token_rate;           /* requests/s per token (0 = no limit) */
    double auth_fail_rate;       /* failed authentications/s per address (0 = no limit) */
    double auth_fail_burst;      /* ... in a burst */
    int limit_localhost;         /* per-address limits apply to 127.0.0.1 too */
    const char *access_log;      /* --access-log FILE */
    double token_burst;          /* token bucket size (0 = twice token_rate) */
    unsigned audit_checkpoint_s; /* --audit-checkpoint-interval: seconds between
                                    checkpoint rounds (0 = at start and stop only) */
    int accept_audit_rewrite;    /* --accept-audit-rewrite */
    unsigned token_max_ttl_s;    /* --token-max-ttl: 0 = no limit */
    const char *tls_cert;        /* --tls-cert FILE: serve HTTPS (NULL: plain HTTP) */
    const char *tls_key;         /* --tls-key FILE */
    const char *tls_priorities;  /* --tls-priorities (NULL: TLS_DEFAULT_PRIORITIES) */
    const char *tls_client_ca;   /* --tls-client-ca FILE: agents' certificates (mutual TLS) */
    int require_client_cert;     /* --require-client-cert */
    /* notifications (docs/notifications.md) */
    unsigned notify_timeout_ms; /* --notify-timeout: per delivery attempt */
    unsigned notify_attempts;   /* --notify-attempts: per delivery, the first included */
    unsigned notify_backoff_ms; /* --notify-backoff: the first retry's ceiling */
    unsigned notify_queue;      /* --notify-queue: events waiting before drops */
    const char *public_url;     /* --public-url: links in notifications (NULL: none) */
    /* the dashboard (docs/dashboard.md) */
    const char *ui_base_path;  /* --ui-base-path: where its pages live ("/ui") */
    int no_ui;                 /* --no-ui: serve no dashboard */
    unsigned ui_session_ttl_s; /* --ui-session-ttl: a login's lifetime */
    /* correlation (docs/correlation.md) */
    unsigned history_bucket_ms;       /* --history-bucket-ms: hosts' health history buckets */
    unsigned history_buckets;         /* --history-buckets: buckets a host's history holds */
    unsigned history_slow_ms;         /* --history-slow-ms: slow edge of the latency history */
    unsigned history_save_every_s;    /* --history-save-every: 0 saves at stop only */
    unsigned exposure_retention_days; /* --exposure-retention-days: host_exposures kept */
};

/* The hosts' health histories, saved in the data directory at a clean
 * stop and every --history-save-every seconds, read back at the next
 * start (docs/correlation.md). */
#define HISTORY_FILE "health-history"

struct daemon {
    struct daemon_config cfg;
    struct store *store;
    struct cg_signkey *key;            /* the server's ed25519 signing key */
    struct notify *notify;             /* the change funnel */
    struct stats *stats;               /* the /metrics registry */
    struct desired *desired;           /* desired state per cell (agents poll it) */
    struct flags *flags;               /* each cell's flag documents, compiled (OFREP) */
    struct reports *reports;           /* what agents report */
    struct controller *controller;     /* the rollout engine */
    struct cluster *cluster;           /* the leases: who leads the controller */
    struct replica *replica;           /* follows the other replicas (NULL on SQLite) */
    struct checkpointer *checkpointer; /* signs the audit chain's head (checkpointer.h) */
    struct backup_sched *backups;      /* --backup-dir: scheduled backups (backup_sched.h) */
    struct history_saver *history;     /* saves the health histories (history_saver.h) */
    struct drills *drills;             /* change drills and their schedules (drills.h) */
    struct delivery_metrics *delivery; /* the delivery figures of /metrics (delivery_metrics.h) */
    struct hooks *hooks;               /* notifications and announcement logs (hooks.h) */
    struct contract_cache *contracts;  /* compiled contracts between publishes (contract_cache.h) */
    char replica_id[STORE_NAME_MAX];
    struct ops ops;           /* the operations' context */
    struct api api;           /* the handlers' context */
    struct http_server *http; /* the transport */
    struct web *web;          /* the dashboard (NULL with --no-ui) */
    uint16_t port;            /* bound port once started */
    char db_path[4096];
    char key_path[4096];
};

/*
 * Creates the data directory (mode 0700) if missing, the store, the signing
 * key and the first admin token. If 'admin_token' is not NULL and a token was
 * created, the secret is copied there (at least 64 bytes); it is never stored
 * in clear. Returns 0 if it initialised, 1 if the directory was already
 * initialised (nothing changed), -1 on error with 'msg' (256 bytes) set.
 */
int daemon_init(const struct daemon_config *cfg, char *admin_token, char *msg);

/* Opens the store of an initialised data dir. 0 or -1 with msg set. */
int daemon_open(struct daemon *d, const struct daemon_config *cfg, char *msg);

/* Starts the HTTP server; d->port holds the bound port. 0 or -1 with msg. */
int daemon_start(struct daemon *d, char *msg);

/*
 * SIGHUP: reloads what can change while serving: the TLS certificate and
 * key (and client CA) for new handshakes, and the access log's file
 * (reopened). Open connections are kept. Returns 0, or -1 with msg (256
 * bytes) saying what was kept and why (the old credentials stay in use).
 */
int daemon_reload(struct daemon *d, char *msg);

/* Stops the HTTP server (waits for in-flight requests). Idempotent. */
void daemon_stop(struct daemon *d);

/* Closes the store. Call after daemon_stop(). */
void daemon_close(struct daemon *d);

#endif /* CG_DAEMON_H */
