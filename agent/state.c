/* SPDX-License-Identifier: MIT */
/*
 * state.c - the agent's persisted state (DIR/state.json) and the
 * content-addressed copies of documents (DIR/blobs/<sha256>).
 *
 * state.json is always replaced atomically (tmp, fsync, rename, fsync of
 * the directory), so a reader sees the old or the new state, never a torn
 * one. A blob is written before the state references it and removed only
 * after no saved state references it, so every sha256 in a saved state
 * has its bytes on disk (unless someone deleted them: then the agent
 * falls back to the target file, see apply.c).
 *
 * Format (docs/agent.md):
 *   {"format":1,"configs":{"NAME":{"lkg_version":7,"lkg_generation":12,
 *     "lkg_sha256":"..","rejected_generation":11,"rejected_version":6,
 *     "rejected_reason":"contract_violation",
 *     "pending":{"version":8,"generation":13,"sha256":".."}}}}
 * rejected_version and rejected_reason came later and are optional on
 * reading (a missing field is 0 / ""), so the format number stays 1 and
 * an older agent reading the file ignores them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "json.h"
#include "util.h"

struct state_cfg *state_get(struct agent_state *s, const char *name, int create)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->cfgs[i].name, name) == 0) {
            return &s->cfgs[i];
        }
    }
    if (!create || s->n >= AGENT_MAX_CONFIGS || !cg_valid_name(name)) {
        return NULL;
    }
    memset(&s->cfgs[s->n], 0, sizeof s->cfgs[0]);
    cg_strlcpy(s->cfgs[s->n].name, name, sizeof s->cfgs[0].name);
    return &s->cfgs[s->n++];
}

/* A refusal reason as the state keeps it: 1..31 of [a-z0-9_]. */
static int good_reason(const char *r)
{
    size_t n = strlen(r);

    if (n == 0 || n > 31) {
        return 0;
    }
    return strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

int state_refuse(struct state_cfg *c, int64_t version, int64_t generation, const char *reason)
{
    const char *r = reason && good_reason(reason) ? reason : "";

    if (generation <= 0 || generation < c->rejected_generation) {
        return 0;
    }
    if (generation == c->rejected_generation) {
        /* the same refusal again: only fill in what was not known */
        int changed = 0;

        if (!c->rejected_reason[0] && r[0]) {
            cg_strlcpy(c->rejected_reason, r, sizeof c->rejected_reason);
            changed = 1;
        }
        if (c->rejected_version == 0 && version > 0) {
            c->rejected_version = version;
            changed = 1;
        }
        return changed;
    }
    c->rejected_generation = generation;
    c->rejected_version = version > 0 ? version : 0;
    cg_strlcpy(c->rejected_reason, r, sizeof c->rejected_reason);
    return 1;
}

char *state_to_text(const struct agent_state *s)
{
    json_t *root = json_object(), *cfgs = json_object();
    char *text = NULL;

    if (!root || !cfgs) {
        goto out;
    }
    for (size_t i = 0; i < s->n; i++) {
        const struct state_cfg *c = &s->cfgs[i];
        json_t *o =
            json_pack("{s:I,s:I,s:s,s:I}", "lkg_version", (json_int_t)c->lkg_version,
                      "lkg_generation", (json_int_t)c->lkg_generation, "lkg_sha256", c->lkg_sha,
                      "rejected_generation", (json_int_t)c->rejected_generation);
        if (!o) {
            goto out;
        }
        if (c->rejected_generation > 0) {
            json_object_set_new(o, "rejected_version", json_integer(c->rejected_version));
            json_object_set_new(o, "rejected_reason", json_string(c->rejected_reason));
        }
        if (c->p_generation > 0) {
            json_object_set_new(o, "pending",
                                json_pack("{s:I,s:I,s:s}", "version", (json_int_t)c->p_version,
                                          "generation", (json_int_t)c->p_generation, "sha256",
                                          c->p_sha));
        }
        if (json_object_set_new(cfgs, c->name, o) != 0) {
            goto out;
        }
    }
    if (json_object_set_new(root, "format", json_integer(AGENT_STATE_FORMAT)) != 0 ||
        json_object_set(root, "configs", cfgs) != 0) {
        goto out;
    }
    text = cg_json_dump(root);
out:
    json_decref(cfgs);
    json_decref(root);
    return text;
}

static int bad_int(const json_t *o, const char *k, int64_t *out)
{
    const json_t *v = json_object_get(o, k);

    if (!v) {
        *out = 0;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return 1;
    }
    *out = json_integer_value(v);
    return 0;
}

static int sha_field(const json_t *o, const char *k, char out[65])
{
    const json_t *v = json_object_get(o, k);
    const char *s;

    out[0] = '\0';
    if (!v) {
        return 0;
    }
    if (!json_is_string(v)) {
        return 1;
    }
    s = json_string_value(v);
    if (s[0] && !cg_is_sha256_hex(s)) {
        return 1;
    }
    cg_strlcpy(out, s, 65);
    return 0;
}

/* An optional refusal reason: absent or "" is fine, else good_reason(). */
static int reason_field(const json_t *o, const char *k, char out[32])
{
    const json_t *v = json_object_get(o, k);
    const char *r;

    out[0] = '\0';
    if (!v) {
        return 0;
    }
    if (!json_is_string(v)) {
        return 1;
    }
    r = json_string_value(v);
    if (r[0] && !good_reason(r)) {
        return 1;
    }
    cg_strlcpy(out, r, 32);
    return 0;
}

int state_from_text(struct agent_state *s, const char *text, size_t len, char *msg, size_t msglen)
{
    json_t *root = NULL;
    const json_t *cfgs, *o;
    const char *name;
    char jmsg[160];

    memset(s, 0, sizeof *s);
    if (cg_json_parse(text, len, AGENT_STATE_MAX, 8, &root, jmsg, sizeof jmsg) != CG_JSON_OK) {
        snprintf(msg, msglen, "not JSON: %s", jmsg);
        return -1;
    }
    if (!json_is_object(root) ||
        json_integer_value(json_object_get(root, "format")) != AGENT_STATE_FORMAT) {
        snprintf(msg, msglen, "not a format %d state file", AGENT_STATE_FORMAT);
        json_decref(root);
        return -1;
    }
    cfgs = json_object_get(root, "configs");
    if (!json_is_object(cfgs)) {
        snprintf(msg, msglen, "\"configs\" is not an object");
        json_decref(root);
        return -1;
    }
    json_object_foreach((json_t *)cfgs, name, o)
    {
        struct state_cfg *c = state_get(s, name, 1);
        const json_t *p;
        int bad = 0;

        if (!c || !json_is_object(o)) {
            snprintf(msg, msglen, "config entry '%.64s' is invalid", name);
            json_decref(root);
            memset(s, 0, sizeof *s);
            return -1;
        }
        bad |= bad_int(o, "lkg_version", &c->lkg_version);
        bad |= bad_int(o, "lkg_generation", &c->lkg_generation);
        bad |= sha_field(o, "lkg_sha256", c->lkg_sha);
        bad |= bad_int(o, "rejected_generation", &c->rejected_generation);
        bad |= bad_int(o, "rejected_version", &c->rejected_version);
        bad |= reason_field(o, "rejected_reason", c->rejected_reason);
        p = json_object_get(o, "pending");
        if (p) {
            bad |= !json_is_object(p);
            bad |= bad_int(p, "version", &c->p_version);
            bad |= bad_int(p, "generation", &c->p_generation);
            bad |= sha_field(p, "sha256", c->p_sha);
            bad |= c->p_generation > 0 && !c->p_sha[0];
        }
        if (bad) {
            snprintf(msg, msglen, "config entry '%.64s' has bad fields", name);
            json_decref(root);
            memset(s, 0, sizeof *s);
            return -1;
        }
    }
    json_decref(root);
    return 0;
}

static void join(char *out, size_t size, const char *dir, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

int state_load(const char *dir, struct agent_state *s, char *msg, size_t msglen)
{
    char path[AGENT_PATH_MAX + 32];
    size_t len;
    char *text;
    int rc;

    memset(s, 0, sizeof *s);
    join(path, sizeof path, dir, "state.json");
    text = cg_read_file(path, AGENT_STATE_MAX, &len);
    if (!text) {
        if (errno == ENOENT) {
            return 1;
        }
        snprintf(msg, msglen, "%s: %s", path, strerror(errno));
        return -1;
    }
    rc = state_from_text(s, text, len, msg, msglen);
    free(text);
    return rc;
}

int state_save(const char *dir, const struct agent_state *s, char *msg, size_t msglen)
{
    char path[AGENT_PATH_MAX + 32];
    char *text = state_to_text(s);

    if (!text) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    join(path, sizeof path, dir, "state.json");
    if (cg_write_file_atomic(path, text, strlen(text), 0600) != 0) {
        snprintf(msg, msglen, "cannot write %s: %s", path, strerror(errno));
        free(text);
        return -1;
    }
    free(text);
    return 0;
}

int blob_put(const char *dir, const char *sha, const void *bytes, size_t len, char *msg,
             size_t msglen)
{
    char path[AGENT_PATH_MAX + 128];
    struct stat st;

    if (!cg_is_sha256_hex(sha)) {
        snprintf(msg, msglen, "bad sha256");
        return -1;
    }
    join(path, sizeof path, dir, "blobs");
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(msg, msglen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/blobs/%s", dir, sha);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len) {
        size_t n;
        char *have = blob_get(dir, sha, len + 1, &n);
        if (have) {
            free(have);
            return 0; /* already there and intact */
        }
    }
    if (cg_write_file_atomic(path, bytes, len, 0600) != 0) {
        snprintf(msg, msglen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

char *blob_get(const char *dir, const char *sha, size_t max, size_t *len)
{
    char path[AGENT_PATH_MAX + 128], have[65];
    size_t n;
    char *b;

    if (!cg_is_sha256_hex(sha)) {
        return NULL;
    }
    snprintf(path, sizeof path, "%s/blobs/%s", dir, sha);
    b = cg_read_file(path, max, &n);
    if (!b) {
        return NULL;
    }
    cg_sha256_hex(b, n, have);
    if (strcmp(have, sha) != 0) {
        free(b);
        return NULL;
    }
    if (len) {
        *len = n;
    }
    return b;
}

void blob_gc(const char *dir, const struct agent_state *s)
{
    char path[AGENT_PATH_MAX + 128];
    struct dirent *de;
    DIR *d;

    snprintf(path, sizeof path, "%s/blobs", dir);
    d = opendir(path);
    if (!d) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        int keep = 0;

        if (de->d_name[0] == '.') {
            continue;
        }
        for (size_t i = 0; i < s->n && !keep; i++) {
            keep = strcmp(de->d_name, s->cfgs[i].lkg_sha) == 0 ||
                   strcmp(de->d_name, s->cfgs[i].p_sha) == 0;
        }
        if (!keep) {
            snprintf(path, sizeof path, "%s/blobs/%s", dir, de->d_name);
            unlink(path);
        }
    }
    closedir(d);
}
