/* SPDX-License-Identifier: MIT */
/*
 * tls.c - the client's transport security settings: the CA file, the
 * client certificate, and the rule that plain http:// is for this host
 * only (cellgate.h, "Transport security"). http.c hands them to libcurl
 * and applies the rule before every request.
 */
#include <cellgate/cellgate.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib-internal.h"

int cg__plain_http_remote(const char *url)
{
    char host[256];
    const char *h, *end, *at;
    size_t n;
    struct in_addr a4;
    struct in6_addr a6;

    if (!url || strncasecmp(url, "http://", 7) != 0) {
        return 0;
    }
    h = url + 7;
    end = h + strcspn(h, "/?#");
    at = memchr(h, '@', (size_t)(end - h));
    if (at) {
        h = at + 1; /* userinfo */
    }
    if (*h == '[') {
        const char *close = memchr(h, ']', (size_t)(end - h));
        if (!close) {
            return 1;
        }
        n = (size_t)(close - h - 1);
        if (n >= sizeof host) {
            return 1;
        }
        memcpy(host, h + 1, n);
        host[n] = '\0';
        return !(inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6));
    }
    n = strcspn(h, ":/?#");
    if (h + n > end) {
        n = (size_t)(end - h);
    }
    if (n == 0 || n >= sizeof host) {
        return 1;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    if (strcasecmp(host, "localhost") == 0) {
        return 0;
    }
    /* only a dotted quad: "127.1" or "0x7f.1" are names to a resolver */
    return !(inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127);
}

/* Replaces *slot with a copy of v (NULL or "": none). */
static int set_path(char **slot, const char *v, struct cg_error *err)
{
    char *copy = NULL;

    if (v && v[0]) {
        copy = strdup(v);
        if (!copy) {
            return cg__error_set(err, CG_ERR_NOMEM, 0, "out of memory");
        }
    }
    free(*slot);
    *slot = copy;
    return CG_OK;
}

/* A file we can read now: CG_OK, or CG_ERR_INVALID naming it. A private
 * key must also be closed to other users. */
static int readable(const char *what, const char *path, int is_key, struct cg_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    int rc = CG_OK;

    if (fd < 0) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "%s %s: %s", what, path, strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = cg__error_set(err, CG_ERR_INVALID, 0, "%s %s: not a regular file", what, path);
    } else if (is_key && (st.st_mode & S_IRWXO)) {
        rc = cg__error_set(err, CG_ERR_INVALID, 0,
                           "%s %s is accessible by other users (mode %04o): refusing it; "
                           "chmod 600 it (or 640 with a group of its own)",
                           what, path, (unsigned)(st.st_mode & 07777));
    }
    close(fd);
    return rc;
}

int cg_client_set_ca_file(struct cg_client *c, const char *path, struct cg_error *err)
{
    int rc;

    if (!c) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "client is NULL");
    }
    if (path && path[0]) {
        rc = readable("CA file", path, 0, err);
        if (rc != CG_OK) {
            return rc;
        }
    }
    return set_path(&c->ca_file, path, err);
}

int cg_client_set_client_cert(struct cg_client *c, const char *cert_file, const char *key_file,
                              struct cg_error *err)
{
    bool have_cert = cert_file && cert_file[0], have_key = key_file && key_file[0];
    char *cert = NULL, *key = NULL;
    int rc;

    if (!c) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "client is NULL");
    }
    if (have_cert != have_key) {
        return cg__error_set(err, CG_ERR_INVALID, 0,
                             "a client certificate needs both its certificate and its key file");
    }
    if (have_cert) {
        rc = readable("client certificate", cert_file, 0, err);
        if (rc == CG_OK) {
            rc = readable("client key", key_file, 1, err);
        }
        if (rc != CG_OK) {
            return rc;
        }
    }
    rc = set_path(&cert, cert_file, err);
    if (rc == CG_OK) {
        rc = set_path(&key, key_file, err);
    }
    if (rc != CG_OK) {
        free(cert);
        return rc;
    }
    free(c->client_cert);
    free(c->client_key);
    c->client_cert = cert;
    c->client_key = key;
    return CG_OK;
}

int cg_client_set_allow_plain_http(struct cg_client *c, int allow)
{
    if (!c) {
        return CG_ERR_INVALID;
    }
    c->allow_plain = allow != 0;
    return CG_OK;
}

int cg_client_check(const struct cg_client *c, struct cg_error *err)
{
    if (!c) {
        return cg__error_set(err, CG_ERR_INVALID, 0, "client is NULL");
    }
    if (!c->allow_plain && cg__plain_http_remote(c->server)) {
        return cg__error_set(err, CG_ERR_INVALID, 0,
                             "refusing plain http:// to %s, which is not this host: the token "
                             "and every answer would cross the network unencrypted; use "
                             "https:// (or allow plain HTTP explicitly: --allow-plain-http)",
                             c->server);
    }
    return CG_OK;
}
