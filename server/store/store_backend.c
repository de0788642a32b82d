/* SPDX-License-Identifier: MIT */
/* store_backend.c: what every store backend shares; see store_backend.h. */
#include "store_backend.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "util.h"

#define SET_MSG(msg, ...)                                                                          \
    do {                                                                                           \
        if (msg)                                                                                   \
            snprintf((msg), STORE_MSG_MAX, __VA_ARGS__);                                           \
    } while (0)

int store_check_actor(const struct store_actor *a, char *msg)
{
    if (!a || !a->actor || !*a->actor) {
        SET_MSG(msg, "an actor is required");
        return CG_ERR_INVALID;
    }
    if (strlen(a->actor) >= STORE_NAME_MAX) {
        SET_MSG(msg, "actor name longer than %d characters", STORE_NAME_MAX - 1);
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

int store_check_name(const char *what, const char *name, char *msg)
{
    if (!name || !cg_valid_name(name)) {
        SET_MSG(msg, "invalid %s name '%.64s'", what, name ? name : "(null)");
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

char *store_json_take(json_t *v)
{
    char *s = v ? cg_json_dump(v) : NULL;

    json_decref(v);
    return s;
}

int store_summary_fail(char *msg)
{
    SET_MSG(msg, "cannot encode the audit summary (invalid UTF-8 or out of memory)");
    return CG_ERR_INVALID;
}

int store_parse_labels(const char *text, json_t **out, char *msg)
{
    char err[128];
    json_t *v = NULL;
    const char *key;
    json_t *val;

    if (!text || !*text) {
        *out = json_object();
        return *out ? CG_OK : CG_ERR_NOMEM;
    }
    if (cg_json_parse(text, strlen(text), STORE_LABELS_MAX, 4, &v, err, sizeof err) != CG_JSON_OK) {
        SET_MSG(msg, "cell labels: %s", err);
        return CG_ERR_INVALID;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        SET_MSG(msg, "cell labels must be a JSON object");
        return CG_ERR_INVALID;
    }
    json_object_foreach(v, key, val)
    {
        if (!json_is_string(val)) {
            SET_MSG(msg, "cell label '%.64s' must be a string", key);
            json_decref(v);
            return CG_ERR_INVALID;
        }
    }
    *out = v;
    return CG_OK;
}

int store_check_lease(const char *name, const char *holder, int64_t ttl_ms, char *msg)
{
    if (!name || !*name || strlen(name) >= STORE_NAME_MAX || !holder || !*holder ||
        strlen(holder) >= STORE_NAME_MAX) {
        SET_MSG(msg, "lease: need a name and a holder of 1..%d bytes", STORE_NAME_MAX - 1);
        return CG_ERR_INVALID;
    }
    if (ttl_ms >= 0 && (ttl_ms < 1 || ttl_ms > 3600000)) {
        SET_MSG(msg, "lease: ttl_ms must be 1..3600000");
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

char *store_lease_summary(const char *holder, int64_t term, int64_t ttl_ms)
{
    json_t *o = json_pack("{s:s, s:I}", "holder", holder, "term", (json_int_t)term);

    if (o && ttl_ms > 0)
        json_object_set_new(o, "ttl_ms", json_integer(ttl_ms));
    return store_json_take(o);
}

int store_check_meta(const char *key, const char *value, const char *out, size_t outlen, char *msg)
{
    if (!key || !*key || strlen(key) >= STORE_NAME_MAX || !value || strlen(value) > 1023 || !out ||
        outlen == 0) {
        SET_MSG(msg, "meta: need a key of 1..%d bytes, a value of at most 1023 and out",
                STORE_NAME_MAX - 1);
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

int store_check_meta_replace(const char *key, const char *old_value, const char *new_value,
                             const struct store_actor *a, char *msg)
{
    int rc = store_check_actor(a, msg);

    if (rc != CG_OK)
        return rc;
    if (!key || !*key || strlen(key) >= STORE_NAME_MAX || !old_value || !*old_value ||
        strlen(old_value) > 1023 || !new_value || !*new_value || strlen(new_value) > 1023) {
        SET_MSG(msg, "meta: need a key of 1..%d bytes and values of 1..1023", STORE_NAME_MAX - 1);
        return CG_ERR_INVALID;
    }
    if (strcmp(old_value, new_value) == 0) {
        SET_MSG(msg, "meta %s: the new value is the old one", key);
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

char *store_meta_summary(const char *value)
{
    return store_json_take(json_pack("{s:s}", "value", value));
}

int store_check_claim(const char *host, const char *cell, const char *credential,
                      const struct store_host_claim *out, char *msg)
{
    if (!host || !*host || strlen(host) >= STORE_NAME_MAX || !cell || !*cell ||
        strlen(cell) >= STORE_NAME_MAX || !credential || !*credential ||
        strlen(credential) >= STORE_NAME_MAX || !out) {
        SET_MSG(msg, "host claim: need a host, a cell and a credential of 1..%d bytes",
                STORE_NAME_MAX - 1);
        return CG_ERR_INVALID;
    }
    for (const char *p = host; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            SET_MSG(msg, "host claim: the host name holds a control character");
            return CG_ERR_INVALID;
        }
    return CG_OK;
}

int store_check_checkpoint(const struct cg_checkpoint *c, char *msg)
{
    return cg_checkpoint_check(c, msg, msg ? STORE_MSG_MAX : 0);
}

char *store_checkpoint_lost_summary(const struct cg_checkpoint *lost)
{
    return store_json_take(
        json_pack("{s:s,s:I}", "hash", lost->hash, "seq", (json_int_t)lost->seq));
}

char *store_checkpoint_head_summary(int64_t dropped, int64_t head_seq, const char *head_hash)
{
    return store_json_take(json_pack("{s:I,s:s,s:I}", "dropped", (json_int_t)dropped, "hash",
                                     head_hash, "seq", (json_int_t)head_seq));
}

char *store_policy_summary(const char *body)
{
    json_t *doc = body ? json_loads(body, 0, NULL) : json_null();

    if (!doc)
        return NULL;
    return store_json_take(json_pack("{s:o}", "policy", doc));
}

json_t *store_json_doc(const char *text)
{
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;

    return doc ? doc : json_null();
}

char *store_scope_summary(const char *body)
{
    return store_json_take(json_pack("{s:o}", "scope", store_json_doc(body)));
}

/* ---- Notification sinks ---- */

static int sink_events_ok(const char *ev)
{
    size_t n = 1, len = 0;

    if (!ev || !*ev)
        return 0;
    for (const char *p = ev; *p; p++) {
        if (*p == ',') {
            if (len == 0)
                return 0;
            n++;
            len = 0;
        } else if ((*p >= 'a' && *p <= 'z') || *p == '.' || *p == '_') {
            if (++len > 32)
                return 0;
        } else {
            return 0;
        }
    }
    return len > 0 && n <= 32;
}

int store_check_sink(const struct store_sink *s, char *msg)
{
    static const char *const formats[] = {"json", "slack", "grafana", "pagerduty"};
    int fmt_ok = 0;

    if (!s || !s->url || !s->events) {
        SET_MSG(msg, "sink: missing argument");
        return CG_ERR_INVALID;
    }
    if (store_check_name("sink", s->name, msg) != CG_OK)
        return CG_ERR_INVALID;
    if ((strncmp(s->url, "http://", 7) != 0 && strncmp(s->url, "https://", 8) != 0) ||
        strlen(s->url) > 2048 || strlen(s->url) < 9) {
        SET_MSG(msg, "sink: the url must be http:// or https:// (at most 2048 bytes)");
        return CG_ERR_INVALID;
    }
    for (const unsigned char *p = (const unsigned char *)s->url; *p; p++)
        if (*p <= ' ' || *p == 0x7f) {
            SET_MSG(msg, "sink: the url has a space or a control byte");
            return CG_ERR_INVALID;
        }
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        fmt_ok |= strcmp(s->format, formats[i]) == 0;
    if (!fmt_ok) {
        SET_MSG(msg, "sink: the format must be json, slack, grafana or pagerduty");
        return CG_ERR_INVALID;
    }
    if (!sink_events_ok(s->events)) {
        SET_MSG(msg, "sink: events must be 1..32 names joined by ','");
        return CG_ERR_INVALID;
    }
    if (s->config[0] && store_check_name("config", s->config, msg) != CG_OK)
        return CG_ERR_INVALID;
    if (s->secret && strlen(s->secret) > 1024) {
        SET_MSG(msg, "sink: the secret is longer than 1024 bytes");
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

char *store_sink_summary(const struct store_sink *s)
{
    char origin[300];
    const char *host = strstr(s->url, "://");
    size_t len = host ? strcspn(host + 3, "/?#") + (size_t)(host + 3 - s->url) : 0;

    if (len >= sizeof origin - 8)
        len = sizeof origin - 8;
    snprintf(origin, sizeof origin, "%.*s/...", (int)len, s->url);
    return store_json_take(json_pack("{s:s,s:s,s:s,s:b,s:s}", "config", s->config, "events",
                                     s->events, "format", s->format, "secret",
                                     s->secret && s->secret[0], "url", origin));
}

/* ---- Drills ---- */

static int drill_word(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n >= max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
            return 0;
    return 1;
}

int store_check_drill(const struct store_drill *d, char *msg)
{
    int rc = store_check_name("config", d->config, msg);

    if (rc != CG_OK)
        return rc;
    if (!drill_word(d->scenario, sizeof d->scenario) ||
        !drill_word(d->outcome, sizeof d->outcome)) {
        SET_MSG(msg, "a drill needs a scenario and an outcome (lowercase letters and '-')");
        return CG_ERR_INVALID;
    }
    if (d->plan[0] && (rc = store_check_name("plan", d->plan, msg)) != CG_OK)
        return rc;
    if (d->detail_json && strlen(d->detail_json) > 64 * 1024) {
        SET_MSG(msg, "a drill's detail is at most 64 KiB");
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

int store_check_drill_schedule(const struct store_drill_schedule *s, char *msg)
{
    int rc = store_check_name("config", s->config, msg);

    if (rc != CG_OK)
        return rc;
    if (s->plan[0] && (rc = store_check_name("plan", s->plan, msg)) != CG_OK)
        return rc;
    if (s->every_s != 0 && (s->every_s < 60 || s->every_s > 31536000)) {
        SET_MSG(msg, "a drill schedule's period is 0 (remove) or 60 s .. 365 days");
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

char *store_drill_summary(const struct store_drill *d)
{
    return store_json_take(json_pack("{s:s,s:s,s:s}", "scenario", d->scenario, "outcome",
                                     d->outcome, "plan", d->plan));
}

/* ---- The token lifecycle ---- */

int store_check_token_lifecycle(const struct store_token *t, char *msg)
{
    char prev[STORE_NAME_MAX] = "";
    size_t count = 0;
    const char *p;

    if (t->expires_ms < 0) {
        SET_MSG(msg, "token expiry must be 0 (never) or a time");
        return CG_ERR_INVALID;
    }
    if (!memchr(t->configs, '\0', sizeof t->configs)) {
        SET_MSG(msg, "token configs: longer than %d bytes", STORE_TOKEN_CONFIGS_MAX - 1);
        return CG_ERR_INVALID;
    }
    if (!t->configs[0])
        return CG_OK;
    if (strcmp(t->role, "deployer") != 0 && strcmp(t->role, "approver") != 0) {
        SET_MSG(msg, "only deployer and approver tokens can be scoped to configs");
        return CG_ERR_INVALID;
    }
    for (p = t->configs;; p++) {
        char name[STORE_NAME_MAX];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof name) {
            SET_MSG(msg, "token configs: an empty or too long name");
            return CG_ERR_INVALID;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        if (!cg_valid_name(name) || (count > 0 && strcmp(prev, name) >= 0)) {
            SET_MSG(msg, "token configs: '%.64s' is not a name in ascending order", name);
            return CG_ERR_INVALID;
        }
        if (++count > STORE_TOKEN_SCOPE_MAX) {
            SET_MSG(msg, "token configs: more than %d", STORE_TOKEN_SCOPE_MAX);
            return CG_ERR_INVALID;
        }
        memcpy(prev, name, len + 1);
        p += len;
        if (!*p)
            return CG_OK;
    }
}

/* configs "a,b" as the JSON array ["a","b"]; NULL when out of memory. */
static json_t *scope_array(const char *configs)
{
    json_t *arr = json_array();

    for (const char *p = configs; arr && *p;) {
        size_t len = strcspn(p, ",");
        if (json_array_append_new(arr, json_stringn(p, len)) != 0) {
            json_decref(arr);
            return NULL;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return arr;
}

char *store_token_create_summary(const struct store_token *t)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "name", t->name, "role", t->role, "cell", t->cell);

    if (o && t->expires_ms > 0 &&
        json_object_set_new(o, "expires_ms", json_integer((json_int_t)t->expires_ms)) != 0) {
        json_decref(o);
        return NULL;
    }
    if (o && t->configs[0]) {
        json_t *arr = scope_array(t->configs);
        if (!arr || json_object_set_new(o, "configs", arr) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return store_json_take(o);
}

char *store_token_rotate_summary(int64_t from, int64_t to, const char *name, int64_t old_expires_ms)
{
    return store_json_take(json_pack("{s:I, s:s, s:I, s:I}", "from", (json_int_t)from, "name", name,
                                     "old_expires_ms", (json_int_t)old_expires_ms, "to",
                                     (json_int_t)to));
}

int store_check_token_rotate(const struct store_token_rotate *r, char *msg)
{
    if (!r || r->id <= 0 || !r->hash || !cg_is_sha256_hex(r->hash) || r->old_expires_ms <= 0 ||
        r->expires_ms < 0) {
        SET_MSG(msg, "token_rotate: need a token id, the successor's hash (64 lowercase hex), "
                     "the old token's new expiry (> 0) and the successor's (>= 0)");
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

int store_check_rollout_assign(const struct store_rollout_update *u, char *msg)
{
    if (!u || u->id <= 0 || (u->ncells && (!u->cells || u->assign_version <= 0)) ||
        (u->nhosts && (!u->hosts || !u->host_cells || u->assign_version <= 0))) {
        SET_MSG(msg, "rollout update: bad arguments");
        return CG_ERR_INVALID;
    }
    for (size_t i = 0; i < u->ncells; i++)
        if (!u->cells[i]) {
            SET_MSG(msg, "rollout update: NULL cell");
            return CG_ERR_INVALID;
        }
    for (size_t i = 0; i < u->nhosts; i++)
        if (!u->hosts[i] || !cg_valid_name(u->hosts[i]) || !u->host_cells[i]) {
            SET_MSG(msg, "rollout update: host %zu needs a valid name and a cell", i);
            return CG_ERR_INVALID;
        }
    return CG_OK;
}

int store_check_token_touch(const struct store_token_use *uses, size_t n, char *msg)
{
    if (!uses || n == 0 || n > STORE_PAGE_MAX) {
        SET_MSG(msg, "token_touch: need 1..%d uses", STORE_PAGE_MAX);
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

/* 1 when s is 64 lowercase hex digits. */
static int is_hex64(const char *s)
{
    size_t i;

    for (i = 0; s && i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s && i == 64 && s[64] == '\0';
}

int store_check_ui_session_id(const char *id_hash, char *msg)
{
    if (!is_hex64(id_hash)) {
        SET_MSG(msg, "ui_session: the id hash must be 64 lowercase hex digits");
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

int store_check_ui_session(const struct store_ui_session *s, char *msg)
{
    if (!s || !is_hex64(s->id_hash) || !is_hex64(s->token_hash) || !is_hex64(s->csrf)) {
        SET_MSG(msg, "ui_session: id_hash, token_hash and csrf must be 64 lowercase hex digits");
        return CG_ERR_INVALID;
    }
    if (s->created_ms <= 0 || s->expires_ms <= s->created_ms || s->last_seen_ms < 0) {
        SET_MSG(msg, "ui_session: need 0 < created_ms < expires_ms");
        return CG_ERR_INVALID;
    }
    return CG_OK;
}

char *store_contract_summary(int64_t version, const char *contract_json, int forced)
{
    char sha[65];
    json_t *o;

    cg_sha256_hex(contract_json ? contract_json : "", contract_json ? strlen(contract_json) : 0,
                  sha);
    o = json_pack("{s:I,s:s}", "contract_version", (json_int_t)version, "contract_sha256", sha);
    if (o && forced >= 0 && json_object_set_new(o, "forced", json_boolean(forced)) != 0) {
        json_decref(o);
        o = NULL;
    }
    return store_json_take(o);
}
