/* SPDX-License-Identifier: MIT */
/*
 * log.c - cellgate-agent's log lines (agent_log(), declared in agent.h).
 * On its own in this file so that a test can define a quiet agent_log()
 * of its own in place of the library's.
 */
#include <stdarg.h>
#include <stdio.h>

#include "agent.h"
#include "util.h"

void agent_log(int min, int level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    char ts[32], line[2048];
    va_list ap;

    if (level < min) {
        return;
    }
    cg_time_format(cg_now_ms(), ts);
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s cellgate-agent %s: %s\n", ts, names[level & 3], line);
}
