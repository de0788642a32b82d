/* SPDX-License-Identifier: MIT */
/*
 * sched.c - when the agent's loop next polls and next reports
 * (docs/agent.md "Traffic discipline").
 *
 * Each kind of attempt keeps its own next time. The loop used to sleep
 * min(backoff, time to the next report) and then poll whenever it woke,
 * so a report every interval also restarted the poll: the real backoff
 * ceiling was the report interval, while the log said "retrying in
 * 51352 ms" (finding 8, "The agent storms sooner than it says"). Here a
 * wake-up for a report starts only the report; the poll waits for its own
 * time, which is exactly the delay the loop logged.
 *
 * No clock is read here: time is a parameter, randomness an injectable
 * struct cg_rng, so tests/unit/test_agent_sched.c runs a fleet's minutes
 * in microseconds.
 */
#include <string.h>

#include "agent.h"

void sched_init(struct agent_sched *s, int64_t now_ms, int64_t interval_ms, int once,
                int64_t base_ms, int64_t cap_ms, const struct cg_rng *rng)
{
    struct cg_backoff_config bc;

    memset(s, 0, sizeof *s);
    if (rng) {
        s->rng = *rng;
    }
    cg_backoff_config_default(&bc);
    bc.base_ms = base_ms;
    bc.cap_ms = cap_ms;
    cg_backoff_init(&s->report_bo, &bc, &s->rng);
    s->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    s->next_poll_ms = now_ms;
    /* the first report after a random part of the interval spreads a
     * fleet started together; --once reports at once */
    s->next_report_ms = now_ms + (once ? 0 : cg_jitter(s->interval_ms, 0.5, 1.0, &s->rng));
}

int sched_poll_due(const struct agent_sched *s, int64_t now_ms)
{
    return now_ms >= s->next_poll_ms;
}

int sched_report_due(const struct agent_sched *s, int64_t now_ms)
{
    return now_ms >= s->next_report_ms;
}

void sched_poll_done(struct agent_sched *s, int64_t now_ms, int64_t delay_ms)
{
    s->next_poll_ms = now_ms + (delay_ms > 0 ? delay_ms : 0);
}

int64_t sched_report_done(struct agent_sched *s, int64_t now_ms, int ok)
{
    int64_t delay = cg_jitter(s->interval_ms, 0.8, 1.2, &s->rng);

    if (ok) {
        cg_backoff_success(&s->report_bo);
    } else {
        /* never sooner than the regular interval; longer while the server
         * keeps failing, so a fleet does not hammer it with reports */
        int64_t bo = cg_backoff_next(&s->report_bo, 0);
        if (bo > delay) {
            delay = bo;
        }
    }
    s->next_report_ms = now_ms + delay;
    return delay;
}

int64_t sched_sleep_ms(const struct agent_sched *s, int64_t now_ms)
{
    int64_t next = s->next_poll_ms < s->next_report_ms ? s->next_poll_ms : s->next_report_ms;

    return next > now_ms ? next - now_ms : 0;
}

int sched_long_poll_s(const struct agent_sched *s, int64_t now_ms, int64_t wait_ms)
{
    int64_t until_report = s->next_report_ms - now_ms;

    if (wait_ms > until_report) {
        wait_ms = until_report;
    }
    if (wait_ms < 1000) {
        return 0;
    }
    return (int)(wait_ms / 1000);
}
