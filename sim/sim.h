/* SPDX-License-Identifier: MIT */
/*
 * sim.h - cellgate-sim's one context (struct sim) and the per-host state.
 *
 * One process, one thread, one event loop (loop.c: libcurl multi driven by
 * epoll) carries every simulated host. Each host speaks the agent protocol
 * itself (docs/api/agent.md): its own long-poll with its own ETag, its own
 * statement verification against the pinned key, its own contract check
 * and apply, its own reports, its own backoff and retry budget. What hosts
 * of the process share is what an HTTP cache or a shared disk would share
 * (struct sim_cache): blob bytes by sha256 (immutable, verified once when
 * fetched), parsed contracts by contract sha256, and the verdict of the
 * contract engine for a (contract, document, live document) triple, which
 * is a pure function. docs/sim.md "What hosts share".
 *
 * Module map: run.c (options, start, stop), topo.c (fleet shape), fleet.c
 * (register cells and tokens), loop.c (event loop and HTTP), agentsim.c
 * (the protocol per host), model.c (health), faults.c, monitor.c (the
 * server's rollouts), blast.c (accounting), output.c (summary line, JSON),
 * exporter.c (--prom-listen: /metrics for a Prometheus).
 * All of them form the static library cg_sim; main.c (argv only) links
 * it into cellgate-sim, and tests and drills link it too.
 */
#ifndef CG_SIM_SIM_H
#define CG_SIM_SIM_H

#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "backoff.h"
#include "blast.h"
#include "buf.h"
#include "contract.h"
#include "exporter.h"
#include "faults.h"
#include "model.h"
#include "sign.h"
#include "topo.h"

#define SIM_MAX_CONFIGS   4                  /* configs one host follows */
#define SIM_MAX_DESIRED   (4u * 1024 * 1024) /* desired-state answer */
#define SIM_MAX_DOC       (16u * 1024 * 1024)
#define SIM_MAX_CONFIG    (4u * 1024 * 1024) /* config object with its contract */
#define SIM_SCAN_MS       20                 /* host timer resolution */
#define SIM_MIN_CYCLE_MS  1000               /* floor between successful polls */
#define SIM_MAX_BEHAVIOUR 256                /* entries of a --behaviour file */

/* Options (the table in run.c fills this). Strings are borrowed from argv. */
struct sim_options {
    const char *server;   /* base URL(s), e.g. http://127.0.0.1:7070; a comma-separated
                             list of replicas: hosts spread over them and fail over */
    const char *token;    /* admin token (setup and the rollout monitor) */
    const char *pubkey;   /* 64 hex chars or a file; NULL = ask the server */
    const char *topology; /* file, or NULL for the counts below */
    unsigned regions, zones, cells, hosts;
    const char *behaviour_file; /* version -> behaviour mapping, or NULL */
    double rps;                 /* requests per second per host (mean) */
    double noise;               /* spread of host request rates (log-normal sigma) */
    double latency_noise;       /* spread of host latencies (log-normal sigma); < 0 = noise / 2 */
    double tail_share;          /* share of requests from the Pareto latency tail (0 = none) */
    double tail_alpha;          /* its Pareto shape */
    double tail_min;            /* where it starts, x the host's median */
    double error_dispersion;    /* per-window Gamma factor on error rates: its variance */
    struct model_biases cell_bias; /* --cell-bias */
    struct model_behaviour base;   /* behaviour of a version without a "sim" object */
    int64_t report_ms;             /* report period */
    int wait_s;                    /* long-poll wait */
    int64_t apply_delay_ms;        /* time a reload takes */
    int64_t startup_ms;            /* hosts start uniformly within this */
    int64_t timeout_ms;            /* non-poll request timeout */
    int64_t backoff_base_ms, backoff_cap_ms;
    bool naive_retries;       /* retry failures at once: no backoff, no budget (storm tests) */
    int64_t summary_ms;       /* live summary period; 0 = none */
    int64_t monitor_ms;       /* rollout monitor period; 0 = off */
    int64_t duration_s;       /* stop after this long; 0 = until SIGINT/SIGTERM */
    const char *json_out;     /* blast-radius report, or NULL */
    int64_t json_every_ms;    /* also rewrite json_out this often; 0 = only at exit */
    const char *ready_file;   /* written once every host completed a first poll */
    const char *token_prefix; /* agent token names: PREFIX-<cell> */
    uint64_t seed;
    bool quiet; /* no live summary line */
    struct faults faults;
    const char *trace_out;   /* per-period time series (CSV), or NULL (trace.c) */
    int64_t trace_ms;        /* its period (default 100) */
    const char *prom_listen; /* --prom-listen ADDR:PORT (exporter.h), or NULL */
};

/* Where one cache entry is. */
enum cache_state {
    CACHE_MISSING = 0,
    CACHE_FETCHING = 1, /* one host is fetching it; others wait */
    CACHE_READY = 2,
};

/* A blob by sha256 (immutable). */
struct cache_blob {
    char sha256[65];
    enum cache_state state;
    char *bytes; /* owned, NUL-terminated */
    size_t len;
    struct model_behaviour behaviour; /* from its "sim" object over the baseline */
    int behaviour_set;
};

/* A config's contract by the contract sha256 the statements signed (the
 * fetched text must hash to it). */
struct cache_contract {
    char config[64];
    char sha256[65];
    enum cache_state state;
    struct cg_contract *contract; /* owned */
};

/* A memoised contract check: contract x document x live document. */
struct cache_verdict {
    char contract_sha[65], doc_sha[65], live_sha[65];
    int rc;           /* CG_OK, CG_ERR_VIOLATION, other = not decidable */
    char *violations; /* owned JSON array text (at most 20), or NULL */
    char message[192];
};

/* Entries are allocated one by one (pointers stay valid while requests
 * refer to them) and searched linearly: a run sees a handful of versions. */
struct sim_cache {
    struct cache_blob **blobs; /* owned */
    size_t nblobs;
    struct cache_contract **contracts; /* owned */
    size_t ncontracts;
    struct cache_verdict **verdicts; /* owned */
    size_t nverdicts;
    uint64_t blob_fetches, contract_fetches, checks, check_hits;
};

/* Outcome of a host's latest decision about a config (report "outcome"). */
enum host_outcome {
    OUT_NONE = 0,
    OUT_APPLIED = 1,
    OUT_REJECTED = 2,
    OUT_RELOAD_FAILED = 3,
    OUT_VERIFY_FAILED = 4,
};

/* A verified assignment waiting to be processed by a host. */
struct host_pending {
    struct cg_statement st;
    char contract_sha[65];
};

/* What one host holds for one config. */
struct host_config {
    char name[64];
    int64_t lkg_version, lkg_generation; /* what it runs: its last-known-good */
    char lkg_sha[65];
    int64_t rejected_generation; /* refused before: never again */
    enum host_outcome outcome;   /* latest decision */
    int64_t o_version, o_generation;
    json_t *detail; /* owned {"error","violations"?} or NULL */
};

/* The main channel of a host: poll, then process what the poll brought. */
enum host_state {
    HS_IDLE = 0,     /* waiting for next_ms, then polls */
    HS_POLLING = 1,  /* a long-poll is in flight */
    HS_WORKING = 2,  /* processing pending assignments; acts at next_ms */
    HS_FETCHING = 3, /* a contract or blob request of its own is in flight */
};

struct sim_req;

struct sim_host {
    uint32_t idx;  /* index in sim->hosts */
    uint32_t cell; /* index in sim->topo.cells */
    uint32_t srv;  /* index in sim->servers: the replica this host talks to */
    char name[64]; /* "<cell>-h<NNN>" */
    struct model_host model;
    struct model_rng rng;

    enum host_state state;
    int64_t next_ms;              /* mono ms: next action of the main channel */
    int64_t cycle_start_ms;       /* mono ms: when the current poll cycle began */
    struct sim_req *req;          /* main channel request in flight, or NULL */
    char etag[48];                /* of the last state fully processed */
    char pending_etag[48];        /* of the state being processed */
    struct host_pending *pending; /* owned array of verified assignments to process */
    size_t npending, ipending;
    int64_t apply_at_ms; /* mono ms when the reload in progress finishes; 0 = none */
    bool polled_once;

    struct host_config cfg[SIM_MAX_CONFIGS];
    size_t ncfg;

    /* reports */
    struct sim_req *report_req;
    int64_t report_next_ms;         /* mono */
    int64_t window_start_ms;        /* wall ms: start of the health window not yet drawn */
    struct model_window unreported; /* drawn but not yet accepted by the server */
    int64_t unreported_ms;          /* length of that window */
    uint64_t seq;

    /* the agent's retry discipline */
    struct cg_backoff bo;
    struct cg_retry_budget budget;
    bool last_failed;
    uint64_t polls, poll_failures, report_failures;
    struct cg_retry_stats reported; /* counters as of the last accepted report */
    uint64_t reported_poll_failures, reported_report_failures;
};

/* Process-wide counters for the summary and the JSON output. */
struct sim_stats {
    uint64_t polls, polls_200, polls_304, poll_failures;
    uint64_t reports, report_failures, fetch_failures;
    uint64_t applied, rejected, reload_failed, verify_failed;
    uint64_t requests_total, errors_total;
    uint64_t http_started, http_refused; /* refused: by a partition fault */
    uint64_t failovers;                  /* hosts that moved to the next replica */
    uint64_t max_inflight;
    uint64_t status_5xx, retry_after_seen;
    uint64_t new_conns; /* TCP connections libcurl opened (CURLINFO_NUM_CONNECTS) */
};

struct sim_loop;

/* The one context. */
#define SIM_MAX_SERVERS 8   /* replicas in --server */
#define SIM_SERVER_MAX  256 /* bytes of one base URL */

struct sim {
    struct sim_options opt;
    char servers[SIM_MAX_SERVERS][SIM_SERVER_MAX]; /* --server, split */
    size_t nservers;
    uint32_t srv; /* the replica of requests no host makes (the rollout monitor) */
    struct topo topo;
    char **cell_tokens;    /* owned, one agent token per cell */
    const char **cell_ids; /* owned array of borrowed ids (for blast) */
    struct cg_pubkey pubkey;
    struct sim_host *hosts; /* owned array of topo.nhosts */
    size_t nhosts;
    struct sim_loop *loop;
    struct sim_cache cache;
    struct blast blast;
    struct sim_stats st;
    struct model_rng rng;
    /* --behaviour mapping: "config:version" or a sha256 -> behaviour */
    struct {
        char key[80];
        struct model_behaviour b;
        int set;
    } map[SIM_MAX_BEHAVIOUR];
    size_t nmap;
    int64_t start_wall_ms, start_mono_ms;
    bool ready_written;
    size_t hosts_polled_once;
    /* rollout monitor */
    struct sim_req *monitor_req;
    int64_t monitor_next_ms;
    int64_t *monitor_ids; /* owned: rollouts still to refresh */
    size_t nmonitor_ids, imonitor;
    int64_t *done_ids; /* owned: rollouts already final */
    size_t ndone, capdone;
    /* output */
    int64_t summary_next_ms, json_next_ms;
    uint64_t last_requests, last_errors;
    int64_t last_summary_ms;
    /* --trace-out */
    FILE *trace;
    int64_t trace_next_ms;
    /* --prom-listen: what hosts serve, for a Prometheus to scrape (owned) */
    struct exporter *exporter;
};

/* Set by the signal handlers sim_run() installs (and by --duration); read
 * by the loop. */
extern volatile sig_atomic_t sim_stop_requested;

/* ---- run.c: the options and a whole run ---- */

/* Fills every option's default ($CELLGATE_SERVER, $CELLGATE_TOKEN). */
void sim_options_defaults(struct sim_options *o);

/* Parses argv over the defaults; returns 0 to run, 1 when --help/--version
 * was printed, 2 on a usage error (printed to stderr). */
int sim_options_parse(int argc, char **argv, struct sim_options *o);

/* Runs the fleet of 'o' until SIGINT/SIGTERM or --duration: start-up,
 * the loop, the reports. Returns the exit status (0, or 1 on a failed
 * start or JSON report). */
int sim_run(const struct sim_options *o);

/* ---- loop.c: the event loop and HTTP ---- */

/* What a request is for. */
enum req_kind {
    REQ_POLL = 1,
    REQ_CONTRACT = 2,
    REQ_BLOB = 3,
    REQ_REPORT = 4,
    REQ_MONITOR_LIST = 5,
    REQ_MONITOR_GET = 6,
    REQ_MONITOR_VERSION = 7,
};

struct sim_req;
typedef void (*sim_req_done_fn)(struct sim *s, struct sim_req *rq);

/* One HTTP exchange. Owned by the loop's pool; valid until done() returns. */
struct sim_req {
    CURL *easy;
    enum req_kind kind;
    struct sim_host *host; /* NULL for the monitor */
    void *ctx;             /* cache entry or other context (borrowed) */
    sim_req_done_fn done;
    struct curl_slist *headers; /* owned */
    char *post;                 /* owned request body, or NULL */
    struct cg_buf body;         /* response body */
    long status;                /* HTTP status, 0 = transport failure */
    CURLcode cc;
    char etag[48];
    int64_t retry_after_ms; /* -1 = none */
    int64_t send_at_ms;     /* mono: a latency fault holds it until then */
    bool refused;           /* never sent: partition fault */
    char url[512];
    bool in_multi;            /* added to the multi handle */
    bool active;              /* started and not yet completed */
    uint32_t shard;           /* the loop's multi handle it runs on */
    struct sim_req *next;     /* free list / delayed list */
    struct sim_req *all_next; /* the loop's list of every request */
};

/* Creates the loop (curl multi + epoll). Returns 0 or -1 (msg). */
int loop_new(struct sim *s, char *msg, size_t msglen);
void loop_free(struct sim *s);

/*
 * Starts a request: 'path' is appended to the server URL; 'token' is the
 * bearer token; 'inm' an ETag for If-None-Match (or NULL); 'post' a body to
 * POST as JSON (ownership passes to the request) or NULL for GET. The
 * result arrives in done(s, rq) from loop_run(). Returns the request, or
 * NULL when out of memory (post is freed).
 */
struct sim_req *loop_start(struct sim *s, enum req_kind kind, struct sim_host *h, const char *path,
                           const char *token, const char *inm, char *post, long timeout_ms,
                           size_t max_body, sim_req_done_fn done, void *ctx);

/* Runs until sim_stop_requested or the duration ends; calls tick(s) every
 * SIM_SCAN_MS. */
void loop_run(struct sim *s, void (*tick)(struct sim *s));

/* Requests in flight. */
size_t loop_inflight(const struct sim *s);

/* ---- agentsim.c: the protocol of one host ---- */

/* Initialises every host (personality, backoff, first poll time). 0 / -1. */
int agents_init(struct sim *s);
void agents_free(struct sim *s);
/* Acts on every host whose timer is due (called every SIM_SCAN_MS). */
void agents_tick(struct sim *s, int64_t now_mono);
/* Counts hosts by (config, version) for the summary: fills at most 'max'
 * entries of configs/versions/counts; returns the number of entries. */
size_t agents_versions(const struct sim *s, const char **configs, int64_t *versions,
                       uint64_t *counts, size_t max, uint64_t *none);

/* ---- fleet.c: setup through the admin API (blocking, before the loop) ---- */

/* Pins the public key, registers missing cells, creates one agent token per
 * cell. Returns 0 or -1 with a message. */
int fleet_setup(struct sim *s, char *msg, size_t msglen);

/* ---- monitor.c: the server's rollouts, for blast radius and timing ---- */
void monitor_tick(struct sim *s, int64_t now_mono);

/* ---- trace.c: --trace-out, one CSV line per --trace-ms ---- */
int trace_open(struct sim *s, char *msg, size_t msglen);
void trace_tick(struct sim *s, int64_t now_mono);
void trace_close(struct sim *s);

/* ---- output.c ---- */
void output_summary(struct sim *s, int64_t now_mono, bool final);
int output_json(struct sim *s, const char *path, char *msg, size_t msglen);
void output_final(struct sim *s);

/* Wall time and monotonic time in ms (thin wrappers, for one place). */
int64_t sim_mono(void);
int64_t sim_wall(void);

#endif /* CG_SIM_SIM_H */
