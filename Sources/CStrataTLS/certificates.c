#include "CStrataTLS.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static int fail(char *error, size_t error_len, const char *what) {
    unsigned long code = ERR_get_error();
    const char *reason = code ? ERR_reason_error_string(code) : (errno ? strerror(errno) : "failed");
    snprintf(error, error_len, "%s: %s", what, reason ? reason : "failed");
    ERR_clear_error();
    return 0;
}

static int add_extension(X509 *cert, X509V3_CTX *v3, int nid, const char *value) {
    X509_EXTENSION *extension = X509V3_EXT_conf_nid(NULL, v3, nid, value);
    if (!extension) return 0;
    int added = X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
    return added;
}

/// "localhost,127.0.0.1" -> "DNS:localhost,IP:127.0.0.1"; the first name into `first`.
static int subject_alt_names(const char *names, char *out, size_t out_len, char *first, size_t first_len) {
    size_t used = 0;
    const char *start = names;
    first[0] = 0;
    while (*start) {
        const char *end = strchr(start, ',');
        size_t length = end ? (size_t)(end - start) : strlen(start);
        char name[256];
        if (length == 0 || length >= sizeof name) return 0;
        memcpy(name, start, length);
        name[length] = 0;
        if (!first[0]) snprintf(first, first_len, "%s", name);
        unsigned char address[16];
        int is_ip = inet_pton(AF_INET, name, address) == 1 || inet_pton(AF_INET6, name, address) == 1;
        int written = snprintf(out + used, out_len - used, "%s%s:%s", used ? "," : "", is_ip ? "IP" : "DNS", name);
        if (written < 0 || (size_t)written >= out_len - used) return 0;
        used += (size_t)written;
        start = end ? end + 1 : start + length;
    }
    return first[0] != 0;
}

static FILE *create_file(const char *path, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return NULL;
    // An existing file keeps its mode through O_CREAT: a key must not stay readable to others.
    fchmod(fd, mode);
    FILE *file = fdopen(fd, "w");
    if (!file) close(fd);
    return file;
}

int strata_tls_make_certificate(const char *cert_file, const char *key_file, const char *names, int days, int is_ca,
                                const char *ca_cert_file, const char *ca_key_file, char *error, size_t error_len) {
    ERR_clear_error();
    char alt_names[2048], common_name[256];
    if (!subject_alt_names(names, alt_names, sizeof alt_names, common_name, sizeof common_name)) {
        snprintf(error, error_len, "certificate names \"%s\": expected comma-separated host names or addresses", names);
        return 0;
    }
    int ok = 0;
    EVP_PKEY *key = NULL, *ca_key = NULL;
    X509 *cert = NULL, *ca_cert = NULL;
    BIGNUM *serial = NULL;
    FILE *file = NULL;
    if (ca_cert_file) {
        FILE *input = fopen(ca_cert_file, "r");
        if (input) {
            ca_cert = PEM_read_X509(input, NULL, NULL, NULL);
            fclose(input);
        }
        input = ca_key_file ? fopen(ca_key_file, "r") : NULL;
        if (input) {
            ca_key = PEM_read_PrivateKey(input, NULL, NULL, NULL);
            fclose(input);
        }
        if (!ca_cert || !ca_key) {
            fail(error, error_len, "CA certificate or key could not be read");
            goto done;
        }
    }
    key = EVP_EC_gen("P-256");
    cert = X509_new();
    serial = BN_new();
    if (!key || !cert || !serial) {
        fail(error, error_len, "key generation");
        goto done;
    }
    X509_set_version(cert, 2);
    BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert));
    // An hour's slack for clocks a little behind this one.
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400);
    X509_set_pubkey(cert, key);
    X509_NAME *subject = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, (const unsigned char *)"Strata", -1, -1, 0);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *)common_name, -1, -1, 0);
    X509_set_issuer_name(cert, ca_cert ? X509_get_subject_name(ca_cert) : subject);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, ca_cert ? ca_cert : cert, cert, NULL, NULL, 0);
    int extended = is_ca ? add_extension(cert, &v3, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
                               add_extension(cert, &v3, NID_key_usage, "critical,keyCertSign,cRLSign")
                         : add_extension(cert, &v3, NID_basic_constraints, "critical,CA:FALSE") &&
                               add_extension(cert, &v3, NID_key_usage, "critical,digitalSignature") &&
                               add_extension(cert, &v3, NID_ext_key_usage, "serverAuth,clientAuth") &&
                               add_extension(cert, &v3, NID_subject_alt_name, alt_names);
    extended = extended && add_extension(cert, &v3, NID_subject_key_identifier, "hash");
    if (ca_cert) extended = extended && add_extension(cert, &v3, NID_authority_key_identifier, "keyid");
    if (!extended || !X509_sign(cert, ca_key ? ca_key : key, EVP_sha256())) {
        fail(error, error_len, "certificate signing");
        goto done;
    }
    char what[1100];
    if (!(file = create_file(key_file, 0600)) || !PEM_write_PrivateKey(file, key, NULL, NULL, 0, NULL, NULL) ||
        fclose(file) != 0) {
        file = NULL;
        snprintf(what, sizeof what, "writing %s", key_file);
        fail(error, error_len, what);
        goto done;
    }
    if (!(file = create_file(cert_file, 0644)) || !PEM_write_X509(file, cert) || fclose(file) != 0) {
        file = NULL;
        snprintf(what, sizeof what, "writing %s", cert_file);
        fail(error, error_len, what);
        goto done;
    }
    file = NULL;
    ok = 1;
done:
    if (file) fclose(file);
    BN_free(serial);
    X509_free(cert);
    X509_free(ca_cert);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    return ok;
}

int strata_tls_fingerprint(const char *cert_file, char *out, size_t out_len) {
    FILE *input = fopen(cert_file, "r");
    if (!input) return 0;
    X509 *cert = PEM_read_X509(input, NULL, NULL, NULL);
    fclose(input);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    int ok = cert && X509_digest(cert, EVP_sha256(), digest, &length) && out_len >= length * 3;
    X509_free(cert);
    ERR_clear_error();
    if (!ok) return 0;
    for (unsigned int i = 0; i < length; i++) snprintf(out + i * 3, 4, "%02X%s", digest[i], i + 1 < length ? ":" : "");
    return 1;
}
