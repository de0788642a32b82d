/* SPDX-License-Identifier: MIT */
/*
 * bench_controller.c: how long does one controller tick take for 1,000 cells
 * and 50 open rollouts, with gates evaluated over 10,000 hosts' reports?
 * (Issue 4 "Performance"; not part of the test suite.)
 *
 * In-process, like tests/unit/test_controller.c: a temp SQLite store, a
 * reports window and a controller ticked with an injected clock.
 *
 *   fleet    5 regions x 4 zones x 50 cells = 1,000 cells, 10 hosts each
 *   configs  50 (cfg-00..49), v1 assigned to every cell, v2 published; each
 *            host follows 25 of them (agents follow at most 32 configs), so
 *            every (cell, config) has 5 reporting hosts
 *   reports  every host every 10 s of simulated time (the agent default):
 *            its 25 configs (version, generation, applied) and its health:
 *            ~2,000 requests, ~0.2% errors, a 23-bucket latency histogram,
 *            a counter (upstream_retries) and a gauge (queue_depth)
 *   plans    5 waves (canary 1 cell, 5%, 10%, 50%, 100%), gates on error
 *            rate, p50/p99 latency and both metrics; config i's plan lets
 *            its first i%4 waves bake 60 s and every later wave 1 day, so
 *            after a warm-up the 50 rollouts bake in different waves
 *            (1 to ~250 cells on the new version, the rest as baseline)
 *
 * Warm-up: v1 reports, start 50 rollouts of v2, report + tick every 10 s
 * until every rollout bakes in its long wave. Then TICKS ticks 1 s apart
 * (the controller's default period), reports ingested every 10 s between
 * them (timed apart). Every measured tick evaluates the gates of all 50
 * rollouts; some also write an "evaluation" event (an unchanged verdict is
 * logged once a minute), which is queued for the store's writer without
 * waiting for its commit.
 *
 * Prints one line per figure:
 *   controller_tick cells=.. rollouts=.. hosts=.. ticks=.. median_ms=.. p99_ms=.. max_ms=..
 *       goal_ms=5 ok=yes|no               (ok: p99_ms <= goal_ms)
 *   controller_tick_eval_only ..          ticks that wrote nothing: one full
 *                                         gate evaluation pass over 50 rollouts
 *   controller_tick_with_writes ..        ticks that wrote (or queued) events
 *   store_list_open_rollouts median_ms=.. the tick's first read (the open
 *       rollouts' heads), alone; full_rows_*: the whole rows, for comparison
 *   report_ingest reports_per_s=.. ...    reports_ingest() of one host report
 * and progress/state on stderr.
 * Usage: bench_controller [ticks]
 */
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "controller.h"
#include "health.h"
#include "reports.h"
#include "status.h"
#include "store.h"
#include "util.h"

#define REGIONS          5
#define ZONES            4
#define CELLS_PER_ZONE   50
#define NCELLS           (REGIONS * ZONES * CELLS_PER_ZONE)
#define HOSTS_PER_CELL   10
#define NHOSTS           (NCELLS * HOSTS_PER_CELL)
#define NCONFIGS         50
#define CONFIGS_PER_HOST 25
#define NPLANS           4
#define REPORT_MS        10000 /* agent report_interval default */
#define TICK_MS          1000  /* controller tick_ms default */
#define DEFAULT_TICKS    200
#define GOAL_MS          5.0
#define T0_MS            1800000000000LL

struct bench {
    char dir[256];
    struct store *st;
    struct reports *rp;
    struct controller *c;
    char cells[NCELLS][16];
    int64_t ver[NCELLS][NCONFIGS]; /* assignment per (cell, config) */
    int64_t gen[NCELLS][NCONFIGS];
    int64_t now;
    uint64_t rng;
    /* ingest timing */
    uint64_t ingested;
    double ingest_s;
};

static const struct store_actor admin = {"token:bench", "bench"};

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_controller: %s: %s\n", what, msg ? msg : "");
    exit(1);
}

static double mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(struct bench *b)
{
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    return b->rng;
}

static double unif(struct bench *b)
{
    return (double)(rnd(b) >> 11) / 9007199254740992.0;
}

/* Normal(mu, sd), clamped at 0. */
static double normal(struct bench *b, double mu, double sd)
{
    double u1 = unif(b) + 1e-12, u2 = unif(b);
    double x = mu + sd * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);

    return x < 0 ? 0 : x;
}

static const char *cfg_name(int k)
{
    static char names[NCONFIGS][16];

    if (!names[k][0])
        snprintf(names[k], sizeof names[k], "cfg-%02d", k);
    return names[k];
}

/* Plan k: the first k waves bake 60 s, the others a day (they stay open). */
static void plan_text(int k, char *out, size_t len)
{
    static const char *const waves[] = {
        "{\"name\":\"canary\",\"cells\":1,\"bake_s\":%d,\"min_requests\":%d}",
        "{\"name\":\"one-zone\",\"percent\":5,\"bake_s\":%d,\"min_requests\":%d}",
        "{\"name\":\"ten\",\"percent\":10,\"bake_s\":%d,\"min_requests\":%d}",
        "{\"name\":\"half\",\"percent\":50,\"bake_s\":%d,\"min_requests\":%d}",
        "{\"name\":\"rest\",\"percent\":100,\"bake_s\":%d,\"min_requests\":%d}",
    };
    size_t off = 0;
    int w;

    off += (size_t)snprintf(out + off, len - off, "{\"waves\":[");
    for (w = 0; w < 5; w++) {
        if (w)
            off += (size_t)snprintf(out + off, len - off, ",");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        off += (size_t)snprintf(out + off, len - off, waves[w], w < k ? 60 : 86400,
                                w < k ? 10000 : 1000000);
#pragma GCC diagnostic pop
    }
    snprintf(out + off, len - off,
             "],\"max_zones_per_region\":1,"
             "\"gates\":{\"error_rate\":{\"max\":0.05,\"max_ratio\":1.5,\"min_delta\":0.002},"
             "\"latency_p50_ms\":{\"max_ratio\":1.2,\"min_delta\":5},"
             "\"latency_p99_ms\":{\"max\":2000,\"max_ratio\":1.3,\"min_delta\":20},"
             "\"metrics\":{\"upstream_retries\":{\"max_ratio\":2.0},"
             "\"queue_depth\":{\"max_ratio\":1.5,\"min_delta\":10}},"
             "\"max_apply_failures\":0,\"min_converged\":0.5},"
             "\"stuck_timeout_s\":86400,\"on_stuck\":\"halt\",\"on_gate_failure\":\"rollback\"}");
}

static int64_t publish(struct bench *b, const char *config, int n)
{
    char msg[STORE_MSG_MAX], doc[128], sha[65];
    struct store_publish p;
    struct store_version v;
    int64_t live = 0;

    snprintf(doc, sizeof doc, "{\"service\":\"%s\",\"revision\":%d}", config, n);
    cg_sha256_hex(doc, strlen(doc), sha);
    memset(&p, 0, sizeof p);
    p.config = config;
    p.bytes = doc;
    p.len = strlen(doc);
    p.sha256 = sha;
    p.media_type = "application/json";
    if (store_version_live(b->st, config, &live, msg) != CG_OK)
        die("version_live", msg);
    p.expect_live = live;
    if (store_version_publish(b->st, &p, &admin, &v, msg) != CG_OK)
        die("publish", msg);
    store_version_free(&v);
    return v.number;
}

static void setup(struct bench *b)
{
    char msg[STORE_MSG_MAX], path[512], plan[4096], pname[16];
    const char *ids[NCELLS];
    struct reports_config rc = {.max_hosts = 0,
                                .max_keys = 200000}; /* > 50 configs x 1,000 cells x 2 versions */
    struct controller_config cc = {TICK_MS, 0, 0};
    const char *tmp = getenv("TMPDIR");
    int r, z, k, i = 0;

    snprintf(b->dir, sizeof b->dir, "%s/cg-bench-ctl-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(b->dir))
        die("mkdtemp", b->dir);
    snprintf(path, sizeof path, "%s/cg.db", b->dir);
    if (store_open(path, &b->st, msg) != CG_OK)
        die("store_open", msg);
    for (r = 0; r < REGIONS; r++)
        for (z = 0; z < ZONES; z++)
            for (k = 0; k < CELLS_PER_ZONE; k++) {
                struct store_cell c;
                memset(&c, 0, sizeof c);
                snprintf(b->cells[i], sizeof b->cells[i], "r%d-z%d-c%02d", r, z, k);
                snprintf(c.id, sizeof c.id, "%s", b->cells[i]);
                snprintf(c.region, sizeof c.region, "region-%d", r);
                snprintf(c.zone, sizeof c.zone, "r%d-zone-%d", r, z);
                c.labels_json = "{}";
                if (store_cell_add(b->st, &c, &admin, msg) != CG_OK)
                    die("cell_add", msg);
                ids[i] = b->cells[i];
                i++;
            }
    for (k = 0; k < NPLANS; k++) {
        snprintf(pname, sizeof pname, "fast%d", k);
        plan_text(k, plan, sizeof plan);
        if (store_plan_put(b->st, pname, plan, &admin, msg) != CG_OK)
            die("plan_put", msg);
    }
    for (k = 0; k < NCONFIGS; k++) {
        struct store_config c;
        int64_t v1, g = 0;
        memset(&c, 0, sizeof c);
        snprintf(c.name, sizeof c.name, "%s", cfg_name(k));
        snprintf(c.kind, sizeof c.kind, "config");
        snprintf(c.plan, sizeof c.plan, "fast%d", k % NPLANS);
        c.contract_json = "{\"schema\":{\"type\":\"object\",\"required\":[\"service\"]}}";
        if (store_config_create(b->st, &c, &admin, msg) != CG_OK)
            die("config_create", msg);
        v1 = publish(b, c.name, 1);
        if (store_assign(b->st, c.name, ids, NCELLS, v1, 0, &admin, &g, msg) != CG_OK)
            die("assign", msg);
        publish(b, c.name, 2);
    }
    b->rp = reports_new(&rc);
    b->c = controller_new(b->st, b->rp, NULL, NULL, &cc);
    if (!b->rp || !b->c)
        die("new", "out of memory");
}

/* Reads every assignment (between report rounds; not timed). */
static void load_assignments(struct bench *b)
{
    char msg[STORE_MSG_MAX];
    struct store_assignment *as = NULL;
    size_t n = 0, i;

    if (store_assignment_list(b->st, NULL, NULL, &as, &n, msg) != CG_OK)
        die("assignment_list", msg);
    for (i = 0; i < n; i++) {
        int cell, cfg;
        int r, z, k, c;
        if (sscanf(as[i].cell, "r%d-z%d-c%d", &r, &z, &k) != 3 ||
            sscanf(as[i].config, "cfg-%d", &c) != 1)
            continue;
        cell = (r * ZONES + z) * CELLS_PER_ZONE + k;
        cfg = c;
        if (cell < 0 || cell >= NCELLS || cfg < 0 || cfg >= NCONFIGS)
            continue;
        b->ver[cell][cfg] = as[i].version;
        b->gen[cell][cfg] = as[i].generation;
    }
    store_assignments_free(as, n);
}

/* One host's report for the window ending now (new reference). */
static json_t *host_report(struct bench *b, int cell, int h, int64_t seq)
{
    /* Latency shape: most requests 2..32 ms, a tail to ~500 ms. */
    static const double shape[CG_HIST_BUCKETS] = {0,     0,     0.004, 0.02, 0.08,  0.22,
                                                  0.30,  0.21,  0.10,  0.04, 0.015, 0.006,
                                                  0.003, 0.001, 0.001, 0,    0};
    char host[32];
    json_t *cfgs = json_array(), *hist = json_array(), *rep;
    double req = normal(b, 2000, 100);
    uint64_t nreq = (uint64_t)llround(req);
    uint64_t nerr = (uint64_t)llround(normal(b, (double)nreq * 0.002, sqrt((double)nreq * 0.002)));
    int k, i;

    if (nerr > nreq)
        nerr = nreq;
    snprintf(host, sizeof host, "%s-h%d", b->cells[cell], h);
    for (k = h % 2; k < NCONFIGS; k += 2) { /* 25 configs: every other one */
        json_int_t v = (json_int_t)b->ver[cell][k], g = (json_int_t)b->gen[cell][k];
        if (v <= 0)
            continue;
        json_array_append_new(cfgs, json_pack("{s:s,s:I,s:I,s:s,s:I,s:I}", "config", cfg_name(k),
                                              "version", v, "generation", g, "outcome", "applied",
                                              "lkg_version", v, "lkg_generation", g));
    }
    for (i = 0; i < CG_HIST_BUCKETS; i++)
        json_array_append_new(hist, json_integer((json_int_t)llround(shape[i] * (double)nreq *
                                                                     (0.9 + 0.2 * unif(b)))));
    rep = json_pack("{s:s,s:s,s:I,s:i,s:o,s:{s:I,s:I,s:{s:o},s:{s:{s:s,s:f},s:{s:s,s:f}}}}", "host",
                    host, "cell", b->cells[cell], "seq", (json_int_t)seq, "window_ms", REPORT_MS,
                    "configs", cfgs, "health", "requests", (json_int_t)nreq, "errors",
                    (json_int_t)nerr, "latency_ms", "buckets", hist, "metrics", "upstream_retries",
                    "type", "counter", "value", floor(normal(b, (double)nreq * 0.001, 1.0)),
                    "queue_depth", "type", "gauge", "value", normal(b, 12, 3));
    if (!rep)
        die("json_pack", "report");
    return rep;
}

/* Every host reports once at b->now; only reports_ingest() is timed. */
static void report_round(struct bench *b, int64_t seq)
{
    char msg[256];
    int cell, h;

    load_assignments(b);
    for (cell = 0; cell < NCELLS; cell++)
        for (h = 0; h < HOSTS_PER_CELL; h++) {
            struct reports_change ch[REPORTS_MAX_CONFIGS];
            size_t nch = 0;
            json_t *rep = host_report(b, cell, h, seq);
            double t = mono_s();
            if (reports_ingest(b->rp, rep, b->cells[cell], b->now, ch, &nch, msg) != 0)
                die("reports_ingest", msg);
            b->ingest_s += mono_s() - t;
            b->ingested++;
            json_decref(rep);
        }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Sorts v[0..n) and returns its q-quantile (nearest rank). */
static double quantile(double *v, size_t n, double q)
{
    size_t i;

    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    i = (size_t)ceil(q * (double)n);
    return v[i ? i - 1 : 0];
}

/* Mutations ever queued: also those queued without waiting (the
 * periodic evaluation events), which may commit after the tick. */
static uint64_t store_jobs(struct bench *b)
{
    struct store_stats s;

    memset(&s, 0, sizeof s);
    store_stats(b->st, &s);
    return s.submitted;
}

/* Open rollouts baking in their long wave (long_only) or open at all. */
static size_t count_open(struct bench *b, int long_only, char *summary, size_t len)
{
    char msg[STORE_MSG_MAX];
    struct store_rollout *rs = NULL;
    size_t n = 0, i, baking = 0, off = 0;
    int per_step[16] = {0};

    if (store_rollout_list(b->st, NULL, 1, &rs, &n, msg) != CG_OK)
        die("rollout_list", msg);
    for (i = 0; i < n; i++) {
        int k;
        if (sscanf(rs[i].config, "cfg-%d", &k) != 1)
            continue;
        if (strcmp(rs[i].state, "running") == 0 && strcmp(rs[i].step_state, "bake") == 0 &&
            rs[i].step < 16) {
            per_step[rs[i].step]++;
            /* plan k: waves 0..k-1 are fast, so wave k is long; the step
             * index of wave k's first step is >= k */
            if (!long_only || rs[i].step >= k % NPLANS)
                baking++;
        }
    }
    if (summary) {
        summary[0] = '\0';
        for (i = 0; i < 16; i++)
            if (per_step[i])
                off += (size_t)snprintf(summary + off, len - off, "%sstep%zu:%d", off ? " " : "", i,
                                        per_step[i]);
    }
    store_rollouts_free(rs, n);
    return long_only ? baking : n;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;

    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static void print_ticks(const char *name, double *v, size_t n, int with_goal)
{
    double med, p99, max;

    if (n == 0) {
        printf("%s ticks=0\n", name);
        return;
    }
    med = quantile(v, n, 0.5);
    p99 = quantile(v, n, 0.99);
    max = v[n - 1];
    printf("%s cells=%d rollouts=%d hosts=%d ticks=%zu median_ms=%.3f p99_ms=%.3f max_ms=%.3f",
           name, NCELLS, NCONFIGS, NHOSTS, n, med, p99, max);
    if (with_goal)
        printf(" goal_ms=%g ok=%s", GOAL_MS, p99 <= GOAL_MS ? "yes" : "no");
    printf("\n");
}

int main(int argc, char **argv)
{
    static struct bench b;
    int ticks = argc > 1 ? atoi(argv[1]) : DEFAULT_TICKS;
    double *all, *ro, *wr, *list, *full, t;
    size_t nall = 0, nro = 0, nwr = 0, nlist = 0, nfull = 0;
    char summary[256];
    int64_t seq = 1, id, warm_end;
    int k, i, trans = 0;
    uint64_t keys = 0, hosts = 0, ing = 0;

    if (ticks < 1)
        ticks = DEFAULT_TICKS;
    all = calloc((size_t)ticks, sizeof *all);
    ro = calloc((size_t)ticks, sizeof *ro);
    wr = calloc((size_t)ticks, sizeof *wr);
    list = calloc((size_t)ticks, sizeof *list);
    full = calloc((size_t)ticks, sizeof *full);
    if (!all || !ro || !wr || !list || !full)
        die("calloc", "out of memory");
    b.rng = 88172645463325252ull;
    t = mono_s();
    setup(&b);
    fprintf(stderr, "setup: %d cells, %d configs (v1 assigned everywhere, v2 published): %.1f s\n",
            NCELLS, NCONFIGS, mono_s() - t);

    /* Two rounds of v1 health, then one rollout of v2 per config. */
    b.now = T0_MS;
    t = mono_s();
    for (i = 0; i < 2; i++) {
        report_round(&b, seq++);
        b.now += REPORT_MS;
    }
    for (k = 0; k < NCONFIGS; k++) {
        struct controller_actor a = {"token:deployer", "bench", 0};
        char msg[256];
        if (controller_begin(b.c, cfg_name(k), 2, NULL, &a, &id, msg) != CG_OK)
            die("controller_begin", msg);
    }
    /* Warm-up: report + tick every 10 s until all bake in their long wave. */
    warm_end = b.now + 2 * 3600 * 1000LL;
    while (b.now < warm_end) {
        int n = controller_tick(b.c, b.now);
        if (n < 0)
            die("controller_tick", "store failed");
        trans += n;
        if (count_open(&b, 1, NULL, 0) == NCONFIGS)
            break;
        b.now += REPORT_MS;
        report_round(&b, seq++);
    }
    count_open(&b, 0, summary, sizeof summary);
    fprintf(stderr,
            "warm-up: %.0f s simulated, %d transitions, %.1f s; open rollouts: %zu, baking in "
            "their long wave: %zu (%s)\n",
            (double)(b.now - T0_MS) / 1000, trans, mono_s() - t, count_open(&b, 0, NULL, 0),
            count_open(&b, 1, NULL, 0), summary);
    if (count_open(&b, 0, NULL, 0) != NCONFIGS)
        die("warm-up", "some rollout ended: the benchmark would measure fewer open rollouts");

    /* Measure: ticks 1 s apart, a report round every 10 s between them. */
    for (i = 0; i < ticks; i++) {
        char msg[STORE_MSG_MAX];
        struct store_rollout *rs = NULL;
        size_t n = 0;
        uint64_t jobs;
        double t0, dt;
        int res;

        b.now += TICK_MS;
        if (b.now % REPORT_MS == 0)
            report_round(&b, seq++);
        /* the tick's first read, alone; and the whole rows, for comparison */
        t0 = mono_s();
        if (store_rollout_heads(b.st, &rs, &n, msg) != CG_OK)
            die("rollout_heads", msg);
        list[nlist++] = (mono_s() - t0) * 1000;
        store_rollouts_free(rs, n);
        t0 = mono_s();
        if (store_rollout_list(b.st, NULL, 1, &rs, &n, msg) != CG_OK)
            die("rollout_list", msg);
        full[nfull++] = (mono_s() - t0) * 1000;
        store_rollouts_free(rs, n);
        jobs = store_jobs(&b);
        t0 = mono_s();
        res = controller_tick(b.c, b.now);
        dt = (mono_s() - t0) * 1000;
        if (res < 0)
            die("controller_tick", "store failed");
        all[nall++] = dt;
        if (store_jobs(&b) == jobs)
            ro[nro++] = dt;
        else
            wr[nwr++] = dt;
    }
    if (count_open(&b, 0, NULL, 0) != NCONFIGS)
        fprintf(stderr, "warning: some rollouts ended during the measurement\n");
    {
        /* The verdicts the last evaluation gave (outside the timing). */
        char msg[256];
        struct store_rollout *rs = NULL;
        size_t n = 0, j;
        int pass = 0, inc = 0, fail = 0, status = 0;
        store_rollout_list(b.st, NULL, 1, &rs, &n, msg);
        for (j = 0; j < n; j++) {
            json_t *st = controller_status(b.c, rs[j].id, &status, msg);
            const char *v =
                json_string_value(json_object_get(json_object_get(st, "evaluation"), "verdict"));
            pass += v && strcmp(v, "pass") == 0;
            inc += v && strcmp(v, "inconclusive") == 0;
            fail += v && strcmp(v, "fail") == 0;
            json_decref(st);
        }
        store_rollouts_free(rs, n);
        reports_counts(b.rp, &hosts, &keys, &ing);
        fprintf(stderr,
                "measured: %d ticks %d ms apart; last verdicts: pass=%d inconclusive=%d fail=%d; "
                "reports: %llu hosts, %llu series; rss %ld MB\n",
                ticks, TICK_MS, pass, inc, fail, (unsigned long long)hosts,
                (unsigned long long)keys, rss_kb() / 1024);
    }
    print_ticks("controller_tick", all, nall, 1);
    print_ticks("controller_tick_eval_only", ro, nro, 0);
    print_ticks("controller_tick_with_writes", wr, nwr, 0);
    printf("store_list_open_rollouts rollouts=%d median_ms=%.3f p99_ms=%.3f "
           "full_rows_median_ms=%.3f full_rows_p99_ms=%.3f\n",
           NCONFIGS, quantile(list, nlist, 0.5), quantile(list, nlist, 0.99),
           quantile(full, nfull, 0.5), quantile(full, nfull, 0.99));
    printf("report_ingest reports_per_s=%.0f reports=%llu configs_per_report=%d series=%llu\n",
           b.ingest_s > 0 ? (double)b.ingested / b.ingest_s : 0.0, (unsigned long long)b.ingested,
           CONFIGS_PER_HOST, (unsigned long long)keys);

    controller_free(b.c);
    reports_free(b.rp);
    store_close(b.st);
    nftw(b.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(all);
    free(ro);
    free(wr);
    free(list);
    free(full);
    return 0;
}
