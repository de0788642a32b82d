/* SPDX-License-Identifier: MIT */
/* peers.c: per-address connection counts and failed-authentication
 * budgets; see peers.h. */
#include "peers.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PEER_SLOTS 65536

struct slot {
    uint32_t conns;  /* open connections of the addresses in this slot */
    double tokens;   /* failed authentications left */
    int64_t last_ms; /* of the budget's last refill (0: full, never used) */
};

struct peers {
    pthread_mutex_t mu;
    struct peers_config cfg;
    struct peers_stats st;
    struct slot slots[PEER_SLOTS];
};

struct peers *peers_new(const struct peers_config *cfg)
{
    struct peers *p = calloc(1, sizeof *p);

    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    p->cfg = *cfg;
    if (p->cfg.fail_burst < 1)
        p->cfg.fail_burst = 1;
    return p;
}

void peers_free(struct peers *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* The slot of sa under p->mu, or NULL when sa is exempt or not IPv4. */
static struct slot *slot_of(struct peers *p, const struct sockaddr *sa)
{
    uint32_t a;

    if (!sa || sa->sa_family != AF_INET)
        return NULL;
    a = ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr);
    if (a == 0x7f000001u && !p->cfg.limit_localhost)
        return NULL;
    return &p->slots[(a * 2654435761u) >> 16];
}

int peers_accept(struct peers *p, const struct sockaddr *sa)
{
    struct slot *s;
    int ok = 1;

    if (!p || p->cfg.max_conns == 0)
        return 1;
    pthread_mutex_lock(&p->mu);
    s = slot_of(p, sa);
    if (s && s->conns >= p->cfg.max_conns) {
        ok = 0;
        p->st.conns_refused++;
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

void peers_opened(struct peers *p, const struct sockaddr *sa)
{
    struct slot *s;

    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    if ((s = slot_of(p, sa)))
        s->conns++;
    pthread_mutex_unlock(&p->mu);
}

void peers_closed(struct peers *p, const struct sockaddr *sa)
{
    struct slot *s;

    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    if ((s = slot_of(p, sa)) && s->conns > 0)
        s->conns--;
    pthread_mutex_unlock(&p->mu);
}

/* Refills s's budget to now_ms (under p->mu). */
static void refill(struct peers *p, struct slot *s, int64_t now_ms)
{
    if (s->last_ms == 0) {
        s->tokens = p->cfg.fail_burst;
        s->last_ms = now_ms;
        return;
    }
    s->tokens += (double)(now_ms - s->last_ms) * p->cfg.fail_rate / 1000.0;
    if (s->tokens > p->cfg.fail_burst)
        s->tokens = p->cfg.fail_burst;
    s->last_ms = now_ms;
}

int64_t peers_auth_wait(struct peers *p, const struct sockaddr *sa, int64_t now_ms)
{
    struct slot *s;
    int64_t wait = 0;

    if (!p || !(p->cfg.fail_rate > 0))
        return 0;
    pthread_mutex_lock(&p->mu);
    if ((s = slot_of(p, sa))) {
        refill(p, s, now_ms);
        if (s->tokens < 1) {
            wait = (int64_t)((1 - s->tokens) * 1000.0 / p->cfg.fail_rate) + 1;
            p->st.auth_blocked++;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return wait;
}

void peers_auth_failed(struct peers *p, const struct sockaddr *sa, int64_t now_ms)
{
    struct slot *s;

    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->st.auth_failures++;
    if (p->cfg.fail_rate > 0 && (s = slot_of(p, sa))) {
        refill(p, s, now_ms);
        s->tokens = s->tokens >= 1 ? s->tokens - 1 : 0;
    }
    pthread_mutex_unlock(&p->mu);
}

void peers_stats(struct peers *p, struct peers_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    pthread_mutex_unlock(&p->mu);
}
