/* SPDX-License-Identifier: MIT */
/*
 * bench_safety.c: how safe is a change that goes through cellgate, next to a
 * naive all-at-once push watched by an error-rate alarm, on a fleet whose
 * health is as noisy as real ones? (Issue 5 "safety figures", issue 14
 * "Measured in bench/safety"; not part of the test suite.)
 *
 * In-process, like tests/unit/test_controller.c: for every trial a fresh
 * SQLite store (on /dev/shm when writable), the real reports module
 * (reports_ingest of JSON host reports) and the real rollout controller
 * (controller_tick with an injected clock). Only the fleet is simulated,
 * with cellgate-sim's health model (sim/model.c, docs/sim.md "Health
 * model"), so the simulator and this bench share one tested noise model.
 *
 *   fleet    3 regions x 3 zones x 4 cells = 36 cells, 10 hosts each (360)
 *   traffic  each host ~20 req/s (SAFETY_REQ_PER_S) x its rate factor
 *            (log-normal, sigma 0.2, mean 1); Poisson counts per segment (a
 *            segment: from a host's last draw to its next report, version
 *            switch or, for the naive alarm, minute boundary)
 *   errors   per cell a baseline rate 0.5% x U(0.8, 1.2); per host and
 *            segment that rate x Gamma(mean 1, variance 0.5)
 *            (over-dispersion: error counts are negative-binomial-like,
 *            variance m + 0.5 m^2 instead of m), then binomial
 *   latency  per host a median of 20 ms x its latency factor (log-normal,
 *            sigma 0.35: a few hosts are persistently 2x slower); per
 *            request a log-normal body (sigma 0.5) or, for 2% of requests,
 *            a Pareto tail (shape 1.5, from 3 x the median). A median host
 *            has p50 20 ms, p99 ~100 ms, p99.9 ~440 ms, and the p99 of one
 *            report window (~400 requests) varies ~2x between windows
 *   agents   apply a new assignment after U(0, 20) s; report every U(10, 30) s
 *            the counters and latency histogram since their last report,
 *            keyed (as the real agent protocol does) by the version they run
 *            at report time
 *   ticks    controller_tick every 15 s of simulated time, after a warm-up of
 *            12 min of reports (longer than the first bake, so a cell's own
 *            past before the change is in the reports' ring)
 *
 * None of these parameters was chosen to make a goal pass: they are what
 * bench/README.md argues real fleets show.
 *
 * Scenarios (the new version against each cell's baseline), each a row:
 *   gross_x10          errors x10 (0.5% -> 5%); also naive
 *   subtle_x3          errors x3 (0.5% -> 1.5%); also naive
 *   latency_tail_x1_5  the latency tail's scale x1.5 (p99 ~x1.45, p99.9
 *                      x1.5, the median unchanged); the naive error-rate
 *                      alarm does not apply
 *   good_heavy_tail    a good change (same behaviour); also naive (false
 *                      alarms). 2N trials (SAFETY_GOOD_TRIALS)
 *   good_chronic_cell  a good change; one cell's error rate is always 3x
 *                      (a cell bias, from before the warm-up), and that cell
 *                      is the canary (the first planned cell) in every
 *                      trial: planned first with controller_preview(), the
 *                      plan the controller makes (same seed). Counts false
 *                      rollbacks and the runs where any evaluation of the
 *                      rollout names the cell in an "outliers" array.
 *                      2N trials (SAFETY_GOOD_TRIALS)
 *   gross_onebox       errors x10 with a one-box first wave ({"cells": 1,
 *                      "hosts": 1}); skipped, and printed so, while the plan
 *                      parser refuses such a plan
 *   aa_peek            not a rollout: 10N healthy bakes (SAFETY_AA_BAKES) of
 *                      one step, the canary wave's cell against the other 35
 *                      (same behaviour), gates_evaluate() with min_delta 0
 *                      on the cumulative aggregates after every single host
 *                      report, as a controller that peeks without limit
 *                      would: the share of bakes that ever FAIL
 * N = argv[1] or SAFETY_TRIALS (default 100). Trial i of every scenario and
 * system uses the same fleet (seed i): cells' error rates and hosts'
 * personalities.
 *
 * cellgate: the plan in plan_doc below (canary 1 cell 10 min / 5,000
 * requests; 10% 20 min; 50% 20 min; 100% 10 min; error-rate and p99 gates as
 * in docs/plans.md). The run starts at controller_begin.
 *
 * naive: at t = 0 every cell gets the new version (hosts apply after
 * U(0, 20) s). A fleet-wide alarm is evaluated every minute on per-minute
 * fleet totals: it fires when the error rate of the last 5 minutes is above
 * 1.5 x the mean of the 60 minutes before them AND above 1% (absolute
 * floor). 65 minutes of history before the push feed the first evaluations.
 * After it fires the team rolls back after U(2, 10) minutes (all cells at
 * once, hosts again apply after U(0, 20) s). An alarm that does not fire
 * within 3 hours is a miss.
 *
 * Per trial:
 *   detected      cellgate: the rollout moved to rolling_back (a failed
 *                 gate or a stuck step); naive: the alarm fired
 *   caught in     the step and wave of the rollout when it failed
 *   t_detect      rollout start (push) -> the tick (evaluation) that failed
 *   t_rollback    start -> the last host stopped serving the new version
 *   window        [start, end): end = t_rollback when rolled back; else the
 *                 controller's completion time (cellgate) or 3 h (naive)
 *   blast radius  requests served by the new version / all fleet requests in
 *                 the window (for good changes the "new" version is the good
 *                 one)
 *
 * Prints the tables, one SAFETY_ROW line per scenario x system and one
 * SAFETY_GOAL line per goal of issue 14 (bench/run.sh records them), each
 * with ok=yes|no. Runs the trials in SAFETY_JOBS processes (default 2);
 * SAFETY_ONLY=name,name runs only those scenarios; SAFETY_VERBOSE=1 prints
 * the failed gate's test and reason of every rollback.
 *
 * For the integrator: which version a simulated host should run is one
 * function, desired_for_host() (per-host assignments plug in there); the
 * outlier count is names_outlier() over the rollout's status.
 *
 * Usage: bench_safety [trials]
 */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "controller.h"
#include "gates.h"
#include "health.h"
#include "model.h"
#include "plan.h"
#include "reports.h"
#include "status.h"
#include "store.h"
#include "util.h"

#define REGIONS        3
#define ZONES          3
#define CELLS_PER_ZONE 4
#define NCELLS         (REGIONS * ZONES * CELLS_PER_ZONE)
#define HOSTS_PER_CELL 10
#define NHOSTS         (NCELLS * HOSTS_PER_CELL)
#define REQ_PER_S      20.0 /* default; SAFETY_REQ_PER_S overrides */
#define BASE_ERR       0.005
#define LATENCY_MS     20.0 /* median of a host with latency factor 1 */
#define CHRONIC_BIAS   3.0  /* the chronically bad cell's error rate, x */
#define APPLY_MAX_MS   20000
#define REPORT_MIN_MS  10000
#define REPORT_MAX_MS  30000
#define TICK_MS        15000
#define WARMUP_MS      (12 * 60000)
#define MAX_RUN_MS     (10 * 3600 * 1000LL)
#define T0_MS          1800000000000LL
#define DEFAULT_TRIALS 100

/* The fleet's noise (sim/model.h; bench/README.md says why these values). */
static const struct model_noise fleet_noise = {
    .rate_sigma = 0.2,
    .latency_sigma = 0.35,
    .tail_share = 0.02,
    .tail_alpha = 1.5,
    .tail_min = 3.0,
    .error_dispersion = 0.5,
};

/* naive alarm */
#define NAIVE_WINDOW_MIN  5
#define NAIVE_HISTORY_MIN 60
#define NAIVE_RATIO       1.5
#define NAIVE_FLOOR       0.01
#define NAIVE_RESP_MIN_MS (2 * 60000)
#define NAIVE_RESP_MAX_MS (10 * 60000)
#define NAIVE_HORIZON_MS  (3 * 3600 * 1000LL)
#define NAIVE_MINUTES     ((int)(NAIVE_HORIZON_MS / 60000) + NAIVE_WINDOW_MIN + NAIVE_HISTORY_MIN + 30)

/* A/A: which wave of plan_aa_doc is baked, and how long a bake that is
 * still inconclusive at the end of its bake time may go on. */
#define AA_WAVE     0
#define AA_EXTRA_MS (2 * 60000)

#define PLAN_WAVES_TAIL                                                                            \
    "{\"name\":\"ten\",\"percent\":10,\"bake_s\":1200,\"min_requests\":20000},"                    \
    "{\"name\":\"half\",\"percent\":50,\"bake_s\":1200,\"min_requests\":50000},"                   \
    "{\"name\":\"rest\",\"percent\":100,\"bake_s\":600,\"min_requests\":50000}],"                  \
    "\"max_zones_per_region\":1,"
#define PLAN_END                                                                                   \
    "\"max_apply_failures\":0,\"min_converged\":1.0},"                                             \
    "\"stuck_timeout_s\":7200,\"on_stuck\":\"rollback\",\"on_gate_failure\":\"rollback\"}"

static const char *plan_doc =
    "{\"waves\":["
    "{\"name\":\"canary\",\"cells\":1,\"bake_s\":600,\"min_requests\":5000}," PLAN_WAVES_TAIL
    "\"gates\":{\"error_rate\":{\"max\":0.05,\"max_ratio\":1.5,\"min_delta\":0.002},"
    "\"latency_p99_ms\":{\"max\":2000,\"max_ratio\":1.3,\"min_delta\":20}," PLAN_END;

/* The same plan with a one-box first wave (issue 14 item 5). */
static const char *plan_onebox_doc =
    "{\"waves\":["
    "{\"name\":\"canary\",\"cells\":1,\"hosts\":1,\"bake_s\":600,\"min_requests\":5000},"
    "{\"name\":\"first-cell\",\"cells\":1,\"bake_s\":600,\"min_requests\":5000}," PLAN_WAVES_TAIL
    "\"gates\":{\"error_rate\":{\"max\":0.05,\"max_ratio\":1.5,\"min_delta\":0.002},"
    "\"latency_p99_ms\":{\"max\":2000,\"max_ratio\":1.3,\"min_delta\":20}," PLAN_END;

/* The same plan without min_delta, for the A/A bakes. */
static const char *plan_aa_doc =
    "{\"waves\":["
    "{\"name\":\"canary\",\"cells\":1,\"bake_s\":600,\"min_requests\":5000}," PLAN_WAVES_TAIL
    "\"gates\":{\"error_rate\":{\"max\":0.05,\"max_ratio\":1.5,\"min_delta\":0},"
    "\"latency_p99_ms\":{\"max\":2000,\"max_ratio\":1.3,\"min_delta\":0}," PLAN_END;

enum {
    SC_GROSS,
    SC_SUBTLE,
    SC_LATENCY,
    SC_GOOD,
    SC_CHRONIC,
    SC_ONEBOX,
    SC_AA,
    NSCEN,
};
enum { SYS_CELLGATE, SYS_NAIVE, NSYS };
static const char *const sc_name[NSCEN] = {
    "gross_x10",    "subtle_x3", "latency_tail_x1_5", "good_heavy_tail", "good_chronic_cell",
    "gross_onebox", "aa_peek"};
static const double sc_err_mult[NSCEN] = {10.0, 3.0, 1.0, 1.0, 1.0, 10.0, 1.0};
static const double sc_tail_mult[NSCEN] = {1.0, 1.0, 1.5, 1.0, 1.0, 1.0, 1.0};
static const int sc_naive[NSCEN] = {1, 1, 0, 1, 0, 0, 0};
static const int sc_good[NSCEN] = {0, 0, 0, 1, 1, 0, 1};
static const char *const sys_name[NSYS] = {"cellgate", "naive"};

/* One trial's outcome (written through a pipe by the worker processes). */
struct trial {
    int scenario, system, index;
    int detected;    /* rolled back (cellgate) / alarm fired (naive) / a FAIL (A/A) */
    int completed;   /* cellgate: the rollout completed; A/A: the bake passed */
    int caught_step; /* -1 when not caught */
    int caught_wave;
    int n_waves;
    int outlier;           /* good_chronic_cell: an evaluation named the cell an outlier */
    int canary_ok;         /* good_chronic_cell: the chronic cell was the first step's */
    int held;              /* A/A: still not PASS at the end of bake + AA_EXTRA_MS */
    int64_t evaluations;   /* A/A: gates_evaluate() calls */
    double blast;          /* bad requests / all requests in the window */
    int64_t t_detect_ms;   /* -1 when not detected */
    int64_t t_rollback_ms; /* -1 when not rolled back */
    int64_t window_ms;
    uint64_t bad_req, total_req;
    double wall_s;
    char why[48]; /* what failed ("error_rate", "stuck", ...) */
};

struct host {
    int cell;
    struct model_host m; /* personality and its cell's bias */
    int64_t ver, gen;
    int64_t want_ver, want_gen, apply_at; /* apply_at < 0: nothing pending */
    int64_t acc_at;                       /* counters accrued until */
    int64_t last_report, next_report;
    int64_t seq;
    struct model_window win; /* drawn since the last report */
};

struct sim {
    struct model_rng rng;
    double cell_err[NCELLS];
    char cells[NCELLS][16];
    struct host hosts[NHOSTS];
    int64_t bad_ver;
    double mult, tail_mult;
    int64_t now;
    int chronic; /* the chronically bad cell, -1 when none */
    /* fleet counters since the start of the measured window */
    int counting;
    uint64_t total_req, bad_req;
    /* naive: per-minute fleet totals, index = minute since history start */
    int64_t minute0_ms;
    uint64_t min_req[NAIVE_MINUTES], min_err[NAIVE_MINUTES];
};

static const struct store_actor admin = {"token:bench", "bench_safety"};
static double req_per_s = REQ_PER_S;

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_safety: %s: %s\n", what, msg ? msg : "");
    exit(1);
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double unif(struct sim *s)
{
    return model_rng_unit(&s->rng);
}

static int64_t unif_ms(struct sim *s, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(unif(s) * (double)(hi - lo));
}

/* The fleet of trial 'index' (the same for every scenario and system). */
static void fleet_init(struct sim *s, int index)
{
    int r, z, k, c = 0, h;

    memset(s, 0, sizeof *s);
    model_rng_seed(&s->rng, (uint64_t)index + 1);
    for (r = 0; r < REGIONS; r++)
        for (z = 0; z < ZONES; z++)
            for (k = 0; k < CELLS_PER_ZONE; k++) {
                snprintf(s->cells[c], sizeof s->cells[c], "r%d-z%d-c%d", r, z, k);
                s->cell_err[c] = BASE_ERR * (0.8 + 0.4 * unif(s));
                c++;
            }
    for (h = 0; h < NHOSTS; h++) {
        struct host *x = &s->hosts[h];
        x->cell = h / HOSTS_PER_CELL;
        model_host_init(&x->m, &fleet_noise, &s->rng);
        x->apply_at = -1;
    }
    s->chronic = -1;
}

/* Makes cell c chronically bad: its error rate x CHRONIC_BIAS whatever it runs. */
static void make_chronic(struct sim *s, int c)
{
    s->chronic = c;
    for (int j = 0; j < HOSTS_PER_CELL; j++)
        s->hosts[c * HOSTS_PER_CELL + j].m.error_bias = CHRONIC_BIAS;
}

/* What host h's version makes it do. */
static void host_behaviour(const struct sim *s, const struct host *h, struct model_behaviour *b)
{
    int bad = s->bad_ver > 0 && h->ver == s->bad_ver;

    memset(b, 0, sizeof *b);
    b->error_rate = s->cell_err[h->cell] * (bad ? s->mult : 1.0);
    b->latency_ms = LATENCY_MS;
    b->tail_factor = bad ? s->tail_mult : 1.0;
}

/* Accrues host h's traffic over [acc_at, t) on the version it runs. */
static void accrue(struct sim *s, struct host *h, int64_t t)
{
    struct model_behaviour b;
    struct model_window w;

    if (t <= h->acc_at)
        return;
    host_behaviour(s, h, &b);
    memset(&w, 0, sizeof w);
    model_window_draw(&h->m, &b, req_per_s, t - h->acc_at, &s->rng, &w);
    h->win.requests += w.requests;
    h->win.errors += w.errors;
    cg_hist_merge(&h->win.hist, &w.hist);
    if (s->counting) {
        s->total_req += w.requests;
        if (h->ver == s->bad_ver)
            s->bad_req += w.requests;
    }
    if (s->minute0_ms) {
        int64_t m = (t - 1 - s->minute0_ms) / 60000;
        if (m >= 0 && m < NAIVE_MINUTES) {
            s->min_req[m] += w.requests;
            s->min_err[m] += w.errors;
        }
    }
    h->acc_at = t;
}

static void accrue_all(struct sim *s, int64_t t)
{
    for (int h = 0; h < NHOSTS; h++)
        accrue(s, &s->hosts[h], t);
}

/* Applies what is due at s->now; returns how many hosts still run bad_ver. */
static int apply_due(struct sim *s)
{
    int bad = 0;

    for (int i = 0; i < NHOSTS; i++) {
        struct host *h = &s->hosts[i];
        if (h->apply_at >= 0 && h->apply_at <= s->now) {
            accrue(s, h, h->apply_at);
            h->ver = h->want_ver;
            h->gen = h->want_gen;
            h->apply_at = -1;
        }
        bad += h->ver == s->bad_ver;
    }
    return bad;
}

static int pending_applies(const struct sim *s)
{
    for (int i = 0; i < NHOSTS; i++)
        if (s->hosts[i].apply_at >= 0)
            return 1;
    return 0;
}

/* Host h learns (ver, gen) now and applies it after U(0, 20) s. */
static void assign_host(struct sim *s, struct host *h, int64_t ver, int64_t gen)
{
    if (h->want_gen == gen && h->want_ver == ver)
        return;
    h->want_ver = ver;
    h->want_gen = gen;
    h->apply_at = s->now + unif_ms(s, 0, APPLY_MAX_MS);
}

/* Every host of 'cell' learns (ver, gen) now (the naive push). */
static void assign_cell(struct sim *s, int cell, int64_t ver, int64_t gen)
{
    for (int j = 0; j < HOSTS_PER_CELL; j++)
        assign_host(s, &s->hosts[cell * HOSTS_PER_CELL + j], ver, gen);
}

/* Host h's report of the window since its last one (counters reset) as the
 * agent sends it; NULL when out of memory. */
static json_t *report_json(const struct sim *s, struct host *h, int idx)
{
    char host[32];

    snprintf(host, sizeof host, "%s-h%d", s->cells[h->cell], idx % HOSTS_PER_CELL);
    return json_pack("{s:s,s:s,s:I,s:I,s:[{s:s,s:I,s:I,s:s,s:I,s:I}],s:{s:I,s:I,s:o}}", "host",
                     host, "cell", s->cells[h->cell], "seq", (json_int_t)++h->seq, "window_ms",
                     (json_int_t)(s->now - h->last_report), "configs", "config", "app", "version",
                     (json_int_t)h->ver, "generation", (json_int_t)h->gen, "outcome", "applied",
                     "lkg_version", (json_int_t)h->ver, "lkg_generation", (json_int_t)h->gen,
                     "health", "requests", (json_int_t)h->win.requests, "errors",
                     (json_int_t)h->win.errors, "latency_ms", cg_hist_to_json(&h->win.hist));
}

/* Host h (index idx) reports to 'rp' now: the window since its last report. */
static void host_report(struct reports *rp, struct sim *s, struct host *h, int idx)
{
    char msg[256];
    struct reports_change ch[REPORTS_MAX_CONFIGS];
    size_t nch = 0;
    json_t *rep;

    accrue(s, h, s->now);
    rep = report_json(s, h, idx);
    if (!rep)
        die("json_pack", "report");
    if (reports_ingest(rp, rep, s->cells[h->cell], s->now, ch, &nch, msg) != 0)
        die("reports_ingest", msg);
    json_decref(rep);
    memset(&h->win, 0, sizeof h->win);
    h->last_report = s->now;
    h->next_report = s->now + unif_ms(s, REPORT_MIN_MS, REPORT_MAX_MS);
}

/* ---- cellgate ---------------------------------------------------------- */

struct cg {
    char dir[256];
    struct store *st;
    struct reports *rp;
    struct controller *c;
    /* the assignment of "app" per cell as last read from the store */
    int64_t cell_ver[NCELLS], cell_gen[NCELLS];
    /* per-host assignments (one-box canaries): generation 0 = none */
    int64_t host_ver[NHOSTS], host_gen[NHOSTS];
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int64_t publish(struct cg *g, int n)
{
    char msg[STORE_MSG_MAX], doc[64], sha[65];
    struct store_publish p;
    struct store_version v;
    int64_t live = 0;

    snprintf(doc, sizeof doc, "{\"v\":%d}", n);
    cg_sha256_hex(doc, strlen(doc), sha);
    memset(&p, 0, sizeof p);
    p.config = "app";
    p.bytes = doc;
    p.len = strlen(doc);
    p.sha256 = sha;
    p.media_type = "application/json";
    if (store_version_live(g->st, "app", &live, msg) != CG_OK)
        die("version_live", msg);
    p.expect_live = live;
    if (store_version_publish(g->st, &p, &admin, &v, msg) != CG_OK)
        die("publish", msg);
    store_version_free(&v);
    return v.number;
}

static void cg_open(struct cg *g, struct sim *s, const char *plan)
{
    char msg[STORE_MSG_MAX], path[512];
    const char *ids[NCELLS];
    struct reports_config rc = {.max_hosts = 0, .max_keys = 0};
    struct controller_config cc = {TICK_MS, 60000, 0};
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    int r, z, k, i = 0;

    memset(g, 0, sizeof *g);
    snprintf(g->dir, sizeof g->dir, "%s/cg-bench-safety-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g->dir))
        die("mkdtemp", strerror(errno));
    snprintf(path, sizeof path, "%s/cg.db", g->dir);
    if (store_open(path, &g->st, msg) != CG_OK)
        die("store_open", msg);
    for (r = 0; r < REGIONS; r++)
        for (z = 0; z < ZONES; z++)
            for (k = 0; k < CELLS_PER_ZONE; k++) {
                struct store_cell c;
                memset(&c, 0, sizeof c);
                snprintf(c.id, sizeof c.id, "%s", s->cells[i]);
                snprintf(c.region, sizeof c.region, "region-%d", r);
                snprintf(c.zone, sizeof c.zone, "r%d-zone-%d", r, z);
                c.labels_json = "{}";
                if (store_cell_add(g->st, &c, &admin, msg) != CG_OK)
                    die("cell_add", msg);
                ids[i] = s->cells[i];
                i++;
            }
    if (store_plan_put(g->st, "safety", plan, &admin, msg) != CG_OK)
        die("plan_put", msg);
    {
        struct store_config c;
        int64_t v1, gen = 0;
        memset(&c, 0, sizeof c);
        snprintf(c.name, sizeof c.name, "app");
        snprintf(c.kind, sizeof c.kind, "config");
        snprintf(c.plan, sizeof c.plan, "safety");
        c.contract_json = "{\"schema\":{\"type\":\"object\"}}";
        if (store_config_create(g->st, &c, &admin, msg) != CG_OK)
            die("config_create", msg);
        v1 = publish(g, 1);
        if (store_assign(g->st, "app", ids, NCELLS, v1, 0, &admin, &gen, msg) != CG_OK)
            die("assign", msg);
        for (i = 0; i < NHOSTS; i++) {
            s->hosts[i].ver = s->hosts[i].want_ver = v1;
            s->hosts[i].gen = s->hosts[i].want_gen = gen;
        }
        for (i = 0; i < NCELLS; i++) {
            g->cell_ver[i] = v1;
            g->cell_gen[i] = gen;
        }
    }
    g->rp = reports_new(&rc);
    g->c = controller_new(g->st, g->rp, NULL, NULL, &cc);
    if (!g->rp || !g->c)
        die("new", "out of memory");
}

static void cg_close(struct cg *g)
{
    controller_free(g->c);
    reports_free(g->rp);
    store_close(g->st);
    nftw(g->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void cg_reports_due(struct cg *g, struct sim *s)
{
    for (int i = 0; i < NHOSTS; i++)
        if (s->hosts[i].next_report <= s->now)
            host_report(g->rp, s, &s->hosts[i], i);
}

/* The cell index of "rR-zZ-cK", or -1. */
static int cell_index(const char *id)
{
    int r, z, k, c;

    if (!id || sscanf(id, "r%d-z%d-c%d", &r, &z, &k) != 3)
        return -1;
    c = (r * ZONES + z) * CELLS_PER_ZONE + k;
    return c >= 0 && c < NCELLS ? c : -1;
}

/*
 * Which version (and generation) should host i run? The one lookup every
 * simulated agent goes through after a controller tick changed something:
 * its own assignment when a host-level step gave it one (one-box canaries;
 * the store removes it when the cell is assigned again), else its cell's
 * assignment of "app" (g->cell_ver/gen, read from the store by cg_sync()).
 * Returns 0 when the host has no assignment (then it keeps what it runs).
 */
static int desired_for_host(const struct cg *g, const struct sim *s, int i, int64_t *ver,
                            int64_t *gen)
{
    int c = s->hosts[i].cell;

    if (g->host_gen[i] > 0) {
        *ver = g->host_ver[i];
        *gen = g->host_gen[i];
        return 1;
    }
    if (g->cell_gen[c] <= 0)
        return 0;
    *ver = g->cell_ver[c];
    *gen = g->cell_gen[c];
    return 1;
}

/* Reads the assignments; hosts whose desired state changed learn it now. */
static void cg_sync(struct cg *g, struct sim *s)
{
    char msg[STORE_MSG_MAX];
    struct store_assignment *as = NULL;
    struct store_host_assignment *ha = NULL;
    size_t n = 0, nh = 0, i;

    if (store_assignment_list(g->st, NULL, "app", &as, &n, msg) != CG_OK)
        die("assignment_list", msg);
    for (i = 0; i < n; i++) {
        int c = cell_index(as[i].cell);
        if (c < 0)
            continue;
        g->cell_ver[c] = as[i].version;
        g->cell_gen[c] = as[i].generation;
    }
    store_assignments_free(as, n);
    if (store_host_assignment_list(g->st, NULL, "app", &ha, &nh, msg) != CG_OK)
        die("host_assignment_list", msg);
    memset(g->host_gen, 0, sizeof g->host_gen);
    for (i = 0; i < nh; i++) {
        int c = cell_index(ha[i].cell), j = -1;
        const char *dash = strrchr(ha[i].host, 'h');
        if (c < 0 || !dash || sscanf(dash, "h%d", &j) != 1 || j < 0 || j >= HOSTS_PER_CELL)
            continue;
        g->host_ver[c * HOSTS_PER_CELL + j] = ha[i].version;
        g->host_gen[c * HOSTS_PER_CELL + j] = ha[i].generation;
    }
    store_host_assignments_free(ha, nh);
    for (int h = 0; h < NHOSTS; h++) {
        int64_t ver, gen;
        if (desired_for_host(g, s, h, &ver, &gen))
            assign_host(s, &s->hosts[h], ver, gen);
    }
}

/* Does any "outliers" array in v (at any depth) name 'cell' ({"cell": ...})? */
static int names_outlier(json_t *v, const char *cell)
{
    const char *key;
    json_t *x, *o;
    size_t i, j;

    if (json_is_object(v)) {
        json_object_foreach(v, key, x)
        {
            if (strcmp(key, "outliers") == 0 && json_is_array(x)) {
                json_array_foreach(x, j, o)
                {
                    const char *c = json_string_value(json_object_get(o, "cell"));
                    if (c && strcmp(c, cell) == 0)
                        return 1;
                }
            }
            if (names_outlier(x, cell))
                return 1;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            if (names_outlier(x, cell))
                return 1;
        }
    }
    return 0;
}

/*
 * After the run: what made rollout 'id' roll back (the first failed gate of
 * the evaluation in its rollback.start event: "error_rate", ...; or
 * "stuck"), and, when 'outlier_cell' is given, whether any evaluation of it
 * named that cell in an "outliers" array. Evaluations are in the rollout's
 * events ("evaluation", "step.passed", rollback.start / halt details) and
 * its latest evaluation: the whole status document is searched.
 */
static void inspect(struct cg *g, int64_t id, const char *outlier_cell, struct trial *t)
{
    char msg[256];
    int status = 0;
    json_t *st = controller_status(g->c, id, &status, msg), *ev;
    size_t i, j;

    if (!st)
        die("controller_status", msg);
    if (t->detected)
        snprintf(t->why, sizeof t->why, "?");
    json_array_foreach(json_object_get(st, "events"), i, ev)
    {
        json_t *d = json_object_get(ev, "detail"), *gate;
        const char *why = json_string_value(json_object_get(d, "reason"));
        const char *kind = json_string_value(json_object_get(ev, "kind"));
        if (!t->detected || !kind || strcmp(kind, "rollback.start") != 0)
            continue;
        if (why && strncmp(why, "stuck", 5) == 0) {
            snprintf(t->why, sizeof t->why, "stuck");
            break;
        }
        json_array_foreach(json_object_get(json_object_get(d, "evaluation"), "gates"), j, gate)
        {
            const char *v = json_string_value(json_object_get(gate, "verdict"));
            if (v && strcmp(v, "fail") == 0) {
                snprintf(t->why, sizeof t->why, "%s",
                         json_string_value(json_object_get(gate, "gate")));
                if (getenv("SAFETY_VERBOSE"))
                    fprintf(stderr, "rollback: %s | %s\n",
                            json_string_value(json_object_get(gate, "test")),
                            json_string_value(json_object_get(gate, "reason")));
                break;
            }
        }
        break;
    }
    if (outlier_cell)
        t->outlier = names_outlier(st, outlier_cell);
    json_decref(st);
}

/* The first cell the controller will change when it rolls "app" out to
 * 'version' with plan_doc: its own planning (controller_preview()). */
static int first_planned_cell(struct cg *g, int64_t version)
{
    char msg[256];
    json_t *doc = json_loads(plan_doc, 0, NULL), *prev;
    struct plan *p = NULL;
    int status = 0, c;

    if (!doc || plan_parse(doc, &p, NULL) != CG_OK)
        die("plan_parse", "plan_doc");
    json_decref(doc);
    prev = controller_preview(g->c, p, "app", version, &status, msg);
    if (!prev)
        die("controller_preview", msg);
    c = cell_index(json_string_value(json_array_get(
        json_object_get(json_array_get(json_object_get(prev, "steps"), 0), "cells"), 0)));
    json_decref(prev);
    plan_free(p);
    if (c < 0)
        die("controller_preview", "no first cell");
    return c;
}

static void run_cellgate(struct sim *s, struct trial *t, const char *plan, int chronic)
{
    struct cg g;
    struct controller_actor a = {"token:deployer", "bench_safety", 0};
    struct store_rollout r;
    char msg[STORE_MSG_MAX];
    json_t *steps = NULL;
    int64_t id = 0, v2, start, ended = 0;
    int i;

    cg_open(&g, s, plan);
    /* Published (not assigned) before the warm-up, so that the plan can be
     * previewed and the chronic cell made the canary from the start. */
    v2 = publish(&g, 2);
    if (chronic)
        make_chronic(s, first_planned_cell(&g, v2));
    s->now = T0_MS;
    for (i = 0; i < NHOSTS; i++) {
        s->hosts[i].acc_at = s->hosts[i].last_report = s->now;
        s->hosts[i].next_report = s->now + unif_ms(s, REPORT_MIN_MS, REPORT_MAX_MS);
    }
    for (; s->now < T0_MS + WARMUP_MS; s->now += 1000)
        cg_reports_due(&g, s);

    s->bad_ver = v2;
    accrue_all(s, s->now);
    s->counting = 1;
    start = s->now;
    if (controller_begin(g.c, "app", v2, NULL, &a, &id, msg) != CG_OK)
        die("controller_begin", msg);
    if (store_rollout_get(g.st, id, &r, msg) != CG_OK)
        die("rollout_get", msg);
    steps = json_loads(r.steps_json, 0, NULL);
    store_rollout_free(&r);
    if (!steps)
        die("steps", "do not parse");
    t->n_waves = 0;
    for (i = 0; i < (int)json_array_size(steps); i++) {
        int w = (int)json_integer_value(json_object_get(json_array_get(steps, (size_t)i), "wave"));
        if (w + 1 > t->n_waves)
            t->n_waves = w + 1;
    }
    if (chronic)
        t->canary_ok = cell_index(json_string_value(json_array_get(
                           json_object_get(json_array_get(steps, 0), "cells"), 0))) == s->chronic;

    for (;; s->now += 1000) {
        int bad = apply_due(s);
        cg_reports_due(&g, s);
        if ((s->now - start) % TICK_MS == 0 && !ended) {
            int n = controller_tick(g.c, s->now);
            if (n < 0)
                die("controller_tick", "store failed");
            if (n > 0) {
                cg_sync(&g, s);
                if (store_rollout_get(g.st, id, &r, msg) != CG_OK)
                    die("rollout_get", msg);
                if (!t->detected &&
                    (strcmp(r.state, "rolling_back") == 0 || strcmp(r.state, "rolled_back") == 0 ||
                     strcmp(r.state, "halted") == 0)) {
                    t->detected = 1;
                    t->t_detect_ms = s->now - start;
                    t->caught_step = (int)r.step;
                    t->caught_wave = (int)json_integer_value(
                        json_object_get(json_array_get(steps, (size_t)r.step), "wave"));
                }
                if (r.ended_ms) {
                    ended = s->now;
                    t->completed = strcmp(r.state, "completed") == 0;
                }
                store_rollout_free(&r);
            }
        }
        if (ended && t->completed)
            break;
        if (ended && !t->completed && bad == 0 && !pending_applies(s)) {
            t->t_rollback_ms = s->now - start;
            break;
        }
        if (s->now - start > MAX_RUN_MS)
            break;
    }
    accrue_all(s, s->now);
    t->window_ms = s->now - start;
    inspect(&g, id, chronic ? s->cells[s->chronic] : NULL, t);
    json_decref(steps);
    cg_close(&g);
}

/* ---- A/A: one step's gates evaluated after every report ---------------- */

/*
 * A healthy bake of one step, peeked at after every single host report: the
 * wave (wave_cells cells, chosen at random per trial) runs version 2, the
 * other cells version 1, with the same behaviour. Before the step, a warm-up
 * as long as the longest bake with every cell on version 1, so that each side's own
 * past (wave_before, baseline_before: the window of the same length before
 * the step, as the controller's difference in differences uses) is known.
 * After every report: gates_evaluate() with plan_aa_doc's gates of wave
 * AA_WAVE (min_delta 0) on the cumulative aggregates since the step began.
 * The bake ends at the first PASS after its bake time and min_requests, or
 * AA_EXTRA_MS later (held); a FAIL at any time is a false failure.
 */
/* How many cells the A/A wave takes. */
static int aa_cells(const struct plan *p)
{
    const struct plan_wave *pw = &p->waves[AA_WAVE];

    return pw->kind == PLAN_WAVE_CELLS && pw->cells > 0 && pw->cells < NCELLS ? (int)pw->cells : 1;
}

static void run_aa(struct sim *s, struct trial *t, const struct plan *p)
{
    const struct plan_wave *pw = &p->waves[AA_WAVE];
    struct reports_config rc = {.max_hosts = 0, .max_keys = 0};
    struct reports *rp = reports_new(&rc);
    const char *wcells[NCELLS], *bcells[NCELLS];
    int64_t wv2[NCELLS], wv1[NCELLS], bv1[NCELLS];
    struct reports_cells_cache *cache[4];
    int order[NCELLS], in_wave[NCELLS], nw, nb = 0, i;
    int64_t start, bake_ms = pw->bake_s * 1000;

    if (!rp)
        die("reports_new", "out of memory");
    for (i = 0; i < 4; i++)
        if (!(cache[i] = reports_cells_cache_new()))
            die("cache", "out of memory");
    /* the wave: as many cells as the wave takes, at random */
    nw = aa_cells(p);
    for (i = 0; i < NCELLS; i++)
        order[i] = i;
    for (i = 0; i < nw; i++) {
        int j = i + (int)(unif(s) * (double)(NCELLS - i)), x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    memset(in_wave, 0, sizeof in_wave);
    for (i = 0; i < nw; i++) {
        in_wave[order[i]] = 1;
        wcells[i] = s->cells[order[i]];
        wv2[i] = 2;
        wv1[i] = 1;
    }
    for (i = 0; i < NCELLS; i++)
        if (!in_wave[i]) {
            bcells[nb] = s->cells[i];
            bv1[nb++] = 1;
        }
    s->now = T0_MS;
    for (i = 0; i < NHOSTS; i++) {
        struct host *h = &s->hosts[i];
        h->ver = h->want_ver = 1;
        h->gen = h->want_gen = 1;
        h->acc_at = h->last_report = s->now;
        h->next_report = s->now + unif_ms(s, REPORT_MIN_MS, REPORT_MAX_MS);
    }
    /* warm-up: every cell on version 1, as long as the longest bake */
    for (; s->now < T0_MS + bake_ms + AA_EXTRA_MS + REPORT_MAX_MS; s->now += 1000)
        for (i = 0; i < NHOSTS; i++)
            if (s->hosts[i].next_report <= s->now)
                host_report(rp, s, &s->hosts[i], i);
    /* the step: the wave's hosts report what they served on 1, then run 2 */
    start = s->now;
    for (i = 0; i < NHOSTS; i++) {
        struct host *h = &s->hosts[i];
        if (!in_wave[h->cell])
            continue;
        if (s->now - h->last_report >= 1000)
            host_report(rp, s, h, i);
        h->ver = h->want_ver = 2;
        h->gen = h->want_gen = 2;
    }
    t->n_waves = 1;
    for (s->now += 1000; !t->detected && !t->completed && !t->held; s->now += 1000) {
        for (i = 0; i < NHOSTS && !t->detected && !t->completed; i++) {
            struct host *h = &s->hosts[i];
            struct health_agg w, b, wb, bb;
            struct gates_input in;
            struct gates_result res;
            int64_t e = s->now - start;

            if (h->next_report > s->now)
                continue;
            host_report(rp, s, h, i);
            memset(&w, 0, sizeof w);
            memset(&b, 0, sizeof b);
            memset(&wb, 0, sizeof wb);
            memset(&bb, 0, sizeof bb);
            reports_aggregate_cells(rp, wcells, wv2, (size_t)nw, "app", start, s->now, cache[0],
                                    &w);
            reports_aggregate_cells(rp, bcells, bv1, (size_t)nb, "app", start, s->now, cache[1],
                                    &b);
            reports_aggregate_cells(rp, wcells, wv1, (size_t)nw, "app", start - e, start, cache[2],
                                    &wb);
            reports_aggregate_cells(rp, bcells, bv1, (size_t)nb, "app", start - e, start, cache[3],
                                    &bb);
            memset(&in, 0, sizeof in);
            in.wave = &w;
            in.baseline = &b;
            in.baseline_kind = GATES_BASELINE_OLD;
            in.min_requests = pw->min_requests;
            in.hosts_expected = in.hosts_converged = (uint64_t)nw * HOSTS_PER_CELL;
            in.wave_before = &wb;
            in.baseline_before = &bb;
            if (gates_evaluate(&pw->gates, &in, &res) != CG_OK)
                die("gates_evaluate", res.summary);
            t->evaluations++;
            if (res.verdict == GATES_FAIL) {
                t->detected = 1;
                t->t_detect_ms = e;
                t->caught_step = t->caught_wave = 0;
                snprintf(t->why, sizeof t->why, "?");
                for (size_t k = 0; k < res.n_records; k++)
                    if (res.records[k].verdict == GATES_FAIL) {
                        snprintf(t->why, sizeof t->why, "%s", res.records[k].gate);
                        break;
                    }
            } else if (res.verdict == GATES_PASS && e >= bake_ms &&
                       w.requests >= (uint64_t)pw->min_requests) {
                t->completed = 1;
            }
        }
        if (s->now - start >= bake_ms + AA_EXTRA_MS)
            t->held = !t->detected && !t->completed;
    }
    t->window_ms = s->now - start;
    for (i = 0; i < 4; i++)
        reports_cells_cache_free(cache[i]);
    reports_free(rp);
}
/* ---- naive: push everywhere, fleet error-rate alarm -------------------- */

static void push_all(struct sim *s, int64_t ver, int64_t gen)
{
    for (int c = 0; c < NCELLS; c++)
        assign_cell(s, c, ver, gen);
}

/* Does the alarm fire on the minutes before minute m (m = index of now)? */
static int alarm_fires(const struct sim *s, int64_t m)
{
    uint64_t wr = 0, we = 0, hr = 0, he = 0;
    int64_t i;

    if (m < NAIVE_WINDOW_MIN + NAIVE_HISTORY_MIN)
        return 0;
    for (i = m - NAIVE_WINDOW_MIN; i < m; i++) {
        wr += s->min_req[i];
        we += s->min_err[i];
    }
    for (i = m - NAIVE_WINDOW_MIN - NAIVE_HISTORY_MIN; i < m - NAIVE_WINDOW_MIN; i++) {
        hr += s->min_req[i];
        he += s->min_err[i];
    }
    if (!wr || !hr)
        return 0;
    return (double)we / (double)wr > NAIVE_RATIO * (double)he / (double)hr &&
           (double)we / (double)wr > NAIVE_FLOOR;
}

static void run_naive(struct sim *s, struct trial *t)
{
    int64_t start, respond_at = -1, i, hist_ms = (NAIVE_WINDOW_MIN + NAIVE_HISTORY_MIN) * 60000;

    t->n_waves = 1;
    s->now = T0_MS;
    s->minute0_ms = T0_MS;
    for (i = 0; i < NHOSTS; i++) {
        s->hosts[i].ver = s->hosts[i].want_ver = 1;
        s->hosts[i].gen = s->hosts[i].want_gen = 1;
        s->hosts[i].acc_at = s->now;
    }
    s->bad_ver = 2;
    /* History: the old version everywhere. */
    for (s->now += 60000; s->now <= T0_MS + hist_ms; s->now += 60000)
        accrue_all(s, s->now);
    s->now -= 60000;
    start = s->now;
    s->counting = 1;
    push_all(s, 2, 2);
    for (;; s->now += 1000) {
        int bad = apply_due(s);
        if ((s->now - start) % 60000 == 0 && s->now > start) {
            accrue_all(s, s->now);
            if (!t->detected && alarm_fires(s, (s->now - s->minute0_ms) / 60000)) {
                t->detected = 1;
                t->caught_step = t->caught_wave = 0;
                t->t_detect_ms = s->now - start;
                respond_at = s->now + unif_ms(s, NAIVE_RESP_MIN_MS, NAIVE_RESP_MAX_MS);
            }
        }
        if (respond_at >= 0 && s->now >= respond_at) {
            push_all(s, 1, 3); /* the old content as a new generation */
            respond_at = -2;
        }
        if (respond_at == -2 && bad == 0 && !pending_applies(s)) {
            t->t_rollback_ms = s->now - start;
            break;
        }
        if (!t->detected && s->now - start >= NAIVE_HORIZON_MS)
            break;
        if (s->now - start > MAX_RUN_MS)
            break;
    }
    accrue_all(s, s->now);
    t->window_ms = s->now - start;
}

/* What the workers share (read-only after main() set it up). */
struct setup {
    int trials[NSCEN]; /* trials per scenario (0: not run) */
    struct plan *aa_plan;
};

static void run_trial(const struct setup *su, int scenario, int system, int index, struct trial *t)
{
    struct sim *s = calloc(1, sizeof *s);
    double t0 = mono_s();

    if (!s)
        die("calloc", "out of memory");
    memset(t, 0, sizeof *t);
    t->scenario = scenario;
    t->system = system;
    t->index = index;
    t->caught_step = t->caught_wave = -1;
    t->t_detect_ms = t->t_rollback_ms = -1;
    fleet_init(s, index);
    /* Scenario- and system-specific stream after the shared fleet draw. */
    model_rng_seed(&s->rng, model_rng_next(&s->rng) ^
                                (((uint64_t)scenario * 7919 + (uint64_t)system * 104729 + 1) *
                                 0x2545F4914F6CDD1Dull));
    s->mult = sc_err_mult[scenario];
    s->tail_mult = sc_tail_mult[scenario];
    if (scenario == SC_AA)
        run_aa(s, t, su->aa_plan);
    else if (system == SYS_NAIVE)
        run_naive(s, t);
    else
        run_cellgate(s, t, scenario == SC_ONEBOX ? plan_onebox_doc : plan_doc,
                     scenario == SC_CHRONIC);
    t->bad_req = s->bad_req;
    t->total_req = s->total_req;
    t->blast = s->total_req ? (double)s->bad_req / (double)s->total_req : 0;
    t->wall_s = mono_s() - t0;
    free(s);
}

/* ---- statistics and output --------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* q-quantile (nearest rank) of v[0..n), sorting v; NAN when empty. */
static double quantile(double *v, size_t n, double q)
{
    size_t i;

    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    i = (size_t)ceil(q * (double)n);
    return v[i ? i - 1 : 0];
}

struct row {
    int trials, detected, first_wave, before_last, completed, outliers, canary_ok, held;
    double blast_med, blast_p95, blast_max;
    double det_med, det_p95, rb_med, rb_p95; /* minutes */
    double bad_req_med;
    double hour_med, hour_max; /* bad requests as % of one hour of fleet requests */
    double window_med;         /* minutes */
    double evals_mean;         /* A/A: evaluations per bake */
    double wall_s;
    int by_wave[8];
    char causes[160];
};

static void summarize(const struct trial *ts, size_t nt, int sc, int sy, struct row *o)
{
    double *bl = calloc(nt + 1, sizeof *bl), *de = calloc(nt + 1, sizeof *de),
           *rb = calloc(nt + 1, sizeof *rb), *br = calloc(nt + 1, sizeof *br),
           *hr = calloc(nt + 1, sizeof *hr), *wi = calloc(nt + 1, sizeof *wi);
    size_t nb = 0, nd = 0, nr = 0, off = 0;
    char names[8][48];
    int counts[8], nn = 0, k;
    double evals = 0;

    if (!bl || !de || !rb || !br || !hr || !wi)
        die("calloc", "out of memory");
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < nt; i++) {
        const struct trial *t = &ts[i];
        if (t->scenario != sc || t->system != sy)
            continue;
        o->trials++;
        o->wall_s += t->wall_s;
        o->completed += t->completed;
        o->outliers += t->outlier;
        o->canary_ok += t->canary_ok;
        o->held += t->held;
        evals += (double)t->evaluations;
        if (t->detected) {
            o->detected++;
            o->first_wave += t->caught_wave == 0;
            o->before_last += t->caught_wave >= 0 && t->caught_wave < t->n_waves - 1;
            de[nd++] = (double)t->t_detect_ms / 60000.0;
            if (t->caught_wave >= 0 && t->caught_wave < 8)
                o->by_wave[t->caught_wave]++;
            const char *nm = t->why[0] ? t->why : "alarm";
            for (k = 0; k < nn && strcmp(names[k], nm) != 0; k++)
                ;
            if (k == nn && nn < 8) {
                snprintf(names[nn], sizeof names[nn], "%s", nm);
                counts[nn++] = 0;
            }
            if (k < nn)
                counts[k]++;
        }
        /* one hour of this trial's fleet traffic */
        hr[nb] = t->window_ms > 0 && t->total_req
                     ? 100.0 * (double)t->bad_req /
                           ((double)t->total_req * 3600000.0 / (double)t->window_ms)
                     : 0;
        wi[nb] = (double)t->window_ms / 60000.0;
        if (t->t_rollback_ms >= 0)
            rb[nr++] = (double)t->t_rollback_ms / 60000.0;
        br[nb] = (double)t->bad_req;
        bl[nb++] = 100.0 * t->blast;
    }
    o->evals_mean = o->trials ? evals / o->trials : NAN;
    o->blast_med = quantile(bl, nb, 0.5);
    o->blast_p95 = quantile(bl, nb, 0.95);
    o->blast_max = nb ? bl[nb - 1] : NAN;
    o->bad_req_med = quantile(br, nb, 0.5);
    o->hour_med = quantile(hr, nb, 0.5);
    o->hour_max = nb ? hr[nb - 1] : NAN;
    o->window_med = quantile(wi, nb, 0.5);
    o->causes[0] = '\0';
    for (k = 0; k < nn; k++)
        off += (size_t)snprintf(o->causes + off, sizeof o->causes - off, "%s%s:%d", k ? "," : "",
                                names[k], counts[k]);
    if (!nn)
        snprintf(o->causes, sizeof o->causes, "none");
    o->det_med = quantile(de, nd, 0.5);
    o->det_p95 = quantile(de, nd, 0.95);
    o->rb_med = quantile(rb, nr, 0.5);
    o->rb_p95 = quantile(rb, nr, 0.95);
    free(bl);
    free(de);
    free(rb);
    free(br);
    free(hr);
    free(wi);
}

static double pct(int a, int b)
{
    return b ? 100.0 * a / b : NAN;
}

/* One unit of work: trial 'index' of (scenario, system). */
struct job {
    int sc, sy, idx;
};

/* Runs jobs w, w + nw, ... of the list, writing trials to fd. */
static void worker(const struct setup *su, const struct job *jobs, int njobs, int w, int nw, int fd)
{
    for (int j = w; j < njobs; j += nw) {
        struct trial t;
        run_trial(su, jobs[j].sc, jobs[j].sy, jobs[j].idx, &t);
        if (write(fd, &t, sizeof t) != (ssize_t)sizeof t)
            die("write", strerror(errno));
    }
}

/* A positive integer from the environment, or 'def'. */
static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    int x = v ? atoi(v) : 0;

    return x > 0 ? x : def;
}

/* Why the plan parser refuses 'doc' ("" when it accepts it), one line
 * without '=' or blanks (it goes into a SAFETY_ROW value too). */
static void plan_refusal(const char *doc, char *out, size_t len)
{
    json_t *j = json_loads(doc, 0, NULL), *errs = json_array(), *e;
    struct plan *p = NULL;

    out[0] = '\0';
    if (!j || !errs)
        die("plan", "does not parse");
    if (plan_parse(j, &p, errs) != CG_OK) {
        e = json_array_get(errs, 0);
        snprintf(out, len, "%s: %s", json_string_value(json_object_get(e, "pointer")),
                 json_string_value(json_object_get(e, "message")));
        if (!out[0] || !e)
            snprintf(out, len, "refused");
    }
    plan_free(p);
    json_decref(j);
    json_decref(errs);
}

/* 'in' with blanks and '=' replaced by '_' (a SAFETY_ROW value). */
static void kv_safe(const char *in, char *out, size_t len)
{
    size_t i;

    for (i = 0; in[i] && i + 1 < len; i++)
        out[i] = (in[i] == ' ' || in[i] == '=' || in[i] == '\t') ? '_' : in[i];
    out[i] = '\0';
}

static const char *yes(int ok)
{
    return ok ? "yes" : "no";
}

int main(int argc, char **argv)
{
    const char *env = getenv("SAFETY_TRIALS");
    int trials = argc > 1 ? atoi(argv[1]) : env ? atoi(env) : DEFAULT_TRIALS;
    int jobs = getenv("SAFETY_JOBS") ? atoi(getenv("SAFETY_JOBS")) : 2;
    size_t nt = 0, cap = 0;
    struct trial *ts;
    struct job *jl;
    struct setup su;
    struct row rows[NSCEN][NSYS];
    int fds[64], w, sc, sy, njobs = 0, maxt = 0;
    pid_t pids[64];
    double t0 = mono_s();
    char onebox_refused[200], safe[200];

    if (trials < 1)
        trials = DEFAULT_TRIALS;
    if (getenv("SAFETY_REQ_PER_S") && atof(getenv("SAFETY_REQ_PER_S")) > 0)
        req_per_s = atof(getenv("SAFETY_REQ_PER_S"));
    if (jobs < 1 || jobs > 64)
        jobs = 2;
    memset(&su, 0, sizeof su);
    for (sc = 0; sc < NSCEN; sc++)
        su.trials[sc] = trials;
    su.trials[SC_GOOD] = su.trials[SC_CHRONIC] = env_int("SAFETY_GOOD_TRIALS", 2 * trials);
    su.trials[SC_AA] = env_int("SAFETY_AA_BAKES", 10 * trials);
    if (getenv("SAFETY_ONLY")) {
        /* a comma-separated list of scenarios to run (the others: none) */
        const char *only = getenv("SAFETY_ONLY");
        for (sc = 0; sc < NSCEN; sc++) {
            size_t len = strlen(sc_name[sc]);
            const char *p = strstr(only, sc_name[sc]);
            while (p && ((p != only && p[-1] != ',') || (p[len] != '\0' && p[len] != ',')))
                p = strstr(p + 1, sc_name[sc]);
            if (!p)
                su.trials[sc] = 0;
        }
    }
    plan_refusal(plan_onebox_doc, onebox_refused, sizeof onebox_refused);
    if (onebox_refused[0])
        su.trials[SC_ONEBOX] = 0;
    {
        json_t *j = json_loads(plan_aa_doc, 0, NULL);
        if (!j || plan_parse(j, &su.aa_plan, NULL) != CG_OK)
            die("plan_parse", "plan_aa_doc");
        json_decref(j);
    }
    for (sc = 0; sc < NSCEN; sc++) {
        cap += (size_t)su.trials[sc] * (sc_naive[sc] ? 2 : 1);
        maxt = su.trials[sc] > maxt ? su.trials[sc] : maxt;
    }
    ts = calloc(cap + 1, sizeof *ts);
    jl = calloc(cap + 1, sizeof *jl);
    if (!ts || !jl)
        die("calloc", "out of memory");
    /* trial-major, so that every worker gets a share of every scenario */
    for (int i = 0; i < maxt; i++)
        for (sc = 0; sc < NSCEN; sc++)
            for (sy = 0; sy < (sc_naive[sc] ? NSYS : 1); sy++)
                if (i < su.trials[sc]) {
                    jl[njobs].sc = sc;
                    jl[njobs].sy = sy;
                    jl[njobs++].idx = i;
                }
    if ((size_t)njobs != cap)
        die("jobs", "miscounted");
    fprintf(stderr,
            "bench_safety: %d trials (good changes %d, A/A bakes %d) x %d scenarios, %d cells x "
            "%d hosts, %d processes\n",
            trials, su.trials[SC_GOOD], su.trials[SC_AA], NSCEN, NCELLS, HOSTS_PER_CELL, jobs);
    fflush(stderr);
    for (w = 0; w < jobs; w++) {
        int p[2];
        if (pipe(p) != 0)
            die("pipe", strerror(errno));
        pids[w] = fork();
        if (pids[w] < 0)
            die("fork", strerror(errno));
        if (pids[w] == 0) {
            close(p[0]);
            worker(&su, jl, njobs, w, jobs, p[1]);
            close(p[1]);
            _exit(0);
        }
        close(p[1]);
        fds[w] = p[0];
    }
    for (w = 0; w < jobs; w++) {
        struct trial t;
        ssize_t got;
        while ((got = read(fds[w], &t, sizeof t)) == (ssize_t)sizeof t && nt < cap)
            ts[nt++] = t;
        if (got < 0)
            die("read", strerror(errno));
        close(fds[w]);
    }
    for (w = 0; w < jobs; w++) {
        int st = 0;
        if (waitpid(pids[w], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("worker", "failed");
    }
    if (nt != cap)
        die("workers", "missing trials");

    printf("fleet: %d regions x %d zones x %d cells x %d hosts, ~%.0f req/s per host (log-normal "
           "factor, sigma %.2f)\n",
           REGIONS, ZONES, CELLS_PER_ZONE, HOSTS_PER_CELL, req_per_s, fleet_noise.rate_sigma);
    printf("noise: cell error rate 0.5%% x U(0.8,1.2), per host and segment x Gamma(mean 1, "
           "variance %.2f); latency median %.0f ms x host factor (log-normal, sigma %.2f), "
           "%.0f%% of requests from a Pareto tail (shape %.1f, from %.0fx the median): p50 %.1f "
           "ms, p99 %.1f ms, p99.9 %.0f ms (x1.5 tail: p99 %.1f ms)\n",
           fleet_noise.error_dispersion, LATENCY_MS, fleet_noise.latency_sigma,
           100 * fleet_noise.tail_share, fleet_noise.tail_alpha, fleet_noise.tail_min,
           model_latency_quantile(0.5, LATENCY_MS, &fleet_noise, 1),
           model_latency_quantile(0.99, LATENCY_MS, &fleet_noise, 1),
           model_latency_quantile(0.999, LATENCY_MS, &fleet_noise, 1),
           model_latency_quantile(0.99, LATENCY_MS, &fleet_noise, 1.5));
    printf("plan: %s\n", plan_doc);
    printf("naive: push to all cells at once; alarm every 1 min: 5-min fleet error rate > %.1f x "
           "previous 60 min AND > %.1f%%; rollback %d-%d min after the alarm; miss after %lld h\n",
           NAIVE_RATIO, 100 * NAIVE_FLOOR, NAIVE_RESP_MIN_MS / 60000, NAIVE_RESP_MAX_MS / 60000,
           (long long)(NAIVE_HORIZON_MS / 3600000));
    printf("blast radius = requests served by the new version / all fleet requests from start "
           "to the last host back on the old version (or to completion / 3 h horizon)\n\n");
    printf("%-18s %-8s %6s %9s %7s %8s | %26s | %15s | %15s | %6s\n", "", "", "", "", "first",
           "before", "blast radius % of fleet", "detect (min)", "rollback (min)", "");
    printf("%-18s %-8s %6s %9s %7s %8s | %8s %8s %8s | %7s %7s | %7s %7s | %6s\n", "scenario",
           "system", "trials", "detected", "wave", "last", "median", "p95", "max", "median", "p95",
           "median", "p95", "falseRB");
    for (sc = 0; sc < NSCEN; sc++)
        for (sy = 0; sy < NSYS; sy++) {
            struct row *o = &rows[sc][sy];
            char fw[16], bl[16], fr[16];
            summarize(ts, nt, sc, sy, o);
            if (sc == SC_AA || (sy == SYS_NAIVE && !sc_naive[sc]))
                continue;
            if (sc == SC_ONEBOX && onebox_refused[0]) {
                printf("%-18s %-8s skipped (plan refused: %s)\n", sc_name[sc], sys_name[sy],
                       onebox_refused);
                continue;
            }
            snprintf(fr, sizeof fr, "%d", o->detected);
            if (sy == SYS_NAIVE) {
                snprintf(fw, sizeof fw, "-");
                snprintf(bl, sizeof bl, "-");
            } else {
                snprintf(fw, sizeof fw, "%.0f%%", pct(o->first_wave, o->trials));
                snprintf(bl, sizeof bl, "%.0f%%", pct(o->before_last, o->trials));
            }
            printf("%-18s %-8s %6d %8.0f%% %7s %8s | %8.3f %8.3f %8.3f | %7.1f %7.1f | %7.1f "
                   "%7.1f | %6s\n",
                   sc_name[sc], sys_name[sy], o->trials, pct(o->detected, o->trials), fw, bl,
                   o->blast_med, o->blast_p95, o->blast_max, o->det_med, o->det_p95, o->rb_med,
                   o->rb_p95, sc_good[sc] ? fr : "-");
        }
    printf("(good changes: \"detected\" = false rollbacks (cellgate) / false alarms (naive); "
           "blast radius there is the share served by the good new version before "
           "completion)\n\n");
    printf("%-18s %-8s | %19s | %7s | %-19s | %s\n", "", "", "bad req % of 1h fleet", "window",
           "caught in wave", "");
    printf("%-18s %-8s | %9s %9s | %7s | %-19s | %s\n", "scenario", "system", "median", "max",
           "med min", "0/1/2/3", "what failed (detections)");
    for (sc = 0; sc < NSCEN; sc++)
        for (sy = 0; sy < NSYS; sy++) {
            struct row *o = &rows[sc][sy];
            char bw[32];
            if (sc == SC_AA || (sy == SYS_NAIVE && !sc_naive[sc]) || o->trials == 0)
                continue;
            if (sy == SYS_NAIVE)
                snprintf(bw, sizeof bw, "-");
            else
                snprintf(bw, sizeof bw, "%d/%d/%d/%d", o->by_wave[0], o->by_wave[1], o->by_wave[2],
                         o->by_wave[3]);
            printf("%-18s %-8s | %9.3f %9.3f | %7.1f | %-19s | %s\n", sc_name[sc], sys_name[sy],
                   o->hour_med, o->hour_max, o->window_med, bw, o->causes);
        }
    {
        struct row *c = &rows[SC_CHRONIC][SYS_CELLGATE], *a = &rows[SC_AA][SYS_CELLGATE];
        printf("\ngood_chronic_cell: one cell's error rate always %.0fx, the canary in %d of %d "
               "runs; false rollbacks %d; reported as an outlier in %d of %d runs\n",
               CHRONIC_BIAS, c->canary_ok, c->trials, c->detected, c->outliers, c->trials);
        printf("aa_peek: %d healthy bakes of the canary step (%d cell(s) vs the other %d, bake "
               "%llds, min_requests %lld, min_delta 0), gates after every host report (%.0f "
               "evaluations per bake): %d failed (%.2f%%) [%s], %d held past the bake\n\n",
               a->trials, aa_cells(su.aa_plan), NCELLS - aa_cells(su.aa_plan),
               (long long)su.aa_plan->waves[AA_WAVE].bake_s,
               (long long)su.aa_plan->waves[AA_WAVE].min_requests, a->evals_mean, a->detected,
               pct(a->detected, a->trials), a->causes, a->held);
    }

    for (sc = 0; sc < NSCEN; sc++)
        for (sy = 0; sy < NSYS; sy++) {
            struct row *o = &rows[sc][sy];
            if (sy == SYS_NAIVE && !sc_naive[sc])
                continue;
            if (sc == SC_ONEBOX && onebox_refused[0]) {
                kv_safe(onebox_refused, safe, sizeof safe);
                printf("SAFETY_ROW scenario=%s system=%s trials=0 skipped=plan_refused "
                       "skip_reason=%s\n",
                       sc_name[sc], sys_name[sy], safe);
                continue;
            }
            if (sc == SC_AA) {
                printf("SAFETY_ROW scenario=%s system=%s trials=%d failed=%d failed_pct=%.2f "
                       "held=%d evaluations_per_bake=%.0f wave_cells=%d bake_s=%lld min_delta=0 "
                       "causes=%s cpu_s=%.1f\n",
                       sc_name[sc], sys_name[sy], o->trials, o->detected,
                       pct(o->detected, o->trials), o->held, o->evals_mean, aa_cells(su.aa_plan),
                       (long long)su.aa_plan->waves[AA_WAVE].bake_s, o->causes, o->wall_s);
                continue;
            }
            printf("SAFETY_ROW scenario=%s system=%s trials=%d detected_pct=%.1f "
                   "first_wave_pct=%.1f before_last_wave_pct=%.1f completed=%d "
                   "blast_median_pct=%.4f blast_p95_pct=%.4f blast_max_pct=%.4f "
                   "bad_requests_median=%.0f detect_median_min=%.2f detect_p95_min=%.2f "
                   "rollback_median_min=%.2f rollback_p95_min=%.2f false_rollbacks=%d "
                   "blast_of_1h_median_pct=%.4f blast_of_1h_max_pct=%.4f window_median_min=%.1f "
                   "caught_by_wave=%d/%d/%d/%d causes=%s",
                   sc_name[sc], sys_name[sy], o->trials, pct(o->detected, o->trials),
                   pct(o->first_wave, o->trials), pct(o->before_last, o->trials), o->completed,
                   o->blast_med, o->blast_p95, o->blast_max, o->bad_req_med, o->det_med, o->det_p95,
                   o->rb_med, o->rb_p95, sc_good[sc] ? o->detected : 0, o->hour_med, o->hour_max,
                   o->window_med, o->by_wave[0], o->by_wave[1], o->by_wave[2], o->by_wave[3],
                   o->causes);
            if (sc == SC_CHRONIC)
                printf(" outliers_reported=%d chronic_canary=%d", o->outliers, o->canary_ok);
            printf(" cpu_s=%.1f\n", o->wall_s);
        }
    {
        struct row *g = &rows[SC_GROSS][SYS_CELLGATE], *ob = &rows[SC_ONEBOX][SYS_CELLGATE],
                   *s = &rows[SC_SUBTLE][SYS_CELLGATE], *l = &rows[SC_LATENCY][SYS_CELLGATE],
                   *h = &rows[SC_GOOD][SYS_CELLGATE], *c = &rows[SC_CHRONIC][SYS_CELLGATE],
                   *a = &rows[SC_AA][SYS_CELLGATE];
        printf("SAFETY_GOAL name=gross_first_wave trials=%d first_wave_pct=%.1f "
               "goal=first_wave_pct==100,trials>=100 ok=%s\n",
               g->trials, pct(g->first_wave, g->trials),
               yes(g->trials >= 100 && g->first_wave == g->trials));
        if (onebox_refused[0])
            printf("SAFETY_GOAL name=gross_onebox_blast trials=0 skipped=plan_refused "
                   "goal=first_wave_pct==100,blast_max_pct<0.5,trials>=100 ok=no\n");
        else
            printf("SAFETY_GOAL name=gross_onebox_blast trials=%d first_wave_pct=%.1f "
                   "blast_max_pct=%.4f goal=first_wave_pct==100,blast_max_pct<0.5,trials>=100 "
                   "ok=%s\n",
                   ob->trials, pct(ob->first_wave, ob->trials), ob->blast_max,
                   yes(ob->trials >= 100 && ob->first_wave == ob->trials && ob->blast_max < 0.5));
        printf("SAFETY_GOAL name=subtle_before_last_wave trials=%d before_last_wave_pct=%.1f "
               "goal=before_last_wave_pct>=99,trials>=100 ok=%s\n",
               s->trials, pct(s->before_last, s->trials),
               yes(s->trials >= 100 && pct(s->before_last, s->trials) >= 99.0));
        printf("SAFETY_GOAL name=latency_before_last_wave trials=%d before_last_wave_pct=%.1f "
               "goal=before_last_wave_pct>=95,trials>=100 ok=%s\n",
               l->trials, pct(l->before_last, l->trials),
               yes(l->trials >= 100 && pct(l->before_last, l->trials) >= 95.0));
        printf("SAFETY_GOAL name=good_heavy_tail_no_false_rollbacks trials=%d false_rollbacks=%d "
               "goal=false_rollbacks==0,trials>=200 ok=%s\n",
               h->trials, h->detected, yes(h->trials >= 200 && h->detected == 0));
        printf("SAFETY_GOAL name=good_chronic_cell_no_false_rollbacks trials=%d "
               "false_rollbacks=%d goal=false_rollbacks==0,trials>=200 ok=%s\n",
               c->trials, c->detected, yes(c->trials >= 200 && c->detected == 0));
        printf("SAFETY_GOAL name=good_chronic_cell_outlier_reported trials=%d "
               "outliers_reported=%d goal=outliers_reported==trials,trials>=200 ok=%s\n",
               c->trials, c->outliers, yes(c->trials >= 200 && c->outliers == c->trials));
        printf("SAFETY_GOAL name=aa_peek_false_failures bakes=%d failed=%d failed_pct=%.2f "
               "goal=failed_pct<=1,bakes>=1000 ok=%s\n",
               a->trials, a->detected, pct(a->detected, a->trials),
               yes(a->trials >= 1000 && pct(a->detected, a->trials) <= 1.0));
    }
    fflush(stdout);
    fprintf(stderr, "bench_safety: %.1f s wall\n", mono_s() - t0);
    plan_free(su.aa_plan);
    free(jl);
    free(ts);
    return 0;
}
