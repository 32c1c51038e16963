#include "CStrataPassword.h"

#include <crypt.h>
#include <string.h>

int strata_password_hash(const char *password, char *out, size_t out_size) {
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    // "$y$" is yescrypt; count 0 picks libxcrypt's default cost; NULL random bytes use the OS's.
    if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt)) return -1;
    return strata_password_rehash(password, salt, out, out_size);
}

int strata_password_rehash(const char *password, const char *setting, char *out, size_t out_size) {
    struct crypt_data data;
    memset(&data, 0, sizeof data);
    char *hash = crypt_rn(password, setting, &data, sizeof data);
    if (!hash || hash[0] == '*' || strlen(hash) + 1 > out_size) return -1;
    strcpy(out, hash);
    return 0;
}
