/* SPDX-License-Identifier: MIT */
/*
 * peers.h: what one client address may hold (docs/operations.md,
 * "Limits"): open connections per address, and a budget of failed
 * authentications per address, so one address can neither lock every
 * other client out by holding connections nor make the server look up
 * token after guessed token.
 *
 * 127.0.0.1 is exempt unless limit_localhost: it is a local reverse proxy
 * (which must limit per client itself), the simulator, or an operator on
 * the box. Addresses are IPv4 (the listener is). Counts live in a fixed,
 * direct-mapped table: two addresses that share a slot share its limits,
 * which is stricter, never laxer. Thread-safe.
 */
#ifndef CG_PEERS_H
#define CG_PEERS_H

#include <stdint.h>
#include <sys/socket.h>

struct peers;

struct peers_config {
    unsigned max_conns; /* open connections per address (0 = no limit) */
    double fail_rate;  /* failed authentications per second an address may keep up (0 = no limit) */
    double fail_burst; /* ... and in a burst (>= 1) */
    int limit_localhost; /* 1: 127.0.0.1 is limited too */
};

/* Counters for /metrics. */
struct peers_stats {
    uint64_t conns_refused; /* connections refused: the address held max_conns */
    uint64_t auth_failures; /* requests that failed authentication */
    uint64_t auth_blocked;  /* requests refused (429) for the address's failures */
};

/* A new table; NULL when out of memory. */
struct peers *peers_new(const struct peers_config *cfg);
void peers_free(struct peers *p);

/* Whether a new connection from sa may open: 1 yes, 0 no (counted). Does
 * not count the connection: peers_opened() does, once it exists, so I/O
 * threads accepting at the same moment may let max_conns + threads - 1 in
 * (never more: each thread checks and counts its connection in turn). */
int peers_accept(struct peers *p, const struct sockaddr *sa);

/* A connection from sa opened / closed. */
void peers_opened(struct peers *p, const struct sockaddr *sa);
void peers_closed(struct peers *p, const struct sockaddr *sa);

/* > 0: milliseconds until sa may try to authenticate again (its budget of
 * failures is spent; counted as blocked); 0: go ahead. */
int64_t peers_auth_wait(struct peers *p, const struct sockaddr *sa, int64_t now_ms);

/* A request from sa failed authentication: takes one from its budget. */
void peers_auth_failed(struct peers *p, const struct sockaddr *sa, int64_t now_ms);

/* A copy of the counters. */
void peers_stats(struct peers *p, struct peers_stats *out);

#endif /* CG_PEERS_H */
