// The runtime-id tag's UUID text.
#include "trace/runtime_id.hpp"

#include <gtest/gtest.h>

#include <string>

using datadog::trace::uuid_v4_text;

namespace {
std::string text(std::uint64_t high, std::uint64_t low) {
  const auto uuid = uuid_v4_text(high, low);
  return {uuid.data(), uuid.size()};
}
}  // namespace

TEST(RuntimeId, BitsAreWrittenAsCanonicalLowercaseText) {
  EXPECT_EQ(text(0x0123456789ab4defULL, 0x8123456789abcdefULL), "01234567-89ab-4def-8123-456789abcdef");
}

TEST(RuntimeId, VersionAndVariantBitsAreForced) {
  EXPECT_EQ(text(0, 0), "00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(text(~0ULL, ~0ULL), "ffffffff-ffff-4fff-bfff-ffffffffffff");
}
