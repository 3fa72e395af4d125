/* Built with -O2 (tests/BUILD.bazel): see literal_names.h. The lengths surround the
 * copy's moves of 4, 8 and 16 bytes and the 31-byte limit. */
#include "literal_names.h"

size_t literal_named_handles(const MemoryPointer* source, LiteralNamed* out, size_t capacity) {
    size_t count = 0;
#define NAMED(text)                                                                                 \
    if (count + 2 <= capacity) {                                                                    \
        out[count++] = (LiteralNamed){.literal = text, .handle = mem_pointer_create(text, 8)};     \
        out[count++] = (LiteralNamed){.literal = text, .handle = mem_pointer_share(source, text)}; \
    }
    NAMED("")
    NAMED("a")
    NAMED("ab")
    NAMED("abc")
    NAMED("abcd")
    NAMED("abcde")
    NAMED("abcdefg")
    NAMED("abcdefgh")
    NAMED("abcdefghi")
    NAMED("abcdefghijklmno")
    NAMED("abcdefghijklmnop")
    NAMED("abcdefghijklmnopq")
    NAMED("abcdefghijklmnopqrstuvw")
    NAMED("abcdefghijklmnopqrstuvwx")
    NAMED("abcdefghijklmnopqrstuvwxyz0123")
    NAMED("abcdefghijklmnopqrstuvwxyz01234")
    NAMED("abcdefghijklmnopqrstuvwxyz012345")
    NAMED("abcdefghijklmnopqrstuvwxyz0123456")
    NAMED("abcdefghijklmnopqrstuvwxyz0123456789ABCD")
#undef NAMED
    return count;
}
