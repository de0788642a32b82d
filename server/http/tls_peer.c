/* SPDX-License-Identifier: MIT */
/*
 * tls_peer.c: client certificates (mutual TLS for agents; see tls.h): the
 * chain checked against --tls-client-ca, and the agent its one
 * cellgate://CELL/HOST name says it is.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tls.h"
#include "tls_int.h"
#include "util.h"

/* Longest subject alternative name looked at. */
#define TLS_SAN_MAX 1024

int tls_agent_uri_parse(const char *uri, size_t len, struct tls_agent *out, char *why,
                        size_t whylen)
{
    const size_t plen = sizeof TLS_AGENT_URI_PREFIX - 1;
    const char *rest, *slash;
    size_t ncell, nhost;

    memset(out, 0, sizeof *out);
    if (len < plen || strncasecmp(uri, TLS_AGENT_URI_PREFIX, plen) != 0 || memchr(uri, '\0', len)) {
        snprintf(why, whylen, "'%.*s' is not a " TLS_AGENT_URI_PREFIX "CELL/HOST name",
                 (int)(len > 80 ? 80 : len), uri);
        return -1;
    }
    rest = uri + plen;
    len -= plen;
    slash = memchr(rest, '/', len);
    ncell = slash ? (size_t)(slash - rest) : len;
    nhost = slash ? len - ncell - 1 : 0;
    if (!slash || ncell == 0 || ncell >= sizeof out->cell || nhost == 0 ||
        nhost >= sizeof out->host) {
        snprintf(why, whylen, "'%.*s' is not " TLS_AGENT_URI_PREFIX "CELL/HOST",
                 (int)(plen + len > 160 ? 160 : plen + len), uri);
        return -1;
    }
    memcpy(out->cell, rest, ncell);
    memcpy(out->host, slash + 1, nhost);
    if (!cg_valid_name(out->cell) || !cg_valid_name(out->host)) {
        snprintf(why, whylen,
                 "'%.*s': CELL and HOST must be names (1-63 of [a-z0-9._-], one '/' between)",
                 (int)(plen + len > 160 ? 160 : plen + len), uri);
        memset(out, 0, sizeof *out);
        return -1;
    }
    if ((size_t)snprintf(out->credential, sizeof out->credential, "cert:%s/%s", out->cell,
                         out->host) >= sizeof out->credential) {
        snprintf(why, whylen,
                 "'%.*s': CELL and HOST together are longer than %zu bytes (the credential "
                 "cert:CELL/HOST is kept in %zu)",
                 (int)(plen + len > 160 ? 160 : plen + len), uri, sizeof out->credential - 7,
                 sizeof out->credential - 1);
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

/* Checks the chain crts[0..n) against ca for a TLS client. 0, or -1 with
 * why. */
static int verify_chain(gnutls_x509_trust_list_t ca, gnutls_x509_crt_t *crts, unsigned n, char *why,
                        size_t whylen)
{
    gnutls_typed_vdata_st purpose = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
                                     .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
                                     .size = 0};
    unsigned status = 0;
    int rc = gnutls_x509_trust_list_verify_crt2(ca, crts, n, &purpose, 1, 0, &status, NULL);
    gnutls_datum_t text = {NULL, 0};

    if (rc == 0 && status == 0)
        return 0;
    if (rc < 0) {
        snprintf(why, whylen, "client certificate not verified: %s", gnutls_strerror(rc));
        return -1;
    }
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
        size_t tn = strlen((const char *)text.data);
        while (tn > 0 && text.data[tn - 1] == ' ')
            tn--;
        snprintf(why, whylen, "client certificate refused: %.*s", (int)tn, (const char *)text.data);
        gnutls_free(text.data);
    } else {
        snprintf(why, whylen, "client certificate refused (status 0x%x)", status);
    }
    return -1;
}

/* The agent the leaf's one cellgate:// URI names. 0, or -1 with why. */
static int agent_name(gnutls_x509_crt_t leaf, struct tls_agent *out, char *why, size_t whylen)
{
    char name[TLS_SAN_MAX], first[TLS_SAN_MAX];
    size_t first_len = 0;
    unsigned found = 0;
    const size_t plen = sizeof TLS_AGENT_URI_PREFIX - 1;

    for (unsigned i = 0;; i++) {
        size_t size = sizeof name;
        int type = gnutls_x509_crt_get_subject_alt_name(leaf, i, name, &size, NULL);
        if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            break;
        if (type == GNUTLS_E_SHORT_MEMORY_BUFFER) {
            snprintf(why, whylen,
                     "client certificate has a subject alternative name longer "
                     "than %d bytes",
                     TLS_SAN_MAX - 1);
            return -1;
        }
        if (type < 0) {
            snprintf(why, whylen, "client certificate's names: %s", gnutls_strerror(type));
            return -1;
        }
        if (type != GNUTLS_SAN_URI || size < plen ||
            strncasecmp(name, TLS_AGENT_URI_PREFIX, plen) != 0)
            continue;
        if (found++ == 0) {
            memcpy(first, name, size);
            first_len = size;
        }
    }
    if (found == 0) {
        snprintf(why, whylen,
                 "client certificate names no " TLS_AGENT_URI_PREFIX
                 "CELL/HOST URI (subject alternative name)");
        return -1;
    }
    if (found > 1) {
        snprintf(why, whylen,
                 "client certificate names %u " TLS_AGENT_URI_PREFIX
                 " URIs; an agent certificate names exactly one",
                 found);
        return -1;
    }
    return tls_agent_uri_parse(first, first_len, out, why, whylen);
}

/* The verdict on the session's client certificate against ca. */
static enum tls_peer judge(gnutls_x509_trust_list_t ca, gnutls_session_t session,
                           struct tls_agent *out, char *why, size_t whylen)
{
    gnutls_x509_crt_t crts[TLS_CHAIN_MAX];
    unsigned n = 0, got = 0;
    const gnutls_datum_t *raw = gnutls_certificate_get_peers(session, &n);
    enum tls_peer verdict = TLS_PEER_REFUSED;

    if (!raw || n == 0)
        return TLS_PEER_NONE;
    if (gnutls_certificate_type_get(session) != GNUTLS_CRT_X509) {
        snprintf(why, whylen, "client credentials are not an X.509 certificate");
        return TLS_PEER_REFUSED;
    }
    if (n > TLS_CHAIN_MAX) {
        snprintf(why, whylen, "client certificate chain longer than %d", TLS_CHAIN_MAX);
        return TLS_PEER_REFUSED;
    }
    for (; got < n; got++) {
        if (gnutls_x509_crt_init(&crts[got]) < 0)
            break;
        if (gnutls_x509_crt_import(crts[got], &raw[got], GNUTLS_X509_FMT_DER) < 0) {
            gnutls_x509_crt_deinit(crts[got]);
            break;
        }
    }
    if (got < n)
        snprintf(why, whylen, "client certificate %u cannot be read", got);
    else if (verify_chain(ca, crts, n, why, whylen) == 0 &&
             agent_name(crts[0], out, why, whylen) == 0)
        verdict = TLS_PEER_AGENT;
    for (unsigned i = 0; i < got; i++)
        gnutls_x509_crt_deinit(crts[i]);
    return verdict;
}

enum tls_peer tls_conn_agent(struct tls_conn *tc, gnutls_session_t session, struct tls_agent *out,
                             char *why, size_t whylen)
{
    struct tls_creds *c;

    memset(out, 0, sizeof *out);
    if (!tc || !session)
        return TLS_PEER_NONE;
    c = tls_creds_get(tc->tls);
    if (!c->client_ca) {
        tls_creds_put(tc->tls, c);
        return TLS_PEER_NONE;
    }
    if (tc->verdict_gen != c->gen) {
        /* once per connection, and again after a reload (a new CA) */
        tc->why[0] = '\0';
        tc->verdict = judge(c->client_ca, session, &tc->agent, tc->why, sizeof tc->why);
        tc->verdict_gen = c->gen;
        if (tc->verdict == TLS_PEER_REFUSED)
            tls_count_refused(tc->tls);
    }
    tls_creds_put(tc->tls, c);
    if (tc->verdict == TLS_PEER_AGENT)
        *out = tc->agent;
    else if (tc->verdict == TLS_PEER_REFUSED)
        snprintf(why, whylen, "%s", tc->why);
    return tc->verdict;
}
