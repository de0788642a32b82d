/* SPDX-License-Identifier: MIT */
/*
 * diff.h - unified line diff (Myers' O(ND) algorithm) for `cellgate diff`.
 *
 * Lines are compared byte for byte (a last line without '\n' differs from
 * the same line with one, and is marked "\ No newline at end of file").
 * Memory is O(D^2) for D changed lines; past CLI_DIFF_MAX_D edits the
 * changed middle is reported as one block replaced by another, which is
 * still a correct (if not minimal) diff.
 */
#ifndef CG_CLI_DIFF_H
#define CG_CLI_DIFF_H

#include <stddef.h>

#include "buf.h"

/* Edit distance beyond which the middle is replaced wholesale; bounds
 * memory to about 8 * CLI_DIFF_MAX_D^2 bytes. */
#define CLI_DIFF_MAX_D 1500

/*
 * Appends the unified diff of a (alen bytes) and b (blen bytes) to out,
 * with 'context' unchanged lines around each change and the labels in the
 * "---" / "+++" lines. Appends nothing when the texts are equal.
 * Returns the number of hunks (0 = equal), or -1 when out of memory.
 */
int cli_diff(const char *a, size_t alen, const char *b, size_t blen, int context,
             const char *label_a, const char *label_b, struct cg_buf *out);

#endif /* CG_CLI_DIFF_H */
