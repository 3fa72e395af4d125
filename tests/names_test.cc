// Handle names: every length, by NUL or by count, truncated to MEM_POINTER_NAME_MAX-1
// bytes, for creates and shares. Built twice (tests/BUILD.bazel): against the default
// library and against one with MEM_POINTER_NAME_MAX=96, where a name of known length
// takes more than one 16-byte move; and with -O2, so that memkit/pointer.h's inline
// wrappers pass each string literal's length to mem_pointer_create_n and
// mem_pointer_share_n.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "memkit.h"

namespace {

constexpr size_t kLimit = MEM_POINTER_NAME_MAX - 1;

class Names : public testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(mem_pool_init(&pool, 8));
        source = mem_pointer_create("source", 8);
        ASSERT_NE(nullptr, source);
        ASSERT_TRUE(mem_pointer_allocate(source, 8, &pool));
    }
    void TearDown() override {
        EXPECT_TRUE(mem_pointer_destroy(source, &pool));
        MemPoolStats s;
        ASSERT_TRUE(mem_pool_stats(&pool, &s));
        EXPECT_EQ(0u, s.live_containers) << "a test leaked a container";
        mem_pool_destroy(&pool);
    }
    // The name a handle must hold for `given`: its first kLimit bytes.
    static std::string Truncated(const std::string& given) { return given.substr(0, kLimit); }
    // Checks a handle made and a share of `source` given the same name of `length`
    // bytes, then destroys both.
    void ExpectNamedAndDestroy(MemoryPointer* made, MemoryPointer* shared, const std::string& expected,
                               size_t length) {
        ASSERT_NE(nullptr, made);
        ASSERT_NE(nullptr, shared);
        EXPECT_EQ(expected, std::string(made->name)) << "length " << length;
        EXPECT_EQ(expected, std::string(shared->name)) << "length " << length;
        EXPECT_EQ(source->container, shared->container);
        EXPECT_TRUE(mem_pointer_destroy(made, nullptr));
        EXPECT_TRUE(mem_pointer_destroy(shared, &pool));
    }
    MemoryPool pool;
    MemoryPointer* source = nullptr;
};

// Every length around the copies' steps and the limit, on handles that held longer
// names before (destroyed handles come back with old bytes).
TEST_F(Names, EveryTerminatedLengthIsCopiedAndTerminated) {
    for (int round = 0; round < 2; round++) {
        for (size_t length = 0; length <= kLimit + 9; length++) {
            std::string name(length, static_cast<char>('a' + length % 26));
            ASSERT_NO_FATAL_FAILURE(ExpectNamedAndDestroy(
                mem_pointer_create(name.c_str(), 8), mem_pointer_share(source, name.c_str()), Truncated(name), length));
        }
    }
}

// A name of a given length: exactly `length` bytes in an allocation of their own, no
// terminator (AddressSanitizer reports a read past them).
TEST_F(Names, ANameOfAGivenLengthIsReadNoFurther) {
    for (size_t length = 0; length <= kLimit + 9; length++) {
        std::unique_ptr<char[]> bytes(new char[length]);
        for (size_t i = 0; i < length; i++) {
            bytes[i] = static_cast<char>('A' + i % 26);
        }
        ASSERT_NO_FATAL_FAILURE(ExpectNamedAndDestroy(mem_pointer_create_n(bytes.get(), length, 8),
                                                      mem_pointer_share_n(source, bytes.get(), length),
                                                      Truncated(std::string(bytes.get(), length)), length));
    }
    MemoryPointer* early = mem_pointer_create_n("ab\0cd", 5, 0);  // a NUL ends the name early
    ASSERT_NE(nullptr, early);
    EXPECT_STREQ("ab", early->name);
    EXPECT_TRUE(mem_pointer_destroy(early, nullptr));
}

TEST_F(Names, ByLengthRefusesWhatTheTerminatedFormsRefuse) {
    EXPECT_EQ(nullptr, mem_pointer_create_n(nullptr, 1, 8));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_EQ(nullptr, mem_pointer_create_n("huge", 4, SIZE_MAX));
    EXPECT_EQ(MEM_ERR_SIZE_OVERFLOW, mem_last_error());
    EXPECT_EQ(nullptr, mem_pointer_share_n(source, nullptr, 1));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    EXPECT_EQ(nullptr, mem_pointer_share_n(nullptr, "x", 1));
    EXPECT_EQ(MEM_ERR_NULL_ARGUMENT, mem_last_error());
    MemoryPointer* empty = mem_pointer_create("empty", 0);
    EXPECT_EQ(nullptr, mem_pointer_share_n(empty, "x", 1));
    EXPECT_EQ(MEM_ERR_NOT_ALLOCATED, mem_last_error());
    EXPECT_TRUE(mem_pointer_destroy(empty, nullptr));
}

// String literals, whose lengths this optimised build passes (pointer.h): lengths
// around the copy's moves of 4, 8 and 16 bytes and the default limit, and one past
// any limit a test builds with.
TEST_F(Names, LiteralNamesAreCopiedAndTruncated) {
    struct Named {
        const char* literal;
        MemoryPointer* handle;
    };
    std::vector<Named> named;
#define NAMED(text)                                                \
    named.push_back(Named{text, mem_pointer_create(text, 8)});     \
    named.push_back(Named{text, mem_pointer_share(source, text)});
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
    NAMED("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
          "abcdefghijklmnopqrstuvwxyz0123456789")
#undef NAMED
    for (size_t i = 0; i < named.size(); i++) {
        ASSERT_NE(nullptr, named[i].handle) << named[i].literal;
        EXPECT_EQ(Truncated(named[i].literal), std::string(named[i].handle->name));
        EXPECT_TRUE(mem_pointer_destroy(named[i].handle, i % 2 == 0 ? nullptr : &pool));
    }
}

// The functions behind the wrappers can still be taken by address.
TEST_F(Names, TheFunctionsBehindTheWrappersHaveAddresses) {
    MemoryPointer* (*create)(const char*, size_t) = mem_pointer_create;
    MemoryPointer* (*share)(const MemoryPointer*, const char*) = mem_pointer_share;
    MemoryPointer* made = create("by address", 0);
    MemoryPointer* shared = share(source, "shared by address");
    ASSERT_NE(nullptr, made);
    ASSERT_NE(nullptr, shared);
    EXPECT_STREQ("by address", made->name);
    EXPECT_STREQ("shared by address", shared->name);
    EXPECT_TRUE(mem_pointer_destroy(made, nullptr));
    EXPECT_TRUE(mem_pointer_destroy(shared, &pool));
}

}  // namespace
