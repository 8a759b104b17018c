// The inline copy behind the span encoder and the injected header values.
#include "trace/short_copy.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace datadog::trace;

TEST(ShortCopy, CopiesEveryLengthExactlyAndReturnsTheEnd) {
  const std::string source = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";
  for (std::size_t n = 0; n <= source.size(); ++n) {
    std::string out(source.size() + 2, '#');
    char* end = copy_short(out.data() + 1, std::string_view(source).substr(0, n));
    EXPECT_EQ(end, out.data() + 1 + n) << n;
    EXPECT_EQ(out, "#" + source.substr(0, n) + std::string(source.size() - n + 1, '#')) << n;
  }
}
