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

TEST(ShortCopy, AsciiCopyCopiesEveryLengthAndFindsAHighBitAnywhere) {
  const std::string source = "abcdefghijklmnopqrstuvwxyz01234";  // 31 bytes: the longest fixstr
  for (std::size_t n = 0; n <= source.size(); ++n) {
    const std::string text = source.substr(0, n);
    std::string out(source.size() + 2, '#');
    EXPECT_TRUE(copy_short_ascii(out.data() + 1, text)) << n;
    EXPECT_EQ(out, "#" + text + std::string(source.size() - n + 1, '#')) << n;
    for (std::size_t at = 0; at < n; ++at) {
      for (const char high : {'\x80', '\xff', '\xc3'}) {
        std::string bad = text;
        bad[at] = high;
        std::string copy(source.size() + 2, '#');
        EXPECT_FALSE(copy_short_ascii(copy.data() + 1, bad)) << n << " at " << at;
        EXPECT_EQ(copy, "#" + bad + std::string(source.size() - n + 1, '#')) << n << " at " << at;
      }
    }
  }
}
