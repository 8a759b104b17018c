// The agent's rate_by_service replies: lookup order, what a new reply
// replaces, and garbage that must leave the previous rates in place.
#include <gtest/gtest.h>

#include <string>
#include <unordered_map>

#include "trace/agent_rates.hpp"

using datadog::trace::AgentRates;

namespace {

AgentRates rates_from(std::string_view body) {
  AgentRates rates;
  const auto error = rates.update(body);
  EXPECT_FALSE(error) << *error;
  return rates;
}

}  // namespace

TEST(SamplingAgentRates, NothingReceivedMeansNoRate) {
  const AgentRates rates;
  EXPECT_FALSE(rates.find("web", "prod"));
  EXPECT_FALSE(rates.has_default());
}

TEST(SamplingAgentRates, ServiceAndEnvKeyWinsOverTheDefault) {
  const auto rates =
      rates_from(R"({"rate_by_service": {"service:web,env:prod": 0.25, "service:,env:": 0.75}})");
  EXPECT_EQ(rates.find("web", "prod"), 0.25);
}

TEST(SamplingAgentRates, OtherServiceOrEnvFallsBackToTheDefault) {
  const auto rates =
      rates_from(R"({"rate_by_service": {"service:web,env:prod": 0.25, "service:,env:": 0.75}})");
  EXPECT_EQ(rates.find("web", "staging"), 0.75);
  EXPECT_EQ(rates.find("api", "prod"), 0.75);
  EXPECT_EQ(rates.find("web", ""), 0.75);
}

TEST(SamplingAgentRates, EmptyEnvIsItsOwnKey) {
  const auto rates = rates_from(R"({"rate_by_service": {"service:web,env:": 0.5}})");
  EXPECT_EQ(rates.find("web", ""), 0.5);
  EXPECT_FALSE(rates.find("web", "prod"));  // no default received
}

TEST(SamplingAgentRates, KeysCompareExactly) {
  const auto rates = rates_from(R"({"rate_by_service": {"service:Web,env:prod": 0.5}})");
  EXPECT_FALSE(rates.find("web", "prod"));
  EXPECT_FALSE(rates.find("Web", "prod2"));
  EXPECT_EQ(rates.find("Web", "prod"), 0.5);
}

TEST(SamplingAgentRates, ManyServicesAreAllFound) {
  std::string body = R"({"rate_by_service": {)";
  for (int i = 0; i < 200; ++i) {
    body += "\"service:svc" + std::to_string(i) + ",env:prod\": " + std::to_string(i / 200.0) + ",";
  }
  body += R"("service:,env:": 1}})";
  const auto rates = rates_from(body);
  EXPECT_EQ(rates.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_NEAR(*rates.find("svc" + std::to_string(i), "prod"), i / 200.0, 1e-6);
}

TEST(SamplingAgentRates, NewReplyReplacesServiceRatesButKeepsTheLastDefault) {
  AgentRates rates;
  ASSERT_FALSE(rates.update(R"({"rate_by_service": {"service:web,env:prod": 0.25, "service:,env:": 0.75}})"));
  ASSERT_FALSE(rates.update(R"({"rate_by_service": {"service:api,env:prod": 0.5}})"));
  EXPECT_EQ(rates.find("api", "prod"), 0.5);
  EXPECT_EQ(rates.find("web", "prod"), 0.75);  // gone; the old default answers
}

TEST(SamplingAgentRates, RatesOutsideZeroToOneOrNotNumbersAreSkipped) {
  const auto rates = rates_from(
      R"({"rate_by_service": {"service:a,env:": 1.5, "service:b,env:": -0.1, "service:c,env:": "0.5",
          "service:d,env:": null, "service:e,env:": true, "service:f,env:": 0, "service:g,env:": 1}})");
  EXPECT_FALSE(rates.find("a", ""));
  EXPECT_FALSE(rates.find("b", ""));
  EXPECT_FALSE(rates.find("c", ""));
  EXPECT_FALSE(rates.find("d", ""));
  EXPECT_FALSE(rates.find("e", ""));
  EXPECT_EQ(rates.find("f", ""), 0.0);
  EXPECT_EQ(rates.find("g", ""), 1.0);
}

TEST(SamplingAgentRates, KeysNotInTheAgentFormatAreSkipped) {
  const auto rates =
      rates_from(R"({"rate_by_service": {"web": 0.5, "service:web": 0.5, "env:prod,service:web": 0.5}})");
  EXPECT_EQ(rates.size(), 0u);
  EXPECT_FALSE(rates.find("web", "prod"));
}

TEST(SamplingAgentRates, GarbageKeepsThePreviousRatesAndSaysWhy) {
  AgentRates rates;
  ASSERT_FALSE(rates.update(R"({"rate_by_service": {"service:web,env:prod": 0.25, "service:,env:": 0.75}})"));
  const struct {
    const char* body;
    const char* says;
  } garbage[] = {
      {"{\"rate_by_service\": {", "invalid JSON"},
      {"not json at all", "invalid JSON"},
      {"\xff\xfe", "invalid JSON"},
      {"[1, 2]", "expected a JSON object, found a JSON array"},
      {"42", "expected a JSON object, found a JSON number"},
      {R"({"rate_by_service": [0.5]})", "\"rate_by_service\" must be an object, found a JSON array"},
      {R"({"rate_by_service": "0.5"})", "\"rate_by_service\" must be an object, found a JSON string"},
  };
  for (const auto& g : garbage) {
    const auto error = rates.update(g.body);
    ASSERT_TRUE(error) << g.body;
    EXPECT_NE(error->find(g.says), std::string::npos) << *error;
    EXPECT_EQ(error->rfind("agent reply: ", 0), 0u) << *error;
    EXPECT_EQ(rates.find("web", "prod"), 0.25);
    EXPECT_EQ(rates.find("x", "y"), 0.75);
  }
}

TEST(SamplingAgentRates, ReplyWithoutRatesOrEmptyChangesNothing) {
  AgentRates rates;
  ASSERT_FALSE(rates.update(R"({"rate_by_service": {"service:web,env:prod": 0.25}})"));
  EXPECT_FALSE(rates.update("{}"));
  EXPECT_FALSE(rates.update(""));
  EXPECT_FALSE(rates.update(" \r\n"));
  EXPECT_EQ(rates.find("web", "prod"), 0.25);
}

TEST(SamplingAgentRates, RatesParsedElsewhereCanBeHandedOver) {
  AgentRates rates;
  const std::unordered_map<std::string, double> parsed{
      {"service:web,env:prod", 0.25}, {"service:,env:", 0.5}, {"service:bad,env:", 2.0}};
  rates.replace(parsed);
  EXPECT_EQ(rates.find("web", "prod"), 0.25);
  EXPECT_EQ(rates.find("bad", ""), 0.5);
}
