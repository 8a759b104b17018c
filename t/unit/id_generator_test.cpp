// Properties the agent and other tracers rely on: ids are non-zero, span ids
// fit in 63 bits, the 128-bit trace id carries its creation time.
#include "trace/id_generator.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace datadog::trace;

TEST(IdGenerator, SpanIdsAreNonZeroSixtyThreeBitAndDistinct) {
  IdGenerator generator({0, 0, 0, 0});  // the worst seed still works
  std::set<SpanId> seen;
  for (int i = 0; i < 100000; ++i) {
    const SpanId id = generator.new_span_id();
    ASSERT_NE(id, 0u);
    ASSERT_EQ(id >> 63, 0u);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100000u);
}

TEST(IdGenerator, TraceIdHighHalfIsSecondsThenZeros) {
  IdGenerator generator({1, 2, 3, 4});
  const TraceId id = generator.new_trace_id(0x65a1b2c3);
  EXPECT_EQ(id.high, 0x65a1b2c300000000ULL);
  EXPECT_NE(id.low, 0u);
}

TEST(IdGenerator, DifferentSeedsGiveDifferentSequences) {
  IdGenerator a({1, 2, 3, 4});
  IdGenerator b({1, 2, 3, 5});
  EXPECT_NE(a.next(), b.next());
}

TEST(IdGenerator, LowBitsAreBalanced) {
  IdGenerator generator({42, 43, 44, 45});
  int ones = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ones += static_cast<int>(generator.new_span_id() & 1);
  EXPECT_NEAR(ones, n / 2, n / 20);
}
