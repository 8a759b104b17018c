// DD_TRACE_SAMPLING_RULES, DD_TRACE_SAMPLE_RATE and DD_TRACE_RATE_LIMIT: what
// is accepted, and the sentence `nginx -t` prints for what is not.
#include <gtest/gtest.h>

#include <string>

#include "trace/sampler_config.hpp"

using datadog::trace::parse_rate_limit;
using datadog::trace::parse_sample_rate;
using datadog::trace::parse_sampling_rules;
using datadog::trace::SampledSpan;

namespace {

std::string rules_error(std::string_view json) {
  const auto parsed = parse_sampling_rules(json);
  EXPECT_FALSE(parsed.ok()) << json << " was accepted";
  EXPECT_TRUE(parsed.rules.empty());
  return parsed.error;
}

}  // namespace

TEST(SamplingConfig, RulesWithEveryFieldParse) {
  const auto parsed = parse_sampling_rules(
      R"([{"service": "web", "name": "nginx.*", "resource": "GET /health*",
           "tags": {"http.method": "G?T", "team": "edge"}, "sample_rate": 0.1},
          {"sample_rate": 0}])");
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  ASSERT_EQ(parsed.rules.size(), 2u);
  const auto& rule = parsed.rules[0];
  EXPECT_EQ(rule.service.text(), "web");
  EXPECT_EQ(rule.name.text(), "nginx.*");
  EXPECT_EQ(rule.resource.text(), "GET /health*");
  ASSERT_EQ(rule.tags.size(), 2u);
  EXPECT_DOUBLE_EQ(rule.sample_rate, 0.1);
  EXPECT_DOUBLE_EQ(parsed.rules[1].sample_rate, 0.0);
}

TEST(SamplingConfig, MissingFieldsMatchAnythingAndRateDefaultsToOne) {
  const auto parsed = parse_sampling_rules(R"([{}])");
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  ASSERT_EQ(parsed.rules.size(), 1u);
  EXPECT_DOUBLE_EQ(parsed.rules[0].sample_rate, 1.0);
  EXPECT_TRUE(parsed.rules[0].matches(SampledSpan{"any", "thing", "at all", "", {}}));
}

TEST(SamplingConfig, EmptyTextOrEmptyArrayMeansNoRules) {
  for (const char* text : {"", "  \n", "[]"}) {
    const auto parsed = parse_sampling_rules(text);
    EXPECT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_TRUE(parsed.rules.empty());
  }
}

TEST(SamplingConfig, NonNumericSampleRateNamesTheRuleAndTheValue) {
  EXPECT_EQ(rules_error(R"([{"sample_rate": 1}, {"sample_rate": "abc"}])"),
            R"(DD_TRACE_SAMPLING_RULES: rule 2: "sample_rate" must be a number from 0 to 1, found "abc")");
}

TEST(SamplingConfig, SampleRateOutOfRangeIsRejected) {
  EXPECT_EQ(rules_error(R"([{"sample_rate": 1.5}])"),
            R"(DD_TRACE_SAMPLING_RULES: rule 1: "sample_rate" must be a number from 0 to 1, found 1.5)");
  EXPECT_NE(rules_error(R"([{"sample_rate": -0.1}])").find("found -0.1"), std::string::npos);
  EXPECT_NE(rules_error(R"([{"sample_rate": null}])").find("found null"), std::string::npos);
}

TEST(SamplingConfig, InvalidJsonSaysWhere) {
  const auto error = rules_error(R"([{"service": "web",])");
  EXPECT_EQ(error.rfind("DD_TRACE_SAMPLING_RULES: invalid JSON: parse error at line 1, column ", 0), 0u)
      << error;
}

TEST(SamplingConfig, TopLevelMustBeAnArray) {
  EXPECT_EQ(rules_error(R"({"sample_rate": 0.5})"),
            R"(DD_TRACE_SAMPLING_RULES: must be a JSON array of rules, found {"sample_rate":0.5})");
}

TEST(SamplingConfig, EachRuleMustBeAnObject) {
  EXPECT_EQ(rules_error(R"([{}, 0.5])"), "DD_TRACE_SAMPLING_RULES: rule 2: must be a JSON object, found 0.5");
}

TEST(SamplingConfig, PatternsMustBeStrings) {
  EXPECT_EQ(rules_error(R"([{"service": 5}])"),
            R"(DD_TRACE_SAMPLING_RULES: rule 1: "service" must be a string, found 5)");
  EXPECT_EQ(rules_error(R"([{"tags": ["a"]}])"),
            R"(DD_TRACE_SAMPLING_RULES: rule 1: "tags" must be an object of tag patterns, found ["a"])");
  EXPECT_EQ(
      rules_error(R"([{"tags": {"http.status_code": 200}}])"),
      R"(DD_TRACE_SAMPLING_RULES: rule 1: tag "http.status_code" must have a string pattern, found 200)");
}

TEST(SamplingConfig, UnknownPropertyIsAnError) {
  EXPECT_EQ(rules_error(R"([{"sample_rte": 0.5}])"),
            R"(DD_TRACE_SAMPLING_RULES: rule 1: unknown property "sample_rte" )"
            R"((expected service, name, resource, tags or sample_rate))");
}

TEST(SamplingConfig, LongOffendingValuesAreShortened) {
  const std::string long_value(500, 'x');
  const auto error = rules_error(R"([{"sample_rate": ")" + long_value + R"("}])");
  EXPECT_LT(error.size(), 200u);
  EXPECT_NE(error.find("..."), std::string::npos);
}

TEST(SamplingConfig, SourceNameIsTheCallersChoice) {
  const auto parsed = parse_sampling_rules("[1]", "datadog_sampling_rules");
  EXPECT_EQ(parsed.error.rfind("datadog_sampling_rules: rule 1:", 0), 0u) << parsed.error;
}

TEST(SamplingConfig, SampleRateAcceptsDecimalsFromZeroToOne) {
  for (const auto& [text, value] : {std::pair{"0", 0.0},
                                    {"1", 1.0},
                                    {"0.25", 0.25},
                                    {" 0.5 ", 0.5},
                                    {"1e-3", 0.001},
                                    {"+0.5", 0.5},
                                    {"1.0", 1.0}}) {
    const auto parsed = parse_sample_rate(text);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.error;
    EXPECT_DOUBLE_EQ(parsed.value, value) << text;
  }
}

TEST(SamplingConfig, SampleRateRejectsEverythingElse) {
  for (const char* text : {"", "abc", "1.01", "-0.5", "0.5x", "nan", "inf", "50%", "0x1"}) {
    const auto parsed = parse_sample_rate(text);
    EXPECT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error,
              std::string("DD_TRACE_SAMPLE_RATE: must be a number from 0 to 1, found \"") + text + "\"");
  }
}

TEST(SamplingConfig, RateLimitMustBePositiveAndFinite) {
  EXPECT_DOUBLE_EQ(parse_rate_limit("100").value, 100.0);
  EXPECT_DOUBLE_EQ(parse_rate_limit("0.5").value, 0.5);
  for (const char* text : {"0", "-1", "abc", "inf", ""}) {
    const auto parsed = parse_rate_limit(text);
    EXPECT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error,
              std::string("DD_TRACE_RATE_LIMIT: must be a number greater than 0, found \"") + text + "\"");
  }
}

TEST(SamplingConfig, SampleRateConditionIsOnOffOrInvalid) {
  using datadog::trace::parse_sample_rate_condition;
  using datadog::trace::SampleRateCondition;
  EXPECT_EQ(parse_sample_rate_condition("on"), SampleRateCondition::on);
  EXPECT_EQ(parse_sample_rate_condition("off"), SampleRateCondition::off);
  EXPECT_EQ(parse_sample_rate_condition(""), SampleRateCondition::off);  // an unset variable
  EXPECT_EQ(parse_sample_rate_condition("ON"), SampleRateCondition::invalid);
  EXPECT_EQ(parse_sample_rate_condition("on "), SampleRateCondition::invalid);
  EXPECT_EQ(parse_sample_rate_condition("1"), SampleRateCondition::invalid);
}
