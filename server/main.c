/* SPDX-License-Identifier: MIT */
/*
 * main.c: cellgated entry point: the command, the options (config.c's
 * table), signals, then the daemon's lifecycle.
 *
 *   cellgated init --data DIR             create the data dir, print the admin token once
 *   cellgated init --store DSN --data DIR initialise a PostgreSQL store (once per cluster)
 *   cellgated pubkey --data DIR           print the public signing key
 *   cellgated dump [--data DIR | --store DSN] [--out FILE]   write a dump file
 *   cellgated load --in FILE (--data DIR | --store DSN)      into a new store
 *   cellgated migrate --from-data DIR --to DSN              SQLite -> another store
 *   cellgated [serve] --data DIR [options] (cellgated --help lists them)
 *
 * The first `serve` on an empty data dir initialises it (and prints the
 * admin token once); with --store (replicas share the database) only
 * `init` does. SIGINT/SIGTERM stop the server cleanly; SIGKILL is
 * safe too (every acknowledged change is durable, I8). SIGHUP reloads
 * the TLS certificate and key and reopens the access log (daemon_reload()).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "backup.h"
#include "config.h"
#include "daemon.h"
#include "roles.h"
#include "sign.h"
#include "status.h"
#include "tools.h"
#include "store.h"
#include "util.h"

/* Opens the --admin-token-file for the token init is about to create:
 * *fd gets it (created 0600, O_EXCL), or -1 when there is no such option
 * or the data directory is already initialised (init creates no token).
 * -1 with msg when the file exists or cannot be created. */
static int open_token_file(const struct daemon_config *cfg, int *fd, char *msg, size_t msglen)
{
    char key[4096], db[4096];

    *fd = -1;
    if (!cfg->admin_token_file) {
        return 0;
    }
    snprintf(key, sizeof key, "%s/signing.key", cfg->data_dir);
    snprintf(db, sizeof db, "%s/cellgate.db", cfg->data_dir);
    if (!cfg->store_dsn && access(key, F_OK) == 0 && access(db, F_OK) == 0) {
        return 0; /* initialised: daemon_init() creates nothing */
    }
    *fd = open(cfg->admin_token_file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd < 0) {
        snprintf(msg, msglen, "--admin-token-file %s: %s%s", cfg->admin_token_file, strerror(errno),
                 errno == EEXIST ? " (refusing to overwrite it: remove it or name another file)"
                                 : "");
        return -1;
    }
    return 0;
}

/* Writes the token and a newline to fd, fsyncs and closes it. 0 or -1. */
static int write_token(int fd, const char *tok)
{
    char line[AUTH_TOKEN_LEN + 2];
    size_t n = (size_t)snprintf(line, sizeof line, "%s\n", tok), off = 0;
    int rc = 0;

    while (off < n && rc == 0) {
        ssize_t w = write(fd, line + off, n - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            rc = -1;
        } else {
            off += (size_t)w;
        }
    }
    if (rc == 0 && fsync(fd) != 0) {
        rc = -1;
    }
    sodium_memzero(line, sizeof line);
    if (close(fd) != 0) {
        rc = -1;
    }
    return rc;
}

static int announce_init(const struct daemon_config *cfg)
{
    char tok[AUTH_TOKEN_LEN + 1], msg[512];
    int fd, rc;

    if (open_token_file(cfg, &fd, msg, sizeof msg) < 0) {
        fprintf(stderr, "cellgated: %s\n", msg);
        return -1;
    }
    rc = daemon_init(cfg, tok, msg);
    if (rc != 0 && fd >= 0) {
        /* nothing created (initialised already, or failed): no empty file */
        close(fd);
        unlink(cfg->admin_token_file);
    }
    if (rc < 0) {
        fprintf(stderr, "cellgated: %s\n", msg);
        return -1;
    }
    if (rc == 0) {
        char red[512];
        if (cfg->store_dsn)
            printf("cellgated: initialised %s (signing key in %s)\n",
                   store_dsn_redact(cfg->store_dsn, red, sizeof red), cfg->data_dir);
        else
            printf("cellgated: initialised %s\n", cfg->data_dir);
        if (fd >= 0) {
            if (write_token(fd, tok) < 0) {
                /* the one copy is lost: say so rather than print it */
                fprintf(stderr,
                        "cellgated: cannot write the admin token to %s: %s; the store is "
                        "initialised without a usable admin token: remove %s and the data "
                        "directory and run init again\n",
                        cfg->admin_token_file, strerror(errno), cfg->admin_token_file);
                sodium_memzero(tok, sizeof tok);
                return -1;
            }
            printf("cellgated: admin token written to %s (mode 0600; shown nowhere else)\n",
                   cfg->admin_token_file);
        } else {
            printf("admin token (shown once, store it safely): %s\n", tok);
        }
        sodium_memzero(tok, sizeof tok);
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

/* Every connection is a file descriptor: raises the soft limit to the hard
 * one, and lowers --max-conns to fit in it (with 256 to spare). */
static void fit_max_conns(struct daemon_config *cfg)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && cfg->max_conns + 256 > rl.rlim_cur) {
        cfg->max_conns = rl.rlim_cur > 512 ? (unsigned)(rl.rlim_cur - 256) : 256;
        fprintf(stderr, "cellgated: --max-conns lowered to %u (open file limit %llu)\n",
                cfg->max_conns, (unsigned long long)rl.rlim_cur);
    }
}

/* Runs command cmd with the parsed cfg; the exit status. */
static int run(const char *cmd, struct daemon_config *cfg_in, const char **args, size_t nargs)
{
    struct daemon_config cfg = *cfg_in;
    struct daemon d;
    char msg[256];
    sigset_t set;
    int sig;

    switch (config_command(cmd)) {
    case CONFIG_CMD_INIT:
        return announce_init(&cfg) < 0 ? 1 : 0;
    case CONFIG_CMD_PUBKEY:
        return print_pubkey(&cfg);
    case CONFIG_CMD_DUMP:
        return tool_dump(&cfg);
    case CONFIG_CMD_LOAD:
        return tool_load(&cfg);
    case CONFIG_CMD_MIGRATE:
        return tool_migrate(&cfg);
    case CONFIG_CMD_REKEY:
        return tool_rekey(&cfg);
    case CONFIG_CMD_BACKUP:
        return tool_backup(&cfg, args, nargs);
    case CONFIG_CMD_UNKNOWN:
        fprintf(stderr, "cellgated: unknown command '%s'\n", cmd);
        config_print_help(stderr);
        return 2;
    case CONFIG_CMD_SERVE:
        break;
    }
    if (!cfg.store_dsn && announce_init(&cfg) < 0)
        return 1;

    fit_max_conns(&cfg);

    /* Block the stop and reload signals in every thread; main waits for
     * them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
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
    {
        char red[512];
        printf("cellgated: listening on %s://%.*s:%u (%s %s)\n", cfg.tls_cert ? "https" : "http",
               (int)(strrchr(cfg.listen, ':') - cfg.listen), cfg.listen, d.port,
               cfg.store_dsn ? "store" : "data",
               cfg.store_dsn ? store_dsn_redact(cfg.store_dsn, red, sizeof red) : cfg.data_dir);
    }
    fflush(stdout);
    {
        for (size_t i = 0; i < LANE__COUNT; i++)
            if (cfg.lane_fault_delay_ms[i])
                fprintf(stderr, "cellgated: FAULT INJECTION: every %s request is delayed %u ms\n",
                        lane_name((enum lane)i), cfg.lane_fault_delay_ms[i]);
        if (cfg.no_shed)
            fprintf(stderr, "cellgated: --no-shed: load shedding is OFF\n");
    }

    for (;;) {
        sigwait(&set, &sig);
        if (sig != SIGHUP)
            break;
        if (daemon_reload(&d, msg) < 0)
            fprintf(stderr, "cellgated: SIGHUP: %s\n", msg);
        else
            fprintf(stderr, "cellgated: SIGHUP: reloaded%s%s\n",
                    cfg.tls_cert ? " the TLS files" : "",
                    cfg.access_log ? (cfg.tls_cert ? " and the access log" : " the access log")
                                   : (cfg.tls_cert ? "" : " (nothing to reload)"));
        fflush(stderr);
    }
    fprintf(stderr, "cellgated: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    daemon_stop(&d);
    daemon_close(&d);
    return 0;
}

int main(int argc, char **argv)
{
    struct daemon_config cfg;
    struct config_text ct;
    const char *cmd = "serve";
    const char *args[3];
    size_t nargs = 0;
    enum config_action act;
    char msg[1024];
    int rc = 0;

    if (argc > 1 && argv[1][0] != '-') {
        cmd = argv[1];
        argv++;
        argc--;
    }
    /* `backup SUB PATH` takes arguments besides the options; the others none */
    act = config_parse_all(argc, argv, &cfg, args,
                           config_command(cmd) == CONFIG_CMD_BACKUP ? CG_ARRAY_SIZE(args) : 0,
                           &nargs, &ct, msg, sizeof msg);
    switch (act) {
    case CONFIG_RUN:
        store_process_init(); /* before any thread and any store */
        rc = run(cmd, &cfg, args, nargs);
        break;
    case CONFIG_HELP:
        config_print_help(stdout);
        break;
    case CONFIG_VERSION:
        printf("cellgated %s\n", CELLGATED_VERSION);
        break;
    case CONFIG_HELP_MARKDOWN:
        config_print_markdown(stdout);
        break;
    case CONFIG_USAGE_ERROR:
        fprintf(stderr, "cellgated: %s\n", msg);
        rc = 2;
        break;
    }
    config_text_free(&ct);
    return rc;
}
