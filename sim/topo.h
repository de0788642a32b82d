/* SPDX-License-Identifier: MIT */
/*
 * topo.h - the simulated fleet's topology: regions, zones, cells and the
 * number of hosts in each cell, from flags (--regions/--zones/--cells/
 * --hosts) or from a JSON file (docs/sim.md "Topology file").
 *
 * Pure: no I/O except topo_load() reading the file; no global state.
 */
#ifndef CG_SIM_TOPO_H
#define CG_SIM_TOPO_H

#include <stddef.h>

#define TOPO_NAME_MAX  64
#define TOPO_MAX_CELLS 100000
#define TOPO_MAX_HOSTS 1000000 /* per fleet */

/* One cell of the fleet. Plain value. */
struct topo_cell {
    char id[TOPO_NAME_MAX];     /* e.g. "use1-az1-c01" */
    char region[TOPO_NAME_MAX]; /* e.g. "us-east-1" */
    char zone[TOPO_NAME_MAX];   /* e.g. "use1-az1" */
    unsigned hosts;             /* simulated hosts in this cell, >= 1 */
};

/* The whole fleet. Owns 'cells' (free with topo_free()). */
struct topo {
    struct topo_cell *cells; /* owned array of ncells */
    size_t ncells;
    size_t nhosts; /* sum of cells[i].hosts */
};

/*
 * Builds the regular topology of the flags: 'regions' regions (named from a
 * fixed list: us-east-1, eu-west-1, ap-southeast-2, ... then r<N>), each
 * with 'zones' zones ("<short>-az<k>"), each with 'cells' cells
 * ("<zone>-c<NN>"), each with 'hosts' hosts. Every count must be >= 1 and
 * the fleet at most TOPO_MAX_CELLS cells and TOPO_MAX_HOSTS hosts.
 * Returns 0, or -1 with a message in msg (msglen bytes).
 */
int topo_from_counts(unsigned regions, unsigned zones, unsigned cells, unsigned hosts,
                     struct topo *out, char *msg, size_t msglen);

/*
 * Parses a topology file's text: {"hosts_per_cell": N (optional, default
 * 'default_hosts'), "cells": [{"id","region","zone","hosts"?}, ...]}.
 * Names follow the server's name rule; cell ids are unique. Every problem
 * is an error with the JSON Pointer of the field. Returns 0 or -1 (msg).
 */
int topo_parse(const char *text, size_t len, unsigned default_hosts, struct topo *out, char *msg,
               size_t msglen);

/* Reads 'path' (at most 16 MiB) and parses it with topo_parse(). */
int topo_load(const char *path, unsigned default_hosts, struct topo *out, char *msg, size_t msglen);

/* Number of distinct regions / zones (a zone is counted per region). */
size_t topo_count_regions(const struct topo *t);
size_t topo_count_zones(const struct topo *t);

/* Frees the cells and zeroes 't'. NULL-safe. */
void topo_free(struct topo *t);

#endif /* CG_SIM_TOPO_H */
