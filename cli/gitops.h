/* SPDX-License-Identifier: MIT */
/*
 * gitops.h - declarative files for `cellgate apply -f` and `cellgate diff
 * -f` (docs/gitops.md): the loader (YAML with libyaml and JSON with
 * jansson into one object model, jansson values, with file:line:column
 * of every node for errors) and the resource set built from it.
 *
 * The pieces:
 *   gitops_load.c  files and directories -> documents (struct gitops_doc)
 *   gitops_res.c   documents -> validated resources (struct gitops_set)
 *   gitops_kinds.c the table of kinds: fetch the server's state, compare,
 *                  apply; what the server cannot change yet is drift
 *   cmd_apply.c    the commands: apply, diff -f
 * Nothing here changes the server before every file has been read and
 * validated and the server's state has been read.
 */
#ifndef CG_CLI_GITOPS_H
#define CG_CLI_GITOPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli.h"

/* Largest single file read (bytes): a resource file, a contract_file or a
 * secret_file. */
#define GITOPS_MAX_FILE (4u * 1024 * 1024)
/* Most files and documents one apply reads. */
#define GITOPS_MAX_FILES 4096
#define GITOPS_MAX_DOCS  10000
/* Deepest nesting of a YAML document. */
#define GITOPS_MAX_DEPTH 64
/* Largest error message (file:line:column and the sentence). */
#define GITOPS_ERR_MAX 1024

/* Where a node came from. line/col are 1-based; 0 = unknown. */
struct gitops_pos {
    int line, col;
};

/* The position of one node: the container 'obj' itself (key NULL and
 * index (size_t)-1), or its member 'key' / item 'index' (for a member of
 * a mapping the position of its key). */
struct gitops_mark {
    const json_t *obj; /* borrowed from the document's root */
    char *key;         /* owned; NULL for an item or the container itself */
    size_t index;
    struct gitops_pos pos;
};

/* One document of a file: a YAML document (a file may hold several,
 * separated by ---), a JSON file, or one item of a JSON file's top-level
 * array. */
struct gitops_doc {
    char *file;                /* owned: the path as given or found */
    struct gitops_pos pos;     /* where the document starts */
    json_t *root;              /* owned reference */
    struct gitops_mark *marks; /* owned, 'nmarks' entries */
    size_t nmarks, cap;
};

/* Every document read. */
struct gitops_docs {
    struct gitops_doc *items; /* owned */
    size_t count, cap;
};

/*
 * Parses YAML text (one or more documents) into 'out' (appended). Scalars
 * follow the YAML 1.2 core schema: null/~/empty, true/false, integers,
 * floats; quoted scalars and !!str are strings. Aliases, other tags,
 * non-scalar keys, duplicate keys, NaN/Infinity and nesting deeper than
 * GITOPS_MAX_DEPTH are errors. 'file' names the text in positions
 * (copied). On failure returns -1 with "file:line:column: message" in
 * err (GITOPS_ERR_MAX bytes) and 'out' unchanged; 0 on success.
 */
int gitops_parse_yaml(const char *file, const char *text, size_t len, struct gitops_docs *out,
                      char *err);

/* Parses a JSON file (an object, or an array of objects: one document
 * each) into 'out', with cg_json_parse() (strict: duplicate keys are
 * errors). Positions come from reading the same text as YAML when that
 * gives the same value (otherwise every node is at 1:1). Errors as
 * gitops_parse_yaml(), except that documents already added stay in 'out'
 * (callers free 'out' on failure). */
int gitops_parse_json(const char *file, const char *text, size_t len, struct gitops_docs *out,
                      char *err);

/*
 * Reads every path: "-" (standard input: JSON when it starts with '{' or
 * '[', else YAML), a file (by its suffix .json, .yaml or .yml; any other
 * suffix is an error when named directly) or a directory, read
 * recursively, taking its *.json, *.yaml and *.yml files in sorted order
 * (hidden entries skipped). Each file at most GITOPS_MAX_FILE bytes.
 * Errors as gitops_parse_yaml().
 */
int gitops_load_paths(const char *const *paths, size_t npaths, struct gitops_docs *out, char *err);

/* The position of member 'key' of object 'obj' (or of item 'index' when
 * key is NULL; index (size_t)-1 for 'obj' itself) in document 'd'; falls
 * back to the container's position, then to the document's start. */
struct gitops_pos gitops_doc_pos(const struct gitops_doc *d, const json_t *obj, const char *key,
                                 size_t index);

/* Frees every document and zeroes the list. */
void gitops_docs_free(struct gitops_docs *docs);

/* ---- resources (gitops_res.c, gitops_kinds.c) ---- */

enum gitops_kind {
    GITOPS_CELL,
    GITOPS_PLAN,
    GITOPS_CONFIG,
    GITOPS_POLICY,
    GITOPS_SINK,
    GITOPS__COUNT
};

/* One validated resource. 'spec' is what is compared with the server:
 * for a config its contract is inline (contract_file read), for a sink
 * the secret is read (secret_file, secret_env) and kept out of 'spec'. */
struct gitops_res {
    enum gitops_kind kind;
    const char *name; /* borrowed from doc->root */
    const struct gitops_doc *doc;
    json_t *spec; /* owned reference */
    char *secret; /* owned; sinks only; NULL = none */
};

struct gitops_set {
    struct gitops_res *items; /* owned, sorted by kind (apply order), then name */
    size_t count, cap;
};

/* Options of apply / diff -f. */
struct gitops_opts {
    bool apply;          /* false: diff (change nothing) */
    bool prune;          /* delete what the kinds can delete and the files lack */
    const char *message; /* the audit reason; borrowed */
};

/*
 * Validates every document into resources: known kinds and fields, names,
 * types, duplicates across files, contracts parsed with the shared engine,
 * contract_file and secret_file read relative to their file. Every problem
 * is printed to ctx->err as "file:line:column: message"; returns the
 * number of problems (0 = 'set' is complete), or -1 when memory ran out.
 */
int gitops_build(struct cli_ctx *ctx, const struct gitops_docs *docs, struct gitops_set *set);

/* Frees every resource and zeroes the set. */
void gitops_set_free(struct gitops_set *set);

/* The resource of 'kind' named 'name' in the set, or NULL. */
const struct gitops_res *gitops_set_find(const struct gitops_set *set, enum gitops_kind kind,
                                         const char *name);

/* The name of a kind as written in files ("Cell", ...). */
const char *gitops_kind_name(enum gitops_kind k);

/*
 * Compares the set with the server and (opts->apply) applies it: reads
 * the server's state first, checks references and the token's role, then
 * changes kinds in dependency order. Prints one line per resource and a
 * summary to ctx->out. Returns an enum cli_exit: apply 0 = applied or
 * nothing to do; diff 0 = no differences, GITOPS_EXIT_DIFFERS =
 * differences; both 1 on drift (what can never be changed) or a document
 * the server refused, 2 on a dangling reference, 3 on server errors.
 */
int gitops_run(struct cli_ctx *ctx, struct cg_client *c, const struct gitops_set *set,
               const struct gitops_opts *opts);

/* ---- the commands (cmd_apply.c, cmd_validate_offline.c) ---- */

/* `cellgate diff -f FILE|DIR... [--prune]`: cmd_diff() calls it when
 * gitops_wants_files() says so. Returns an enum cli_exit. */
int gitops_diff_cmd(struct cli_ctx *ctx, int argc, char **argv);

/* Whether a command line (argv[0] the command) gives -f/--filename before
 * any "--": `diff -f` rather than `diff CONFIG A B`. */
bool gitops_wants_files(int argc, char **argv);

/* `cellgate validate --contract C DOC [--live L]`: the
 * contract engine of the server and agents (common/contract.c) on local
 * files, without a server or token. Exit 0 valid, 1 violations, 2 usage,
 * unreadable files or an invalid contract. cmd_validate() calls it when
 * validate_wants_offline() says so. */
int validate_offline(struct cli_ctx *ctx, int argc, char **argv);

/* Whether argv gives --contract before any "--". */
bool validate_wants_offline(int argc, char **argv);

/* `diff -f`: differences found (docs/cli.md "Exit codes"): 1, like diff(1)
 * and kubectl diff; the "no differences" answer is 0. */
#define GITOPS_EXIT_DIFFERS CLI_EXIT_FAIL

#endif /* CG_CLI_GITOPS_H */
