/* SPDX-License-Identifier: MIT */
/*
 * test_agent_conf.c: cellgate-agent internals without a network: the
 * config parser (conf.c), the state file and blob store (state.c), the
 * refusals kept across restarts (state.c, apply.c), the hook runner
 * (apply.c) and the histogram folding of report.c, through the cg_agent
 * library.
 */
#include "testhelp.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "util.h"

/* Quiet: takes the place of the library's agent_log() (agent/log.c). */
void agent_log(int min, int level, const char *fmt, ...)
{
    (void)min;
    (void)level;
    (void)fmt;
}

#define PK "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

static const char good_conf[] =
    "# a full example\n"
    "server = http://10.0.0.1:7070\n"
    "server = \"http://10.0.0.2:7070\"\n"
    "token = secret-token\n"
    "cell = use1-az1-c01\n"
    "host = host-17\n"
    "state_dir = /var/lib/cellgate-agent\n"
    "pubkey = " PK "\n"
    "report_interval = 15\n"
    "poll_wait = 90\n"
    "log_level = warn\n"
    "\n"
    "[health]\n"
    "prometheus_url = http://127.0.0.1:9100/metrics\n"
    "requests = http_requests_total\n"
    "errors = http_requests_total{code=~\"5..\"}\n"
    "latency = http_request_duration_seconds\n"
    "metric.retries_per_request = gauge app_retry_ratio\n"
    "metric.queue_drops = counter app_queue_drops_total{queue=\"main\"}\n"
    "\n"
    "[config bot-features]\n"
    "path = /etc/proxy/features.json\n"
    "reload = systemctl reload proxy\n"
    "reload_timeout = 20\n"
    "check = /usr/sbin/proxy --check-features\n"
    "mode = 0640\n"
    "[config flags]\n"
    "path = /etc/proxy/flags.json\n";

static void parses_full_example(void **state)
{
    struct agent_conf *c = malloc(sizeof *c);
    char msg[512] = "";

    (void)state;
    conf_init(c);
    assert_int_equal(conf_parse(c, good_conf, strlen(good_conf), msg, sizeof msg), 0);
    assert_int_equal(c->nservers, 2);
    assert_string_equal(c->servers[1], "http://10.0.0.2:7070");
    assert_string_equal(c->cell, "use1-az1-c01");
    assert_int_equal(c->report_interval_s, 15);
    assert_int_equal(c->poll_wait_s, 90);
    assert_int_equal(c->log_level, LV_WARN);
    assert_int_equal(c->nmetrics, 2);
    assert_int_equal(c->metrics[0].gauge, 1);
    assert_string_equal(c->metrics[1].selector, "app_queue_drops_total{queue=\"main\"}");
    assert_string_equal(c->sel_errors, "http_requests_total{code=~\"5..\"}");
    assert_int_equal(c->ncfgs, 2);
    assert_string_equal(c->cfgs[0].name, "bot-features");
    assert_int_equal(c->cfgs[0].reload_timeout_s, 20);
    assert_int_equal(c->cfgs[0].mode, 0640);
    assert_int_equal(c->cfgs[1].mode, 0644);
    assert_int_equal(c->cfgs[1].reload_timeout_s, 30);
    assert_int_equal(conf_finish(c, msg, sizeof msg), 0);
    assert_non_null(conf_find(c, "flags"));
    assert_null(conf_find(c, "nope"));
    free(c);
}

/* Trailing comments, as the docs' and the package's example write them. */
static void trailing_comments(void **state)
{
    static const char text[] = "server = https://a.internal:7070     # tried first\n"
                               "cell = c1\t# the cell\n"
                               "host = h#1\n"
                               "report_interval = 15   # seconds\n"
                               "[config a]\n"
                               "path = \"/etc/x # y.json\"   # quoted: the # stays\n"
                               "check = /bin/true#not-a-comment\n";
    struct agent_conf *c = malloc(sizeof *c);
    char msg[512] = "";

    (void)state;
    conf_init(c);
    assert_int_equal(conf_parse(c, text, strlen(text), msg, sizeof msg), 0);
    assert_string_equal(c->servers[0], "https://a.internal:7070");
    assert_string_equal(c->cell, "c1");
    assert_string_equal(c->host, "h#1");
    assert_int_equal(c->report_interval_s, 15);
    assert_string_equal(c->cfgs[0].path, "/etc/x # y.json");
    assert_string_equal(c->cfgs[0].check, "/bin/true#not-a-comment");
    conf_init(c);
    assert_int_equal(conf_parse(c, "cell = \"a\" b\n", 12, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "line 1: text after the closing quote of 'cell'"));
    free(c);
}

static void rejects_bad_input_with_line_numbers(void **state)
{
    static const struct {
        const char *text;
        const char *needle;
    } cases[] = {
        {"cell = a\nbogus = 1\n", "line 2: unknown key 'bogus'"},
        {"cell = a\ncell = b\n", "line 2: 'cell' is set twice"},
        {"report_interval = 0\n", "line 1: 'report_interval' must be an integer"},
        {"report_interval = 12x\n", "must be an integer"},
        {"poll_wait = 301\n", "must be an integer"},
        {"[config Bad Name]\n", "not a valid config name"},
        {"[config a]\npath=/x\n[config a]\n", "line 3: config a is defined twice"},
        {"[cfg x]\n", "unknown section"},
        {"[health\n", "section header"},
        {"just words\n", "expected key = value"},
        {"[config a]\nmode = 999\n", "octal"},
        {"[health]\nmetric.x = histogram foo\n", "counter|gauge"},
        {"[health]\nmetric.Bad = gauge foo\n", "must be [a-z0-9_]"},
        {"[config a]\nserver = http://x\n", "unknown key 'server' in [config]"},
        {"log_level = loud\n", "log_level"},
    };
    char msg[512];

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_SIZE(cases); i++) {
        struct agent_conf *c = malloc(sizeof *c);
        conf_init(c);
        msg[0] = '\0';
        assert_int_equal(conf_parse(c, cases[i].text, strlen(cases[i].text), msg, sizeof msg), -1);
        if (!strstr(msg, cases[i].needle)) {
            fail_msg("case %zu: '%s' does not contain '%s'", i, msg, cases[i].needle);
        }
        free(c);
    }
    {
        /* NUL bytes and overlong lines */
        struct agent_conf *c = malloc(sizeof *c);
        char *big = malloc(6000);
        conf_init(c);
        assert_int_equal(conf_parse(c, "cell = a\0b\n", 11, msg, sizeof msg), -1);
        memset(big, 'x', 5999);
        big[5999] = '\n';
        assert_int_equal(conf_parse(c, big, 6000, msg, sizeof msg), -1);
        assert_non_null(strstr(msg, "longer than"));
        free(big);
        free(c);
    }
}

static void finish_checks_required_keys(void **state)
{
    static const char *const missing[] = {
        "cell = c\nhost = h\nstate_dir = /s\npubkey = " PK "\ntoken = t\n[config a]\npath=/x\n",
        "server = http://s\nhost = h\nstate_dir = /s\npubkey = " PK "\ntoken = t\n[config "
        "a]\npath=/x\n",
        "server = http://s\ncell = c\nhost = h\nstate_dir = /s\ntoken = t\n[config a]\npath=/x\n",
        "server = http://s\ncell = c\nhost = h\nstate_dir = /s\npubkey = 12\ntoken = t\n[config "
        "a]\npath=/x\n",
        "server = http://s\ncell = c\nhost = h\nstate_dir = /s\npubkey = " PK "\ntoken = t\n",
        "server = http://s\ncell = c\nhost = h\nstate_dir = /s\npubkey = " PK
        "\ntoken = t\n[config a]\n",
        "server = ftp://s\ncell = c\nhost = h\nstate_dir = /s\npubkey = " PK
        "\ntoken = t\n[config a]\npath=/x\n",
        "server = http://s\ncell = c\nhost = h\nstate_dir = /s\npubkey = " PK
        "\n[config a]\npath=/x\n",
    };
    char msg[512];

    (void)state;
    for (size_t i = 0; i < CG_ARRAY_SIZE(missing); i++) {
        struct agent_conf *c = malloc(sizeof *c);
        conf_init(c);
        assert_int_equal(conf_parse(c, missing[i], strlen(missing[i]), msg, sizeof msg), 0);
        if (conf_finish(c, msg, sizeof msg) != -1) {
            fail_msg("case %zu should fail conf_finish", i);
        }
        free(c);
    }
}

/* mutual TLS: a client certificate may stand in for the token; it needs
 * its key; the TLS keys parse and allow_plain_http is a boolean */
static void tls_keys(void **state)
{
    static const char base[] =
        "server = https://s\ncell = c\nhost = h\nstate_dir = /s\npubkey = " PK "\n";
    static const char *const bad[] = {
        "tls_cert = /c.pem\n[config a]\npath=/x\n", /* no key */
        "tls_key = /c.key\n[config a]\npath=/x\n",  /* no certificate */
        "ca_file = /ca.pem\n[config a]\npath=/x\n", /* no credential */
    };
    char text[1024], msg[512];
    struct agent_conf *c = malloc(sizeof *c);

    (void)state;
    snprintf(text, sizeof text,
             "%stls_cert = /c.pem\ntls_key = /c.key\nca_file = /ca.pem\nallow_plain_http = yes\n"
             "[config a]\npath=/x\n",
             base);
    conf_init(c);
    assert_int_equal(conf_parse(c, text, strlen(text), msg, sizeof msg), 0);
    assert_int_equal(conf_finish(c, msg, sizeof msg), 0);
    assert_string_equal(c->tls_cert, "/c.pem");
    assert_string_equal(c->tls_key, "/c.key");
    assert_string_equal(c->ca_file, "/ca.pem");
    assert_int_equal(c->allow_plain_http, 1);
    assert_string_equal(c->token, "");
    for (size_t i = 0; i < CG_ARRAY_SIZE(bad); i++) {
        snprintf(text, sizeof text, "%s%s", base, bad[i]);
        conf_init(c);
        assert_int_equal(conf_parse(c, text, strlen(text), msg, sizeof msg), 0);
        if (conf_finish(c, msg, sizeof msg) != -1) {
            fail_msg("case %zu should fail conf_finish", i);
        }
    }
    conf_init(c);
    assert_int_equal(conf_parse(c, "allow_plain_http = maybe\n", 25, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "true or false"));
    assert_int_equal(conf_parse(c, "allow_plain_http = false\n", 25, msg, sizeof msg), 0);
    assert_int_equal(c->allow_plain_http, 0);
    free(c);
}

static void token_and_key_files(void **state)
{
    char *dir = th_tmpdir(), path[1024], kpath[1024], text[2048], msg[512];
    struct agent_conf *c = malloc(sizeof *c);
    FILE *f;

    (void)state;
    snprintf(path, sizeof path, "%s/token", dir);
    f = fopen(path, "w");
    fputs("  tok-123\n", f);
    fclose(f);
    snprintf(kpath, sizeof kpath, "%s/key.pub", dir);
    f = fopen(kpath, "w");
    fputs(PK "\n", f);
    fclose(f);
    snprintf(text, sizeof text,
             "server = http://s\ncell = c\nhost = h\nstate_dir = /s\ntoken_file = %s\n"
             "pubkey_file = %s\n[config a]\npath = /x\n",
             path, kpath);
    conf_init(c);
    assert_int_equal(conf_parse(c, text, strlen(text), msg, sizeof msg), 0);
    assert_int_equal(conf_finish(c, msg, sizeof msg), 0);
    assert_string_equal(c->token, "tok-123");
    assert_int_equal(c->npubkeys, 1);
    assert_string_equal(c->pubkeys[0], PK);
    th_rmrf(dir);
    free(dir);
    free(c);
}

static void state_round_trip_and_corruption(void **state)
{
    struct agent_state s, t;
    struct state_cfg *c;
    char *dir = th_tmpdir(), msg[256], path[1024];
    char *text;
    FILE *f;
    const char sha[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    (void)state;
    memset(&s, 0, sizeof s);
    assert_int_equal(state_load(dir, &t, msg, sizeof msg), 1); /* none yet */
    c = state_get(&s, "features", 1);
    assert_non_null(c);
    c->lkg_version = 7;
    c->lkg_generation = 12;
    cg_strlcpy(c->lkg_sha, sha, sizeof c->lkg_sha);
    c->rejected_generation = 13;
    c->p_version = 8;
    c->p_generation = 14;
    cg_strlcpy(c->p_sha, sha, sizeof c->p_sha);
    assert_null(state_get(&s, "Bad Name", 1));
    assert_int_equal(state_save(dir, &s, msg, sizeof msg), 0);
    assert_int_equal(state_load(dir, &t, msg, sizeof msg), 0);
    c = state_get(&t, "features", 0);
    assert_non_null(c);
    assert_int_equal(c->lkg_version, 7);
    assert_int_equal(c->lkg_generation, 12);
    assert_int_equal(c->rejected_generation, 13);
    assert_int_equal(c->p_generation, 14);
    assert_string_equal(c->p_sha, sha);

    /* every kind of damage is refused, never half-loaded */
    {
        static const char *const bad[] = {
            "",
            "{",
            "[]",
            "{\"format\":2,\"configs\":{}}",
            "{\"format\":1}",
            "{\"format\":1,\"configs\":{\"f\":{\"lkg_generation\":\"x\"}}}",
            "{\"format\":1,\"configs\":{\"f\":{\"lkg_generation\":-1}}}",
            "{\"format\":1,\"configs\":{\"f\":{\"lkg_sha256\":\"abc\"}}}",
            "{\"format\":1,\"configs\":{\"f\":{\"pending\":{\"generation\":3}}}}",
            "{\"format\":1,\"configs\":{\"BAD NAME\":{}}}",
        };
        for (size_t i = 0; i < CG_ARRAY_SIZE(bad); i++) {
            if (state_from_text(&t, bad[i], strlen(bad[i]), msg, sizeof msg) != -1) {
                fail_msg("bad state %zu was accepted", i);
            }
            assert_int_equal(t.n, 0);
        }
    }
    snprintf(path, sizeof path, "%s/state.json", dir);
    f = fopen(path, "w");
    fputs("{\"format\":1,\"configs\":{\"f\":", f);
    fclose(f);
    assert_int_equal(state_load(dir, &t, msg, sizeof msg), -1);
    assert_int_equal(t.n, 0);

    text = state_to_text(&s);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"pending\""));
    free(text);
    th_rmrf(dir);
    free(dir);
}

/* Finding 8, second part: every refusal for good (a contract violation
 * above all: the watcher decides it without the apply callback) is in
 * state.json with its version and reason, so a restarted agent neither
 * applies nor fetches that generation again (docs/agent.md "State
 * directory"). */
static void refusals_survive_a_restart(void **state)
{
    struct agent_state s, t;
    struct state_cfg *c;
    char *dir = th_tmpdir(), msg[256], path[1024];
    char *text;
    FILE *f;

    (void)state;
    memset(&s, 0, sizeof s);
    c = state_get(&s, "features", 1);
    assert_non_null(c);
    c->lkg_version = 3;
    c->lkg_generation = 5;

    /* state_refuse: newer wins, the same refusal only fills in gaps,
     * older ones and nonsense change nothing */
    assert_int_equal(state_refuse(c, 4, 6, "contract_violation"), 1);
    assert_int_equal(state_refuse(c, 4, 6, "contract_violation"), 0);
    assert_int_equal(state_refuse(c, 2, 4, "apply_failed"), 0);
    assert_int_equal(state_refuse(c, 9, 0, "apply_failed"), 0);
    assert_int_equal(c->rejected_generation, 6);
    assert_int_equal(c->rejected_version, 4);
    assert_string_equal(c->rejected_reason, "contract_violation");
    assert_int_equal(state_refuse(c, 0, 7, ""), 1); /* known only by generation */
    assert_int_equal(c->rejected_version, 0);
    assert_string_equal(c->rejected_reason, "");
    assert_int_equal(state_refuse(c, 5, 7, "apply_refused"), 1); /* filled in */
    assert_int_equal(c->rejected_version, 5);
    assert_string_equal(c->rejected_reason, "apply_refused");
    assert_int_equal(state_refuse(c, 6, 8, "Bad Reason; rm -rf"), 1);
    assert_string_equal(c->rejected_reason, ""); /* never stored as given */
    assert_int_equal(state_refuse(c, 6, 8, "contract_violation"), 1);

    /* a restart: the file holds all three fields */
    assert_int_equal(state_save(dir, &s, msg, sizeof msg), 0);
    snprintf(path, sizeof path, "%s/state.json", dir);
    text = th_read_file(path, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"rejected_generation\":8"));
    assert_non_null(strstr(text, "\"rejected_version\":6"));
    assert_non_null(strstr(text, "\"rejected_reason\":\"contract_violation\""));
    free(text);
    assert_int_equal(state_load(dir, &t, msg, sizeof msg), 0);
    c = state_get(&t, "features", 0);
    assert_non_null(c);
    assert_int_equal(c->lkg_generation, 5);
    assert_int_equal(c->rejected_generation, 8);
    assert_int_equal(c->rejected_version, 6);
    assert_string_equal(c->rejected_reason, "contract_violation");

    /* a file of an older agent (no version, no reason) still loads */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"format\":1,\"configs\":{\"features\":{\"lkg_version\":3,\"lkg_generation\":5,"
          "\"lkg_sha256\":\"\",\"rejected_generation\":6}}}",
          f);
    fclose(f);
    assert_int_equal(state_load(dir, &t, msg, sizeof msg), 0);
    c = state_get(&t, "features", 0);
    assert_non_null(c);
    assert_int_equal(c->rejected_generation, 6);
    assert_int_equal(c->rejected_version, 0);
    assert_string_equal(c->rejected_reason, "");

    /* damaged refusal fields are damage like any other */
    {
        static const char *const bad[] = {
            "{\"format\":1,\"configs\":{\"f\":{\"rejected_version\":-2}}}",
            "{\"format\":1,\"configs\":{\"f\":{\"rejected_version\":\"6\"}}}",
            "{\"format\":1,\"configs\":{\"f\":{\"rejected_reason\":7}}}",
            "{\"format\":1,\"configs\":{\"f\":{\"rejected_reason\":\"Contract violation\"}}}",
            "{\"format\":1,\"configs\":{\"f\":{\"rejected_reason\":"
            "\"a_reason_that_is_much_too_long_for_the_state\"}}}",
        };
        for (size_t i = 0; i < CG_ARRAY_SIZE(bad); i++) {
            if (state_from_text(&t, bad[i], strlen(bad[i]), msg, sizeof msg) != -1) {
                fail_msg("bad refusal %zu was accepted", i);
            }
            assert_int_equal(t.n, 0);
        }
    }
    th_rmrf(dir);
    free(dir);
}

/* agent_keep_refusals() copies what the watcher refused into the state
 * file, once; agent_seed() hands it back to a new watcher after a
 * restart. No request is made: the server's address is never used. */
static void watcher_refusals_are_saved_and_seeded(void **state)
{
    struct agent *a = calloc(1, sizeof *a);
    char *dir = th_tmpdir(), msg[256];
    const char *names[] = {"features"};
    const char *keys[] = {PK};
    struct cg_watch_options o = {.size = sizeof o};
    struct cg_watch_doc doc = {.size = sizeof doc, .config = "features"};
    struct cg_watch_status ws = {.size = sizeof ws};
    struct agent_state t;
    struct state_cfg *c;

    (void)state;
    assert_non_null(a);
    conf_init(&a->conf);
    cg_strlcpy(a->conf.state_dir, dir, sizeof a->conf.state_dir);
    cg_strlcpy(a->conf.cfgs[0].name, "features", sizeof a->conf.cfgs[0].name);
    snprintf(a->conf.cfgs[0].path, sizeof a->conf.cfgs[0].path, "%s/features.json", dir);
    a->conf.ncfgs = 1;
    assert_int_equal(cg_client_new("http://127.0.0.1:9", &a->clients[0], NULL), CG_OK);
    a->nclients = 1;
    o.cell = "c1";
    o.pubkeys = keys;
    o.npubkeys = 1;
    o.configs = names;
    o.nconfigs = 1;
    assert_int_equal(cg_watch_new(a->clients, 1, &o, &a->watch, NULL), CG_OK);

    /* nothing refused: nothing written */
    assert_int_equal(agent_keep_refusals(a), 0);
    assert_int_equal(state_load(dir, &t, msg, sizeof msg), 1);
    /* the watcher holds a refusal (here: seeded; in the agent: decided by
     * a poll) */
    doc.generation = 2;
    doc.version = 2;
    assert_int_equal(cg_watch_seed(a->watch, &doc, 9, NULL), CG_OK);
    assert_int_equal(agent_keep_refusals(a), 1);
    assert_int_equal(agent_keep_refusals(a), 0); /* once */
    assert_int_equal(state_load(dir, &t, msg, sizeof msg), 0);
    c = state_get(&t, "features", 0);
    assert_non_null(c);
    assert_int_equal(c->rejected_generation, 9);

    /* a restart: the new watcher is seeded with it */
    cg_watch_free(a->watch);
    a->watch = NULL;
    assert_int_equal(cg_watch_new(a->clients, 1, &o, &a->watch, NULL), CG_OK);
    assert_int_equal(state_load(dir, &a->state, msg, sizeof msg), 0);
    assert_int_equal(agent_seed(a, msg, sizeof msg), 0);
    assert_int_equal(cg_watch_status(a->watch, "features", &ws, NULL), CG_OK);
    assert_int_equal(ws.rejected_generation, 9);

    cg_watch_free(a->watch);
    cg_client_free(a->clients[0]);
    free(a);
    th_rmrf(dir);
    free(dir);
}

static void blobs_are_verified_and_collected(void **state)
{
    char *dir = th_tmpdir(), msg[256], sha[65], sha2[65], path[1024];
    struct agent_state s;
    struct state_cfg *c;
    size_t len;
    char *b;
    FILE *f;

    (void)state;
    cg_sha256_hex("hello", 5, sha);
    cg_sha256_hex("world", 5, sha2);
    assert_int_equal(blob_put(dir, sha, "hello", 5, msg, sizeof msg), 0);
    assert_int_equal(blob_put(dir, sha, "hello", 5, msg, sizeof msg), 0); /* idempotent */
    assert_int_equal(blob_put(dir, sha2, "world", 5, msg, sizeof msg), 0);
    assert_int_equal(blob_put(dir, "nope", "x", 1, msg, sizeof msg), -1);
    b = blob_get(dir, sha, 100, &len);
    assert_non_null(b);
    assert_int_equal(len, 5);
    assert_memory_equal(b, "hello", 5);
    free(b);
    /* a corrupted copy is refused */
    snprintf(path, sizeof path, "%s/blobs/%s", dir, sha2);
    f = fopen(path, "w");
    fputs("w0rld", f);
    fclose(f);
    assert_null(blob_get(dir, sha2, 100, &len));
    /* gc keeps only what the state references */
    memset(&s, 0, sizeof s);
    c = state_get(&s, "a", 1);
    cg_strlcpy(c->lkg_sha, sha, sizeof c->lkg_sha);
    blob_gc(dir, &s);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof path, "%s/blobs/%s", dir, sha);
    assert_int_equal(access(path, F_OK), 0);
    th_rmrf(dir);
    free(dir);
}

static void hooks_get_env_args_and_timeouts(void **state)
{
    char *dir = th_tmpdir(), cmd[2048], out[1024];
    const char *env[] = {"CELLGATE_VERSION=42", NULL};
    char *text;
    int64_t t0;

    (void)state;
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(cmd, sizeof cmd, "echo \"$CELLGATE_VERSION\" > %s; printf '%%s' >> %s", out, out);
    assert_int_equal(agent_run(cmd, "the-file", env, 5), 0);
    text = th_read_file(out, NULL);
    assert_non_null(text);
    assert_string_equal(text, "42\nthe-file");
    free(text);
    assert_int_equal(agent_run("exit 7", NULL, NULL, 5), 7);
    assert_int_equal(agent_run("kill -9 $$", NULL, NULL, 5), 128 + 9);
    /* a hung hook and its children are killed at the timeout */
    t0 = cg_mono_ms();
    assert_int_equal(agent_run("sleep 30 & sleep 30", NULL, NULL, 1), 124);
    assert_true(cg_mono_ms() - t0 < 5000);
    th_rmrf(dir);
    free(dir);
}

static void histogram_fold_maps_seconds_to_log_buckets(void **state)
{
    double upper[] = {0.001, 0.01, 0.1, 1.0, INFINITY};
    double cum[] = {10, 30, 35, 35, 40};
    struct cg_prom_hist h = {.upper = upper, .cumulative = cum, .nbuckets = 5};
    struct cg_hist out;
    uint64_t total = 0;

    (void)state;
    memset(&out, 0, sizeof out);
    report_hist_fold(&h, 1000.0, &out);
    for (size_t i = 0; i < CG_HIST_BUCKETS; i++) {
        total += out.b[i];
    }
    assert_int_equal(total, 40);
    assert_int_equal(out.b[CG_HIST_BUCKETS - 1], 5); /* +Inf */
    /* 1 ms lands in the bucket whose bound is >= 1 ms (0.25 * 2^2) */
    assert_int_equal(out.b[2], 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_full_example),
        cmocka_unit_test(trailing_comments),
        cmocka_unit_test(rejects_bad_input_with_line_numbers),
        cmocka_unit_test(finish_checks_required_keys),
        cmocka_unit_test(tls_keys),
        cmocka_unit_test(token_and_key_files),
        cmocka_unit_test(state_round_trip_and_corruption),
        cmocka_unit_test(refusals_survive_a_restart),
        cmocka_unit_test(watcher_refusals_are_saved_and_seeded),
        cmocka_unit_test(blobs_are_verified_and_collected),
        cmocka_unit_test(hooks_get_env_args_and_timeouts),
        cmocka_unit_test(histogram_fold_maps_seconds_to_log_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
