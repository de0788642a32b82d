/* SPDX-License-Identifier: MIT */
/*
 * config.h: cellgated's options as one table of keys (name, type, field of
 * struct daemon_config, range, default, metavar, help), and what is built
 * from it: the defaults, the argv parser, --help and the man page's OPTIONS
 * section (docs/man/cellgated.8.md).
 *
 * A row says everything about one key; adding an option is adding a row.
 * The table is const; the parser keeps no state between calls.
 */
#ifndef CG_CONFIG_H
#define CG_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "daemon.h"
#include "routes.h"

#define CELLGATED_VERSION CG_PROJECT_VERSION /* CMakeLists.txt: the project's */

/* The value type of a key: how its argument is parsed and stored. */
enum config_type {
    CONFIG_STRING,   /* const char * into argv; any value */
    CONFIG_SIZE,     /* size_t, decimal digits, min..max (max 0: no upper bound) */
    CONFIG_UNSIGNED, /* unsigned, decimal digits, min..max */
    CONFIG_DOUBLE,   /* double (strtod), dmin < x <= dmax */
    CONFIG_FLAG,     /* no value; stores int 1 */
    CONFIG_LANE,     /* NAME=W/Q: unsigned[LANE__COUNT] at off (W, min..max)
                        and at off2 (Q, min2..max2), for the lane NAME */
    CONFIG_LANE_MS,  /* NAME=MS: unsigned[LANE__COUNT] at off (MS, min..max) */
    CONFIG_ACTION,   /* no value, stores nothing: the parse returns 'action' */
};

/* What a command line asks for (config_parse()'s result). */
enum config_action {
    CONFIG_RUN = 0,       /* run the command with the parsed config */
    CONFIG_HELP,          /* --help: config_print_help(stdout), exit 0 */
    CONFIG_VERSION,       /* --version: print "cellgated VERSION", exit 0 */
    CONFIG_HELP_MARKDOWN, /* --help-markdown: config_print_markdown(stdout), exit 0 */
    CONFIG_USAGE_ERROR,   /* the message is in err; exit 2 */
};

/* cellgated's commands (the first argument; serve when there is none). */
enum config_command {
    CONFIG_CMD_UNKNOWN = -1,
    CONFIG_CMD_INIT,    /* create the data directory and exit */
    CONFIG_CMD_SERVE,   /* run the server */
    CONFIG_CMD_PUBKEY,  /* print the public signing key */
    CONFIG_CMD_DUMP,    /* write the store's dump file */
    CONFIG_CMD_LOAD,    /* load a dump file into a new store */
    CONFIG_CMD_MIGRATE, /* copy a SQLite data dir's store into another store */
    CONFIG_CMD_REKEY,   /* rotate the signing key (prepare, then --commit) */
    CONFIG_CMD_BACKUP,  /* backup create|verify|restore */
};

/* The groups of --help and of the man page, in their order. */
enum config_group {
    CONFIG_G_SERVER,   /* data directory and listener */
    CONFIG_G_CONNS,    /* HTTP requests and connections */
    CONFIG_G_TLS,      /* TLS and agents' client certificates */
    CONFIG_G_SHED,     /* admission: lanes, parked polls, rate limits */
    CONFIG_G_ROLLOUT,  /* signed statements and the rollout controller */
    CONFIG_G_AUDIT,    /* the audit log's signed checkpoints */
    CONFIG_G_REHEARSE, /* fault injection and --no-shed: rehearsals only */
    CONFIG_G_INFO,     /* --help, --version */
    CONFIG_G__COUNT
};

/* Row flags. */
#define CONFIG_HIDDEN 1u /* accepted, but not in --help or the man page */

/* A key's default (the member of its type). */
struct config_default {
    const char *s;                  /* CONFIG_STRING (NULL: unset) */
    unsigned long long u;           /* CONFIG_SIZE, CONFIG_UNSIGNED; CONFIG_LANE_MS: every lane */
    double d;                       /* CONFIG_DOUBLE */
    unsigned lanes[LANE__COUNT][2]; /* CONFIG_LANE: {W, Q} per lane, enum lane order */
};

/* One key of the table. */
struct config_key {
    const char *name;              /* long option, without "--" */
    char letter;                   /* short option (-t), 0 for none */
    enum config_type type;         /* how the value is parsed and stored */
    enum config_group group;       /* where --help and the man page list it */
    unsigned flags;                /* CONFIG_HIDDEN */
    size_t off;                    /* offsetof(struct daemon_config, field) */
    size_t off2;                   /* CONFIG_LANE: the queue array */
    const char *metavar;           /* "N", "ADDR:PORT"; NULL when it takes no value */
    unsigned long long min, max;   /* integer range, inclusive (see enum config_type) */
    unsigned long long min2, max2; /* CONFIG_LANE: the queue's range */
    double dmin, dmax;             /* CONFIG_DOUBLE: dmin < x <= dmax */
    struct config_default def;     /* the value before any option */
    const char *def_note;          /* what the default means ("no limit"), or NULL */
    enum config_action action;     /* CONFIG_ACTION: what the parse returns */
    const char *help;              /* one line for --help, without range or default */
    const char *doc;               /* the man page's paragraph (Markdown), without range
                                      or default; NULL: 'help' */
};

/* The table, in --help order within each group; *n gets its length. */
const struct config_key *config_keys(size_t *n);

/* The command called name, or CONFIG_CMD_UNKNOWN. */
enum config_command config_command(const char *name);

/* Finds a key by its long name (exact). NULL if there is none. */
const struct config_key *config_key_find(const char *name);

/*
 * Fills cfg with every key's default from the table (fields no key sets
 * are zero). Every caller that builds a daemon_config starts here.
 */
void config_defaults(struct daemon_config *cfg);

/*
 * Parses options (argv[1..argc-1]; argv[0] is the program or command name)
 * into cfg, which it first fills with the defaults. Long options take their
 * value as the next argument or after '=', and may be abbreviated to a
 * unique prefix; short ones take it as the next argument or attached (-t4)
 * and may be clustered (-Nh). "--" ends the options. Any other argument is
 * an error. String values point into argv. Stops at the first action key
 * (--help, --version) or error. Returns the action; on CONFIG_USAGE_ERROR,
 * err (errlen bytes) holds a message without the "cellgated: " prefix, e.g.
 * "bad value 'x' for --threads (1..64)".
 */
enum config_action config_parse(int argc, char *const argv[], struct daemon_config *cfg, char *err,
                                size_t errlen);

/* config_parse() for a command that takes arguments besides the options
 * (`backup create OUT`): the first 'max' of them (before or after the
 * options; everything after "--" is one) go to args[0..*nargs); one more
 * is the usage error "unexpected argument". */
enum config_action config_parse_args(int argc, char *const argv[], struct daemon_config *cfg,
                                     const char **args, size_t max, size_t *nargs, char *err,
                                     size_t errlen);

/* The text of an options file (--config): the string values it set in a
 * daemon_config point into it, so it lives as long as that config. */
struct config_text {
    char *text; /* owned; NULL when no file was read */
};

/*
 * Reads the options file at path into cfg, over what cfg holds: one
 * "name = value" line per option with the table's long names; a flag is a
 * bare "name" or "name = true" ("name = false" clears it); a repeatable
 * option (the lane keys) is repeated; blank lines and lines starting with
 * '#' are skipped; the value is the rest of the line without the blanks
 * around it. ct receives the text (free it with config_text_free() once cfg
 * is no longer used, also on failure). Returns 0, or -1 with err (errlen
 * bytes) "PATH:LINE: what is wrong" (unknown name, bad or missing value,
 * "config" or an action key in the file) or "PATH: why it cannot be read".
 */
int config_load_file(const char *path, struct daemon_config *cfg, struct config_text *ct, char *err,
                     size_t errlen);

/* Frees what config_load_file() read; ct->text becomes NULL. */
void config_text_free(struct config_text *ct);

/*
 * config_parse_args(), then, when the command line names --config FILE,
 * the defaults, FILE (config_load_file()) and the command line again over
 * it: the command line wins. ct is set to NULL text first and receives the
 * file's text; free it with config_text_free() whatever this returns. A
 * file that cannot be read or parsed is CONFIG_USAGE_ERROR with err set.
 */
enum config_action config_parse_all(int argc, char *const argv[], struct daemon_config *cfg,
                                    const char **args, size_t max, size_t *nargs,
                                    struct config_text *ct, char *err, size_t errlen);

/* Writes the accepted values of k ("1..64", "0 < R <= 1e9", ...) into buf
 * (n bytes); "" for strings, flags and actions. Returns buf. */
char *config_key_range(const struct config_key *k, char *buf, size_t n);

/* Writes k's default as --help shows it ("4194304", "control=16/256 ...")
 * into buf (n bytes); "" if it has none (flags, unset strings). Returns buf. */
char *config_key_default(const struct config_key *k, char *buf, size_t n);

/* Prints the usage: synopsis, commands, then every visible key by group. */
void config_print_help(FILE *f);

/* Prints the body of the man page's "## OPTIONS" section (Markdown, after
 * the heading, up to the next section), generated from the table. */
void config_print_markdown(FILE *f);

#endif /* CG_CONFIG_H */
