/* SPDX-License-Identifier: MIT */
/*
 * agent.h - cellgate-agent: the host agent (docs/agent.md).
 *
 * Layering: loop.c (flags, signals, the loop) -> sched.c (when the loop
 * next polls and reports) -> conf.c (the config file and flags, one key
 * table) -> state.c (the persisted state, refusals included, and the
 * content-addressed copies of last-known-good documents) -> apply.c (the
 * apply callback of the watcher: check, atomic write, reload, restore;
 * start-up recovery of interrupted applies) -> report.c (Prometheus
 * scrape, counter deltas, the report body). The verify -> fetch ->
 * contract pipeline itself is libcellgate's struct cg_watch.
 *
 * The one context is struct agent, built by agent_options() and passed
 * down. The only process-wide variable is the signal flag in loop.c.
 * Every file but main.c is the static library cg_agent (log.c holds
 * agent_log()); main.c only hands argv to agent_options() and runs
 * agent_serve().
 */
#ifndef CG_AGENT_H
#define CG_AGENT_H

#include <cellgate/cellgate.h>

#include <stddef.h>
#include <stdint.h>

#include "backoff.h"
#include "health.h"
#include "promtext.h"

#define AGENT_MAX_SERVERS  8
#define AGENT_MAX_KEYS     8
#define AGENT_MAX_CONFIGS  32
#define AGENT_MAX_METRICS  16
#define AGENT_PATH_MAX     1024
#define AGENT_CONF_MAX     (1024 * 1024) /* largest config file */
#define AGENT_STATE_MAX    (1024 * 1024) /* largest state file */
#define AGENT_STATE_FORMAT 1

/* ---- logging ---------------------------------------------------------- */

enum agent_log_level { LV_DEBUG = 0, LV_INFO = 1, LV_WARN = 2, LV_ERROR = 3 };

/* Logs one line to stderr ("<time> <level> <message>") when level >=
 * 'min'. */
void agent_log(int min, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Logs through the agent's configured level. */
#define ALOG(a, level, ...) agent_log((a)->conf.log_level, (level), __VA_ARGS__)

/* ---- configuration (conf.c) --------------------------------------------- */

/* One [config NAME] section. */
struct agent_cfg {
    char name[64];
    char path[AGENT_PATH_MAX];          /* target file (required) */
    char reload[AGENT_PATH_MAX];        /* shell command, "" = none */
    int reload_timeout_s;               /* default 30 */
    char check[AGENT_PATH_MAX];         /* shell command, "" = none */
    int check_timeout_s;                /* default 30 */
    char contract_file[AGENT_PATH_MAX]; /* local pinned contract, "" = server's */
    unsigned mode;                      /* file mode, default 0644 */
};

/* One named characteristic metric of the [health] section. */
struct agent_metric {
    char name[48];
    int gauge;                     /* 1 gauge, 0 counter */
    char selector[AGENT_PATH_MAX]; /* Prometheus selector */
};

struct agent_conf {
    char servers[AGENT_MAX_SERVERS][AGENT_PATH_MAX];
    size_t nservers;
    char token[512];
    char token_file[AGENT_PATH_MAX];
    char ca_file[AGENT_PATH_MAX];  /* PEM CAs that the server's certificate must chain to;
                                      "" = the system's */
    char tls_cert[AGENT_PATH_MAX]; /* PEM client certificate (mutual TLS); "" = none */
    char tls_key[AGENT_PATH_MAX];  /* its private key (not accessible by other users) */
    int allow_plain_http;          /* 1: http:// to a server that is not on this host */
    char cell[64];
    char host[64];
    char state_dir[AGENT_PATH_MAX];
    char pubkeys[AGENT_MAX_KEYS][80]; /* hex */
    size_t npubkeys;
    char pubkey_files[AGENT_MAX_KEYS][AGENT_PATH_MAX];
    size_t npubkey_files;
    int report_interval_s; /* default 10 */
    int poll_wait_s;       /* long-poll wait, default 60 */
    int request_timeout_s; /* default 10 */
    int connect_timeout_s; /* default 5 */
    long max_doc_bytes;    /* default 16 MiB */
    long backoff_base_ms;  /* default 500 */
    long backoff_cap_ms;   /* default 60000 */
    int log_level;         /* enum agent_log_level, default info */
    /* [health] */
    char prom_url[AGENT_PATH_MAX];
    char sel_requests[AGENT_PATH_MAX];
    char sel_errors[AGENT_PATH_MAX];
    char sel_latency[AGENT_PATH_MAX];
    double latency_scale_ms; /* multiplier to ms: 1000 for seconds (default), 1 for ms */
    struct agent_metric metrics[AGENT_MAX_METRICS];
    size_t nmetrics;
    /* [config NAME] */
    struct agent_cfg cfgs[AGENT_MAX_CONFIGS];
    size_t ncfgs;
};

/* Fills the defaults. */
void conf_init(struct agent_conf *c);

/**
 * Parses config text (the format of docs/agent.md) into 'c' (which holds
 * the defaults or earlier values). Every problem is reported with its line
 * number in msg (msglen bytes). Returns 0 or -1.
 */
int conf_parse(struct agent_conf *c, const char *text, size_t len, char *msg, size_t msglen);

/* Reads and parses a file. Returns 0 or -1 (msg). */
int conf_load(struct agent_conf *c, const char *path, char *msg, size_t msglen);

/* Checks the final configuration (required keys, values) and loads the
 * token and key files. Returns 0 or -1 (msg). */
int conf_finish(struct agent_conf *c, char *msg, size_t msglen);

/* The [config NAME] section of 'name', or NULL. */
const struct agent_cfg *conf_find(const struct agent_conf *c, const char *name);

/* ---- state (state.c) ---------------------------------------------------- */

/* What the agent holds for one config. Generation 0 = nothing known. */
struct state_cfg {
    char name[64];
    int64_t lkg_version, lkg_generation;
    char lkg_sha[65];                /* "" = unknown */
    int64_t rejected_generation;     /* newest generation refused for good (a contract
                                        violation, a refused check, a failed apply): never
                                        offered again, its blob never fetched again */
    int64_t rejected_version;        /* that generation's version, 0 = unknown */
    char rejected_reason[32];        /* its stable reason ("contract_violation",
                                        "apply_refused", "apply_failed"), "" = unknown;
                                        [a-z0-9_] only */
    int64_t p_version, p_generation; /* pending apply (0 = none) */
    char p_sha[65];
};

struct agent_state {
    struct state_cfg cfgs[AGENT_MAX_CONFIGS];
    size_t n;
};

/* Finds or (create != 0) adds the entry of 'name'. NULL when full. */
struct state_cfg *state_get(struct agent_state *s, const char *name, int create);

/* Serialises / parses the state file's JSON. from_text returns 0 or -1
 * (msg) and never trusts a field it has not checked. */
char *state_to_text(const struct agent_state *s);
int state_from_text(struct agent_state *s, const char *text, size_t len, char *msg, size_t msglen);

/**
 * Loads DIR/state.json. Returns 0 (loaded), 1 (no state yet: s is empty),
 * -1 (corrupt or unreadable: s is empty, msg says why; the caller decides).
 */
int state_load(const char *dir, struct agent_state *s, char *msg, size_t msglen);

/* Writes DIR/state.json atomically (tmp, fsync, rename, fsync dir).
 * Returns 0 or -1 (msg). */
int state_save(const char *dir, const struct agent_state *s, char *msg, size_t msglen);

/* Stores a document as DIR/blobs/<sha256> (atomically, idempotent).
 * Returns 0 or -1 (msg). */
int blob_put(const char *dir, const char *sha, const void *bytes, size_t len, char *msg,
             size_t msglen);

/* Reads DIR/blobs/<sha256> and checks its hash. Returns a malloc'd
 * NUL-terminated buffer (caller frees) or NULL (missing, corrupt). */
char *blob_get(const char *dir, const char *sha, size_t max, size_t *len);

/* Removes blobs no entry of 's' references (lkg or pending). */
void blob_gc(const char *dir, const struct agent_state *s);

/**
 * Records that 'generation' (of 'version', 0 = unknown) was refused for
 * good for 'reason' (copied; "" or a bad reason is stored as ""), unless
 * the entry already holds a newer or equal refusal with a reason. Returns
 * 1 when the entry changed (the caller saves the state), 0 otherwise.
 */
int state_refuse(struct state_cfg *c, int64_t version, int64_t generation, const char *reason);

/* ---- the loop's schedule (sched.c) ----------------------------------------- */

/*
 * When the loop may next start each kind of attempt, in monotonic ms
 * (docs/agent.md "Traffic discipline"). A poll cycle (the desired state,
 * then the contract and the blobs it names: libcellgate's watcher runs
 * them as one cycle, and a failure anywhere in it fails the cycle) and a
 * report each have their own time, so waking up for one never starts
 * the other early: a failed poll or blob fetch is not retried before the
 * backoff it logged has passed, however often reports go out. Plain value
 * owned by the loop; pure functions of the 'now_ms' they are given.
 */
struct agent_sched {
    int64_t next_poll_ms;        /* the next poll cycle may start at this time */
    int64_t next_report_ms;      /* the next report is due at this time */
    int64_t interval_ms;         /* report interval (jittered +-20% per report) */
    struct cg_backoff report_bo; /* failed reports only */
    struct cg_rng rng;           /* jitter; its state is borrowed */
};

/**
 * Initialises 's': the first poll at once, the first report after a
 * random half to whole interval (at once with 'once'). Failed reports back
 * off with full jitter between base_ms and cap_ms (common/backoff.h), and
 * never come sooner than the regular interval.
 * @param rng  NULL for libsodium; copied (its state must outlive 's')
 */
void sched_init(struct agent_sched *s, int64_t now_ms, int64_t interval_ms, int once,
                int64_t base_ms, int64_t cap_ms, const struct cg_rng *rng);

/* 1 when a poll cycle / a report may start at now_ms. */
int sched_poll_due(const struct agent_sched *s, int64_t now_ms);
int sched_report_due(const struct agent_sched *s, int64_t now_ms);

/* A poll cycle ended at now_ms; the next may start delay_ms later (the
 * watcher's cg_watch_next_delay_ms(): its backoff after a failure, the
 * floor between cycles after a success). */
void sched_poll_done(struct agent_sched *s, int64_t now_ms, int64_t delay_ms);

/* A report ended at now_ms (ok = it was accepted). Schedules the next one
 * and returns its delay: a jittered interval after a success; after a
 * failure the longer of that and the report backoff. */
int64_t sched_report_done(struct agent_sched *s, int64_t now_ms, int ok);

/* How long the loop may sleep at now_ms: until the earlier of the next
 * poll and the next report; 0 when one is due. */
int64_t sched_sleep_ms(const struct agent_sched *s, int64_t now_ms);

/* The long-poll wait (whole seconds) for a poll starting at now_ms: wait_ms
 * (already jittered) cut to end by the next report, so reports go out on
 * time; 0 (no long poll) when the report is due within a second. */
int sched_long_poll_s(const struct agent_sched *s, int64_t now_ms, int64_t wait_ms);

/* ---- the agent ----------------------------------------------------------- */

struct agent {
    struct agent_conf conf;
    struct agent_state state;
    struct cg_client *clients[AGENT_MAX_SERVERS]; /* owned */
    size_t nclients;
    struct cg_watch *watch; /* owned */
    int (*stop)(void);      /* returns non-zero once a stop was requested */
    /* report.c */
    struct cg_client *prom; /* owned; NULL without [health] */
    char prom_path[AGENT_PATH_MAX];
    struct cg_prom_selector *sel_req, *sel_err, *sel_lat, *sel_m[AGENT_MAX_METRICS];
    int have_prev;
    double prev_req, prev_err, prev_m[AGENT_MAX_METRICS];
    struct cg_prom_hist prev_hist;
    int have_prev_hist;
    double acc_req, acc_err, acc_m[AGENT_MAX_METRICS];
    struct cg_hist acc_hist;
    struct cg_watch_stats reported; /* watcher counters at the last report */
    uint64_t report_failures, reported_report_failures, scrape_failures, reported_scrape_failures;
    int64_t seq;
    int64_t window_start_ms; /* monotonic */
    size_t report_server;
};

/* ---- start-up and the loop (loop.c) -------------------------------------- */

/* Builds a->conf from the flags and the config file they name (flags win).
 * Returns 0 to run, 1 after --help/--version, 2 on a usage or
 * configuration error (printed to stderr). */
int agent_options(struct agent *a, int argc, char **argv, int *once);

/* Runs the agent of a->conf (one cycle with 'once') until SIGTERM/SIGINT;
 * returns the exit status (docs/agent.md). The caller frees 'a'. */
int agent_serve(struct agent *a, int once);

/* ---- apply (apply.c) ------------------------------------------------------ */

/* The struct cg_watch apply callback; 'ud' is the struct agent. */
int agent_apply(void *ud, const struct cg_watch_doc *doc, char *why, size_t whylen);

/* Finishes or undoes applies a SIGKILL interrupted (state entries with a
 * pending generation), then saves the state. Never fails the start. */
void agent_recover(struct agent *a);

/* Seeds the watcher from the state and the files on disk. */
int agent_seed(struct agent *a, char *msg, size_t msglen);

/* After a poll cycle: copies every refusal for good the watcher decided
 * (a contract violation is decided without the apply callback) into the
 * state and saves it, so a restarted agent neither applies nor fetches
 * that generation again. Returns the number of configs recorded. */
int agent_keep_refusals(struct agent *a);

/**
 * Runs CMD with /bin/sh -c in its own process group with the given extra
 * environment ("K=V" strings, NULL-terminated), killing the whole group
 * when it runs longer than timeout_s. stdout/stderr are inherited. When
 * ARG is not NULL it is appended as the last argument ("CMD \"$@\""),
 * unless CMD mentions CELLGATE_FILE (then it places the file itself).
 * Returns the exit status (0..255), 124 for a timeout, 125 when it could
 * not be started, 128+N for death by signal N.
 */
int agent_run(const char *cmd, const char *arg, const char *const *env, int timeout_s);

/* ---- report (report.c) ------------------------------------------------------ */

/* Prepares the Prometheus client and selectors. Returns 0 or -1 (msg). */
int report_init(struct agent *a, char *msg, size_t msglen);
void report_release(struct agent *a);

/* Scrapes the health source once and folds the deltas into the window.
 * Returns 0, or -1 when the scrape failed (nothing is folded). */
int report_scrape(struct agent *a);

/* Converts a Prometheus histogram delta (cumulative, upper bounds in the
 * source unit times scale_ms = ms) into the fixed log-scale buckets. */
void report_hist_fold(const struct cg_prom_hist *d, double scale_ms, struct cg_hist *out);

/* Builds the report body (caller frees with free()). NULL on OOM. */
char *report_build(struct agent *a, int64_t window_ms);

/* Scrapes, builds and posts a report (trying every server once). On
 * success the window restarts. Returns 0 or -1. */
int report_send(struct agent *a);

#endif /* CG_AGENT_H */
