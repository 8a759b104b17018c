// Retry delays after consecutive failures to reach the agent: exponential,
// capped, jittered, and reset by a success.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>

#include "agent/backoff.hpp"

using datadog::agent::Backoff;
using datadog::agent::BackoffPolicy;
using datadog::agent::JitterSource;
using std::chrono::milliseconds;

namespace {
constexpr std::uint64_t lowest = 0;
constexpr std::uint64_t highest = ~std::uint64_t{0};
}  // namespace

TEST(AgentBackoff, DefaultsAreOneSecondGrowingToTenSeconds) {
  const BackoffPolicy policy;
  EXPECT_EQ(policy.base, milliseconds(1000));
  EXPECT_EQ(policy.cap, milliseconds(10000));
}

TEST(AgentBackoff, FirstDelayIsBetweenHalfTheBaseAndTheBase) {
  Backoff low;
  EXPECT_EQ(low.next_delay(lowest), milliseconds(500));
  Backoff high;
  EXPECT_LE(high.next_delay(highest), milliseconds(1000));
  EXPECT_GE(Backoff().next_delay(highest), milliseconds(500));
}

TEST(AgentBackoff, DoublesWithEachFailureUntilTheCap) {
  Backoff backoff;
  EXPECT_EQ(backoff.next_delay(lowest), milliseconds(500));
  EXPECT_EQ(backoff.next_delay(lowest), milliseconds(1000));
  EXPECT_EQ(backoff.next_delay(lowest), milliseconds(2000));
  EXPECT_EQ(backoff.next_delay(lowest), milliseconds(4000));
  EXPECT_EQ(backoff.next_delay(lowest), milliseconds(5000));
  EXPECT_EQ(backoff.next_delay(lowest), milliseconds(5000));
  EXPECT_EQ(backoff.failures(), 6u);
}

TEST(AgentBackoff, NeverExceedsTheCapHoweverLongTheOutage) {
  Backoff backoff;
  for (int i = 0; i < 10000; ++i) {
    const auto delay = backoff.next_delay(static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ULL);
    ASSERT_LE(delay, milliseconds(10000));
    ASSERT_GE(delay, milliseconds(500));
  }
}

TEST(AgentBackoff, SuccessStartsOverFromTheBase) {
  Backoff backoff;
  for (int i = 0; i < 8; ++i) {
    backoff.next_delay(lowest);
  }
  backoff.reset();
  EXPECT_EQ(backoff.failures(), 0u);
  EXPECT_EQ(backoff.next_delay(lowest), milliseconds(500));
}

TEST(AgentBackoff, CustomPolicyIsHonoured) {
  Backoff backoff(BackoffPolicy{milliseconds(200), milliseconds(1000)});
  EXPECT_EQ(backoff.next_delay(lowest), milliseconds(100));
  EXPECT_EQ(backoff.next_delay(lowest), milliseconds(200));
  EXPECT_EQ(backoff.next_delay(lowest), milliseconds(400));
  EXPECT_EQ(backoff.next_delay(500), milliseconds(1000));  // 500 + 500 % 501
}

TEST(AgentBackoff, WorkersWithDifferentSeedsDoNotRetryInLockstep) {
  std::set<milliseconds::rep> delays;
  for (std::uint64_t worker = 1; worker <= 16; ++worker) {
    JitterSource jitter(worker);
    Backoff backoff;
    backoff.next_delay(jitter.next());
    delays.insert(backoff.next_delay(jitter.next()).count());  // second failure: 1000..2000 ms
  }
  EXPECT_GT(delays.size(), 12u);
  EXPECT_GE(*delays.begin(), 1000);
  EXPECT_LE(*delays.rbegin(), 2000);
}

TEST(AgentBackoff, JitterSourceIsReproducibleFromItsSeed) {
  JitterSource a(42);
  JitterSource b(42);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(a.next(), b.next());
  }
}
