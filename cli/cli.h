/* SPDX-License-Identifier: MIT */
/*
 * cli.h - shared declarations of the cellgate CLI: the command context,
 * the command functions, option parsing, output and error helpers.
 *
 * The CLI talks to the server only through libcellgate's public API
 * (<cellgate/cellgate.h>); common/ helpers (JSON, buffers) are allowed.
 *
 * Exit codes (enum cli_exit, documented in docs/cli.md):
 *   0  success
 *   1  the server checked a document and rejected it (contract violations,
 *      invalid contract/plan), or a client-side check failed (audit verify),
 *      or a watched rollout ended other than completed (rollout watch)
 *   2  usage error: bad arguments, unreadable input file, or the server
 *      answered 400 bad_request
 *   3  server or network error: cannot connect, timeout, 404, 409, 5xx,
 *      unparsable answer
 *   4  authentication failed: the server answered 401 (no token, an
 *      unknown, revoked or expired one)
 *   5  permission denied: the server answered 403 (the token's role or
 *      config scope does not allow it, a policy, self-approval)
 * Only main() exits; commands return one of these.
 *
 * How to add a subcommand (see also docs/style.md "Checklists"):
 *   1. Write cli/cmd_<name>.c with `int cmd_<name>(struct cli_ctx *ctx,
 *      int argc, char **argv)`. argv[0] is the command name; parse the rest
 *      with cli_parse() and an option table; return an enum cli_exit.
 *      Nested verbs (`cellgate cell add`) dispatch on argv[1] through a
 *      small table in that file (see cmd_cell.c).
 *   2. Declare it below.
 *   3. Add its row to commands[] in cli/commands.c, in alphabetical order,
 *      with a one-line summary and the full usage text (every synopsis
 *      line); `cellgate help <name>` and `<name> --help` print it.
 *   4. The build picks up every .c file in cli/; re-run cmake.
 *   5. Document it in docs/cli.md and docs/man/cellgate.1.md.
 *   6. Add tests/integration/40-cli/NN-<name>.py; the table tests
 *      (tests/unit/test_cli_table.c, 40-cli/10-help.py) cover --help.
 */
#ifndef CG_CLI_CLI_H
#define CG_CLI_CLI_H

#include <cellgate/cellgate.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAIL = 1,   /* violations, failed check */
    CLI_EXIT_USAGE = 2,  /* bad invocation or input */
    CLI_EXIT_SERVER = 3, /* server or network error */
    CLI_EXIT_AUTH = 4,   /* 401: authentication failed */
    CLI_EXIT_DENIED = 5, /* 403: permission denied */
};

/* Largest FILE argument read (bytes); the server's default body limit is
 * 4 MiB, so anything larger could not be sent anyway. */
#define CLI_MAX_INPUT (16u * 1024 * 1024)

#define CLI_DEFAULT_SERVER "http://127.0.0.1:7070"

struct cli_cmd;

/* How results are printed (-o/--output, docs/cli.md "Output"). */
enum cli_output {
    CLI_OUT_TABLE = 0, /* for people: tables and key: value blocks (the default) */
    CLI_OUT_JSON,      /* -o json, --json: the server's JSON answer as-is */
    CLI_OUT_YAML,      /* -o yaml: the same data as YAML */
    CLI_OUT_WIDE,      /* -o wide: tables with their extra columns */
};

/* Everything a command needs; built by cli_main(), passed to every command. */
struct cli_ctx {
    const char *server;        /* borrowed from argv/env; never NULL */
    const char *token;         /* borrowed from argv/env; NULL = none */
    const char *ca_file;       /* --ca-file / CELLGATE_CA_FILE; NULL = the system's CAs */
    bool allow_plain_http;     /* --allow-plain-http / CELLGATE_ALLOW_PLAIN_HTTP */
    long timeout_ms;           /* 0 = library default */
    bool json;                 /* -o json|yaml, --json: print the server's answer (as
                                  JSON or YAML: output says which) instead of tables */
    enum cli_output output;    /* -o: the format; json is true for JSON and YAML */
    bool color_out;            /* colour on ctx->out (output.c, cli_color_setup()) */
    bool color_err;            /* colour on ctx->err */
    const struct cli_cmd *cmd; /* the running command (for its usage) */
    struct cg_client *client;  /* owned; created by cli_client() */
    FILE *out;                 /* stdout normally; tests may redirect */
    FILE *err;                 /* stderr normally */
};

typedef int cli_cmd_fn(struct cli_ctx *ctx, int argc, char **argv);

/* One row of THE command table (cli/commands.c). */
struct cli_cmd {
    const char *name;    /* what the user types */
    cli_cmd_fn *fn;      /* implementation */
    const char *summary; /* one line for `cellgate help` */
    const char *usage;   /* every synopsis line, then option lines */
};

/* The commands. */
cli_cmd_fn cmd_assign, cmd_audit, cmd_cell, cmd_changes, cmd_cluster, cmd_completion, cmd_config,
    cmd_diff, cmd_drill, cmd_flag, cmd_help, cmd_hosts, cmd_notify, cmd_plan, cmd_pubkey,
    cmd_publish, cmd_rollback, cmd_rollout, cmd_show, cmd_state, cmd_stats, cmd_status, cmd_token,
    cmd_validate, cmd_version, cmd_versions, cmd_whoami, cmd_why;
cli_cmd_fn cmd_apply; /* cmd_apply.c: apply -f (docs/gitops.md) */

/* ---- the table and the dispatcher (commands.c) ---- */

/* The whole CLI on argv (environment, global options, the command);
 * returns the exit code. main() is only this call. */
int cli_main(int argc, char **argv);

/* The command table and its length. */
const struct cli_cmd *cli_commands(size_t *count);

/* Looks a command up by name; NULL if unknown. */
const struct cli_cmd *cli_find_command(const char *name);

/* ---- option parsing (args.c) ---- */

enum cli_opt_type {
    CLI_OPT_FLAG, /* dest: bool *; no value */
    CLI_OPT_STR,  /* dest: const char **; one value, borrowed from argv */
    CLI_OPT_INT,  /* dest: long *; one value, decimal, >= 0 */
    CLI_OPT_LIST, /* dest: struct cli_list *; repeatable */
};

#define CLI_LIST_MAX 32
#define CLI_POS_MAX  8

/* Values of a repeatable option, borrowed from argv. */
struct cli_list {
    const char *v[CLI_LIST_MAX];
    int n;
};

/* One option of a command. Tables end with a row whose name is NULL. */
struct cli_opt {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 = none */
    enum cli_opt_type type;
    void *dest;
};

/*
 * "Did you mean": the candidate nearest to a mistyped word by edit distance
 * (insertions, deletions, substitutions and swaps of two neighbours each
 * count 1), if it is near enough to be a typo: at most 1 edit for words of
 * up to 4 characters, 2 up to 8, 3 beyond (and fewer than the candidate's
 * length). Feed every candidate to
 * cli_suggest_add(), then read the best; the first of equal ones wins.
 * All strings are borrowed for the life of the struct.
 */
struct cli_suggest {
    const char *word; /* what was typed */
    size_t wlen;      /* its length (an option name may end at '=') */
    const char *best; /* the nearest candidate so far; NULL = none near */
    size_t dist;      /* its distance */
};

void cli_suggest_init(struct cli_suggest *s, const char *word, size_t wlen);
void cli_suggest_add(struct cli_suggest *s, const char *candidate);

/* Edit distance of a[0..alen) and b (optimal string alignment); large
 * words are compared up to 63 characters. */
size_t cli_edit_distance(const char *a, size_t alen, const char *b);

/* Positional arguments, borrowed from argv. */
struct cli_args {
    char *pos[CLI_POS_MAX];
    int npos;
};

/* The options every command accepts (after the command name too). */
struct cli_globals {
    const char *server;
    const char *token;
    const char *ca_file;
    bool allow_plain_http;
    long timeout_ms;
    bool json;
    const char *output; /* -o, --output: json, yaml, wide (or table) */
    const char *color;  /* --color=auto|always|never */
    bool no_color;      /* --no-color */
    bool help;
};

/*
 * Parses argv[start..argc) against 'opts' plus the global options
 * (--server, --token, --ca-file, --allow-plain-http, --timeout, --json,
 * -h/--help). Accepts "--name
 * value", "--name=value", "-x value", "-xvalue", and "--" to end options.
 * Options and positionals may be mixed. With 'stop_at_pos' it stops at the
 * first positional (used by cli_main() for the command name) and stores its
 * index in *next. Pure (no output): on error returns -1 with a message in
 * errbuf; otherwise 0.
 */
int cli_args_parse(int argc, char **argv, int start, const struct cli_opt *opts,
                   struct cli_globals *g, struct cli_args *a, bool stop_at_pos, int *next,
                   char *errbuf, size_t errlen);

/*
 * cli_args_parse() for a command: applies the globals to ctx, prints the
 * command's usage for --help (returns CLI_EXIT_OK with *done = true), and
 * reports errors (CLI_EXIT_USAGE, *done = true). Checks that the number of
 * positionals is within [min_pos, max_pos].
 */
int cli_parse(struct cli_ctx *ctx, int argc, char **argv, int start, const struct cli_opt *opts,
              struct cli_args *a, int min_pos, int max_pos, bool *done);

/* ---- helpers (util.c) ---- */

/* Prints "cellgate: <msg>" to ctx->err. */
void cli_error(struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints a usage error, the command's usage, and returns CLI_EXIT_USAGE. */
int cli_usage_error(struct cli_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints a drill answer ({"config","plan","outcome","drills":[...]}) for
 * people (cmd_drill.c; `drill run` and `plan check`): one line per
 * scenario, its figures, every broken expectation with why. Returns
 * CLI_EXIT_FAIL when the outcome is "failed", else CLI_EXIT_OK. */
int cli_print_drills(struct cli_ctx *ctx, const struct cg_obj *o);

/* Prints the usage text of 'cmd' to 'f'. */
void cli_print_usage(FILE *f, const struct cli_cmd *cmd);

/* Maps a libcellgate status to an exit code (see the top of this file). */
int cli_exit_code(int rc, const struct cg_error *e);

/* Reports a failed library call ("cellgate: <what>: <message>") and
 * returns cli_exit_code(). */
int cli_api_error(struct cli_ctx *ctx, int rc, const struct cg_error *e, const char *what);

/* Returns the client (creating it on first use) or NULL after printing
 * the error; *rc gets the exit code then. */
struct cg_client *cli_client(struct cli_ctx *ctx, int *rc);

/* cli_parse() from argv[1], then cli_client(). Returns the client, or
 * NULL with *rc set (CLI_EXIT_OK after --help, else the error's code). */
struct cg_client *cli_begin(struct cli_ctx *ctx, int argc, char **argv, const struct cli_opt *opts,
                            struct cli_args *a, int min_pos, int max_pos, int *rc);

/* Reads a FILE argument ("-" = stdin), at most 'max' bytes, into a
 * malloc'd NUL-terminated buffer the caller frees. Prints the error and
 * returns NULL on failure. */
char *cli_read_input(struct cli_ctx *ctx, const char *path, size_t max, size_t *len);

/* Writes the body of a result (the server's JSON) followed by a newline
 * unless it already ends with one; as YAML with -o yaml
 * (cli_emit_json_text()). */
void cli_print_json(struct cli_ctx *ctx, const struct cg_result *r);

/*
 * The common end of a read command: on an API error prints it and returns
 * its exit code; with --json prints the result, frees it and returns
 * CLI_EXIT_OK; otherwise returns -1 and the caller renders 'r' for humans
 * (and frees it).
 */
int cli_answer(struct cli_ctx *ctx, int rc, struct cg_result *r, const struct cg_error *e,
               const char *what);

/*
 * Paging of the list commands (docs/cli.md, "Paging"). Without --limit and
 * --after a list command prints every item (libcellgate's cg_*_list()
 * follows the server's pages); with either it prints ONE page: at most
 * --limit items (1..1000, default the server's), after the key --after,
 * and tells on stderr how to ask for the next page.
 */
struct cli_page {
    long limit;        /* --limit N, 0 = not given */
    const char *after; /* --after KEY, NULL = not given; borrowed from argv */
};

/* True when the user asked for one page (--limit or --after given). */
bool cli_page_one(const struct cli_page *p);

/* Checks --limit (at most 1000) and --after (not empty): 0 when they are
 * fine, else prints a usage error and returns CLI_EXIT_USAGE. */
int cli_page_check(struct cli_ctx *ctx, const struct cli_page *p);

/* After one page printed for humans: when the page has a next one, prints
 * "more: cellgate <cmd> --limit N --after KEY" to ctx->err (the --limit
 * part only when given). 'cmd' is the command as typed, e.g. "cell list". */
void cli_page_more(struct cli_ctx *ctx, const struct cli_page *p, const struct cg_result *r,
                   const char *cmd);

/* "90s", "15m", "2h", "7d" as milliseconds; -1 when not one. */
int64_t cli_parse_duration(const char *s);

/* Parses a positive decimal number (version, seq); -1 if it is not one. */
long long cli_parse_number(const char *s);

/* Copies 's' into buf (size bytes), replacing control characters so that
 * server-supplied text cannot drive the terminal. Returns buf. */
char *cli_sanitize(const char *s, char *buf, size_t size);

/* Prints one violation: "pointer rule: message (expected X, actual Y)". */
void cli_print_violation(FILE *f, const struct cg_obj *v);

/* Prints every item of a result as violations plus a count line. */
void cli_print_violations(struct cli_ctx *ctx, FILE *f, const struct cg_result *r);

/* Formats an RFC 3339 time for tables ("2026-11-22 14:55:28"). */
const char *cli_short_time(const char *rfc3339, char *buf, size_t size);

/* Writes a pretty-printed field (nested JSON) with an indent of 2. */
void cli_print_json_field(FILE *f, const struct cg_obj *o, const char *field);

/* Prints "key:" padded to a fixed width, then the sanitized value. */
void cli_print_kv(FILE *f, const char *key, const char *value);

/* Formats the labels object of 'o' as "k=v,k2=v2" into buf. */
const char *cli_labels(const struct cg_obj *o, char *buf, size_t size);

/* A verb of a command group ("add" in `cellgate cell add`). */
struct cli_sub {
    const char *name;
    cli_cmd_fn *fn; /* called with argv[0] = the verb */
};

/* Dispatches argv[1] to the matching verb; handles a missing or unknown
 * verb (usage error) and `cellgate <cmd> --help`. */
int cli_run_sub(struct cli_ctx *ctx, int argc, char **argv, const struct cli_sub *subs, size_t n);

/* ---- health views (cmd_health.c) ---- */

/* `cells --health`: one page (pg) or every cell with its health on
 * 'config' (NULL: host-level) over 'window' (a duration, NULL: the
 * server's 10 minutes), then the fleet's line; 'cmd' as typed, for
 * cli_page_more(). Returns the exit code. */
int cli_cells_health(struct cli_ctx *ctx, const struct cli_page *pg, const char *config,
                     const char *window, const char *cmd);

/* `hosts --health`: hosts (of 'cell', reporting on 'config') with their
 * own latest health and whether they are far from their cell. */
int cli_hosts_health(struct cli_ctx *ctx, const struct cli_page *pg, const char *cell,
                     const char *config, const char *cmd);

/* `status CONFIG --cells`: the table of each cell's health of the result
 * of cg_config_status_cells(), and the fleet's line. */
void cli_print_status_health(struct cli_ctx *ctx, const struct cg_result *r);

/* --window D in seconds (0 when NULL); after a usage error (printed)
 * returns -1. */
int64_t cli_health_window(struct cli_ctx *ctx, const char *window);

/* ---- output formats and colour (output.c) ---- */

/*
 * Applies the global -o/--output, --json, --color and --no-color of g to
 * ctx (the environment's NO_COLOR too). On a bad value returns -1 with a
 * message in errbuf ("unknown output format 'x' (choose json, yaml or
 * wide)"); else 0.
 */
int cli_apply_output(struct cli_ctx *ctx, const struct cli_globals *g, char *errbuf, size_t errlen);

/*
 * Decides colour for ctx->out and ctx->err: --color=always forces it,
 * --color=never / --no-color / a non-empty NO_COLOR (https://no-color.org)
 * turn it off, otherwise (auto) each stream gets colour only when it is a
 * terminal and TERM is not "dumb". 'mode' is "auto", "always" or "never".
 */
void cli_color_setup(struct cli_ctx *ctx, const char *mode, bool no_color);

/* The colours of the CLI; one place, no escape codes elsewhere. */
enum cli_color {
    CLI_COLOR_NONE = 0,
    CLI_COLOR_GREEN,  /* pass, completed, applied, ok */
    CLI_COLOR_RED,    /* fail, halted, rolled back, rejected, errors */
    CLI_COLOR_YELLOW, /* hold, paused, waiting, inconclusive */
    CLI_COLOR_BOLD,
};

/* The colour of a verdict or state word ("pass", "rolled_back", "paused",
 * "failed", ...; case-insensitive, '_' or ' ' alike), NONE for others. */
enum cli_color cli_color_of(const char *word);

/* Writes a state or verdict word to ctx->out in its colour (cli_color_of())
 * when colour is on there, padded with spaces to 'width' characters. */
void cli_put_verdict(struct cli_ctx *ctx, const char *word, int width);

/* Writes s to f in colour c when 'on', else as it is. */
void cli_color_puts(FILE *f, bool on, enum cli_color c, const char *s);

/* The start and end escape sequences of c ("" when !on). */
const char *cli_color_start(bool on, enum cli_color c);
const char *cli_color_end(bool on, enum cli_color c);

/*
 * Prints a JSON document (the server's answer, 'len' bytes) as the output
 * format asks: as it is (with a final newline) for JSON, as a YAML document
 * for YAML ('stream': with a "---" line first, for a series such as
 * `rollout watch`). Text that is not JSON is printed as it is.
 */
void cli_emit_json_text(struct cli_ctx *ctx, const char *json, size_t len, bool stream);

/*
 * Writes the JSON text json[0..len) to f as YAML (libyaml's emitter, block
 * style; strings that YAML would read as another type are quoted). Returns
 * 0, or -1 when the text is not JSON or cannot be written.
 */
int cli_yaml_write(FILE *f, const char *json, size_t len, bool explicit_start);

/* ---- tables (table.c) ---- */

#define CLI_TABLE_MAX_COLS 14

/* An aligned text table. Cells are copied and sanitized. A column whose
 * heading starts with '+' ("+SHA256") is shown only by -o wide (the '+'
 * is not printed). Cells of a STATE, OUTCOME, VERDICT, STATUS or RESULT
 * column are coloured by cli_color_of() when colour is on. */
struct cli_table {
    int ncols;
    const char *head[CLI_TABLE_MAX_COLS]; /* borrowed (string literals) */
    bool wide[CLI_TABLE_MAX_COLS];        /* shown only with -o wide */
    char **cells;                         /* owned: nrows * ncols strings */
    size_t nrows;
    size_t cap; /* rows allocated */
};

void cli_table_init(struct cli_table *t, int ncols, const char *const *head);

/* Adds a row of t->ncols strings (NULL prints as ""). Returns 0 or -1. */
int cli_table_add(struct cli_table *t, const char *const *row);

/* Prints the header and rows, columns separated by two spaces; the last
 * column is not padded. Every column, no colour. */
void cli_table_print(const struct cli_table *t, FILE *f);

/* cli_table_print() with its state columns coloured when 'color'. */
void cli_table_print_color(const struct cli_table *t, FILE *f, bool color);

/* Prints t on ctx->out as the command's output: its wide columns only with
 * -o wide, coloured when ctx->color_out. Every table command prints so. */
void cli_table_emit(struct cli_ctx *ctx, const struct cli_table *t);

void cli_table_release(struct cli_table *t);

#endif /* CG_CLI_CLI_H */
