#pragma once
#include <zlib.h>
// deflateInit2/inflateInit2 are function-like macros (they pass ZLIB_VERSION and
// sizeof(z_stream)), so Swift cannot call them directly.
static inline int audit_deflateInit2(z_streamp s, int level, int method, int windowBits, int memLevel, int strategy) {
    return deflateInit2(s, level, method, windowBits, memLevel, strategy);
}
static inline int audit_inflateInit2(z_streamp s, int windowBits) { return inflateInit2(s, windowBits); }
