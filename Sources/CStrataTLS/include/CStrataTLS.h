#ifndef STRATA_TLS_H
#define STRATA_TLS_H

// OpenSSL's libssl behind a small C interface with plain types. Swift sees
// contexts and sessions as opaque pointers: the option macros, variadic key
// generation and callbacks that Swift cannot call stay on this side.

#include <stddef.h>
#include <stdint.h>

struct ssl_ctx_st;
struct ssl_st;

/// Results of the non-blocking calls below (byte counts are positive).
enum {
    STRATA_TLS_OK = 1,
    STRATA_TLS_CLOSED = 0,        // the peer sent close_notify, or the socket ended
    STRATA_TLS_FAILED = -1,       // protocol or verification error: see strata_tls_error
    STRATA_TLS_WANT_READ = -2,    // retry when the socket is readable
    STRATA_TLS_WANT_WRITE = -3,   // retry when the socket is writable
};

/// Reasons worth telling apart in strata_tls_error's result.
enum {
    STRATA_TLS_REASON_OTHER = 0,
    STRATA_TLS_REASON_PLAINTEXT_HTTP = 1,   // an HTTP request arrived on the TLS port
};

/// A server context: TLS 1.2 and 1.3 only, Mozilla "intermediate" ciphers
/// with ECDHE only, server preference for 1.2, no renegotiation, no
/// compression, session cache and tickets on. `alpn` is in wire format
/// (length-prefixed names, the server's preference first); a client that
/// offers ALPN without any of them is refused. `ocsp_file` (DER, optional)
/// is stapled. NULL on failure, with the reason in `error`.
struct ssl_ctx_st *strata_tls_server_context(const char *cert_file, const char *key_file, const char *ocsp_file,
                                             const uint8_t *alpn, size_t alpn_len, char *error, size_t error_len);

/// Makes a server context ask for a client certificate signed by `ca_file`
/// and refuse the handshake without one (mutual TLS). Returns 1 on success.
int strata_tls_require_client_certificate(struct ssl_ctx_st *ctx, const char *ca_file, char *error, size_t error_len);

/// A client context: TLS 1.2 and 1.3, peers verified against `ca_file` (or
/// the system store when NULL); with `cert_file` and `key_file`, presents
/// that certificate (mutual TLS). `alpn` as for servers, may be empty.
struct ssl_ctx_st *strata_tls_client_context(const char *ca_file, const char *cert_file, const char *key_file,
                                             const uint8_t *alpn, size_t alpn_len, char *error, size_t error_len);

void strata_tls_context_free(struct ssl_ctx_st *ctx);
/// Takes one more reference to `ctx` (each is given back with strata_tls_context_free).
void strata_tls_context_retain(struct ssl_ctx_st *ctx);

/// Calls `choose` with the client's server name (NULL when it sent none)
/// during each handshake on `ctx`; `choose` returns the context whose
/// certificate to use with a reference taken for the caller
/// (strata_tls_context_retain), or NULL to keep `ctx`'s.
void strata_tls_set_server_name_callback(struct ssl_ctx_st *ctx,
                                         struct ssl_ctx_st *(*choose)(void *arg, const char *name), void *arg);

/// The DNS names (and the common name) of the context's certificate,
/// separated by '\n', into `out`. Returns the length written, or -1.
int strata_tls_context_names(struct ssl_ctx_st *ctx, char *out, size_t out_len);

/// A server-side session on the connected socket `fd`.
struct ssl_st *strata_tls_server_session(struct ssl_ctx_st *ctx, int fd);

/// A client-side session on `fd`. `host` is sent as SNI (when a name) and
/// checked against the peer's certificate (DNS name or IP address) when
/// `verify_host` is set.
struct ssl_st *strata_tls_client_session(struct ssl_ctx_st *ctx, int fd, const char *host, int verify_host);

/// Drives the handshake; STRATA_TLS_OK once complete.
int strata_tls_handshake(struct ssl_st *ssl);

/// Reads decrypted bytes (driving the handshake first if needed).
int strata_tls_read(struct ssl_st *ssl, void *buffer, int length);

/// Writes; partial writes are allowed and a retry may pass a moved buffer
/// that starts with the same bytes and is at least as long.
int strata_tls_write(struct ssl_st *ssl, const void *buffer, int length);

/// Whether bytes wait inside the session (decrypted, or read ahead and not yet decrypted).
int strata_tls_pending(struct ssl_st *ssl);

/// Whether the handshake has completed.
int strata_tls_established(struct ssl_st *ssl);

/// Sends close_notify (best effort, never blocks) and frees the session.
void strata_tls_session_free(struct ssl_st *ssl);

/// The reason of the last failure on this thread as text, and its kind
/// (STRATA_TLS_REASON_*). Clears the thread's error queue.
int strata_tls_error(struct ssl_st *ssl, char *out, size_t out_len);

/// Facts about an established session, for logs and tests.
/// The negotiated protocol ("TLSv1.3"), the ALPN protocol (empty when none)
/// and whether the session was resumed.
const char *strata_tls_protocol(struct ssl_st *ssl);
int strata_tls_alpn(struct ssl_st *ssl, char *out, size_t out_len);
int strata_tls_resumed(struct ssl_st *ssl);
/// The common name of the peer's verified certificate (empty when none).
int strata_tls_peer_name(struct ssl_st *ssl, char *out, size_t out_len);

/// The session to offer on the next connection (retained; free with
/// strata_tls_saved_session_free), or NULL.
void *strata_tls_saved_session(struct ssl_st *ssl);
int strata_tls_resume(struct ssl_st *ssl, void *saved);
void strata_tls_saved_session_free(void *saved);

// Certificates, made with libcrypto.

/// Writes a new P-256 key and a certificate for `names` (comma-separated DNS
/// names or IP addresses, the first also the common name), valid `days`:
/// self-signed when `ca_cert_file` is NULL, else signed by that CA (whose key
/// is `ca_key_file`). `is_ca` makes a CA certificate. The key file is created
/// with mode 0600. Returns 1 on success.
int strata_tls_make_certificate(const char *cert_file, const char *key_file, const char *names, int days, int is_ca,
                                const char *ca_cert_file, const char *ca_key_file, char *error, size_t error_len);

/// The SHA-256 fingerprint of the first certificate in `cert_file` as
/// colon-separated hex (95 characters and a NUL). Returns 1 on success.
int strata_tls_fingerprint(const char *cert_file, char *out, size_t out_len);

#endif
