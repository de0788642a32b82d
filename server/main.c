/*
 * main.c: cellgated entry point: argv, signals, then the daemon.
 *
 *   cellgated init --data DIR             create the data dir, print the admin token once
 *   cellgated [serve] --data DIR [--listen ADDR:PORT] [--port-file F]
 *             [--max-body BYTES] [--threads N]
 *
 * The first `serve` on an empty data dir initialises it (and prints the
 * admin token once). SIGINT/SIGTERM stop the server cleanly; SIGKILL is
 * safe too (every acknowledged change is durable, I8).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roles.h"
#include "daemon.h"
#include "sign.h"
#include "status.h"
#include "util.h"

#define CELLGATED_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(
        f, "usage: cellgated [init|serve|pubkey] --data DIR [options]\n"
           "       cellgated --version | --help\n"
           "\n"
           "  init                 create DIR (store, signing key, admin token) and exit\n"
           "  pubkey               print the public signing key (hex) agents pin\n"
           "  serve                run the server (default); initialises DIR first if needed\n"
           "\n"
           "  --listen ADDR:PORT   default 127.0.0.1:7070; port 0 picks a free port\n"
           "  --port-file FILE     write the bound port there once listening\n"
           "  --max-body BYTES     request body limit (default 4194304)\n"
           "  --threads N          HTTP I/O threads (default 2)\n"
           "  --conn-timeout S     idle connection timeout (default 60)\n"
           "  --max-conns N        open connections (default 32768, capped by the fd limit)\n"
           "  --max-conns-per-ip N per client address (default 0: no limit)\n"
           "  --max-parked N       parked agent long-polls (default 30000)\n"
           "  --lane NAME=W/Q      workers and queue of a lane: control, read, report, poll\n"
           "                       (defaults control=16/256 read=8/512 report=4/1024 poll=4/4096)\n"
           "  --token-rate R       requests/s per token, token bucket (default 0: no limit)\n"
           "  --token-burst B      bucket size (default 2*R)\n"
           "  --fault-delay NAME=MS  fault injection: every request of lane NAME holds its\n"
           "                       worker MS ms longer (a slow disk or database); rehearsals only\n"
           "  --no-shed            disable load shedding (unbounded queues, no deadlines, no\n"
           "                       parked or rate limits): only to demonstrate metastability\n"
           "  --statement-ttl S    lifetime of signed assignment statements (default 3600)\n"
           "  --tick-ms MS         rollout controller period (default 1000)\n"
           "\n"
           "See docs/man/cellgated.8.md and docs/operations.md.\n");
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v == 0)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* --lane NAME=WORKERS/QUEUE, e.g. report=4/1024. */
static int parse_lane(const char *arg, struct daemon_config *cfg)
{
    unsigned w, q;
    char name[16];
    size_t i;
    int n = 0;

    if (sscanf(arg, "%15[a-z]=%u/%u%n", name, &w, &q, &n) != 3 || arg[n] != '\0' || w < 1 ||
        w > 256 || q < 1 || q > 1000000)
        return -1;
    for (i = 0; i < LANE__COUNT; i++)
        if (strcmp(name, lane_name((enum lane)i)) == 0) {
            cfg->lane_workers[i] = w;
            cfg->lane_queue[i] = q;
            return 0;
        }
    return -1;
}

/* --fault-delay NAME=MS, e.g. report=20. */
static int parse_fault_delay(const char *arg, struct daemon_config *cfg)
{
    unsigned ms;
    char name[16];
    size_t i;
    int n = 0;

    if (sscanf(arg, "%15[a-z]=%u%n", name, &ms, &n) != 2 || arg[n] != '\0' || ms > 60000)
        return -1;
    for (i = 0; i < LANE__COUNT; i++)
        if (strcmp(name, lane_name((enum lane)i)) == 0) {
            cfg->lane_fault_delay_ms[i] = ms;
            return 0;
        }
    return -1;
}

static int announce_init(const struct daemon_config *cfg)
{
    char tok[AUTH_TOKEN_LEN + 1], msg[256];
    int rc = daemon_init(cfg, tok, msg);

    if (rc < 0) {
        fprintf(stderr, "cellgated: %s\n", msg);
        return -1;
    }
    if (rc == 0) {
        printf("cellgated: initialised %s\n", cfg->data_dir);
        printf("admin token (shown once, store it safely): %s\n", tok);
        fflush(stdout);
    }
    return rc;
}

/* Prints the public half of the signing key (agents pin it). */
static int print_pubkey(const struct daemon_config *cfg)
{
    char path[4096], msg[256], hex[CG_PUBKEY_HEX_LEN + 1];
    struct cg_signkey *k = NULL;
    struct cg_pubkey pk;

    snprintf(path, sizeof path, "%s/signing.key", cfg->data_dir);
    if (cg_signkey_load(path, &k, msg, sizeof msg) != CG_OK) {
        fprintf(stderr, "cellgated: %s\n", msg);
        return 1;
    }
    cg_signkey_public(k, &pk);
    cg_pubkey_to_hex(&pk, hex);
    printf("%s\n", hex);
    cg_signkey_free(k);
    return 0;
}

static int write_port_file(const char *path, unsigned port)
{
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%u\n", port);

    return cg_write_file_atomic(path, buf, (size_t)n, 0644);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"port-file", required_argument, NULL, 'p'},
        {"max-body", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'},
        {"conn-timeout", required_argument, NULL, 'c'},
        {"tick-ms", required_argument, NULL, 'k'},
        {"lane", required_argument, NULL, 'L'},
        {"no-shed", no_argument, NULL, 'N'},
        {"fault-delay", required_argument, NULL, 'F'},
        {"max-conns-per-ip", required_argument, NULL, 'I'},
        {"token-rate", required_argument, NULL, 'R'},
        {"token-burst", required_argument, NULL, 'B'},
        {"max-parked", required_argument, NULL, 'P'},
        {"statement-ttl", required_argument, NULL, 'T'},
        {"max-conns", required_argument, NULL, 'm'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct daemon_config cfg;
    struct daemon d;
    const char *cmd = "serve";
    char msg[256];
    sigset_t set;
    size_t v;
    int c, sig;

    daemon_config_defaults(&cfg);
    if (argc > 1 && argv[1][0] != '-') {
        cmd = argv[1];
        argv++;
        argc--;
    }
    while ((c = getopt_long(argc, argv, "d:l:p:b:t:c:m:k:L:NF:I:R:B:P:T:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            cfg.data_dir = optarg;
            break;
        case 'l':
            cfg.listen = optarg;
            break;
        case 'p':
            cfg.port_file = optarg;
            break;
        case 'b':
            if (parse_size(optarg, &cfg.max_body) < 0)
                goto bad;
            break;
        case 't':
            if (parse_size(optarg, &v) < 0 || v > 64)
                goto bad;
            cfg.threads = (unsigned)v;
            break;
        case 'c':
            if (parse_size(optarg, &v) < 0 || v > 86400)
                goto bad;
            cfg.conn_timeout_s = (unsigned)v;
            break;
        case 'm':
            if (parse_size(optarg, &v) < 0 || v > 1000000)
                goto bad;
            cfg.max_conns = (unsigned)v;
            break;
        case 'k':
            if (parse_size(optarg, &v) < 0 || v > 3600000)
                goto bad;
            cfg.tick_ms = (unsigned)v;
            break;
        case 'L':
            if (parse_lane(optarg, &cfg) < 0)
                goto bad;
            break;
        case 'N':
            cfg.no_shed = 1;
            break;
        case 'F':
            if (parse_fault_delay(optarg, &cfg) < 0)
                goto bad;
            break;
        case 'I':
            if (parse_size(optarg, &v) < 0 || v > 1000000)
                goto bad;
            cfg.max_conns_per_ip = (unsigned)v;
            break;
        case 'R':
        case 'B': {
            char *end;
            double x = strtod(optarg, &end);
            if (*end || !(x > 0) || x > 1e9)
                goto bad;
            if (c == 'R')
                cfg.token_rate = x;
            else
                cfg.token_burst = x;
            break;
        }
        case 'P':
            if (parse_size(optarg, &v) < 0 || v > 10000000)
                goto bad;
            cfg.max_parked = v;
            break;
        case 'T':
            if (parse_size(optarg, &v) < 0 || v < 10 || v > 30 * 86400)
                goto bad;
            cfg.statement_ttl_s = (unsigned)v;
            break;
        case 'V':
            printf("cellgated %s\n", CELLGATED_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "cellgated: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (strcmp(cmd, "init") == 0)
        return announce_init(&cfg) < 0 ? 1 : 0;
    if (strcmp(cmd, "pubkey") == 0)
        return print_pubkey(&cfg);
    if (strcmp(cmd, "serve") != 0) {
        fprintf(stderr, "cellgated: unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
    }
    if (announce_init(&cfg) < 0)
        return 1;

    /* Every connection is a file descriptor: raise the soft limit to the
     * hard one, and make sure --max-conns fits in it. */
    {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
            if (rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                setrlimit(RLIMIT_NOFILE, &rl);
                getrlimit(RLIMIT_NOFILE, &rl);
            }
            if (rl.rlim_cur != RLIM_INFINITY && cfg.max_conns + 256 > rl.rlim_cur) {
                cfg.max_conns = rl.rlim_cur > 512 ? (unsigned)(rl.rlim_cur - 256) : 256;
                fprintf(stderr, "cellgated: --max-conns lowered to %u (open file limit %llu)\n",
                        cfg.max_conns, (unsigned long long)rl.rlim_cur);
            }
        }
    }

    /* Block the stop signals in every thread; main waits for them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (daemon_open(&d, &cfg, msg) < 0) {
        fprintf(stderr, "cellgated: %s\n", msg);
        return 1;
    }
    if (daemon_start(&d, msg) < 0) {
        fprintf(stderr, "cellgated: %s\n", msg);
        daemon_close(&d);
        return 1;
    }
    if (cfg.port_file && write_port_file(cfg.port_file, d.port) < 0) {
        fprintf(stderr, "cellgated: cannot write %s: %s\n", cfg.port_file, strerror(errno));
        daemon_stop(&d);
        daemon_close(&d);
        return 1;
    }
    printf("cellgated: listening on http://%.*s:%u (data %s)\n",
           (int)(strrchr(cfg.listen, ':') - cfg.listen), cfg.listen, d.port, cfg.data_dir);
    fflush(stdout);
    {
        for (size_t i = 0; i < LANE__COUNT; i++)
            if (cfg.lane_fault_delay_ms[i])
                fprintf(stderr, "cellgated: FAULT INJECTION: every %s request is delayed %u ms\n",
                        lane_name((enum lane)i), cfg.lane_fault_delay_ms[i]);
        if (cfg.no_shed)
            fprintf(stderr, "cellgated: --no-shed: load shedding is OFF\n");
    }

    sigwait(&set, &sig);
    fprintf(stderr, "cellgated: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    daemon_stop(&d);
    daemon_close(&d);
    return 0;

bad : {
    const char *name = "?";
    size_t i;
    for (i = 0; opts[i].name; i++)
        if (opts[i].val == c)
            name = opts[i].name;
    fprintf(stderr, "cellgated: bad value '%s' for --%s (see --help)\n", optarg, name);
    return 2;
}
}
