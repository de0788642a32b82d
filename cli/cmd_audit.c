/* SPDX-License-Identifier: MIT */
/*
 * cmd_audit.c - `cellgate audit` (one page of records as a table),
 * `cellgate audit verify` (the whole hash chain, recomputed locally, and
 * checked against the signed checkpoints, saved ones and an expected head
 * by cg_audit_verify_with()) and `cellgate audit checkpoints` (one page of
 * the server's signed checkpoints).
 */
#include <cellgate/cellgate.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sign.h"
#include "util.h"

/* Parses --expect-head SEQ:HASH (the hash lowercased into hash). */
static int parse_head(const char *arg, long long *seq, char hash[65])
{
    const char *colon = arg ? strchr(arg, ':') : NULL;
    char num[24];
    size_t i;

    if (!colon || (size_t)(colon - arg) >= sizeof num || strlen(colon + 1) != 64) {
        return -1;
    }
    memcpy(num, arg, (size_t)(colon - arg));
    num[colon - arg] = '\0';
    *seq = cli_parse_number(num);
    for (i = 0; i < 64; i++) {
        hash[i] = (char)tolower((unsigned char)colon[1 + i]);
    }
    hash[64] = '\0';
    return *seq > 0 && cg_is_sha256_hex(hash) ? 0 : -1;
}

/* --pubkey KEY: 64 hex characters, or a file holding them; into hex. */
static int parse_pubkey(struct cli_ctx *ctx, const char *arg, char hex[CG_PUBKEY_HEX_LEN + 1])
{
    struct cg_pubkey pk;
    char why[128];

    if (cg_pubkey_from_hex(arg, &pk, why, sizeof why) != CG_OK &&
        cg_pubkey_load(arg, &pk, why, sizeof why) != CG_OK) {
        return cli_usage_error(ctx, "--pubkey %s: neither 64 hex characters nor a key file (%s)",
                               arg, why);
    }
    cg_pubkey_to_hex(&pk, hex);
    return 0;
}

/* What the checkpoints showed, after a good chain. */
static void print_checkpoints(struct cli_ctx *ctx, const struct cg_audit_report *rep, bool pinned,
                              long long expect_seq)
{
    if (rep->checkpoints_served || rep->checkpoints > 0) {
        fprintf(ctx->out, "checkpoints: %" PRId64 " matched the chain", rep->checkpoints);
        if (rep->key_id[0]) {
            fprintf(ctx->out, ", %" PRId64 " signatures verified with %s %s",
                    rep->checkpoints_verified, pinned ? "the pinned key" : "the server's key",
                    rep->key_id);
        }
        if (rep->checkpoints_unknown > 0) {
            fprintf(ctx->out,
                    ", %" PRId64 " signed by other keys (not checked; add them with --pubkey)",
                    rep->checkpoints_unknown);
        }
        fprintf(ctx->out, "\n");
    } else {
        fprintf(ctx->out, "checkpoints: the server keeps none\n");
    }
    if (rep->covered_seq > 0) {
        fprintf(ctx->out, "covered: up to seq %" PRId64 " by a signed checkpoint",
                rep->covered_seq);
        if (rep->last_seq > rep->covered_seq) {
            fprintf(ctx->out, " (%" PRId64 " newer records not checkpointed yet)",
                    rep->last_seq - rep->covered_seq);
        }
        fprintf(ctx->out, "\n");
    }
    if (expect_seq > 0) {
        fprintf(ctx->out, "expected head: seq %lld found with its hash\n", expect_seq);
    }
    if (rep->key_id[0] && !pinned) {
        fprintf(ctx->err, "note: signatures were checked with the key the server serves; pin "
                          "the key with --pubkey for a check that does not trust the server\n");
    }
}

/* The failure, after CG_ERR_VERIFY. */
static int print_failure(struct cli_ctx *ctx, const struct cg_audit_report *rep)
{
    char why[CG_ERRMSG_MAX];
    const char *red = cli_color_start(ctx->color_out, CLI_COLOR_RED);
    const char *endc = cli_color_end(ctx->color_out, CLI_COLOR_RED);

    cli_sanitize(rep->why, why, sizeof why);
    switch (rep->failure) {
    case CG_AUDIT_CUT_SHORT:
        fprintf(ctx->out, "audit log %sCUT SHORT%s: %s\n", red, endc, why);
        break;
    case CG_AUDIT_REWRITTEN:
        fprintf(ctx->out, "audit log %sREWRITTEN%s at seq %" PRId64 ": %s\n", red, endc,
                rep->bad_seq, why);
        break;
    case CG_AUDIT_FORGED:
        fprintf(ctx->out, "audit checkpoint %sFORGED%s at seq %" PRId64 ": %s\n", red, endc,
                rep->bad_seq, why);
        break;
    case CG_AUDIT_BAD_SAVED:
        cli_error(ctx, "%s", why);
        return CLI_EXIT_USAGE;
    default:
        fprintf(ctx->out, "audit chain %sBROKEN%s at seq %" PRId64 ": %s\n", red, endc,
                rep->bad_seq, why);
        fprintf(ctx->out, "%" PRId64 " records before it verified\n", rep->records);
        return CLI_EXIT_FAIL;
    }
    fprintf(ctx->out, "%" PRId64 " records verified as a chain (its head: seq %" PRId64 ")\n",
            rep->records, rep->last_seq);
    return CLI_EXIT_FAIL;
}

static int audit_verify(struct cli_ctx *ctx, int argc, char **argv)
{
    const char *expect = NULL, *saved_path = NULL;
    struct cli_list keys = {0};
    bool no_server = false;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "expect-head",           0, CLI_OPT_STR,  &expect },
        { "pubkey",                0, CLI_OPT_LIST, &keys },
        { "checkpoints",           0, CLI_OPT_STR,  &saved_path },
        { "no-server-checkpoints", 0, CLI_OPT_FLAG, &no_server },
        { NULL,                    0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_audit_report rep = CG_AUDIT_REPORT_INIT;
    struct cg_audit_verify_opts vo = CG_AUDIT_VERIFY_OPTS_INIT;
    struct cg_error e = {0};
    char hexes[CLI_LIST_MAX][CG_PUBKEY_HEX_LEN + 1], hash[65];
    const char *keyv[CLI_LIST_MAX];
    long long seq = 0;
    char *saved = NULL;
    size_t saved_len = 0;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 0, 0, &rc);

    if (!c) {
        return rc;
    }
    if (expect && parse_head(expect, &seq, hash) < 0) {
        return cli_usage_error(ctx, "--expect-head wants SEQ:HASH (a seq and 64 hex characters)");
    }
    for (int i = 0; i < keys.n; i++) {
        if ((rc = parse_pubkey(ctx, keys.v[i], hexes[i])) != 0) {
            return rc;
        }
        keyv[i] = hexes[i];
    }
    if (saved_path && !(saved = cli_read_input(ctx, saved_path, CLI_MAX_INPUT, &saved_len))) {
        return CLI_EXIT_USAGE;
    }
    vo.expect_seq = seq;
    vo.expect_hash = expect ? hash : NULL;
    vo.pubkeys = keys.n ? keyv : NULL;
    vo.npubkeys = (size_t)keys.n;
    vo.no_server_checkpoints = no_server;
    vo.saved = saved;
    vo.saved_len = saved_len;
    rc = cg_audit_verify_with(c, &vo, &rep, &e);
    free(saved);
    if (rc == CG_ERR_VERIFY) {
        return print_failure(ctx, &rep);
    }
    if (rc != CG_OK) {
        return cli_api_error(ctx, rc, &e, "cannot verify the audit chain");
    }
    fprintf(ctx->out, "audit chain %sOK%s: %" PRId64 " records\n",
            cli_color_start(ctx->color_out, CLI_COLOR_GREEN),
            cli_color_end(ctx->color_out, CLI_COLOR_GREEN), rep.records);
    if (rep.records > 0) {
        fprintf(ctx->out, "head: seq %" PRId64 " hash %s\n", rep.last_seq, rep.last_hash);
    }
    print_checkpoints(ctx, &rep, keys.n > 0, seq);
    return CLI_EXIT_OK;
}

static int audit_checkpoints(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"SEQ", "TIME", "KEY", "HASH"};
    long after = 0, limit = 0;
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "after", 0, CLI_OPT_INT,  &after },
        { "limit", 0, CLI_OPT_INT,  &limit },
        { NULL,    0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    const struct cg_obj *latest;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 0, 0, &rc);
    size_t n;

    if (!c) {
        return rc;
    }
    if (limit > 1000) {
        return cli_usage_error(ctx, "--limit is at most 1000");
    }
    rc = cg_audit_checkpoints_page(c, after, (int)limit, &r, &e);
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot read the audit checkpoints")) >= 0) {
        return rc;
    }
    n = cg_result_count(r);
    cli_table_init(&t, 4, head);
    for (size_t i = 0; i < n; i++) {
        const struct cg_obj *o = cg_result_item(r, i);
        char seq[24], when[32];
        const char *row[] = {
            seq,
            cli_short_time(cg_obj_str(o, "time"), when, sizeof when),
            cg_obj_str(o, "key_id"),
            cg_obj_str(o, "hash"),
        };
        snprintf(seq, sizeof seq, "%" PRId64, cg_obj_int(o, "seq", 0));
        cli_table_add(&t, row);
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    latest = cg_obj_child(cg_result_obj(r), "latest");
    if (latest) {
        char hash[80];
        fprintf(ctx->out, "latest (kept outside the database): seq %" PRId64 " hash %s\n",
                cg_obj_int(latest, "seq", 0),
                cli_sanitize(cg_obj_str(latest, "hash"), hash, sizeof hash));
    }
    if (cg_result_next_after(r)[0]) {
        fprintf(ctx->err, "more: cellgate audit checkpoints --after %s\n", cg_result_next_after(r));
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

/* Pages of a filtered `audit` followed at most: each reads at most 5000
 * records of the log on the server (docs/api/audit.md). */
#define AUDIT_PAGES_MAX 200

static void audit_row(struct cli_table *t, const struct cg_obj *o)
{
    char seq[24], when[32];
    const char *row[] = {
        seq,
        cli_short_time(cg_obj_str(o, "time"), when, sizeof when),
        cg_obj_str(o, "actor"),
        cg_obj_str(o, "action"),
        cg_obj_str(o, "object"),
        cg_obj_str(o, "reason"),
        cg_obj_str(o, "time"),
        cg_obj_str(o, "hash"),
    };
    snprintf(seq, sizeof seq, "%" PRId64, cg_obj_int(o, "seq", 0));
    cli_table_add(t, row);
}

/* --config, --actor, --since | --from/--to into f; CLI_EXIT_OK or a usage
 * error (printed). */
static int audit_filter(struct cli_ctx *ctx, struct cg_audit_filter *f, const char *since,
                        const char *from, const char *to)
{
    if (since && (from || to)) {
        return cli_usage_error(ctx, "--since or --from/--to, not both");
    }
    if (since) {
        int64_t d = cli_parse_duration(since);
        if (d < 0) {
            return cli_usage_error(ctx, "--since wants a duration such as 90m, 12h, 7d");
        }
        f->from_ms = cg_now_ms() - d;
    }
    if (from && cg_time_parse(from, &f->from_ms) != 0) {
        return cli_usage_error(ctx, "--from wants an RFC 3339 time (2026-12-06T10:00:00Z)");
    }
    if (to && cg_time_parse(to, &f->to_ms) != 0) {
        return cli_usage_error(ctx, "--to wants an RFC 3339 time (2026-12-06T10:00:00Z)");
    }
    if (f->from_ms && f->to_ms && f->to_ms <= f->from_ms) {
        return cli_usage_error(ctx, "--to must be later than --from");
    }
    if (f->config && !f->config[0]) {
        return cli_usage_error(ctx, "--config needs a config name");
    }
    if (f->actor && !f->actor[0]) {
        return cli_usage_error(ctx, "--actor needs an actor such as token:ci");
    }
    return CLI_EXIT_OK;
}

/* A filtered `audit`: follows the server's pages (each a bounded scan)
 * until 'want' records or the end of the log; --json prints one page. */
static int audit_filtered(struct cli_ctx *ctx, struct cg_client *c, const struct cg_audit_filter *f,
                          int64_t after, long want, struct cli_table *t)
{
    int64_t cursor = after;
    size_t total = 0;
    bool more = false;
    int rc;

    for (int pages = 0; pages < AUDIT_PAGES_MAX; pages++) {
        struct cg_result *r = NULL;
        struct cg_error e = {0};
        size_t n;

        rc = cg_audit_page(c, f, cursor, (int)(want - (long)total), &r, &e);
        if (ctx->json || rc != CG_OK) {
            rc = cli_answer(ctx, rc, r, &e, "cannot read the audit log");
            return rc >= 0 ? rc : CLI_EXIT_OK;
        }
        n = cg_result_count(r);
        for (size_t i = 0; i < n; i++) {
            audit_row(t, cg_result_item(r, i));
        }
        total += n;
        cursor = cg_obj_int(cg_result_obj(r), "next_after", cursor);
        more = cg_obj_bool(cg_result_obj(r), "more", 0);
        cg_result_free(r);
        if (!more || (long)total >= want) {
            break;
        }
    }
    if (total == 0) {
        fprintf(ctx->out, "no records\n");
    } else {
        cli_table_emit(ctx, t);
    }
    if (more) {
        fprintf(ctx->err, "more: cellgate audit --after %" PRId64 " (same filters)\n", cursor);
    }
    return CLI_EXIT_OK;
}

static int audit_list(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const head[] = {"SEQ",    "TIME",   "ACTOR",    "ACTION",
                                       "OBJECT", "REASON", "+TIME_AT", "+HASH"};
    long after = 0, limit = 0;
    const char *since = NULL, *from = NULL, *to = NULL;
    struct cg_audit_filter f = {0};
    /* clang-format off */
    const struct cli_opt opts[] = {
        { "after",  0, CLI_OPT_INT,  &after },
        { "limit",  0, CLI_OPT_INT,  &limit },
        { "config", 0, CLI_OPT_STR,  &f.config },
        { "actor",  0, CLI_OPT_STR,  &f.actor },
        { "since",  0, CLI_OPT_STR,  &since },
        { "from",   0, CLI_OPT_STR,  &from },
        { "to",     0, CLI_OPT_STR,  &to },
        { NULL,     0, CLI_OPT_FLAG, NULL },
    };
    /* clang-format on */
    struct cli_args a;
    struct cg_result *r = NULL;
    struct cg_error e = {0};
    struct cli_table t;
    int rc;
    struct cg_client *c = cli_begin(ctx, argc, argv, opts, &a, 0, 0, &rc);
    size_t n;

    if (!c) {
        return rc;
    }
    if (limit > 1000) {
        return cli_usage_error(ctx, "--limit is at most 1000");
    }
    if ((rc = audit_filter(ctx, &f, since, from, to)) != CLI_EXIT_OK) {
        return rc;
    }
    cli_table_init(&t, (int)CG_ARRAY_SIZE(head), head);
    if (f.config || f.actor || f.from_ms || f.to_ms) {
        rc = audit_filtered(ctx, c, &f, after, limit ? limit : 100, &t);
        cli_table_release(&t);
        return rc;
    }
    rc = cg_audit_list(c, after, (int)limit, &r, &e);
    if ((rc = cli_answer(ctx, rc, r, &e, "cannot read the audit log")) >= 0) {
        cli_table_release(&t);
        return rc;
    }
    n = cg_result_count(r);
    for (size_t i = 0; i < n; i++) {
        audit_row(&t, cg_result_item(r, i));
    }
    cli_table_emit(ctx, &t);
    cli_table_release(&t);
    if (n > 0 && n == (size_t)(limit ? limit : 100)) {
        fprintf(ctx->err, "more: cellgate audit --after %" PRId64 "\n",
                cg_obj_int(cg_result_item(r, n - 1), "seq", 0));
    }
    cg_result_free(r);
    return CLI_EXIT_OK;
}

int cmd_audit(struct cli_ctx *ctx, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify") == 0) {
        return audit_verify(ctx, argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "checkpoints") == 0) {
        return audit_checkpoints(ctx, argc - 1, argv + 1);
    }
    if (argc >= 2 && argv[1][0] != '-') {
        /* `audit` takes no argument: a word is a mistyped verb */
        struct cli_suggest s;
        cli_suggest_init(&s, argv[1], strlen(argv[1]));
        cli_suggest_add(&s, "verify");
        cli_suggest_add(&s, "checkpoints");
        if (s.best) {
            return cli_usage_error(ctx, "unknown audit command \"%s\"; did you mean \"%s\"?",
                                   argv[1], s.best);
        }
        return cli_usage_error(ctx, "unknown audit command \"%s\"", argv[1]);
    }
    return audit_list(ctx, argc, argv);
}
