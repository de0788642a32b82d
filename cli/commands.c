/* SPDX-License-Identifier: MIT */
/*
 * commands.c - THE command table of the cellgate CLI and the dispatcher.
 *
 * cli_main() reads the environment, parses the global options that come
 * before the command name, finds the command in commands[] and runs it;
 * main.c only calls it, and only main() exits. To add a command, see the
 * checklist in cli.h.
 */
#include <cellgate/cellgate.h>

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

#define GLOBAL_OPTS                                                                                \
    "\n\nGlobal options (anywhere on the command line):\n"                                         \
    "  --server URL   server to talk to (env CELLGATE_SERVER, default " CLI_DEFAULT_SERVER ")\n"   \
    "  --token T      bearer token (env CELLGATE_TOKEN)\n"                                         \
    "  --ca-file F    trust only the CAs in PEM file F for https:// (env\n"                        \
    "                 CELLGATE_CA_FILE; default the system's)\n"                                   \
    "  --allow-plain-http  allow http:// to a host that is not this one (env\n"                    \
    "                 CELLGATE_ALLOW_PLAIN_HTTP=1); refused by default\n"                          \
    "  --timeout MS   request timeout in milliseconds (default 30000)\n"                           \
    "  -o, --output F  json: the server's JSON answer as-is; yaml: the same as YAML;\n"            \
    "                 wide: tables with more columns (ids, generations, full times)\n"             \
    "  --json         the same as -o json\n"                                                       \
    "  --color=WHEN   colour: auto (on a terminal, unless NO_COLOR is set), always, never\n"       \
    "  --no-color     the same as --color=never\n"                                                 \
    "  -h, --help     show this help"

/* The paging options of a list command (docs/cli.md, "Paging"); KEY names
 * the sort key in the usage (padded to 5 columns), WHAT says what it is. */
#define PAGE_OPTS(KEY, WHAT)                                                                       \
    "  --limit N      one page of at most N items (1..1000)\n"                                     \
    "  --after " KEY "  one page of the items after this " WHAT "\n"                               \
    "                 (without --limit/--after: every item, all pages)"

/* The options of the cell health views. */
#define HEALTH_OPTS                                                                                \
    "  --health       each cell's health and whether it is an outlier\n"                           \
    "  --config C     health on config C (every version of it); default: every\n"                  \
    "                 request the cell's hosts serve\n"                                            \
    "  --window D     the window of the figures: 30s..1h (default 10m)\n"

/* Keep sorted by name: tests/unit/test_cli_table.c checks order and
 * uniqueness, and 40-cli/10-help.py runs --help for every row. */
/* clang-format off */
static const struct cli_cmd commands[] = {
    { "apply", cmd_apply, "create and update cells, configs, plans, policies, sinks from files",
      "usage: cellgate apply -f FILE|DIR [-f FILE|DIR]... [--dry-run] [--prune] [-m REASON]\n"
      "\n"
      "  -f, --filename F  a resource file (.yaml, .yml, .json) or a directory, read\n"
      "                 recursively in sorted order; '-' reads stdin; repeat for more\n"
      "  --dry-run      change nothing: print what would change (= diff -f)\n"
      "  --prune        delete the sinks and policies on the server that no file\n"
      "                 names (other kinds are only listed: cellgate cannot delete them)\n"
      "  -m, --message R  why; recorded in the audit log (default 'cellgate apply')\n"
      "\n"
      "Every file is read and validated, references checked and the server read\n"
      "before anything changes; kinds are applied cells, plans, configs, policies,\n"
      "sinks. A second apply of the same files changes nothing. What the server\n"
      "cannot change yet (a cell's labels, a config's contract or scope) is\n"
      "reported as drift and exits 1. Exit 0 applied or nothing to do, 1 drift or a\n"
      "document the server refused, 2 invalid files or a dangling reference, 3\n"
      "server, network or a token without the role. See docs/gitops.md."
      GLOBAL_OPTS },
    { "assign", cmd_assign, "set the version of a config on cells directly",
      "usage: cellgate assign CONFIG VERSION --cell C [--cell C]...\n"
      "                       [--expect-generation G | --force] [-m REASON]\n"
      "\n"
      "  --cell C                a cell to assign VERSION to; repeat for more (at most 32)\n"
      "  --expect-generation G   fail (409, exit 3) unless the config is at generation G\n"
      "                          (default: the generation the command reads first)\n"
      "  --force                 no compare-and-set: override whatever changed since;\n"
      "                          audited with the reason 'force: REASON'\n"
      "  -m, --message REASON    why; recorded in the audit log\n"
      "\n"
      "All cells change as one generation. Outside any rollout: no waves, no bake."
      GLOBAL_OPTS },
    { "audit", cmd_audit, "list audit records, verify the audit chain, list its checkpoints",
      "usage: cellgate audit [--config C] [--actor A] [--since D | --from T --to T]\n"
      "                      [--after SEQ] [--limit N]\n"
      "   or: cellgate audit verify [--expect-head SEQ:HASH] [--pubkey KEY]...\n"
      "                             [--checkpoints FILE] [--no-server-checkpoints]\n"
      "   or: cellgate audit checkpoints [--after SEQ] [--limit N]\n"
      "\n"
      "  --config C     only records about config C (its versions, assignments,\n"
      "                 rollouts, policy, flags)\n"
      "  --actor A      only records by actor A, exactly (token:ci, system)\n"
      "  --since D      only records of the last D (90m, 12h, 7d)\n"
      "  --from T, --to T  only records between two RFC 3339 times\n"
      "  --after SEQ    only records (checkpoints) after this sequence number\n"
      "  --limit N      at most N records (checkpoints) (1..1000, default 100)\n"
      "  verify         fetch every record and recompute the hash chain locally,\n"
      "                 then check it against every signed checkpoint: each must\n"
      "                 verify with the key and the chain must hold its seq with\n"
      "                 its hash; exit 0 if all hold, 1 at the first that does not\n"
      "                 (BROKEN, CUT SHORT, REWRITTEN or FORGED)\n"
      "  --expect-head SEQ:HASH   a head saved before (from a checkpoint or an earlier\n"
      "                 verify): the chain must still hold record SEQ with HASH\n"
      "  --pubkey KEY   trust this signing key (64 hex, or a file holding it) instead\n"
      "                 of the one the server serves; repeat for keys before a rekey\n"
      "  --checkpoints FILE   also check saved checkpoint lines (a copy of the\n"
      "                 server's DIR/audit-checkpoints, or its log lines' JSON)\n"
      "  --no-server-checkpoints  do not read the server's checkpoints\n"
      "  checkpoints    list the server's signed checkpoints (SEQ, TIME, KEY, HASH)\n"
      "                 and the newest it keeps outside its database"
      GLOBAL_OPTS },
    { "cell", cmd_cell, "add, list, show, relabel, drain and remove cells",
      "usage: cellgate cell add ID --region R --zone Z [--label k=v]...\n"
      "   or: cellgate cell list [--health [--config C] [--window D]]\n"
      "                          [--limit N] [--after ID]\n"
      "   or: cellgate cell show ID\n"
      "   or: cellgate cell label ID [--label k=v]... [-m REASON]\n"
      "   or: cellgate cell drain|undrain ID -m REASON\n"
      "   or: cellgate cell remove ID -m REASON\n"
      "\n"
      "  --region R     region of the cell (required for add)\n"
      "  --zone Z       zone of the cell within its region (required for add)\n"
      "  --label k=v    a label; repeat for more (label: the whole new set)\n"
      "  -m REASON      why (audited)\n"
      "A drained cell takes no new version and is in no wave; remove needs a\n"
      "drained cell nothing refers to (docs/cells.md).\n"
      HEALTH_OPTS
      PAGE_OPTS("ID   ", "cell id")
      GLOBAL_OPTS },
    { "cells", cmd_cell, "list cells (same as 'cell list'), with --health their health",
      "usage: cellgate cells [--health [--config C] [--window D]] [--limit N] [--after ID]\n"
      "\n"
      HEALTH_OPTS
      PAGE_OPTS("ID   ", "cell id")
      "\n\n"
      "With --health: per cell its hosts reporting, requests a second, error\n"
      "rate and p99 latency over the window, and whether it is an outlier:\n"
      "persistently far from the rest of the fleet over the last hour, with\n"
      "the figures (docs/api/cells.md, \"Outliers\"); then the fleet's line."
      GLOBAL_OPTS },
    { "changes", cmd_changes, "what changed, where, when: assignment changes and who applied them",
      "usage: cellgate changes [--config C] [--cell C] [--host H]\n"
      "                        [--since DURATION | --from T --to T] [--after SEQ] [--limit N]\n"
      "\n"
      "  --config C     changes of config C\n"
      "  --cell C       changes that assigned cell C\n"
      "  --host H       changes that reached host H (its cell, or it as a canary)\n"
      "  --since D      changes of the last D (90m, 12h, 7d)\n"
      "  --from T, --to T  changes between two RFC 3339 times\n"
      "  --limit N      one page of at most N changes (1..1000)\n"
      "  --after SEQ    one page of the changes after this audit seq\n"
      "                 (without --limit/--after: every page; --json: one page)"
      GLOBAL_OPTS },
    { "cluster", cmd_cluster, "show the replicas and which one leads",
      "usage: cellgate cluster status\n"
      "\n"
      "The replicas of the server's store that are alive, which one holds the\n"
      "controller's leader lease, its term and the lease's age (docs/operations.md,\n"
      "\"High availability\"). --json prints the server's answer (fields\n"
      "replicas, leader, term, lease, this)."
      GLOBAL_OPTS },
    { "completion", cmd_completion, "print a shell completion script (bash or zsh)",
      "usage: cellgate completion bash|zsh\n"
      "\n"
      "Prints the script that completes cellgate's commands and their options,\n"
      "made from this binary's command table:\n"
      "  bash:  source <(cellgate completion bash)   (e.g. in ~/.bashrc)\n"
      "  zsh:   cellgate completion zsh > \"${fpath[1]}/_cellgate\"" },
    { "config", cmd_config, "create, list and show configs, their policies and scopes",
      "usage: cellgate config create NAME --kind K --contract FILE [--plan P]\n"
      "   or: cellgate config list [--limit N] [--after NAME]\n"
      "   or: cellgate config show NAME\n"
      "   or: cellgate config set-plan NAME PLAN\n"
      "   or: cellgate config set-contract NAME FILE -m REASON [--force]\n"
      "   or: cellgate config contracts NAME\n"
      "   or: cellgate config policy NAME\n"
      "   or: cellgate config set-policy NAME FILE -m REASON\n"
      "   or: cellgate config clear-policy NAME -m REASON\n"
      "   or: cellgate config scope NAME\n"
      "   or: cellgate config set-scope NAME [--region R]... [--zone Z]... [--cell C]...\n"
      "                          [--label k=v]... -m REASON\n"
      "   or: cellgate config set-scope NAME --all -m REASON\n"
      "\n"
      "  --kind K         config, flags or artifact\n"
      "  --contract FILE  the contract document (JSON; '-' reads stdin)\n"
      "  set-contract     the next contract version from FILE (admin); refused\n"
      "                   when the live version violates it, unless --force\n"
      "  contracts        every contract version of the config\n"
      "  --plan P         the default plan\n"
      "  FILE             a policy document (JSON; '-' reads stdin): what every\n"
      "                   rollout of the config must at least do (admin;\n"
      "                   docs/policies.md)\n"
      "  --region, --zone, --cell, --label  the scope: the cells the config goes to\n"
      "                   (a cell matches every option given; a zone is Z or R/Z;\n"
      "                   --all: every cell; docs/cells.md)\n"
      "  -m, --message R  why (audited)\n"
      PAGE_OPTS("NAME ", "config name")
      GLOBAL_OPTS },
    { "diff", cmd_diff, "show what changed between two versions, or what apply -f would change",
      "usage: cellgate diff CONFIG A B [-U N] [--raw]\n"
      "   or: cellgate diff -f FILE|DIR [-f FILE|DIR]... [--prune]\n"
      "\n"
      "  A, B           version numbers\n"
      "  -U, --context N  lines of context (default 3)\n"
      "  --raw          compare the stored bytes; by default JSON documents are\n"
      "                 pretty-printed with sorted keys first\n"
      "  -f, --filename F  resource files or directories as for apply: print per\n"
      "                 resource create, update (with the fields), unchanged or\n"
      "                 drift; change nothing. Exit 0 no differences, 1 differences\n"
      "                 (or drift), 2 invalid files, 3 server or network\n"
      "  --prune        also show the sinks and policies apply --prune would delete"
      GLOBAL_OPTS },
    { "drill", cmd_drill, "rehearse the change path on a simulated fleet",
      "usage: cellgate drill run CONFIG [--plan P] [--scenario S]\n"
      "   or: cellgate drill status [CONFIG]\n"
      "   or: cellgate drill schedule CONFIG --every DURATION [--plan P] [-m REASON]\n"
      "\n"
      "  --scenario S     known-bad, invalid-document, stuck-wave, flag-flip,\n"
      "                   rollback-path or all (default all)\n"
      "  --plan P         a stored plan instead of the config's default\n"
      "  --every D        how often the server drills CONFIG: 24h, 90m, 3600 (s);\n"
      "                   0 removes the schedule\n"
      "  -m, --message R  why (audited)\n"
      "\n"
      "The server runs the config's real contract, plan and policy on a copy of\n"
      "its fleet with the real controller, in virtual time; production is never\n"
      "touched. Each scenario says which expectation broke and why. Exit 1 when\n"
      "a scenario failed. See docs/drills.md."
      GLOBAL_OPTS },
    { "flag", cmd_flag, "list, show, evaluate and kill feature flags",
      "usage: cellgate flag list CONFIG [--cell C | --version N]\n"
      "   or: cellgate flag get CONFIG FLAG [--cell C | --version N]\n"
      "   or: cellgate flag eval CONFIG FLAG --cell C [--context JSON]\n"
      "   or: cellgate flag kill CONFIG FLAG -m REASON\n"
      "   or: cellgate flag unkill CONFIG FLAG -m REASON\n"
      "\n"
      "  --cell C         as cell C has it (the version assigned to C)\n"
      "  --version N      that version (default: the live one)\n"
      "  --context JSON   the evaluation context, e.g. '{\"targetingKey\":\"u1\"}'\n"
      "  -m, --message R  why (audited)\n"
      "\n"
      "kill disables the flag at once on every cell: the live version with the\n"
      "flag's state DISABLED, expedited (no bake, still checked and fenced); an\n"
      "open rollout of the config is aborted. unkill goes through the plan.\n"
      "See docs/flags.md."
      GLOBAL_OPTS },
    { "help", cmd_help, "show help for a command",
      "usage: cellgate help [COMMAND]" },
    { "hosts", cmd_hosts, "list the hosts that reported and what they run",
      "usage: cellgate hosts [--cell C] [--config C] [--health] [--limit N] [--after HOST]\n"
      "\n"
      "  --cell C       only hosts of this cell\n"
      "  --config C     only this config\n"
      "  --health       each host's own health instead of its configs\n"
      PAGE_OPTS("HOST ", "host name")
      "\n\n"
      "One row per host and config, hosts by name: version offered, outcome,\n"
      "version running. With --health one row per host: requests a second,\n"
      "error rate and p99 over its latest reports (5 to 10 minutes), and\n"
      "whether it is far from the rest of its cell, with why."
      GLOBAL_OPTS },
    { "notify", cmd_notify, "add, list, test and remove notification sinks",
      "usage: cellgate notify add NAME --url URL --events EV[,EV]...\n"
      "                           [--format json|slack|grafana|pagerduty]\n"
      "                           [--secret-file F] [--config C] [-m REASON]\n"
      "   or: cellgate notify list\n"
      "   or: cellgate notify remove NAME [-m REASON]\n"
      "   or: cellgate notify test NAME\n"
      "   or: cellgate notify log NAME\n"
      "\n"
      "  --url URL        http:// or https:// endpoint the server POSTs to\n"
      "  --events EV,...  rollout.started, rollout.step_started,\n"
      "                   rollout.step_passed, rollout.paused, rollout.resumed,\n"
      "                   rollout.awaiting_approval, rollout.approved,\n"
      "                   rollout.halted, rollout.aborted, rollout.rollback_started,\n"
      "                   rollout.rolled_back, rollout.completed, flag.killed,\n"
      "                   audit.verify_failed, or all\n"
      "  --format F       json (default; signed with the secret), slack, grafana\n"
      "                   (annotations; secret = bearer token) or pagerduty\n"
      "                   (change events; secret = routing key)\n"
      "  --secret-file F  read the secret from file F ('-' reads stdin)\n"
      "  --config C       only events of config C\n"
      "  -m, --message R  why; recorded in the audit log\n"
      "\n"
      "Admin only. The secret is never shown again. 'log' shows the recent\n"
      "delivery attempts of the replica that answers."
      GLOBAL_OPTS },
    { "plan", cmd_plan, "set, show, list, preview and check rollout plans",
      "usage: cellgate plan set NAME FILE\n"
      "   or: cellgate plan show NAME\n"
      "   or: cellgate plan list [--limit N] [--after NAME]\n"
      "   or: cellgate plan versions NAME\n"
      "   or: cellgate plan preview NAME [--config C [--version N]]\n"
      "   or: cellgate plan check FILE --config C [--scenario S]\n"
      "\n"
      "  FILE           the plan document (JSON; '-' reads stdin); a body that\n"
      "                 differs from the current one becomes the next plan version\n"
      "  versions       every version of the plan, oldest first\n"
      "  check          the drills of config C with FILE as its plan, stored\n"
      "                 nowhere (docs/drills.md); exit 1 when one fails\n"
      "  preview        the steps the plan makes for the fleet as it is now: per\n"
      "                 step its wave, cells, regions, zones, bake and constraint\n"
      "  --config C     the steps a rollout of config C started now runs: its\n"
      "                 cells (scope, no drained cell), its order\n"
      "  --version N    of version N of C (default: its newest)\n"
      PAGE_OPTS("NAME ", "plan name")
      GLOBAL_OPTS },
    { "pubkey", cmd_pubkey, "print the server's public signing key, as an agent's pubkey setting",
      "usage: cellgate pubkey [--out FILE]\n"
      "\n"
      "  --out FILE     write the key to FILE (atomically, mode 0644) for an\n"
      "                 agent's pubkey_file, instead of printing it\n"
      "\n"
      "Prints the 64 hex characters of the server's ed25519 statement-signing key\n"
      "and a newline, exactly what an agent's `pubkey =` or `pubkey_file` wants\n"
      "and what `cellgated pubkey --data DIR` prints; the key id goes to stderr.\n"
      "A key fetched from the server it will verify proves nothing about that\n"
      "server: compare the key id over another channel. --json: the server's\n"
      "answer (key_id, public_key, algorithm)."
      GLOBAL_OPTS },
    { "publish", cmd_publish, "publish a new version of a config",
      "usage: cellgate publish CONFIG FILE -m MSG [--media-type T] [--allow-identical]\n"
      "\n"
      "  FILE              the document ('-' reads stdin)\n"
      "  -m, --message MSG why this change is made (required)\n"
      "  --media-type T    media type of the document (default application/json)\n"
      "  --allow-identical publish even when the bytes equal the live or the latest\n"
      "                    version (refused by default: \"identical to version N\")\n"
      "\n"
      "Exits 1 and prints every violation when the document breaks the contract."
      GLOBAL_OPTS },
    { "rollback", cmd_rollback, "return a config's cells to an earlier version",
      "usage: cellgate rollback CONFIG [--to VERSION] -m REASON\n"
      "\n"
      "  --to VERSION         the version to return to (default: the version the\n"
      "                       newest completed rollout started from, like\n"
      "                       kubectl rollout undo); not allowed while a rollout\n"
      "                       is open\n"
      "  -m, --message REASON why (required)\n"
      "\n"
      "With an open rollout, its changed cells return to their previous versions.\n"
      "Otherwise a rollback rollout starts: one step without bake when VERSION was\n"
      "once complete everywhere, else through the plan."
      GLOBAL_OPTS },
    { "rollout", cmd_rollout, "start, follow and steer rollouts",
      "usage: cellgate rollout start CONFIG VERSION [--plan P] -m REASON\n"
      "   or: cellgate rollout status ID\n"
      "   or: cellgate rollout list [--config C] [--open] [--limit N] [--after ID]\n"
      "   or: cellgate rollout watch ID [--interval MS]\n"
      "   or: cellgate rollout pause|resume|abort|approve ID [-m REASON]\n"
      "\n"
      "  --plan P             the plan (default: the config's plan)\n"
      "  -m, --message REASON why; required for start\n"
      "  --config C           only rollouts of this config\n"
      "  --open               only rollouts that have not ended\n"
      "  --limit N            list: one page of at most N rollouts (1..1000)\n"
      "  --after ID           list: one page of the rollouts older than ID\n"
      "                       (without --limit/--after: every rollout, newest first)\n"
      "  --interval MS        watch: poll every MS milliseconds (default 1000)\n"
      "\n"
      "watch redraws the progress in place on a terminal and appends lines\n"
      "otherwise; it exits 0 when the rollout completes, 1 when it ends\n"
      "rolled_back, halted or aborted. approve needs the approver role and\n"
      "another person than the one who started the rollout."
      GLOBAL_OPTS },
    { "show", cmd_show, "show one version: metadata and document",
      "usage: cellgate show CONFIG N [--raw]\n"
      "\n"
      "  --raw          print only the stored bytes, exactly"
      GLOBAL_OPTS },
    { "state", cmd_state, "the assignments, versions and open rollouts as they were at a time",
      "usage: cellgate state [--at T] [--config C]\n"
      "\n"
      "  --at T         a time: RFC 3339 (2026-12-06T10:00:00Z) or epoch ms;\n"
      "                 default now\n"
      "  --config C     only config C\n"
      "\n"
      "The server replays its audit log up to T (nothing is restored): the\n"
      "configs with their generation, latest and live versions and plan, every\n"
      "cell's (and canary host's) assignment with when, by whom and by which\n"
      "change, and the rollouts open at T. --json prints the whole answer,\n"
      "with the cells, plans and versions (docs/api/state.md)."
      GLOBAL_OPTS },
    { "stats", cmd_stats, "delivery statistics: frequency, lead time, failure rate, restore",
      "usage: cellgate stats delivery [--config C] [--window DURATION]\n"
      "\n"
      "  --config C     one config (default: the fleet and each config)\n"
      "  --window D     the window: 1m..365d (default 30d)"
      GLOBAL_OPTS },
    { "status", cmd_status, "which cells and hosts run which version of a config",
      "usage: cellgate status CONFIG [--cells [--window D]]\n"
      "\n"
      "  --cells        also each cell's health on CONFIG next to its version:\n"
      "                 hosts, requests a second, error rate, p99, outlier\n"
      "  --window D     the window of those figures: 30s..1h (default 10m)\n"
      "\n"
      "Versions with their cells and hosts, every cell with its hosts, the hosts\n"
      "behind their cell's version, and the hosts that rejected a version or\n"
      "failed to apply it, with why (contract violations one per line)."
      GLOBAL_OPTS },
    { "token", cmd_token, "create, list, rotate and revoke API tokens",
      "usage: cellgate token create --role R --name N [--cell C] [--ttl D]\n"
      "                             [--configs A,B]\n"
      "   or: cellgate token list [--limit N] [--after ID]\n"
      "   or: cellgate token rotate ID [--grace D]\n"
      "   or: cellgate token revoke ID\n"
      "\n"
      "  --role R       reader, approver, deployer, admin or agent\n"
      "  --name N       a name for the token\n"
      "  --cell C       the cell an agent token is bound to\n"
      "  --ttl D        expire after D: 90s, 30m, 12h, 30d (default: never, or\n"
      "                 the server's --token-max-ttl)\n"
      "  --configs A,B  deployer and approver tokens: act only on these configs\n"
      "  --grace D      rotate: the old token works D longer (default 0: stops now)\n"
      PAGE_OPTS("ID   ", "token id")
      GLOBAL_OPTS },
    { "validate", cmd_validate, "check a document against a config's contract (dry run)",
      "usage: cellgate validate CONFIG FILE [--media-type T]\n"
      "   or: cellgate validate --contract CONTRACT FILE [--live LIVE]\n"
      "\n"
      "  FILE           the document ('-' reads stdin)\n"
      "  --media-type T media type of the document (default application/json)\n"
      "  --contract C   offline: check FILE against contract file C with the engine\n"
      "                 the server and agents use; no server, no token\n"
      "  --live LIVE    offline: LIVE is the live version, for the growth and\n"
      "                 preserve rules (without it they are skipped)\n"
      "\n"
      "Prints every violation as 'pointer rule: message (expected X, actual Y)'\n"
      "and exits 1 if there is any (2: unreadable file or invalid contract)."
      GLOBAL_OPTS },
    { "version", cmd_version, "print the CLI and library versions",
      "usage: cellgate version" },
    { "versions", cmd_versions, "list the versions of a config, newest first",
      "usage: cellgate versions CONFIG [--limit N] [--after N | --before N]\n"
      "\n"
      "  --limit N      one page of at most N versions (1..1000, default 100)\n"
      "  --after N      the page after version N: only versions older than N\n"
      "  --before N     the same as --after N\n"
      "\n"
      "One page, newest first; when older versions remain, stderr says how to\n"
      "ask for them."
      GLOBAL_OPTS },
    { "whoami", cmd_whoami, "show who the token belongs to",
      "usage: cellgate whoami"
      GLOBAL_OPTS },
    { "why", cmd_why, "which changes could explain a fault: ranked, with reasons",
      "usage: cellgate why --cell C [--at T] [--window D] [--metric errors|latency]\n"
      "       cellgate why --host H [--host H]... [--at T] [--window D] [--metric errors|latency]\n"
      "\n"
      "  --cell C       the faulty cell (its hosts)\n"
      "  --host H       a faulty host (repeat for several)\n"
      "  --at T         when the fault is seen: RFC 3339 or epoch ms (default now)\n"
      "  --window D     look at the changes of the D before it: 30m, 2h, 1d (default 1h)\n"
      "  --metric M     errors (the error rate the hosts report; the default) or\n"
      "                 latency (their share of requests slower than the server's\n"
      "                 --history-slow-ms)\n"
      "\n"
      "Finds when the hosts' error rate stepped up, never blames a change that\n"
      "reached them after that, and ranks the others (overlap, decay, difference\n"
      "in differences against hosts without the change, breadth); --json prints\n"
      "the server's answer (docs/correlation.md)."
      GLOBAL_OPTS },
};
/* clang-format on */

const struct cli_cmd *cli_commands(size_t *count)
{
    *count = CG_ARRAY_SIZE(commands);
    return commands;
}

const struct cli_cmd *cli_find_command(const char *name)
{
    for (size_t i = 0; i < CG_ARRAY_SIZE(commands); i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

/* "unknown command" with the nearest command's name when it looks like a
 * typo of one; returns CLI_EXIT_USAGE. */
static int unknown_command(struct cli_ctx *ctx, const char *name)
{
    struct cli_suggest s;

    cli_suggest_init(&s, name, strlen(name));
    for (size_t i = 0; i < CG_ARRAY_SIZE(commands); i++) {
        cli_suggest_add(&s, commands[i].name);
    }
    if (s.best) {
        cli_error(ctx, "unknown command \"%s\"; did you mean \"%s\"?", name, s.best);
    } else {
        cli_error(ctx, "unknown command \"%s\"; see 'cellgate help'", name);
    }
    return CLI_EXIT_USAGE;
}

static void print_overview(FILE *f)
{
    fprintf(f, "usage: cellgate [--server URL] [--token T] [--ca-file F] [-o json|yaml|wide]\n"
               "                COMMAND [ARGS]\n\n"
               "Commands:\n");
    for (size_t i = 0; i < CG_ARRAY_SIZE(commands); i++) {
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(f, "\nRun 'cellgate help COMMAND' for the options of one command.\n"
               "Exit codes: 0 ok, 1 violations, failed check or failed rollout,\n"
               "2 usage error, 3 server or network error (including 404/409),\n"
               "4 authentication failed (401), 5 permission denied (403).\n");
}

int cmd_help(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_args a;
    bool done;
    int rc = cli_parse(ctx, argc, argv, 1, NULL, &a, 0, 1, &done);
    const struct cli_cmd *cmd;

    if (done) {
        return rc;
    }
    if (a.npos == 0) {
        print_overview(ctx->out);
        return CLI_EXIT_OK;
    }
    cmd = cli_find_command(a.pos[0]);
    if (!cmd) {
        return unknown_command(ctx, a.pos[0]);
    }
    cli_print_usage(ctx->out, cmd);
    return CLI_EXIT_OK;
}

/* Runs the CLI; returns the exit code. */
static int run(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_globals g = {0};
    struct cli_args a;
    char errbuf[256];
    int next;
    const struct cli_cmd *cmd;

    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        char *v[] = {"version", NULL};
        return cmd_version(ctx, 1, v);
    }
    if (cli_args_parse(argc, argv, 1, NULL, &g, &a, true, &next, errbuf, sizeof errbuf) != 0) {
        cli_error(ctx, "%s (see 'cellgate help')", errbuf);
        return CLI_EXIT_USAGE;
    }
    if (g.server) {
        ctx->server = g.server;
    }
    if (g.token) {
        ctx->token = g.token;
    }
    if (g.ca_file) {
        ctx->ca_file = g.ca_file;
    }
    if (g.allow_plain_http) {
        ctx->allow_plain_http = true;
    }
    ctx->timeout_ms = g.timeout_ms;
    if (cli_apply_output(ctx, &g, errbuf, sizeof errbuf) != 0) {
        cli_error(ctx, "%s (see 'cellgate help')", errbuf);
        return CLI_EXIT_USAGE;
    }
    if (next >= argc) {
        if (g.help) {
            print_overview(ctx->out);
            return CLI_EXIT_OK;
        }
        print_overview(ctx->err);
        return CLI_EXIT_USAGE;
    }
    cmd = cli_find_command(argv[next]);
    if (!cmd) {
        return unknown_command(ctx, argv[next]);
    }
    ctx->cmd = cmd;
    if (g.help) {
        cli_print_usage(ctx->out, cmd);
        return CLI_EXIT_OK;
    }
    return cmd->fn(ctx, argc - next, argv + next);
}

int cli_main(int argc, char **argv)
{
    struct cli_ctx ctx = {0};
    struct cg_error e = {0};
    const char *env;
    int rc;

    ctx.out = stdout;
    ctx.err = stderr;
    env = getenv("CELLGATE_SERVER");
    ctx.server = env && env[0] ? env : CLI_DEFAULT_SERVER;
    env = getenv("CELLGATE_TOKEN");
    ctx.token = env && env[0] ? env : NULL;
    env = getenv("CELLGATE_CA_FILE");
    ctx.ca_file = env && env[0] ? env : NULL;
    env = getenv("CELLGATE_ALLOW_PLAIN_HTTP");
    ctx.allow_plain_http = env && env[0] && strcmp(env, "0") != 0;
    cli_color_setup(&ctx, "auto", false);
    if (cg_library_init(&e) != CG_OK) {
        cli_error(&ctx, "%s", e.message);
        return CLI_EXIT_SERVER;
    }
    rc = run(&ctx, argc, argv);
    cg_client_free(ctx.client);
    cg_library_cleanup();
    if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
        rc = CLI_EXIT_FAIL;
    }
    return rc;
}
