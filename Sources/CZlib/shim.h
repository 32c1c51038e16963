#include <zlib.h>

/// deflateInit2 is a macro over deflateInit2_; Swift sees only functions.
static inline int strata_deflate_init_gzip(z_stream *stream, int level) {
    // windowBits 15 + 16: a gzip wrapper; memLevel 8, the default.
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

/// inflateInit2 with gzip decoding (windowBits 15 + 16).
static inline int strata_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}
