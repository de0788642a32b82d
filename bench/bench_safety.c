/* SPDX-License-Identifier: MIT */
/*
 * bench_safety.c: how safe is a change that goes through cellgate, next to a
 * naive all-at-once push watched by an error-rate alarm? (Issue 5 "safety
 * figures"; not part of the test suite.)
 *
 * In-process, like tests/unit/test_controller.c: for every trial a fresh
 * SQLite store (on /dev/shm when writable), the real reports module
 * (reports_ingest of JSON host reports) and the real rollout controller
 * (controller_tick with an injected clock). Only the fleet is simulated.
 *
 *   fleet    3 regions x 3 zones x 4 cells = 36 cells, 10 hosts each (360)
 *   traffic  each host ~20 req/s (SAFETY_REQ_PER_S; host factor U(0.8, 1.2)), per segment
 *            normal noise around the mean count (sd = sqrt(mean) + 5%)
 *   errors   per cell baseline rate 0.5% x U(0.8, 1.2); per host and segment
 *            the rate is multiplied by exp(N(0, 0.1)) (overdispersion),
 *            then errors ~ Binomial(requests, rate)
 *   latency  a 23-bucket log histogram (most requests 4..32 ms, a tail to
 *            ~500 ms) with per-bucket noise; the bad versions do not change it
 *   agents   apply a new assignment after U(0, 20) s; report every U(10, 30) s
 *            the requests and errors since their last report, keyed (as the
 *            real agent protocol does) by the version they run at report time
 *   ticks    controller_tick every 15 s of simulated time
 *
 * Scenarios (the new version's error rate as a multiple of each cell's
 * baseline): gross x10 (0.5% -> 5%), subtle x3 (0.5% -> 1.5%), A/A x1 (a
 * good change). Each runs N trials (default 100; argv[1] or SAFETY_TRIALS)
 * for both systems; trial i of every scenario and system uses the same fleet
 * (seed i).
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
 *                 the window (for A/A the "new" version is the good one)
 *
 * Prints a table, one SAFETY_ROW line per scenario x system and one
 * SAFETY_GOAL line per goal (bench/run.sh records them). Runs the trials in
 * SAFETY_JOBS processes (default 2).
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
#include "health.h"
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
#define OVERDISP_SD    0.1
#define APPLY_MAX_MS   20000
#define REPORT_MIN_MS  10000
#define REPORT_MAX_MS  30000
#define TICK_MS        15000
#define WARMUP_MS      120000
#define MAX_RUN_MS     (10 * 3600 * 1000LL)
#define T0_MS          1800000000000LL
#define DEFAULT_TRIALS 100

/* naive alarm */
#define NAIVE_WINDOW_MIN  5
#define NAIVE_HISTORY_MIN 60
#define NAIVE_RATIO       1.5
#define NAIVE_FLOOR       0.01
#define NAIVE_RESP_MIN_MS (2 * 60000)
#define NAIVE_RESP_MAX_MS (10 * 60000)
#define NAIVE_HORIZON_MS  (3 * 3600 * 1000LL)
#define NAIVE_MINUTES     ((int)(NAIVE_HORIZON_MS / 60000) + NAIVE_WINDOW_MIN + NAIVE_HISTORY_MIN + 30)

static const char *plan_doc =
    "{\"waves\":["
    "{\"name\":\"canary\",\"cells\":1,\"bake_s\":600,\"min_requests\":5000},"
    "{\"name\":\"ten\",\"percent\":10,\"bake_s\":1200,\"min_requests\":20000},"
    "{\"name\":\"half\",\"percent\":50,\"bake_s\":1200,\"min_requests\":50000},"
    "{\"name\":\"rest\",\"percent\":100,\"bake_s\":600,\"min_requests\":50000}],"
    "\"max_zones_per_region\":1,"
    "\"gates\":{\"error_rate\":{\"max\":0.05,\"max_ratio\":1.5,\"min_delta\":0.002},"
    "\"latency_p99_ms\":{\"max\":2000,\"max_ratio\":1.3,\"min_delta\":20},"
    "\"max_apply_failures\":0,\"min_converged\":1.0},"
    "\"stuck_timeout_s\":7200,\"on_stuck\":\"rollback\",\"on_gate_failure\":\"rollback\"}";

enum { SC_GROSS, SC_SUBTLE, SC_AA, NSCEN };
enum { SYS_CELLGATE, SYS_NAIVE, NSYS };
static const char *const sc_name[NSCEN] = {"gross_x10", "subtle_x3", "aa_good"};
static const double sc_mult[NSCEN] = {10.0, 3.0, 1.0};
static const char *const sys_name[NSYS] = {"cellgate", "naive"};

/* One trial's outcome (written through a pipe by the worker processes). */
struct trial {
    int scenario, system, index;
    int detected;    /* rolled back (cellgate) / alarm fired (naive) */
    int completed;   /* cellgate: the rollout completed */
    int caught_step; /* -1 when not caught */
    int caught_wave;
    int n_waves;
    double blast;          /* bad requests / all requests in the window */
    int64_t t_detect_ms;   /* -1 when not detected */
    int64_t t_rollback_ms; /* -1 when not rolled back */
    int64_t window_ms;
    uint64_t bad_req, total_req;
    double wall_s;
    char why[48]; /* cellgate: what failed ("error_rate", "stuck", ...) */
};

struct host {
    int cell;
    double rate; /* requests per ms */
    int64_t ver, gen;
    int64_t want_ver, want_gen, apply_at; /* apply_at < 0: nothing pending */
    int64_t acc_at;                       /* counters accrued until */
    int64_t last_report, next_report;
    int64_t seq;
    uint64_t win_req, win_err;
};

struct sim {
    uint64_t rng;
    double cell_err[NCELLS];
    char cells[NCELLS][16];
    struct host hosts[NHOSTS];
    int64_t bad_ver;
    double mult;
    int64_t now;
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

static uint64_t rnd(struct sim *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->rng;
}

static double unif(struct sim *s)
{
    return (double)(rnd(s) >> 11) / 9007199254740992.0;
}

static int64_t unif_ms(struct sim *s, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(unif(s) * (double)(hi - lo));
}

static double gauss(struct sim *s)
{
    double u1 = unif(s) + 1e-12, u2 = unif(s);

    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* Binomial(n, p): exact for small n*p (inversion), normal approximation above. */
static uint64_t binom(struct sim *s, uint64_t n, double p)
{
    double mean = (double)n * p, x;

    if (n == 0 || p <= 0)
        return 0;
    if (p >= 1)
        return n;
    if (mean < 30) {
        /* Poisson(mean) by inversion: close to the binomial for small p. */
        double u = unif(s), pk = exp(-mean), cdf = pk;
        uint64_t k = 0;
        while (u > cdf && k < n) {
            k++;
            pk *= mean / (double)k;
            cdf += pk;
        }
        return k;
    }
    x = mean + gauss(s) * sqrt(mean * (1 - p));
    if (x < 0)
        return 0;
    return x > (double)n ? n : (uint64_t)llround(x);
}

static void seed_sim(struct sim *s, uint64_t seed)
{
    s->rng = seed * 0x9E3779B97F4A7C15ull + 88172645463325252ull;
    if (!s->rng)
        s->rng = 1;
    for (int i = 0; i < 16; i++)
        rnd(s);
}

/* The fleet of trial 'index' (the same for every scenario and system). */
static void fleet_init(struct sim *s, int index)
{
    int r, z, k, c = 0, h;

    memset(s, 0, sizeof *s);
    seed_sim(s, (uint64_t)index + 1);
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
        x->rate = req_per_s * (0.8 + 0.4 * unif(s)) / 1000.0;
        x->apply_at = -1;
    }
}

/* Accrues host h's traffic over [acc_at, t) on the version it runs. */
static void accrue(struct sim *s, struct host *h, int64_t t)
{
    double mean, n, p;
    uint64_t nreq, nerr;

    if (t <= h->acc_at)
        return;
    mean = h->rate * (double)(t - h->acc_at);
    n = mean + gauss(s) * (sqrt(mean) + 0.05 * mean);
    nreq = n < 0 ? 0 : (uint64_t)llround(n);
    p = s->cell_err[h->cell] * (h->ver == s->bad_ver ? s->mult : 1.0) * exp(OVERDISP_SD * gauss(s));
    nerr = binom(s, nreq, p);
    h->win_req += nreq;
    h->win_err += nerr;
    if (s->counting) {
        s->total_req += nreq;
        if (h->ver == s->bad_ver)
            s->bad_req += nreq;
    }
    if (s->minute0_ms) {
        int64_t m = (t - 1 - s->minute0_ms) / 60000;
        if (m >= 0 && m < NAIVE_MINUTES) {
            s->min_req[m] += nreq;
            s->min_err[m] += nerr;
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

/* Every host of 'cell' learns (ver, gen) now and applies it after U(0, 20) s. */
static void assign_cell(struct sim *s, int cell, int64_t ver, int64_t gen)
{
    for (int j = 0; j < HOSTS_PER_CELL; j++) {
        struct host *h = &s->hosts[cell * HOSTS_PER_CELL + j];
        if (h->want_gen == gen && h->want_ver == ver)
            continue;
        h->want_ver = ver;
        h->want_gen = gen;
        h->apply_at = s->now + unif_ms(s, 0, APPLY_MAX_MS);
    }
}

/* ---- cellgate ---------------------------------------------------------- */

struct cg {
    char dir[256];
    struct store *st;
    struct reports *rp;
    struct controller *c;
    int64_t cell_gen[NCELLS];
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

static void cg_open(struct cg *g, struct sim *s)
{
    char msg[STORE_MSG_MAX], path[512];
    const char *ids[NCELLS];
    struct reports_config rc = {0, 0};
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
    if (store_plan_put(g->st, "safety", plan_doc, &admin, msg) != CG_OK)
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
        for (i = 0; i < NCELLS; i++)
            g->cell_gen[i] = gen;
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

/* Host h reports the window since its last report (counters reset). */
static void cg_report(struct cg *g, struct sim *s, struct host *h, int idx)
{
    /* Latency shape: most requests 4..32 ms, a tail to ~500 ms. */
    static const double shape[CG_HIST_BUCKETS] = {0,     0,     0.004, 0.02, 0.08,  0.22,
                                                  0.30,  0.21,  0.10,  0.04, 0.015, 0.006,
                                                  0.003, 0.001, 0.001, 0,    0};
    char msg[256], host[32];
    struct reports_change ch[REPORTS_MAX_CONFIGS];
    size_t nch = 0;
    json_t *hist = json_array(), *rep;
    int i;

    accrue(s, h, s->now);
    for (i = 0; i < CG_HIST_BUCKETS; i++)
        json_array_append_new(hist, json_integer((json_int_t)llround(shape[i] * (double)h->win_req *
                                                                     (0.9 + 0.2 * unif(s)))));
    snprintf(host, sizeof host, "%s-h%d", s->cells[h->cell], idx % HOSTS_PER_CELL);
    rep = json_pack("{s:s,s:s,s:I,s:I,s:[{s:s,s:I,s:I,s:s,s:I,s:I}],s:{s:I,s:I,s:{s:o}}}", "host",
                    host, "cell", s->cells[h->cell], "seq", (json_int_t)++h->seq, "window_ms",
                    (json_int_t)(s->now - h->last_report), "configs", "config", "app", "version",
                    (json_int_t)h->ver, "generation", (json_int_t)h->gen, "outcome", "applied",
                    "lkg_version", (json_int_t)h->ver, "lkg_generation", (json_int_t)h->gen,
                    "health", "requests", (json_int_t)h->win_req, "errors", (json_int_t)h->win_err,
                    "latency_ms", "buckets", hist);
    if (!rep)
        die("json_pack", "report");
    if (reports_ingest(g->rp, rep, s->cells[h->cell], s->now, ch, &nch, msg) != 0)
        die("reports_ingest", msg);
    json_decref(rep);
    h->win_req = h->win_err = 0;
    h->last_report = s->now;
    h->next_report = s->now + unif_ms(s, REPORT_MIN_MS, REPORT_MAX_MS);
}

static void cg_reports_due(struct cg *g, struct sim *s)
{
    for (int i = 0; i < NHOSTS; i++)
        if (s->hosts[i].next_report <= s->now)
            cg_report(g, s, &s->hosts[i], i);
}

/* Reads the assignments; hosts of changed cells learn them now. */
static void cg_sync(struct cg *g, struct sim *s)
{
    char msg[STORE_MSG_MAX];
    struct store_assignment *as = NULL;
    size_t n = 0, i;

    if (store_assignment_list(g->st, NULL, "app", &as, &n, msg) != CG_OK)
        die("assignment_list", msg);
    for (i = 0; i < n; i++) {
        int r, z, k, c;
        if (sscanf(as[i].cell, "r%d-z%d-c%d", &r, &z, &k) != 3)
            continue;
        c = (r * ZONES + z) * CELLS_PER_ZONE + k;
        if (c < 0 || c >= NCELLS || as[i].generation == g->cell_gen[c])
            continue;
        g->cell_gen[c] = as[i].generation;
        assign_cell(s, c, as[i].version, as[i].generation);
    }
    store_assignments_free(as, n);
}

/* What made rollout 'id' roll back: the first failed gate of the
 * evaluation in its rollback.start event ("error_rate", ...), or "stuck". */
static void failure_cause(struct cg *g, int64_t id, char *out, size_t len)
{
    char msg[256];
    int status = 0;
    json_t *st = controller_status(g->c, id, &status, msg), *ev;
    size_t i, j;

    snprintf(out, len, "?");
    json_array_foreach(json_object_get(st, "events"), i, ev)
    {
        json_t *d = json_object_get(ev, "detail"), *gate;
        const char *why = json_string_value(json_object_get(d, "reason"));
        if (strcmp(json_string_value(json_object_get(ev, "kind")), "rollback.start") != 0)
            continue;
        if (why && strncmp(why, "stuck", 5) == 0) {
            snprintf(out, len, "stuck");
            break;
        }
        json_array_foreach(json_object_get(json_object_get(d, "evaluation"), "gates"), j, gate)
        {
            if (strcmp(json_string_value(json_object_get(gate, "verdict")), "fail") == 0) {
                snprintf(out, len, "%s", json_string_value(json_object_get(gate, "gate")));
                break;
            }
        }
        break;
    }
    json_decref(st);
}

static void run_cellgate(struct sim *s, struct trial *t)
{
    struct cg g;
    struct controller_actor a = {"token:deployer", "bench_safety", 0};
    struct store_rollout r;
    char msg[STORE_MSG_MAX];
    json_t *steps = NULL;
    int64_t id = 0, v2, start, ended = 0;
    int i;

    cg_open(&g, s);
    s->now = T0_MS;
    for (i = 0; i < NHOSTS; i++) {
        s->hosts[i].acc_at = s->hosts[i].last_report = s->now;
        s->hosts[i].next_report = s->now + unif_ms(s, REPORT_MIN_MS, REPORT_MAX_MS);
    }
    for (; s->now < T0_MS + WARMUP_MS; s->now += 1000)
        cg_reports_due(&g, s);

    v2 = publish(&g, 2);
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
                    failure_cause(&g, id, t->why, sizeof t->why);
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
    json_decref(steps);
    cg_close(&g);
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

static void run_trial(int scenario, int system, int index, struct trial *t)
{
    static struct sim s;
    double t0 = mono_s();

    memset(t, 0, sizeof *t);
    t->scenario = scenario;
    t->system = system;
    t->index = index;
    t->caught_step = t->caught_wave = -1;
    t->t_detect_ms = t->t_rollback_ms = -1;
    fleet_init(&s, index);
    /* Scenario- and system-specific stream after the shared fleet draw. */
    s.rng ^= ((uint64_t)scenario * 7919 + (uint64_t)system * 104729 + 1) * 0x2545F4914F6CDD1Dull;
    s.mult = sc_mult[scenario];
    if (system == SYS_CELLGATE)
        run_cellgate(&s, t);
    else
        run_naive(&s, t);
    t->bad_req = s.bad_req;
    t->total_req = s.total_req;
    t->blast = s.total_req ? (double)s.bad_req / (double)s.total_req : 0;
    t->wall_s = mono_s() - t0;
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
    int trials, detected, first_wave, before_last, completed;
    double blast_med, blast_p95, blast_max;
    double det_med, det_p95, rb_med, rb_p95; /* minutes */
    double bad_req_med;
    double hour_med, hour_max; /* bad requests as % of one hour of fleet requests */
    double window_med;         /* minutes */
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

/* Runs jobs [from, to) of the job list, writing trials to fd. */
static void worker(int trials, int w, int nw, int fd)
{
    int njobs = NSCEN * NSYS * trials;

    for (int j = w; j < njobs; j += nw) {
        struct trial t;
        int sc = j / (NSYS * trials), sy = (j / trials) % NSYS, idx = j % trials;
        run_trial(sc, sy, idx, &t);
        if (write(fd, &t, sizeof t) != (ssize_t)sizeof t)
            die("write", strerror(errno));
    }
}

int main(int argc, char **argv)
{
    const char *env = getenv("SAFETY_TRIALS");
    int trials = argc > 1 ? atoi(argv[1]) : env ? atoi(env) : DEFAULT_TRIALS;
    int jobs = getenv("SAFETY_JOBS") ? atoi(getenv("SAFETY_JOBS")) : 2;
    size_t nt = 0, cap;
    struct trial *ts;
    struct row rows[NSCEN][NSYS];
    int fds[64], w, sc, sy;
    pid_t pids[64];
    double t0 = mono_s();

    if (trials < 1)
        trials = DEFAULT_TRIALS;
    if (getenv("SAFETY_REQ_PER_S") && atof(getenv("SAFETY_REQ_PER_S")) > 0)
        req_per_s = atof(getenv("SAFETY_REQ_PER_S"));
    if (jobs < 1 || jobs > 64)
        jobs = 2;
    cap = (size_t)(NSCEN * NSYS * trials);
    ts = calloc(cap, sizeof *ts);
    if (!ts)
        die("calloc", "out of memory");
    fprintf(stderr,
            "bench_safety: %d trials x %d scenarios x %d systems, %d cells x %d hosts, %d "
            "processes\n",
            trials, NSCEN, NSYS, NCELLS, HOSTS_PER_CELL, jobs);
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
            worker(trials, w, jobs, p[1]);
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

    printf("fleet: %d regions x %d zones x %d cells x %d hosts, ~%.0f req/s per host, cell "
           "error rate 0.5%% x U(0.8,1.2)\n",
           REGIONS, ZONES, CELLS_PER_ZONE, HOSTS_PER_CELL, req_per_s);
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
            char fw[16], bl[16];
            summarize(ts, nt, sc, sy, o);
            if (sy == SYS_NAIVE) {
                snprintf(fw, sizeof fw, "-");
                snprintf(bl, sizeof bl, "-");
            } else {
                snprintf(fw, sizeof fw, "%.0f%%", pct(o->first_wave, o->trials));
                snprintf(bl, sizeof bl, "%.0f%%", pct(o->before_last, o->trials));
            }
            printf("%-18s %-8s %6d %8.0f%% %7s %8s | %8.3f %8.3f %8.3f | %7.1f %7.1f | %7.1f "
                   "%7.1f | %6d\n",
                   sc_name[sc], sys_name[sy], o->trials, pct(o->detected, o->trials), fw, bl,
                   o->blast_med, o->blast_p95, o->blast_max, o->det_med, o->det_p95, o->rb_med,
                   o->rb_p95, sc == SC_AA ? o->detected : 0);
        }
    printf("(A/A: \"detected\" = false rollbacks (cellgate) / false alarms (naive); blast radius "
           "there is the share served by the good new version before completion)\n\n");
    printf("%-18s %-8s | %19s | %7s | %-19s | %s\n", "", "", "bad req % of 1h fleet", "window",
           "caught in wave", "");
    printf("%-18s %-8s | %9s %9s | %7s | %-19s | %s\n", "scenario", "system", "median", "max",
           "med min", "0/1/2/3", "what failed (detections)");
    for (sc = 0; sc < NSCEN; sc++)
        for (sy = 0; sy < NSYS; sy++) {
            struct row *o = &rows[sc][sy];
            char bw[32];
            if (sy == SYS_NAIVE)
                snprintf(bw, sizeof bw, "-");
            else
                snprintf(bw, sizeof bw, "%d/%d/%d/%d", o->by_wave[0], o->by_wave[1], o->by_wave[2],
                         o->by_wave[3]);
            printf("%-18s %-8s | %9.3f %9.3f | %7.1f | %-19s | %s\n", sc_name[sc], sys_name[sy],
                   o->hour_med, o->hour_max, o->window_med, bw, o->causes);
        }
    printf("\n");

    for (sc = 0; sc < NSCEN; sc++)
        for (sy = 0; sy < NSYS; sy++) {
            struct row *o = &rows[sc][sy];
            printf("SAFETY_ROW scenario=%s system=%s trials=%d detected_pct=%.1f "
                   "first_wave_pct=%.1f before_last_wave_pct=%.1f completed=%d "
                   "blast_median_pct=%.4f blast_p95_pct=%.4f blast_max_pct=%.4f "
                   "bad_requests_median=%.0f detect_median_min=%.2f detect_p95_min=%.2f "
                   "rollback_median_min=%.2f rollback_p95_min=%.2f false_rollbacks=%d "
                   "blast_of_1h_median_pct=%.4f blast_of_1h_max_pct=%.4f window_median_min=%.1f "
                   "caught_by_wave=%d/%d/%d/%d causes=%s cpu_s=%.1f\n",
                   sc_name[sc], sys_name[sy], o->trials, pct(o->detected, o->trials),
                   pct(o->first_wave, o->trials), pct(o->before_last, o->trials), o->completed,
                   o->blast_med, o->blast_p95, o->blast_max, o->bad_req_med, o->det_med, o->det_p95,
                   o->rb_med, o->rb_p95, sc == SC_AA ? o->detected : 0, o->hour_med, o->hour_max,
                   o->window_med, o->by_wave[0], o->by_wave[1], o->by_wave[2], o->by_wave[3],
                   o->causes, o->wall_s);
        }
    {
        struct row *g = &rows[SC_GROSS][SYS_CELLGATE], *s = &rows[SC_SUBTLE][SYS_CELLGATE],
                   *a = &rows[SC_AA][SYS_CELLGATE];
        int ok1 = g->first_wave == g->trials && g->blast_max < 2.0 && g->trials >= 100;
        int ok2 = pct(s->before_last, s->trials) >= 95.0 && s->trials >= 100;
        int ok3 = a->detected == 0 && a->trials >= 100;
        printf("SAFETY_GOAL name=gross_first_wave_blast trials=%d first_wave_pct=%.1f "
               "blast_max_pct=%.4f goal=first_wave_pct==100,blast_max_pct<2 ok=%s\n",
               g->trials, pct(g->first_wave, g->trials), g->blast_max, ok1 ? "yes" : "no");
        printf("SAFETY_GOAL name=subtle_before_last_wave trials=%d before_last_wave_pct=%.1f "
               "goal=before_last_wave_pct>=95 ok=%s\n",
               s->trials, pct(s->before_last, s->trials), ok2 ? "yes" : "no");
        printf("SAFETY_GOAL name=aa_no_false_rollbacks trials=%d false_rollbacks=%d "
               "goal=false_rollbacks==0,trials>=100 ok=%s\n",
               a->trials, a->detected, ok3 ? "yes" : "no");
    }
    fflush(stdout);
    fprintf(stderr, "bench_safety: %.1f s wall\n", mono_s() - t0);
    free(ts);
    return 0;
}
