// Well-formed UTF-8 per RFC 3629, and the repair the span encoder applies.
#include "trace/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace datadog::trace;

namespace {

std::string repaired(std::string_view text) {
  std::string out(3 * text.size(), '\0');
  out.resize(static_cast<std::size_t>(write_repaired_utf8(out.data(), text) - out.data()));
  EXPECT_EQ(out.size(), repaired_utf8_size(text));
  return out;
}

}  // namespace

TEST(Utf8, AsciiCheckSeesAHighByteAnywhere) {
  EXPECT_TRUE(is_ascii(""));
  EXPECT_TRUE(is_ascii("plain ascii text, longer than a word"));
  for (std::size_t at = 0; at < 20; ++at) {
    std::string text(20, 'x');
    text[at] = '\x80';
    EXPECT_FALSE(is_ascii(text)) << at;
  }
}

TEST(Utf8, WellFormedSequencesAtTheirBoundaries) {
  for (const std::string_view ok : {"\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf",
                                    "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"}) {
    EXPECT_EQ(utf8_sequence_length(ok), ok.size()) << testing::PrintToString(ok);
    EXPECT_EQ(repaired(ok), ok);
  }
}

TEST(Utf8, IllFormedBytesAreEachReplaced) {
  const std::string fffd = "\xef\xbf\xbd";
  // Overlong, surrogate, past U+10FFFF, never-valid bytes, truncated, stray.
  for (const std::string_view bad :
       {"\xc0\xaf", "\xc1\xbf", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80",
        "\xf5", "\xff", "\xe2\x82", "\x80"}) {
    EXPECT_EQ(utf8_sequence_length(bad), 0u) << testing::PrintToString(bad);
  }
  EXPECT_EQ(repaired("a\xff"
                     "b"),
            "a" + fffd + "b");
  EXPECT_EQ(repaired("\xe2\x82"
                     "A"),
            fffd + fffd + "A");
  EXPECT_EQ(repaired("\xed\xa0\x80"), fffd + fffd + fffd);
  EXPECT_EQ(repaired("ok \xe2\x82\xac"), "ok \xe2\x82\xac");
}
