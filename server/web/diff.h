/* SPDX-License-Identifier: MIT */
/*
 * diff.h: a line diff of two texts (Myers' O((N+M)D) greedy algorithm,
 * "An O(ND) Difference Algorithm and Its Variations", 1986), for the
 * dashboard's version diff. Pure: no I/O, no global state.
 *
 * Lines end at '\n' (kept out of the line; a last line without one is a
 * line too). Common leading and trailing lines are taken off first; the
 * search then keeps only the diagonals it reached, O(D^2) integers, and
 * gives up past 'max_edits' changed lines (DIFF_TOO_DIFFERENT), so the
 * work and memory of one diff are bounded whatever the documents.
 */
#ifndef CG_DIFF_H
#define CG_DIFF_H

#include <stddef.h>

enum diff_kind { DIFF_SAME = 0, DIFF_DEL = 1, DIFF_INS = 2 };

/* One line of the diff: kept, only in a (deleted) or only in b (inserted).
 * 'text' points into a or b (borrowed), 'len' bytes without the '\n'. */
struct diff_line {
    enum diff_kind kind;
    const char *text;
    size_t len;
    size_t a_line; /* 1-based line number in a (0 for an insertion) */
    size_t b_line; /* 1-based line number in b (0 for a deletion) */
};

#define DIFF_OK             0
#define DIFF_TOO_DIFFERENT  (-1) /* more than max_edits lines changed */
#define DIFF_NOMEM          (-2)
#define DIFF_TOO_MANY_LINES (-3) /* a text has more than DIFF_MAX_LINES lines */

#define DIFF_MAX_LINES 200000
/* The most memory one diff's trace may take (4 (d + 1)^2 bytes for d
 * edits: about 2,900 edits); past it the texts are too different, whatever
 * max_edits says, so a request cannot make the server allocate more. */
#define DIFF_TRACE_MAX_BYTES (32u << 20)

/*
 * Diffs a (alen bytes) against b (blen bytes): *out gets every line of both
 * in order (same, deleted before inserted at each change), *n their count;
 * free *out with free(). Returns DIFF_OK, or an error (then *out NULL).
 */
int diff_lines(const char *a, size_t alen, const char *b, size_t blen, size_t max_edits,
               struct diff_line **out, size_t *n);

#endif /* CG_DIFF_H */
