// Single-span sampling (DD_SPAN_SAMPLING_RULES): the rule format with
// max_per_second, first-match-wins, the span-id hash and the per-rule limiter,
// as dd-trace-cpp's span_sampler.cpp and span_sampler_config.cpp have them.
#include <gtest/gtest.h>

#include <chrono>

#include "trace/knuth_sampling.hpp"
#include "trace/sampler_config.hpp"
#include "trace/span_sampler.hpp"

using namespace datadog::trace;
using namespace std::chrono_literals;

namespace {

const RateLimiter::Clock::time_point now{5000s};

// From dd-trace-cpp's Knuth vectors at rate 0.5: a kept and a dropped id.
constexpr SpanId kept_at_half = 1;
constexpr SpanId dropped_at_half = 10;

SampledSpan location_span(std::span<const Meta> tags = {}) {
  return SampledSpan{"web", "nginx.location", "GET /api", "prod", tags};
}

SpanSampler sampler_of(std::string_view json) {
  const auto parsed = parse_span_sampling_rules(json);
  EXPECT_TRUE(parsed.ok()) << parsed.error;
  return SpanSampler(parsed.rules);
}

}  // namespace

TEST(SamplingSpanRules, ParseEveryPropertyIncludingMaxPerSecond) {
  const auto parsed = parse_span_sampling_rules(
      R"([{"service": "web", "name": "nginx.*", "resource": "GET /?pi", "tags": {"team": "edge"},
           "sample_rate": 0.5, "max_per_second": 20}, {}])");
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  ASSERT_EQ(parsed.rules.size(), 2u);
  EXPECT_EQ(parsed.rules[0].match.sample_rate, 0.5);
  EXPECT_EQ(parsed.rules[0].max_per_second, 20.0);
  EXPECT_EQ(parsed.rules[0].match.tags.size(), 1u);
  // Missing fields: every span, rate 1, no cap.
  EXPECT_EQ(parsed.rules[1].match.sample_rate, 1.0);
  EXPECT_FALSE(parsed.rules[1].max_per_second);
}

TEST(SamplingSpanRules, MalformedRulesAreSentencesNamingTheSource) {
  const auto bad_json = parse_span_sampling_rules("[{", "DD_SPAN_SAMPLING_RULES_FILE");
  EXPECT_EQ(bad_json.error.rfind("DD_SPAN_SAMPLING_RULES_FILE: invalid JSON: ", 0), 0u) << bad_json.error;
  EXPECT_EQ(parse_span_sampling_rules(R"({"service": "web"})").error,
            R"(DD_SPAN_SAMPLING_RULES: must be a JSON array of rules, found {"service":"web"})");
  EXPECT_EQ(parse_span_sampling_rules(R"([{}, {"max_per_second": 0}])").error,
            R"(DD_SPAN_SAMPLING_RULES: rule 2: "max_per_second" must be a number greater than 0, found 0)");
  EXPECT_EQ(parse_span_sampling_rules(R"([{"max_per_second": "5"}])").error,
            R"(DD_SPAN_SAMPLING_RULES: rule 1: "max_per_second" must be a number greater than 0, found "5")");
  EXPECT_EQ(parse_span_sampling_rules(R"([{"sample_rate": 2}])").error,
            R"(DD_SPAN_SAMPLING_RULES: rule 1: "sample_rate" must be a number from 0 to 1, found 2)");
  EXPECT_EQ(parse_span_sampling_rules(R"([{"sevice": "web"}])").error,
            "DD_SPAN_SAMPLING_RULES: rule 1: unknown property \"sevice\" (expected service, name, resource, "
            "tags, sample_rate or max_per_second)");
}

TEST(SamplingSpanRules, TraceSamplingRulesStillRejectMaxPerSecond) {
  EXPECT_FALSE(parse_sampling_rules(R"([{"max_per_second": 5}])").ok());
}

TEST(SamplingSpanSampler, KeepsAMatchingSpanWithTheRuleRate) {
  auto sampler = sampler_of(R"([{"service": "web", "name": "nginx.location", "sample_rate": 1}])");
  const auto keep = sampler.keep(location_span(), dropped_at_half, now);
  ASSERT_TRUE(keep);
  EXPECT_EQ(keep->rule_rate, 1.0);
  EXPECT_FALSE(keep->max_per_second);
}

TEST(SamplingSpanSampler, SpansNoRuleMatchesAreNotKept) {
  auto sampler = sampler_of(R"([{"service": "other"}, {"name": "nginx.request"}, {"resource": "POST *"}])");
  EXPECT_FALSE(sampler.keep(location_span(), kept_at_half, now));
}

TEST(SamplingSpanSampler, TheSpanIdHashDecidesAtTheRuleRate) {
  auto sampler = sampler_of(R"([{"sample_rate": 0.5}])");
  ASSERT_TRUE(knuth_keep(kept_at_half, 0.5) && !knuth_keep(dropped_at_half, 0.5));
  EXPECT_TRUE(sampler.keep(location_span(), kept_at_half, now));
  EXPECT_FALSE(sampler.keep(location_span(), dropped_at_half, now));
  EXPECT_FALSE(sampler_of(R"([{"sample_rate": 0}])").keep(location_span(), kept_at_half, now));
}

TEST(SamplingSpanSampler, FirstMatchingRuleDecidesEvenWhenItDrops) {
  // dd-trace-cpp: the first match decides; a later rule is not tried.
  auto sampler = sampler_of(R"([{"name": "nginx.*", "sample_rate": 0}, {"sample_rate": 1}])");
  EXPECT_FALSE(sampler.keep(location_span(), kept_at_half, now));
  const auto later = sampler_of(R"([{"name": "nginx.request", "sample_rate": 0}, {"sample_rate": 0.5}])")
                         .keep(location_span(), kept_at_half, now);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->rule_rate, 0.5);
}

TEST(SamplingSpanSampler, TagsMustAllBePresentAndMatch) {
  auto sampler = sampler_of(R"([{"tags": {"http.method": "G?T", "nginx.location": "/api*"}}])");
  EXPECT_TRUE(sampler.reads_tags());
  const Meta both[] = {{"http.method", "GET"}, {"nginx.location", "/api/v1"}};
  const Meta one[] = {{"http.method", "GET"}};
  EXPECT_TRUE(sampler.keep(location_span(both), kept_at_half, now));
  EXPECT_FALSE(sampler.keep(location_span(one), kept_at_half, now));
  EXPECT_FALSE(sampler_of("[{}]").reads_tags());
}

TEST(SamplingSpanSampler, MaxPerSecondCapsKeepsPerRule) {
  auto sampler = sampler_of(R"([{"name": "nginx.location", "max_per_second": 2}, {"max_per_second": 1}])");
  const auto first = sampler.keep(location_span(), kept_at_half, now);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->max_per_second, 2.0);
  EXPECT_TRUE(sampler.keep(location_span(), kept_at_half, now));
  EXPECT_FALSE(sampler.keep(location_span(), kept_at_half, now));  // the third in the same second
  // The other rule has its own bucket.
  const SampledSpan request{"web", "nginx.request", "GET /api", "prod", {}};
  EXPECT_TRUE(sampler.keep(request, kept_at_half, now));
  EXPECT_FALSE(sampler.keep(request, kept_at_half, now));
  // A second later, the bucket has refilled.
  EXPECT_TRUE(sampler.keep(location_span(), kept_at_half, now + 1s));
}

TEST(SamplingSpanSampler, NoRulesKeepNothing) {
  auto sampler = sampler_of("");
  EXPECT_TRUE(sampler.empty());
  EXPECT_FALSE(sampler.keep(location_span(), kept_at_half, now));
}
