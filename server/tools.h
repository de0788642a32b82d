/* SPDX-License-Identifier: MIT */
/*
 * tools.h: cellgated's one-shot commands on a store (tools.c): each takes
 * the parsed options and returns the process's exit status (0 done, 1
 * failed with a message on stderr, 2 a usage error).
 */
#ifndef CG_TOOLS_H
#define CG_TOOLS_H

#include "daemon.h"

/* `cellgated dump`: the store of --data/--store to --out (default stdout). */
int tool_dump(const struct daemon_config *cfg);

/* `cellgated load --in FILE`: into a new store (--data DIR whose
 * signing.key is the original's, or an empty --store database). */
int tool_load(const struct daemon_config *cfg);

/* `cellgated migrate --from-data DIR --to DSN`: copies the SQLite store of
 * DIR into the empty store DSN and verifies its audit chain. */
int tool_migrate(const struct daemon_config *cfg);

/*
 * `cellgated rekey --data DIR [--store DSN] [--commit]`: the signing key's
 * rotation (docs/operations.md, "High availability"). Without --commit it
 * creates DIR/signing.key.next (once) and prints its public key, for the
 * agents to pin beside the current one; with --commit it changes the
 * store's recorded public key from DIR/signing.key's to the new key's
 * (audited "meta.set") and makes the new key DIR/signing.key (the old one
 * becomes DIR/signing.key.old).
 */
int tool_rekey(const struct daemon_config *cfg);

#endif /* CG_TOOLS_H */
