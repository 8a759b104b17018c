// The agent's reply body: per-service sampling rates for the sampler, with
// bad entries left out and garbage refused as a whole.
#include <gtest/gtest.h>

#include "agent/rate_by_service.hpp"

using datadog::agent::parse_rate_by_service;

TEST(AgentRateByService, RatesAreKeyedByServiceAndEnv) {
  const auto parsed =
      parse_rate_by_service(R"({"rate_by_service": {"service:web,env:prod": 0.5, "service:,env:": 1}})");
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  EXPECT_TRUE(parsed.has_rates);
  EXPECT_EQ(parsed.rates.size(), 2u);
  EXPECT_DOUBLE_EQ(parsed.rates.at("service:web,env:prod"), 0.5);
  EXPECT_DOUBLE_EQ(parsed.rates.at("service:,env:"), 1.0);
  EXPECT_EQ(parsed.skipped, 0u);
}

TEST(AgentRateByService, ZeroAndOneAreValidRates) {
  const auto parsed = parse_rate_by_service(R"({"rate_by_service": {"a": 0, "b": 1.0, "c": 0.0}})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.rates.size(), 3u);
  EXPECT_DOUBLE_EQ(parsed.rates.at("a"), 0.0);
}

TEST(AgentRateByService, ReplyWithoutRatesLeavesTheSamplerAsItIs) {
  for (const char* body : {"", "  \r\n", "{}", R"({"other": 1})"}) {
    const auto parsed = parse_rate_by_service(body);
    EXPECT_TRUE(parsed.ok()) << body;
    EXPECT_FALSE(parsed.has_rates) << body;
    EXPECT_TRUE(parsed.rates.empty()) << body;
  }
}

TEST(AgentRateByService, EmptyRateObjectIsAnUpdateToNoRates) {
  const auto parsed = parse_rate_by_service(R"({"rate_by_service": {}})");
  EXPECT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed.has_rates);
  EXPECT_TRUE(parsed.rates.empty());
}

TEST(AgentRateByService, EntriesThatAreNotNumbersInZeroToOneAreLeftOut) {
  const auto parsed = parse_rate_by_service(
      R"({"rate_by_service": {"bad:high": 1.5, "good": 0.25, "bad:neg": -0.1, "bad:str": "0.5",)"
      R"( "bad:null": null, "bad:bool": true, "bad:obj": {}}})");
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  EXPECT_TRUE(parsed.has_rates);
  ASSERT_EQ(parsed.rates.size(), 1u);
  EXPECT_DOUBLE_EQ(parsed.rates.at("good"), 0.25);
  EXPECT_EQ(parsed.skipped, 6u);
  EXPECT_FALSE(parsed.skipped_example.empty());
}

TEST(AgentRateByService, SkippedKeyIsReportedPrintably) {
  const auto parsed = parse_rate_by_service("{\"rate_by_service\": {\"a\\u0001\\\"b\": 7}}");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed.skipped_example, "\"a\\x01\\x22b\": outside [0, 1]");
}

TEST(AgentRateByService, GarbageIsAnErrorAndYieldsNoRates) {
  for (const char* body : {"OK", "not json", "[1, 2]", "0.5", R"("text")", R"({"rate_by_service": [0.5]})",
                           R"({"rate_by_service": 0.5})", R"({"rate_by_service": {"a": 0.5)",
                           R"({"rate_by_service": {"a": 0.5}} trailing)", "\xff\xfe"}) {
    const auto parsed = parse_rate_by_service(body);
    EXPECT_FALSE(parsed.ok()) << body;
    EXPECT_FALSE(parsed.has_rates) << body;
    EXPECT_TRUE(parsed.rates.empty()) << body;
  }
}

TEST(AgentRateByService, ErrorSaysWhatWasFound) {
  EXPECT_EQ(parse_rate_by_service("[1]").error, "the agent's reply is a JSON array, not an object");
  EXPECT_EQ(parse_rate_by_service(R"({"rate_by_service": "x"})").error,
            "\"rate_by_service\" is a JSON string, not an object");
  EXPECT_EQ(parse_rate_by_service("{").error, "the agent's reply is not valid JSON");
}
