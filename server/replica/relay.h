/* SPDX-License-Identifier: MIT */
/*
 * relay.h: the batch format of the report relay (relay.c), private to
 * server/replica/.
 *
 * A batch is lines "CELL<TAB>AT_MS<TAB>REPORT<LF>", REPORT the agent's
 * report as compact JSON (which holds no raw control characters), AT_MS
 * when the relaying replica received it. Cells are names (no tab).
 */
#ifndef CG_REPLICA_RELAY_H
#define CG_REPLICA_RELAY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Appends one report's line to b unless b would then exceed max bytes.
 * 1 appended, 0 it does not fit (b unchanged), -1 out of memory or a
 * report that cannot be serialised. */
int relay_encode(struct cg_buf *b, size_t max, const char *cell, int64_t at_ms,
                 const json_t *report);

/* Called for each line of a batch: the report is a new reference the
 * callee may keep (it decrefs what it does not). */
typedef void (*relay_line_fn)(void *ctx, const char *cell, int64_t at_ms, json_t *report);

/* Calls fn for every well-formed line of the batch (body, len) in order;
 * returns the number of malformed lines skipped. Bytes from the store are
 * not trusted: a line without its fields, a bad number, a cell that is
 * not a name or JSON that is not an object is skipped. */
size_t relay_decode(const void *body, size_t len, relay_line_fn fn, void *ctx);

#endif /* CG_REPLICA_RELAY_H */
