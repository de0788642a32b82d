/* SPDX-License-Identifier: MIT */
/*
 * tools.c: cellgated's one-shot commands on a store: dump, load and
 * migrate (docs/operations.md, "Dumps, migration and restore"). They open
 * the store directly, never through a running server.
 */
#include "tools.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sign.h"
#include "store.h"
#include "util.h"

#define PATH_MAX_LEN 4096

/* The DSN of cfg's store: --store, or DIR/cellgate.db. */
static int store_dsn(const struct daemon_config *cfg, char *out, size_t n)
{
    if (cfg->store_dsn)
        return snprintf(out, n, "%s", cfg->store_dsn) < (int)n ? 0 : -1;
    return snprintf(out, n, "%s/cellgate.db", cfg->data_dir) < (int)n ? 0 : -1;
}

static int open_store(const char *dsn, struct store **st, const char *what)
{
    char msg[STORE_MSG_MAX], red[512];

    if (store_open(dsn, st, msg) != CG_OK) {
        fprintf(stderr, "cellgated: %s store %s: %s\n", what,
                store_dsn_redact(dsn, red, sizeof red), msg);
        return -1;
    }
    return 0;
}

int tool_dump(const struct daemon_config *cfg)
{
    char dsn[PATH_MAX_LEN], tmp[PATH_MAX_LEN + 8], msg[STORE_MSG_MAX] = "";
    const char *out = cfg->dump_out && strcmp(cfg->dump_out, "-") != 0 ? cfg->dump_out : NULL;
    struct store *st = NULL;
    FILE *f = stdout;
    int64_t rows = 0;
    int rc, fd = -1;

    if (store_dsn(cfg, dsn, sizeof dsn) < 0 ||
        (out && snprintf(tmp, sizeof tmp, "%s.tmp", out) >= (int)sizeof tmp)) {
        fprintf(stderr, "cellgated: path too long\n");
        return 1;
    }
    if (!cfg->store_dsn && access(dsn, F_OK) != 0) {
        fprintf(stderr, "cellgated: %s does not exist\n", dsn);
        return 1;
    }
    if (open_store(dsn, &st, "the") < 0)
        return 1;
    if (out) {
        /* written beside the target and renamed at the end: a dump that
         * failed half-way never takes the place of a good one */
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) {
            fprintf(stderr, "cellgated: cannot create %s: %s\n", tmp, strerror(errno));
            if (fd >= 0)
                close(fd);
            store_close(st);
            return 1;
        }
    }
    rc = store_dump_file(st, f, &rows, msg);
    store_close(st);
    if (out) {
        if (rc == CG_OK && fsync(fileno(f)) != 0) {
            snprintf(msg, sizeof msg, "fsync %s: %s", tmp, strerror(errno));
            rc = CG_ERR_IO;
        }
        if (fclose(f) != 0 && rc == CG_OK) {
            snprintf(msg, sizeof msg, "close %s: %s", tmp, strerror(errno));
            rc = CG_ERR_IO;
        }
        if (rc == CG_OK && rename(tmp, out) != 0) {
            snprintf(msg, sizeof msg, "rename %s: %s", tmp, strerror(errno));
            rc = CG_ERR_IO;
        }
        if (rc != CG_OK)
            unlink(tmp);
    }
    if (rc != CG_OK) {
        fprintf(stderr, "cellgated: dump failed: %s\n", msg);
        return 1;
    }
    fprintf(stderr, "cellgated: dumped %lld rows to %s\n", (long long)rows,
            out ? out : "standard output");
    return 0;
}

/* Loads f into the store at dsn (new and empty), then verifies its chain. */
static int load_into(const char *dsn, FILE *f, const char *from)
{
    char msg[STORE_MSG_MAX] = "", head[65], red[512];
    struct store *st = NULL;
    int64_t rows = 0, audits = 0;
    int rc;

    if (open_store(dsn, &st, "the target") < 0)
        return 1;
    rc = store_load_file(st, f, &rows, msg);
    if (rc == CG_OK)
        rc = store_audit_verify(st, &audits, head, msg);
    store_close(st);
    store_dsn_redact(dsn, red, sizeof red);
    if (rc != CG_OK) {
        fprintf(stderr, "cellgated: loading %s into %s failed, nothing was loaded: %s\n", from, red,
                msg);
        return 1;
    }
    fprintf(stderr,
            "cellgated: loaded %lld rows from %s into %s; the audit chain verifies: %lld "
            "records, head %.16s...\n",
            (long long)rows, from, red, (long long)audits, head);
    return 0;
}

/* The signing key must be there: agents pin it. */
static int need_key(const char *dir)
{
    char key[PATH_MAX_LEN];

    if (snprintf(key, sizeof key, "%s/signing.key", dir) >= (int)sizeof key ||
        access(key, R_OK) != 0) {
        fprintf(stderr,
                "cellgated: %s/signing.key is missing: copy the original server's signing key "
                "there first (agents pin it; a new key would make every agent refuse the "
                "server)\n",
                dir);
        return -1;
    }
    return 0;
}

int tool_load(const struct daemon_config *cfg)
{
    char dsn[PATH_MAX_LEN];
    const char *in = cfg->load_in;
    FILE *f;
    int rc;

    if (!in) {
        fprintf(stderr, "cellgated: load needs --in FILE ('-' for standard input)\n");
        return 2;
    }
    if (store_dsn(cfg, dsn, sizeof dsn) < 0) {
        fprintf(stderr, "cellgated: path too long\n");
        return 1;
    }
    if (!cfg->store_dsn) {
        if (access(dsn, F_OK) == 0) {
            fprintf(stderr, "cellgated: %s exists: load only into a new data directory\n", dsn);
            return 1;
        }
        if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) {
            fprintf(stderr, "cellgated: cannot create %s: %s\n", cfg->data_dir, strerror(errno));
            return 1;
        }
    }
    if (need_key(cfg->data_dir) < 0)
        return 1;
    f = strcmp(in, "-") == 0 ? stdin : fopen(in, "r");
    if (!f) {
        fprintf(stderr, "cellgated: cannot open %s: %s\n", in, strerror(errno));
        return 1;
    }
    rc = load_into(dsn, f, strcmp(in, "-") == 0 ? "standard input" : in);
    if (f != stdin)
        fclose(f);
    if (rc != 0 && !cfg->store_dsn) {
        /* the new store holds nothing (the load is one transaction): remove
         * it, so the next attempt starts clean */
        char side[PATH_MAX_LEN + 8];
        unlink(dsn);
        snprintf(side, sizeof side, "%s-wal", dsn);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", dsn);
        unlink(side);
    }
    return rc;
}

int tool_migrate(const struct daemon_config *cfg)
{
    char src[PATH_MAX_LEN], msg[STORE_MSG_MAX] = "", red[512];
    struct store *st = NULL;
    FILE *f;
    int64_t rows = 0;
    int rc;

    if (!cfg->from_data || !cfg->migrate_to) {
        fprintf(stderr, "cellgated: migrate needs --from-data DIR and --to DSN\n");
        return 2;
    }
    if (snprintf(src, sizeof src, "%s/cellgate.db", cfg->from_data) >= (int)sizeof src ||
        access(src, F_OK) != 0) {
        fprintf(stderr, "cellgated: %s/cellgate.db does not exist\n", cfg->from_data);
        return 1;
    }
    if (need_key(cfg->from_data) < 0)
        return 1;
    if (open_store(src, &st, "the source") < 0)
        return 1;
    /* an anonymous temporary file: the dump never outlives the command */
    f = tmpfile();
    if (!f) {
        fprintf(stderr, "cellgated: cannot create a temporary file: %s\n", strerror(errno));
        store_close(st);
        return 1;
    }
    rc = store_dump_file(st, f, &rows, msg);
    store_close(st);
    if (rc != CG_OK) {
        fprintf(stderr, "cellgated: reading %s failed: %s\n", src, msg);
        fclose(f);
        return 1;
    }
    rewind(f);
    rc = load_into(cfg->migrate_to, f, src);
    fclose(f);
    if (rc == 0)
        fprintf(stderr,
                "cellgated: next: run each replica as `cellgated serve --store %s --data DIR`, "
                "with a copy of %s/signing.key in DIR\n",
                store_dsn_redact(cfg->migrate_to, red, sizeof red), cfg->from_data);
    return rc;
}

/* The hex public key of the key file at path, into hex. 0, or -1 with a
 * message on stderr. */
static int key_hex(const char *path, char hex[CG_PUBKEY_HEX_LEN + 1], char id[32])
{
    struct cg_signkey *k = NULL;
    struct cg_pubkey pk;
    char msg[256];

    if (cg_signkey_load(path, &k, msg, sizeof msg) != CG_OK) {
        fprintf(stderr, "cellgated: %s: %s\n", path, msg);
        return -1;
    }
    cg_signkey_public(k, &pk);
    cg_pubkey_to_hex(&pk, hex);
    if (id)
        cg_strlcpy(id, cg_signkey_id(k), 32);
    cg_signkey_free(k);
    return 0;
}

int tool_rekey(const struct daemon_config *cfg)
{
    char key[PATH_MAX_LEN], next[PATH_MAX_LEN], old[PATH_MAX_LEN], dsn[PATH_MAX_LEN];
    char cur_hex[CG_PUBKEY_HEX_LEN + 1], new_hex[CG_PUBKEY_HEX_LEN + 1], id[32];
    char msg[STORE_MSG_MAX] = "";
    struct store_actor who = {"system", "rekey: the signing key rotated"};
    struct store *st = NULL;
    int rc;

    if (snprintf(key, sizeof key, "%s/signing.key", cfg->data_dir) >= (int)sizeof key ||
        snprintf(next, sizeof next, "%s.next", key) >= (int)sizeof next ||
        snprintf(old, sizeof old, "%s.old", key) >= (int)sizeof old ||
        store_dsn(cfg, dsn, sizeof dsn) < 0) {
        fprintf(stderr, "cellgated: path too long\n");
        return 1;
    }
    if (key_hex(key, cur_hex, NULL) < 0)
        return 1;
    if (!cfg->rekey_commit) {
        if (access(next, F_OK) != 0 && cg_signkey_create(next, msg, sizeof msg) != CG_OK) {
            fprintf(stderr, "cellgated: %s: %s\n", next, msg);
            return 1;
        }
        if (key_hex(next, new_hex, id) < 0)
            return 1;
        printf("prepared %s\n"
               "new public key: %s (key id %s)\n"
               "current key:    %s\n"
               "next: give every agent the new key beside the current one (pubkey = ... twice),\n"
               "      then run: cellgated rekey --data %s%s%s --commit\n",
               next, new_hex, id, cur_hex, cfg->data_dir, cfg->store_dsn ? " --store " : "",
               cfg->store_dsn ? "DSN" : "");
        return 0;
    }
    if (access(next, R_OK) != 0) {
        fprintf(stderr, "cellgated: %s is missing: run `cellgated rekey` without --commit first\n",
                next);
        return 1;
    }
    if (key_hex(next, new_hex, id) < 0)
        return 1;
    if (!cfg->store_dsn && access(dsn, F_OK) != 0) {
        fprintf(stderr, "cellgated: %s does not exist\n", dsn);
        return 1;
    }
    if (open_store(dsn, &st, "the") < 0)
        return 1;
    rc = store_meta_replace(st, "signing_pubkey", cur_hex, new_hex, &who, msg);
    store_close(st);
    if (rc != CG_OK) {
        fprintf(stderr, "cellgated: the store's signing key was not changed: %s%s\n", msg,
                rc == CG_ERR_CONFLICT ? " (DIR/signing.key is not the key the store records)" : "");
        return 1;
    }
    if (rename(key, old) != 0 || rename(next, key) != 0) {
        fprintf(stderr,
                "cellgated: the store now records key %s but the files could not be renamed "
                "(%s): move %s to %s by hand\n",
                new_hex, strerror(errno), next, key);
        return 1;
    }
    printf("the store's signing key is now %s (key id %s); %s holds it, %s the old one\n"
           "next: copy %s into every other replica's data directory and restart them one by one;\n"
           "      when every replica runs the new key, drop the old key from the agents\n",
           new_hex, id, key, old, key);
    return 0;
}
