/* SPDX-License-Identifier: MIT */
/*
 * checkpointer.c: signs the audit chain's head now and then, keeps the
 * checkpoints in the store, in DIR/audit-checkpoints and in the log, and
 * refuses a chain that no longer extends them; see checkpointer.h.
 */
#include "checkpointer.h"
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "sign.h"
#include "stats.h"
#include "util.h"

#define WALK_PAGE 1000  /* audit records read per query */
#define TAIL_MAX  65536 /* bytes of the file read to find its last line */

struct checkpointer {
    struct store *st;
    const struct cg_signkey *key; /* borrowed */
    struct cg_pubkey pub;         /* its public half */
    char path[4096];
    int64_t period_ms;
    int accept;
    int fd; /* the file, opened for appending at the first write; -1 before */
    pthread_t thread;
    int running;
    char problem[2 * STORE_MSG_MAX]; /* the last problem logged (the round's thread) */
    pthread_mutex_t mu;              /* guards what follows */
    pthread_cond_t cv;
    int stopping;
    int have_last;
    struct cg_checkpoint last; /* the base of the next round */
    uint64_t signed_n, failures;
    int chain_ok;
    struct notify *notify; /* announcements (checkpointer_set_notify()); NULL: none */
};

struct checkpointer *checkpointer_new(struct store *st, const struct cg_signkey *key,
                                      const struct checkpointer_config *cfg, char *msg)
{
    struct checkpointer *ck;

    if (!st || !key || !cfg || !cfg->path || cfg->period_ms < 0) {
        snprintf(msg, STORE_MSG_MAX, "checkpointer: bad configuration");
        return NULL;
    }
    ck = calloc(1, sizeof *ck);
    if (!ck) {
        snprintf(msg, STORE_MSG_MAX, "out of memory");
        return NULL;
    }
    if (cg_strlcpy(ck->path, cfg->path, sizeof ck->path) >= sizeof ck->path) {
        snprintf(msg, STORE_MSG_MAX, "checkpointer: path too long");
        free(ck);
        return NULL;
    }
    ck->st = st;
    ck->key = key;
    cg_signkey_public(key, &ck->pub);
    ck->period_ms = cfg->period_ms;
    ck->accept = cfg->accept_rewrite;
    ck->fd = -1;
    ck->chain_ok = 1;
    pthread_mutex_init(&ck->mu, NULL);
    pthread_cond_init(&ck->cv, NULL);
    return ck;
}

/* ---- The file ---- */

/* fsyncs the directory holding path (a new file's name is durable). */
static void fsync_dir(const char *path)
{
    char dir[4096];
    int fd;

    cg_strlcpy(dir, path, sizeof dir);
    fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Appends len bytes to the file and fsyncs it: 0, or -1 with msg. */
static int file_append(struct checkpointer *ck, const char *data, size_t len, char *msg,
                       size_t msglen)
{
    if (ck->fd < 0) {
        int existed = access(ck->path, F_OK) == 0;
        ck->fd = open(ck->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (ck->fd < 0) {
            snprintf(msg, msglen, "cannot open %s: %s", ck->path, strerror(errno));
            return -1;
        }
        if (!existed)
            fsync_dir(ck->path);
    }
    while (len > 0) {
        ssize_t w = write(ck->fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(msg, msglen, "cannot write %s: %s", ck->path, strerror(errno));
            return -1;
        }
        data += w;
        len -= (size_t)w;
    }
    if (fsync(ck->fd) != 0) {
        snprintf(msg, msglen, "cannot fsync %s: %s", ck->path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Reads up to the last TAIL_MAX bytes of fd (size bytes long) into a new
 * buffer; *off gets the file offset of its first byte. NULL on failure. */
static char *read_tail(int fd, off_t size, off_t *off, size_t *len)
{
    size_t n, got = 0;
    char *buf;

    *off = size > TAIL_MAX ? size - TAIL_MAX : 0;
    n = (size_t)(size - *off);
    buf = malloc(n + 1);
    while (buf && got < n) {
        ssize_t r = pread(fd, buf + got, n - got, *off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return NULL;
        }
        got += (size_t)r;
    }
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

/* The start of the line that ends before buf[end] (the byte after the
 * previous '\n', or 0); -1 when the line starts before the buffer. */
static long line_start(const char *buf, size_t end, off_t off)
{
    size_t i = end;

    while (i > 0 && buf[i - 1] != '\n')
        i--;
    return i == 0 && off > 0 ? -1 : (long)i;
}

/*
 * The newest checkpoint of the file: 1 with *out, 0 when there is none (no
 * file, or empty), -1 with msg. A last line without its '\n' was torn by a
 * crash during the append: completed when it is a whole checkpoint,
 * otherwise cut off (it never was one).
 */
static int file_last(struct checkpointer *ck, struct cg_checkpoint *out, char *msg, size_t msglen)
{
    char why[256];
    struct stat sb;
    off_t off;
    size_t len;
    long start;
    char *buf;
    int fd = open(ck->path, O_RDONLY | O_CLOEXEC), rc = -1;

    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        snprintf(msg, msglen, "cannot read %s: %s", ck->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (sb.st_size == 0) {
        close(fd);
        return 0;
    }
    buf = read_tail(fd, sb.st_size, &off, &len);
    close(fd);
    if (!buf) {
        snprintf(msg, msglen, "cannot read %s", ck->path);
        return -1;
    }
    if (buf[len - 1] != '\n') {
        start = line_start(buf, len, off);
        if (start >= 0 &&
            cg_checkpoint_parse_line(buf + start, len - (size_t)start, out, NULL, 0) == CG_OK) {
            fprintf(stderr,
                    "cellgated: %s: its last line had no newline (a crash while it was "
                    "written); completing it\n",
                    ck->path);
            rc = file_append(ck, "\n", 1, msg, msglen) < 0 ? -1 : 1;
            free(buf);
            return rc;
        }
        if (start < 0 || truncate(ck->path, off + start) != 0) {
            snprintf(msg, msglen, "%s: cannot drop its torn last line: %s", ck->path,
                     start < 0 ? "line too long" : strerror(errno));
            free(buf);
            return -1;
        }
        fprintf(stderr,
                "cellgated: %s: dropped its torn last line (%zu bytes written by a crash while "
                "it was appended)\n",
                ck->path, len - (size_t)start);
        len = (size_t)start;
        if (len == 0) {
            free(buf);
            return 0;
        }
    }
    start = line_start(buf, len - 1, off);
    if (start < 0 || cg_checkpoint_parse_line(buf + start, len - 1 - (size_t)start, out, why,
                                              sizeof why) != CG_OK) {
        snprintf(msg, msglen, "%s: its last line is not a checkpoint (%s): the file was edited",
                 ck->path, start < 0 ? "too long" : why);
        free(buf);
        return -1;
    }
    free(buf);
    return 1;
}

/* ---- The chain ---- */

/* The audit record seq into *rec: 1, 0 when there is none, or a CG_ERR_*
 * with msg. */
static int record_at(struct store *st, int64_t seq, struct store_audit *rec, char *msg)
{
    struct store_audit *a = NULL;
    size_t n = 0;
    int rc = store_audit_list(st, seq - 1, 1, &a, &n, msg);

    if (rc != CG_OK)
        return rc;
    if (n == 0 || a[0].seq != seq) {
        store_audits_free(a, n);
        return 0;
    }
    *rec = a[0];
    free(a);
    return 1;
}

/* The hash of a's fields chained to prev. */
static void rehash(const struct store_audit *a, const char *prev, char out[65])
{
    struct cg_audit_fields f = {prev,      a->seq,    a->time_ms, a->actor, a->action,
                                a->object, a->before, a->after,   a->reason};

    cg_audit_hash(&f, out);
}

/*
 * Does the chain still have checkpoint c's record with c's hash? 1 yes; 0
 * no, with why (whylen bytes) saying what it has instead; a CG_ERR_* when
 * the store failed (why holds its message).
 */
static int chain_has(struct checkpointer *ck, const struct cg_checkpoint *c, char *why,
                     size_t whylen)
{
    char smsg[STORE_MSG_MAX] = "", h[65];
    struct store_audit rec;
    int rc = record_at(ck->st, c->seq, &rec, smsg);

    if (rc < 0) {
        snprintf(why, whylen, "%s", smsg);
        return rc;
    }
    if (rc == 0) {
        snprintf(why, whylen,
                 "the chain has no record %" PRId64 " any more: it was cut short (records "
                 "deleted, or the store restored from an older copy)",
                 c->seq);
        return 0;
    }
    rehash(&rec, rec.prev_hash, h);
    if (strcmp(rec.hash, c->hash) != 0)
        snprintf(why, whylen,
                 "record %" PRId64 " has hash %.16s..., not %.16s...: the chain was rewritten",
                 c->seq, rec.hash, c->hash);
    else if (strcmp(h, rec.hash) != 0)
        snprintf(why, whylen,
                 "record %" PRId64 " was altered: its fields no longer hash to %.16s...", c->seq,
                 c->hash);
    rc = strcmp(rec.hash, c->hash) == 0 && strcmp(h, rec.hash) == 0;
    store_audit_free(&rec);
    return rc;
}

/*
 * Walks the records after (seq, prev) to the head, checking every link.
 * On CG_OK *seq and prev are the head; on CG_ERR_VERIFY why says where the
 * chain breaks; other errors are the store's (why holds its message).
 */
static int walk(struct checkpointer *ck, int64_t *seq, char prev[65], char *why, size_t whylen)
{
    for (;;) {
        char smsg[STORE_MSG_MAX] = "";
        struct store_audit *a = NULL;
        size_t n = 0;
        int rc = store_audit_list(ck->st, *seq, WALK_PAGE, &a, &n, smsg);

        if (rc != CG_OK) {
            snprintf(why, whylen, "%s", smsg);
            return rc;
        }
        for (size_t i = 0; i < n; i++) {
            char h[65];
            rehash(&a[i], prev, h);
            if (a[i].seq != *seq + 1 || strcmp(a[i].prev_hash, prev) != 0 ||
                strcmp(h, a[i].hash) != 0) {
                snprintf(why, whylen,
                         "the chain breaks at seq %" PRId64 " (after seq %" PRId64
                         "): a record was removed, altered or inserted",
                         a[i].seq, *seq);
                store_audits_free(a, n);
                return CG_ERR_VERIFY;
            }
            *seq = a[i].seq;
            memcpy(prev, a[i].hash, 65);
        }
        store_audits_free(a, n);
        if (n < WALK_PAGE)
            return CG_OK;
    }
}

/* ---- Rounds ---- */

/* Logs a round's problem once (until it changes) and counts it. */
void checkpointer_set_notify(struct checkpointer *ck, struct notify *n)
{
    if (ck)
        ck->notify = n;
}

static void round_failed(struct checkpointer *ck, int chain, const char *why)
{
    pthread_mutex_lock(&ck->mu);
    ck->failures++;
    if (chain)
        ck->chain_ok = 0;
    pthread_mutex_unlock(&ck->mu);
    if (strcmp(ck->problem, why) == 0)
        return;
    cg_strlcpy(ck->problem, why, sizeof ck->problem);
    if (chain) {
        struct notify_announcement a = {
            "audit.verify_failed", cg_now_ms(), 0, NULL, "system", why, NULL};
        fprintf(stderr,
                "cellgated: AUDIT: the audit chain no longer extends the last checkpoint: %s; "
                "no checkpoint is signed over it\n",
                why);
        notify_announce(ck->notify, &a);
    } else
        fprintf(stderr, "cellgated: audit checkpoint: cannot sign: %s\n", why);
}

/* Signs (seq, hash), writes it to the file, the store and the log. */
static int sign_head(struct checkpointer *ck, int64_t seq, const char *hash)
{
    char why[2 * STORE_MSG_MAX] = "", smsg[STORE_MSG_MAX] = "";
    struct cg_checkpoint c;
    struct cg_buf line = {0};
    int rc;

    memset(&c, 0, sizeof c);
    c.seq = seq;
    cg_strlcpy(c.hash, hash, sizeof c.hash);
    c.time_ms = cg_now_ms();
    if (cg_checkpoint_sign(&c, ck->key, why, sizeof why) != CG_OK ||
        cg_checkpoint_line(&c, &line) != 0) {
        if (!why[0])
            snprintf(why, sizeof why, "out of memory");
        cg_buf_free(&line);
        round_failed(ck, 0, why);
        return -1;
    }
    /* the file first: it is the copy that a rewrite of the database cannot
     * reach */
    if (file_append(ck, line.data, line.len, why, sizeof why) < 0) {
        cg_buf_free(&line);
        round_failed(ck, 0, why);
        return -1;
    }
    fprintf(stderr, "cellgated: audit checkpoint %s", line.data);
    cg_buf_free(&line);
    pthread_mutex_lock(&ck->mu);
    ck->last = c;
    ck->have_last = 1;
    ck->signed_n++;
    ck->chain_ok = 1;
    pthread_mutex_unlock(&ck->mu);
    ck->problem[0] = '\0';
    rc = store_checkpoint_put(ck->st, &c, smsg);
    if (rc != CG_OK) {
        snprintf(why, sizeof why, "the store did not keep checkpoint %" PRId64 ": %s", seq, smsg);
        round_failed(ck, 0, why);
    }
    return 1;
}

int checkpointer_round(struct checkpointer *ck)
{
    char why[2 * STORE_MSG_MAX] = "", prev[65] = CG_AUDIT_GENESIS;
    struct cg_checkpoint base;
    int64_t seq = 0;
    int have, rc;

    pthread_mutex_lock(&ck->mu);
    have = ck->have_last;
    base = ck->last;
    pthread_mutex_unlock(&ck->mu);
    if (have) {
        rc = chain_has(ck, &base, why, sizeof why);
        if (rc != 1) {
            round_failed(ck, rc == 0, why);
            return -1;
        }
        seq = base.seq;
        memcpy(prev, base.hash, sizeof prev);
    }
    rc = walk(ck, &seq, prev, why, sizeof why);
    if (rc != CG_OK) {
        round_failed(ck, rc == CG_ERR_VERIFY, why);
        return -1;
    }
    pthread_mutex_lock(&ck->mu);
    ck->chain_ok = 1;
    pthread_mutex_unlock(&ck->mu);
    if (ck->problem[0]) {
        fprintf(stderr, "cellgated: audit checkpoint: the chain checks out again\n");
        ck->problem[0] = '\0';
    }
    if (seq == (have ? base.seq : 0))
        return 0;
    return sign_head(ck, seq, prev);
}

/* ---- The start check ---- */

/* A candidate base from 'where': 1 when usable; 0 (with a warning) when it
 * claims this server's key but its signature does not verify. */
static int usable(struct checkpointer *ck, const struct cg_checkpoint *c, const char *where)
{
    char why[128];

    if (strcmp(c->key_id, ck->pub.key_id) != 0)
        return 1; /* signed before a key rotation: its key is not at hand */
    if (cg_checkpoint_verify(c, &ck->pub, 1, why, sizeof why) == CG_OK)
        return 1;
    fprintf(stderr,
            "cellgated: AUDIT: ignoring the checkpoint of seq %" PRId64 " in %s: %s (not "
            "signed by this server)\n",
            c->seq, where, why);
    return 0;
}

/* Accepts the loss of checkpoint 'lost' (--accept-audit-rewrite). */
static int accept_loss(struct checkpointer *ck, const struct cg_checkpoint *lost, const char *why,
                       char *msg, size_t msglen)
{
    char smsg[STORE_MSG_MAX] = "", reason[STORE_MSG_MAX];
    struct store_actor who = {"system", reason};
    int64_t dropped = 0;

    snprintf(reason, sizeof reason, "cellgated --accept-audit-rewrite: %s", why);
    fprintf(stderr,
            "cellgated: AUDIT: --accept-audit-rewrite: accepting that the audit chain no longer "
            "extends checkpoint seq %" PRId64 " (hash %s): %s\n",
            lost->seq, lost->hash, why);
    if (store_checkpoint_reset(ck->st, lost, &who, &dropped, smsg) != CG_OK) {
        snprintf(msg, msglen, "store: %s", smsg);
        return -1;
    }
    fprintf(stderr,
            "cellgated: AUDIT: recorded as audit.rewrite_accepted; checkpoints the chain "
            "contradicts dropped from the store: %" PRId64
            " (%s keeps its lines); checking the chain from its first record\n",
            dropped, ck->path);
    pthread_mutex_lock(&ck->mu);
    ck->have_last = 0;
    pthread_mutex_unlock(&ck->mu);
    return 0;
}

/* Compares candidate c (from 'where') with the chain: 1 it holds, 0 it is
 * contradicted (printed; *lost set), -1 store error (msg). */
static int compare(struct checkpointer *ck, const struct cg_checkpoint *c, const char *where,
                   const struct cg_checkpoint **lost, char *why, size_t whylen, char *msg,
                   size_t msglen)
{
    char when[32];
    int rc = chain_has(ck, c, why, whylen);

    if (rc < 0) {
        snprintf(msg, msglen, "store: %s", why);
        return -1;
    }
    if (rc == 0) {
        cg_time_format(c->time_ms, when);
        fprintf(stderr,
                "cellgated: AUDIT: checkpoint seq %" PRId64 " (hash %s, signed %s by key %s, "
                "in %s): %s\n",
                c->seq, c->hash, when, c->key_id, where, why);
        if (!*lost || c->seq > (*lost)->seq)
            *lost = c;
    }
    return rc;
}

int checkpointer_open(struct checkpointer *ck, char *msg, size_t msglen)
{
    char smsg[STORE_MSG_MAX] = "", why[2 * STORE_MSG_MAX] = "", lost_why[2 * STORE_MSG_MAX] = "";
    struct cg_checkpoint fc, tc;
    const struct cg_checkpoint *lost = NULL, *base = NULL;
    int hf = file_last(ck, &fc, msg, msglen), ht, rc;

    if (hf < 0)
        return -1;
    rc = store_checkpoint_last(ck->st, &tc, smsg);
    if (rc != CG_OK && rc != CG_ERR_NOTFOUND) {
        snprintf(msg, msglen, "store: %s", smsg);
        return -1;
    }
    ht = rc == CG_OK;
    hf = hf && usable(ck, &fc, ck->path);
    ht = ht && usable(ck, &tc, "the store");
    if (hf) {
        rc = compare(ck, &fc, ck->path, &lost, why, sizeof why, msg, msglen);
        if (rc < 0)
            return -1;
        if (rc == 0)
            memcpy(lost_why, why, sizeof lost_why);
        base = &fc;
    }
    if (ht) {
        const struct cg_checkpoint *before = lost;
        rc = compare(ck, &tc, "the store", &lost, why, sizeof why, msg, msglen);
        if (rc < 0)
            return -1;
        if (lost != before)
            memcpy(lost_why, why, sizeof lost_why);
        if (!base || tc.seq > base->seq)
            base = &tc;
    }
    if (lost) {
        if (!ck->accept) {
            fprintf(stderr,
                    "cellgated: AUDIT: refusing to start: the audit log was cut short or "
                    "rewritten since checkpoint seq %" PRId64
                    ". If that is expected (the store was restored from a backup), start once "
                    "with --accept-audit-rewrite: the loss is then logged and audited\n",
                    lost->seq);
            snprintf(msg, msglen,
                     "the audit log no longer extends its checkpoint of seq %" PRId64
                     " (cut short or rewritten): refusing to start without "
                     "--accept-audit-rewrite",
                     lost->seq);
            return -1;
        }
        if (accept_loss(ck, lost, lost_why, msg, msglen) < 0)
            return -1;
    } else {
        if (ck->accept)
            fprintf(stderr, "cellgated: --accept-audit-rewrite: the audit chain extends its "
                            "last checkpoint; nothing to accept\n");
        if (base) {
            pthread_mutex_lock(&ck->mu);
            ck->last = *base;
            ck->have_last = 1;
            pthread_mutex_unlock(&ck->mu);
        }
    }
    checkpointer_round(ck); /* a failure is logged and counted; the server starts */
    return 0;
}

/* ---- The thread ---- */

static void *run(void *arg)
{
    struct checkpointer *ck = arg;

    for (;;) {
        struct timespec ts;
        int stop;

        pthread_mutex_lock(&ck->mu);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += ck->period_ms / 1000;
        ts.tv_nsec += (ck->period_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!ck->stopping)
            pthread_cond_timedwait(&ck->cv, &ck->mu, &ts);
        stop = ck->stopping;
        pthread_mutex_unlock(&ck->mu);
        if (stop)
            return NULL;
        checkpointer_round(ck);
    }
}

int checkpointer_start(struct checkpointer *ck)
{
    if (!ck || ck->period_ms == 0)
        return 0;
    if (pthread_create(&ck->thread, NULL, run, ck) != 0)
        return -1;
    ck->running = 1;
    return 0;
}

void checkpointer_stop(struct checkpointer *ck)
{
    if (!ck)
        return;
    pthread_mutex_lock(&ck->mu);
    if (ck->stopping) {
        pthread_mutex_unlock(&ck->mu);
        return;
    }
    ck->stopping = 1;
    pthread_cond_broadcast(&ck->cv);
    pthread_mutex_unlock(&ck->mu);
    if (ck->running)
        pthread_join(ck->thread, NULL);
    ck->running = 0;
    checkpointer_round(ck); /* the final head, signed at a clean shutdown */
}

void checkpointer_free(struct checkpointer *ck)
{
    if (!ck)
        return;
    if (ck->running) { /* never stopped (a start that failed later): no last round */
        pthread_mutex_lock(&ck->mu);
        ck->stopping = 1;
        pthread_cond_broadcast(&ck->cv);
        pthread_mutex_unlock(&ck->mu);
        pthread_join(ck->thread, NULL);
    }
    if (ck->fd >= 0)
        close(ck->fd);
    pthread_mutex_destroy(&ck->mu);
    pthread_cond_destroy(&ck->cv);
    free(ck);
}

int checkpointer_last(struct checkpointer *ck, struct cg_checkpoint *out)
{
    int have;

    if (!ck)
        return 0;
    pthread_mutex_lock(&ck->mu);
    have = ck->have_last;
    if (have)
        *out = ck->last;
    pthread_mutex_unlock(&ck->mu);
    return have;
}

static void render_stats(void *ctx, struct cg_buf *b)
{
    struct checkpointer *ck = ctx;
    struct cg_checkpoint last;
    uint64_t signed_n, failures;
    int have, ok;

    pthread_mutex_lock(&ck->mu);
    have = ck->have_last;
    last = ck->last;
    signed_n = ck->signed_n;
    failures = ck->failures;
    ok = ck->chain_ok;
    pthread_mutex_unlock(&ck->mu);
    stats_family(b, "cellgate_audit_checkpoint_seq", "gauge",
                 "The audit seq covered by the newest signed checkpoint this server holds "
                 "(0: none).");
    cg_buf_printf(b, "cellgate_audit_checkpoint_seq %" PRId64 "\n", have ? last.seq : 0);
    stats_family(b, "cellgate_audit_checkpoint_time_seconds", "gauge",
                 "When that checkpoint was signed, Unix time (0: none).");
    cg_buf_printf(b, "cellgate_audit_checkpoint_time_seconds %.3f\n",
                  have ? (double)last.time_ms / 1000.0 : 0.0);
    stats_family(b, "cellgate_audit_checkpoints_total", "counter",
                 "Audit checkpoints this process signed.");
    cg_buf_printf(b, "cellgate_audit_checkpoints_total %" PRIu64 "\n", signed_n);
    stats_family(b, "cellgate_audit_checkpoint_failures_total", "counter",
                 "Checkpoint rounds that could not sign or store the head.");
    cg_buf_printf(b, "cellgate_audit_checkpoint_failures_total %" PRIu64 "\n", failures);
    stats_family(b, "cellgate_audit_chain_ok", "gauge",
                 "0 when the audit chain no longer extends the newest checkpoint (cut short, "
                 "rewritten or broken after it), else 1.");
    cg_buf_printf(b, "cellgate_audit_chain_ok %d\n", ok);
}

int checkpointer_register_stats(struct checkpointer *ck, struct stats *st)
{
    return stats_register(st, "audit", render_stats, ck);
}
