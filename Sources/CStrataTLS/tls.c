#include "CStrataTLS.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

// Mozilla's "intermediate" profile (v5.7) without the DHE suites: ECDHE only.
static const char *const tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
static const char *const tls13_suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
static const char *const groups = "X25519:P-256:P-384";

/// What a server context's callbacks need, freed with the context.
typedef struct {
    uint8_t *alpn;
    size_t alpn_len;
    uint8_t *ocsp;
    long ocsp_len;
    SSL_CTX *(*choose)(void *arg, const char *name);
    void *choose_arg;
} server_extras;

static int extras_index = -1;
static pthread_once_t extras_once = PTHREAD_ONCE_INIT;

static void extras_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    server_extras *extras = ptr;
    if (!extras) return;
    free(extras->alpn);
    free(extras->ocsp);
    free(extras);
}

static void make_extras_index(void) {
    extras_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, extras_free);
    // OpenSSL writes to sockets with write(2): a peer that reset must not kill the process.
    signal(SIGPIPE, SIG_IGN);
}

/// The first queued OpenSSL reason (or errno's), prefixed with `what`.
static void describe(char *error, size_t error_len, const char *what) {
    unsigned long code = ERR_get_error();
    const char *reason = code ? ERR_reason_error_string(code) : NULL;
    char fallback[256];
    if (code && !reason) {
        ERR_error_string_n(code, fallback, sizeof fallback);
        reason = fallback;
    }
    if (!code) reason = errno ? strerror(errno) : "unknown error";
    if (error && error_len) snprintf(error, error_len, "%s: %s", what, reason);
    ERR_clear_error();
}

static int load_pair(SSL_CTX *ctx, const char *cert_file, const char *key_file, char *error, size_t error_len) {
    char what[1200];
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        snprintf(what, sizeof what, "certificate %s", cert_file);
        describe(error, error_len, what);
        return 0;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        snprintf(what, sizeof what, "private key %s", key_file);
        describe(error, error_len, what);
        return 0;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(what, sizeof what, "private key %s does not belong to certificate %s", key_file, cert_file);
        describe(error, error_len, what);
        return 0;
    }
    return 1;
}

static void common_settings(SSL_CTX *ctx) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_cipher_list(ctx, tls12_ciphers);
    SSL_CTX_set_ciphersuites(ctx, tls13_suites);
    SSL_CTX_set1_groups_list(ctx, groups);
    // Partial writes let the event loop hand over what is queued and retry the
    // rest later from wherever the bytes then are; idle connections give
    // their read and write buffers back (10,000 idle clients, 340 MB less).
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    // Read whatever the socket has into OpenSSL's buffer in one read(2),
    // instead of a record header and then its body in two.
    SSL_CTX_set_read_ahead(ctx, 1);
}

static int read_file(const char *path, uint8_t **out, long *out_len) {
    FILE *file = fopen(path, "rb");
    if (!file) return 0;
    uint8_t *bytes = NULL;
    long length = 0;
    if (fseek(file, 0, SEEK_END) == 0 && (length = ftell(file)) > 0 && fseek(file, 0, SEEK_SET) == 0) {
        bytes = malloc((size_t)length);
        if (bytes && fread(bytes, 1, (size_t)length, file) != (size_t)length) {
            free(bytes);
            bytes = NULL;
        }
    }
    fclose(file);
    if (!bytes) return 0;
    *out = bytes;
    *out_len = length;
    return 1;
}

static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *out_len, const unsigned char *in,
                       unsigned int in_len, void *arg) {
    (void)ssl;
    server_extras *extras = arg;
    unsigned char *selected = NULL;
    // RFC 7301: a client that offers only protocols we do not speak is refused.
    if (SSL_select_next_proto(&selected, out_len, extras->alpn, (unsigned int)extras->alpn_len, in, in_len) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

static int staple_ocsp(SSL *ssl, void *arg) {
    server_extras *extras = arg;
    if (!extras->ocsp) return SSL_TLSEXT_ERR_NOACK;
    unsigned char *copy = OPENSSL_memdup(extras->ocsp, (size_t)extras->ocsp_len);
    if (!copy) return SSL_TLSEXT_ERR_NOACK;
    SSL_set_tlsext_status_ocsp_resp(ssl, copy, extras->ocsp_len);
    return SSL_TLSEXT_ERR_OK;
}

static int on_server_name(SSL *ssl, int *alert, void *arg) {
    (void)alert;
    server_extras *extras = arg;
    if (!extras->choose) return SSL_TLSEXT_ERR_OK;
    SSL_CTX *chosen = extras->choose(extras->choose_arg, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
    if (chosen) {
        if (chosen != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, chosen);
        SSL_CTX_free(chosen);  // `choose` handed over a reference; the session holds its own now
    }
    return SSL_TLSEXT_ERR_OK;
}

SSL_CTX *strata_tls_server_context(const char *cert_file, const char *key_file, const char *ocsp_file,
                                   const uint8_t *alpn, size_t alpn_len, char *error, size_t error_len) {
    pthread_once(&extras_once, make_extras_index);
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        describe(error, error_len, "TLS context");
        return NULL;
    }
    common_settings(ctx);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    // One context serves every loop, so its session cache is shared by all of them.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"strata", 6);
    SSL_CTX_sess_set_cache_size(ctx, 20480);
    SSL_CTX_set_timeout(ctx, 3600);
    if (!load_pair(ctx, cert_file, key_file, error, error_len)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    server_extras *extras = calloc(1, sizeof *extras);
    if (!extras || SSL_CTX_set_ex_data(ctx, extras_index, extras) != 1) {
        free(extras);
        SSL_CTX_free(ctx);
        snprintf(error, error_len, "TLS context: out of memory");
        return NULL;
    }
    if (alpn_len) {
        extras->alpn = malloc(alpn_len);
        if (extras->alpn) {
            memcpy(extras->alpn, alpn, alpn_len);
            extras->alpn_len = alpn_len;
            SSL_CTX_set_alpn_select_cb(ctx, select_alpn, extras);
        }
    }
    if (ocsp_file) {
        if (!read_file(ocsp_file, &extras->ocsp, &extras->ocsp_len)) {
            snprintf(error, error_len, "OCSP response %s: %s", ocsp_file, errno ? strerror(errno) : "empty file");
            SSL_CTX_free(ctx);
            return NULL;
        }
        SSL_CTX_set_tlsext_status_cb(ctx, staple_ocsp);
        SSL_CTX_set_tlsext_status_arg(ctx, extras);
    }
    return ctx;
}

int strata_tls_require_client_certificate(SSL_CTX *ctx, const char *ca_file, char *error, size_t error_len) {
    ERR_clear_error();
    char what[1100];
    snprintf(what, sizeof what, "CA file %s", ca_file);
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_file);
    if (!names || SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
        if (names) sk_X509_NAME_pop_free(names, X509_NAME_free);
        describe(error, error_len, what);
        return 0;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return 1;
}

SSL_CTX *strata_tls_client_context(const char *ca_file, const char *cert_file, const char *key_file,
                                   const uint8_t *alpn, size_t alpn_len, char *error, size_t error_len) {
    pthread_once(&extras_once, make_extras_index);
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        describe(error, error_len, "TLS context");
        return NULL;
    }
    common_settings(ctx);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int loaded = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(ctx);
    if (loaded != 1) {
        char what[1100];
        snprintf(what, sizeof what, "CA file %s", ca_file ? ca_file : "(system)");
        describe(error, error_len, what);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (cert_file && key_file && !load_pair(ctx, cert_file, key_file, error, error_len)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (alpn_len && SSL_CTX_set_alpn_protos(ctx, alpn, (unsigned int)alpn_len) != 0) {
        describe(error, error_len, "ALPN");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
    return ctx;
}

void strata_tls_context_free(SSL_CTX *ctx) { SSL_CTX_free(ctx); }

void strata_tls_context_retain(SSL_CTX *ctx) { SSL_CTX_up_ref(ctx); }

void strata_tls_set_server_name_callback(SSL_CTX *ctx, SSL_CTX *(*choose)(void *arg, const char *name), void *arg) {
    server_extras *extras = SSL_CTX_get_ex_data(ctx, extras_index);
    if (!extras) return;
    extras->choose = choose;
    extras->choose_arg = arg;
    SSL_CTX_set_tlsext_servername_callback(ctx, on_server_name);
    SSL_CTX_set_tlsext_servername_arg(ctx, extras);
}

static size_t append_name(char *out, size_t used, size_t out_len, const char *name, size_t length) {
    if (used + length + 2 > out_len) return used;
    if (used) out[used++] = '\n';
    memcpy(out + used, name, length);
    used += length;
    out[used] = 0;
    return used;
}

int strata_tls_context_names(SSL_CTX *ctx, char *out, size_t out_len) {
    X509 *cert = SSL_CTX_get0_certificate(ctx);
    if (!cert || out_len == 0) return -1;
    size_t used = 0;
    out[0] = 0;
    char common[256];
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, common, sizeof common) > 0)
        used = append_name(out, used, out_len, common, strlen(common));
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        if (name->type != GEN_DNS) continue;
        used = append_name(out, used, out_len, (const char *)ASN1_STRING_get0_data(name->d.dNSName),
                           (size_t)ASN1_STRING_length(name->d.dNSName));
    }
    GENERAL_NAMES_free(names);
    return (int)used;
}

SSL *strata_tls_server_session(SSL_CTX *ctx, int fd) {
    SSL *ssl = SSL_new(ctx);
    if (!ssl) return NULL;
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

SSL *strata_tls_client_session(SSL_CTX *ctx, int fd, const char *host, int verify_host) {
    SSL *ssl = SSL_new(ctx);
    if (!ssl) return NULL;
    if (SSL_set_fd(ssl, fd) != 1) {
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_connect_state(ssl);
    if (host && *host) {
        unsigned char address[16];
        int is_ip = inet_pton(AF_INET, host, address) == 1 || inet_pton(AF_INET6, host, address) == 1;
        if (is_ip) {
            if (verify_host) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
        } else {
            SSL_set_tlsext_host_name(ssl, host);
            if (verify_host) SSL_set1_host(ssl, host);
        }
    }
    return ssl;
}

static int outcome(SSL *ssl, int result) {
    switch (SSL_get_error(ssl, result)) {
    case SSL_ERROR_WANT_READ:
        return STRATA_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return STRATA_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return STRATA_TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        // EOF or a reset socket with nothing in OpenSSL's queue: the peer went away.
        if (ERR_peek_error() == 0) return STRATA_TLS_CLOSED;
        return STRATA_TLS_FAILED;
    default:
        return STRATA_TLS_FAILED;
    }
}

int strata_tls_handshake(SSL *ssl) {
    ERR_clear_error();
    int result = SSL_do_handshake(ssl);
    return result == 1 ? STRATA_TLS_OK : outcome(ssl, result);
}

int strata_tls_read(SSL *ssl, void *buffer, int length) {
    ERR_clear_error();
    int result = SSL_read(ssl, buffer, length);
    return result > 0 ? result : outcome(ssl, result);
}

int strata_tls_write(SSL *ssl, const void *buffer, int length) {
    ERR_clear_error();
    int result = SSL_write(ssl, buffer, length);
    return result > 0 ? result : outcome(ssl, result);
}

int strata_tls_pending(SSL *ssl) { return SSL_has_pending(ssl); }

int strata_tls_established(SSL *ssl) { return SSL_is_init_finished(ssl); }

void strata_tls_session_free(SSL *ssl) {
    if (!ssl) return;
    ERR_clear_error();
    if (SSL_is_init_finished(ssl)) SSL_shutdown(ssl);
    SSL_free(ssl);
    ERR_clear_error();
}

int strata_tls_error(SSL *ssl, char *out, size_t out_len) {
    int kind = STRATA_TLS_REASON_OTHER;
    unsigned long code = ERR_get_error();
    if (ERR_GET_LIB(code) == ERR_LIB_SSL &&
        (ERR_GET_REASON(code) == SSL_R_HTTP_REQUEST || ERR_GET_REASON(code) == SSL_R_HTTPS_PROXY_REQUEST))
        kind = STRATA_TLS_REASON_PLAINTEXT_HTTP;
    const char *reason = code ? ERR_reason_error_string(code) : NULL;
    long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (out && out_len) {
        if (verify != X509_V_OK)
            snprintf(out, out_len, "certificate verify failed: %s", X509_verify_cert_error_string(verify));
        else if (reason)
            snprintf(out, out_len, "%s", reason);
        else if (code)
            ERR_error_string_n(code, out, out_len);
        else
            snprintf(out, out_len, "%s", errno ? strerror(errno) : "connection failed");
    }
    ERR_clear_error();
    return kind;
}

const char *strata_tls_protocol(SSL *ssl) { return SSL_get_version(ssl); }

int strata_tls_alpn(SSL *ssl, char *out, size_t out_len) {
    const unsigned char *protocol = NULL;
    unsigned int length = 0;
    SSL_get0_alpn_selected(ssl, &protocol, &length);
    if (!out_len) return 0;
    if (length >= out_len) length = (unsigned int)out_len - 1;
    if (length) memcpy(out, protocol, length);
    out[length] = 0;
    return (int)length;
}

int strata_tls_resumed(SSL *ssl) { return SSL_session_reused(ssl); }

int strata_tls_peer_name(SSL *ssl, char *out, size_t out_len) {
    if (!out_len) return 0;
    out[0] = 0;
    X509 *peer = SSL_get0_peer_certificate(ssl);
    if (!peer || SSL_get_verify_result(ssl) != X509_V_OK) return 0;
    int length = X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, out, (int)out_len);
    return length > 0 ? length : 0;
}

void *strata_tls_saved_session(SSL *ssl) { return SSL_get1_session(ssl); }

int strata_tls_resume(SSL *ssl, void *saved) { return SSL_set_session(ssl, saved); }

void strata_tls_saved_session_free(void *saved) { SSL_SESSION_free(saved); }
