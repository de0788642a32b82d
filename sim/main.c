/* SPDX-License-Identifier: MIT */
/*
 * main.c - cellgate-sim: argv to options, then one run. Everything else
 * is in the cg_sim library (run.c: the option table, start-up, the loop's
 * periodic work, the exit report).
 */
#include "sim.h"

int main(int argc, char **argv)
{
    struct sim_options o;
    int rc;

    sim_options_defaults(&o);
    rc = sim_options_parse(argc, argv, &o);
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    return sim_run(&o);
}
