// The loaded library reports the version its headers define.
#include <gtest/gtest.h>

#include <string>

#include "memkit.h"
#include "memkit/memkit.h"  // the installed form, <memkit/memkit.h>, includes the same API

namespace {

TEST(Version, TheLibraryReportsTheHeadersVersion) {
    EXPECT_EQ(MEMKIT_VERSION, mem_version());
    EXPECT_STREQ(MEMKIT_VERSION_STRING, mem_version_string());
    std::string built = std::to_string(MEMKIT_VERSION_MAJOR) + "." + std::to_string(MEMKIT_VERSION_MINOR) + "." +
                        std::to_string(MEMKIT_VERSION_PATCH);
    EXPECT_EQ(built, mem_version_string());
    EXPECT_EQ(MEMKIT_VERSION_MAJOR * 10000 + MEMKIT_VERSION_MINOR * 100 + MEMKIT_VERSION_PATCH, mem_version());
}

}  // namespace
