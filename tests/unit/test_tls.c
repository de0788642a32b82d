/* SPDX-License-Identifier: MIT */
/*
 * test_tls.c - the server's TLS credentials (server/http/tls.c,
 * tls_peer.c) without a network: agent names (cellgate://CELL/HOST) parse
 * only in their one form; tls_new() refuses every bad file with a message
 * naming it (a key others may read, a key that is not the certificate's, no
 * certificate, a bad priority string, an empty client CA file); a reload
 * with a bad file keeps the credentials in use and counts the failure, a
 * good one swaps them; and a snapshot a connection holds stays valid across
 * a reload until it is given back (the sanitizer pass checks the memory).
 * Certificates are made here with GnuTLS.
 */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "testhelp.h"

#include "buf.h"
#include "tls.h"
#include "tls_int.h"

struct pki {
    char *dir;
    char path[8][512];
    size_t npaths;
};

static const char *file_in(struct pki *p, const char *name)
{
    char *slot = p->path[p->npaths++ % 8];

    snprintf(slot, 512, "%s/%s", p->dir, name);
    return slot;
}

static void write_datum(const char *path, const gnutls_datum_t *d, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fwrite(d->data, 1, d->size, f), d->size);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static gnutls_x509_privkey_t make_key(const char *path, mode_t mode)
{
    gnutls_x509_privkey_t k;
    gnutls_datum_t d;

    assert_int_equal(gnutls_x509_privkey_init(&k), 0);
    assert_int_equal(gnutls_x509_privkey_generate(
                         k, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
                     0);
    assert_int_equal(gnutls_x509_privkey_export2(k, GNUTLS_X509_FMT_PEM, &d), 0);
    write_datum(path, &d, mode);
    gnutls_free(d.data);
    return k;
}

/* A certificate for key, signed by (ca, ca_key), or self-signed as a CA
 * when ca is NULL; valid until now + days. */
static gnutls_x509_crt_t make_cert(const char *path, gnutls_x509_privkey_t key,
                                   gnutls_x509_crt_t ca, gnutls_x509_privkey_t ca_key,
                                   unsigned serial, int days)
{
    gnutls_x509_crt_t c;
    gnutls_datum_t d;
    unsigned char sn[4] = {0, (unsigned char)(serial >> 16), (unsigned char)(serial >> 8),
                           (unsigned char)serial};
    time_t now = time(NULL);

    assert_int_equal(gnutls_x509_crt_init(&c), 0);
    assert_int_equal(gnutls_x509_crt_set_version(c, 3), 0);
    assert_int_equal(gnutls_x509_crt_set_serial(c, sn, sizeof sn), 0);
    assert_int_equal(gnutls_x509_crt_set_activation_time(c, now - 3600), 0);
    assert_int_equal(gnutls_x509_crt_set_expiration_time(c, now + (time_t)days * 86400), 0);
    assert_int_equal(gnutls_x509_crt_set_key(c, key), 0);
    assert_int_equal(gnutls_x509_crt_set_dn(c, ca ? "CN=127.0.0.1" : "CN=test CA", NULL), 0);
    assert_int_equal(gnutls_x509_crt_set_basic_constraints(c, ca ? 0 : 1, -1), 0);
    assert_int_equal(gnutls_x509_crt_sign2(c, ca ? ca : c, ca ? ca_key : key, GNUTLS_DIG_SHA256, 0),
                     0);
    assert_int_equal(gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_PEM, &d), 0);
    write_datum(path, &d, 0644);
    gnutls_free(d.data);
    return c;
}

/* The value of a sample line of t's /metrics text (-1 when missing). */
static double metric(struct tls *t, const char *line_start)
{
    struct cg_buf b = {0};
    const char *p;
    double v = -1;

    tls_render_stats(t, &b);
    p = b.data ? strstr(b.data, line_start) : NULL;
    if (p)
        v = strtod(p + strlen(line_start), NULL);
    cg_buf_free(&b);
    return v;
}

static void agent_names(void **state)
{
    static const struct {
        const char *uri;
        const char *cell, *host; /* NULL: refused */
    } cases[] = {
        {"cellgate://c1/h1", "c1", "h1"},
        {"CELLGATE://eu-1.a/web-01.example", "eu-1.a", "web-01.example"},
        {"cellgate://c1/h1/x", NULL, NULL},
        {"cellgate://c1/", NULL, NULL},
        {"cellgate:///h1", NULL, NULL},
        {"cellgate://c1", NULL, NULL},
        {"cellgate://C1/h1", NULL, NULL},
        {"cellgate://c1/h1?x", NULL, NULL},
        {"cellgate://c1:80/h1", NULL, NULL},
        {"cellgate://user@c1/h1", NULL, NULL},
        {"https://c1/h1", NULL, NULL},
        {"spiffe://c1/h1", NULL, NULL},
        {"", NULL, NULL},
        /* cert:CELL/HOST must fit 63 bytes: 57 for both names */
        {"cellgate://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/hhhhhhhhhhhhhhhhhh", NULL, NULL},
        {"cellgate://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/hhhhhhhhhhhhhhhhh",
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "hhhhhhhhhhhhhhhhh"},
    };
    struct tls_agent a;
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = tls_agent_uri_parse(cases[i].uri, strlen(cases[i].uri), &a, why, sizeof why);
        if (cases[i].cell) {
            char cred[TLS_CREDENTIAL_MAX];
            if (rc != 0)
                fail_msg("%s refused: %s", cases[i].uri, why);
            assert_string_equal(a.cell, cases[i].cell);
            assert_string_equal(a.host, cases[i].host);
            snprintf(cred, sizeof cred, "cert:%s/%s", cases[i].cell, cases[i].host);
            assert_string_equal(a.credential, cred);
        } else {
            if (rc != -1)
                fail_msg("%s accepted as %s/%s", cases[i].uri, a.cell, a.host);
            assert_true(why[0] != '\0');
            assert_string_equal(a.credential, "");
        }
    }
    /* a NUL inside the name (it comes from a certificate) */
    assert_int_equal(tls_agent_uri_parse("cellgate://c1/h1\0x", 18, &a, why, sizeof why), -1);
}

static void refuses_bad_files(void **state)
{
    struct pki p = {th_tmpdir(), {{0}}, 0};
    char msg[256];
    const char *ca_pem = file_in(&p, "ca.pem"), *ca_key = file_in(&p, "ca.key");
    const char *cert = file_in(&p, "srv.pem"), *key = file_in(&p, "srv.key");
    const char *other_key = file_in(&p, "other.key"), *junk = file_in(&p, "junk.pem");
    gnutls_x509_privkey_t ck = make_key(ca_key, 0600), sk = make_key(key, 0600),
                          ok = make_key(other_key, 0600);
    gnutls_x509_crt_t ca = make_cert(ca_pem, ck, NULL, NULL, 1, 3),
                      srv = make_cert(cert, sk, ca, ck, 2, 1);
    struct tls_config cfg = {cert, key, NULL, ca_pem};
    struct tls *t;
    FILE *f = fopen(junk, "w");

    (void)state;
    assert_non_null(f);
    fputs("not a certificate\n", f);
    fclose(f);
    t = tls_new(&cfg, msg);
    if (!t)
        fail_msg("good files refused: %s", msg);
    assert_string_equal(tls_priorities(t), TLS_DEFAULT_PRIORITIES);
    assert_non_null(tls_client_ca_pem(t));
    assert_true(metric(t, "cellgate_tls_cert_expiry_timestamp_seconds{cert=\"server\"} ") >
                (double)time(NULL));
    assert_true(metric(t, "cellgate_tls_cert_expiry_timestamp_seconds{cert=\"client_ca\"} ") >
                (double)time(NULL));
    tls_free(t);

    /* the key others may read: like ssh, refused, naming the file and mode */
    chmod(key, 0644);
    assert_null(tls_new(&cfg, msg));
    assert_non_null(strstr(msg, "accessible by other users"));
    assert_non_null(strstr(msg, key));
    assert_non_null(strstr(msg, "0644"));
    chmod(key, 0640); /* group-readable is the operator's call */
    t = tls_new(&cfg, msg);
    assert_non_null(t);
    tls_free(t);
    chmod(key, 0600);

    cfg.key_file = other_key;
    assert_null(tls_new(&cfg, msg));
    assert_non_null(strstr(msg, "is not the key of the certificate"));
    cfg.key_file = key;
    cfg.cert_file = junk;
    assert_null(tls_new(&cfg, msg));
    assert_non_null(strstr(msg, "--tls-cert"));
    cfg.cert_file = file_in(&p, "missing.pem");
    assert_null(tls_new(&cfg, msg));
    assert_non_null(strstr(msg, "missing.pem"));
    cfg.cert_file = cert;
    cfg.client_ca_file = junk;
    assert_null(tls_new(&cfg, msg));
    assert_non_null(strstr(msg, "--tls-client-ca"));
    cfg.client_ca_file = NULL;
    cfg.priorities = "NORMAL:+NO-SUCH-THING";
    assert_null(tls_new(&cfg, msg));
    assert_non_null(strstr(msg, "--tls-priorities"));
    cfg.priorities = NULL;
    cfg.key_file = NULL;
    assert_null(tls_new(&cfg, msg));
    assert_non_null(strstr(msg, "--tls-key"));

    gnutls_x509_crt_deinit(srv);
    gnutls_x509_crt_deinit(ca);
    gnutls_x509_privkey_deinit(ck);
    gnutls_x509_privkey_deinit(sk);
    gnutls_x509_privkey_deinit(ok);
    th_rmrf(p.dir);
    free(p.dir);
}

static void reload_keeps_or_swaps(void **state)
{
    struct pki p = {th_tmpdir(), {{0}}, 0};
    char msg[256];
    const char *ca_pem = file_in(&p, "ca.pem"), *ca_key = file_in(&p, "ca.key");
    const char *cert = file_in(&p, "srv.pem"), *key = file_in(&p, "srv.key");
    gnutls_x509_privkey_t ck = make_key(ca_key, 0600), sk = make_key(key, 0600);
    gnutls_x509_crt_t ca = make_cert(ca_pem, ck, NULL, NULL, 1, 30),
                      one = make_cert(cert, sk, ca, ck, 2, 1);
    struct tls_config cfg = {cert, key, NULL, NULL};
    struct tls *t = tls_new(&cfg, msg);
    struct tls_creds *held;
    double first_expiry;
    FILE *f;

    (void)state;
    assert_non_null(t);
    first_expiry = metric(t, "cellgate_tls_cert_expiry_timestamp_seconds{cert=\"server\"} ");
    /* a connection's snapshot, taken before the reloads */
    held = tls_creds_get(t);

    f = fopen(cert, "w");
    assert_non_null(f);
    fputs("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    assert_int_equal(tls_reload(t, msg), -1);
    assert_non_null(strstr(msg, cert));
    assert_true(metric(t, "cellgate_tls_reloads_total{outcome=\"failed\"} ") == 1);
    assert_true(metric(t, "cellgate_tls_reloads_total{outcome=\"ok\"} ") == 0);
    assert_true(metric(t, "cellgate_tls_cert_expiry_timestamp_seconds{cert=\"server\"} ") ==
                first_expiry);

    gnutls_x509_crt_t two = make_cert(cert, sk, ca, ck, 3, 5);
    assert_int_equal(tls_reload(t, msg), 0);
    assert_true(metric(t, "cellgate_tls_reloads_total{outcome=\"ok\"} ") == 1);
    assert_true(metric(t, "cellgate_tls_cert_expiry_timestamp_seconds{cert=\"server\"} ") >
                first_expiry + 3 * 86400);
    assert_int_equal(tls_reload(t, msg), 0); /* and again: the middle snapshot is freed */

    /* the held snapshot is the first one, intact, until given back */
    assert_int_equal(held->gen, 1);
    assert_int_equal(held->npcerts, 1);
    assert_true(held->cert_not_after == (int64_t)first_expiry);
    tls_creds_put(t, held);
    held = tls_creds_get(t);
    assert_int_equal(held->gen, 3);
    tls_creds_put(t, held);

    tls_free(t);
    gnutls_x509_crt_deinit(two);
    gnutls_x509_crt_deinit(one);
    gnutls_x509_crt_deinit(ca);
    gnutls_x509_privkey_deinit(ck);
    gnutls_x509_privkey_deinit(sk);
    th_rmrf(p.dir);
    free(p.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(agent_names),
        cmocka_unit_test(refuses_bad_files),
        cmocka_unit_test(reload_keeps_or_swaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
