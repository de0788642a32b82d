/* SPDX-License-Identifier: MIT */
/*
 * loop.c - cellgate-agent: flags, signals, start-up, the loop (main.c
 * only calls agent_options() and agent_serve()).
 *
 * The loop is single-threaded: long-poll the desired state (the watcher
 * applies new generations through apply.c), report every interval
 * (jittered), back off after failures. Polls and reports each keep their
 * own next time (sched.c), so a report never starts a poll that is still
 * backing off. Refusals for good are persisted after every cycle.
 * SIGTERM/SIGINT abandon a long poll at once and exit after the current
 * step; an apply in progress finishes (its hooks are bounded by their
 * timeouts).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "util.h"

/* The only process-wide mutable state: set by the signal handler. */
static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int stop_requested(void)
{
    return g_stop != 0;
}

static int cancel_cb(void *ud)
{
    (void)ud;
    return g_stop != 0;
}

static void usage(FILE *f)
{
    fputs("usage: cellgate-agent [--config FILE] [options]\n"
          "\n"
          "Applies the configs assigned to this host's cell, safely (docs/agent.md).\n"
          "\n"
          "  -c, --config FILE         configuration file (format: docs/agent.md)\n"
          "  -s, --server URL          server URL; repeat for failover (replaces the file's)\n"
          "      --token TOKEN         agent token (prefer --token-file)\n"
          "      --token-file FILE     file holding the agent token\n"
          "      --tls-cert FILE       client certificate (PEM) for mutual TLS\n"
          "      --tls-key FILE        its private key (not readable by others)\n"
          "      --ca-file FILE        trust only these CAs (PEM) for https:// servers\n"
          "      --allow-plain-http    allow http:// to a server on another host\n"
          "      --cell ID             this host's cell\n"
          "      --host ID             this host's id in reports\n"
          "      --state-dir DIR       where the agent keeps its state\n"
          "      --pubkey HEX          pinned server public key (repeatable)\n"
          "      --pubkey-file FILE    pinned server public key file (repeatable)\n"
          "      --report-interval S   seconds between reports (default 10)\n"
          "      --wait S              long-poll wait in seconds (default 60)\n"
          "      --log-level LEVEL     debug, info, warn or error (default info)\n"
          "      --once                one poll/apply/report cycle, then exit\n"
          "  -h, --help                this text\n"
          "  -V, --version             print the version\n"
          "\n"
          "Exit status: 0 ok; 1 verification failed (--once); 2 usage or configuration;\n"
          "3 server or network error (--once).\n",
          f);
}

enum opt_id {
    O_TOKEN = 256,
    O_TOKEN_FILE,
    O_CELL,
    O_HOST,
    O_STATE_DIR,
    O_PUBKEY,
    O_PUBKEY_FILE,
    O_REPORT,
    O_WAIT,
    O_LEVEL,
    O_ONCE,
    O_CA_FILE,
    O_TLS_CERT,
    O_TLS_KEY,
    O_ALLOW_PLAIN,
};

/* Flags are applied on top of the file: parsed twice (first pass finds
 * --config). Returns 0, 1 (exit 0: help/version), -1 (usage error). */
static int parse_flags(int argc, char **argv, struct agent_conf *c, const char **config, int *once,
                       int pass)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"server", required_argument, NULL, 's'},
        {"token", required_argument, NULL, O_TOKEN},
        {"token-file", required_argument, NULL, O_TOKEN_FILE},
        {"cell", required_argument, NULL, O_CELL},
        {"host", required_argument, NULL, O_HOST},
        {"state-dir", required_argument, NULL, O_STATE_DIR},
        {"pubkey", required_argument, NULL, O_PUBKEY},
        {"pubkey-file", required_argument, NULL, O_PUBKEY_FILE},
        {"report-interval", required_argument, NULL, O_REPORT},
        {"wait", required_argument, NULL, O_WAIT},
        {"log-level", required_argument, NULL, O_LEVEL},
        {"once", no_argument, NULL, O_ONCE},
        {"ca-file", required_argument, NULL, O_CA_FILE},
        {"tls-cert", required_argument, NULL, O_TLS_CERT},
        {"tls-key", required_argument, NULL, O_TLS_KEY},
        {"allow-plain-http", no_argument, NULL, O_ALLOW_PLAIN},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    char line[AGENT_PATH_MAX + 64], msg[512];
    int ch, servers_reset = 0;

    optind = 1;
    opterr = pass == 0;
    while ((ch = getopt_long(argc, argv, "c:s:hV", opts, NULL)) != -1) {
        const char *key = NULL;

        switch (ch) {
        case 'c':
            *config = optarg;
            continue;
        case 'h':
            if (pass == 0) {
                usage(stdout);
            }
            return 1;
        case 'V':
            if (pass == 0) {
                printf("cellgate-agent %s\n", cg_version());
            }
            return 1;
        case O_ONCE:
            *once = 1;
            continue;
        case '?':
            return -1;
        default:
            break;
        }
        if (pass == 0) {
            continue;
        }
        if (ch == O_ALLOW_PLAIN) {
            c->allow_plain_http = 1;
            continue;
        }
        switch (ch) {
        case 's':
            if (!servers_reset) {
                c->nservers = 0;
                servers_reset = 1;
            }
            key = "server";
            break;
        case O_TOKEN:
            key = "token";
            break;
        case O_TOKEN_FILE:
            key = "token_file";
            break;
        case O_CA_FILE:
            key = "ca_file";
            break;
        case O_TLS_CERT:
            key = "tls_cert";
            break;
        case O_TLS_KEY:
            key = "tls_key";
            break;
        case O_CELL:
            key = "cell";
            break;
        case O_HOST:
            key = "host";
            break;
        case O_STATE_DIR:
            key = "state_dir";
            break;
        case O_PUBKEY:
            key = "pubkey";
            break;
        case O_PUBKEY_FILE:
            key = "pubkey_file";
            break;
        case O_REPORT:
            key = "report_interval";
            break;
        case O_WAIT:
            key = "poll_wait";
            break;
        case O_LEVEL:
            key = "log_level";
            break;
        default:
            return -1;
        }
        /* validate the value with the file parser (one key table), then
         * copy it over: flags override the file */
        {
            struct agent_conf *one = malloc(sizeof *one);
            if (!one) {
                return -1;
            }
            conf_init(one);
            snprintf(line, sizeof line, "%s = %s\n", key, optarg);
            if (conf_parse(one, line, strlen(line), msg, sizeof msg) != 0) {
                fprintf(stderr, "cellgate-agent: --%s: %s\n", key, msg);
                free(one);
                return -1;
            }
            switch (ch) {
            case 's':
                if (c->nservers < AGENT_MAX_SERVERS) {
                    cg_strlcpy(c->servers[c->nservers++], optarg, sizeof c->servers[0]);
                }
                break;
            case O_TOKEN:
                cg_strlcpy(c->token, one->token, sizeof c->token);
                break;
            case O_TOKEN_FILE:
                cg_strlcpy(c->token_file, one->token_file, sizeof c->token_file);
                break;
            case O_CA_FILE:
                cg_strlcpy(c->ca_file, one->ca_file, sizeof c->ca_file);
                break;
            case O_TLS_CERT:
                cg_strlcpy(c->tls_cert, one->tls_cert, sizeof c->tls_cert);
                break;
            case O_TLS_KEY:
                cg_strlcpy(c->tls_key, one->tls_key, sizeof c->tls_key);
                break;
            case O_CELL:
                cg_strlcpy(c->cell, one->cell, sizeof c->cell);
                break;
            case O_HOST:
                cg_strlcpy(c->host, one->host, sizeof c->host);
                break;
            case O_STATE_DIR:
                cg_strlcpy(c->state_dir, one->state_dir, sizeof c->state_dir);
                break;
            case O_PUBKEY:
                if (c->npubkeys < AGENT_MAX_KEYS) {
                    cg_strlcpy(c->pubkeys[c->npubkeys++], optarg, sizeof c->pubkeys[0]);
                }
                break;
            case O_PUBKEY_FILE:
                if (c->npubkey_files < AGENT_MAX_KEYS) {
                    cg_strlcpy(c->pubkey_files[c->npubkey_files++], optarg,
                               sizeof c->pubkey_files[0]);
                }
                break;
            case O_REPORT:
                c->report_interval_s = one->report_interval_s;
                break;
            case O_WAIT:
                c->poll_wait_s = one->poll_wait_s;
                break;
            case O_LEVEL:
                c->log_level = one->log_level;
                break;
            default:
                break;
            }
            free(one);
        }
    }
    if (optind < argc) {
        if (pass == 0) {
            fprintf(stderr, "cellgate-agent: unexpected argument '%s'\n", argv[optind]);
        }
        return -1;
    }
    return 0;
}

/* Sleeps up to ms, waking early on a stop request. */
static void nap(int64_t ms)
{
    int64_t end = cg_mono_ms() + ms;

    while (!g_stop) {
        int64_t left = end - cg_mono_ms();
        struct timespec ts;

        if (left <= 0) {
            return;
        }
        if (left > 100) {
            left = 100;
        }
        ts.tv_sec = 0;
        ts.tv_nsec = (long)left * 1000000L;
        nanosleep(&ts, NULL);
    }
}

static int setup_clients(struct agent *a, char *msg, size_t msglen)
{
    for (size_t i = 0; i < a->conf.nservers; i++) {
        struct cg_error err;
        struct cg_client *c;

        if (cg_client_new(a->conf.servers[i], &c, &err) != CG_OK) {
            snprintf(msg, msglen, "server %s: %s", a->conf.servers[i], err.message);
            return -1;
        }
        a->clients[a->nclients++] = c;
        if (cg_client_set_token(c, a->conf.token, &err) != CG_OK) {
            snprintf(msg, msglen, "token: %s", err.message);
            return -1;
        }
        cg_client_set_timeout_ms(c, (long)a->conf.request_timeout_s * 1000);
        cg_client_set_connect_timeout_ms(c, (long)a->conf.connect_timeout_s * 1000);
        cg_client_set_max_response(c, (size_t)a->conf.max_doc_bytes + 65536);
        cg_client_set_allow_plain_http(c, a->conf.allow_plain_http);
        if (cg_client_set_ca_file(c, a->conf.ca_file, &err) != CG_OK ||
            cg_client_set_client_cert(c, a->conf.tls_cert, a->conf.tls_key, &err) != CG_OK ||
            cg_client_check(c, &err) != CG_OK) {
            snprintf(msg, msglen, "server %s: %s", a->conf.servers[i], err.message);
            return -1;
        }
    }
    return 0;
}

static int setup_watch(struct agent *a, int once, char *msg, size_t msglen)
{
    const char *keys[AGENT_MAX_KEYS], *names[AGENT_MAX_CONFIGS];
    struct cg_watch_options o = {.size = sizeof o};
    struct cg_error err;

    for (size_t i = 0; i < a->conf.npubkeys; i++) {
        keys[i] = a->conf.pubkeys[i];
    }
    for (size_t i = 0; i < a->conf.ncfgs; i++) {
        names[i] = a->conf.cfgs[i].name;
    }
    o.cell = a->conf.cell;
    o.host = a->conf.host; /* one-box canaries: this host may get its own version */
    o.pubkeys = keys;
    o.npubkeys = a->conf.npubkeys;
    o.configs = names;
    o.nconfigs = a->conf.ncfgs;
    o.apply = agent_apply;
    o.apply_ud = a;
    o.cancel = cancel_cb;
    o.wait_s = a->conf.poll_wait_s;
    o.request_timeout_ms = (long)a->conf.request_timeout_s * 1000;
    o.max_doc_bytes = (size_t)a->conf.max_doc_bytes;
    o.backoff_base_ms = a->conf.backoff_base_ms;
    o.backoff_cap_ms = a->conf.backoff_cap_ms;
    (void)once;
    if (cg_watch_new(a->clients, a->nclients, &o, &a->watch, &err) != CG_OK) {
        snprintf(msg, msglen, "%s", err.message);
        return -1;
    }
    for (size_t i = 0; i < a->conf.ncfgs; i++) {
        const struct agent_cfg *k = &a->conf.cfgs[i];
        size_t len;
        char *text;

        if (!k->contract_file[0]) {
            continue;
        }
        text = cg_read_file(k->contract_file, 1024 * 1024, &len);
        if (!text) {
            snprintf(msg, msglen, "[config %s] contract_file %s: %s", k->name, k->contract_file,
                     strerror(errno));
            return -1;
        }
        if (cg_watch_set_contract(a->watch, k->name, text, len, &err) != CG_OK) {
            snprintf(msg, msglen, "[config %s] contract_file %s: %s", k->name, k->contract_file,
                     err.message);
            free(text);
            return -1;
        }
        free(text);
    }
    return 0;
}

static void load_state(struct agent *a)
{
    char msg[512], path[AGENT_PATH_MAX + 64], bad[AGENT_PATH_MAX + 96];
    int rc = state_load(a->conf.state_dir, &a->state, msg, sizeof msg);

    if (rc == 1) {
        ALOG(a, LV_INFO, "no state in %s yet: starting fresh", a->conf.state_dir);
    } else if (rc < 0) {
        /* Keep every target file as it is; move the bad state aside for
         * inspection; hold nothing (docs/agent.md "Corrupt state"). */
        snprintf(path, sizeof path, "%s/state.json", a->conf.state_dir);
        snprintf(bad, sizeof bad, "%s/state.json.corrupt.%lld", a->conf.state_dir,
                 (long long)cg_now_ms());
        ALOG(a, LV_ERROR,
             "state file %s is unusable (%s); moved to %s. Files on disk are kept as they are; "
             "held generations are unknown until the server confirms them",
             path, msg, bad);
        rename(path, bad);
        memset(&a->state, 0, sizeof a->state);
    }
}

static void agent_release(struct agent *a)
{
    cg_watch_free(a->watch);
    report_release(a);
    for (size_t i = 0; i < a->nclients; i++) {
        cg_client_free(a->clients[i]);
    }
}

/* One poll cycle of the watcher (desired state, contract, blobs, applies)
 * and what follows from it: the next cycle's time, the log line, the
 * refusals to persist. Returns the cycle's status. */
static int poll_cycle(struct agent *a, struct agent_sched *sc, int once)
{
    struct cg_error err = {0};
    int64_t delay;
    int wait_s = 0, rc;

    if (!once) {
        /* the long poll is cut to end by the next report, never longer */
        wait_s = sched_long_poll_s(sc, cg_mono_ms(),
                                   cg_jitter_wait((int64_t)a->conf.poll_wait_s * 1000, NULL));
    }
    rc = cg_watch_poll_once(a->watch, wait_s, &err);
    delay = cg_watch_next_delay_ms(a->watch);
    /* the delay logged is the delay kept: nothing but a stop starts the
     * next cycle sooner (finding 8) */
    sched_poll_done(sc, cg_mono_ms(), delay);
    if (rc != CG_OK && !g_stop) {
        ALOG(a, rc == CG_ERR_VERIFY ? LV_WARN : LV_INFO, "poll: %s (retrying in %lld ms)",
             err.message[0] ? err.message : cg_strerror(rc), (long long)delay);
    }
    agent_keep_refusals(a);
    return rc;
}

static int run(struct agent *a, int once)
{
    struct agent_sched sc;
    int64_t interval = (int64_t)a->conf.report_interval_s * 1000;
    int last_rc = CG_OK;

    sched_init(&sc, cg_mono_ms(), interval, once, a->conf.backoff_base_ms, a->conf.backoff_cap_ms,
               NULL);
    if (!once) {
        /* spread a fleet restarted together */
        nap(cg_jitter_startup(interval < 5000 ? interval / 5 : 1000, NULL));
        sched_poll_done(&sc, cg_mono_ms(), 0);
    }
    while (!g_stop) {
        if (once || sched_poll_due(&sc, cg_mono_ms())) {
            last_rc = poll_cycle(a, &sc, once);
        }
        if (g_stop) {
            break;
        }
        if (once || sched_report_due(&sc, cg_mono_ms())) {
            int ok = report_send(a) == 0;
            int64_t next = sched_report_done(&sc, cg_mono_ms(), ok);

            if (!ok && !g_stop) {
                ALOG(a, LV_INFO, "report not accepted (next report in %lld ms)", (long long)next);
            }
        }
        if (once) {
            break;
        }
        /* until the earlier of the two: a report wake-up starts only the
         * report, a poll in backoff keeps waiting */
        nap(sched_sleep_ms(&sc, cg_mono_ms()));
    }
    if (!once) {
        return 0;
    }
    if (last_rc == CG_OK) {
        return 0;
    }
    return last_rc == CG_ERR_VERIFY ? 1 : 3;
}

int agent_options(struct agent *a, int argc, char **argv, int *once)
{
    const char *config = NULL;
    char msg[1024];
    int rc;

    conf_init(&a->conf);
    rc = parse_flags(argc, argv, &a->conf, &config, once, 0);
    if (rc != 0) {
        if (rc < 0) {
            usage(stderr);
        }
        return rc > 0 ? 1 : 2;
    }
    if (config && conf_load(&a->conf, config, msg, sizeof msg) != 0) {
        fprintf(stderr, "cellgate-agent: %s\n", msg);
        return 2;
    }
    if (parse_flags(argc, argv, &a->conf, &config, once, 1) != 0 ||
        conf_finish(&a->conf, msg, sizeof msg) != 0) {
        fprintf(stderr, "cellgate-agent: %s\n", msg);
        return 2;
    }
    return 0;
}

int agent_serve(struct agent *a, int once)
{
    struct sigaction sa;
    char msg[1024];
    int rc;

    a->stop = stop_requested;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (cg_library_init(NULL) != CG_OK) {
        fputs("cellgate-agent: cannot initialise libcurl\n", stderr);
        return 2;
    }
    if (mkdir(a->conf.state_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "cellgate-agent: cannot create %s: %s\n", a->conf.state_dir,
                strerror(errno));
        cg_library_cleanup();
        return 2;
    }
    load_state(a);
    agent_recover(a);
    if (setup_clients(a, msg, sizeof msg) != 0 || setup_watch(a, once, msg, sizeof msg) != 0 ||
        agent_seed(a, msg, sizeof msg) != 0 || report_init(a, msg, sizeof msg) != 0) {
        fprintf(stderr, "cellgate-agent: %s\n", msg);
        agent_release(a);
        cg_library_cleanup();
        return 2;
    }
    ALOG(a, LV_INFO, "started: cell %s, host %s, %zu config(s), %zu server(s)", a->conf.cell,
         a->conf.host, a->conf.ncfgs, a->nclients);
    rc = run(a, once);
    ALOG(a, LV_INFO, "stopping");
    agent_release(a);
    cg_library_cleanup();
    return rc;
}
