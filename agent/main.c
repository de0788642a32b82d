/* SPDX-License-Identifier: MIT */
/*
 * main.c - cellgate-agent: argv to the configuration, then the agent.
 * Everything else is in the cg_agent library (loop.c: flags, signals,
 * start-up, the loop).
 */
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"

int main(int argc, char **argv)
{
    struct agent *a = calloc(1, sizeof *a);
    int once = 0, rc;

    if (!a) {
        fputs("cellgate-agent: out of memory\n", stderr);
        return 2;
    }
    rc = agent_options(a, argc, argv, &once);
    if (rc == 0) {
        rc = agent_serve(a, once);
    } else {
        rc = rc == 1 ? 0 : 2;
    }
    free(a);
    return rc;
}
