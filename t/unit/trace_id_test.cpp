// Id text forms used by every propagation style.
#include "trace/trace_id.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace datadog::trace;

TEST(TraceId, Hex32IsHighThenLowZeroPadded) {
  const auto text = hex32(TraceId{0x1, 0xabc});
  EXPECT_EQ(std::string(text.data(), text.size()), "00000000000000010000000000000abc");
}

TEST(TraceId, ParseHex128AcceptsShortAndFullForms) {
  EXPECT_EQ(parse_hex128("0af7651916cd43dd8448eb211c80319c"),
            (TraceId{0x0af7651916cd43ddULL, 0x8448eb211c80319cULL}));
  EXPECT_EQ(parse_hex128("8448eb211c80319c"), (TraceId{0, 0x8448eb211c80319cULL}));
  EXPECT_FALSE(parse_hex128("8448eb211c80319g"));
  EXPECT_FALSE(parse_hex128(""));
  EXPECT_FALSE(parse_hex128(std::string(33, 'a')));
}

TEST(TraceId, ParseDecimalRejectsSignsSpacesAndOverflow) {
  EXPECT_EQ(parse_decimal64("18446744073709551615"), 18446744073709551615ULL);
  EXPECT_FALSE(parse_decimal64("18446744073709551616"));
  EXPECT_FALSE(parse_decimal64("-1"));
  EXPECT_FALSE(parse_decimal64("+1"));
  EXPECT_FALSE(parse_decimal64(" 1"));
  EXPECT_FALSE(parse_decimal64(""));
}
