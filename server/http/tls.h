/* SPDX-License-Identifier: MIT */
/*
 * tls.h: cellgated's TLS (GnuTLS under libmicrohttpd; docs/security.md,
 * "TLS" and docs/operations.md, "TLS"): the server's certificate and key,
 * swapped on SIGHUP without dropping a connection, and the client
 * certificates agents may authenticate with (mutual TLS).
 *
 * Credentials (certificate chain, private key, client CA) are one
 * reference-counted snapshot. Each handshake takes the snapshot that is
 * current then (the certificate callback libmicrohttpd calls) and holds it
 * until its connection closes; tls_reload() loads a new snapshot from the
 * same files and makes it current, so new handshakes use it while open
 * connections go on with theirs. A reload that fails (a missing or broken
 * file, a key that does not match the certificate, a key file others may
 * read) changes nothing and says why.
 *
 * An agent certificate names its cell and host in exactly one URI subject
 * alternative name "cellgate://CELL/HOST" (docs/api/agent.md). Other URI
 * names are ignored.
 *
 * Only http.c uses this; it knows no route and no store. Thread-safe
 * unless a function says otherwise.
 */
#ifndef CG_TLS_H
#define CG_TLS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stddef.h>
#include <stdint.h>

struct cg_buf;
struct tls;
struct tls_conn;

/* TLS 1.3, and TLS 1.2 with ECDHE key exchange and AEAD ciphers only
 * (AES-GCM, ChaCha20-Poly1305); the server's order wins. A GnuTLS
 * priority string (--tls-priorities replaces it). */
#define TLS_DEFAULT_PRIORITIES                                                                     \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+CHACHA20-POLY1305:"      \
    "+AES-128-GCM:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-GROUP-ALL:+GROUP-X25519:"        \
    "+GROUP-SECP256R1:+GROUP-SECP384R1:%SERVER_PRECEDENCE"

/* The URI scheme of an agent certificate's name. */
#define TLS_AGENT_URI_PREFIX "cellgate://"

/* Largest "cert:CELL/HOST" credential, with its NUL: host claims keep
 * credentials of at most 63 bytes (store.h), so CELL and HOST together may
 * have at most 57. */
#define TLS_CREDENTIAL_MAX 64

/* The settings (docs/man/cellgated.8.md, "TLS"). Paths are borrowed for
 * the life of the struct tls: reloads read the same files again. */
struct tls_config {
    const char *cert_file;      /* PEM: the server's certificate, then its chain */
    const char *key_file;       /* PEM: its private key (no group/other access but read) */
    const char *priorities;     /* GnuTLS priority string; NULL: TLS_DEFAULT_PRIORITIES */
    const char *client_ca_file; /* PEM: the CAs agent certificates are checked against;
                                   NULL: client certificates are not asked for */
};

/* An agent named by a verified client certificate. */
struct tls_agent {
    char cell[64];                       /* CELL of its cellgate:// name */
    char host[64];                       /* HOST of its cellgate:// name */
    char credential[TLS_CREDENTIAL_MAX]; /* "cert:CELL/HOST": its host claims' credential */
};

/* What a connection's client certificate says (tls_conn_agent()). */
enum tls_peer {
    TLS_PEER_NONE = 0,     /* no certificate (or no --tls-client-ca): use the token */
    TLS_PEER_AGENT = 1,    /* verified; *out names the agent */
    TLS_PEER_REFUSED = -1, /* presented but refused: untrusted, expired, or not exactly one
                              cellgate:// name; 'why' says which */
};

/*
 * Loads the credentials of cfg (copied; its paths are borrowed, see above)
 * and checks the priority string. NULL with msg (256 bytes) naming the file
 * and the problem: unreadable, not PEM, key and certificate do not match,
 * key file accessible by other users (like ssh, the key must not be
 * readable by everyone: mode 0600, or 0640 with a group of its own), no CA
 * in the client CA file, a bad priority string (with the position).
 */
struct tls *tls_new(const struct tls_config *cfg, char *msg);

/* Frees t and the current credentials. Call after the listener stopped
 * (every struct tls_conn was freed). NULL is a no-op. */
void tls_free(struct tls *t);

/* The priority string in force (borrowed from t). */
const char *tls_priorities(const struct tls *t);

/* The client CA file's PEM text as loaded at tls_new() (borrowed from t),
 * or NULL without --tls-client-ca: libmicrohttpd asks clients for a
 * certificate when it has one. */
const char *tls_client_ca_pem(const struct tls *t);

/*
 * Loads the files again and, when every one is good, makes the new
 * credentials current: new handshakes use them, open connections keep
 * theirs. Returns 0; or -1 with msg (256 bytes) saying why, and the old
 * credentials stay current. Counted in cellgate_tls_reloads_total{outcome}.
 */
int tls_reload(struct tls *t, char *msg);

/* Per-connection state: the credentials its handshake took, its client
 * certificate's verdict. NULL when out of memory (its handshake then
 * fails). Used by one I/O thread at a time, like its connection. */
struct tls_conn *tls_conn_new(struct tls *t);

/* Releases the connection's credentials and counts a handshake that never
 * finished. NULL is a no-op. */
void tls_conn_free(struct tls_conn *tc);

/*
 * The certificate callback (a gnutls_certificate_retrieve_function2, given
 * to libmicrohttpd as MHD_OPTION_HTTPS_CERT_CALLBACK): hands the handshake
 * the current credentials and ties them to its connection, found through
 * the session's libmicrohttpd connection and its socket context, which
 * http.c sets to the connection's struct tls_conn. Returns 0, or -1 (the
 * handshake fails) when the connection has no struct tls_conn.
 */
int tls_cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                      const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                      gnutls_pcert_st **pcert, unsigned int *pcert_length,
                      gnutls_privkey_t *privkey);

/*
 * The agent a connection's client certificate names. 'session' is the
 * connection's gnutls_session_t (MHD_CONNECTION_INFO_GNUTLS_SESSION). The
 * verdict is kept for the connection until a reload changes the client
 * CA. On TLS_PEER_REFUSED, why (whylen bytes) says what is wrong.
 */
enum tls_peer tls_conn_agent(struct tls_conn *tc, gnutls_session_t session, struct tls_agent *out,
                             char *why, size_t whylen);

/*
 * Parses an agent certificate's URI name: "cellgate://CELL/HOST" where
 * CELL and HOST are names (1-63 of [a-z0-9._-]) and "cert:CELL/HOST" fits
 * TLS_CREDENTIAL_MAX. Fills out (cell, host, credential). Returns 0, or -1
 * with why (whylen bytes) set. Pure.
 */
int tls_agent_uri_parse(const char *uri, size_t len, struct tls_agent *out, char *why,
                        size_t whylen);

/* Appends the cellgate_tls_* families to b (/metrics). */
void tls_render_stats(struct tls *t, struct cg_buf *b);

#endif /* CG_TLS_H */
