// B3 (openzipkin/b3-propagation): the X-B3-* headers, the single b3 header,
// which of them wins, and injection.
#include <gtest/gtest.h>

#include "propagation_test_headers.hpp"

using namespace propagation_test;

namespace {

constexpr TraceId b3_trace_id{0, 0x75bcd15};  // 123456789
constexpr SpanId b3_span_id = 0x3ade68b1;     // 987654321

TestHeaders multi(std::string sampled = "1") {
  TestHeaders headers{{"X-B3-TraceId", "00000000075bcd15"}, {"X-B3-SpanId", "000000003ade68b1"}};
  if (!sampled.empty()) headers.add("X-B3-Sampled", sampled);
  return headers;
}

ExtractedContext single(std::string value, std::string_view style = "b3 single header") {
  return extract_with({{"b3", std::move(value)}}, style);
}

}  // namespace

TEST(PropagationB3, MultiHeadersSupplyTraceSpanAndSampling) {
  const auto context = extract_with(multi(), "b3multi");
  EXPECT_EQ(context.trace_id, b3_trace_id);
  EXPECT_EQ(context.parent_id, b3_span_id);
  EXPECT_EQ(context.sampling_priority, 1);
  EXPECT_EQ(context.style, PropagationStyle::b3multi);
  EXPECT_TRUE(context.trace_tags.empty());
}

TEST(PropagationB3, MultiAcceptsA32DigitTraceIdWhoseHighHalfBecomesTid) {
  const auto context = extract_with(
      {{"x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124"}, {"x-b3-spanid", "a2fb4a1d1a96d312"}}, "b3multi");
  EXPECT_EQ(context.trace_id, (TraceId{0x463ac35c9f6413adull, 0x48485a3953bb6124ull}));
  EXPECT_EQ(tag(context.trace_tags, "_dd.p.tid"), "463ac35c9f6413ad");
  EXPECT_FALSE(context.sampling_priority.has_value());
}

TEST(PropagationB3, SampledAcceptsOneZeroAndTheOlderTrueFalse) {
  EXPECT_EQ(extract_with(multi("0"), "b3multi").sampling_priority, 0);
  EXPECT_EQ(extract_with(multi("true"), "b3multi").sampling_priority, 1);
  EXPECT_EQ(extract_with(multi("False"), "b3multi").sampling_priority, 0);
  const auto junk = extract_with(multi("yes"), "b3multi");
  EXPECT_EQ(junk.trace_id, b3_trace_id);
  EXPECT_FALSE(junk.sampling_priority.has_value());
}

TEST(PropagationB3, DebugFlagMeansUserKeepAndWinsOverSampled) {
  auto headers = multi("0");
  headers.add("X-B3-Flags", "1");
  EXPECT_EQ(extract_with(headers, "b3multi").sampling_priority, 2);
  auto not_debug = multi("");
  not_debug.add("X-B3-Flags", "0");
  EXPECT_FALSE(extract_with(not_debug, "b3multi").sampling_priority.has_value());
}

TEST(PropagationB3, ParentSpanIdIsOptionalAndNotTheParent) {
  auto headers = multi();
  headers.add("X-B3-ParentSpanId", "0000000000000001");
  EXPECT_EQ(extract_with(headers, "b3multi").parent_id, b3_span_id);
}

TEST(PropagationB3, MultiTraceIdMustBe16Or32NonZeroHexDigits) {
  for (const auto* bad : {"75bcd15", "000000000075bcd15", "0000000000000000",
                          "00000000000000000000000000000000", "00000000075bcd1g", "0x000000075bcd15"}) {
    const auto context = extract_with(
        {{"x-b3-traceid", bad}, {"x-b3-spanid", "000000003ade68b1"}, {"x-b3-sampled", "1"}}, "b3multi");
    EXPECT_TRUE(context.trace_id.is_zero()) << bad;
    EXPECT_FALSE(context.sampling_priority.has_value()) << bad;
  }
}

TEST(PropagationB3, MultiSpanIdIsRequiredAnd16HexDigits) {
  EXPECT_TRUE(extract_with({{"x-b3-traceid", "00000000075bcd15"}}, "b3multi").trace_id.is_zero());
  EXPECT_TRUE(extract_with({{"x-b3-traceid", "00000000075bcd15"}, {"x-b3-spanid", "3ade68b1"}}, "b3multi")
                  .trace_id.is_zero());
  EXPECT_TRUE(
      extract_with({{"x-b3-traceid", "00000000075bcd15"}, {"x-b3-spanid", "0000000000000000"}}, "b3multi")
          .trace_id.is_zero());
}

TEST(PropagationB3, SamplingOnlyMultiHeaderIsADecisionWithoutATrace) {
  const auto context = extract_with({{"x-b3-sampled", "0"}}, "b3multi");
  EXPECT_TRUE(context.trace_id.is_zero());
  EXPECT_EQ(context.sampling_priority, 0);
}

TEST(PropagationB3, SingleHeaderForms) {
  const auto full = single("000000000000000000000000075bcd15-000000003ade68b1-1-0000000000000001");
  EXPECT_EQ(full.trace_id, b3_trace_id);
  EXPECT_EQ(full.parent_id, b3_span_id);
  EXPECT_EQ(full.sampling_priority, 1);
  EXPECT_EQ(full.style, PropagationStyle::b3single);
  const auto ids_only = single("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1");
  EXPECT_EQ(ids_only.trace_id, (TraceId{0x80f198ee56343ba8ull, 0x64fe8b2a57d3eff7ull}));
  EXPECT_FALSE(ids_only.sampling_priority.has_value());
  EXPECT_EQ(single("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0").sampling_priority, 0);
  EXPECT_EQ(single("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d").sampling_priority, 2);
}

TEST(PropagationB3, SingleHeaderDenyAloneIsPriorityZeroWithoutATrace) {
  const auto deny = single("0");
  EXPECT_TRUE(deny.trace_id.is_zero());
  EXPECT_EQ(deny.sampling_priority, 0);
  EXPECT_EQ(deny.style, PropagationStyle::b3single);
  EXPECT_EQ(single("d").sampling_priority, 2);
}

TEST(PropagationB3, InvalidSingleHeadersExtractNothing) {
  for (const auto* bad :
       {"0-0-1", "000000000000000000000000075bcd15", "000000000000000000000000075bcd15-",
        "000000000000000000000000075bcd15-000000003ade68b1-2",
        "000000000000000000000000075bcd15-000000003ade68b1-true",
        "000000000000000000000000075bcd15-000000003ade68b1-1-1",
        "000000000000000000000000075bcd15-000000003ade68b1-1-0000000000000001-x", "x", ""}) {
    const auto context = single(bad);
    EXPECT_TRUE(context.trace_id.is_zero()) << bad;
    EXPECT_FALSE(context.sampling_priority.has_value()) << bad;
  }
}

TEST(PropagationB3, SingleHeaderWinsOverMultiForStyleB3) {
  auto headers = multi("0");
  headers.add("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1");
  const auto context = extract_with(headers, "b3");
  EXPECT_EQ(context.trace_id, (TraceId{0x80f198ee56343ba8ull, 0x64fe8b2a57d3eff7ull}));
  EXPECT_EQ(context.parent_id, 0xe457b5a2e4d86bd1ull);
  EXPECT_EQ(context.sampling_priority, 1);
  EXPECT_EQ(context.style, PropagationStyle::b3);
}

TEST(PropagationB3, StyleB3FallsBackToMultiWhenTheSingleHeaderIsInvalid) {
  auto headers = multi("1");
  headers.add("b3", "garbage");
  EXPECT_EQ(extract_with(headers, "b3").trace_id, b3_trace_id);
}

TEST(PropagationB3, B3MultiIgnoresTheSingleHeaderAndB3SingleIgnoresMulti) {
  TestHeaders only_single{{"b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"}};
  EXPECT_TRUE(extract_with(only_single, "b3multi").trace_id.is_zero());
  EXPECT_TRUE(extract_with(multi(), "b3 single header").trace_id.is_zero());
}

TEST(PropagationB3, InjectMultiUses16DigitsFor64BitTraces) {
  Injected out;
  inject_into(out, {.trace_id = b3_trace_id, .span_id = b3_span_id, .sampling_priority = 2}, "b3");
  EXPECT_EQ(out.headers.value("x-b3-traceid"), "00000000075bcd15");
  EXPECT_EQ(out.headers.value("x-b3-spanid"), "000000003ade68b1");
  EXPECT_EQ(out.headers.value("x-b3-sampled"), "1");
  EXPECT_FALSE(out.headers.has("b3"));
  EXPECT_FALSE(out.headers.has("x-b3-flags"));
}

TEST(PropagationB3, InjectMultiUses32DigitsFor128BitTraces) {
  Injected out;
  inject_into(
      out,
      {.trace_id = {0x463ac35c9f6413adull, 0x48485a3953bb6124ull}, .span_id = 1, .sampling_priority = -1},
      "b3multi");
  EXPECT_EQ(out.headers.value("x-b3-traceid"), "463ac35c9f6413ad48485a3953bb6124");
  EXPECT_EQ(out.headers.value("x-b3-spanid"), "0000000000000001");
  EXPECT_EQ(out.headers.value("x-b3-sampled"), "0");
}

TEST(PropagationB3, InjectSingleHeader) {
  Injected out;
  inject_into(out, {.trace_id = b3_trace_id, .span_id = b3_span_id, .sampling_priority = 1},
              "b3 single header");
  EXPECT_EQ(out.headers.value("b3"), "00000000075bcd15-000000003ade68b1-1");
  EXPECT_FALSE(out.headers.has("x-b3-traceid"));
  Injected wide;
  inject_into(wide, {.trace_id = {1, 2}, .span_id = 3, .sampling_priority = 0}, "b3single");
  EXPECT_EQ(wide.headers.value("b3"), "00000000000000010000000000000002-0000000000000003-0");
}

TEST(PropagationB3, RoundTripExtractThenInject) {
  const auto extracted = extract_with(multi("1"), "b3multi");
  Injected out;
  inject_into(out,
              {.trace_id = extracted.trace_id,
               .span_id = 0xabcdef,
               .sampling_priority = *extracted.sampling_priority,
               .trace_tags = extracted.trace_tags},
              "b3multi");
  EXPECT_EQ(out.headers.value("x-b3-traceid"), "00000000075bcd15");
  EXPECT_EQ(out.headers.value("x-b3-spanid"), "0000000000abcdef");
  EXPECT_EQ(out.headers.value("x-b3-sampled"), "1");
  const auto again = extract_with(out.headers, "b3multi");
  EXPECT_EQ(again.trace_id, extracted.trace_id);
  EXPECT_EQ(again.parent_id, 0xabcdefu);

  const auto from_single = single("463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-0");
  Injected single_out;
  inject_into(single_out,
              {.trace_id = from_single.trace_id,
               .span_id = 5,
               .sampling_priority = *from_single.sampling_priority,
               .trace_tags = from_single.trace_tags},
              "b3single");
  EXPECT_EQ(single_out.headers.value("b3"), "463ac35c9f6413ad48485a3953bb6124-0000000000000005-0");
}
