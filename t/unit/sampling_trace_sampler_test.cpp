// The trace sampler's decision per path (rule, catch-all, agent rate,
// default): priority, mechanism, `_dd.p.dm` and the rate metrics, as
// dd-trace-cpp's TraceSampler and TraceSegment report them.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "trace/knuth_sampling.hpp"
#include "trace/trace_sampler.hpp"

using namespace datadog::trace;
using namespace std::chrono_literals;

namespace {

const TraceSampler::Clock::time_point now{5000s};

// From dd-trace-cpp's Knuth vectors at rate 0.5: kept and dropped ids.
constexpr TraceId kept_at_half{0, 1};
constexpr TraceId dropped_at_half{0, 10};

SampledSpan request_span(std::span<const Meta> tags = {}) {
  return SampledSpan{"web", "nginx.request", "GET /api/users", "prod", tags};
}

SamplingRule rule_for_service(std::string service, double rate) {
  SamplingRule rule;
  rule.service = Pattern::glob(std::move(service));
  rule.sample_rate = rate;
  return rule;
}

}  // namespace

TEST(SamplingTraceSampler, DefaultBeforeAnyAgentReplyKeepsWithMechanismZero) {
  TraceSampler sampler(SamplerConfig{});
  const auto decision = sampler.decide(request_span(), dropped_at_half, now);
  EXPECT_EQ(decision.priority, priority::auto_keep);
  EXPECT_EQ(decision.mechanism, mechanism::default_rate);
  EXPECT_EQ(decision.agent_rate, 1.0);  // dd-trace-cpp reports the 1.0 it used
  EXPECT_FALSE(decision.rule_rate);
  EXPECT_FALSE(decision.limiter_rate);
  EXPECT_EQ(decision.decision_maker, 0);
  EXPECT_EQ(decision.decision_maker_text(), "-0");
}

TEST(SamplingTraceSampler, AgentRateForServiceAndEnvDecidesWithMechanismOne) {
  TraceSampler sampler(SamplerConfig{});
  ASSERT_FALSE(sampler.update_agent_rates(
      R"({"rate_by_service": {"service:web,env:prod": 0.5, "service:,env:": 0}})"));

  const auto kept = sampler.decide(request_span(), kept_at_half, now);
  EXPECT_EQ(kept.priority, priority::auto_keep);
  EXPECT_EQ(kept.mechanism, mechanism::agent_rate);
  EXPECT_EQ(kept.agent_rate, 0.5);
  EXPECT_EQ(kept.decision_maker_text(), "-1");

  const auto dropped = sampler.decide(request_span(), dropped_at_half, now);
  EXPECT_EQ(dropped.priority, priority::auto_drop);
  EXPECT_EQ(dropped.mechanism, mechanism::agent_rate);
  EXPECT_EQ(dropped.agent_rate, 0.5);
  EXPECT_FALSE(dropped.decision_maker);
  EXPECT_EQ(dropped.decision_maker_text(), "");
}

TEST(SamplingTraceSampler, AgentDefaultKeyAppliesToOtherServices) {
  TraceSampler sampler(SamplerConfig{});
  ASSERT_FALSE(
      sampler.update_agent_rates(R"({"rate_by_service": {"service:api,env:prod": 1, "service:,env:": 0}})"));
  const auto decision = sampler.decide(request_span(), kept_at_half, now);
  EXPECT_EQ(decision.priority, priority::auto_drop);
  EXPECT_EQ(decision.mechanism, mechanism::agent_rate);
  EXPECT_EQ(decision.agent_rate, 0.0);
}

TEST(SamplingTraceSampler, AgentRepliesWithoutTheDefaultLeaveOtherServicesOnTheDefaultMechanism) {
  TraceSampler sampler(SamplerConfig{});
  ASSERT_FALSE(sampler.update_agent_rates(R"({"rate_by_service": {"service:api,env:prod": 0}})"));
  const auto decision = sampler.decide(request_span(), kept_at_half, now);
  EXPECT_EQ(decision.mechanism, mechanism::default_rate);
  EXPECT_EQ(decision.agent_rate, 1.0);
}

TEST(SamplingTraceSampler, MatchingRuleKeepsWithUserKeepAndRuleMetrics) {
  SamplerConfig config;
  config.rules.push_back(rule_for_service("web", 0.5));
  TraceSampler sampler(std::move(config));
  const auto decision = sampler.decide(request_span(), kept_at_half, now);
  EXPECT_EQ(decision.priority, priority::user_keep);
  EXPECT_EQ(decision.mechanism, mechanism::rule);
  EXPECT_EQ(decision.rule_rate, 0.5);
  EXPECT_EQ(decision.limiter_rate, 1.0);
  EXPECT_FALSE(decision.agent_rate);
  EXPECT_EQ(decision.decision_maker_text(), "-3");
}

TEST(SamplingTraceSampler, RuleHashFailureDropsWithoutAskingTheLimiter) {
  SamplerConfig config;
  config.rules.push_back(rule_for_service("web", 0.5));
  config.rate_limit = 1;
  TraceSampler sampler(std::move(config));
  const auto dropped = sampler.decide(request_span(), dropped_at_half, now);
  EXPECT_EQ(dropped.priority, priority::user_drop);
  EXPECT_EQ(dropped.mechanism, mechanism::rule);
  EXPECT_EQ(dropped.rule_rate, 0.5);
  EXPECT_FALSE(dropped.limiter_rate);
  EXPECT_FALSE(dropped.decision_maker);
  // The limiter's single token is still there for the next kept trace.
  EXPECT_EQ(sampler.decide(request_span(), kept_at_half, now).priority, priority::user_keep);
}

TEST(SamplingTraceSampler, RuleKeepsAreCappedByTheLimiter) {
  SamplerConfig config;
  config.rules.push_back(rule_for_service("*", 1.0));
  config.rate_limit = 2;
  TraceSampler sampler(std::move(config));
  EXPECT_EQ(sampler.decide(request_span(), kept_at_half, now).priority, priority::user_keep);
  EXPECT_EQ(sampler.decide(request_span(), kept_at_half, now).priority, priority::user_keep);
  const auto limited = sampler.decide(request_span(), kept_at_half, now);
  EXPECT_EQ(limited.priority, priority::user_drop);
  EXPECT_EQ(limited.mechanism, mechanism::rule);
  EXPECT_EQ(limited.rule_rate, 1.0);
  EXPECT_DOUBLE_EQ(*limited.limiter_rate, (9 + 2.0 / 3) / 10);
  EXPECT_FALSE(limited.decision_maker);
  // Half a second later one token is back.
  EXPECT_EQ(sampler.decide(request_span(), kept_at_half, now + 500ms).priority, priority::user_keep);
}

TEST(SamplingTraceSampler, DefaultLimitIsOneHundredPerSecond) {
  SamplerConfig config;
  config.sample_rate = 1.0;
  TraceSampler sampler(std::move(config));
  EXPECT_DOUBLE_EQ(sampler.rate_limit(), 100.0);
  int kept = 0;
  for (int i = 0; i < 150; ++i) kept += sampler.decide(request_span(), kept_at_half, now).keep();
  EXPECT_EQ(kept, 100);
}

TEST(SamplingTraceSampler, RulesAreTriedInOrderAndTheFirstMatchWins) {
  SamplerConfig config;
  config.rules.push_back(rule_for_service("api", 1.0));  // does not match
  config.rules.push_back(rule_for_service("w*", 0.0));   // first match
  config.rules.push_back(rule_for_service("web", 1.0));  // also matches, never reached
  TraceSampler sampler(std::move(config));
  const auto decision = sampler.decide(request_span(), kept_at_half, now);
  EXPECT_EQ(decision.priority, priority::user_drop);
  EXPECT_EQ(decision.rule_rate, 0.0);
}

TEST(SamplingTraceSampler, RulesMatchOnEveryFieldAndTag) {
  const auto parsed = parse_sampling_rules(
      R"([{"service": "web", "name": "nginx.request", "resource": "GET /api/*", "tags": {"team": "edge"},
           "sample_rate": 0}])");
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  TraceSampler sampler(SamplerConfig{parsed.rules, std::nullopt, 100, {}});

  const Meta edge[] = {{"team", "EDGE"}};
  const Meta core[] = {{"team", "core"}};
  EXPECT_EQ(sampler.decide(request_span(edge), kept_at_half, now).mechanism, mechanism::rule);
  EXPECT_EQ(sampler.decide(request_span(core), kept_at_half, now).mechanism, mechanism::default_rate);
  EXPECT_EQ(sampler.decide(request_span(), kept_at_half, now).mechanism,
            mechanism::default_rate);  // tag absent
  SampledSpan other_resource = request_span(edge);
  other_resource.resource = "POST /api/users";
  EXPECT_EQ(sampler.decide(other_resource, kept_at_half, now).mechanism, mechanism::default_rate);
}

TEST(SamplingTraceSampler, SampleRateIsACatchAllAfterEveryRule) {
  SamplerConfig config;
  config.rules.push_back(rule_for_service("api", 1.0));
  config.sample_rate = 0.0;
  TraceSampler sampler(std::move(config));
  sampler.add_rule(rule_for_service("web", 1.0));  // added later, still before the catch-all

  const auto web = sampler.decide(request_span(), kept_at_half, now);
  EXPECT_EQ(web.priority, priority::user_keep);
  EXPECT_EQ(web.rule_rate, 1.0);

  SampledSpan other = request_span();
  other.service = "batch";
  const auto caught = sampler.decide(other, kept_at_half, now);
  EXPECT_EQ(caught.priority, priority::user_drop);
  EXPECT_EQ(caught.mechanism, mechanism::rule);
  EXPECT_EQ(caught.rule_rate, 0.0);
}

TEST(SamplingTraceSampler, CatchAllBeatsAgentRates) {
  SamplerConfig config;
  config.sample_rate = 1.0;
  TraceSampler sampler(std::move(config));
  ASSERT_FALSE(sampler.update_agent_rates(R"({"rate_by_service": {"service:,env:": 0}})"));
  const auto decision = sampler.decide(request_span(), kept_at_half, now);
  EXPECT_EQ(decision.priority, priority::user_keep);
  EXPECT_EQ(decision.mechanism, mechanism::rule);
  EXPECT_FALSE(decision.agent_rate);
}

TEST(SamplingTraceSampler, DirectiveRuleAppliesOnlyWhenTheGlueTaggedTheSpan) {
  // What the glue does for `datadog_sample_rate 0 $is_health;` at nginx.conf line 23.
  TraceSampler sampler(SamplerConfig{});
  sampler.add_rule(SamplingRule::for_tag("nginx.sample_rate_source", "/etc/nginx/nginx.conf:23#1", 0.0));
  sampler.add_rule(SamplingRule::for_tag("nginx.sample_rate_source", "/etc/nginx/nginx.conf:24#1", 1.0));

  const Meta health[] = {{"nginx.sample_rate_source", "/etc/nginx/nginx.conf:23#1"}};
  const auto dropped = sampler.decide(request_span(health), kept_at_half, now);
  EXPECT_EQ(dropped.priority, priority::user_drop);
  EXPECT_EQ(dropped.rule_rate, 0.0);

  const Meta other[] = {{"nginx.sample_rate_source", "/etc/nginx/nginx.conf:24#1"}};
  EXPECT_EQ(sampler.decide(request_span(other), kept_at_half, now).priority, priority::user_keep);

  // Condition off: no tag, so no directive rule; the agent/default path decides.
  EXPECT_EQ(sampler.decide(request_span(), kept_at_half, now).mechanism, mechanism::default_rate);
}

TEST(SamplingTraceSampler, GarbageFromTheAgentKeepsTheRatesInUse) {
  TraceSampler sampler(SamplerConfig{});
  ASSERT_FALSE(sampler.update_agent_rates(R"({"rate_by_service": {"service:web,env:prod": 0}})"));
  EXPECT_TRUE(sampler.update_agent_rates("<html>502 Bad Gateway</html>"));
  const auto decision = sampler.decide(request_span(), kept_at_half, now);
  EXPECT_EQ(decision.mechanism, mechanism::agent_rate);
  EXPECT_EQ(decision.priority, priority::auto_drop);
}

TEST(SamplingTraceSampler, OnlyTheLowHalfOfTheTraceIdIsHashed) {
  TraceSampler sampler(SamplerConfig{});
  ASSERT_FALSE(sampler.update_agent_rates(R"({"rate_by_service": {"service:,env:": 0.5}})"));
  EXPECT_EQ(sampler.decide(request_span(), TraceId{0xdeadbeef, 1}, now).priority, priority::auto_keep);
  EXPECT_EQ(sampler.decide(request_span(), TraceId{0xdeadbeef, 10}, now).priority, priority::auto_drop);
}

TEST(SamplingTraceSampler, DecisionsAgreeWithTheKnuthCheckAtEveryRate) {
  for (double rate : {0.0, 0.1, 0.5, 0.9, 1.0}) {
    TraceSampler sampler(SamplerConfig{});
    sampler.add_rule(rule_for_service("*", rate));
    for (std::uint64_t id = 1; id < 50; ++id) {
      const auto decision = sampler.decide(request_span(), TraceId{0, id}, now + std::chrono::seconds(id));
      EXPECT_EQ(decision.keep(), knuth_keep(id, rate)) << id << " at " << rate;
    }
  }
}

TEST(SamplingTraceSampler, ManualDecisionCarriesMechanismFour) {
  const auto keep = manual_decision(true);
  EXPECT_EQ(keep.priority, priority::user_keep);
  EXPECT_EQ(keep.mechanism, mechanism::manual);
  EXPECT_EQ(keep.decision_maker_text(), "-4");
  const auto drop = manual_decision(false);
  EXPECT_EQ(drop.priority, priority::user_drop);
  EXPECT_EQ(drop.decision_maker_text(), "");
}
