// The rule limiter over an injected clock: burst, refill, long idle, and the
// effective rate reported as `_dd.limit_psr`. Cases mirror dd-trace-cpp's
// test/test_limiter.cpp.
#include <gtest/gtest.h>

#include <chrono>

#include "trace/rate_limiter.hpp"

using datadog::trace::RateLimiter;
using namespace std::chrono_literals;

namespace {

// An arbitrary, second-aligned start so window boundaries are predictable.
const RateLimiter::Clock::time_point start{1000s};

}  // namespace

TEST(SamplingRateLimiter, BucketStartsFullThenRefuses) {
  RateLimiter limiter(1.0);
  EXPECT_TRUE(limiter.allow(start).allowed);
  EXPECT_FALSE(limiter.allow(start).allowed);
}

TEST(SamplingRateLimiter, BurstIsTheCeilingOfTheRate) {
  RateLimiter limiter(23.97);
  for (int i = 0; i < 24; ++i) EXPECT_TRUE(limiter.allow(start).allowed) << i;
  EXPECT_FALSE(limiter.allow(start).allowed);
  // One token every 1/23.97 s.
  const auto now = start + std::chrono::milliseconds(static_cast<int>(1 / 23.97 * 1000) + 1);
  EXPECT_TRUE(limiter.allow(now).allowed);
  EXPECT_FALSE(limiter.allow(now).allowed);
}

TEST(SamplingRateLimiter, RefillsOneTokenPerInterval) {
  RateLimiter limiter(1.0);
  EXPECT_TRUE(limiter.allow(start).allowed);
  EXPECT_FALSE(limiter.allow(start + 999ms).allowed);
  EXPECT_TRUE(limiter.allow(start + 1s).allowed);
  EXPECT_FALSE(limiter.allow(start + 1s).allowed);
}

TEST(SamplingRateLimiter, LongIdleRefillsNoMoreThanTheBucket) {
  RateLimiter limiter(1.0);
  EXPECT_TRUE(limiter.allow(start).allowed);
  EXPECT_TRUE(limiter.allow(start + 2s).allowed);
  EXPECT_FALSE(limiter.allow(start + 2s).allowed);

  RateLimiter hundred(100.0);
  for (int i = 0; i < 100; ++i) hundred.allow(start);
  int allowed = 0;
  for (int i = 0; i < 150; ++i) allowed += hundred.allow(start + 24h).allowed;
  EXPECT_EQ(allowed, 100);
}

TEST(SamplingRateLimiter, SubSecondRefillAtFivePerSecond) {
  RateLimiter limiter(5.0);  // a token every 200 ms
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.allow(start).allowed);
  EXPECT_FALSE(limiter.allow(start).allowed);
  EXPECT_TRUE(limiter.allow(start + 200ms).allowed);
  EXPECT_FALSE(limiter.allow(start + 200ms).allowed);
  const auto later = start + 1200ms;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.allow(later).allowed);
  EXPECT_FALSE(limiter.allow(later).allowed);
}

TEST(SamplingRateLimiter, RatesBelowOnePerSecondWaitWholeIntervals) {
  RateLimiter limiter(0.25);  // a token every 4 s, room for one
  EXPECT_TRUE(limiter.allow(start).allowed);
  for (auto t : {1s, 2s, 3s}) EXPECT_FALSE(limiter.allow(start + t).allowed);
  EXPECT_TRUE(limiter.allow(start + 4s).allowed);
  EXPECT_FALSE(limiter.allow(start + 4s).allowed);
}

TEST(SamplingRateLimiter, EffectiveRateIsTheTenSecondMeanOfAllowedOverAsked) {
  RateLimiter limiter(1.0);
  // Nine quiet seconds count as 1.0 each; this second is 1/1, then 1/2.
  EXPECT_DOUBLE_EQ(limiter.allow(start).effective_rate, 1.0);
  EXPECT_DOUBLE_EQ(limiter.allow(start).effective_rate, 0.95);
  // Ten seconds later the history has forgotten all of it.
  EXPECT_DOUBLE_EQ(limiter.allow(start + 10s).effective_rate, 1.0);
}

TEST(SamplingRateLimiter, EffectiveRateRemembersPreviousSeconds) {
  RateLimiter limiter(1.0);
  for (int i = 0; i < 4; ++i) limiter.allow(start);  // second 0: 1 of 4 allowed
  // Second 1: the one new token is allowed; history = {0.25, 1 × 8}, current 1/1.
  const auto next = limiter.allow(start + 1s);
  EXPECT_TRUE(next.allowed);
  EXPECT_DOUBLE_EQ(next.effective_rate, (0.25 + 8 + 1) / 10);
  // Second 3 (second 2 quiet): history = {1 (second 2), 1 (second 1), 0.25, 1 × 6}.
  const auto later = limiter.allow(start + 3s);
  EXPECT_DOUBLE_EQ(later.effective_rate, (0.25 + 8 + 1) / 10);
  // Nine seconds after second 0 it is still remembered; ten after, gone.
  EXPECT_LT(limiter.allow(start + 9s).effective_rate, 1.0);
  EXPECT_DOUBLE_EQ(limiter.allow(start + 10s).effective_rate, 1.0);
}

TEST(SamplingRateLimiter, EffectiveRateNeverLeavesTheUnitInterval) {
  RateLimiter limiter(2.0);
  auto now = start;
  for (int i = 0; i < 2000; ++i) {
    now += 7ms;
    const auto result = limiter.allow(now);
    ASSERT_GE(result.effective_rate, 0.0);
    ASSERT_LE(result.effective_rate, 1.0);
  }
}

TEST(SamplingRateLimiter, AbsurdRatesAreClampedInsteadOfOverflowing) {
  RateLimiter huge(1e300);
  EXPECT_TRUE(huge.allow(start).allowed);
  RateLimiter tiny(1e-300);
  EXPECT_TRUE(tiny.allow(start).allowed);
  EXPECT_FALSE(tiny.allow(start + 24h).allowed);
}
