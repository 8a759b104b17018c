// The shared Knuth hash check, on the vectors other Datadog tracers test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "trace/knuth_sampling.hpp"

using datadog::trace::knuth_hash;
using datadog::trace::knuth_keep;

namespace {

struct KnuthCase {
  std::uint64_t id;
  bool keep;
};

}  // namespace

TEST(SamplingKnuth, KeepsAtHalfRateLikeDdTraceCpp) {
  // DataDog/dd-trace-cpp test/test_sampling_util.cpp, "probabilistic sampling", rate 0.5.
  const KnuthCase cases[] = {
      {1ULL, true},
      {10ULL, false},
      {100ULL, true},
      {1000ULL, true},
      {18444899399302180860ULL, false},
      {18444899399302180861ULL, false},
      {18444899399302180862ULL, true},
      {18444899399302180863ULL, true},
      {18446744073709551615ULL, false},  // 2^64 - 1
      {9223372036854775809ULL, false},   // 2^63 + 1
      {9223372036854775807ULL, true},    // 2^63 - 1
      {4611686018427387905ULL, false},   // 2^62 + 1
      {4611686018427387903ULL, false},   // 2^62 - 1
      {646771306295669658ULL, true},
      {1882305164521835798ULL, true},
      {5198373796167680436ULL, false},
      {6272545487220484606ULL, true},
      {8696342848850656916ULL, true},
      {10197320802478874805ULL, true},
      {10350218024687037124ULL, true},
      {12078589664685934330ULL, false},
      {13794769880582338323ULL, true},
      {14629469446186818297ULL, false},
  };
  for (const auto& c : cases) EXPECT_EQ(knuth_keep(c.id, 0.5), c.keep) << c.id;
}

TEST(SamplingKnuth, HashIsMultiplicationModuloTwoToThe64) {
  EXPECT_EQ(knuth_hash(0), 0u);
  EXPECT_EQ(knuth_hash(1), 1111111111111111111ULL);
  // 2 × 1111111111111111111 still fits; 17 × it wraps once.
  EXPECT_EQ(knuth_hash(2), 2222222222222222222ULL);
  EXPECT_EQ(knuth_hash(17), 17ULL * 1111111111111111111ULL);  // unsigned wrap is the modulo
}

TEST(SamplingKnuth, RateOneKeepsEveryIdIncludingTheLargest) {
  for (std::uint64_t id : {0ULL, 1ULL, 10ULL, 14629469446186818297ULL, 18446744073709551615ULL}) {
    EXPECT_TRUE(knuth_keep(id, 1.0)) << id;
  }
}

TEST(SamplingKnuth, RateZeroKeepsNone) {
  for (std::uint64_t id : {0ULL, 1ULL, 100ULL, 18446744073709551615ULL})
    EXPECT_FALSE(knuth_keep(id, 0.0)) << id;
}

TEST(SamplingKnuth, RatesOutsideTheUnitIntervalAreClampedNotUndefined) {
  EXPECT_TRUE(knuth_keep(10, 1.5));
  EXPECT_FALSE(knuth_keep(1, -0.5));
  EXPECT_FALSE(knuth_keep(1, std::nan("")));
}

TEST(SamplingKnuth, LargestRateBelowOneStillFitsIn64Bits) {
  const double just_below_one = std::nextafter(1.0, 0.0);
  // hash(10) is above the 0.5 threshold; just below 1.0 almost everything passes.
  EXPECT_TRUE(knuth_keep(10, just_below_one));
}

TEST(SamplingKnuth, HashEqualToTheThresholdIsKept) {
  // The factor is odd, so hash(2^63) = 2^63 exactly, and at rate 0.5 the
  // threshold is 0.5 × (2^64 − 1) → 2^63 in double arithmetic: equal. Kept
  // because the check is ≤ (dd-trace-cpp's TraceSampler::decide).
  constexpr std::uint64_t id = 1ULL << 63;
  ASSERT_EQ(knuth_hash(id), id);
  EXPECT_TRUE(knuth_keep(id, 0.5));
  EXPECT_FALSE(knuth_keep(id + 1, 0.5));  // also a dd-trace-cpp vector
}

TEST(SamplingKnuth, KeepsAboutTheRateOverManyIds) {
  int kept = 0;
  constexpr int total = 100000;
  for (std::uint64_t id = 1; id <= total; ++id) kept += knuth_keep(id * 0x9E3779B97F4A7C15ULL, 0.25);
  EXPECT_NEAR(static_cast<double>(kept) / total, 0.25, 0.01);
}
