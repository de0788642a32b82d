/* SPDX-License-Identifier: MIT */
/*
 * rollout_fmt.h - human output for rollouts, plan previews and the live
 * progress of `cellgate rollout watch`. Pure: every function reads a
 * struct cg_obj (borrowed from a result) and writes text; nothing here
 * talks to the server, so tests/unit/test_cli_rollout.c drives them with
 * fixed JSON.
 *
 * Step numbers are shown from 1 (steps[i].step); the API's "step" of a
 * rollout and of its events is the 0-based index, converted here. Every
 * string from the server is sanitized (cli_sanitize) before it is written.
 */
#ifndef CG_CLI_ROLLOUT_FMT_H
#define CG_CLI_ROLLOUT_FMT_H

#include <cellgate/cellgate.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Width of the progress bars (characters between the brackets). */
#define CLI_BAR_WIDTH 20

/* Events shown by `rollout status` (the newest ones). */
#define CLI_STATUS_EVENTS 10

/* True for the states a rollout ends in: completed, rolled_back, halted,
 * aborted. */
bool cli_rollout_ended(const char *state);

/* Exit code of `rollout watch` for an ended state: CLI_EXIT_OK for
 * completed, CLI_EXIT_FAIL for the others. */
int cli_rollout_exit(const char *state);

/* "0s", "45s", "2m05s", "1h02m", "3d04h"; a negative value gives "-". */
const char *cli_fmt_duration(int64_t seconds, char *buf, size_t size);

/* "[#####---------------]": 'frac' (clamped to 0..1) of 'width' filled. */
const char *cli_fmt_bar(double frac, int width, char *buf, size_t size);

/* A numeric field for a table: integral values without a fraction
 * ("300"), others with up to 4 significant digits ("0.05", "1.2e-05"),
 * missing or null as "-", strings as they are. */
const char *cli_fmt_value(const struct cg_obj *o, const char *field, char *buf, size_t size);

/* The strings of an array field joined with ',': at most 'max' of them,
 * then "+N" for the rest. "" when empty. */
const char *cli_fmt_list(const struct cg_obj *o, const char *field, size_t max, char *buf,
                         size_t size);

/* A step's "zones" array as "region/zone,..." (at most 'max', then +N). */
const char *cli_fmt_zones(const struct cg_obj *step, size_t max, char *buf, size_t size);

/* What step i (0-based) of a rollout status is: "done", "current",
 * "approval" (waits for one), "paused", "rolling back", "pending", or, for
 * the step an ended rollout stopped at, its state ("halted", "aborted",
 * "rolled_back"); later steps of such a rollout are "not run". */
const char *cli_step_mark(const struct cg_obj *st, size_t i);

/* "rollout 7: cfg 1 -> 2 (forward, plan fast): running, step 1/3 (bake)";
 * version 0 shows as "none". Not sanitized (print it with a sanitizing
 * helper). */
const char *cli_fmt_rollout_header(const struct cg_obj *st, char *buf, size_t size);

/* "running, step 1/3 (bake)", or the state alone once it ended. */
const char *cli_fmt_rollout_state(const struct cg_obj *st, char *buf, size_t size);

/* One event as "kind: step N (wave), version V, cells a,b, ... by X,
 * reason: R" (fields the event does not have are left out). */
const char *cli_fmt_event(const struct cg_obj *ev, char *buf, size_t size);

/*
 * The progress line of step i of a rollout status:
 *   "step 2/3 rest (1/2)  [#####-----]  current  hosts 1/2  bake 12s/60s
 *    requests 300/100  gates inconclusive: convergence"
 * The figures come from the evaluation when it is about this step; other
 * steps show their cell count. Sanitized; no newline.
 */
const char *cli_fmt_step_line(const struct cg_obj *st, size_t i, char *buf, size_t size);

/* The table of gates of an evaluation (GATE, WAVE, BASELINE, THRESHOLD,
 * TEST, VERDICT), read from its "gates" (or "records") array; verdicts in
 * colour when 'color' (cli_color_of()). */
void cli_print_gates(FILE *f, const struct cg_obj *eval, bool color);

/* `rollout status`: header, one row per step, the latest evaluation with
 * its gates, then the newest 'max_events' events. 'color': the STATE and
 * VERDICT columns in colour. */
void cli_print_rollout(FILE *f, const struct cg_obj *st, size_t max_events, bool color);

/* One frame of `rollout watch` on a terminal: header, one progress line
 * per step, the gates of the current evaluation, the newest events.
 * Lines are cut at 'cols' characters (0 = no limit) so that the frame can
 * be redrawn in place. Returns the number of lines written. */
int cli_print_watch_frame(FILE *f, const struct cg_obj *st, int cols);

/* `plan preview`: the fleet, then per step its wave, cells, regions,
 * zones, bake, min_requests, approval and constraint, then the notes. */
void cli_print_preview(FILE *f, const char *plan, const struct cg_obj *pv);

#endif /* CG_CLI_ROLLOUT_FMT_H */
