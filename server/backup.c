/* SPDX-License-Identifier: MIT */
/*
 * backup.c: `cellgated backup create|verify|restore` (backup.h). Online
 * backups of the SQLite store with a manifest, their verification (which
 * fails closed: anything it cannot check is a failure) and their restore
 * into a new data directory. For PostgreSQL, pg_dump and PITR are the
 * backup; `backup verify --store DSN` checks a restored database.
 */
#include "backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "config.h"
#include "json.h"
#include "sha256.h"
#include "sign.h"
#include "store.h"
#include "util.h"

#define PATH_LEN     4096
#define MSG_LEN      (STORE_MSG_MAX + PATH_LEN)
#define DB_FILE      "cellgate.db"
#define CKPT_FILE    "audit-checkpoints"
#define MANIFEST     "manifest.json"
#define FORMAT       "cellgate-backup"
#define FORMAT_V     1
#define COPY_CHUNK   (256u << 10)
#define PARTIAL_MARK ".partial-"

/* ---- files -------------------------------------------------------- */

/* path = dir + "/" + name; -1 when it does not fit. */
static int join(char *path, const char *dir, const char *name)
{
    return snprintf(path, PATH_LEN, "%s/%s", dir, name) < PATH_LEN ? 0 : -1;
}

static int fsync_path(const char *path, int dir)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* The directory part of path ("." when none) into out. */
static void parent_of(const char *path, char *out)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        snprintf(out, PATH_LEN, ".");
    else if (slash == path)
        snprintf(out, PATH_LEN, "/");
    else
        snprintf(out, PATH_LEN, "%.*s", (int)(slash - path), path);
}

/*
 * Reads src to its end, writing it to dst (created with 'mode', which must
 * not exist) when dst is not NULL, and fsyncs dst. sha (65 bytes) gets the
 * bytes' sha256 in hex, *size their count. 0, or -1 with msg.
 */
static int copy_hash(const char *src, const char *dst, unsigned mode, char sha[65], int64_t *size,
                     char *msg)
{
    struct cg_sha256 h;
    unsigned char digest[CG_SHA256_BYTES];
    unsigned char *buf = malloc(COPY_CHUNK);
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
    int64_t total = 0;

    if (!buf || in < 0) {
        snprintf(msg, MSG_LEN, "%s: %s", src, buf ? strerror(errno) : "no memory");
        goto done;
    }
    if (dst && (out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0) {
        snprintf(msg, MSG_LEN, "%s: %s", dst, strerror(errno));
        goto done;
    }
    cg_sha256_init(&h);
    for (;;) {
        ssize_t n = read(in, buf, COPY_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(msg, MSG_LEN, "%s: %s", src, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        cg_sha256_update(&h, buf, (size_t)n);
        total += n;
        for (ssize_t off = 0; out >= 0 && off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                snprintf(msg, MSG_LEN, "%s: %s", dst, w < 0 ? strerror(errno) : "short write");
                goto done;
            }
            off += w;
        }
    }
    if (out >= 0 && fsync(out) != 0) {
        snprintf(msg, MSG_LEN, "%s: fsync: %s", dst, strerror(errno));
        goto done;
    }
    cg_sha256_final(&h, digest);
    cg_hex_encode(digest, sizeof digest, sha);
    *size = total;
    rc = 0;
done:
    if (out >= 0 && close(out) != 0 && rc == 0) {
        snprintf(msg, MSG_LEN, "%s: %s", dst, strerror(errno));
        rc = -1;
    }
    if (in >= 0)
        close(in);
    free(buf);
    return rc;
}

/* Cuts the copy 'path' of the checkpoint file after its last '\n': a line
 * the server was appending while it was copied (or one a crash tore, which
 * the server completes at its next start) is not a checkpoint yet, and
 * `backup verify` refuses a line that is not whole. 0, or -1 with msg. */
static int trim_partial_line(const char *path, char *msg)
{
    char buf[4096];
    int fd = open(path, O_RDWR | O_CLOEXEC), rc = -1;
    struct stat sb;
    off_t off, keep = 0;
    ssize_t n;

    if (fd < 0 || fstat(fd, &sb) != 0)
        goto done;
    off = sb.st_size > (off_t)sizeof buf ? sb.st_size - (off_t)sizeof buf : 0;
    n = pread(fd, buf, (size_t)(sb.st_size - off), off);
    if (n != sb.st_size - off)
        goto done;
    for (ssize_t i = n; i > 0; i--)
        if (buf[i - 1] == '\n') {
            keep = off + i;
            break;
        }
    if (keep == 0 && off > 0) {
        /* lines are at most CG_CHECKPOINT_LINE_MAX bytes */
        snprintf(msg, MSG_LEN, "%s: no line ends in its last 4 KiB: not a checkpoint file", path);
        close(fd);
        return -1;
    }
    rc = keep == sb.st_size || (ftruncate(fd, keep) == 0 && fsync(fd) == 0) ? 0 : -1;
done:
    if (rc < 0)
        snprintf(msg, MSG_LEN, "%s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Removes dir and the plain files in it (a backup or a scratch directory:
 * never deeper). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_LEN];

    if (d) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (join(path, dir, e->d_name) == 0)
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* 1 when dir does not exist or holds nothing, 0 when it holds something,
 * -1 when it cannot be read (errno). */
static int dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = 1;

    if (!d)
        return errno == ENOENT ? 1 : -1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = 0;
    closedir(d);
    return empty;
}

/* Removes the OUT.partial-PID directories beside out whose process is gone
 * (a create killed before its rename). */
static void remove_stale_partials(const char *out)
{
    char parent[PATH_LEN], path[PATH_LEN];
    const char *base = strrchr(out, '/') ? strrchr(out, '/') + 1 : out;
    size_t blen = strlen(base), mlen = strlen(PARTIAL_MARK);
    DIR *d;
    struct dirent *e;

    parent_of(out, parent);
    d = opendir(parent);
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid;

        if (strncmp(e->d_name, base, blen) != 0 ||
            strncmp(e->d_name + blen, PARTIAL_MARK, mlen) != 0)
            continue;
        errno = 0;
        pid = strtol(e->d_name + blen + mlen, &end, 10);
        if (errno || *end || pid <= 0 || pid == (long)getpid() ||
            (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue;
        if (join(path, parent, e->d_name) == 0)
            remove_tree(path);
    }
    closedir(d);
}

/* ---- the store's own view ------------------------------------------- */

/* Opens the store file 'db' (a private copy: opening may write to it),
 * verifies its audit chain into *records and head. 0, or -1 with msg. */
static int audit_of(const char *db, int64_t *records, char head[65], char *msg)
{
    char smsg[STORE_MSG_MAX] = "";
    struct store *st = NULL;
    int rc;

    if (store_open(db, &st, smsg) != CG_OK) {
        snprintf(msg, MSG_LEN, "open %s: %s", db, smsg);
        return -1;
    }
    head[0] = '\0';
    rc = store_audit_verify(st, records, head, smsg);
    store_close(st);
    if (rc != CG_OK) {
        snprintf(msg, MSG_LEN, "audit chain: %s", smsg);
        return -1;
    }
    return 0;
}

/* store_sqlite_facts() with the message in msg. */
static int facts_of(const char *db, int check, json_t **facts, char *msg)
{
    char smsg[STORE_MSG_MAX] = "";

    if (store_sqlite_facts(db, check, facts, smsg) != CG_OK) {
        snprintf(msg, MSG_LEN, "%s: %s", db, smsg);
        return -1;
    }
    return 0;
}

/* store_sqlite_seal() with the message in msg. */
static int seal(const char *db, char *msg)
{
    char smsg[STORE_MSG_MAX] = "";

    if (store_sqlite_seal(db, smsg) != CG_OK) {
        snprintf(msg, MSG_LEN, "%s", smsg);
        return -1;
    }
    return 0;
}

/* ---- create ----------------------------------------------------------- */

/* Adds {"NAME": {"size", "sha256"}} for dir/name to files. */
static int add_file(json_t *files, const char *dir, const char *name, char *msg)
{
    char path[PATH_LEN], sha[65];
    int64_t size = 0;

    if (join(path, dir, name) < 0 || copy_hash(path, NULL, 0, sha, &size, msg) < 0 ||
        fsync_path(path, 0) != 0)
        return msg[0] ? -1 : (snprintf(msg, MSG_LEN, "%s: %s", path, strerror(errno)), -1);
    if (json_object_set_new(files, name,
                            json_pack("{s:I,s:s}", "size", (json_int_t)size, "sha256", sha)) != 0) {
        snprintf(msg, MSG_LEN, "no memory");
        return -1;
    }
    return 0;
}

/* Writes tmp/manifest.json from what tmp holds. */
static int write_manifest(const char *tmp, const char *data_dir, int has_ckpt, int64_t took_ms,
                          struct backup_info *info, char *msg)
{
    char path[PATH_LEN], head[65], when[32], abs[PATH_LEN];
    json_t *facts = NULL, *files = json_object(), *m = NULL;
    int64_t records = 0, now = cg_now_ms();
    char *text = NULL;
    int rc = -1;

    if (join(path, tmp, DB_FILE) < 0 || !files)
        goto done;
    /* the chain first (opening the private copy may write to it), then the
     * facts and the hashes of the bytes as they stay */
    if (audit_of(path, &records, head, msg) < 0 || seal(path, msg) < 0 ||
        facts_of(path, 1, &facts, msg) < 0 || add_file(files, tmp, DB_FILE, msg) < 0 ||
        (has_ckpt && add_file(files, tmp, CKPT_FILE, msg) < 0))
        goto done;
    cg_time_format(now, when);
    if (!realpath(data_dir, abs))
        snprintf(abs, sizeof abs, "%s", data_dir);
    m = json_pack("{s:s,s:i,s:s,s:I,s:s,s:s,s:I,s:O,s:O,s:O,s:{s:I,s:s},s:O,s:O}", "format", FORMAT,
                  "version", FORMAT_V, "server_version", CELLGATED_VERSION, "created_ms",
                  (json_int_t)now, "created", when, "source", abs, "took_ms", (json_int_t)took_ms,
                  "files", files, "schema", json_object_get(facts, "schema"), "migrations",
                  json_object_get(facts, "migrations"), "audit", "records", (json_int_t)records,
                  "head", head, "signing_pubkey", json_object_get(facts, "signing_pubkey"),
                  "configs", json_object_get(facts, "configs"));
    text = m ? json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    if (!text || join(path, tmp, MANIFEST) < 0) {
        snprintf(msg, MSG_LEN, "manifest: no memory");
        goto done;
    }
    if (cg_write_file_atomic(path, text, strlen(text), 0600) != 0) {
        snprintf(msg, MSG_LEN, "%s: %s", path, strerror(errno));
        goto done;
    }
    info->records = records;
    cg_strlcpy(info->head, head, sizeof info->head);
    info->configs = json_object_size(json_object_get(facts, "configs"));
    info->bytes = json_integer_value(json_object_get(json_object_get(files, DB_FILE), "size"));
    info->created_ms = now;
    rc = 0;
done:
    if (rc < 0 && !msg[0])
        snprintf(msg, MSG_LEN, "path too long");
    free(text);
    json_decref(m);
    json_decref(files);
    json_decref(facts);
    return rc;
}

int backup_write(const char *data_dir, const char *out, struct backup_info *info, char *msg,
                 size_t msglen)
{
    char db[PATH_LEN], tmp[PATH_LEN], path[PATH_LEN], src[PATH_LEN], parent[PATH_LEN];
    char m_msg[MSG_LEN] = "", smsg[STORE_MSG_MAX] = "", sha[65];
    int64_t t0 = cg_mono_ms(), size = 0;
    struct stat sb;
    int has_ckpt = 0;

    memset(info, 0, sizeof *info);
    if (join(db, data_dir, DB_FILE) < 0 ||
        snprintf(tmp, sizeof tmp, "%s%s%ld", out, PARTIAL_MARK, (long)getpid()) >= PATH_LEN) {
        snprintf(msg, msglen, "path too long");
        return -1;
    }
    if (stat(db, &sb) != 0) {
        snprintf(msg, msglen, "%s: %s", db, strerror(errno));
        return -1;
    }
    if (lstat(out, &sb) == 0 || errno != ENOENT) {
        snprintf(msg, msglen, "%s exists: a backup is written to a new path", out);
        return -1;
    }
    remove_stale_partials(out);
    if (mkdir(tmp, 0700) != 0) {
        snprintf(msg, msglen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    /* the checkpoints first: each signs a head at or before the snapshot's */
    if (join(src, data_dir, CKPT_FILE) == 0 && access(src, F_OK) == 0) {
        if (join(path, tmp, CKPT_FILE) < 0 || copy_hash(src, path, 0600, sha, &size, m_msg) < 0 ||
            trim_partial_line(path, m_msg) < 0)
            goto fail;
        has_ckpt = 1;
    }
    if (join(path, tmp, DB_FILE) < 0) {
        snprintf(m_msg, sizeof m_msg, "path too long");
        goto fail;
    }
    if (store_sqlite_snapshot(db, path, smsg) != CG_OK) {
        snprintf(m_msg, sizeof m_msg, "%s", smsg);
        goto fail;
    }
    if (chmod(path, 0600) != 0 ||
        write_manifest(tmp, data_dir, has_ckpt, cg_mono_ms() - t0, info, m_msg) < 0)
        goto fail;
    parent_of(out, parent);
    if (fsync_path(tmp, 1) != 0 || rename(tmp, out) != 0 || fsync_path(parent, 1) != 0) {
        snprintf(m_msg, sizeof m_msg, "%s: %s", out, strerror(errno));
        goto fail;
    }
    info->took_ms = cg_mono_ms() - t0;
    return 0;
fail:
    remove_tree(tmp);
    snprintf(msg, msglen, "%s", m_msg[0] ? m_msg : strerror(errno));
    return -1;
}

static int backup_create(const struct daemon_config *cfg, const char *out)
{
    struct backup_info info;
    char msg[MSG_LEN];

    if (cfg->store_dsn) {
        fprintf(stderr, "cellgated: backup create copies the SQLite store of --data; a "
                        "PostgreSQL store is backed up with pg_dump or PITR "
                        "(docs/operations.md, \"Backups\")\n");
        return 2;
    }
    if (backup_write(cfg->data_dir, out, &info, msg, sizeof msg) < 0) {
        fprintf(stderr, "cellgated: backup failed, nothing was written to %s: %s\n", out, msg);
        return 1;
    }
    fprintf(stderr,
            "cellgated: backup %s: %lld bytes, %lld audit records (head %.16s...), %zu configs, "
            "in %lld ms\n",
            out, (long long)info.bytes, (long long)info.records, info.head, info.configs,
            (long long)info.took_ms);
    return 0;
}

/* ---- verify ----------------------------------------------------------- */

/* Loads and checks BACKUP/manifest.json's form into *m. */
static int manifest_load(const char *dir, json_t **m, char *msg)
{
    char path[PATH_LEN];
    json_error_t je;
    struct stat sb;
    json_t *v;

    *m = NULL;
    if (join(path, dir, MANIFEST) < 0 || stat(path, &sb) != 0) {
        snprintf(msg, MSG_LEN, "%s: %s (not a backup?)", path, strerror(errno));
        return -1;
    }
    if (sb.st_size > BACKUP_MANIFEST_MAX) {
        snprintf(msg, MSG_LEN, "%s: larger than %u bytes", path, BACKUP_MANIFEST_MAX);
        return -1;
    }
    v = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        snprintf(msg, MSG_LEN, "%s: line %d: %s", path, je.line, je.text);
        return -1;
    }
    if (!json_is_object(v) || !json_is_string(json_object_get(v, "format")) ||
        strcmp(json_string_value(json_object_get(v, "format")), FORMAT) != 0) {
        snprintf(msg, MSG_LEN, "%s: not a cellgate backup manifest", path);
        json_decref(v);
        return -1;
    }
    if (json_integer_value(json_object_get(v, "version")) != FORMAT_V) {
        snprintf(msg, MSG_LEN, "%s: backup format version %lld (this cellgated reads %d)", path,
                 (long long)json_integer_value(json_object_get(v, "version")), FORMAT_V);
        json_decref(v);
        return -1;
    }
    if (!json_is_object(json_object_get(v, "files")) ||
        !json_is_object(json_object_get(json_object_get(v, "files"), DB_FILE)) ||
        !json_is_object(json_object_get(v, "audit")) ||
        !json_is_string(json_object_get(json_object_get(v, "audit"), "head")) ||
        !json_is_integer(json_object_get(json_object_get(v, "audit"), "records")) ||
        !json_is_object(json_object_get(v, "configs")) ||
        !json_is_string(json_object_get(v, "signing_pubkey")) ||
        !json_is_string(json_object_get(v, "schema"))) {
        snprintf(msg, MSG_LEN, "%s: a member is missing or of the wrong type", path);
        json_decref(v);
        return -1;
    }
    *m = v;
    return 0;
}

/* Every file the manifest lists has its size and sha256; no other file is
 * there. */
static int check_files(const char *dir, const json_t *files, char *msg)
{
    const char *name;
    json_t *f;
    DIR *d;
    struct dirent *e;

    json_object_foreach((json_t *)files, name, f)
    {
        char path[PATH_LEN], sha[65];
        int64_t size = 0;
        const char *want = json_string_value(json_object_get(f, "sha256"));

        if (strcmp(name, DB_FILE) != 0 && strcmp(name, CKPT_FILE) != 0) {
            snprintf(msg, MSG_LEN, "the manifest lists an unknown file '%s'", name);
            return -1;
        }
        if (join(path, dir, name) < 0 || copy_hash(path, NULL, 0, sha, &size, msg) < 0)
            return -1;
        if (size != json_integer_value(json_object_get(f, "size")) || !want ||
            strcmp(sha, want) != 0) {
            snprintf(msg, MSG_LEN,
                     "%s: %lld bytes, sha256 %.16s...: the manifest says %lld bytes, "
                     "%.16s...",
                     path, (long long)size, sha,
                     (long long)json_integer_value(json_object_get(f, "size")), want ? want : "?");
            return -1;
        }
    }
    d = opendir(dir);
    if (!d) {
        snprintf(msg, MSG_LEN, "%s: %s", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, MANIFEST) == 0 || json_object_get(files, e->d_name))
            continue;
        snprintf(msg, MSG_LEN, "%s/%s is not in the manifest", dir, e->d_name);
        closedir(d);
        return -1;
    }
    closedir(d);
    return 0;
}

/* ---- the checkpoints ------------------------------------------------- */

#define CKPT_KEYS_MAX 64 /* signing keys a chain may have had (rekeys) */

/* What the chain says about the checkpoints: the keys the store has had
 * (its signing_pubkey now, and every value a meta.set of
 * meta/signing_pubkey held: `cellgated rekey`), and when an operator last
 * accepted a rewrite (checkpoints signed before it may contradict the
 * chain: the file keeps the ones the acceptance dropped). */
struct ckpt_ctx {
    struct cg_pubkey keys[CKPT_KEYS_MAX];
    size_t nkeys;
    int64_t rewrite_ms; /* the newest audit.rewrite_accepted, 0 when none */
};

/* Adds the key of hex (64 hex) to x unless it is there; 0 or -1. */
static int ckpt_key(struct ckpt_ctx *x, const char *hex, char *msg)
{
    struct cg_pubkey pk;
    char why[128];

    if (!hex || !*hex)
        return 0;
    if (cg_pubkey_from_hex(hex, &pk, why, sizeof why) != CG_OK) {
        snprintf(msg, MSG_LEN, "the store's signing key %.16s...: %s", hex, why);
        return -1;
    }
    for (size_t i = 0; i < x->nkeys; i++)
        if (strcmp(x->keys[i].key_id, pk.key_id) == 0)
            return 0;
    if (x->nkeys == CKPT_KEYS_MAX) {
        snprintf(msg, MSG_LEN, "the audit chain names more than %d signing keys", CKPT_KEYS_MAX);
        return -1;
    }
    x->keys[x->nkeys++] = pk;
    return 0;
}

/* The "value" of an audit summary's JSON text, into out (may be ""). */
static void summary_value(const char *text, char *out, size_t n)
{
    json_t *v = text && *text ? json_loads(text, 0, NULL) : NULL;

    cg_strlcpy(out,
               json_is_string(json_object_get(v, "value"))
                   ? json_string_value(json_object_get(v, "value"))
                   : "",
               n);
    json_decref(v);
}

/* One pass over st's chain into x. 0, or -1 with msg. */
static int ckpt_scan(struct store *st, struct ckpt_ctx *x, char *msg)
{
    int64_t after = 0;

    for (;;) {
        char smsg[STORE_MSG_MAX] = "", val[CG_PUBKEY_HEX_LEN + 8];
        struct store_audit *a = NULL;
        size_t n = 0;

        if (store_audit_list(st, after, 1000, &a, &n, smsg) != CG_OK) {
            snprintf(msg, MSG_LEN, "audit chain: %s", smsg);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (strcmp(a[i].action, "audit.rewrite_accepted") == 0 && a[i].time_ms > x->rewrite_ms)
                x->rewrite_ms = a[i].time_ms;
            if (strcmp(a[i].action, "meta.set") != 0 ||
                strcmp(a[i].object, "meta/signing_pubkey") != 0)
                continue;
            summary_value(a[i].before, val, sizeof val);
            if (ckpt_key(x, val, msg) < 0)
                break;
            summary_value(a[i].after, val, sizeof val);
            if (ckpt_key(x, val, msg) < 0)
                break;
        }
        if (n > 0)
            after = a[n - 1].seq;
        store_audits_free(a, n);
        if (msg[0])
            return -1;
        if (n < 1000)
            return 0;
    }
}

/* Checks one checkpoint c (line 'line') against the chain of st. */
static int ckpt_one(struct store *st, const struct ckpt_ctx *x, const struct cg_checkpoint *c,
                    size_t line, int64_t records, size_t *excused, char *msg)
{
    char why[256] = "", smsg[STORE_MSG_MAX] = "", when[32];
    struct store_audit *a = NULL;
    size_t n = 0;
    int rc = cg_checkpoint_verify(c, x->keys, x->nkeys, why, sizeof why);

    cg_time_format(c->time_ms, when);
    if (rc != CG_OK) {
        snprintf(msg, MSG_LEN, "%s line %zu (seq %lld, signed %s by key %s): %s%s", CKPT_FILE, line,
                 (long long)c->seq, when, c->key_id, why,
                 rc == CG_ERR_NOTFOUND ? " (no key the store has had: it cannot be checked)"
                 : rc == CG_ERR_VERIFY ? " (forged or altered)"
                                       : "");
        return -1;
    }
    if (c->seq > records) {
        snprintf(msg, MSG_LEN,
                 "%s line %zu signs record %lld (signed %s), but the store's chain ends at %lld: "
                 "the snapshot is older than its checkpoints",
                 CKPT_FILE, line, (long long)c->seq, when, (long long)records);
        return -1;
    }
    if (store_audit_list(st, c->seq - 1, 1, &a, &n, smsg) != CG_OK) {
        snprintf(msg, MSG_LEN, "audit chain: %s", smsg);
        return -1;
    }
    rc = n == 1 && a[0].seq == c->seq && strcmp(a[0].hash, c->hash) == 0;
    if (!rc && c->time_ms <= x->rewrite_ms) {
        (*excused)++; /* dropped by an accepted rewrite; the file keeps it */
        rc = 1;
    } else if (!rc) {
        snprintf(msg, MSG_LEN,
                 "%s line %zu (signed %s by key %s) says record %lld has hash %.16s..., the "
                 "store's chain has %.16s...: the chain was rewritten",
                 CKPT_FILE, line, when, c->key_id, (long long)c->seq, c->hash,
                 n == 1 ? a[0].hash : "nothing");
    }
    store_audits_free(a, n);
    return rc ? 0 : -1;
}

/*
 * The backup's audit-checkpoints against its store (the scratch copy 'db',
 * whose chain was recomputed and has 'records' records): every line a
 * checkpoint whose signature verifies with a key the store has had, and
 * whose record is in the chain with that hash (unless an accepted rewrite
 * after it dropped it). *count gets the checkpoints. 0, or -1 with msg.
 */
static int check_checkpoints(const char *dir, const char *db, const char *pubkey, int64_t records,
                             size_t *count, char *msg)
{
    char path[PATH_LEN], smsg[STORE_MSG_MAX] = "", why[256];
    struct ckpt_ctx *x = calloc(1, sizeof *x);
    struct store *st = NULL;
    struct cg_checkpoint c;
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0, lineno = 0, excused = 0;
    ssize_t len;
    int rc = -1;

    *count = 0;
    if (!x) {
        snprintf(msg, MSG_LEN, "no memory");
        return -1;
    }
    if (join(path, dir, CKPT_FILE) < 0 || !(f = fopen(path, "re"))) {
        snprintf(msg, MSG_LEN, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (store_open(db, &st, smsg) != CG_OK) {
        snprintf(msg, MSG_LEN, "open %s: %s", db, smsg);
        goto done;
    }
    if (ckpt_key(x, pubkey, msg) < 0 || ckpt_scan(st, x, msg) < 0)
        goto done;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len == 0 || line[len - 1] != '\n') {
            snprintf(msg, MSG_LEN, "%s line %zu is not whole (no newline)", CKPT_FILE, lineno);
            goto done;
        }
        if ((size_t)len - 1 > CG_CHECKPOINT_LINE_MAX ||
            cg_checkpoint_parse_line(line, (size_t)len - 1, &c, why, sizeof why) != CG_OK) {
            snprintf(msg, MSG_LEN, "%s line %zu is not a checkpoint: %s", CKPT_FILE, lineno,
                     (size_t)len - 1 > CG_CHECKPOINT_LINE_MAX ? "too long" : why);
            goto done;
        }
        if (ckpt_one(st, x, &c, lineno, records, &excused, msg) < 0)
            goto done;
    }
    if (ferror(f)) {
        snprintf(msg, MSG_LEN, "%s: %s", path, strerror(errno));
        goto done;
    }
    *count = lineno;
    rc = 0;
done:
    free(line);
    if (f)
        fclose(f);
    store_close(st);
    free(x);
    return rc;
}

/*
 * The whole check of the backup 'dir': the manifest's form, every file's
 * bytes, SQLite's integrity check, the schema, key and configs the store
 * holds against the manifest's, and the audit chain recomputed (on a
 * scratch copy: opening a store may write to it) against the manifest's
 * head, and the checkpoints (check_checkpoints()). *out (may be NULL) gets
 * the manifest, *checkpoints (may be NULL) the checkpoints checked. 0, or -1
 * with msg.
 */
static int verify_dir(const char *dir, json_t **out, size_t *checkpoints, char *msg)
{
    char db[PATH_LEN], scratch[PATH_LEN], copy[PATH_LEN], head[65], sha[65];
    json_t *m = NULL, *facts = NULL;
    int64_t records = 0, size;
    size_t nckpt = 0;
    const char *tmpdir = getenv("TMPDIR");
    int rc = -1;

    if (out)
        *out = NULL;
    if (manifest_load(dir, &m, msg) < 0 || check_files(dir, json_object_get(m, "files"), msg) < 0)
        goto done;
    if (join(db, dir, DB_FILE) < 0 || facts_of(db, 1, &facts, msg) < 0)
        goto done;
    static const char *const same[] = {"schema", "migrations", "signing_pubkey", "configs"};
    for (size_t i = 0; i < CG_ARRAY_SIZE(same); i++) {
        if (!json_equal(json_object_get(facts, same[i]), json_object_get(m, same[i]))) {
            snprintf(msg, MSG_LEN, "the store's %s differs from the manifest's", same[i]);
            goto done;
        }
    }
    if (snprintf(scratch, sizeof scratch, "%s/cgbackup.XXXXXX",
                 tmpdir && *tmpdir ? tmpdir : "/tmp") >= PATH_LEN ||
        !mkdtemp(scratch)) {
        snprintf(msg, MSG_LEN, "scratch directory: %s", strerror(errno));
        goto done;
    }
    if (join(copy, scratch, DB_FILE) == 0 && copy_hash(db, copy, 0600, sha, &size, msg) == 0 &&
        audit_of(copy, &records, head, msg) == 0) {
        const json_t *a = json_object_get(m, "audit");
        if (records != json_integer_value(json_object_get(a, "records")) ||
            strcmp(head, json_string_value(json_object_get(a, "head"))) != 0)
            snprintf(msg, MSG_LEN,
                     "the audit chain has %lld records, head %.16s...: the "
                     "manifest says %lld, %.16s...",
                     (long long)records, head,
                     (long long)json_integer_value(json_object_get(a, "records")),
                     json_string_value(json_object_get(a, "head")));
        else if (json_object_get(json_object_get(m, "files"), CKPT_FILE) &&
                 check_checkpoints(dir, copy,
                                   json_string_value(json_object_get(m, "signing_pubkey")), records,
                                   &nckpt, msg) < 0)
            ; /* msg says why */
        else
            rc = 0;
    }
    remove_tree(scratch);
    if (checkpoints)
        *checkpoints = nckpt;
done:
    json_decref(facts);
    if (rc == 0 && out)
        *out = m;
    else
        json_decref(m);
    return rc;
}

/* The newest restore the chain of st records (a meta.set of
 * meta/restore.MS: `backup restore`, `backup bump`) into when (a time, ""
 * when none) and *bump. 0, or -1 with msg. */
static int last_restore(struct store *st, char when[32], int64_t *bump, char *msg)
{
    int64_t after = 0;

    when[0] = '\0';
    *bump = 0;
    for (;;) {
        struct store_audit *a = NULL;
        size_t n = 0;

        if (store_audit_list(st, after, 1000, &a, &n, msg) != CG_OK)
            return -1;
        for (size_t i = 0; i < n; i++) {
            char val[1024];
            json_t *v;
            if (strcmp(a[i].action, "meta.set") != 0 ||
                strncmp(a[i].object, "meta/restore.", 13) != 0)
                continue;
            summary_value(a[i].after, val, sizeof val);
            v = json_loads(val, 0, NULL);
            *bump = json_integer_value(json_object_get(v, "generation_bump"));
            json_decref(v);
            cg_time_format(a[i].time_ms, when);
        }
        if (n > 0)
            after = a[n - 1].seq;
        store_audits_free(a, n);
        if (n < 1000)
            return 0;
    }
}

/* `backup verify --store DSN`: the chain of a database restored by other
 * means (pg_restore, PITR), and whether its generations were raised. */
static int verify_store(const struct daemon_config *cfg)
{
    char smsg[STORE_MSG_MAX] = "", red[512], head[65] = "", when[32];
    struct store *st = NULL;
    struct store_config *cs = NULL;
    int64_t records = 0, bump = 0;
    size_t n = 0;
    int rc;

    store_dsn_redact(cfg->store_dsn, red, sizeof red);
    if (store_open(cfg->store_dsn, &st, smsg) != CG_OK) {
        fprintf(stderr, "cellgated: store %s: %s\n", red, smsg);
        return 1;
    }
    rc = store_audit_verify(st, &records, head, smsg);
    if (rc == CG_OK)
        rc = store_config_list(st, &cs, &n, smsg);
    if (rc == CG_OK && last_restore(st, when, &bump, smsg) < 0)
        rc = CG_ERR_IO;
    if (rc != CG_OK) {
        store_close(st);
        fprintf(stderr, "cellgated: store %s does NOT verify: %s\n", red, smsg);
        return 1;
    }
    printf("store %s verifies: %lld audit records, head %s\n", red, (long long)records, head);
    if (when[0])
        printf("  generations last raised by a restore at %s (+ %lld)\n", when, (long long)bump);
    else
        printf("  no restore has raised its generations: if it was restored from a dump or by "
               "PITR, run `cellgated backup bump --store DSN` before agents use it\n");
    for (size_t i = 0; i < n; i++)
        printf("  config %s: generation %lld, latest version %lld, live version %lld\n", cs[i].name,
               (long long)cs[i].generation, (long long)cs[i].latest_version,
               (long long)cs[i].live_version);
    store_configs_free(cs, n);
    store_close(st);
    return 0;
}

static int backup_verify(const struct daemon_config *cfg, const char *dir)
{
    char msg[MSG_LEN] = "";
    json_t *m = NULL;
    const json_t *a;
    size_t nckpt = 0;

    if (!dir)
        return verify_store(cfg);
    if (verify_dir(dir, &m, &nckpt, msg) < 0) {
        fprintf(stderr, "cellgated: backup %s does NOT verify: %s\n", dir, msg);
        return 1;
    }
    a = json_object_get(m, "audit");
    printf("backup %s verifies: taken %s, schema %s, %lld audit records, head %s, %zu configs, "
           "%zu signed checkpoints\n",
           dir, json_string_value(json_object_get(m, "created")),
           json_string_value(json_object_get(m, "schema")),
           (long long)json_integer_value(json_object_get(a, "records")),
           json_string_value(json_object_get(a, "head")),
           json_object_size(json_object_get(m, "configs")), nckpt);
    json_decref(m);
    return 0;
}

/* ---- restore ---------------------------------------------------------- */

/* The public half of the key file 'path' in hex into hex. */
static int key_public(const char *path, char hex[CG_PUBKEY_HEX_LEN + 1], char *msg)
{
    struct cg_signkey *k = NULL;
    struct cg_pubkey pk;
    char kmsg[256];

    if (cg_signkey_load(path, &k, kmsg, sizeof kmsg) != CG_OK) {
        snprintf(msg, MSG_LEN, "%s", kmsg);
        return -1;
    }
    cg_signkey_public(k, &pk);
    cg_pubkey_to_hex(&pk, hex);
    cg_signkey_free(k);
    return 0;
}

/* Raises every generation of the restored store 'db' by 'bump' and records
 * the restore in its audit chain, in one transaction
 * (store_generations_bump(): a "meta.set" of meta/restore.MS with what
 * was restored and the bump). */
static int bump_and_record(const char *db, const json_t *m, size_t bump, char *msg)
{
    char smsg[STORE_MSG_MAX] = "", key[64];
    struct store *st = NULL;
    json_t *v;
    char *text;
    int rc;

    v = json_pack("{s:O,s:O,s:I}", "backup_created", json_object_get(m, "created"), "head",
                  json_object_get(json_object_get(m, "audit"), "head"), "generation_bump",
                  (json_int_t)bump);
    text = v ? cg_json_dump(v) : NULL;
    json_decref(v);
    if (!text) {
        snprintf(msg, MSG_LEN, "no memory");
        return -1;
    }
    snprintf(key, sizeof key, "restore.%lld", (long long)cg_now_ms());
    rc = store_open(db, &st, smsg);
    if (rc == CG_OK)
        rc = store_generations_bump(st, (int64_t)bump, key, text, smsg);
    store_close(st);
    free(text);
    if (rc != CG_OK) {
        snprintf(msg, MSG_LEN, "recording the restore: %s", smsg);
        return -1;
    }
    return 0;
}

static int backup_restore(const struct daemon_config *cfg, const char *dir)
{
    char msg[MSG_LEN] = "", hex[CG_PUBKEY_HEX_LEN + 1], sha[65];
    char src[PATH_LEN], dst[PATH_LEN], partial[PATH_LEN], key_dst[PATH_LEN];
    const char *data = cfg->data_dir;
    json_t *m = NULL;
    int64_t size;
    int made = 0, empty;

    if (cfg->store_dsn) {
        fprintf(stderr, "cellgated: backup restore writes a SQLite data directory; restore a "
                        "PostgreSQL store with pg_restore, then `cellgated backup verify "
                        "--store DSN`\n");
        return 2;
    }
    if (!cfg->restore_key) {
        fprintf(stderr, "cellgated: backup restore needs --key FILE: the signing.key of the "
                        "server the backup was taken from (a backup never holds it)\n");
        return 2;
    }
    empty = dir_empty(data);
    if (empty != 1) {
        fprintf(stderr, "cellgated: %s %s: restore only into a new or empty data directory\n", data,
                empty == 0 ? "is not empty" : strerror(errno));
        return 1;
    }
    if (verify_dir(dir, &m, NULL, msg) < 0) {
        fprintf(stderr, "cellgated: backup %s does NOT verify, nothing restored: %s\n", dir, msg);
        return 1;
    }
    if (key_public(cfg->restore_key, hex, msg) < 0)
        goto fail;
    if (strcmp(hex, json_string_value(json_object_get(m, "signing_pubkey"))) != 0) {
        snprintf(msg, sizeof msg,
                 "%s is key %.16s..., but the backup's store was signed with %.16s... (agents "
                 "pin it): give the backed-up server's signing.key",
                 cfg->restore_key, hex, json_string_value(json_object_get(m, "signing_pubkey")));
        goto fail;
    }
    if (mkdir(data, 0700) == 0)
        made = 1;
    else if (errno != EEXIST) {
        snprintf(msg, sizeof msg, "%s: %s", data, strerror(errno));
        goto fail;
    }
    if (join(key_dst, data, "signing.key") < 0 || join(src, dir, DB_FILE) < 0 ||
        snprintf(partial, sizeof partial, "%s/%s.partial", data, DB_FILE) >= PATH_LEN ||
        join(dst, data, DB_FILE) < 0) {
        snprintf(msg, sizeof msg, "path too long");
        goto fail;
    }
    if (copy_hash(src, partial, 0600, sha, &size, msg) < 0)
        goto fail;
    if (bump_and_record(partial, m, cfg->restore_bump, msg) < 0)
        goto fail;
    if (json_object_get(json_object_get(m, "files"), CKPT_FILE)) {
        char c_src[PATH_LEN], c_dst[PATH_LEN];
        if (join(c_src, dir, CKPT_FILE) < 0 || join(c_dst, data, CKPT_FILE) < 0 ||
            copy_hash(c_src, c_dst, 0600, sha, &size, msg) < 0)
            goto fail;
    }
    if (copy_hash(cfg->restore_key, key_dst, 0600, sha, &size, msg) < 0)
        goto fail;
    if (fsync_path(partial, 0) != 0 || rename(partial, dst) != 0 || fsync_path(data, 1) != 0) {
        snprintf(msg, sizeof msg, "%s: %s", dst, strerror(errno));
        goto fail;
    }
    fprintf(stderr,
            "cellgated: restored backup %s (taken %s) into %s: %lld audit records, every "
            "config's generation + %zu; start it with `cellgated serve --data %s`\n",
            dir, json_string_value(json_object_get(m, "created")), data,
            (long long)json_integer_value(json_object_get(json_object_get(m, "audit"), "records")),
            cfg->restore_bump, data);
    json_decref(m);
    return 0;
fail:
    json_decref(m);
    /* the directory was empty: nothing of ours is worth keeping */
    if (made)
        remove_tree(data);
    else {
        static const char *const ours[] = {DB_FILE ".partial", DB_FILE ".partial-wal",
                                           DB_FILE ".partial-shm", CKPT_FILE, "signing.key"};
        for (size_t i = 0; i < CG_ARRAY_SIZE(ours); i++)
            if (join(dst, data, ours[i]) == 0)
                unlink(dst);
    }
    fprintf(stderr, "cellgated: restore failed, %s left empty: %s\n", data, msg);
    return 1;
}

/* `backup bump --store DSN`: after pg_restore or a PITR, what `backup
 * restore` does to a SQLite store (store_generations_bump()), with the
 * server stopped. */
static int backup_bump(const struct daemon_config *cfg)
{
    char smsg[STORE_MSG_MAX] = "", red[512], key[64], *text;
    struct store *st = NULL;
    struct store_config *cs = NULL;
    size_t n = 0;
    int64_t now = cg_now_ms();
    json_t *v;
    int rc;

    if (!cfg->store_dsn) {
        fprintf(stderr, "cellgated: backup bump needs --store DSN (a SQLite backup's restore "
                        "bumps by itself)\n");
        return 2;
    }
    store_dsn_redact(cfg->store_dsn, red, sizeof red);
    v = json_pack("{s:s,s:I}", "by", "backup bump", "generation_bump",
                  (json_int_t)cfg->restore_bump);
    text = v ? cg_json_dump(v) : NULL;
    json_decref(v);
    if (!text) {
        fprintf(stderr, "cellgated: no memory\n");
        return 1;
    }
    snprintf(key, sizeof key, "restore.%lld", (long long)now);
    rc = store_open(cfg->store_dsn, &st, smsg);
    if (rc == CG_OK)
        rc = store_generations_bump(st, (int64_t)cfg->restore_bump, key, text, smsg);
    if (rc == CG_OK)
        rc = store_config_list(st, &cs, &n, smsg);
    free(text);
    store_close(st);
    if (rc != CG_OK) {
        fprintf(stderr, "cellgated: store %s: generations NOT raised: %s\n", red, smsg);
        return 1;
    }
    printf("store %s: every config's generation and assignment + %zu, recorded as meta/%s\n", red,
           cfg->restore_bump, key);
    for (size_t i = 0; i < n; i++)
        printf("  config %s: generation %lld\n", cs[i].name, (long long)cs[i].generation);
    store_configs_free(cs, n);
    return 0;
}

int tool_backup(const struct daemon_config *cfg, const char *const *args, size_t nargs)
{
    const char *sub = nargs > 0 ? args[0] : "";

    if (strcmp(sub, "create") == 0 && nargs == 2)
        return backup_create(cfg, args[1]);
    if (strcmp(sub, "verify") == 0 && (nargs == 2 || (nargs == 1 && cfg->store_dsn)))
        return backup_verify(cfg, nargs == 2 ? args[1] : NULL);
    if (strcmp(sub, "restore") == 0 && nargs == 2)
        return backup_restore(cfg, args[1]);
    if (strcmp(sub, "bump") == 0 && nargs == 1)
        return backup_bump(cfg);
    fprintf(stderr, "cellgated: usage: cellgated backup create OUT --data DIR\n"
                    "       cellgated backup verify BACKUP | verify --store DSN\n"
                    "       cellgated backup restore BACKUP --data NEWDIR --key signing.key "
                    "[--bump-generations N]\n"
                    "       cellgated backup bump --store DSN [--bump-generations N]\n");
    return 2;
}
