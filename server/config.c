/* SPDX-License-Identifier: MIT */
/* config.c: the option table, and the defaults, parser, --help and man text built from it. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"
#include "util.h"

/* offsetof() a field of struct daemon_config that must have type T (a
 * compile error otherwise: _Generic has no match). */
#define FIELD(f, T)                                                                                \
    (offsetof(struct daemon_config, f) +                                                           \
     0 * sizeof(_Generic(((struct daemon_config *)0)->f, T : 1)))

#define AS_STRING(f)   .type = CONFIG_STRING, .off = FIELD(f, const char *)
#define AS_SIZE(f)     .type = CONFIG_SIZE, .off = FIELD(f, size_t)
#define AS_UNSIGNED(f) .type = CONFIG_UNSIGNED, .off = FIELD(f, unsigned)
#define AS_DOUBLE(f)   .type = CONFIG_DOUBLE, .off = FIELD(f, double)
#define AS_FLAG(f)     .type = CONFIG_FLAG, .off = FIELD(f, int)
#define AS_LANE(w, q)  .type = CONFIG_LANE, .off = FIELD(w, unsigned *), .off2 = FIELD(q, unsigned *)
#define AS_LANE_MS(f)  .type = CONFIG_LANE_MS, .off = FIELD(f, unsigned *)
#define AS_ACTION(a)   .type = CONFIG_ACTION, .action = (a)

_Static_assert(sizeof(((struct daemon_config *)0)->lane_workers) == LANE__COUNT * sizeof(unsigned),
               "lane_workers has one entry per lane");
_Static_assert(sizeof(((struct daemon_config *)0)->lane_queue) == LANE__COUNT * sizeof(unsigned),
               "lane_queue has one entry per lane");
_Static_assert(sizeof(((struct daemon_config *)0)->lane_fault_delay_ms) ==
                   LANE__COUNT * sizeof(unsigned),
               "lane_fault_delay_ms has one entry per lane");

/* THE table: one row per option. */
static const struct config_key keys[] = {
    /* data directory and listener */
    {
        .name = "config",
        AS_STRING(config_file),
        .group = CONFIG_G_SERVER,
        .metavar = "FILE",
        .def_note = "none",
        .help = "read options from FILE first ('name = value' lines); the command line wins",
        .doc = "Reads options from FILE before the command line, which overrides them: one "
               "`name = value` line per option, with the long option names of this page "
               "(`listen = 10.0.0.5:7070`); a flag is a bare `name` or `name = true` "
               "(`name = false` leaves it off); a repeatable option is repeated on several "
               "lines. Blank lines and lines whose first non-blank character is `#` are "
               "ignored; the value is the rest of the line, blanks around it removed (no "
               "quotes, no comment after it). An unknown name, a bad value, `config` itself "
               "or an action such as `help` is an error naming FILE:LINE (exit 2). The "
               "packages install `/etc/cellgate/cellgated.conf`.",
    },
    {
        .name = "admin-token-file",
        AS_STRING(admin_token_file),
        .group = CONFIG_G_SERVER,
        .metavar = "FILE",
        .def_note = "printed on standard output",
        .help = "init: write the first admin token to FILE (mode 0600, never overwritten)",
        .doc = "When `init` (or the first `serve`) creates the store, the first admin token is "
               "written to FILE, created with mode 0600 (`O_EXCL`: an existing FILE is never "
               "overwritten), instead of being printed on standard output, which under "
               "systemd is the journal. On an initialised data directory the option does "
               "nothing. An existing FILE while the store is still to be created is an "
               "error before anything is created (remove the stale file, or point at "
               "another); so is a FILE that cannot be created (a `serve` under "
               "`ProtectSystem=strict` that would initialise a wiped data directory stops "
               "instead of printing the token to the journal: run `cellgated init` as root).",
    },
    {
        .name = "data",
        .letter = 'd',
        AS_STRING(data_dir),
        .group = CONFIG_G_SERVER,
        .metavar = "DIR",
        .def = {.s = "var"},
        .def_note = "relative to the working directory",
        .help = "the data directory: the store and the signing key",
        .doc = "The data directory: the store `cellgate.db`, the signing key `signing.key` "
               "and the signed audit checkpoints `audit-checkpoints` (only the key and the "
               "checkpoints with `--store`).",
    },
    {
        .name = "store",
        AS_STRING(store_dsn),
        .group = CONFIG_G_SERVER,
        .metavar = "DSN",
        .def_note = "the SQLite store DIR/cellgate.db",
        .help = "keep the data in PostgreSQL (postgres://...); DIR then holds only the signing key",
        .doc = "Keep the data in PostgreSQL instead of `DIR/cellgate.db`: a libpq connection URI "
               "(`postgres://USER@HOST:PORT/DB?...`) or key=value string. Several `cellgated` "
               "replicas may share one database; each is given the same signing key in "
               "`DIR/signing.key`. `cellgated init --store DSN --data DIR` initialises the "
               "database once (schema, first admin token, signing key); `serve` with `--store` "
               "never initialises, it refuses to start on an uninitialised database. A "
               "password in the DSN is never printed (prefer a `~/.pgpass` file or "
               "`PGPASSWORD`).",
    },
    {
        .name = "out",
        AS_STRING(dump_out),
        .group = CONFIG_G_SERVER,
        .metavar = "FILE",
        .def_note = "standard output",
        .help = "dump: the file to write (created with mode 0600; '-' is standard output)",
        .doc = "`dump`: the dump file to write, created with mode 0600 (it holds token "
               "hashes and every document); `-` or none is standard output.",
    },
    {
        .name = "in",
        AS_STRING(load_in),
        .group = CONFIG_G_SERVER,
        .metavar = "FILE",
        .help = "load: the dump file to read ('-' is standard input)",
        .doc = "`load`: the dump file to read; `-` is standard input.",
    },
    {
        .name = "from-data",
        AS_STRING(from_data),
        .group = CONFIG_G_SERVER,
        .metavar = "DIR",
        .help = "migrate: the SQLite data directory to copy from",
        .doc = "`migrate`: the data directory whose SQLite store `DIR/cellgate.db` is copied "
               "(read in one snapshot; stop the server first so nothing changes after it).",
    },
    {
        .name = "to",
        AS_STRING(migrate_to),
        .group = CONFIG_G_SERVER,
        .metavar = "DSN",
        .help = "migrate: the new, empty store to copy into (postgres://... or a SQLite path)",
        .doc = "`migrate`: the store to copy into: a PostgreSQL DSN or a SQLite path; it must be "
               "empty (a new database). Its schema is applied first.",
    },
    {
        .name = "commit",
        AS_FLAG(rekey_commit),
        .group = CONFIG_G_SERVER,
        .help = "rekey: switch the store and DIR to the prepared key",
        .doc = "`rekey`: switches to the key `rekey` prepared in `DIR/signing.key.next`: the "
               "store's recorded public key is changed from the current key's to the new one "
               "(audited), and `DIR/signing.key` becomes the new key (the old one is kept as "
               "`DIR/signing.key.old`).",
    },
    {
        .name = "key",
        AS_STRING(restore_key),
        .group = CONFIG_G_SERVER,
        .metavar = "FILE",
        .def_note = "DIR/signing.key must then exist",
        .help = "backup restore: the signing key to install in the new data directory",
        .doc = "`backup restore`: the signing key (`signing.key` of the backed-up server) to "
               "copy into the new data directory. A backup never holds the private key; the "
               "restore refuses a key whose public half is not the one the backup's store "
               "recorded (agents pin it).",
    },
    {
        .name = "bump-generations",
        AS_SIZE(restore_bump),
        .group = CONFIG_G_SERVER,
        .metavar = "N",
        .min = 1,
        .max = 1ULL << 52, /* STORE_GENERATION_BUMP_MAX */
        .def = {.u = 1000000},
        .help = "restore, bump: added to every generation",
        .doc = "`backup restore` and `backup bump`: added to every config's generation and "
               "to every cell's and host's assignment in the restored store, so what the "
               "restored server hands out, and its first assignment after the restore, pass "
               "every generation agents reached after the backup was taken (I2: an agent "
               "applies only newer generations). Make it larger than the number of "
               "assignments a config can have had since the backup.",
    },
    {
        .name = "listen",
        .letter = 'l',
        AS_STRING(listen),
        .group = CONFIG_G_SERVER,
        .metavar = "ADDR:PORT",
        .def = {.s = "127.0.0.1:7070"},
        .help = "IPv4 address and port to listen on; port 0 picks a free port",
        .doc = "IPv4 address and port to listen on. `localhost` means `127.0.0.1`. "
               "Port 0 picks a free port.",
    },
    {
        .name = "port-file",
        .letter = 'p',
        AS_STRING(port_file),
        .group = CONFIG_G_SERVER,
        .metavar = "FILE",
        .help = "write the bound port there once listening",
        .doc = "Writes the bound port (and a newline) to FILE, atomically, once listening.",
    },
    /* requests and connections */
    {
        .name = "max-body",
        .letter = 'b',
        AS_SIZE(max_body),
        .group = CONFIG_G_CONNS,
        .metavar = "BYTES",
        .min = 1,
        .max = 0,
        .def = {.u = 4u << 20},
        .def_note = "4 MiB",
        .help = "request body limit",
        .doc = "Largest request body. Larger bodies get `413`.",
    },
    {
        .name = "body-memory",
        AS_SIZE(body_memory),
        .group = CONFIG_G_CONNS,
        .metavar = "BYTES",
        .min = 0,
        .def = {.u = 256u * 1024 * 1024},
        .def_note = "256 MiB; 0: no limit",
        .help = "request bodies buffered at once, all connections together; past it 503",
        .doc = "Bytes of request bodies the server buffers at once, all connections together. "
               "A request whose body would go past it is answered 503 with `Retry-After` at "
               "once and its connection closed (`cellgate_http_body_shed_total`). Bodies are "
               "read only after the token and role were checked from the headers, so only "
               "authenticated callers spend it. 0: no limit.",
    },
    {
        .name = "request-timeout",
        AS_UNSIGNED(request_timeout_s),
        .group = CONFIG_G_CONNS,
        .metavar = "S",
        .min = 0,
        .max = 3600,
        .def = {.u = 30},
        .def_note = "0: none",
        .help = "a request's body must arrive within S seconds of its headers (408)",
        .doc = "Absolute time, in seconds from its headers, within which a request's body must "
               "have arrived; a slower one is answered 408 and its connection closed "
               "(`cellgate_http_request_timeouts_total`), however steadily it trickles in "
               "(`--conn-timeout` counts only idle time). 0: no limit.",
    },
    {
        .name = "threads",
        .letter = 't',
        AS_UNSIGNED(threads),
        .group = CONFIG_G_CONNS,
        .metavar = "N",
        .min = 1,
        .max = 64,
        .def = {.u = 2},
        .help = "HTTP I/O threads",
        .doc = "HTTP I/O threads: the long-poll front's epoll threads over plain HTTP "
               "(libmicrohttpd then runs one I/O thread for the connections the front hands "
               "it), libmicrohttpd's epoll thread pool under TLS or with `--no-poll-front`.",
    },
    {
        .name = "no-poll-front",
        AS_FLAG(no_front),
        .group = CONFIG_G_CONNS,
        .help = "serve agents' long-polls and reports through libmicrohttpd too, without the "
                "long-poll front",
        .doc = "Serves `GET /v1/agent/desired` and `POST /v1/agent/report` through "
               "libmicrohttpd like every other request instead of the long-poll front "
               "(docs/internals/ROUTES.md, \"The long-poll front\"), which otherwise owns the "
               "listening socket over plain HTTP, answers well-formed polls and reports itself "
               "and parks each poll in a few hundred bytes. For comparisons (`make bench`) and "
               "as a way back; TLS always goes through libmicrohttpd.",
    },
    {
        .name = "conn-timeout",
        .letter = 'c',
        AS_UNSIGNED(conn_timeout_s),
        .group = CONFIG_G_CONNS,
        .metavar = "S",
        .min = 1,
        .max = 86400,
        .def = {.u = 60},
        .help = "idle connection timeout in seconds",
        .doc = "Idle connection timeout in seconds.",
    },
    {
        .name = "max-conns",
        .letter = 'm',
        AS_UNSIGNED(max_conns),
        .group = CONFIG_G_CONNS,
        .metavar = "N",
        .min = 1,
        .max = 1000000,
        .def = {.u = 32768},
        .def_note = "lowered to fit the open-file limit",
        .help = "open connections, parked long-polls included",
        .doc = "Open connections, parked long-polls included. At start the server raises "
               "its soft open-file limit to the hard one and, if N does not fit, lowers N "
               "to that limit minus 256 and says so on standard error.",
    },
    {
        .name = "max-conns-per-ip",
        .letter = 'I',
        AS_UNSIGNED(max_conns_per_ip),
        .group = CONFIG_G_CONNS,
        .metavar = "N",
        .min = 1,
        .max = 1000000,
        .def = {.u = 256},
        .help = "open connections per client address (127.0.0.1 exempt unless --limit-localhost)",
        .doc = "Open connections per client address, parked long-polls included; a further "
               "connection from that address is closed at once "
               "(`cellgate_http_conns_refused_per_address_total`), so one address cannot lock "
               "every other client out. 127.0.0.1 is exempt unless `--limit-localhost`: a local "
               "reverse proxy (which must limit per client itself), the simulator, an operator "
               "on the box. Hosts behind one NAT or proxy address share it: size N to the "
               "hosts behind the busiest address plus a margin.",
    },
    {
        .name = "access-log",
        AS_STRING(access_log),
        .group = CONFIG_G_SERVER,
        .metavar = "FILE",
        .def_note = "none",
        .help = "append one line per request to FILE (- is standard error)",
        .doc = "Appends one line per finished request to FILE (`-`: standard error): time, "
               "client address, method, path (without its query), status, duration, route, "
               "the token's name (never a secret; `-` before authentication) and response "
               "bytes. Failed authentications show as 401 with their address. Rotate it by "
               "moving it and sending `SIGHUP` (the path is opened again), or with "
               "`copytruncate`.",
    },
    /* the dashboard (docs/dashboard.md) */
    {
        .name = "ui-base-path",
        AS_STRING(ui_base_path),
        .group = CONFIG_G_SERVER,
        .metavar = "PATH",
        .def = {.s = "/ui"},
        .help = "serve the dashboard under PATH (for a reverse proxy's prefix)",
        .doc = "Serves the dashboard under PATH (`/ops/cg` for a reverse proxy that forwards "
               "`https://example.com/ops/cg/` here): every link, form action, redirect, "
               "asset URL and the session cookie's Path use it. One or more segments of "
               "`[A-Za-z0-9._~-]`, starting with `/`, without a trailing `/`, at most 64 "
               "bytes, not under `/v1`, `/ofrep`, `/metrics`, `/healthz` or `/readyz`.",
    },
    {
        .name = "no-ui",
        AS_FLAG(no_ui),
        .group = CONFIG_G_SERVER,
        .help = "serve no dashboard (its base path answers 404 like any unknown path)",
        .doc = "Serves no dashboard: its base path answers `404` like any unknown path, and "
               "no session is created or read.",
    },
    {
        .name = "ui-session-ttl",
        AS_UNSIGNED(ui_session_ttl_s),
        .group = CONFIG_G_SERVER,
        .metavar = "S",
        .min = 60,
        .max = 2592000,
        .def = {.u = 28800},
        .def_note = "8 hours",
        .help = "a dashboard login lasts S seconds",
        .doc = "How long a dashboard session lasts after its login, in seconds (the cookie's "
               "`Max-Age`); it ends sooner at logout, or when its token is revoked or "
               "expires. Expired sessions are deleted from the store at the next login.",
    },
    {
        .name = "limit-localhost",
        AS_FLAG(limit_localhost),
        .group = CONFIG_G_CONNS,
        .help = "apply the per-address limits to 127.0.0.1 too",
        .doc = "Applies `--max-conns-per-ip` and `--auth-fail-rate` to 127.0.0.1 as well.",
    },
    {
        .name = "auth-fail-rate",
        AS_DOUBLE(auth_fail_rate),
        .group = CONFIG_G_CONNS,
        .metavar = "R",
        .dmin = 0,
        .dmax = 1e6,
        .def = {.d = 5},
        .def_note = "0: no limit",
        .help = "failed authentications per second one address may keep up; then 429",
        .doc = "Failed authentications (401) per second one client address may keep up, after "
               "a burst of `--auth-fail-burst`; past it every request of that address that "
               "needs a token is answered `429` with `Retry-After` before its token is looked "
               "at (`cellgate_http_auth_blocked_total`), so guessing tokens costs the guesser, "
               "not the token store. 127.0.0.1 is exempt unless `--limit-localhost`.",
    },
    {
        .name = "auth-fail-burst",
        AS_DOUBLE(auth_fail_burst),
        .group = CONFIG_G_CONNS,
        .metavar = "B",
        .dmin = 1,
        .dmax = 1e6,
        .def = {.d = 50},
        .help = "failed authentications one address may make in a burst",
        .doc = "Failed authentications one client address may make in a burst before "
               "`--auth-fail-rate` applies.",
    },
    {
        .name = "token-max-ttl",
        AS_UNSIGNED(token_max_ttl_s),
        .group = CONFIG_G_CONNS,
        .metavar = "S",
        .min = 0,
        .max = 316224000,
        .def = {.u = 0},
        .def_note = "0: no limit",
        .help = "longest lifetime in seconds of new deployer, approver and reader tokens",
        .doc = "The longest lifetime, in seconds, of a new deployer, approver or reader token: "
               "a longer `ttl_s` is refused (`400`), a token created without one gets this "
               "one, and a rotation's successor never lives longer. Admin tokens (the last "
               "one must not lock the API by expiring) and agent tokens are exempt; they "
               "expire only when created with a `ttl_s`. Tokens that exist are not changed.",
    },
    /* TLS and client certificates */
    {
        .name = "tls-cert",
        AS_STRING(tls_cert),
        .group = CONFIG_G_TLS,
        .metavar = "FILE",
        .def_note = "plain HTTP",
        .help = "serve HTTPS with this PEM certificate (then its chain); needs --tls-key",
        .doc = "Serves HTTPS (TLS 1.2 and 1.3) with the PEM certificate in FILE, followed by "
               "its intermediate CAs (leaf first). Needs `--tls-key`. `SIGHUP` loads it and "
               "the key again for new handshakes, without dropping a connection; a file that "
               "does not load (or a key that does not match) keeps the old pair in use, and "
               "the server says why on standard error "
               "(`cellgate_tls_reloads_total{outcome=\"failed\"}`). Without it the server "
               "speaks plain HTTP: only for 127.0.0.1 or behind a TLS-terminating proxy.",
    },
    {
        .name = "tls-key",
        AS_STRING(tls_key),
        .group = CONFIG_G_TLS,
        .metavar = "FILE",
        .help = "the certificate's PEM private key; refused if other users may read it",
        .doc = "The PEM private key of `--tls-cert`, without a passphrase. Like ssh, the "
               "server refuses a key file that other users may access (mode `0600`, or "
               "`0640` with a group of its own).",
    },
    {
        .name = "tls-priorities",
        AS_STRING(tls_priorities),
        .group = CONFIG_G_TLS,
        .metavar = "STRING",
        .help = "GnuTLS priority string (default: TLS 1.3, and TLS 1.2 with ECDHE+AEAD)",
        .doc = "The GnuTLS priority string that decides protocol versions, ciphers and key "
               "exchanges. The default allows TLS 1.3, and TLS 1.2 with ECDHE key exchange "
               "and AEAD ciphers (AES-GCM, ChaCha20-Poly1305) only, the server's order "
               "first: `" TLS_DEFAULT_PRIORITIES "`. Checked at start; fixed until restart.",
    },
    {
        .name = "tls-client-ca",
        AS_STRING(tls_client_ca),
        .group = CONFIG_G_TLS,
        .metavar = "FILE",
        .def_note = "no client certificates",
        .help = "ask clients for a certificate and trust agents' certificates signed by FILE",
        .doc = "Asks every client for a certificate (optional) and trusts, on the routes "
               "agents call, a certificate that chains to a CA in FILE (PEM) and names "
               "exactly one `cellgate://CELL/HOST` URI subject alternative name: the "
               "request runs as an agent of CELL, its credential is `cert:CELL/HOST`, and its "
               "reports must be for HOST (`docs/security.md`, \"Mutual TLS\"). A "
               "certificate that is presented and fails is refused with `401`, whatever "
               "token comes with it. Reloaded on `SIGHUP`.",
    },
    {
        .name = "require-client-cert",
        AS_FLAG(require_client_cert),
        .group = CONFIG_G_TLS,
        .help = "refuse agent tokens that come without an agent certificate",
        .doc = "Refuses (`403`) a request authenticated by an agent token alone: every "
               "agent must present a certificate `--tls-client-ca` trusts. Tokens of other "
               "roles (operators, pipelines) are not affected.",
    },
    /* admission and load shedding */
    {
        .name = "lane",
        .letter = 'L',
        AS_LANE(lane_workers, lane_queue),
        .group = CONFIG_G_SHED,
        .metavar = "NAME=WORKERS/QUEUE",
        .min = 1,
        .max = 256,
        .min2 = 1,
        .max2 = 1000000,
        .def = {.lanes =
                    {
                        [LANE_CONTROL] = {16, 256},
                        [LANE_READ] = {8, 512},
                        [LANE_REPORT] = {4, 1024},
                        [LANE_POLL] = {4, 4096},
                    }},
        .help = "worker threads and queue length of one admission lane; repeatable",
        .doc = "Worker threads and queue length of one admission lane (a full queue "
               "answers `503` with `Retry-After`). Repeatable.",
    },
    {
        .name = "max-parked",
        .letter = 'P',
        AS_SIZE(max_parked),
        .group = CONFIG_G_SHED,
        .metavar = "N",
        .min = 1,
        .max = 10000000,
        .def = {.u = 30000},
        .help = "agent long-polls parked at once",
        .doc = "Agent long-polls parked at once. Beyond it a long-poll gets `503` with "
               "`Retry-After`. A parked poll whose client closed its connection is "
               "released within about a second.",
    },
    {
        .name = "token-rate",
        .letter = 'R',
        AS_DOUBLE(token_rate),
        .group = CONFIG_G_SHED,
        .metavar = "R",
        .dmin = 0,
        .dmax = 1e9,
        .def = {.d = 0},
        .def_note = "no limit",
        .help = "token bucket rate: requests per second per bearer token",
        .doc = "Requests per second allowed per bearer token (token bucket). Over the "
               "limit: `429` with `Retry-After`.",
    },
    {
        .name = "token-burst",
        .letter = 'B',
        AS_DOUBLE(token_burst),
        .group = CONFIG_G_SHED,
        .metavar = "B",
        .dmin = 0,
        .dmax = 1e9,
        .def = {.d = 0},
        .def_note = "twice R",
        .help = "size of each token's bucket",
        .doc = "Size of each token's bucket.",
    },
    /* signed statements and rollouts */
    {
        .name = "statement-ttl",
        .letter = 'T',
        AS_UNSIGNED(statement_ttl_s),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "S",
        .min = 10,
        .max = 30 * 86400,
        .def = {.u = 3600},
        .help = "lifetime of signed assignment statements in seconds",
        .doc = "Lifetime of signed assignment statements in seconds. Statements are "
               "re-signed at half-life.",
    },
    {
        .name = "tick-ms",
        .letter = 'k',
        AS_UNSIGNED(tick_ms),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "MS",
        .min = 1,
        .max = 3600000,
        .def = {.u = 1000},
        .help = "rollout controller period in milliseconds",
        .doc = "Period of the rollout controller in milliseconds.",
    },
    {
        .name = "host-stale",
        AS_UNSIGNED(host_stale_s),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "S",
        .min = 1,
        .max = 3600,
        .def = {.u = 60},
        .help = "seconds after which a silent host no longer counts for a rollout step",
        .doc = "A host not seen for this many seconds does not count toward a step's "
               "convergence. The controller also waits this long after it starts before it "
               "treats a cell with no host in its view as empty (such a step passes unbaked "
               "unless the plan sets `require_hosts`; docs/cells.md).",
    },
    {
        .name = "history-bucket-ms",
        AS_UNSIGNED(history_bucket_ms),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "MS",
        .min = 1000,
        .max = 3600000,
        .def = {.u = 60000},
        .help = "each host's health history is kept in buckets of MS milliseconds",
        .doc = "The width of a bucket of each host's health history in memory (the requests "
               "and errors its reports carried), which `cellgate why` and `POST /v1/correlate` "
               "read to find when a fault began (docs/correlation.md).",
    },
    {
        .name = "history-buckets",
        AS_UNSIGNED(history_buckets),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "N",
        .min = 10,
        .max = 100000,
        .def = {.u = 1440},
        .def_note = "24 hours of one-minute buckets",
        .help = "each host's health history holds N buckets",
        .doc = "How many buckets of `--history-bucket-ms` each host's health history holds. "
               "Memory: 8 bytes a bucket for each host that reports health (11.5 KiB a host "
               "with the defaults, 115 MiB for 10,000 hosts), allocated at its first report; "
               "at most the reports' limit of 100,000 hosts (1.1 GiB with the defaults).",
    },
    {
        .name = "history-slow-ms",
        AS_UNSIGNED(history_slow_ms),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "MS",
        .min = 0,
        .max = 600000,
        .def = {.u = 0},
        .def_note = "off",
        .help = "also keep each host's share of requests slower than MS, for why --metric latency",
        .doc = "When set, each bucket of a host's health history also counts the latency "
               "observations its reports carried and those slower than MS milliseconds (rounded "
               "up to an edge of the reports' histogram, 0.25 ms x 2^i), so `cellgate why "
               "--metric latency` and `POST /v1/correlate` with `\"metric\": \"latency\"` can "
               "find a latency fault and the change behind it (docs/correlation.md). Another 8 "
               "bytes a bucket: 11.5 KiB a host with the default history. Choose the latency your "
               "requests should stay under (an SLO's threshold). 0 keeps no latency history.",
    },
    {
        .name = "history-save-every",
        AS_UNSIGNED(history_save_every_s),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "S",
        .min = 0,
        .max = 86400,
        .def = {.u = 300},
        .help = "seconds between two saves of the health histories while running (0: at stop only)",
        .doc = "While the server runs, the hosts' health histories are written to "
               "`DIR/health-history` every S seconds (as a clean stop writes them), so a crash "
               "loses at most S seconds of what `cellgate why` reads (docs/correlation.md, "
               "\"Health history\"). Each save writes about the rings' size (11.5 KiB a host "
               "with the default history, 115 MiB for 10,000 hosts) and copies them a few MiB "
               "at a time, so ingestion never waits long. 0 saves only at a clean stop. Without "
               "a data directory (a PostgreSQL store with no `--data`) nothing is saved.",
    },
    {
        .name = "exposure-retention-days",
        AS_UNSIGNED(exposure_retention_days),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "D",
        .min = 1,
        .max = 3650,
        .def = {.u = 90},
        .help = "delete hosts' exposure history that ended more than D days ago",
        .doc = "Retention of the hosts' exposure history in the store (`host_exposures`: which "
               "generation of each config each host ran, from when to when): rows that ended "
               "more than D days ago are deleted once a minute; current ones are kept.",
    },
    {
        .name = "no-controller",
        AS_FLAG(no_controller),
        .group = CONFIG_G_ROLLOUT,
        .help = "serve the API and agents but do not run the rollout controller's tick",
        .doc = "Serves the whole API, agent polls and reports, but does not start the rollout "
               "controller's tick: rollouts can be started, paused, approved and rolled back "
               "here, and another `cellgated` on the same store moves them. For a second "
               "process beside the one that runs the engine, and for maintenance; with "
               "SQLite, only one process may open the data directory, so this matters once "
               "the store is shared.",
    },
    {
        .name = "replica-id",
        AS_STRING(replica_id),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "ID",
        .def_note = "\"local\" with the SQLite store, HOSTNAME-PID with --store",
        .help = "this replica's name in the leader lease and the list of replicas",
        .doc = "This replica's name: the holder of the controller's leader lease while it "
               "leads, and its entry in `cellgate cluster status`. 1..55 bytes. Replicas of one "
               "store must have different ids. A replica that restarts under the same id while "
               "its term is live takes its term back at once; under a new id it waits for the "
               "old holding to expire.",
    },
    {
        .name = "lease-ttl-ms",
        AS_UNSIGNED(lease_ttl_ms),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "MS",
        .min = 300,
        .max = 3600000,
        .def = {.u = 6000},
        .help =
            "leader lease time to live in ms; renewed every third, acted on until a sixth before",
        .doc = "Time to live of the leader lease, in milliseconds, on the store's clock. Each "
               "replica renews it every third of it; the leader stops acting a sixth of it "
               "before the expiry, measured on its own monotonic clock from when it sent the "
               "renewal. When the leader dies, another replica leads within the ttl plus one "
               "renewal period.",
    },
    {
        .name = "replica-poll-only",
        AS_FLAG(replica_poll_only),
        .group = CONFIG_G_ROLLOUT,
        .help = "with --store: learn of the other replicas' changes by reading the change log "
                "once a second, without LISTEN",
        .doc = "With `--store`: this replica learns of changes committed through the other "
               "replicas only by reading the change log once a second, without holding a "
               "PostgreSQL session that LISTENs for the notifications (which wake the parked "
               "long-polls within milliseconds). For a network path that cannot keep such a "
               "session, and to rehearse lost notifications; changes then reach its agents "
               "within about one second plus the read.",
    },
    /* the audit log */
    {
        .name = "audit-checkpoint-interval",
        AS_UNSIGNED(audit_checkpoint_s),
        .group = CONFIG_G_AUDIT,
        .metavar = "S",
        .min = 0,
        .max = 86400,
        .def = {.u = 60},
        .def_note = "0: only at start and at a clean stop",
        .help = "sign the audit chain's head every S seconds when it moved",
        .doc = "Every S seconds, when the audit log grew, the server checks that the new "
               "records extend its last checkpoint and signs the chain's head (sequence "
               "number and hash) with its signing key: the checkpoint is appended to "
               "`DIR/audit-checkpoints` (fsync'd), stored in the database "
               "(`GET /v1/audit/checkpoints`) and printed in the log. It also signs at start "
               "and at a clean stop. A log cut short or rewritten after a checkpoint is then "
               "found by `cellgate audit verify` and at the next start (`docs/operations.md`, "
               "\"Audit checkpoints\"). 0: only at start and stop.",
    },
    {
        .name = "accept-audit-rewrite",
        AS_FLAG(accept_audit_rewrite),
        .group = CONFIG_G_AUDIT,
        .help = "start although the audit log no longer extends its last checkpoint (audited)",
        .doc = "Starts although the audit log no longer extends its last checkpoint (from "
               "`DIR/audit-checkpoints` or the database): it is shorter (records deleted, or "
               "the store restored from an older backup) or the record at the checkpoint has "
               "another hash (rewritten). Without it the server refuses to start and says "
               "which checkpoint and why. With it the loss is logged, recorded in the audit "
               "log as `audit.rewrite_accepted`, and the checkpoints the chain contradicts are "
               "dropped from the database; `DIR/audit-checkpoints` keeps them. Give it once, "
               "for that start only.",
    },
    /* scheduled backups (docs/operations.md) */
    {
        .name = "backup-dir",
        AS_STRING(backup_dir),
        .group = CONFIG_G_AUDIT,
        .metavar = "DIR",
        .def_note = "no scheduled backups",
        .help = "write a backup of the store to DIR every --backup-every seconds",
        .doc = "Scheduled backups: a backup of the SQLite store (as `cellgated backup create` "
               "writes it) to `DIR/cellgate-YYYYMMDDTHHMMSS.mmmZ` ten seconds after the start and "
               "then every `--backup-every` seconds, keeping the newest `--backup-keep`. "
               "Each outcome is one logfmt line (`event=backup.ok` or `backup.failed`); "
               "`/metrics` has `cellgate_backup_last_success_timestamp_seconds` for the alert "
               "rule. DIR is created (mode 0700) if missing; put it on another disk, and copy "
               "it off the host. Not with `--store` (PostgreSQL has `pg_dump` and PITR).",
    },
    {
        .name = "backup-every",
        AS_UNSIGNED(backup_every_s),
        .group = CONFIG_G_AUDIT,
        .metavar = "S",
        .min = 1,
        .max = 604800,
        .def = {.u = 86400},
        .help = "seconds between two scheduled backups",
        .doc = "Seconds between two scheduled backups (`--backup-dir`).",
    },
    {
        .name = "backup-keep",
        AS_UNSIGNED(backup_keep),
        .group = CONFIG_G_AUDIT,
        .metavar = "N",
        .min = 1,
        .max = 10000,
        .def = {.u = 7},
        .help = "scheduled backups kept; older ones are removed",
        .doc = "Scheduled backups kept in `--backup-dir`: after each success the oldest of "
               "the server's backups (names `cellgate-YYYYMMDDTHHMMSS.mmmZ`) beyond N are "
               "removed. Other files in DIR are left alone.",
    },
    /* change drills (docs/drills.md) */
    {
        .name = "drill-budget",
        AS_UNSIGNED(drill_budget_ms),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "MS",
        .min = 1000,
        .max = 600000,
        .def = {.u = 60000},
        .help = "real time one drill scenario may take",
        .doc = "Real time one drill scenario may take (docs/drills.md): a scenario still "
               "running when it is spent stops and fails, saying so. Its virtual time is "
               "bounded as well (14 days of virtual time).",
    },
    {
        .name = "drill-poll",
        AS_UNSIGNED(drill_poll_ms),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "MS",
        .min = 100,
        .max = 3600000,
        .def = {.u = 10000},
        .help = "how often the drill schedules are looked at",
        .doc = "How often the server looks for a drill schedule that is due "
               "(`cellgate drill schedule`); each due config runs every scenario once. "
               "Every replica, leader or not, also reads the drill runs recorded since "
               "its last look, and the schedules, into its /metrics then.",
    },
    /* notifications (docs/notifications.md) */
    {
        .name = "notify-timeout",
        AS_UNSIGNED(notify_timeout_ms),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "MS",
        .min = 100,
        .max = 60000,
        .def = {.u = 5000},
        .help = "give up one notification attempt after MS milliseconds",
        .doc = "The whole of one delivery attempt to a notification sink (connecting at most "
               "2000 ms of it): a sink that hangs costs the delivery thread this long per "
               "attempt, and never a rollout (`docs/notifications.md`).",
    },
    {
        .name = "notify-attempts",
        AS_UNSIGNED(notify_attempts),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "N",
        .min = 1,
        .max = 20,
        .def = {.u = 4},
        .help = "attempts per notification, the first included",
        .doc = "Attempts per notification and sink, the first included; a failed one (no "
               "answer, or not 2xx) is retried after a full-jitter exponential backoff, and "
               "after the last it counts in `cellgate_notify_failed_total`.",
    },
    {
        .name = "notify-backoff",
        AS_UNSIGNED(notify_backoff_ms),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "MS",
        .min = 1,
        .max = 600000,
        .def = {.u = 500},
        .help = "first notification retry waits up to MS ms (doubling, cap 30 s)",
        .doc = "The ceiling of the first retry's delay: retry k waits uniform[0, min(30 s, "
               "MS * 2^(k-1))] milliseconds (full jitter).",
    },
    {
        .name = "notify-queue",
        AS_UNSIGNED(notify_queue),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "N",
        .min = 1,
        .max = 100000,
        .def = {.u = 256},
        .help = "events waiting for delivery before new ones are dropped",
        .doc = "Events waiting for the delivery thread; when it is full a new event is "
               "dropped and counted (`cellgate_notify_dropped_total`): announcing never "
               "waits.",
    },
    {
        .name = "public-url",
        AS_STRING(public_url),
        .group = CONFIG_G_ROLLOUT,
        .metavar = "URL",
        .def_note = "none",
        .help = "the server's URL as operators reach it, for links in notifications",
        .doc = "The server's URL as operators reach it (e.g. `https://cellgate.example`): "
               "notifications link to the rollout's dashboard page (`URL` + `--ui-base-path` + "
               "`/rollouts/ID`; not with `--no-ui`) and to `URL/v1/rollouts/ID` "
               "(docs/notifications.md). Without it they carry no link.",
    },
    /* rehearsals only */
    {
        .name = "fault-controller-delay",
        AS_UNSIGNED(fault_controller_delay_ms),
        .group = CONFIG_G_REHEARSE,
        .metavar = "MS",
        .min = 0,
        .max = 60000,
        .def = {.u = 0},
        .def_note = "none",
        .help = "fault injection: the rollout controller waits MS ms before each write it "
                "fences with its lease term (a stalled leader)",
        .doc = "Fault injection: the rollout controller waits MS ms before each write it "
               "fences with its lease term, as a leader stalled by a slow disk, swapping or a "
               "pause would. For rehearsing a leader that is paused mid-tick and wakes after "
               "another replica took over: its late writes must all be refused "
               "(`cellgate_controller_late_writes_total`).",
    },
    {
        .name = "fault-delay",
        .letter = 'F',
        AS_LANE_MS(lane_fault_delay_ms),
        .group = CONFIG_G_REHEARSE,
        .metavar = "NAME=MS",
        .min = 0,
        .max = 60000,
        .def = {.u = 0},
        .def_note = "none",
        .help = "fault injection: every request of lane NAME holds its worker MS ms "
                "longer (a slow disk or database); repeatable",
        .doc = "Fault injection: every request of lane NAME holds its worker MS ms "
               "longer before it runs, as a slow disk or database would. For rehearsals "
               "and the metastability benchmark; logged at start and exported as "
               "`cellgate_fault_delay_seconds{lane}`. Repeat for several lanes.",
    },
    {
        .name = "fault-report-clock",
        AS_FLAG(fault_report_clock),
        .group = CONFIG_G_REHEARSE,
        .help = "fault injection: a report sent with an admin token may say when the server "
                "received it (header Cellgate-Fault-Report-Time-Ms)",
        .doc = "Fault injection: an agent report sent with an **admin** token may carry the "
               "header `Cellgate-Fault-Report-Time-Ms: T` (unix ms); the server ingests it as "
               "if it had received it at T, so its health lands in the buckets of T. Agent "
               "tokens cannot. For tests and rehearsals of the health views and the gates "
               "over an hour of reports in seconds; never in production.",
    },
    {
        .name = "no-shed",
        .letter = 'N',
        AS_FLAG(no_shed),
        .group = CONFIG_G_REHEARSE,
        .help = "disable load shedding (unbounded queues, no deadlines, no parked or rate "
                "limits): only to demonstrate metastability",
        .doc = "Disables load shedding: unbounded lane queues, no queue deadlines (the "
               "lane's or the client's `Cellgate-Timeout-Ms`), no check for clients that "
               "closed their connection, no parked-poll or rate limits. Only for "
               "demonstrating metastability; never in production.",
    },
    /* information */
    {
        .name = "version",
        .letter = 'V',
        AS_ACTION(CONFIG_VERSION),
        .group = CONFIG_G_INFO,
        .help = "print the version and exit",
        .doc = "Prints `cellgated " CELLGATED_VERSION "` and exits 0.",
    },
    {
        .name = "help",
        .letter = 'h',
        AS_ACTION(CONFIG_HELP),
        .group = CONFIG_G_INFO,
        .help = "print this help and exit",
        .doc = "Prints the usage and exits 0.",
    },
    {
        .name = "help-markdown",
        AS_ACTION(CONFIG_HELP_MARKDOWN),
        .group = CONFIG_G_INFO,
        .flags = CONFIG_HIDDEN,
        .help = "print the man page's OPTIONS section (Markdown) and exit",
    },
};

static const char *const group_titles[CONFIG_G__COUNT] = {
    [CONFIG_G_SERVER] = "Data directory and listener",
    [CONFIG_G_CONNS] = "Requests and connections",
    [CONFIG_G_TLS] = "TLS and client certificates",
    [CONFIG_G_SHED] = "Admission and load shedding",
    [CONFIG_G_ROLLOUT] = "Signed statements and rollouts",
    [CONFIG_G_AUDIT] = "The audit log",
    [CONFIG_G_REHEARSE] = "Rehearsals only (never in production)",
    [CONFIG_G_INFO] = "Information",
};

/* The commands (main.c runs them). */
static const struct {
    const char *name;
    enum config_command cmd;
    const char *help;
} commands[] = {
    {"init", CONFIG_CMD_INIT, "create DIR (store, signing key, admin token) and exit"},
    {"serve", CONFIG_CMD_SERVE, "run the server (default); initialises DIR first if needed"},
    {"pubkey", CONFIG_CMD_PUBKEY, "print the public signing key (hex) agents pin"},
    {"dump", CONFIG_CMD_DUMP, "write the store as a dump file (--out FILE, default stdout)"},
    {"load", CONFIG_CMD_LOAD, "load a dump file (--in FILE) into a new, empty store"},
    {"migrate", CONFIG_CMD_MIGRATE, "copy the store of --from-data DIR into --to DSN"},
    {"rekey", CONFIG_CMD_REKEY, "rotate the signing key: prepare it, then --commit"},
    {"backup", CONFIG_CMD_BACKUP, "create OUT, verify BACKUP, restore BACKUP; bump --store DSN"},
};

enum config_command config_command(const char *name)
{
    size_t i;

    for (i = 0; i < CG_ARRAY_SIZE(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].cmd;
    return CONFIG_CMD_UNKNOWN;
}

const struct config_key *config_keys(size_t *n)
{
    *n = CG_ARRAY_SIZE(keys);
    return keys;
}

const struct config_key *config_key_find(const char *name)
{
    size_t i;

    for (i = 0; i < CG_ARRAY_SIZE(keys); i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static void *field(struct daemon_config *cfg, size_t off)
{
    return (char *)cfg + off;
}

static int takes_value(const struct config_key *k)
{
    return k->type != CONFIG_FLAG && k->type != CONFIG_ACTION;
}

void config_defaults(struct daemon_config *cfg)
{
    size_t i, l;

    memset(cfg, 0, sizeof *cfg);
    for (i = 0; i < CG_ARRAY_SIZE(keys); i++) {
        const struct config_key *k = &keys[i];
        void *p = field(cfg, k->off);

        switch (k->type) {
        case CONFIG_STRING:
            *(const char **)p = k->def.s;
            break;
        case CONFIG_SIZE:
            *(size_t *)p = (size_t)k->def.u;
            break;
        case CONFIG_UNSIGNED:
            *(unsigned *)p = (unsigned)k->def.u;
            break;
        case CONFIG_DOUBLE:
            *(double *)p = k->def.d;
            break;
        case CONFIG_FLAG:
            *(int *)p = 0;
            break;
        case CONFIG_LANE:
            for (l = 0; l < LANE__COUNT; l++) {
                ((unsigned *)p)[l] = k->def.lanes[l][0];
                ((unsigned *)field(cfg, k->off2))[l] = k->def.lanes[l][1];
            }
            break;
        case CONFIG_LANE_MS:
            for (l = 0; l < LANE__COUNT; l++)
                ((unsigned *)p)[l] = (unsigned)k->def.u;
            break;
        case CONFIG_ACTION:
            break;
        }
    }
}

/* -- values ---------------------------------------------------------- */

/* Decimal digits at s (at least one, no sign or space) into *v; *end gets
 * the first character after them. 0, or -1 if there are none or overflow. */
static int parse_digits(const char *s, const char **end, unsigned long long *v)
{
    char *e;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    *v = strtoull(s, &e, 10);
    if (errno)
        return -1;
    *end = e;
    return 0;
}

static int in_range(unsigned long long v, unsigned long long min, unsigned long long max)
{
    return v >= min && (max == 0 || v <= max);
}

/* "NAME=" at s: the lane, and *rest after the '='. -1 if NAME is no lane. */
static int parse_lane_name(const char *s, const char **rest)
{
    const char *eq = strchr(s, '=');
    size_t l;

    if (!eq)
        return -1;
    for (l = 0; l < LANE__COUNT; l++) {
        const char *name = lane_name((enum lane)l);
        if (strlen(name) == (size_t)(eq - s) && strncmp(s, name, (size_t)(eq - s)) == 0) {
            *rest = eq + 1;
            return (int)l;
        }
    }
    return -1;
}

/* Parses v for k and stores it in cfg. 0, or -1 if v is not a value of k. */
static int set_value(const struct config_key *k, const char *v, struct daemon_config *cfg)
{
    void *p = field(cfg, k->off);
    unsigned long long u, u2;
    const char *end;
    int lane;

    switch (k->type) {
    case CONFIG_STRING:
        *(const char **)p = v;
        return 0;
    case CONFIG_SIZE:
        if (parse_digits(v, &end, &u) < 0 || *end || !in_range(u, k->min, k->max) || u > SIZE_MAX)
            return -1;
        *(size_t *)p = (size_t)u;
        return 0;
    case CONFIG_UNSIGNED:
        if (parse_digits(v, &end, &u) < 0 || *end || !in_range(u, k->min, k->max) || u > UINT_MAX)
            return -1;
        *(unsigned *)p = (unsigned)u;
        return 0;
    case CONFIG_DOUBLE: {
        char *e;
        double x = strtod(v, &e);
        if (e == v || *e || !(x > k->dmin) || !(x <= k->dmax))
            return -1;
        *(double *)p = x;
        return 0;
    }
    case CONFIG_LANE:
        lane = parse_lane_name(v, &end);
        if (lane < 0 || parse_digits(end, &end, &u) < 0 || *end != '/' ||
            parse_digits(end + 1, &end, &u2) < 0 || *end || !in_range(u, k->min, k->max) ||
            !in_range(u2, k->min2, k->max2) || u > UINT_MAX || u2 > UINT_MAX)
            return -1;
        ((unsigned *)p)[lane] = (unsigned)u;
        ((unsigned *)field(cfg, k->off2))[lane] = (unsigned)u2;
        return 0;
    case CONFIG_LANE_MS:
        lane = parse_lane_name(v, &end);
        if (lane < 0 || parse_digits(end, &end, &u) < 0 || *end || !in_range(u, k->min, k->max) ||
            u > UINT_MAX)
            return -1;
        ((unsigned *)p)[lane] = (unsigned)u;
        return 0;
    case CONFIG_FLAG:
    case CONFIG_ACTION:
        break;
    }
    return -1;
}

/* -- the parser ------------------------------------------------------ */

static enum config_action usage_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum config_action usage_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return CONFIG_USAGE_ERROR;
}

/* The key of "--NAME" (len bytes of s): an exact name, else the one visible
 * key it is a prefix of. NULL with err set if none or several. */
static const struct config_key *find_long(const char *s, size_t len, char *err, size_t errlen)
{
    const struct config_key *hit = NULL;
    size_t i, n = 0;

    for (i = 0; i < CG_ARRAY_SIZE(keys); i++)
        if (strlen(keys[i].name) == len && strncmp(keys[i].name, s, len) == 0)
            return &keys[i];
    for (i = 0; len > 0 && i < CG_ARRAY_SIZE(keys); i++)
        if (!(keys[i].flags & CONFIG_HIDDEN) && strncmp(keys[i].name, s, len) == 0) {
            hit = &keys[i];
            n++;
        }
    if (n == 1)
        return hit;
    if (n == 0) {
        usage_error(err, errlen, "unknown option '--%.*s' (see --help)", (int)len, s);
    } else {
        size_t used;
        used = (size_t)snprintf(err, errlen, "ambiguous option '--%.*s' (could be", (int)len, s);
        for (i = 0; i < CG_ARRAY_SIZE(keys) && used < errlen; i++)
            if (!(keys[i].flags & CONFIG_HIDDEN) && strncmp(keys[i].name, s, len) == 0)
                used += (size_t)snprintf(err + used, errlen - used, " --%s", keys[i].name);
        if (used < errlen)
            snprintf(err + used, errlen - used, ")");
    }
    return NULL;
}

static const struct config_key *find_letter(char c)
{
    size_t i;

    for (i = 0; c && i < CG_ARRAY_SIZE(keys); i++)
        if (keys[i].letter == c)
            return &keys[i];
    return NULL;
}

/* Applies k with value v (NULL for keys without one). CONFIG_RUN to go on,
 * the key's action, or CONFIG_USAGE_ERROR with err set. */
static enum config_action apply(const struct config_key *k, const char *v,
                                struct daemon_config *cfg, char *err, size_t errlen)
{
    char range[256];

    if (k->type == CONFIG_ACTION)
        return k->action;
    if (k->type == CONFIG_FLAG) {
        *(int *)field(cfg, k->off) = 1;
        return CONFIG_RUN;
    }
    if (set_value(k, v, cfg) < 0)
        return usage_error(err, errlen, "bad value '%s' for --%s (%s)", v, k->name,
                           config_key_range(k, range, sizeof range));
    return CONFIG_RUN;
}

static enum config_action parse_argv(int argc, char *const argv[], struct daemon_config *cfg,
                                     const char **args, size_t max, size_t *nargs, char *err,
                                     size_t errlen);

enum config_action config_parse(int argc, char *const argv[], struct daemon_config *cfg, char *err,
                                size_t errlen)
{
    return config_parse_args(argc, argv, cfg, NULL, 0, NULL, err, errlen);
}

enum config_action config_parse_args(int argc, char *const argv[], struct daemon_config *cfg,
                                     const char **args, size_t max, size_t *nargs, char *err,
                                     size_t errlen)
{
    config_defaults(cfg);
    return parse_argv(argc, argv, cfg, args, max, nargs, err, errlen);
}

/* config_parse_args() without the defaults: argv over what cfg holds. */
static enum config_action parse_argv(int argc, char *const argv[], struct daemon_config *cfg,
                                     const char **args, size_t max, size_t *nargs, char *err,
                                     size_t errlen)
{
    enum config_action act;
    size_t n = 0;
    int i, dashes = 0;

    if (nargs)
        *nargs = 0;
    if (errlen)
        err[0] = '\0';
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct config_key *k;

        if (!dashes && strcmp(a, "--") == 0) {
            dashes = 1;
            continue;
        }
        if (dashes || a[0] != '-' || a[1] == '\0') {
            if (n >= max)
                return usage_error(err, errlen, "unexpected argument '%s'", a);
            args[n++] = a;
            if (nargs)
                *nargs = n;
            continue;
        }
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            const char *v = NULL;

            k = find_long(name, eq ? (size_t)(eq - name) : strlen(name), err, errlen);
            if (!k)
                return CONFIG_USAGE_ERROR;
            if (!takes_value(k) && eq)
                return usage_error(err, errlen, "--%s takes no value", k->name);
            if (takes_value(k)) {
                if (eq)
                    v = eq + 1;
                else if (i + 1 < argc)
                    v = argv[++i];
                else
                    return usage_error(err, errlen, "missing value for --%s (%s)", k->name,
                                       k->metavar);
            }
            act = apply(k, v, cfg, err, errlen);
            if (act != CONFIG_RUN)
                return act;
            continue;
        }
        /* -x, -xVALUE, -x VALUE, -xy (clustered keys without a value) */
        for (const char *c = a + 1; *c; c++) {
            const char *v = NULL;

            k = find_letter(*c);
            if (!k)
                return usage_error(err, errlen, "unknown option '-%c' (see --help)", *c);
            if (takes_value(k)) {
                if (c[1])
                    v = c + 1;
                else if (i + 1 < argc)
                    v = argv[++i];
                else
                    return usage_error(err, errlen, "missing value for --%s (%s)", k->name,
                                       k->metavar);
            }
            act = apply(k, v, cfg, err, errlen);
            if (act != CONFIG_RUN)
                return act;
            if (v)
                break;
        }
    }
    return CONFIG_RUN;
}

/* -- the options file ---------------------------------------------- */

/* The largest options file read: far more than every option set once. */
#define CONFIG_FILE_MAX (1u << 20)

/* s without the blanks at both ends (in place). */
static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t' || *s == '\r') {
        s++;
    }
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
        *--e = '\0';
    }
    return s;
}

/* One "name = value" (or bare "name") line of an options file into cfg.
 * CONFIG_RUN, or CONFIG_USAGE_ERROR with err set (without FILE:LINE). */
static enum config_action file_line(char *line, struct daemon_config *cfg, char *err, size_t errlen)
{
    char *eq = strchr(line, '=');
    char *name = line, *v = NULL, range[256];
    const struct config_key *k;

    if (eq) {
        *eq = '\0';
        v = trim(eq + 1);
    }
    name = trim(name);
    k = name[0] ? config_key_find(name) : NULL;
    if (!k) {
        return usage_error(err, errlen, "unknown option '%s' (the long names of --help)", name);
    }
    if (k->type == CONFIG_ACTION || k->off == FIELD(config_file, const char *)) {
        return usage_error(err, errlen, "'%s' cannot be set in a file", name);
    }
    if (k->type == CONFIG_FLAG) {
        if (v && strcmp(v, "false") == 0) {
            *(int *)field(cfg, k->off) = 0;
            return CONFIG_RUN;
        }
        if (v && strcmp(v, "true") != 0) {
            return usage_error(err, errlen, "bad value '%s' for %s (true or false)", v, name);
        }
        *(int *)field(cfg, k->off) = 1;
        return CONFIG_RUN;
    }
    if (!v || !v[0]) {
        return usage_error(err, errlen, "missing value for %s (%s = %s)", name, name, k->metavar);
    }
    if (set_value(k, v, cfg) < 0) {
        return usage_error(err, errlen, "bad value '%s' for %s (%s)", v, name,
                           config_key_range(k, range, sizeof range));
    }
    return CONFIG_RUN;
}

int config_load_file(const char *path, struct daemon_config *cfg, struct config_text *ct, char *err,
                     size_t errlen)
{
    char msg[512];
    size_t len, lineno = 0;
    char *p;

    ct->text = cg_read_file(path, CONFIG_FILE_MAX, &len);
    if (!ct->text) {
        snprintf(err, errlen, "%s: %s", path,
                 errno == EFBIG ? "larger than 1 MiB: not an options file" : strerror(errno));
        return -1;
    }
    if (memchr(ct->text, '\0', len)) {
        snprintf(err, errlen, "%s: holds a NUL byte: not an options file", path);
        return -1;
    }
    for (p = ct->text; p && *p;) {
        char *nl = strchr(p, '\n'), *line;

        if (nl) {
            *nl = '\0';
        }
        lineno++;
        line = trim(p);
        p = nl ? nl + 1 : NULL;
        if (!line[0] || line[0] == '#') {
            continue;
        }
        if (file_line(line, cfg, msg, sizeof msg) != CONFIG_RUN) {
            snprintf(err, errlen, "%s:%zu: %s", path, lineno, msg);
            return -1;
        }
    }
    return 0;
}

void config_text_free(struct config_text *ct)
{
    free(ct->text);
    ct->text = NULL;
}

enum config_action config_parse_all(int argc, char *const argv[], struct daemon_config *cfg,
                                    const char **args, size_t max, size_t *nargs,
                                    struct config_text *ct, char *err, size_t errlen)
{
    enum config_action act;
    const char *path;

    ct->text = NULL;
    act = config_parse_args(argc, argv, cfg, args, max, nargs, err, errlen);
    if (act != CONFIG_RUN || !cfg->config_file) {
        return act;
    }
    /* the file first, then the command line over it */
    path = cfg->config_file;
    config_defaults(cfg);
    if (config_load_file(path, cfg, ct, err, errlen) < 0) {
        return CONFIG_USAGE_ERROR;
    }
    return parse_argv(argc, argv, cfg, args, max, nargs, err, errlen);
}

/* -- text ------------------------------------------------------------ */

/* A double as the table writes it: 1e9, 0.5, 2. */
static void fmt_double(double d, char *buf, size_t n)
{
    char *e;

    snprintf(buf, n, "%g", d);
    e = strstr(buf, "e+");
    if (e) {
        char *digits = e + 2;
        while (*digits == '0' && digits[1])
            digits++;
        memmove(e + 1, digits, strlen(digits) + 1);
    }
}

/* The names of the lanes: "control, read, report or poll". */
static void lane_list(char *buf, size_t n)
{
    size_t l, used = 0;

    buf[0] = '\0';
    for (l = 0; l < LANE__COUNT && used < n; l++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s",
                                 l == 0                 ? ""
                                 : l + 1 == LANE__COUNT ? " or "
                                                        : ", ",
                                 lane_name((enum lane)l));
}

/* The i-th (0 or 1) value name after '=' in a metavar "NAME=WORKERS/QUEUE". */
static void metavar_part(const char *mv, int i, char *buf, size_t n)
{
    const char *s = strchr(mv, '=');
    size_t len;

    s = s ? s + 1 : mv;
    if (i == 1) {
        s = strchr(s, '/');
        s = s ? s + 1 : "";
    }
    len = strcspn(s, "/");
    snprintf(buf, n, "%.*s", (int)len, s);
}

static void fmt_int_range(unsigned long long min, unsigned long long max, const char *what,
                          char *buf, size_t n)
{
    if (max == 0)
        snprintf(buf, n, "%s >= %llu", what, min);
    else
        snprintf(buf, n, "%s%s%llu..%llu", what, *what ? " " : "", min, max);
}

char *config_key_range(const struct config_key *k, char *buf, size_t n)
{
    char lanes[128], p0[32], p1[32], r0[96], r1[96], d0[32], d1[32];

    buf[0] = '\0';
    switch (k->type) {
    case CONFIG_SIZE:
    case CONFIG_UNSIGNED:
        fmt_int_range(k->min, k->max, k->max ? "" : k->metavar, buf, n);
        break;
    case CONFIG_DOUBLE:
        fmt_double(k->dmin, d0, sizeof d0);
        fmt_double(k->dmax, d1, sizeof d1);
        snprintf(buf, n, "%s < %s <= %s", d0, k->metavar, d1);
        break;
    case CONFIG_LANE:
        lane_list(lanes, sizeof lanes);
        metavar_part(k->metavar, 0, p0, sizeof p0);
        metavar_part(k->metavar, 1, p1, sizeof p1);
        fmt_int_range(k->min, k->max, p0, r0, sizeof r0);
        fmt_int_range(k->min2, k->max2, p1, r1, sizeof r1);
        snprintf(buf, n, "NAME %s; %s; %s", lanes, r0, r1);
        break;
    case CONFIG_LANE_MS:
        lane_list(lanes, sizeof lanes);
        metavar_part(k->metavar, 0, p0, sizeof p0);
        fmt_int_range(k->min, k->max, p0, r0, sizeof r0);
        snprintf(buf, n, "NAME %s; %s", lanes, r0);
        break;
    case CONFIG_STRING:
    case CONFIG_FLAG:
    case CONFIG_ACTION:
        break;
    }
    return buf;
}

char *config_key_default(const struct config_key *k, char *buf, size_t n)
{
    size_t l, used = 0;

    buf[0] = '\0';
    switch (k->type) {
    case CONFIG_STRING:
        snprintf(buf, n, "%s", k->def.s ? k->def.s : "");
        break;
    case CONFIG_SIZE:
    case CONFIG_UNSIGNED:
    case CONFIG_LANE_MS:
        snprintf(buf, n, "%llu", k->def.u);
        break;
    case CONFIG_DOUBLE:
        fmt_double(k->def.d, buf, n);
        break;
    case CONFIG_LANE:
        for (l = 0; l < LANE__COUNT && used < n; l++)
            used +=
                (size_t)snprintf(buf + used, n - used, "%s%s=%u/%u", l ? " " : "",
                                 lane_name((enum lane)l), k->def.lanes[l][0], k->def.lanes[l][1]);
        break;
    case CONFIG_FLAG:
    case CONFIG_ACTION:
        break;
    }
    return buf;
}

/* The length of the word at s: up to a space outside a `code span`. */
static size_t word_len(const char *s)
{
    size_t len = 0;
    int code = 0;

    for (; s[len] && (code || s[len] != ' '); len++)
        if (s[len] == '`')
            code = !code;
    return len;
}

/* Prints text word by word from column col, breaking lines before 'width'
 * columns (never inside a `code span`); continuation lines start with
 * 'indent' spaces. Ends the line. */
static void wrap(FILE *f, const char *text, size_t col, size_t indent, size_t width)
{
    const char *s = text;
    int first = 1;

    while (*s) {
        size_t len = word_len(s);

        if (!first && col + 1 + len > width) {
            fprintf(f, "\n%*s", (int)indent, "");
            col = indent;
        } else if (!first) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%.*s", (int)len, s);
        col += len;
        first = 0;
        s += len;
        while (*s == ' ')
            s++;
    }
    fputc('\n', f);
}

/* "-t, --threads N" (or "--threads N" with tick marks for Markdown). */
static void option_label(const struct config_key *k, int md, char *buf, size_t n)
{
    const char *q = md ? "`" : "";
    char letter[16] = "";

    if (k->letter)
        snprintf(letter, sizeof letter, "%s-%c%s, ", q, k->letter, q);
    else if (!md)
        snprintf(letter, sizeof letter, "    ");
    snprintf(buf, n, "%s%s--%s%s%s%s", letter, q, k->name, k->metavar ? " " : "",
             k->metavar ? k->metavar : "", q);
}

#define HELP_COL   28
#define HELP_WIDTH 79

void config_print_help(FILE *f)
{
    char label[96], text[1024], range[256], def[256];
    size_t i, g, used;

    fprintf(f, "usage: cellgated [");
    for (i = 0; i < CG_ARRAY_SIZE(commands); i++)
        fprintf(f, "%s%s", i ? "|" : "", commands[i].name);
    fprintf(f, "] [options]\n"
               "       cellgated --version | --help\n"
               "\nCommands:\n");
    for (i = 0; i < CG_ARRAY_SIZE(commands); i++)
        fprintf(f, "  %-8s  %s\n", commands[i].name, commands[i].help);
    for (g = 0; g < CONFIG_G__COUNT; g++) {
        fprintf(f, "\n%s:\n", group_titles[g]);
        for (i = 0; i < CG_ARRAY_SIZE(keys); i++) {
            const struct config_key *k = &keys[i];
            int col;

            if (k->group != g || (k->flags & CONFIG_HIDDEN))
                continue;
            option_label(k, 0, label, sizeof label);
            config_key_range(k, range, sizeof range);
            config_key_default(k, def, sizeof def);
            used = (size_t)snprintf(text, sizeof text, "%s", k->help);
            if ((range[0] || def[0]) && used < sizeof text)
                used += (size_t)snprintf(text + used, sizeof text - used, " (%s%s%s%s%s%s)", range,
                                         range[0] && def[0] ? "; " : "", def[0] ? "default " : "",
                                         def, def[0] && k->def_note ? ": " : "",
                                         def[0] && k->def_note ? k->def_note : "");
            col = fprintf(f, "  %s", label);
            if (col + 2 > HELP_COL) {
                fprintf(f, "\n%*s", HELP_COL, "");
            } else {
                fprintf(f, "%*s", HELP_COL - col, "");
            }
            wrap(f, text, HELP_COL, HELP_COL, HELP_WIDTH);
        }
    }
    fprintf(f, "\nSee docs/man/cellgated.8.md and docs/operations.md.\n");
}

#define MD_WIDTH 76

void config_print_markdown(FILE *f)
{
    char label[96], text[2048], range[256], def[256];
    size_t i, g, used;

    wrap(f,
         "Long options take their value as the next argument or after `=` "
         "(`--threads 4`, `--threads=4`) and may be shortened to a unique prefix; "
         "short ones take it as the next argument or attached (`-t 4`, `-t4`). "
         "A bad value exits 2 with a message naming the accepted values, e.g. "
         "`cellgated: bad value 'x' for --threads (1..64)`; so do an unknown "
         "option, a missing value and an extra argument.",
         0, 0, MD_WIDTH);
    for (g = 0; g < CONFIG_G__COUNT; g++) {
        fprintf(f, "\n### %s\n", group_titles[g]);
        for (i = 0; i < CG_ARRAY_SIZE(keys); i++) {
            const struct config_key *k = &keys[i];

            if (k->group != g || (k->flags & CONFIG_HIDDEN))
                continue;
            option_label(k, 1, label, sizeof label);
            config_key_range(k, range, sizeof range);
            config_key_default(k, def, sizeof def);
            used = (size_t)snprintf(text, sizeof text, "%s", k->doc ? k->doc : k->help);
            if (range[0] && used < sizeof text)
                used += (size_t)snprintf(text + used, sizeof text - used, " Range: %s.", range);
            if (def[0] && used < sizeof text)
                used += (size_t)snprintf(text + used, sizeof text - used, " Default: `%s`%s%s%s.",
                                         def, k->def_note ? " (" : "",
                                         k->def_note ? k->def_note : "", k->def_note ? ")" : "");
            fprintf(f, "\n%s\n: ", label);
            wrap(f, text, 2, 2, MD_WIDTH);
        }
    }
}
