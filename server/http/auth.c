/* SPDX-License-Identifier: MIT */
/* auth.c: bearer-token authentication and its cache; see auth.h. */
#include "auth.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "util.h"

_Static_assert(AUTH_MEMO_KEY_BYTES == crypto_shorthash_KEYBYTES, "the memo key is SipHash's");
_Static_assert(sizeof(((struct principal *)0)->configs) == STORE_TOKEN_CONFIGS_MAX,
               "a principal holds a token's whole config scope");

struct cache_slot {
    char hash[65];
    uint64_t epoch; /* the cache's epoch when it was filled: older ones are empty */
    int64_t expires_mono;
    struct principal who;
};

struct auth_cache {
    pthread_mutex_t mu;
    uint64_t epoch; /* bumped by every clear: a lookup older than it is not cached, and
                       a slot filled before it is empty */
    size_t cap;
    int64_t ttl_ms;
    struct cache_slot *slots; /* direct-mapped by hash prefix */
};

struct auth_cache *auth_cache_new(size_t cap, int64_t ttl_ms)
{
    struct auth_cache *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->cap = cap ? cap : 4096;
    c->ttl_ms = ttl_ms;
    c->slots = calloc(c->cap, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void auth_cache_free(struct auth_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c->slots);
    free(c);
}

void auth_cache_clear(struct auth_cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->epoch++; /* empties every slot at once, without touching them */
    pthread_mutex_unlock(&c->mu);
}

uint64_t auth_cache_epoch(struct auth_cache *c)
{
    uint64_t e;

    if (!c)
        return 0;
    pthread_mutex_lock(&c->mu);
    e = c->epoch;
    pthread_mutex_unlock(&c->mu);
    return e;
}

/* Decodes the first 8 bytes of a hex hash (it is always valid hex here). */
static void cg_hex_decode_prefix(const char *hash, unsigned char out[8])
{
    char tmp[17];

    memcpy(tmp, hash, 16);
    tmp[16] = '\0';
    if (cg_hex_decode(tmp, out, 8) < 0)
        memset(out, 0, 8);
}

static size_t slot_of(const struct auth_cache *c, const char *hash)
{
    unsigned char b[8];

    cg_hex_decode_prefix(hash, b);
    return (size_t)((uint64_t)b[0] << 56 | (uint64_t)b[1] << 48 | (uint64_t)b[2] << 40 |
                    (uint64_t)b[3] << 32 | (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 |
                    (uint64_t)b[6] << 8 | b[7]) %
           c->cap;
}

int auth_cache_get(struct auth_cache *c, const char *hash, struct principal *who)
{
    struct cache_slot *s;
    int hit = 0;

    if (!c)
        return 0;
    pthread_mutex_lock(&c->mu);
    s = &c->slots[slot_of(c, hash)];
    /* an expired token is never served: the store lookup says when it expired */
    if (s->hash[0] && s->epoch == c->epoch && sodium_memcmp(s->hash, hash, 64) == 0 &&
        s->expires_mono > cg_mono_ms() &&
        (s->who.expires_ms == 0 || s->who.expires_ms > cg_now_ms())) {
        *who = s->who;
        hit = 1;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void auth_cache_put(struct auth_cache *c, const char *hash, const struct principal *who,
                    uint64_t epoch)
{
    struct cache_slot *s;

    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    if (epoch != c->epoch) {
        /* tokens changed (a revoke) since this lookup began: the revoke wins */
        pthread_mutex_unlock(&c->mu);
        return;
    }
    s = &c->slots[slot_of(c, hash)];
    memcpy(s->hash, hash, 65);
    s->epoch = c->epoch;
    s->expires_mono = cg_mono_ms() + c->ttl_ms;
    s->who = *who;
    pthread_mutex_unlock(&c->mu);
}

/* The token of "Bearer <token>" (spaces around it allowed): its start
 * and length, or NULL when the header is not one of ours. */
static const char *bearer_token(const char *authorization, size_t *len)
{
    const char *tok;
    size_t n;

    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    n = strlen(tok);
    while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
        n--;
    if (n != AUTH_TOKEN_LEN || strncmp(tok, "cg_", 3) != 0)
        return NULL;
    *len = n;
    return tok;
}

int auth_check(struct store *st, struct auth_cache *cache, const char *authorization,
               struct principal *who, int64_t *expired_ms)
{
    char hash[65];
    size_t len;
    const char *tok = bearer_token(authorization, &len);

    memset(who, 0, sizeof *who);
    if (expired_ms)
        *expired_ms = 0;
    if (!tok)
        return -1;
    cg_sha256_hex(tok, len, hash);
    return auth_check_hash(st, cache, hash, who, expired_ms);
}

int auth_check_memo(struct store *st, struct auth_cache *cache, const char *authorization,
                    struct principal *who, int64_t *expired_ms, const unsigned char *key,
                    struct auth_memo *memo)
{
    unsigned char tag[crypto_shorthash_BYTES];
    uint64_t t;
    size_t len;
    const char *tok = bearer_token(authorization, &len);

    if (!tok || !memo || !key)
        return auth_check(st, cache, authorization, who, expired_ms);
    crypto_shorthash(tag, (const unsigned char *)tok, len, key);
    memcpy(&t, tag, sizeof t);
    if (!memo->hash[0] || memo->tag != t) {
        cg_sha256_hex(tok, len, memo->hash);
        memo->tag = t;
    }
    return auth_check_hash(st, cache, memo->hash, who, expired_ms);
}

int auth_check_hash(struct store *st, struct auth_cache *cache, const char *hash,
                    struct principal *who, int64_t *expired_ms)
{
    struct store_token t;
    char msg[STORE_MSG_MAX];
    uint64_t epoch;
    int rc;

    memset(who, 0, sizeof *who);
    if (expired_ms)
        *expired_ms = 0;
    if (!hash || strlen(hash) != 64 || strspn(hash, "0123456789abcdef") != 64)
        return -1;
    if (auth_cache_get(cache, hash, who))
        return 0;
    epoch = auth_cache_epoch(cache); /* before the lookup: see auth_cache_put() */
    rc = store_token_find(st, hash, &t, msg);
    if (rc == CG_ERR_NOTFOUND)
        return -1;
    if (rc != CG_OK)
        return -2;
    /* The lookup was by hash; compare again in constant time. */
    if (sodium_memcmp(t.hash, hash, 64) != 0 || t.revoked_ms != 0)
        return -1;
    if (t.expires_ms != 0 && t.expires_ms <= cg_now_ms()) {
        if (expired_ms)
            *expired_ms = t.expires_ms;
        return -3;
    }
    who->role = role_parse(t.role);
    if (who->role == ROLE_NONE)
        return -1;
    who->token_id = t.id;
    cg_strlcpy(who->name, t.name, sizeof who->name);
    cg_strlcpy(who->cell, t.cell, sizeof who->cell);
    who->expires_ms = t.expires_ms;
    cg_strlcpy(who->configs, t.configs, sizeof who->configs);
    snprintf(who->actor, sizeof who->actor, "token:%s", t.name);
    auth_cache_put(cache, hash, who, epoch);
    return 0;
}

int auth_allow(const struct principal *who, enum role min_role, unsigned flags)
{
    if (flags & AUTH_PUBLIC)
        return 0;
    if (who->role == ROLE_AGENT)
        return (flags & AUTH_AGENT_OK) ? 0 : -1;
    if (who->role == ROLE_NONE)
        return -1;
    return who->role >= min_role ? 0 : -1;
}
