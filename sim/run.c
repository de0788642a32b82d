/* SPDX-License-Identifier: MIT */
/*
 * run.c - cellgate-sim: the option table, start-up (topology, setup
 * through the admin API, hosts), the loop's periodic work (hosts, rollout
 * monitor, summary line, JSON report, ready file), and the exit report.
 * main.c only hands argv to sim_options_parse() and runs sim_run().
 *
 * Every option is declared once, in options[] below; --help prints the
 * table and docs/man/cellgate-sim.1.md documents it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sim.h"
#include "util.h"

#define SIM_VERSION CG_PROJECT_VERSION /* CMakeLists.txt: the project's */

/* The only process-wide mutable state: set by the signal handler. */
volatile sig_atomic_t sim_stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    sim_stop_requested = 1;
}

/* ---- the option table ------------------------------------------------------ */

enum opt_type {
    OPT_STR = 1,    /* const char * */
    OPT_UINT,       /* unsigned */
    OPT_INT,        /* int */
    OPT_I64,        /* int64_t */
    OPT_U64,        /* uint64_t */
    OPT_DOUBLE,     /* double */
    OPT_FLAG,       /* bool, no argument */
    OPT_FAULT,      /* appended to faults */
    OPT_FAULT_FILE, /* a file of fault specs, one a line */
    OPT_BIAS,       /* appended to cell_bias */
    OPT_HELP,
    OPT_VERSION,
};

struct opt_def {
    const char *name;
    enum opt_type type;
    size_t offset; /* into struct sim_options */
    double min, max;
    const char *arg;  /* metavariable in --help */
    const char *help; /* one line */
};

#define OFF(f) offsetof(struct sim_options, f)

/* clang-format off */
static const struct opt_def options[] = {
    {"server",          OPT_STR,    OFF(server),          0, 0,      "URL",   "cellgated base URL, or replicas' URLs comma-separated (default $CELLGATE_SERVER or http://127.0.0.1:7070)"},
    {"token",           OPT_STR,    OFF(token),           0, 0,      "T",     "admin token for setup and the rollout monitor (default $CELLGATE_TOKEN)"},
    {"pubkey",          OPT_STR,    OFF(pubkey),          0, 0,      "HEX|FILE", "pin this statement key (default: GET /v1/agent/pubkey at start)"},
    {"regions",         OPT_UINT,   OFF(regions),         1, 999,    "N",     "regions (default 3)"},
    {"zones",           OPT_UINT,   OFF(zones),           1, 99,     "N",     "zones per region (default 3)"},
    {"cells",           OPT_UINT,   OFF(cells),           1, 999,    "N",     "cells per zone (default 4)"},
    {"hosts",           OPT_UINT,   OFF(hosts),           1, 100000, "N",     "hosts per cell (default 10)"},
    {"topology",        OPT_STR,    OFF(topology),        0, 0,      "FILE",  "topology file instead of the counts (docs/sim.md)"},
    {"behaviour",       OPT_STR,    OFF(behaviour_file),  0, 0,      "FILE",  "version behaviour mapping {\"config:N\"|sha256: {\"error_rate\",...}}"},
    {"rps",             OPT_DOUBLE, OFF(rps),             0, 1e6,    "X",     "requests per second per host, mean (default 50)"},
    {"noise",           OPT_DOUBLE, OFF(noise),           0, 3,      "X",     "spread of host request rates, log-normal sigma (default 0.2)"},
    {"latency-noise",   OPT_DOUBLE, OFF(latency_noise),   0, 3,      "X",     "spread of host latencies, log-normal sigma (default: half of --noise)"},
    {"tail-share",      OPT_DOUBLE, OFF(tail_share),      0, 1,      "X",     "share of requests whose latency comes from a Pareto tail (default 0: none)"},
    {"tail-alpha",      OPT_DOUBLE, OFF(tail_alpha),      0.1, 10,   "A",     "Pareto shape of that tail; heavier below 2 (default 1.5)"},
    {"tail-min",        OPT_DOUBLE, OFF(tail_min),        1, 1000,   "X",     "the tail starts at X times the host's median latency (default 3)"},
    {"error-dispersion", OPT_DOUBLE, OFF(error_dispersion), 0, 100,  "D",     "per host and report window the error rate is x Gamma(mean 1, variance D) (default 0: binomial)"},
    {"cell-bias",       OPT_BIAS,   0,                    0, 0,      "CELL=F[:L]", "cell CELL's error rate always x F (and latency x L), whatever it runs (repeatable)"},
    {"error-rate",      OPT_DOUBLE, OFF(base.error_rate), 0, 1,      "X",     "error rate of a version without \"sim\" (default 0.001)"},
    {"latency-ms",      OPT_DOUBLE, OFF(base.latency_ms), 0.001, 1e6, "MS",   "median latency of a version without \"sim\" (default 20)"},
    {"retry-rate",      OPT_DOUBLE, OFF(base.retry_rate), 0, 100,    "X",     "client retries per request without \"sim\" (default 0.01)"},
    {"report-ms",       OPT_I64,    OFF(report_ms),       100, 3600000, "MS", "report period per host (default 10000)"},
    {"wait",            OPT_INT,    OFF(wait_s),          1, 300,    "S",     "long-poll wait in seconds (default 30)"},
    {"apply-delay-ms",  OPT_I64,    OFF(apply_delay_ms),  0, 600000, "MS",    "how long a reload takes (default 200)"},
    {"startup-ms",      OPT_I64,    OFF(startup_ms),      0, 3600000, "MS",   "hosts start uniformly within this (default 2000)"},
    {"timeout-ms",      OPT_I64,    OFF(timeout_ms),      100, 600000, "MS",  "timeout of reports and fetches (default 10000)"},
    {"backoff-base-ms", OPT_I64,    OFF(backoff_base_ms), 1, 3600000, "MS",   "first backoff ceiling (default 500)"},
    {"backoff-cap-ms",  OPT_I64,    OFF(backoff_cap_ms),  1, 3600000, "MS",   "largest backoff ceiling (default 60000)"},
    {"naive-retries",   OPT_FLAG,   OFF(naive_retries),   0, 0,      NULL,    "retry failures at once: no backoff, no budget, no Retry-After (storm tests)"},
    {"fault",           OPT_FAULT,  0,                    0, 0,      "SPEC",  "inject a fault (repeatable): silent:F, reload-fail:F[:V], latency:MS, partition:ZONE, errors:zone=Z|cell=C|host=H:RATE, [@FROM[-TO]]"},
    {"fault-file",      OPT_FAULT_FILE, 0,                0, 0,      "FILE",  "read fault specs from FILE, one a line ('#' comments)"},
    {"summary-ms",      OPT_I64,    OFF(summary_ms),      0, 3600000, "MS",   "live summary period, 0 = none (default 2000)"},
    {"monitor-ms",      OPT_I64,    OFF(monitor_ms),      0, 3600000, "MS",   "rollout monitor period, 0 = off (default 1000)"},
    {"duration",        OPT_I64,    OFF(duration_s),      0, 31536000, "S",   "stop after this many seconds (default: at SIGINT/SIGTERM)"},
    {"json-out",        OPT_STR,    OFF(json_out),        0, 0,      "FILE",  "write the blast-radius report as JSON (at exit)"},
    {"json-every-ms",   OPT_I64,    OFF(json_every_ms),   0, 3600000, "MS",   "also rewrite --json-out this often (default 0: only at exit)"},
    {"ready-file",      OPT_STR,    OFF(ready_file),      0, 0,      "FILE",  "write FILE once every host has completed its first poll"},
    {"token-prefix",    OPT_STR,    OFF(token_prefix),    0, 0,      "P",     "agent token names are P-<cell> (default sim<random>)"},
    {"seed",            OPT_U64,    OFF(seed),            0, 0,      "N",     "seed of the health model and fault picks (default 1)"},
    {"trace-out",       OPT_STR,    OFF(trace_out),       0, 0,      "FILE",  "write a CSV time series (requests, connections, successes, hosts current) to FILE"},
    {"trace-ms",        OPT_I64,    OFF(trace_ms),        10, 60000, "MS",    "period of --trace-out lines (default 100)"},
    {"prom-listen",     OPT_STR,    OFF(prom_listen),     0, 0,      "ADDR:PORT", "serve what hosts serve as Prometheus /metrics per cell and version (PORT 0: any free port)"},
    {"quiet",           OPT_FLAG,   OFF(quiet),           0, 0,      NULL,    "no live summary line"},
    {"help",            OPT_HELP,   0,                    0, 0,      NULL,    "this text"},
    {"version",         OPT_VERSION, 0,                   0, 0,      NULL,    "print the version"},
};
/* clang-format on */

void sim_options_defaults(struct sim_options *o)
{
    memset(o, 0, sizeof *o);
    o->server = getenv("CELLGATE_SERVER");
    if (!o->server || !o->server[0]) {
        o->server = "http://127.0.0.1:7070";
    }
    o->token = getenv("CELLGATE_TOKEN");
    o->regions = 3;
    o->zones = 3;
    o->cells = 4;
    o->hosts = 10;
    o->rps = 50;
    o->noise = 0.2;
    o->latency_noise = -1; /* half of --noise, as before the option existed */
    o->tail_alpha = 1.5;
    o->tail_min = 3;
    o->base.error_rate = 0.001;
    o->base.latency_ms = 20;
    o->base.retry_rate = 0.01;
    o->report_ms = 10000;
    o->wait_s = 30;
    o->apply_delay_ms = 200;
    o->startup_ms = 2000;
    o->timeout_ms = 10000;
    o->summary_ms = 2000;
    o->monitor_ms = 1000;
    o->seed = 1;
    o->trace_ms = 100;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: cellgate-sim [OPTIONS]\n\n"
               "A simulated fleet that speaks the agent protocol to a real cellgated.\n\n");
    for (size_t i = 0; i < CG_ARRAY_SIZE(options); i++) {
        char left[48];

        snprintf(left, sizeof left, "--%s%s%s", options[i].name, options[i].arg ? " " : "",
                 options[i].arg ? options[i].arg : "");
        fprintf(f, "  %-26s %s\n", left, options[i].help);
    }
    fprintf(f, "\nSee docs/sim.md and cellgate-sim(1).\n");
}

/* Parses one option value into the field. Returns 0 or -1 (msg). */
static int set_option(struct sim_options *o, const struct opt_def *d, const char *arg, char *msg,
                      size_t msglen)
{
    char *end = NULL;
    void *field = (char *)o + d->offset;
    double x;

    switch (d->type) {
    case OPT_STR:
        *(const char **)field = arg;
        return 0;
    case OPT_FLAG:
        *(bool *)field = true;
        return 0;
    case OPT_FAULT:
        return faults_add(&o->faults, arg, msg, msglen);
    case OPT_FAULT_FILE: {
        size_t len = 0;
        char *text = cg_read_file(arg, 1 << 20, &len);
        int rc;
        if (!text) {
            snprintf(msg, msglen, "--fault-file: cannot read %s", arg);
            return -1;
        }
        rc = faults_add_lines(&o->faults, text, msg, msglen);
        free(text);
        return rc;
    }
    case OPT_BIAS:
        return model_biases_add(&o->cell_bias, arg, msg, msglen);
    case OPT_U64:
        errno = 0;
        *(uint64_t *)field = strtoull(arg, &end, 10);
        if (errno || end == arg || *end) {
            snprintf(msg, msglen, "--%s: '%s' is not an unsigned integer", d->name, arg);
            return -1;
        }
        return 0;
    default:
        break;
    }
    errno = 0;
    x = strtod(arg, &end);
    if (errno || end == arg || *end || x < d->min || x > d->max ||
        (d->type != OPT_DOUBLE && x != (double)(int64_t)x)) {
        snprintf(msg, msglen, "--%s: '%s' must be %s in %g..%g", d->name, arg,
                 d->type == OPT_DOUBLE ? "a number" : "an integer", d->min, d->max);
        return -1;
    }
    switch (d->type) {
    case OPT_UINT:
        *(unsigned *)field = (unsigned)x;
        break;
    case OPT_INT:
        *(int *)field = (int)x;
        break;
    case OPT_I64:
        *(int64_t *)field = (int64_t)x;
        break;
    default:
        *(double *)field = x;
        break;
    }
    return 0;
}

int sim_options_parse(int argc, char **argv, struct sim_options *o)
{
    struct option lopts[CG_ARRAY_SIZE(options) + 1];
    char msg[256];
    int c, idx = 0;

    memset(lopts, 0, sizeof lopts);
    for (size_t i = 0; i < CG_ARRAY_SIZE(options); i++) {
        lopts[i].name = options[i].name;
        lopts[i].has_arg = options[i].type == OPT_FLAG || options[i].type == OPT_HELP ||
                                   options[i].type == OPT_VERSION
                               ? no_argument
                               : required_argument;
        lopts[i].val = 0;
    }
    while ((c = getopt_long(argc, argv, "", lopts, &idx)) != -1) {
        const struct opt_def *d;

        if (c != 0) {
            usage(stderr);
            return 2;
        }
        d = &options[idx];
        if (d->type == OPT_HELP) {
            usage(stdout);
            return 1;
        }
        if (d->type == OPT_VERSION) {
            printf("cellgate-sim %s\n", SIM_VERSION);
            return 1;
        }
        if (set_option(o, d, optarg, msg, sizeof msg) != 0) {
            fprintf(stderr, "cellgate-sim: %s\n", msg);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "cellgate-sim: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

/* ---- start-up --------------------------------------------------------------- */

/* Loads --behaviour: {"config:N" | "<sha256>": {sim object}, ...}. */
static int load_behaviour(struct sim *s, char *msg, size_t msglen)
{
    size_t len = 0;
    char *text = cg_read_file(s->opt.behaviour_file, 1024 * 1024, &len);
    json_t *root = NULL, *v;
    const char *k;
    int rc = 0;

    if (!text) {
        snprintf(msg, msglen, "cannot read %s: %s", s->opt.behaviour_file, strerror(errno));
        return -1;
    }
    if (cg_json_parse(text, len, 0, 8, &root, msg, msglen) != CG_JSON_OK || !json_is_object(root)) {
        free(text);
        json_decref(root);
        snprintf(msg, msglen, "%s: must be a JSON object", s->opt.behaviour_file);
        return -1;
    }
    free(text);
    json_object_foreach(root, k, v)
    {
        char m2[160];
        int set;

        if (s->nmap == SIM_MAX_BEHAVIOUR || strlen(k) >= sizeof s->map[0].key) {
            snprintf(msg, msglen, "%s: too many entries or key too long", s->opt.behaviour_file);
            rc = -1;
            break;
        }
        s->map[s->nmap].b = s->opt.base;
        set = model_behaviour_parse(v, &s->map[s->nmap].b, m2, sizeof m2);
        if (set < 0) {
            snprintf(msg, msglen, "%s: \"%s\": %s", s->opt.behaviour_file, k, m2);
            rc = -1;
            break;
        }
        cg_strlcpy(s->map[s->nmap].key, k, sizeof s->map[0].key);
        s->map[s->nmap].set = set;
        s->nmap++;
    }
    json_decref(root);
    return rc;
}

/* Splits --server at commas into s->servers. 0, or -1 with msg. */
static int split_servers(struct sim *s, char *msg, size_t msglen)
{
    const char *p = s->opt.server;

    s->nservers = 0;
    while (p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= SIM_SERVER_MAX || s->nservers == SIM_MAX_SERVERS) {
            snprintf(msg, msglen, "--server: 1..%d base URLs of at most %d bytes, comma-separated",
                     SIM_MAX_SERVERS, SIM_SERVER_MAX - 1);
            return -1;
        }
        memcpy(s->servers[s->nservers], p, len);
        s->servers[s->nservers++][len] = '\0';
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

static int start(struct sim *s, char *msg, size_t msglen)
{
    int rc;

    if (split_servers(s, msg, msglen) != 0) {
        return -1;
    }

    if (s->opt.topology) {
        rc = topo_load(s->opt.topology, s->opt.hosts, &s->topo, msg, msglen);
    } else {
        rc = topo_from_counts(s->opt.regions, s->opt.zones, s->opt.cells, s->opt.hosts, &s->topo,
                              msg, msglen);
    }
    if (rc != 0 || (s->opt.behaviour_file && load_behaviour(s, msg, msglen) != 0)) {
        return -1;
    }
    if (!s->opt.token || !s->opt.token[0]) {
        snprintf(msg, msglen, "an admin token is needed (--token or $CELLGATE_TOKEN)");
        return -1;
    }
    s->cell_ids = calloc(s->topo.ncells, sizeof *s->cell_ids);
    if (!s->cell_ids) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < s->topo.ncells; i++) {
        s->cell_ids[i] = s->topo.cells[i].id;
    }
    for (size_t i = 0; i < s->opt.cell_bias.n; i++) {
        size_t c = 0;

        while (c < s->topo.ncells && strcmp(s->topo.cells[c].id, s->opt.cell_bias.b[i].cell) != 0) {
            c++;
        }
        if (c == s->topo.ncells) {
            snprintf(msg, msglen, "--cell-bias: no cell '%s' in the topology",
                     s->opt.cell_bias.b[i].cell);
            return -1;
        }
    }
    s->opt.faults.seed = s->opt.seed;
    model_rng_seed(&s->rng, s->opt.seed);
    if (fleet_setup(s, msg, msglen) != 0) {
        return -1;
    }
    s->start_wall_ms = sim_wall();
    s->start_mono_ms = sim_mono();
    blast_init(&s->blast, s->topo.nhosts, s->topo.ncells, s->cell_ids, s->start_wall_ms);
    if (agents_init(s) != 0) {
        snprintf(msg, msglen, "out of memory for %zu hosts", s->topo.nhosts);
        return -1;
    }
    if (trace_open(s, msg, msglen) != 0) {
        return -1;
    }
    if (s->opt.prom_listen) {
        if (exporter_open(s->opt.prom_listen, &s->exporter, msg, msglen) != 0) {
            return -1;
        }
        /* always printed: a script needs the port when it asked for 0 */
        fprintf(stderr, "cellgate-sim: Prometheus exporter on http://%.*s:%u/metrics\n",
                (int)(strrchr(s->opt.prom_listen, ':') - s->opt.prom_listen), s->opt.prom_listen,
                (unsigned)exporter_port(s->exporter));
    }
    return loop_new(s, msg, msglen);
}

/* ---- the periodic work -------------------------------------------------------- */

/* The loop's tick needs the context; the loop passes it. */
static void tick(struct sim *s)
{
    int64_t now = sim_mono();
    char msg[256];

    agents_tick(s, now);
    monitor_tick(s, now);
    trace_tick(s, now);
    if (s->exporter) {
        exporter_poll(s->exporter, now);
    }
    if (s->opt.summary_ms > 0 && now >= s->summary_next_ms) {
        if (s->summary_next_ms > 0) {
            output_summary(s, now, false);
        }
        s->summary_next_ms = now + s->opt.summary_ms;
    }
    if (s->opt.json_out && s->opt.json_every_ms > 0 && now >= s->json_next_ms) {
        s->json_next_ms = now + s->opt.json_every_ms;
        if (output_json(s, s->opt.json_out, msg, sizeof msg) != 0) {
            fprintf(stderr, "cellgate-sim: %s\n", msg);
        }
    }
    if (!s->ready_written && s->hosts_polled_once == s->nhosts) {
        s->ready_written = true;
        if (!s->opt.quiet) {
            fprintf(stderr, "cellgate-sim: all %zu hosts hold their cell's state (%.1fs)\n",
                    s->nhosts, (double)(now - s->start_mono_ms) / 1000.0);
        }
        if (s->opt.ready_file && cg_write_file_atomic(s->opt.ready_file, "ready\n", 6, 0644) != 0) {
            fprintf(stderr, "cellgate-sim: cannot write %s: %s\n", s->opt.ready_file,
                    strerror(errno));
        }
    }
    if (s->opt.duration_s > 0 && now - s->start_mono_ms >= s->opt.duration_s * 1000) {
        sim_stop_requested = 1;
    }
}

static void cleanup(struct sim *s)
{
    loop_free(s); /* completes what is in flight: hosts must still exist */
    trace_close(s);
    exporter_free(s->exporter);
    agents_free(s);
    blast_free(&s->blast);
    for (size_t i = 0; s->cell_tokens && i < s->topo.ncells; i++) {
        free(s->cell_tokens[i]);
    }
    free(s->cell_tokens);
    free(s->cell_ids);
    free(s->monitor_ids);
    free(s->done_ids);
    topo_free(&s->topo);
}

int sim_run(const struct sim_options *opt)
{
    struct sim *s = calloc(1, sizeof *s);
    struct sigaction sa;
    char msg[512];
    int rc;

    if (!s) {
        fprintf(stderr, "cellgate-sim: out of memory\n");
        return 1;
    }
    s->opt = *opt;
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "cellgate-sim: cannot initialise libsodium or libcurl\n");
        free(s);
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (start(s, msg, sizeof msg) != 0) {
        fprintf(stderr, "cellgate-sim: %s\n", msg);
        cleanup(s);
        free(s);
        curl_global_cleanup();
        return 1;
    }
    if (!s->opt.quiet) {
        fprintf(stderr, "cellgate-sim: %zu hosts in %zu cells (%zu zones, %zu regions) -> %s%s\n",
                s->nhosts, s->topo.ncells, topo_count_zones(&s->topo), topo_count_regions(&s->topo),
                s->opt.server, s->opt.naive_retries ? " [naive retries]" : "");
        for (size_t i = 0; i < s->opt.faults.n; i++) {
            faults_describe(&s->opt.faults, i, msg, sizeof msg);
            fprintf(stderr, "cellgate-sim: fault: %s\n", msg);
        }
    }
    s->last_summary_ms = s->start_mono_ms;
    loop_run(s, tick);
    if (!s->opt.quiet) {
        output_summary(s, sim_mono(), true);
    }
    rc = 0;
    if (s->opt.json_out && output_json(s, s->opt.json_out, msg, sizeof msg) != 0) {
        fprintf(stderr, "cellgate-sim: %s\n", msg);
        rc = 1;
    }
    output_final(s);
    cleanup(s);
    free(s);
    curl_global_cleanup();
    return rc;
}
