/* SPDX-License-Identifier: MIT */
/*
 * apply.c - putting a verified, contract-checked document in place.
 *
 * Per new generation (called by the watcher, docs/agent.md "Apply"):
 *   1. check command on a candidate copy (non-zero exit: rejected, the
 *      generation recorded as refused);
 *   2. the bytes go to DIR/blobs/<sha256>; the state records "pending";
 *   3. PATH.tmp, fsync, rename over PATH, fsync of the directory;
 *   4. reload command (timeout; the process group is killed on timeout);
 *   5a. success: the state records the new last-known-good;
 *   5b. failure: the previous bytes go back (atomically), reload again,
 *       the generation is recorded as refused; outcome reload_failed.
 * A SIGKILL anywhere leaves PATH as the old or the new document (rename is
 * atomic) and the state either without or with "pending"; agent_recover()
 * finishes or undoes the apply on the next start.
 *
 * Every refusal for good is in the state (rejected_generation, _version,
 * _reason): the ones decided here when they happen, the ones the watcher
 * decides alone (a contract violation) by agent_keep_refusals() after
 * each poll cycle. agent_seed() hands them to the watcher at start, so a
 * refused generation is neither applied nor fetched again after a
 * restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "util.h"

extern char **environ;

/* ---- running hooks ------------------------------------------------------ */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int agent_run(const char *cmd, const char *arg, const char *const *env, int timeout_s)
{
    size_t nenv = 0, nextra = 0, i;
    char **envp, *script = NULL;
    pid_t pid;
    int status = 0;
    int64_t deadline;

    while (environ && environ[nenv]) {
        nenv++;
    }
    while (env && env[nextra]) {
        nextra++;
    }
    envp = calloc(nenv + nextra + 1, sizeof *envp);
    if (!envp) {
        return 125;
    }
    for (i = 0; i < nextra; i++) {
        envp[i] = (char *)env[i];
    }
    for (size_t j = 0; j < nenv; j++) {
        /* our variables win over inherited ones of the same name */
        size_t klen = strcspn(environ[j], "=");
        int dup = 0;
        for (size_t k = 0; k < nextra && !dup; k++) {
            dup = strncmp(env[k], environ[j], klen) == 0 && env[k][klen] == '=';
        }
        if (!dup) {
            envp[i++] = environ[j];
        }
    }
    envp[i] = NULL;
    if (arg && !strstr(cmd, "CELLGATE_FILE")) {
        /* the file goes last on the command line: "$@" after the command */
        size_t n = strlen(cmd) + 8;
        script = malloc(n);
        if (!script) {
            free(envp);
            return 125;
        }
        snprintf(script, n, "%s \"$@\"", cmd);
    }
    pid = fork();
    if (pid < 0) {
        free(envp);
        free(script);
        return 125;
    }
    if (pid == 0) {
        sigset_t none;
        char *argv[] = {"sh", "-c", script ? script : (char *)cmd, "sh", (char *)arg, NULL};

        setpgid(0, 0);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        execve("/bin/sh", argv, envp);
        _exit(125);
    }
    setpgid(pid, pid); /* also from the parent: no race with kill(-pid) */
    free(envp);
    free(script);
    deadline = cg_mono_ms() + (int64_t)timeout_s * 1000;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            break;
        }
        if (r < 0 && errno != EINTR) {
            return 125;
        }
        if (cg_mono_ms() >= deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            return 124;
        }
        sleep_ms(5);
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return 125;
}

static void describe_exit(int rc, char *out, size_t size)
{
    if (rc == 124) {
        snprintf(out, size, "timed out (process group killed)");
    } else if (rc == 125) {
        snprintf(out, size, "could not be started");
    } else if (rc > 128) {
        snprintf(out, size, "died of signal %d", rc - 128);
    } else {
        snprintf(out, size, "exited with status %d", rc);
    }
}

/* Runs a config's hook with the standard environment. */
static int run_hook(const struct agent_cfg *k, const char *cmd, const char *file, int timeout_s,
                    int64_t version, int64_t generation, int pass_file)
{
    char e_cfg[96], e_path[AGENT_PATH_MAX + 32], e_file[AGENT_PATH_MAX + 32], e_ver[48], e_gen[48];
    const char *env[] = {e_cfg, e_path, e_file, e_ver, e_gen, NULL};

    snprintf(e_cfg, sizeof e_cfg, "CELLGATE_CONFIG=%s", k->name);
    snprintf(e_path, sizeof e_path, "CELLGATE_PATH=%s", k->path);
    snprintf(e_file, sizeof e_file, "CELLGATE_FILE=%s", file);
    snprintf(e_ver, sizeof e_ver, "CELLGATE_VERSION=%lld", (long long)version);
    snprintf(e_gen, sizeof e_gen, "CELLGATE_GENERATION=%lld", (long long)generation);
    return agent_run(cmd, pass_file ? file : NULL, env, timeout_s);
}

/* ---- apply ---------------------------------------------------------------- */

static int save(struct agent *a, char *why, size_t whylen)
{
    char msg[512];

    if (state_save(a->conf.state_dir, &a->state, msg, sizeof msg) != 0) {
        ALOG(a, LV_ERROR, "%s", msg);
        snprintf(why, whylen, "cannot persist state: %s", msg);
        return -1;
    }
    return 0;
}

/* Puts 'bytes' (or, when NULL, nothing: removes the file) back at the
 * target and reloads. Returns the reload's exit status (0 = fine). */
static int restore(struct agent *a, const struct agent_cfg *k, const char *bytes, size_t len,
                   int existed, int64_t version, int64_t generation)
{
    int rc = 0;

    if (existed && bytes) {
        if (cg_write_file_atomic(k->path, bytes, len, k->mode) != 0) {
            ALOG(a, LV_ERROR, "config %s: cannot restore %s: %s", k->name, k->path,
                 strerror(errno));
            return 125;
        }
    } else if (!existed) {
        unlink(k->path);
    }
    if (k->reload[0]) {
        rc = run_hook(k, k->reload, k->path, k->reload_timeout_s, version, generation, 0);
        if (rc != 0) {
            char d[64];
            describe_exit(rc, d, sizeof d);
            ALOG(a, LV_ERROR, "config %s: reload after restoring the previous document %s", k->name,
                 d);
        }
    }
    return rc;
}

int agent_apply(void *ud, const struct cg_watch_doc *doc, char *why, size_t whylen)
{
    struct agent *a = ud;
    const struct agent_cfg *k = conf_find(&a->conf, doc->config);
    struct state_cfg *sc = state_get(&a->state, doc->config, 1);
    char msg[512], cand[AGENT_PATH_MAX + 96], d[64];
    char *prev = NULL;
    size_t prev_len = 0;
    int existed, rc;

    if (!k || !sc) {
        snprintf(why, whylen, "config %s is not managed by this agent", doc->config);
        return CG_ERR_INVALID;
    }
    ALOG(a, LV_INFO, "config %s: applying version %lld generation %lld (%zu bytes)", k->name,
         (long long)doc->version, (long long)doc->generation, doc->len);

    /* 1. check command on a candidate copy */
    if (k->check[0]) {
        snprintf(cand, sizeof cand, "%s/candidate.%s", a->conf.state_dir, k->name);
        if (cg_write_file_atomic(cand, doc->bytes, doc->len, 0600) != 0) {
            snprintf(why, whylen, "cannot write candidate %s: %s", cand, strerror(errno));
            return CG_ERR_IO;
        }
        rc = run_hook(k, k->check, cand, k->check_timeout_s, doc->version, doc->generation, 1);
        unlink(cand);
        if (rc != 0) {
            describe_exit(rc, d, sizeof d);
            snprintf(why, whylen, "check command %s", d);
            ALOG(a, LV_WARN, "config %s: version %lld rejected: %s", k->name,
                 (long long)doc->version, why);
            /* refused for good: kept across restarts like every refusal */
            if (state_refuse(sc, doc->version, doc->generation, "apply_refused")) {
                save(a, msg, sizeof msg);
            }
            return CG_ERR_VIOLATION;
        }
    }

    /* Report the window up to now before switching: its health belongs to
     * the version running until this moment, not to the one being applied
     * (otherwise a regression is diluted by the old version's traffic,
     * or a good change blamed for the old one's errors). */
    report_send(a);

    /* 2. keep the bytes, record the intent */
    if (blob_put(a->conf.state_dir, doc->sha256, doc->bytes, doc->len, msg, sizeof msg) != 0) {
        snprintf(why, whylen, "%s", msg);
        return CG_ERR_IO;
    }
    sc->p_version = doc->version;
    sc->p_generation = doc->generation;
    cg_strlcpy(sc->p_sha, doc->sha256, sizeof sc->p_sha);
    if (save(a, why, whylen) != 0) {
        sc->p_version = sc->p_generation = 0;
        sc->p_sha[0] = '\0';
        return CG_ERR_IO;
    }

    /* what is in place now, to restore it if the reload fails */
    prev = cg_read_file(k->path, (size_t)a->conf.max_doc_bytes * 4, &prev_len);
    existed = prev != NULL || errno != ENOENT;
    if (!prev && existed && sc->lkg_sha[0]) {
        prev =
            blob_get(a->conf.state_dir, sc->lkg_sha, (size_t)a->conf.max_doc_bytes * 4, &prev_len);
    }

    /* 3. atomic replace */
    if (cg_write_file_atomic(k->path, doc->bytes, doc->len, k->mode) != 0) {
        snprintf(why, whylen, "cannot write %s: %s", k->path, strerror(errno));
        free(prev);
        sc->p_version = sc->p_generation = 0;
        sc->p_sha[0] = '\0';
        state_refuse(sc, doc->version, doc->generation, "apply_failed");
        save(a, msg, sizeof msg);
        return CG_ERR_IO;
    }

    /* 4. reload */
    rc = k->reload[0] ? run_hook(k, k->reload, k->path, k->reload_timeout_s, doc->version,
                                 doc->generation, 0)
                      : 0;
    if (rc == 0) {
        /* 5a. the new last-known-good */
        sc->lkg_version = doc->version;
        sc->lkg_generation = doc->generation;
        cg_strlcpy(sc->lkg_sha, doc->sha256, sizeof sc->lkg_sha);
        sc->p_version = sc->p_generation = 0;
        sc->p_sha[0] = '\0';
        free(prev);
        if (save(a, why, whylen) != 0) {
            return CG_ERR_IO; /* the file is in place; the next start recovers */
        }
        blob_gc(a->conf.state_dir, &a->state);
        ALOG(a, LV_INFO, "config %s: version %lld generation %lld applied", k->name,
             (long long)doc->version, (long long)doc->generation);
        return CG_OK;
    }

    /* 5b. restore what was there */
    describe_exit(rc, d, sizeof d);
    ALOG(a, LV_WARN, "config %s: reload of version %lld %s; restoring the previous document",
         k->name, (long long)doc->version, d);
    rc = restore(a, k, prev, prev_len, existed, sc->lkg_version, sc->lkg_generation);
    free(prev);
    snprintf(why, whylen, "reload command %s; previous document restored%s", d,
             rc == 0 ? "" : " (its reload failed too)");
    sc->p_version = sc->p_generation = 0;
    sc->p_sha[0] = '\0';
    state_refuse(sc, doc->version, doc->generation, "apply_failed");
    save(a, msg, sizeof msg);
    blob_gc(a->conf.state_dir, &a->state);
    return CG_ERR_IO;
}

/* ---- start-up ---------------------------------------------------------------- */

void agent_recover(struct agent *a)
{
    char msg[512], sha[65];
    int changed = 0;

    for (size_t i = 0; i < a->state.n; i++) {
        struct state_cfg *sc = &a->state.cfgs[i];
        const struct agent_cfg *k = conf_find(&a->conf, sc->name);
        size_t len = 0;
        char *disk;

        if (sc->p_generation == 0) {
            continue;
        }
        changed = 1;
        if (!k) {
            sc->p_version = sc->p_generation = 0;
            sc->p_sha[0] = '\0';
            continue;
        }
        disk = cg_read_file(k->path, (size_t)a->conf.max_doc_bytes * 4, &len);
        if (disk) {
            cg_sha256_hex(disk, len, sha);
        } else {
            sha[0] = '\0';
        }
        free(disk);
        if (strcmp(sha, sc->p_sha) == 0) {
            /* the new document reached the disk; the reload may not have run */
            int rc = k->reload[0] ? run_hook(k, k->reload, k->path, k->reload_timeout_s,
                                             sc->p_version, sc->p_generation, 0)
                                  : 0;
            if (rc == 0) {
                ALOG(a, LV_INFO,
                     "config %s: finished the interrupted apply of version %lld generation "
                     "%lld",
                     k->name, (long long)sc->p_version, (long long)sc->p_generation);
                sc->lkg_version = sc->p_version;
                sc->lkg_generation = sc->p_generation;
                cg_strlcpy(sc->lkg_sha, sc->p_sha, sizeof sc->lkg_sha);
            } else {
                size_t blen = 0;
                char *old = sc->lkg_sha[0] ? blob_get(a->conf.state_dir, sc->lkg_sha,
                                                      (size_t)a->conf.max_doc_bytes * 4, &blen)
                                           : NULL;
                ALOG(a, LV_WARN,
                     "config %s: reload of the interrupted apply failed; restoring version "
                     "%lld",
                     k->name, (long long)sc->lkg_version);
                if (old) {
                    restore(a, k, old, blen, 1, sc->lkg_version, sc->lkg_generation);
                }
                free(old);
                state_refuse(sc, sc->p_version, sc->p_generation, "apply_failed");
            }
        } else {
            ALOG(a, LV_INFO,
                 "config %s: an apply of generation %lld was interrupted before the file "
                 "changed; it will be offered again",
                 k->name, (long long)sc->p_generation);
        }
        sc->p_version = sc->p_generation = 0;
        sc->p_sha[0] = '\0';
    }
    if (changed && state_save(a->conf.state_dir, &a->state, msg, sizeof msg) != 0) {
        ALOG(a, LV_ERROR, "%s", msg);
    }
    blob_gc(a->conf.state_dir, &a->state);
}

int agent_seed(struct agent *a, char *msg, size_t msglen)
{
    size_t max = (size_t)a->conf.max_doc_bytes * 4;

    for (size_t i = 0; i < a->conf.ncfgs; i++) {
        const struct agent_cfg *k = &a->conf.cfgs[i];
        struct state_cfg *sc = state_get(&a->state, k->name, 0);
        struct cg_watch_doc doc = {.size = sizeof doc, .config = k->name};
        struct cg_error err;
        char *bytes = NULL, sha[65] = "";
        size_t len = 0;
        int64_t rejected = 0;

        if (sc && sc->lkg_generation > 0) {
            doc.version = sc->lkg_version;
            doc.generation = sc->lkg_generation;
            doc.sha256 = sc->lkg_sha;
            rejected = sc->rejected_generation;
            bytes = blob_get(a->conf.state_dir, sc->lkg_sha, max, &len);
            if (!bytes) {
                /* the copy is gone: the target file will do if it matches */
                bytes = cg_read_file(k->path, max, &len);
                if (bytes) {
                    cg_sha256_hex(bytes, len, sha);
                    if (strcmp(sha, sc->lkg_sha) != 0) {
                        free(bytes);
                        bytes = NULL;
                    }
                }
            }
        } else {
            /* nothing known: what is on disk is what runs; it is the live
             * side of growth checks but has no generation */
            rejected = sc ? sc->rejected_generation : 0;
            bytes = cg_read_file(k->path, max, &len);
        }
        if (rejected > 0) {
            ALOG(a, LV_INFO,
                 "config %s: generation %lld (version %lld) was refused before (%s); it is not "
                 "offered or fetched again",
                 k->name, (long long)rejected, (long long)(sc ? sc->rejected_version : 0),
                 sc && sc->rejected_reason[0] ? sc->rejected_reason : "reason unknown");
        }
        doc.bytes = bytes;
        doc.len = bytes ? len : 0;
        if (cg_watch_seed(a->watch, &doc, rejected, &err) != CG_OK) {
            snprintf(msg, msglen, "config %s: %s", k->name, err.message);
            free(bytes);
            return -1;
        }
        if (doc.generation > 0) {
            ALOG(a, LV_INFO, "config %s: holding version %lld generation %lld%s", k->name,
                 (long long)doc.version, (long long)doc.generation,
                 bytes ? "" : " (its bytes are not available locally)");
        } else {
            ALOG(a, LV_INFO, "config %s: no state yet%s", k->name,
                 bytes ? "; the file on disk is kept until a newer generation applies" : "");
        }
        free(bytes);
    }
    return 0;
}

int agent_keep_refusals(struct agent *a)
{
    char msg[512];
    int changed = 0;

    for (size_t i = 0; i < a->conf.ncfgs; i++) {
        const struct agent_cfg *k = &a->conf.cfgs[i];
        struct cg_watch_status ws = {.size = sizeof ws};
        struct state_cfg *sc;
        int64_t version = 0;
        const char *reason = "";

        if (cg_watch_status(a->watch, k->name, &ws, NULL) != CG_OK || ws.rejected_generation <= 0) {
            continue;
        }
        sc = state_get(&a->state, k->name, 1);
        if (!sc) {
            continue;
        }
        if (ws.generation == ws.rejected_generation &&
            (ws.outcome == CG_WATCH_REJECTED || ws.outcome == CG_WATCH_RELOAD_FAILED)) {
            /* the latest decision is that refusal: its version and reason */
            version = ws.version;
            reason = ws.reason;
        }
        if (state_refuse(sc, version, ws.rejected_generation, reason)) {
            ALOG(a, LV_INFO,
                 "config %s: generation %lld (version %lld) refused for good (%s); recorded in "
                 "the state",
                 k->name, (long long)sc->rejected_generation, (long long)sc->rejected_version,
                 sc->rejected_reason[0] ? sc->rejected_reason : "reason unknown");
            changed++;
        }
    }
    if (changed && state_save(a->conf.state_dir, &a->state, msg, sizeof msg) != 0) {
        ALOG(a, LV_ERROR, "%s", msg);
    }
    return changed;
}
