/* SPDX-License-Identifier: MIT */
/* test_config.c: the option table (server/config.c): defaults, every value type, --help. */
#include "testhelp.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "routes.h"
#include "util.h"

#define MAXARGS 16

/* Parses "ARG..." (NULL-terminated) after a program name. */
static enum config_action parse_v(struct daemon_config *cfg, char *err, size_t errlen,
                                  const char *const *args)
{
    char *argv[MAXARGS + 1];
    int argc = 0;

    argv[argc++] = "cellgated";
    while (*args && argc < MAXARGS)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    return config_parse(argc, argv, cfg, err, errlen);
}

#define PARSE(cfg, err, ...)                                                                       \
    parse_v((cfg), (err), sizeof(err), (const char *const[]){__VA_ARGS__, NULL})

/* Expects args to be refused with exactly 'msg'. */
#define REFUSED(msg, ...)                                                                          \
    do {                                                                                           \
        struct daemon_config c_;                                                                   \
        char e_[256];                                                                              \
        assert_int_equal(PARSE(&c_, e_, __VA_ARGS__), CONFIG_USAGE_ERROR);                         \
        assert_string_equal(e_, (msg));                                                            \
    } while (0)

/* Expects args to be refused as a bad value of --name. */
static void bad_value(const char *name, const char *v)
{
    struct daemon_config c;
    char e[256], want[256], range[256], opt[64];

    snprintf(opt, sizeof opt, "--%s", name);
    assert_int_equal(PARSE(&c, e, opt, v), CONFIG_USAGE_ERROR);
    assert_non_null(config_key_find(name));
    snprintf(want, sizeof want, "bad value '%s' for --%s (%s)", v, name,
             config_key_range(config_key_find(name), range, sizeof range));
    assert_string_equal(e, want);
}

static void defaults_are_the_documented_ones(void **state)
{
    struct daemon_config a, b, c;
    char e[256];
    size_t l;

    (void)state;
    config_defaults(&a);
    assert_string_equal(a.data_dir, "var");
    assert_string_equal(a.listen, "127.0.0.1:7070");
    assert_null(a.port_file);
    assert_int_equal(a.max_body, 4194304);
    assert_int_equal(a.threads, 2);
    assert_int_equal(a.conn_timeout_s, 60);
    assert_int_equal(a.max_conns, 32768);
    assert_int_equal(a.max_conns_per_ip, 256);
    assert_true(a.auth_fail_rate == 5 && a.auth_fail_burst == 50 && !a.limit_localhost);
    assert_int_equal(a.max_parked, 30000);
    assert_int_equal(a.statement_ttl_s, 3600);
    assert_int_equal(a.tick_ms, 1000);
    assert_int_equal(a.lane_workers[LANE_CONTROL], 16);
    assert_int_equal(a.lane_queue[LANE_CONTROL], 256);
    assert_int_equal(a.lane_workers[LANE_READ], 8);
    assert_int_equal(a.lane_queue[LANE_READ], 512);
    assert_int_equal(a.lane_workers[LANE_REPORT], 4);
    assert_int_equal(a.lane_queue[LANE_REPORT], 1024);
    assert_int_equal(a.lane_workers[LANE_POLL], 4);
    assert_int_equal(a.lane_queue[LANE_POLL], 4096);
    for (l = 0; l < LANE__COUNT; l++)
        assert_int_equal(a.lane_fault_delay_ms[l], 0);
    assert_int_equal(a.no_shed, 0);
    assert_true(a.token_rate == 0 && a.token_burst == 0);

    /* the same from config_defaults() and from an empty command line */
    memset(&b, 0xa5, sizeof b);
    config_defaults(&b);
    memset(&c, 0x5a, sizeof c);
    assert_int_equal(parse_v(&c, e, sizeof e, (const char *const[]){NULL}), CONFIG_RUN);
    assert_memory_equal(&a, &b, sizeof a);
    assert_memory_equal(&a, &c, sizeof a);
}

/* Every row is complete and consistent; every default that is in range
 * parses back to itself. */
static void table_is_well_formed(void **state)
{
    size_t n, i, j;
    const struct config_key *k = config_keys(&n);

    (void)state;
    assert_true(n >= 19);
    for (i = 0; i < n; i++) {
        int value = k[i].type != CONFIG_FLAG && k[i].type != CONFIG_ACTION;

        assert_non_null(k[i].name);
        assert_non_null(k[i].help);
        assert_true(k[i].group < CONFIG_G__COUNT);
        assert_true(value == (k[i].metavar != NULL));
        assert_ptr_equal(config_key_find(k[i].name), &k[i]);
        for (j = 0; j < i; j++) {
            assert_string_not_equal(k[i].name, k[j].name);
            assert_true(!k[i].letter || k[i].letter != k[j].letter);
        }
        if (k[i].type == CONFIG_UNSIGNED || k[i].type == CONFIG_LANE || k[i].type == CONFIG_LANE_MS)
            assert_true(k[i].max != 0 && k[i].max <= UINT_MAX && k[i].min <= k[i].max);
        if (k[i].type == CONFIG_LANE)
            assert_true(k[i].max2 != 0 && k[i].max2 <= UINT_MAX && k[i].min2 <= k[i].max2);
        if (k[i].type == CONFIG_SIZE)
            assert_true(k[i].max == 0 || k[i].min <= k[i].max);
        if (k[i].type == CONFIG_DOUBLE)
            assert_true(k[i].dmin < k[i].dmax);
        if (k[i].type == CONFIG_SIZE || k[i].type == CONFIG_UNSIGNED) {
            unsigned long long d = k[i].def.u;
            if (d < k[i].min || (k[i].max && d > k[i].max)) {
                assert_non_null(k[i].def_note); /* "0: no limit" */
            } else {
                struct daemon_config c, ref;
                char e[256], v[64], opt[64];
                snprintf(opt, sizeof opt, "--%s", k[i].name);
                snprintf(v, sizeof v, "%llu", d);
                assert_int_equal(PARSE(&c, e, opt, v), CONFIG_RUN);
                config_defaults(&ref);
                assert_memory_equal(&c, &ref, sizeof c);
            }
        }
        if (k[i].type == CONFIG_DOUBLE && !(k[i].def.d > k[i].dmin && k[i].def.d <= k[i].dmax))
            assert_non_null(k[i].def_note);
    }
}

static void strings(void **state)
{
    struct daemon_config c;
    char e[256];

    (void)state;
    assert_int_equal(PARSE(&c, e, "--data", "/srv/cg", "--listen=0.0.0.0:1", "-p", "pf"),
                     CONFIG_RUN);
    assert_string_equal(c.data_dir, "/srv/cg");
    assert_string_equal(c.listen, "0.0.0.0:1");
    assert_string_equal(c.port_file, "pf");
    assert_int_equal(PARSE(&c, e, "-dD", "--port", "x", "--listen="), CONFIG_RUN);
    assert_string_equal(c.data_dir, "D");
    assert_string_equal(c.port_file, "x"); /* unique prefix */
    assert_string_equal(c.listen, "");
    /* a value may look like an option */
    assert_int_equal(PARSE(&c, e, "--data", "--threads"), CONFIG_RUN);
    assert_string_equal(c.data_dir, "--threads");
    assert_int_equal(c.threads, 2);
}

/* The ranges cellgated has always had, and the refusals around them. */
static void unsigned_and_size_ranges(void **state)
{
    static const struct {
        const char *name;
        unsigned long long min, max;
    } want[] = {
        {"threads", 1, 64},          {"conn-timeout", 1, 86400},
        {"max-conns", 1, 1000000},   {"max-conns-per-ip", 1, 1000000},
        {"max-parked", 1, 10000000}, {"statement-ttl", 10, 2592000},
        {"tick-ms", 1, 3600000},
    };
    static const char *const garbage[] = {
        "", "x", "5x", "-1", "+5", " 5", "5 ", "0x10", "1e3", "3.0", "99999999999999999999999"};
    size_t i, j;

    (void)state;
    for (i = 0; i < CG_ARRAY_SIZE(want); i++) {
        const struct config_key *k = config_key_find(want[i].name);
        struct daemon_config c;
        char e[256], opt[64], v[32];
        unsigned got;

        assert_non_null(k);
        assert_true(k->type == CONFIG_UNSIGNED || k->type == CONFIG_SIZE);
        snprintf(opt, sizeof opt, "--%s", want[i].name);
        snprintf(v, sizeof v, "%llu", want[i].min);
        assert_int_equal(PARSE(&c, e, opt, v), CONFIG_RUN);
        got = k->type == CONFIG_SIZE ? (unsigned)*(size_t *)((char *)&c + k->off)
                                     : *(unsigned *)((char *)&c + k->off);
        assert_int_equal(got, want[i].min);
        snprintf(v, sizeof v, "%llu", want[i].max);
        assert_int_equal(PARSE(&c, e, opt, v), CONFIG_RUN);
        got = k->type == CONFIG_SIZE ? (unsigned)*(size_t *)((char *)&c + k->off)
                                     : *(unsigned *)((char *)&c + k->off);
        assert_int_equal(got, want[i].max);
        snprintf(v, sizeof v, "%llu", want[i].max + 1);
        bad_value(want[i].name, v);
        snprintf(v, sizeof v, "%llu", want[i].min - 1);
        bad_value(want[i].name, v);
        for (j = 0; j < CG_ARRAY_SIZE(garbage); j++)
            bad_value(want[i].name, garbage[j]);
    }
    REFUSED("bad value '0' for --threads (1..64)", "--threads", "0");
    REFUSED("bad value '65' for --threads (1..64)", "-t65");
    REFUSED("bad value '9' for --statement-ttl (10..2592000)", "--statement-ttl=9");
}

static void size_without_upper_bound(void **state)
{
    struct daemon_config c;
    char e[256];

    (void)state;
    assert_int_equal(PARSE(&c, e, "--max-body", "1"), CONFIG_RUN);
    assert_int_equal(c.max_body, 1);
    assert_int_equal(PARSE(&c, e, "--max-body=65536"), CONFIG_RUN);
    assert_int_equal(c.max_body, 65536);
    assert_int_equal(PARSE(&c, e, "-b", "18446744073709551615"), CONFIG_RUN);
    assert_true(c.max_body == SIZE_MAX);
    REFUSED("bad value '0' for --max-body (BYTES >= 1)", "--max-body", "0");
    REFUSED("bad value '-1' for --max-body (BYTES >= 1)", "--max-body", "-1");
    REFUSED("bad value '18446744073709551616' for --max-body (BYTES >= 1)", "--max-body",
            "18446744073709551616");
    REFUSED("bad value '4M' for --max-body (BYTES >= 1)", "--max-body", "4M");
}

static void doubles(void **state)
{
    static const char *const names[] = {"token-rate", "token-burst"};
    static const char *const bad[] = {"0", "-1", "1000000001", "nan", "inf", "",
                                      "x", "5x", "1e10",       "0.0", "-0"};
    struct daemon_config c;
    char e[256];
    size_t i, j;

    (void)state;
    assert_int_equal(PARSE(&c, e, "--token-rate", "0.5", "--token-burst=1e9"), CONFIG_RUN);
    assert_true(c.token_rate == 0.5 && c.token_burst == 1e9);
    assert_int_equal(PARSE(&c, e, "-R", "1e3", "-B7"), CONFIG_RUN);
    assert_true(c.token_rate == 1000 && c.token_burst == 7);
    for (i = 0; i < CG_ARRAY_SIZE(names); i++)
        for (j = 0; j < CG_ARRAY_SIZE(bad); j++)
            bad_value(names[i], bad[j]);
    REFUSED("bad value '0' for --token-rate (0 < R <= 1e9)", "--token-rate", "0");
}

static void flags(void **state)
{
    struct daemon_config c;
    char e[256];

    (void)state;
    assert_int_equal(PARSE(&c, e, "--no-shed"), CONFIG_RUN);
    assert_int_equal(c.no_shed, 1);
    assert_int_equal(PARSE(&c, e, "-N"), CONFIG_RUN);
    assert_int_equal(c.no_shed, 1);
    assert_int_equal(PARSE(&c, e, "--no-s"), CONFIG_RUN); /* unique prefix */
    assert_int_equal(c.no_shed, 1);
    assert_int_equal(c.no_controller, 0);
    assert_int_equal(PARSE(&c, e, "--no-controller"), CONFIG_RUN);
    assert_true(c.no_controller == 1 && c.no_shed == 0);
    REFUSED("ambiguous option '--no-' (could be --no-poll-front --no-ui --no-controller --no-shed)",
            "--no-");
    REFUSED("--no-shed takes no value", "--no-shed=1");
    REFUSED("--help takes no value", "--help=x");
    /* clustered: flags, then one that takes the rest as its value */
    assert_int_equal(PARSE(&c, e, "-Nt4"), CONFIG_RUN);
    assert_true(c.no_shed == 1 && c.threads == 4);
    assert_int_equal(PARSE(&c, e, "-Nt", "5"), CONFIG_RUN);
    assert_true(c.no_shed == 1 && c.threads == 5);
}

static void lanes(void **state)
{
    static const char *const bad[] = {
        "read",      "read=",      "read=1",    "read=1/",           "read=/1",
        "read=0/1",  "read=257/1", "read=1/0",  "read=1/1000001",    "nolane=1/1",
        "READ=1/1",  "read=1/1x",  "read=-1/5", "read=1/2/3",        "=1/1",
        "read =1/1", "read=+1/1",  "read=1/ 1", "read=4294967297/1", "readx=1/1",
    };
    struct daemon_config c, d;
    char e[256];
    size_t i;

    (void)state;
    config_defaults(&d);
    assert_int_equal(PARSE(&c, e, "--lane", "report=8/4096"), CONFIG_RUN);
    assert_true(c.lane_workers[LANE_REPORT] == 8 && c.lane_queue[LANE_REPORT] == 4096);
    for (i = 0; i < LANE__COUNT; i++)
        if (i != LANE_REPORT)
            assert_true(c.lane_workers[i] == d.lane_workers[i] &&
                        c.lane_queue[i] == d.lane_queue[i]);
    assert_int_equal(PARSE(&c, e, "--lane=control=1/1", "-Lpoll=256/1000000", "--lane", "read=2/3",
                           "--lane", "read=5/6"),
                     CONFIG_RUN);
    assert_true(c.lane_workers[LANE_CONTROL] == 1 && c.lane_queue[LANE_CONTROL] == 1);
    assert_true(c.lane_workers[LANE_POLL] == 256 && c.lane_queue[LANE_POLL] == 1000000);
    assert_true(c.lane_workers[LANE_READ] == 5 && c.lane_queue[LANE_READ] == 6); /* last wins */
    assert_true(c.lane_workers[LANE_REPORT] == 4 && c.lane_queue[LANE_REPORT] == 1024);
    for (i = 0; i < CG_ARRAY_SIZE(bad); i++)
        bad_value("lane", bad[i]);
    REFUSED("bad value 'read=0/1' for --lane (NAME control, read, report or poll; WORKERS "
            "1..256; QUEUE 1..1000000)",
            "--lane", "read=0/1");
}

static void fault_delays(void **state)
{
    static const char *const bad[] = {"read",     "read=",      "nolane=5", "read=70000",
                                      "read=-1",  "read=60001", "read=5ms", "=5",
                                      "read=1/1", "poll=+5"};
    struct daemon_config c;
    char e[256];
    size_t i;

    (void)state;
    assert_int_equal(
        PARSE(&c, e, "--fault-delay", "report=20", "-Fpoll=60000", "--fault-delay=read=0"),
        CONFIG_RUN);
    assert_int_equal(c.lane_fault_delay_ms[LANE_REPORT], 20);
    assert_int_equal(c.lane_fault_delay_ms[LANE_POLL], 60000);
    assert_int_equal(c.lane_fault_delay_ms[LANE_READ], 0);
    assert_int_equal(c.lane_fault_delay_ms[LANE_CONTROL], 0);
    for (i = 0; i < CG_ARRAY_SIZE(bad); i++)
        bad_value("fault-delay", bad[i]);
    REFUSED("bad value 'read=70000' for --fault-delay (NAME control, read, report or poll; MS "
            "0..60000)",
            "--fault-delay", "read=70000");
}

static void missing_values(void **state)
{
    (void)state;
    REFUSED("missing value for --threads (N)", "--threads");
    REFUSED("missing value for --threads (N)", "-t");
    REFUSED("missing value for --lane (NAME=WORKERS/QUEUE)", "--data", "x", "--lane");
    REFUSED("missing value for --fault-delay (NAME=MS)", "-NF");
    REFUSED("missing value for --token-rate (R)", "--token-r");
    /* the next argument is the value even when it looks like an option */
    REFUSED("bad value '--data' for --threads (1..64)", "--threads", "--data", "x");
}

/* config_parse_args(): `backup create OUT` takes arguments around the
 * options, up to its maximum. */
static void command_arguments(void **state)
{
    char *argv[] = {"cellgated",          "create", "--data", "d",    "out",
                    "--bump-generations", "7",      "--",     "-odd", NULL};
    const char *args[3];
    struct daemon_config c;
    size_t n = 99;
    char e[256];

    (void)state;
    assert_int_equal(config_parse_args(9, argv, &c, args, 3, &n, e, sizeof e), CONFIG_RUN);
    assert_int_equal(n, 3);
    assert_string_equal(args[0], "create");
    assert_string_equal(args[1], "out");
    assert_string_equal(args[2], "-odd"); /* after "--", an argument even with a dash */
    assert_string_equal(c.data_dir, "d");
    assert_int_equal(c.restore_bump, 7);
    assert_int_equal(config_parse_args(9, argv, &c, args, 2, &n, e, sizeof e), CONFIG_USAGE_ERROR);
    assert_string_equal(e, "unexpected argument '-odd'");
    assert_int_equal(config_parse_args(3, argv, &c, args, 3, &n, e, sizeof e), CONFIG_USAGE_ERROR);
    assert_string_equal(e, "missing value for --data (DIR)");
    assert_int_equal(config_parse_args(1, argv, &c, args, 3, &n, e, sizeof e), CONFIG_RUN);
    assert_int_equal(n, 0);
    assert_int_equal(c.restore_bump, 1000000); /* the default */
    REFUSED("bad value '0' for --bump-generations (1..4503599627370496)", "--bump-generations",
            "0");
}

static void unknown_options_and_arguments(void **state)
{
    struct daemon_config c;
    char e[256];

    (void)state;
    REFUSED("unknown option '--frob' (see --help)", "--frob");
    REFUSED("unknown option '--frob' (see --help)", "--frob=1");
    REFUSED("unknown option '-x' (see --help)", "-x");
    REFUSED("unknown option '-x' (see --help)", "-Nx");
    REFUSED("unknown option '--' (see --help)", "--=1");
    REFUSED("ambiguous option '--max' (could be --max-body --max-conns --max-conns-per-ip "
            "--max-parked)",
            "--max", "5");
    REFUSED("ambiguous option '--t' (could be --to --threads --token-max-ttl --tls-cert --tls-key "
            "--tls-priorities --tls-client-ca --token-rate --token-burst --tick-ms)",
            "--t=5");
    REFUSED("unknown option '--help-m' (see --help)", "--help-m"); /* hidden: exact only */
    REFUSED("unexpected argument 'serve'", "--data", "x", "serve");
    REFUSED("unexpected argument '-'", "-");
    REFUSED("unexpected argument '--threads'", "--", "--threads");
    assert_int_equal(PARSE(&c, e, "--data", "x", "--"), CONFIG_RUN);
    /* an exact name wins over the longer names it is a prefix of */
    assert_int_equal(PARSE(&c, e, "--max-conns", "7", "--max-conns-p", "9"), CONFIG_RUN);
    assert_true(c.max_conns == 7 && c.max_conns_per_ip == 9);
    /* a tiny error buffer is truncated, never overrun */
    {
        char tiny[8];
        assert_int_equal(PARSE(&c, tiny, "--max"), CONFIG_USAGE_ERROR);
        assert_int_equal(strlen(tiny), 7);
        assert_int_equal(PARSE(&c, tiny, "--lane", "nope"), CONFIG_USAGE_ERROR);
        assert_int_equal(strlen(tiny), 7);
    }
}

static void actions(void **state)
{
    struct daemon_config c;
    char e[256];

    (void)state;
    assert_int_equal(PARSE(&c, e, "--help"), CONFIG_HELP);
    assert_int_equal(PARSE(&c, e, "-h"), CONFIG_HELP);
    assert_int_equal(PARSE(&c, e, "--he"), CONFIG_HELP);
    assert_int_equal(PARSE(&c, e, "--version"), CONFIG_VERSION);
    assert_int_equal(PARSE(&c, e, "-V"), CONFIG_VERSION);
    assert_int_equal(PARSE(&c, e, "--help-markdown"), CONFIG_HELP_MARKDOWN);
    /* in order: an earlier error wins, an earlier action wins */
    assert_int_equal(PARSE(&c, e, "--threads", "x", "--help"), CONFIG_USAGE_ERROR);
    assert_int_equal(PARSE(&c, e, "--help", "--threads", "x"), CONFIG_HELP);
    assert_int_equal(PARSE(&c, e, "-Nh"), CONFIG_HELP);
    assert_int_equal(c.no_shed, 1);
}

/* Runs print(f) into a string the caller frees. */
static char *capture(void (*print)(FILE *))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    print(f);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* A copy of s with every run of spaces and newlines made one space (the
 * text is wrapped). The caller frees it. */
static char *squeeze(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;

    assert_non_null(out);
    for (; *s; s++)
        if ((*s == ' ' || *s == '\n') && o > out && o[-1] == ' ')
            continue;
        else
            *o++ = *s == '\n' ? ' ' : *s;
    *o = '\0';
    return out;
}

/* --help and the man text name every visible key with its metavar, range
 * and default, and no hidden one. */
static void help_and_markdown_cover_the_table(void **state)
{
    char *raw = capture(config_print_help), *help = squeeze(raw);
    char *rawmd = capture(config_print_markdown), *md = squeeze(rawmd);
    size_t n, i;
    const struct config_key *k = config_keys(&n);

    (void)state;
    assert_non_null(strstr(
        help, "usage: cellgated [init|serve|pubkey|dump|load|migrate|rekey|backup] [options]"));
    assert_non_null(strstr(raw, "\n  pubkey "));
    assert_non_null(strstr(rawmd, "\n### "));
    for (i = 0; i < n; i++) {
        char opt[96], range[256], def[256], s[320];

        snprintf(opt, sizeof opt, "--%s%s%s", k[i].name, k[i].metavar ? " " : "",
                 k[i].metavar ? k[i].metavar : "");
        config_key_range(&k[i], range, sizeof range);
        config_key_default(&k[i], def, sizeof def);
        if (k[i].flags & CONFIG_HIDDEN) {
            snprintf(s, sizeof s, "--%s", k[i].name);
            assert_null(strstr(help, s));
            assert_null(strstr(md, s));
            continue;
        }
        assert_non_null(strstr(help, opt));
        snprintf(s, sizeof s, "`%s`", opt);
        assert_non_null(strstr(md, s));
        if (k[i].letter) {
            snprintf(s, sizeof s, "-%c, %s", k[i].letter, opt);
            assert_non_null(strstr(help, s));
        }
        if (range[0])
            assert_non_null(strstr(help, range));
        if (def[0]) {
            snprintf(s, sizeof s, "default %s", def);
            assert_non_null(strstr(help, s));
            snprintf(s, sizeof s, "`%s`", def);
            assert_non_null(strstr(md, s));
        }
    }
    /* every line fits in 79 columns (a long option label alone excepted) */
    for (char *line = raw; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        assert_true(len <= 79 || strncmp(line, "  -", 3) == 0);
        line = nl ? nl + 1 : NULL;
    }
    free(raw);
    free(help);
    free(rawmd);
    free(md);
}

static void key_text(void **state)
{
    char b[256];

    (void)state;
    assert_string_equal(config_key_range(config_key_find("threads"), b, sizeof b), "1..64");
    assert_string_equal(config_key_range(config_key_find("data"), b, sizeof b), "");
    assert_string_equal(config_key_range(config_key_find("token-burst"), b, sizeof b),
                        "0 < B <= 1e9");
    assert_string_equal(config_key_default(config_key_find("lane"), b, sizeof b),
                        "control=16/256 read=8/512 report=4/1024 poll=4/4096");
    assert_string_equal(config_key_default(config_key_find("port-file"), b, sizeof b), "");
    assert_string_equal(config_key_default(config_key_find("no-shed"), b, sizeof b), "");
    assert_null(config_key_find("nope"));
    assert_int_equal(config_command("init"), CONFIG_CMD_INIT);
    assert_int_equal(config_command("serve"), CONFIG_CMD_SERVE);
    assert_int_equal(config_command("pubkey"), CONFIG_CMD_PUBKEY);
    assert_int_equal(config_command("serv"), CONFIG_CMD_UNKNOWN);
    assert_int_equal(config_command(""), CONFIG_CMD_UNKNOWN);
    assert_null(config_key_find("thread")); /* exact names only */
}

/* -- the options file (--config) ------------------------------------- */

/* Writes text to DIR/name and returns the path (malloc'd). */
static char *write_conf(const char *dir, const char *name, const char *text)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    FILE *f;

    assert_non_null(path);
    snprintf(path, n, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return path;
}

/* Parses "--config PATH ARG..." (NULL-terminated ARGs) with config_parse_all(). */
static enum config_action parse_with_file(struct daemon_config *cfg, struct config_text *ct,
                                          char *err, size_t errlen, const char *path,
                                          const char *const *args)
{
    char *argv[MAXARGS + 1];
    const char *rest[3];
    size_t nargs;
    int argc = 0;

    argv[argc++] = "cellgated";
    argv[argc++] = "--config";
    argv[argc++] = (char *)path;
    while (*args && argc < MAXARGS)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    return config_parse_all(argc, argv, cfg, rest, 0, &nargs, ct, err, errlen);
}

#define PARSE_FILE(cfg, ct, err, path, ...)                                                        \
    parse_with_file((cfg), (ct), (err), sizeof(err), (path),                                       \
                    (const char *const[]){__VA_ARGS__, NULL})

/* Every value type from a file; comments, blanks, repeated keys; the
 * command line overrides the file. */
static void options_file_values_and_override(void **state)
{
    struct daemon_config c;
    struct config_text ct;
    char e[512], *dir = th_tmpdir(), *path;

    (void)state;
    path = write_conf(dir, "cellgated.conf",
                      "# the packaged file\n"
                      "\n"
                      "   # an indented comment\n"
                      "data = /var/lib/cellgate\n"
                      "listen=127.0.0.1:7071   \n"
                      "threads = 3\r\n"
                      "no-controller\n"
                      "no-ui = true\n"
                      "limit-localhost = false\n"
                      "lane = read=2/3\n"
                      "lane = poll=5/6\n"
                      "store = postgres://u@h/db?sslmode=require#frag\n"
                      "admin-token-file = /etc/cellgate/admin.token");
    assert_int_equal(PARSE_FILE(&c, &ct, e, path, "--threads", "5", "--lane", "poll=7/8"),
                     CONFIG_RUN);
    assert_string_equal(c.data_dir, "/var/lib/cellgate");
    assert_string_equal(c.listen, "127.0.0.1:7071");
    assert_string_equal(c.store_dsn, "postgres://u@h/db?sslmode=require#frag");
    assert_string_equal(c.admin_token_file, "/etc/cellgate/admin.token");
    assert_string_equal(c.config_file, path);
    assert_int_equal(c.threads, 5); /* the command line wins */
    assert_int_equal(c.no_controller, 1);
    assert_int_equal(c.no_ui, 1);
    assert_int_equal(c.limit_localhost, 0);
    assert_true(c.lane_workers[LANE_READ] == 2 && c.lane_queue[LANE_READ] == 3);
    assert_true(c.lane_workers[LANE_POLL] == 7 && c.lane_queue[LANE_POLL] == 8);
    config_text_free(&ct);
    assert_null(ct.text);

    /* without --config nothing is read */
    assert_int_equal(PARSE(&c, e, "--threads", "4"), CONFIG_RUN);
    assert_null(c.config_file);
    free(path);
    th_rmrf(dir);
    free(dir);
}

/* Each bad line is refused naming FILE:LINE and what is wrong. */
static void options_file_refusals(void **state)
{
    static const struct {
        const char *text, *msg; /* msg follows "PATH:" */
    } cases[] = {
        {"data = x\nthreds = 4\n", "2: unknown option 'threds' (the long names of --help)"},
        {"thr = 4\n", "1: unknown option 'thr' (the long names of --help)"}, /* no prefixes */
        {"--threads = 4\n", "1: unknown option '--threads' (the long names of --help)"},
        {"threads = 0\n", "1: bad value '0' for threads (1..64)"},
        {"threads = 4 # four\n", "1: bad value '4 # four' for threads (1..64)"},
        {"threads\n", "1: missing value for threads (threads = N)"},
        {"threads =\n", "1: missing value for threads (threads = N)"},
        {"no-controller = yes\n", "1: bad value 'yes' for no-controller (true or false)"},
        {"config = /etc/other.conf\n", "1: 'config' cannot be set in a file"},
        {"help\n", "1: 'help' cannot be set in a file"},
        {"\n\n= 4\n", "3: unknown option '' (the long names of --help)"},
    };
    char e[512], want[1024], *dir = th_tmpdir();

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_SIZE(cases); i++) {
        struct daemon_config c;
        struct config_text ct;
        char *path = write_conf(dir, "bad.conf", cases[i].text);

        assert_int_equal(PARSE_FILE(&c, &ct, e, path, "--threads", "2"), CONFIG_USAGE_ERROR);
        snprintf(want, sizeof want, "%s:%s", path, cases[i].msg);
        assert_string_equal(e, want);
        config_text_free(&ct);
        free(path);
    }
    {
        struct daemon_config c;
        struct config_text ct;
        char missing[4096];

        snprintf(missing, sizeof missing, "%s/none.conf", dir);
        assert_int_equal(PARSE_FILE(&c, &ct, e, missing, "--threads", "2"), CONFIG_USAGE_ERROR);
        snprintf(want, sizeof want, "%s: No such file or directory", missing);
        assert_string_equal(e, want);
        config_text_free(&ct);
    }
    {
        /* a binary file is no options file */
        struct daemon_config c;
        struct config_text ct;
        char *path = write_conf(dir, "nul.conf", "data = x\n");
        FILE *f = fopen(path, "a");

        assert_non_null(f);
        fputc('\0', f);
        fclose(f);
        assert_int_equal(PARSE_FILE(&c, &ct, e, path, "--threads", "2"), CONFIG_USAGE_ERROR);
        snprintf(want, sizeof want, "%s: holds a NUL byte: not an options file", path);
        assert_string_equal(e, want);
        config_text_free(&ct);
        free(path);
    }
    {
        /* the command line is still checked after a good file */
        struct daemon_config c;
        struct config_text ct;
        char *path = write_conf(dir, "ok.conf", "threads = 4\n");

        assert_int_equal(PARSE_FILE(&c, &ct, e, path, "--threads", "99"), CONFIG_USAGE_ERROR);
        assert_string_equal(e, "bad value '99' for --threads (1..64)");
        config_text_free(&ct);
        assert_int_equal(PARSE_FILE(&c, &ct, e, path, "--version"), CONFIG_VERSION);
        config_text_free(&ct);
        free(path);
    }
    th_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_the_documented_ones),
        cmocka_unit_test(table_is_well_formed),
        cmocka_unit_test(strings),
        cmocka_unit_test(unsigned_and_size_ranges),
        cmocka_unit_test(size_without_upper_bound),
        cmocka_unit_test(doubles),
        cmocka_unit_test(flags),
        cmocka_unit_test(lanes),
        cmocka_unit_test(fault_delays),
        cmocka_unit_test(missing_values),
        cmocka_unit_test(unknown_options_and_arguments),
        cmocka_unit_test(command_arguments),
        cmocka_unit_test(actions),
        cmocka_unit_test(help_and_markdown_cover_the_table),
        cmocka_unit_test(key_text),
        cmocka_unit_test(options_file_values_and_override),
        cmocka_unit_test(options_file_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
