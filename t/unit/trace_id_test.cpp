// Id text forms used by every propagation style.
#include "trace/trace_id.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <string>

#include "trace/propagation_internal.hpp"

using namespace datadog::trace;

TEST(TraceId, Hex32IsHighThenLowZeroPadded) {
  const auto text = hex32(TraceId{0x1, 0xabc});
  EXPECT_EQ(std::string(text.data(), text.size()), "00000000000000010000000000000abc");
}

TEST(TraceId, Hex16WritesEveryDigitLowercase) {
  const auto text = hex16(0x0123456789abcdefULL);
  EXPECT_EQ(std::string(text.data(), text.size()), "0123456789abcdef");
  const auto reversed = hex16(0xfedcba9876543210ULL);
  EXPECT_EQ(std::string(reversed.data(), reversed.size()), "fedcba9876543210");
  const auto zero = hex16(0);
  EXPECT_EQ(std::string(zero.data(), zero.size()), "0000000000000000");
  const auto all = hex16(~0ULL);
  EXPECT_EQ(std::string(all.data(), all.size()), "ffffffffffffffff");
}

TEST(TraceId, DecimalMatchesToStringAtEveryLength) {
  using datadog::trace::propagation_internal::max_decimal_size;
  using datadog::trace::propagation_internal::write_decimal;
  const auto decimal = [](auto value) {
    char text[max_decimal_size];
    return std::string(text, write_decimal(value, text));
  };
  std::uint64_t value = 1;
  for (int digits = 1; digits <= 20; ++digits) {
    for (const std::uint64_t n : {value - 1, value, value + 1, value + value / 2}) {
      EXPECT_EQ(decimal(n), std::to_string(n));
    }
    if (digits < 20) value *= 10;
  }
  EXPECT_EQ(decimal(std::uint64_t{18446744073709551615ULL}), "18446744073709551615");
  for (const int n : {0, 1, -1, 2, -3, 10, 99, -100, 12345678, 123456789, INT_MAX, INT_MIN}) {
    EXPECT_EQ(decimal(n), std::to_string(n));
  }
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
