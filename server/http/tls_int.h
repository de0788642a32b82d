/* SPDX-License-Identifier: MIT */
/*
 * tls_int.h: private to tls.c (credentials, reloads, handshakes, metrics)
 * and tls_peer.c (client certificates): the structures behind tls.h.
 */
#ifndef CG_TLS_INT_H
#define CG_TLS_INT_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdint.h>

#include "tls.h"

/* Most certificates of the server's chain, and of a client's. */
#define TLS_CHAIN_MAX 8

/* One snapshot of the credentials; immutable once current, freed when the
 * last holder (t->cur, a connection) lets go. */
struct tls_creds {
    unsigned refs; /* under tls.mu */
    uint64_t gen;  /* 1 at start, +1 per successful reload */
    gnutls_pcert_st pcerts[TLS_CHAIN_MAX];
    unsigned npcerts;                   /* initialised entries of pcerts */
    gnutls_privkey_t key;               /* owned */
    gnutls_x509_trust_list_t client_ca; /* owned; NULL without --tls-client-ca */
    int64_t cert_not_after;             /* the server certificate's notAfter, Unix s */
    int64_t ca_not_after;               /* the earliest client CA's notAfter; 0: none */
};

struct tls {
    struct tls_config cfg; /* paths borrowed (tls.h) */
    char *priorities;      /* owned */
    char *client_ca_pem;   /* owned; as loaded at start; NULL: none */
    pthread_mutex_t mu;    /* cur, gen, the counters, every refs */
    struct tls_creds *cur; /* current; one reference */
    uint64_t gen;          /* of the newest credentials */
    uint64_t reloads_ok;   /* SIGHUP reloads that swapped the credentials */
    uint64_t reloads_bad;  /* ... that kept the old ones */
    uint64_t hs_tls12;     /* finished handshakes by version */
    uint64_t hs_tls13;
    uint64_t hs_failed;     /* connections closed before their handshake finished */
    uint64_t peers_refused; /* client certificates refused (once per verdict) */
};

struct tls_conn {
    struct tls *tls;
    struct tls_creds *creds; /* the handshake's credentials (a reference); NULL before */
    int finished;            /* the handshake finished */
    uint64_t verdict_gen;    /* credentials generation of the verdict; 0: none yet */
    enum tls_peer verdict;
    struct tls_agent agent; /* TLS_PEER_AGENT */
    char why[200];          /* TLS_PEER_REFUSED */
};

/* The current credentials, with a reference the caller gives back with
 * tls_creds_put(). Never NULL. */
struct tls_creds *tls_creds_get(struct tls *t);

/* Gives back a reference; the last frees c. NULL is a no-op. */
void tls_creds_put(struct tls *t, struct tls_creds *c);

/* Counts a refused client certificate. */
void tls_count_refused(struct tls *t);

#endif /* CG_TLS_INT_H */
