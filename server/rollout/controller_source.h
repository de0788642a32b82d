/* SPDX-License-Identifier: MIT */
/*
 * controller_source.h: a baking step's health from the plan's Prometheus
 * source instead of the agents' reports (docs/plans.md "Health from
 * Prometheus"). Private to the rollout room.
 *
 * bake_step() calls ctl_source_health() where it would sum the agents'
 * health windows; it never waits for the network: it reads the latest
 * answers of the controller's query worker (promsrc_worker.h) and queues
 * the queries that are due. Convergence and apply failures still come
 * from the agents.
 *
 * How the answers become gate inputs:
 * - "requests" and "errors": rounded counts in struct health_agg (errors
 *   capped at requests); when either query of a side has no usable answer,
 *   that side has neither (requests 0), so the error-rate and requests
 *   gates cannot pass on half the data;
 * - "latency_p50_ms" / "latency_p99_ms": struct gates_quantiles of the side
 *   (set = true, NaN when the query has no usable answer);
 * - any other query: the characteristic metric of that name as a gauge
 *   (n = 1, sum = value); absent when it has no usable answer;
 * - any query of a side that has no usable answer (not answered yet, an
 *   error, an answer too old) is a problem: the evaluation gets a "source"
 *   record that is INCONCLUSIVE, so it never passes, and its summary says
 *   which query failed and why (ctl_source_note()).
 */
#ifndef CG_CONTROLLER_SOURCE_H
#define CG_CONTROLLER_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "gates.h"
#include "reports.h"

struct controller;
struct rcache;
struct store_rollout;

/* An answer older than this many ms (plus twice the source's timeout) is
 * not used: the worker is behind. */
#define CTL_SOURCE_STALE_MS 30000

/*
 * Fills the health inputs of rollout r's baking step from its plan's
 * Prometheus source (rc->plan->source, which must be set): *wave and *base
 * (zeroed first), in->baseline_kind, in->wave_q and in->baseline_q. The
 * sides are rc->sets' wave, and its baseline (old-version cells over the
 * same window, or, on the last wave, the step's cells before the change:
 * evaluated at the step's start over a window as long as the bake so far).
 * Queues the queries that are due on c's worker (created on first use).
 *
 * @param now  the controller's clock (epoch ms): the evaluation instant
 * @param why  receives "" when every query needed has a usable answer, else
 *             one sentence naming the first failed query, its side and the
 *             reason, e.g. "query \"errors\" (wave): HTTP 503: ..." and
 *             " (+N more)" (whylen bytes; GATES_REASON_MAX is enough)
 *
 * Called on the tick with c->mu held; never blocks on the network.
 */
void ctl_source_health(struct controller *c, const struct store_rollout *r, struct rcache *rc,
                       int64_t now, struct gates_input *in, struct health_agg *wave,
                       struct health_agg *base, char *why, size_t whylen);

/*
 * Adds a health source's problem to an evaluation: when 'why' is non-empty,
 * appends the INCONCLUSIVE record {"gate": "source", "reason": why}; a PASS
 * becomes INCONCLUSIVE, and an INCONCLUSIVE result's summary becomes
 * "inconclusive: source: <why>" (a FAIL is kept as it is: failing on the
 * data that did arrive is safe). 'why' NULL or "": nothing changes.
 */
void ctl_source_note(struct gates_result *res, const char *why);

#endif /* CG_CONTROLLER_SOURCE_H */
