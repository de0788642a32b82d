/* SPDX-License-Identifier: MIT */
/* accesslog.c: the access log; see accesslog.h. */
#include "accesslog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AL_PATH_MAX 256 /* bytes of a path logged; longer ones end in "..." */

struct accesslog {
    pthread_mutex_t mu;
    FILE *f;
    int own;    /* 1: opened here, closed by accesslog_close() */
    char *path; /* owned; NULL for standard error */
};

struct accesslog *accesslog_open(const char *path, char *msg)
{
    struct accesslog *al = calloc(1, sizeof *al);

    if (!al) {
        snprintf(msg, 256, "out of memory");
        return NULL;
    }
    if (strcmp(path, "-") == 0) {
        al->f = stderr;
    } else {
        al->f = fopen(path, "ae");
        al->own = 1;
        al->path = strdup(path);
        if (!al->f || !al->path) {
            snprintf(msg, 256, "--access-log %s: %s", path,
                     al->f ? "out of memory" : strerror(errno));
            if (al->f)
                fclose(al->f);
            free(al->path);
            free(al);
            return NULL;
        }
    }
    pthread_mutex_init(&al->mu, NULL);
    return al;
}

int accesslog_reopen(struct accesslog *al, char *msg)
{
    FILE *f, *old;

    if (!al || !al->own)
        return 0;
    f = fopen(al->path, "ae");
    if (!f) {
        snprintf(msg, 256, "--access-log %s: %s (still writing to the file opened before)",
                 al->path, strerror(errno));
        return -1;
    }
    pthread_mutex_lock(&al->mu);
    old = al->f;
    al->f = f;
    pthread_mutex_unlock(&al->mu);
    fclose(old);
    return 0;
}

void accesslog_close(struct accesslog *al)
{
    if (!al)
        return;
    if (al->own)
        fclose(al->f);
    pthread_mutex_destroy(&al->mu);
    free(al->path);
    free(al);
}

/* Copies s into out (n bytes) with control bytes, spaces and quotes as
 * '?' (a path is logged as one field that cannot forge a line). */
static void field(char *out, size_t n, const char *s)
{
    size_t i = 0;

    for (; s && *s && i + 4 < n; s++)
        out[i++] = (unsigned char)*s <= 0x20 || *s == 0x7f || *s == '"' ? '?' : *s;
    if (s && *s)
        memcpy(out + i, "...", 3), i += 3;
    out[i] = '\0';
}

void accesslog_line(struct accesslog *al, const struct sockaddr *peer, const char *method,
                    const char *path, int status, int64_t duration_us, const char *route,
                    const char *who, size_t bytes)
{
    char addr[INET_ADDRSTRLEN] = "-", ts[32], p[AL_PATH_MAX], m[16];
    struct timespec now;
    struct tm tm;

    if (!al)
        return;
    if (peer && peer->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)peer)->sin_addr, addr,
                  sizeof addr);
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    field(p, sizeof p, path);
    field(m, sizeof m, method);
    pthread_mutex_lock(&al->mu);
    fprintf(al->f, "%s.%03ldZ %s %s %s %d %.1fms route=%s who=%s bytes=%zu\n", ts,
            now.tv_nsec / 1000000L, addr, m, p, status, (double)duration_us / 1000.0,
            route && *route ? route : "-", who && *who ? who : "-", bytes);
    fflush(al->f);
    pthread_mutex_unlock(&al->mu);
}
