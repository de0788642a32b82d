/* SPDX-License-Identifier: MIT */
/*
 * reports_persist.c: the hosts' health histories across a restart
 * (docs/correlation.md "Health history"); see reports.h,
 * reports_history_save() and reports_history_load().
 *
 * The histories live in memory (reports_history.c). A clean stop writes
 * them to one file in the data directory; the next start reads it back
 * as "dormant" histories: kept apart from the hosts the reports know
 * (nothing but correlation reads them, so a host that has not reported
 * since the start is in no view, convergence or canary choice), read by
 * reports_history_get*() for a host with no live history, and adopted by
 * the host at its first report with health if it is still in the same
 * cell. The server also saves them every --history-save-every seconds
 * while it runs (history_saver.c), so a crash loses at most that much; the
 * save copies the rings a chunk at a time under the lock and writes
 * without it. The file's buckets are stamped with their time and so only
 * fill their own slots.
 *
 * The file (native byte order, this machine's own):
 *
 *   "CGHIST01"                  magic
 *   u32 1, u32 flags            version; flags bit 0: latency rings follow
 *   i64 bucket_ms, u64 buckets  the history's geometry
 *   i64 saved_ms, u64 hosts
 *   hosts x { u16 len, name; u16 len, cell; i64 head;
 *             buckets x (u32 requests, u32 errors);
 *             [buckets x (u32 observations, u32 slow)] }
 *   32 bytes                    SHA-256 of everything before
 *
 * Written to NAME.tmp, fsync'd and renamed over NAME; read whole and
 * checked (magic, geometry, lengths, names, the hash) before anything is
 * kept: a file that fails any check is ignored, with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports_int.h"
#include "sha256.h"
#include "util.h"

#define MAGIC        "CGHIST01"
#define HEADER_BYTES (8 + 4 + 4 + 8 + 8 + 8 + 8)
#define FLAG_LATENCY 1u

/* ---- writing ---------------------------------------------------------- */

struct out {
    FILE *f;
    struct cg_sha256 h;
    int failed;
    int err; /* errno of the first failure */
};

static void put(struct out *o, const void *p, size_t n)
{
    if (o->failed || n == 0)
        return;
    if (fwrite(p, 1, n, o->f) != n) {
        o->failed = 1;
        o->err = errno;
    }
    cg_sha256_update(&o->h, p, n);
}

static void put_str(struct out *o, const char *s)
{
    uint16_t n = (uint16_t)strlen(s);

    put(o, &n, sizeof n);
    put(o, s, n);
}

/* One host's copy, taken under the lock for the write that follows
 * without it (reports_history_save()). */
struct snap {
    char name[REPORTS_NAME_MAX];
    char cell[REPORTS_NAME_MAX];
    int64_t head; /* 0: gone since the listing (dropped at the next load) */
    struct reports_hist_bucket *ring, *lat; /* into the chunk's buffer */
};

/* Copies the history of 'name' (live first, else dormant) into sn,
 * the lock held. A host that has none any more keeps head 0 and zeros. */
static void snap_take(struct reports *r, struct snap *sn, size_t nb, int latency)
{
    struct cg_hentry *e = cg_hashmap_get(&r->hosts, sn->name);
    const struct host *h = e ? CG_HENTRY(e, struct host, link) : NULL;
    const struct host_hist *hh = NULL;
    const char *cell = NULL;

    if (h && h->hist.ring) {
        hh = &h->hist;
        cell = h->cell;
    } else if ((e = cg_hashmap_get(&r->dormant, sn->name))) {
        const struct dormant *d = CG_HENTRY(e, struct dormant, link);
        hh = &d->hist;
        cell = d->cell;
    }
    sn->head = 0;
    memset(sn->ring, 0, nb * sizeof *sn->ring);
    if (latency)
        memset(sn->lat, 0, nb * sizeof *sn->lat);
    if (!hh || !hh->ring)
        return;
    cg_strlcpy(sn->cell, cell, sizeof sn->cell);
    sn->head = hh->head;
    memcpy(sn->ring, hh->ring, nb * sizeof *sn->ring);
    if (latency && hh->lat)
        memcpy(sn->lat, hh->lat, nb * sizeof *sn->lat);
}

static void put_snap(struct out *o, const struct snap *sn, size_t nb, int latency)
{
    put_str(o, sn->name);
    put_str(o, sn->cell);
    put(o, &sn->head, sizeof sn->head);
    put(o, sn->ring, nb * sizeof *sn->ring);
    if (latency)
        put(o, sn->lat, nb * sizeof *sn->lat);
}

/* The names (and cells) of the hosts with a history, live ones first,
 * then dormant ones, at most max_hosts in all: *n of them, or NULL when
 * memory is short. Takes the lock (the array is allocated without it; a
 * host that comes meanwhile waits for the next save). Dormant histories
 * that can no longer help anyone go: those older than the ring's span at
 * now_ms, and those past max_hosts (hosts that never came back while new
 * ones did), so memory and the file stay within the reports' bound. */
static struct snap *list_hosts(struct reports *r, int64_t now_ms, size_t *n)
{
    int64_t oldest = now_ms / r->cfg.history_bucket_ms - (int64_t)r->cfg.history_buckets;
    struct cg_hashmap_iter it;
    struct snap *all;
    size_t k = 0, cap;

    pthread_mutex_lock(&r->mu);
    cap = r->nhosts + cg_hashmap_count(&r->dormant);
    pthread_mutex_unlock(&r->mu);
    if (cap > r->cfg.max_hosts)
        cap = r->cfg.max_hosts;
    all = calloc(cap ? cap : 1, sizeof *all);
    if (!all)
        return NULL;
    pthread_mutex_lock(&r->mu);
    for (const struct host *h = r->lru_head; h && k < cap; h = h->lru_next)
        if (h->hist.ring) {
            cg_strlcpy(all[k].name, h->name, sizeof all[k].name);
            cg_strlcpy(all[k].cell, h->cell, sizeof all[k].cell);
            k++;
        }
    cg_hashmap_iter_init(&it, &r->dormant);
    for (struct cg_hentry *e; (e = cg_hashmap_iter_next(&it));) {
        struct dormant *d = CG_HENTRY(e, struct dormant, link);
        if (d->hist.head <= oldest || k >= r->cfg.max_hosts) {
            cg_hashmap_remove_entry(&r->dormant, e);
            rp_dormant_free(d);
            continue;
        }
        if (k >= cap)
            continue; /* live hosts came meanwhile: kept, saved next time */
        cg_strlcpy(all[k].name, d->name, sizeof all[k].name);
        cg_strlcpy(all[k].cell, d->cell, sizeof all[k].cell);
        k++;
    }
    pthread_mutex_unlock(&r->mu);
    *n = k;
    return all;
}

/* Bytes of rings copied under one hold of the lock (at least one host):
 * the write never holds ingestion off for more than a copy of this. */
#define SAVE_CHUNK_BYTES (4u << 20)

int reports_history_save(struct reports *r, const char *path, int64_t now_ms, size_t *saved,
                         char *msg)
{
    char tmp[4096];
    unsigned char sum[CG_SHA256_BYTES];
    struct out o = {0};
    uint32_t ver = 1, flags = r->slow_from ? FLAG_LATENCY : 0;
    int latency = (flags & FLAG_LATENCY) != 0;
    int64_t bms = r->cfg.history_bucket_ms;
    uint64_t nb = r->cfg.history_buckets, nh;
    size_t n = 0, per_host = (size_t)nb * sizeof(struct reports_hist_bucket) * (latency ? 2 : 1);
    size_t chunk = SAVE_CHUNK_BYTES / per_host ? SAVE_CHUNK_BYTES / per_host : 1;
    struct snap *all;
    struct reports_hist_bucket *buf;
    int fd;

    *saved = 0;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return snprintf(msg, 256, "path too long"), -1;
    all = list_hosts(r, now_ms, &n);
    if (chunk > n)
        chunk = n ? n : 1;
    buf = all ? malloc(chunk * per_host) : NULL;
    if (!buf) {
        free(all);
        return snprintf(msg, 256, "out of memory"), -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(o.f = fdopen(fd, "wb"))) {
        snprintf(msg, 256, "cannot write %.200s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(buf);
        free(all);
        return -1;
    }
    cg_sha256_init(&o.h);
    nh = n;
    put(&o, MAGIC, 8);
    put(&o, &ver, sizeof ver);
    put(&o, &flags, sizeof flags);
    put(&o, &bms, sizeof bms);
    put(&o, &nb, sizeof nb);
    put(&o, &now_ms, sizeof now_ms);
    put(&o, &nh, sizeof nh);
    for (size_t i = 0; i < n && !o.failed; i += chunk) {
        size_t m = n - i < chunk ? n - i : chunk;

        for (size_t k = 0; k < m; k++) {
            all[i + k].ring = buf + k * (per_host / sizeof *buf);
            all[i + k].lat = latency ? all[i + k].ring + nb : NULL;
        }
        pthread_mutex_lock(&r->mu);
        for (size_t k = 0; k < m; k++)
            snap_take(r, &all[i + k], (size_t)nb, latency);
        pthread_mutex_unlock(&r->mu);
        for (size_t k = 0; k < m; k++)
            put_snap(&o, &all[i + k], (size_t)nb, latency);
    }
    free(buf);
    free(all);
    cg_sha256_final(&o.h, sum);
    if (!o.failed && fwrite(sum, 1, sizeof sum, o.f) != sizeof sum)
        o.failed = 1, o.err = errno;
    if (!o.failed && (fflush(o.f) != 0 || fsync(fileno(o.f)) != 0))
        o.failed = 1, o.err = errno;
    if (fclose(o.f) != 0 && !o.failed)
        o.failed = 1, o.err = errno;
    if (!o.failed && rename(tmp, path) != 0)
        o.failed = 1, o.err = errno;
    if (o.failed) {
        snprintf(msg, 256, "cannot write %.200s: %s", path, strerror(o.err ? o.err : EIO));
        unlink(tmp);
        return -1;
    }
    cg_fsync_dir_of(path);
    *saved = n;
    return 0;
}

/* ---- reading ---------------------------------------------------------- */

struct in {
    const unsigned char *p, *end;
};

static int get(struct in *i, void *out, size_t n)
{
    if ((size_t)(i->end - i->p) < n)
        return -1;
    memcpy(out, i->p, n);
    i->p += n;
    return 0;
}

static int get_name(struct in *i, char out[REPORTS_NAME_MAX])
{
    uint16_t n;

    if (get(i, &n, sizeof n) < 0 || n == 0 || n >= REPORTS_NAME_MAX || get(i, out, n) < 0)
        return -1;
    out[n] = '\0';
    return cg_valid_name(out) ? 0 : -1;
}

static void dormant_release(struct cg_hentry *e, void *arg)
{
    struct dormant *d = CG_HENTRY(e, struct dormant, link);

    (void)arg;
    free(d->hist.ring);
    free(d->hist.lat);
    free(d);
}

void rp_dormant_clear(struct reports *r)
{
    cg_hashmap_clear(&r->dormant, dormant_release, NULL);
}

struct dormant *rp_dormant_take(struct reports *r, const char *host)
{
    struct cg_hentry *e = cg_hashmap_remove(&r->dormant, host);

    return e ? CG_HENTRY(e, struct dormant, link) : NULL;
}

void rp_dormant_free(struct dormant *d)
{
    if (d)
        dormant_release(&d->link, NULL);
}

/* Checks the whole file (read into buf) before anything is kept. */
static int check(struct reports *r, const unsigned char *buf, size_t len, uint32_t *flags,
                 uint64_t *nh, char *msg)
{
    unsigned char sum[CG_SHA256_BYTES];
    struct in i = {buf, buf + len};
    uint32_t ver = 0;
    int64_t bms = 0, saved = 0;
    uint64_t nb = 0;

    if (len < HEADER_BYTES + CG_SHA256_BYTES || memcmp(buf, MAGIC, 8) != 0)
        return snprintf(msg, 256, "not a health history file"), -1;
    cg_sha256(buf, len - CG_SHA256_BYTES, sum);
    if (memcmp(sum, buf + len - CG_SHA256_BYTES, CG_SHA256_BYTES) != 0)
        return snprintf(msg, 256, "its checksum does not match (a torn or edited file)"), -1;
    i.p += 8;
    i.end -= CG_SHA256_BYTES;
    get(&i, &ver, sizeof ver);
    get(&i, flags, sizeof *flags);
    get(&i, &bms, sizeof bms);
    get(&i, &nb, sizeof nb);
    get(&i, &saved, sizeof saved);
    get(&i, nh, sizeof *nh);
    if (ver != 1 || (*flags & ~FLAG_LATENCY))
        return snprintf(msg, 256, "version %u, flags %u: not this server's format", ver, *flags),
               -1;
    if (bms != r->cfg.history_bucket_ms || nb != r->cfg.history_buckets)
        return snprintf(msg, 256,
                        "written with %lld buckets of %lld ms, this server keeps %zu of %lld ms",
                        (long long)nb, (long long)bms, r->cfg.history_buckets,
                        (long long)r->cfg.history_bucket_ms),
               -1;
    if (*nh > r->cfg.max_hosts)
        return snprintf(msg, 256, "%llu hosts, more than the reports keep (%zu)",
                        (unsigned long long)*nh, r->cfg.max_hosts),
               -1;
    for (uint64_t k = 0; k < *nh; k++) {
        char name[REPORTS_NAME_MAX], cell[REPORTS_NAME_MAX];
        int64_t head;
        size_t ring = (size_t)nb * sizeof(struct reports_hist_bucket);
        if (get_name(&i, name) < 0 || get_name(&i, cell) < 0 || get(&i, &head, sizeof head) < 0 ||
            (size_t)(i.end - i.p) < ring * ((*flags & FLAG_LATENCY) ? 2 : 1))
            return snprintf(msg, 256, "host %llu of %llu is malformed", (unsigned long long)k + 1,
                            (unsigned long long)*nh),
                   -1;
        i.p += ring * ((*flags & FLAG_LATENCY) ? 2 : 1);
    }
    if (i.p != i.end)
        return snprintf(msg, 256, "%zu bytes after the last host", (size_t)(i.end - i.p)), -1;
    return 0;
}

int reports_history_load(struct reports *r, const char *path, int64_t now_ms, size_t *loaded,
                         char *msg)
{
    unsigned char *buf;
    struct in i;
    uint32_t flags = 0;
    uint64_t nh = 0;
    size_t nb = r->cfg.history_buckets, ring = nb * sizeof(struct reports_hist_bucket), len = 0;
    int64_t now_slot = now_ms / r->cfg.history_bucket_ms;
    /* at most what max_hosts hosts' rings and names take */
    size_t max = HEADER_BYTES + CG_SHA256_BYTES + r->cfg.max_hosts * (2 * ring + 140);

    *loaded = 0;
    buf = (unsigned char *)cg_read_file(path, max, &len);
    if (!buf) {
        if (errno == ENOENT)
            return 1;
        return snprintf(msg, 256, "cannot read %.200s: %s", path,
                        errno == EFBIG ? "larger than any history of this server"
                                       : strerror(errno)),
               -1;
    }
    if (check(r, buf, len, &flags, &nh, msg) < 0) {
        free(buf);
        return -1;
    }
    i.p = buf + HEADER_BYTES;
    i.end = buf + len - CG_SHA256_BYTES;
    pthread_mutex_lock(&r->mu);
    for (uint64_t k = 0; k < nh; k++) {
        struct dormant *d = calloc(1, sizeof *d);
        struct cg_hentry *old = NULL;
        int64_t head = 0;
        if (!d)
            break; /* out of memory: keep what is loaded */
        get_name(&i, d->name);
        get_name(&i, d->cell);
        get(&i, &head, sizeof head);
        d->hist.head = head;
        d->hist.ring = malloc(ring);
        if (d->hist.ring)
            get(&i, d->hist.ring, ring);
        else
            i.p += ring; /* the next host's record stays where it is */
        if (flags & FLAG_LATENCY) {
            if (r->slow_from && (d->hist.lat = malloc(ring)))
                get(&i, d->hist.lat, ring);
            else
                i.p += ring;
        }
        /* forgotten already (older than the ring), or saved under a clock
         * that was ahead (its buckets would hold new reports off), or a host
         * that reported since the start (its live history wins), or out of
         * memory */
        if (!d->hist.ring || head <= now_slot - (int64_t)nb || head > now_slot ||
            cg_hashmap_get(&r->hosts, d->name) ||
            cg_hashmap_put(&r->dormant, d->name, &d->link, &old) < 0) {
            rp_dormant_free(d);
            continue;
        }
        rp_dormant_free(old ? CG_HENTRY(old, struct dormant, link) : NULL);
        if (!old)
            (*loaded)++;
    }
    pthread_mutex_unlock(&r->mu);
    free(buf);
    return 0;
}
