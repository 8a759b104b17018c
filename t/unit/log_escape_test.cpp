// Client bytes in log lines: printable ASCII kept, everything else as \xNN, cut.
#include "trace/log_escape.hpp"

#include <gtest/gtest.h>

#include <string>

using datadog::trace::escape_for_log;
using datadog::trace::escaped_log_size;

namespace {

std::string escaped(std::string_view text, std::size_t max_bytes) {
  std::string out(escaped_log_size(max_bytes), '\0');
  return std::string(escape_for_log(text, max_bytes, out));
}

}  // namespace

TEST(LogEscape, PrintableAsciiIsKept) { EXPECT_EQ(escaped("yes, ON \"x\"~", 64), "yes, ON \"x\"~"); }

TEST(LogEscape, ControlBytesHighBytesAndBackslashAreHexEscaped) {
  EXPECT_EQ(escaped("\x1b[31m\r\n\t\x7f\xff\\", 64), "\\x1b[31m\\x0d\\x0a\\x09\\x7f\\xff\\x5c");
  EXPECT_EQ(escaped(std::string_view("a\0b", 3), 64), "a\\x00b");
}

TEST(LogEscape, LongTextIsCutWithAnEllipsis) {
  EXPECT_EQ(escaped("abcdef", 6), "abcdef");
  EXPECT_EQ(escaped("abcdefg", 6), "abcdef...");
  // The worst case fits the room given: every byte escaped, then "...".
  std::string expected;
  for (int i = 0; i < 8; ++i) expected += "\\x01";
  EXPECT_EQ(escaped(std::string(10, '\x01'), 8), expected + "...");
}

TEST(LogEscape, TooSmallARoomGivesNothing) {
  char out[5];
  EXPECT_EQ(escape_for_log("abc", 3, out), "");
}
