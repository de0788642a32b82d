/* SPDX-License-Identifier: MIT */
/*
 * tls.c: the server's TLS credentials (load, check, swap on reload), the
 * certificate callback each handshake calls, and the TLS metrics; see
 * tls.h. Client certificates are tls_peer.c.
 */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "stats.h"
#include "tls_int.h"
#include "util.h"

/* Largest PEM file read (a chain, a CA bundle). */
#define TLS_FILE_MAX (1024 * 1024)

/* Reads a PEM file into out (malloc'd, NUL-terminated; the caller frees
 * out->data). A private key (is_key) must be a regular file that other
 * users cannot access, checked on the open descriptor. 0, or -1 with msg. */
static int read_pem(const char *what, const char *path, int is_key, gnutls_datum_t *out, char *msg)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    char *buf = NULL;
    size_t len = 0;

    out->data = NULL;
    out->size = 0;
    if (fd < 0) {
        snprintf(msg, 256, "%s %s: %s", what, path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(msg, 256, "%s %s: not a regular file", what, path);
        goto fail;
    }
    if (is_key && (st.st_mode & S_IRWXO)) {
        snprintf(msg, 256,
                 "%s %s is accessible by other users (mode %04o): refusing it; chmod 600 it "
                 "(or 640 with a group of its own)",
                 what, path, (unsigned)(st.st_mode & 07777));
        goto fail;
    }
    if (st.st_size > TLS_FILE_MAX) {
        snprintf(msg, 256, "%s %s: larger than %d bytes", what, path, TLS_FILE_MAX);
        goto fail;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        snprintf(msg, 256, "out of memory");
        goto fail;
    }
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(msg, 256, "%s %s: %s", what, path,
                     n < 0 ? strerror(errno) : "shorter than it was");
            goto fail;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fd);
    out->data = (unsigned char *)buf;
    out->size = (unsigned)len;
    return 0;
fail:
    free(buf);
    close(fd);
    return -1;
}

/* Wipes and frees a datum read by read_pem(). */
static void datum_free(gnutls_datum_t *d)
{
    if (d->data) {
        gnutls_memset(d->data, 0, d->size);
        free(d->data);
    }
    d->data = NULL;
    d->size = 0;
}

static void creds_free(struct tls_creds *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->npcerts; i++)
        gnutls_pcert_deinit(&c->pcerts[i]);
    if (c->key)
        gnutls_privkey_deinit(c->key);
    if (c->client_ca)
        gnutls_x509_trust_list_deinit(c->client_ca, 1);
    free(c);
}

/* notAfter of a DER certificate (Unix s), or 0 when it cannot be read. */
static int64_t not_after(const gnutls_datum_t *der)
{
    gnutls_x509_crt_t crt;
    time_t t = 0;

    if (gnutls_x509_crt_init(&crt) < 0)
        return 0;
    if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) == 0)
        t = gnutls_x509_crt_get_expiration_time(crt);
    gnutls_x509_crt_deinit(crt);
    return t == (time_t)-1 ? 0 : (int64_t)t;
}

/* Whether the private key is the certificate's: 1 yes, 0 no. */
static int key_matches(gnutls_privkey_t key, gnutls_pubkey_t cert_pub)
{
    unsigned char a[64], b[64];
    size_t na = sizeof a, nb = sizeof b;
    gnutls_pubkey_t pub;
    int ok;

    if (gnutls_pubkey_init(&pub) < 0)
        return 0;
    ok = gnutls_pubkey_import_privkey(pub, key, 0, 0) == 0 &&
         gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &na) == 0 &&
         gnutls_pubkey_get_key_id(cert_pub, GNUTLS_KEYID_USE_SHA256, b, &nb) == 0 && na == nb &&
         memcmp(a, b, na) == 0;
    gnutls_pubkey_deinit(pub);
    return ok;
}

/* The server's chain and key into c. 0, or -1 with msg. */
static int load_cert_key(const struct tls_config *cfg, struct tls_creds *c, char *msg)
{
    gnutls_datum_t pem;
    unsigned n = TLS_CHAIN_MAX;
    int rc;

    if (read_pem("--tls-cert", cfg->cert_file, 0, &pem, msg) < 0)
        return -1;
    rc = gnutls_pcert_list_import_x509_raw(c->pcerts, &n, &pem, GNUTLS_X509_FMT_PEM,
                                           GNUTLS_X509_CRT_LIST_IMPORT_FAIL_IF_EXCEED |
                                               GNUTLS_X509_CRT_LIST_FAIL_IF_UNSORTED);
    datum_free(&pem);
    if (rc < 0 || n == 0) {
        snprintf(msg, 256, "--tls-cert %s: %s", cfg->cert_file,
                 rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
        return -1;
    }
    c->npcerts = n;
    c->cert_not_after = not_after(&c->pcerts[0].cert);
    if (read_pem("--tls-key", cfg->key_file, 1, &pem, msg) < 0)
        return -1;
    rc = gnutls_privkey_init(&c->key);
    if (rc == 0)
        rc = gnutls_privkey_import_x509_raw(c->key, &pem, GNUTLS_X509_FMT_PEM, NULL, 0);
    datum_free(&pem);
    if (rc < 0) {
        snprintf(msg, 256, "--tls-key %s: %s (a PEM private key without a passphrase)",
                 cfg->key_file, gnutls_strerror(rc));
        return -1;
    }
    if (!key_matches(c->key, c->pcerts[0].pubkey)) {
        snprintf(msg, 256, "--tls-key %s is not the key of the certificate in --tls-cert %s",
                 cfg->key_file, cfg->cert_file);
        return -1;
    }
    return 0;
}

/* The client CAs into c (and their PEM into *pem_out when not NULL). 0, or
 * -1 with msg. */
static int load_client_ca(const char *path, struct tls_creds *c, char **pem_out, char *msg)
{
    gnutls_datum_t pem;
    gnutls_x509_crt_t *crts = NULL;
    unsigned n = 0;
    int rc;

    if (read_pem("--tls-client-ca", path, 0, &pem, msg) < 0)
        return -1;
    rc = gnutls_x509_crt_list_import2(&crts, &n, &pem, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || n == 0) {
        snprintf(msg, 256, "--tls-client-ca %s: %s", path,
                 rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
        datum_free(&pem);
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        time_t t = gnutls_x509_crt_get_expiration_time(crts[i]);
        if (t != (time_t)-1 && (c->ca_not_after == 0 || (int64_t)t < c->ca_not_after))
            c->ca_not_after = (int64_t)t;
        gnutls_x509_crt_deinit(crts[i]);
    }
    gnutls_free(crts);
    rc = gnutls_x509_trust_list_init(&c->client_ca, 0);
    if (rc < 0) {
        c->client_ca = NULL;
    } else {
        rc = gnutls_x509_trust_list_add_trust_mem(c->client_ca, &pem, NULL, GNUTLS_X509_FMT_PEM, 0,
                                                  0);
    }
    if (rc <= 0) {
        snprintf(msg, 256, "--tls-client-ca %s: %s", path,
                 rc < 0 ? gnutls_strerror(rc) : "no CA certificate in it");
        datum_free(&pem);
        return -1;
    }
    if (pem_out) {
        *pem_out = (char *)pem.data; /* NUL-terminated by read_pem() */
        pem.data = NULL;
    }
    datum_free(&pem);
    return 0;
}

/* A new snapshot from the files of cfg. NULL with msg. */
static struct tls_creds *creds_load(const struct tls_config *cfg, char **ca_pem, char *msg)
{
    struct tls_creds *c = calloc(1, sizeof *c);

    if (!c) {
        snprintf(msg, 256, "out of memory");
        return NULL;
    }
    if (load_cert_key(cfg, c, msg) < 0 ||
        (cfg->client_ca_file && load_client_ca(cfg->client_ca_file, c, ca_pem, msg) < 0)) {
        creds_free(c);
        return NULL;
    }
    c->refs = 1;
    return c;
}

struct tls *tls_new(const struct tls_config *cfg, char *msg)
{
    struct tls *t;
    gnutls_priority_t prio;
    const char *err_pos = NULL;
    const char *prios = cfg->priorities ? cfg->priorities : TLS_DEFAULT_PRIORITIES;
    int rc;

    if (!cfg->cert_file || !cfg->key_file) {
        snprintf(msg, 256, "TLS needs both --tls-cert and --tls-key");
        return NULL;
    }
    rc = gnutls_priority_init(&prio, prios, &err_pos);
    if (rc < 0) {
        snprintf(msg, 256, "--tls-priorities: %s at '%.40s'", gnutls_strerror(rc),
                 err_pos ? err_pos : prios);
        return NULL;
    }
    gnutls_priority_deinit(prio);
    t = calloc(1, sizeof *t);
    if (t)
        t->priorities = strdup(prios);
    if (!t || !t->priorities) {
        free(t);
        snprintf(msg, 256, "out of memory");
        return NULL;
    }
    t->cfg = *cfg;
    pthread_mutex_init(&t->mu, NULL);
    t->cur = creds_load(cfg, &t->client_ca_pem, msg);
    if (!t->cur) {
        tls_free(t);
        return NULL;
    }
    t->cur->gen = t->gen = 1;
    return t;
}

void tls_free(struct tls *t)
{
    if (!t)
        return;
    creds_free(t->cur);
    pthread_mutex_destroy(&t->mu);
    free(t->priorities);
    free(t->client_ca_pem);
    free(t);
}

const char *tls_priorities(const struct tls *t)
{
    return t->priorities;
}

const char *tls_client_ca_pem(const struct tls *t)
{
    return t->client_ca_pem;
}

struct tls_creds *tls_creds_get(struct tls *t)
{
    struct tls_creds *c;

    pthread_mutex_lock(&t->mu);
    c = t->cur;
    c->refs++;
    pthread_mutex_unlock(&t->mu);
    return c;
}

void tls_creds_put(struct tls *t, struct tls_creds *c)
{
    unsigned left;

    if (!c)
        return;
    pthread_mutex_lock(&t->mu);
    left = --c->refs;
    pthread_mutex_unlock(&t->mu);
    if (left == 0)
        creds_free(c);
}

void tls_count_refused(struct tls *t)
{
    pthread_mutex_lock(&t->mu);
    t->peers_refused++;
    pthread_mutex_unlock(&t->mu);
}

int tls_reload(struct tls *t, char *msg)
{
    struct tls_creds *c = creds_load(&t->cfg, NULL, msg), *old;

    pthread_mutex_lock(&t->mu);
    if (!c) {
        t->reloads_bad++;
        pthread_mutex_unlock(&t->mu);
        return -1;
    }
    c->gen = ++t->gen;
    old = t->cur;
    t->cur = c;
    t->reloads_ok++;
    pthread_mutex_unlock(&t->mu);
    tls_creds_put(t, old); /* freed when the last connection that uses it closes */
    return 0;
}

struct tls_conn *tls_conn_new(struct tls *t)
{
    struct tls_conn *tc = calloc(1, sizeof *tc);

    if (tc)
        tc->tls = t;
    return tc;
}

void tls_conn_free(struct tls_conn *tc)
{
    if (!tc)
        return;
    if (!tc->finished) {
        pthread_mutex_lock(&tc->tls->mu);
        tc->tls->hs_failed++;
        pthread_mutex_unlock(&tc->tls->mu);
    }
    tls_creds_put(tc->tls, tc->creds);
    free(tc);
}

/* The struct tls_conn of a session: libmicrohttpd makes its connection the
 * session's pointer, and http.c makes the tls_conn its socket context. */
static struct tls_conn *conn_of(gnutls_session_t session)
{
    struct MHD_Connection *conn = gnutls_session_get_ptr(session);
    const union MHD_ConnectionInfo *ci;

    if (!conn)
        return NULL;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Handshake hook: the client's Finished arrived and checked out, so the
 * handshake is done (TLS 1.2 and 1.3 alike; no resumption here). */
static int on_handshake_msg(gnutls_session_t session, unsigned int htype, unsigned when,
                            unsigned int incoming, const gnutls_datum_t *msg)
{
    struct tls_conn *tc;

    (void)msg;
    if (htype != GNUTLS_HANDSHAKE_FINISHED || when != GNUTLS_HOOK_POST || !incoming)
        return 0;
    tc = conn_of(session);
    if (tc && !tc->finished) {
        gnutls_protocol_t v = gnutls_protocol_get_version(session);
        tc->finished = 1;
        pthread_mutex_lock(&tc->tls->mu);
        if (v == GNUTLS_TLS1_3)
            tc->tls->hs_tls13++;
        else
            tc->tls->hs_tls12++;
        pthread_mutex_unlock(&tc->tls->mu);
    }
    return 0;
}

int tls_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                      const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                      gnutls_pcert_st **pcert, unsigned int *pcert_length,
                      gnutls_privkey_t *privkey)
{
    struct tls_conn *tc = conn_of(session);

    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    if (!tc)
        return -1;
    if (!tc->creds) {
        /* the connection keeps these until it closes, whatever reloads */
        tc->creds = tls_creds_get(tc->tls);
        gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_FINISHED, GNUTLS_HOOK_POST,
                                           on_handshake_msg);
    }
    *pcert = tc->creds->pcerts;
    *pcert_length = tc->creds->npcerts;
    *privkey = tc->creds->key;
    return 0;
}

void tls_render_stats(struct tls *t, struct cg_buf *b)
{
    uint64_t ok, bad, h12, h13, failed, refused;
    int64_t cert_exp, ca_exp;

    pthread_mutex_lock(&t->mu);
    ok = t->reloads_ok;
    bad = t->reloads_bad;
    h12 = t->hs_tls12;
    h13 = t->hs_tls13;
    failed = t->hs_failed;
    refused = t->peers_refused;
    cert_exp = t->cur->cert_not_after;
    ca_exp = t->cur->client_ca ? t->cur->ca_not_after : -1;
    pthread_mutex_unlock(&t->mu);
    stats_family(b, "cellgate_tls_cert_expiry_timestamp_seconds", "gauge",
                 "When a certificate in use expires (notAfter, Unix seconds): cert=\"server\" the "
                 "server's (--tls-cert), cert=\"client_ca\" the first of --tls-client-ca to "
                 "expire.");
    cg_buf_printf(b, "cellgate_tls_cert_expiry_timestamp_seconds{cert=\"server\"} %lld\n",
                  (long long)cert_exp);
    if (ca_exp >= 0)
        cg_buf_printf(b, "cellgate_tls_cert_expiry_timestamp_seconds{cert=\"client_ca\"} %lld\n",
                      (long long)ca_exp);
    stats_family(b, "cellgate_tls_reloads_total", "counter",
                 "Reloads of the TLS files on SIGHUP: outcome=\"ok\" swapped the credentials, "
                 "outcome=\"failed\" kept the old ones (the log says why).");
    cg_buf_printf(b, "cellgate_tls_reloads_total{outcome=\"ok\"} %llu\n", (unsigned long long)ok);
    cg_buf_printf(b, "cellgate_tls_reloads_total{outcome=\"failed\"} %llu\n",
                  (unsigned long long)bad);
    stats_family(b, "cellgate_tls_handshakes_total", "counter",
                 "TLS handshakes that finished, by protocol version.");
    cg_buf_printf(b, "cellgate_tls_handshakes_total{version=\"TLS1.2\"} %llu\n",
                  (unsigned long long)h12);
    cg_buf_printf(b, "cellgate_tls_handshakes_total{version=\"TLS1.3\"} %llu\n",
                  (unsigned long long)h13);
    stats_family(b, "cellgate_tls_handshake_failures_total", "counter",
                 "Connections closed before their TLS handshake finished: refused protocol "
                 "versions or ciphers, clients that do not trust the certificate, plain HTTP "
                 "sent to the TLS port, connections closed before a handshake.");
    cg_buf_printf(b, "cellgate_tls_handshake_failures_total %llu\n", (unsigned long long)failed);
    stats_family(b, "cellgate_tls_client_certs_refused_total", "counter",
                 "Client certificates refused on agent routes (not signed by --tls-client-ca, "
                 "expired, or not exactly one cellgate://CELL/HOST name), once per connection.");
    cg_buf_printf(b, "cellgate_tls_client_certs_refused_total %llu\n", (unsigned long long)refused);
}
