#ifndef CSTRATA_PASSWORD_H
#define CSTRATA_PASSWORD_H

// Password hashing through libxcrypt, in a target of its own so that only the
// application tier (the one holding accounts) links libcrypt.

#include <stddef.h>

/// Hashes `password` with yescrypt and a fresh random salt (libxcrypt).
/// Writes the NUL-terminated hash string to `out`; 0 on success, -1 on failure.
int strata_password_hash(const char *password, char *out, size_t out_size);

/// Hashes `password` with the algorithm, cost and salt of `setting` (a stored
/// hash), for comparison with it; 0 on success, -1 on failure.
int strata_password_rehash(const char *password, const char *setting, char *out, size_t out_size);

#endif
