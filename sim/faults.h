/* SPDX-License-Identifier: MIT */
/*
 * faults.h - faults the simulator injects (docs/sim.md "Faults"), each
 * given as one --fault SPEC:
 *
 *   silent:FRACTION[@FROM[-TO]]         that share of hosts stops reporting
 *   reload-fail:FRACTION[:VERSION]      that share of hosts fails its reload
 *                                       hook (for every new version, or
 *                                       only for VERSION); it keeps its LKG
 *   latency:MS[@FROM[-TO]]              every request waits MS more
 *   partition:ZONE[@FROM[-TO]]          hosts of ZONE cannot reach the server
 *   errors:zone=Z:RATE[@FROM[-TO]]      hosts of zone Z (or cell=C, host=H)
 *                                       fail at least RATE (0..1) of their
 *                                       requests, whatever they run: a fault
 *                                       that is no change (ground truth for
 *                                       correlation, docs/correlation.md)
 *
 * FROM and TO are seconds since the simulator started (TO omitted: until
 * the end). Which hosts a fraction picks is decided by a hash of the host
 * index and the fault's position, so it is stable for a run and a seed.
 * A server restart needs no spec: hosts see refused connections and retry
 * with the agent's discipline (or naively with --naive-retries).
 *
 * Pure: no I/O, no clock (times are parameters), no globals.
 */
#ifndef CG_SIM_FAULTS_H
#define CG_SIM_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAULTS_MAX 16

enum fault_kind {
    FAULT_SILENT = 1,
    FAULT_RELOAD_FAIL = 2,
    FAULT_LATENCY = 3,
    FAULT_PARTITION = 4,
    FAULT_ERRORS = 5,
};

/* What an errors fault covers. */
enum fault_scope {
    FAULT_SCOPE_ZONE = 1,
    FAULT_SCOPE_CELL = 2,
    FAULT_SCOPE_HOST = 3,
};

struct fault {
    enum fault_kind kind;
    double fraction;        /* silent, reload-fail: share of hosts, 0..1 */
    int64_t version;        /* reload-fail: only this version (0 = any) */
    int64_t delay_ms;       /* latency */
    char zone[64];          /* partition: the zone; errors: the zone, cell or host name */
    enum fault_scope scope; /* errors */
    double rate;            /* errors: the error rate it raises hosts to, 0..1 */
    int64_t from_ms;        /* active from (ms since start) */
    int64_t to_ms;          /* active until (ms since start), INT64_MAX = end */
};

struct faults {
    struct fault f[FAULTS_MAX];
    size_t n;
    uint64_t seed; /* picks the hosts of fractions */
};

/* Parses one spec and appends it. Returns 0 or -1 (msg says why). */
int faults_add(struct faults *fs, const char *spec, char *msg, size_t msglen);

/* Writes a one-line description of fault i into out. */
void faults_describe(const struct faults *fs, size_t i, char *out, size_t outlen);

/* Is host 'host' (index) silent at t_ms (since start)? */
bool faults_silent(const struct faults *fs, uint64_t host, int64_t t_ms);

/* Does host 'host' fail its reload of 'version' at t_ms? */
bool faults_reload_fails(const struct faults *fs, uint64_t host, int64_t version, int64_t t_ms);

/* Extra delay (ms) for a request sent at t_ms. */
int64_t faults_latency(const struct faults *fs, int64_t t_ms);

/* Is 'zone' cut off from the server at t_ms? */
bool faults_partitioned(const struct faults *fs, const char *zone, int64_t t_ms);

/* The error rate the errors faults active at t_ms impose on a host of
 * 'zone' and 'cell' named 'host' (the highest of them), or -1 when none
 * applies. */
double faults_error_rate(const struct faults *fs, const char *zone, const char *cell,
                         const char *host, int64_t t_ms);

/* Reads one spec per line of the text 'text' (blank lines and lines
 * starting with '#' skipped) and adds each. Returns 0 or -1 (msg names the
 * line). */
int faults_add_lines(struct faults *fs, const char *text, char *msg, size_t msglen);

/* Stable pick of a share of hosts: true for about 'fraction' of all
 * (host, salt) pairs. Exposed for tests. */
bool faults_pick(uint64_t seed, uint64_t host, uint64_t salt, double fraction);

#endif /* CG_SIM_FAULTS_H */
