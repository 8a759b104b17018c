// Extraction across several styles: the first style in order with a trace id
// wins, and W3C trace context with the same trace id refines it.
#include <gtest/gtest.h>

#include "propagation_test_headers.hpp"

using namespace propagation_test;

namespace {

TestHeaders both(std::string traceparent, std::string tracestate, std::string trace_id, std::string parent_id,
                 std::string tags = "") {
  TestHeaders headers{{"traceparent", std::move(traceparent)},
                      {"tracestate", std::move(tracestate)},
                      {"x-datadog-trace-id", std::move(trace_id)},
                      {"x-datadog-parent-id", std::move(parent_id)}};
  if (!tags.empty()) headers.add("x-datadog-tags", std::move(tags));
  return headers;
}

}  // namespace

TEST(PropagationMerge, FirstStyleInOrderWithATraceIdWins) {
  TestHeaders headers{{"traceparent", "00-12345678901234567890123456789012-1234567890123456-01"},
                      {"tracestate", "foo=1"},
                      {"x-datadog-trace-id", "123456789"},
                      {"x-datadog-parent-id", "987654321"},
                      {"x-datadog-sampling-priority", "-2"}};
  const auto datadog_first = extract_with(headers, "datadog,tracecontext");
  EXPECT_EQ(datadog_first.style, PropagationStyle::datadog);
  EXPECT_EQ(datadog_first.trace_id, (TraceId{0, 123456789}));
  EXPECT_EQ(datadog_first.parent_id, 987654321u);
  EXPECT_EQ(datadog_first.sampling_priority, -2);
  EXPECT_TRUE(datadog_first.tracestate_others.empty());  // another trace's vendors

  const auto w3c_first = extract_with(headers, "tracecontext,datadog");
  EXPECT_EQ(w3c_first.style, PropagationStyle::tracecontext);
  EXPECT_EQ(w3c_first.trace_id, (TraceId{0x1234567890123456ull, 0x7890123456789012ull}));
  EXPECT_EQ(w3c_first.parent_id, 0x1234567890123456ull);
  EXPECT_EQ(w3c_first.sampling_priority, 1);
  EXPECT_EQ(w3c_first.tracestate_others, "foo=1");
}

TEST(PropagationMerge, AStyleWithoutATraceIdPassesToTheNext) {
  TestHeaders headers{{"traceparent", "00-12345678901234567890123456789012-0000000000000000-01"},
                      {"x-datadog-trace-id", "123456789"},
                      {"x-datadog-parent-id", "987654321"}};
  const auto context = extract_with(headers, "tracecontext,datadog");
  EXPECT_EQ(context.style, PropagationStyle::datadog);
  EXPECT_EQ(context.trace_id.low, 123456789u);
  // The invalid traceparent is still explained on the span.
  EXPECT_EQ(tag(context.span_tags, "_dd.w3c_extraction_error"), "parent_id_zero");
  EXPECT_NE(context.diagnostics.find("traceparent"), std::string::npos);
}

TEST(PropagationMerge, NothingToContinueMeansANewTrace) {
  const auto context = extract_with({{"user-agent", "curl"}}, "datadog,tracecontext,b3,baggage");
  EXPECT_TRUE(context.trace_id.is_zero());
  EXPECT_FALSE(context.sampling_priority.has_value());
  EXPECT_EQ(context.style, PropagationStyle::none);
  EXPECT_TRUE(context.span_tags.empty());
  EXPECT_TRUE(context.diagnostics.empty());
}

TEST(PropagationMerge, NoStyleReadsNothing) {
  const auto context = extract_with({{"x-datadog-trace-id", "1"}, {"x-datadog-parent-id", "2"}}, "none");
  EXPECT_TRUE(context.trace_id.is_zero());
}

TEST(PropagationMerge, B3DenyWithoutIdsIsKeptForTheNewTrace) {
  const auto context = extract_with({{"b3", "0"}}, "datadog,b3");
  EXPECT_TRUE(context.trace_id.is_zero());
  EXPECT_EQ(context.sampling_priority, 0);
  EXPECT_EQ(context.style, PropagationStyle::b3);
}

TEST(PropagationMerge, B3DenyDoesNotOverrideALaterStylesTrace) {
  TestHeaders headers{{"b3", "0"}, {"x-datadog-trace-id", "1"}, {"x-datadog-parent-id", "2"}};
  const auto context = extract_with(headers, "b3,datadog");
  EXPECT_EQ(context.style, PropagationStyle::datadog);
  EXPECT_FALSE(context.sampling_priority.has_value());
}

// The five cases of DataDog/system-tests test_tracestate_w3c_p_extract_datadog_w3c.
TEST(PropagationMerge, SameTraceAndParentNeedsNoReparenting) {
  const auto context =
      extract_with(both("00-11111111111111110000000000000001-000000003ade68b1-01",
                        "dd=s:2;p:000000003ade68b1,foo=1", "1", "987654321", "_dd.p.tid=1111111111111111"),
                   "datadog,tracecontext");
  EXPECT_EQ(context.style, PropagationStyle::datadog);
  EXPECT_EQ(context.parent_id, 987654321u);
  EXPECT_FALSE(tag(context.span_tags, "_dd.parent_id").has_value());
  EXPECT_EQ(context.tracestate_others, "foo=1");
}

TEST(PropagationMerge, DifferentTraceIdsKeepTheDatadogContextUntouched) {
  const auto context =
      extract_with(both("00-11111111111111110000000000000002-000000003ade68b1-01",
                        "dd=s:2;p:000000000000000a,foo=1", "2", "10", "_dd.p.tid=2222222222222222"),
                   "datadog,tracecontext");
  EXPECT_EQ(context.trace_id, (TraceId{0x2222222222222222ull, 2}));
  EXPECT_EQ(context.parent_id, 10u);
  EXPECT_FALSE(tag(context.span_tags, "_dd.parent_id").has_value());
  EXPECT_TRUE(context.tracestate_others.empty());
}

TEST(PropagationMerge, SameTraceDifferentParentTakesTheW3cParentAndRecordsP) {
  const auto context =
      extract_with(both("00-11111111111111110000000000000003-000000003ade68b1-01",
                        "dd=s:2;p:000000000000000a,foo=1", "3", "10", "_dd.p.tid=1111111111111111"),
                   "datadog,tracecontext");
  EXPECT_EQ(context.style, PropagationStyle::datadog);
  EXPECT_EQ(context.parent_id, 987654321u);
  EXPECT_EQ(tag(context.span_tags, "_dd.parent_id"), "000000000000000a");
  EXPECT_EQ(context.tracestate_others, "foo=1");
}

TEST(PropagationMerge, WithoutPTheDatadogParentIsRecordedAsHex) {
  const auto context =
      extract_with(both("00-00000000000000000000000000000004-000000003ade68b1-01", "dd=s:2,foo=1", "4", "10"),
                   "datadog,tracecontext");
  EXPECT_EQ(context.parent_id, 987654321u);
  EXPECT_EQ(tag(context.span_tags, "_dd.parent_id"), "000000000000000a");
  const auto zeros = extract_with(
      both("00-00000000000000000000000000000004-000000003ade68b1-01", "dd=s:2;p:0000000000000000", "4", "10"),
      "datadog,tracecontext");
  EXPECT_EQ(tag(zeros.span_tags, "_dd.parent_id"), "000000000000000a");
}

TEST(PropagationMerge, APThatDisagreesWithDatadogStillWins) {
  const auto context = extract_with(both("00-00000000000000000000000000000005-000000003ade68b1-01",
                                         "dd=s:2;p:8fffffffffffffff,foo=1", "5", "10"),
                                    "datadog,tracecontext");
  EXPECT_EQ(context.parent_id, 987654321u);
  EXPECT_EQ(tag(context.span_tags, "_dd.parent_id"), "8fffffffffffffff");
}

TEST(PropagationMerge, TheWinnersOtherFieldsStay) {
  TestHeaders headers = both("00-00000000000000000000000000000005-000000003ade68b1-00",
                             "dd=s:-1;o:rum;t.dm:-3,foo=1", "5", "10", "_dd.p.dm=-4");
  headers.add("x-datadog-sampling-priority", "2");
  headers.add("x-datadog-origin", "synthetics");
  const auto context = extract_with(headers, "datadog,tracecontext");
  EXPECT_EQ(context.sampling_priority, 2);
  EXPECT_EQ(context.origin, "synthetics");
  EXPECT_EQ(tag(context.trace_tags, "_dd.p.dm"), "-4");
}

TEST(PropagationMerge, W3cWinnerIgnoresTheDatadogParent) {
  const auto context =
      extract_with(both("00-00000000000000000000000000000004-000000003ade68b1-01", "foo=1", "4", "10"),
                   "tracecontext,datadog");
  EXPECT_EQ(context.parent_id, 987654321u);
  EXPECT_FALSE(tag(context.span_tags, "_dd.parent_id").has_value());
}

TEST(PropagationMerge, MergeNeedsTracecontextConfigured) {
  const auto context = extract_with(both("00-00000000000000000000000000000004-000000003ade68b1-01",
                                         "dd=p:000000000000000b,foo=1", "4", "10"),
                                    "datadog");
  EXPECT_EQ(context.parent_id, 10u);
  EXPECT_TRUE(context.tracestate_others.empty());
  EXPECT_FALSE(tag(context.span_tags, "_dd.parent_id").has_value());
}

TEST(PropagationMerge, B3WinnerMergesWithW3cToo) {
  TestHeaders headers{{"x-b3-traceid", "0000000000000004"},
                      {"x-b3-spanid", "000000000000000c"},
                      {"traceparent", "00-00000000000000000000000000000004-000000003ade68b1-01"},
                      {"tracestate", "dd=p:000000000000000b,foo=1"}};
  const auto context = extract_with(headers, "b3multi,tracecontext");
  EXPECT_EQ(context.style, PropagationStyle::b3multi);
  EXPECT_EQ(context.parent_id, 987654321u);
  EXPECT_EQ(tag(context.span_tags, "_dd.parent_id"), "000000000000000b");
  EXPECT_EQ(context.tracestate_others, "foo=1");
}

TEST(PropagationMerge, DatadogTagErrorsAreReportedWhicheverStyleWins) {
  TestHeaders headers =
      both("00-00000000000000000000000000000004-000000003ade68b1-01", "foo=1", "4", "10", "bad");
  const auto context = extract_with(headers, "tracecontext,datadog");
  EXPECT_EQ(context.style, PropagationStyle::tracecontext);
  EXPECT_EQ(tag(context.span_tags, "_dd.propagation_error"), "decoding_error");
}

TEST(PropagationMerge, AllocatesOnlyFromTheGivenResource) {
  // extract_with() runs with a default resource that refuses to allocate;
  // this request exercises every style at once.
  TestHeaders headers = both("00-11111111111111110000000000000003-000000003ade68b1-01",
                             "dd=s:2;o:rum;p:000000000000000a;t.dm:-4,foo=1", "3", "10",
                             "_dd.p.tid=1111111111111111,_dd.p.usr.id=x,_dd.p.tid=bad");
  headers.add("b3", "0");
  headers.add("baggage", "k=v%20w");
  const auto context = extract_with(headers, "datadog,tracecontext,b3,baggage");
  EXPECT_EQ(context.parent_id, 987654321u);
  EXPECT_EQ(context.baggage.size(), 1u);
}

namespace {

// Answers which_present() itself, as the nginx glue can in one walk over the
// request's headers, and counts what extract() asks.
class CountingHeaders : public HeaderReader {
 public:
  explicit CountingHeaders(const TestHeaders& headers) : headers_(headers) {}

  std::size_t get(std::string_view name, std::string_view* out, std::size_t max) const override {
    ++gets;
    return headers_.get(name, out, max);
  }
  std::uint64_t which_present(std::span<const std::string_view> names) const override {
    ++presence_queries;
    std::uint64_t present = 0;
    std::string_view unused;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (headers_.get(names[i], &unused, 0) != 0) present |= std::uint64_t{1} << i;
    }
    return present;
  }

  mutable int gets = 0;
  mutable int presence_queries = 0;

 private:
  const TestHeaders& headers_;
};

ExtractedContext extract_counting(const CountingHeaders& headers, std::string_view style_text) {
  const auto configured = styles(style_text);
  NoDefaultResource guard;
  return extract(headers, configured, std::pmr::new_delete_resource());
}

}  // namespace

TEST(PropagationMerge, ARequestWithoutPropagationHeadersIsAskedOnceAndReadNoFurther) {
  const TestHeaders request{{"host", "example.com"}, {"user-agent", "curl"}};
  const CountingHeaders headers(request);
  const auto context = extract_counting(headers, "datadog,tracecontext,b3,baggage");
  EXPECT_TRUE(context.trace_id.is_zero());
  EXPECT_EQ(headers.presence_queries, 1);
  EXPECT_EQ(headers.gets, 0);
}

TEST(PropagationMerge, OnlyTheStylesWhoseHeadersArePresentAreRead) {
  const TestHeaders request{{"traceparent", "00-00000000000000000000000000000004-000000003ade68b1-01"}};
  const CountingHeaders headers(request);
  const auto context = extract_counting(headers, "datadog,tracecontext,b3,baggage");
  EXPECT_EQ(context.style, PropagationStyle::tracecontext);
  EXPECT_EQ(headers.presence_queries, 1);
  EXPECT_EQ(headers.gets, 2);  // traceparent and tracestate
}

TEST(PropagationMerge, ThePresenceQueryChangesNoResult) {
  // One request per way a style can start: each trace style's own header,
  // B3's sampling-only headers, baggage alone, and everything at once.
  std::vector<TestHeaders> requests{
      {{"x-datadog-trace-id", "1"}, {"x-datadog-parent-id", "2"}, {"x-datadog-tags", "_dd.p.dm=-4"}},
      {{"x-datadog-trace-id", "1"}},
      {{"traceparent", "00-00000000000000000000000000000004-000000003ade68b1-01"},
       {"tracestate", "dd=s:2,a=b"}},
      {{"traceparent", "garbage"}},
      {{"b3", "0"}},
      {{"b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"}},
      {{"x-b3-sampled", "0"}},
      {{"x-b3-flags", "1"}},
      {{"x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"}, {"x-b3-spanid", "e457b5a2e4d86bd1"}},
      {{"baggage", "k=v"}},
      {{"baggage", "malformed"}}};
  requests.push_back(both("00-00000000000000000000000000000004-000000003ade68b1-01",
                          "dd=s:2;o:rum;p:000000000000000a;t.dm:-4,foo=1", "4", "10"));
  requests.back().add("b3", "0");
  requests.back().add("baggage", "k=v%20w");
  for (const char* style_text : {"datadog,tracecontext,b3,baggage", "b3multi,datadog", "b3 single header",
                                 "tracecontext,datadog", "baggage"}) {
    for (const auto& request : requests) {
      const auto expected = extract_with(request, style_text);
      const auto actual = extract_counting(CountingHeaders(request), style_text);
      EXPECT_EQ(actual.trace_id, expected.trace_id) << style_text;
      EXPECT_EQ(actual.parent_id, expected.parent_id) << style_text;
      EXPECT_EQ(actual.sampling_priority, expected.sampling_priority) << style_text;
      EXPECT_EQ(actual.origin, expected.origin) << style_text;
      EXPECT_EQ(actual.trace_tags, expected.trace_tags) << style_text;
      EXPECT_EQ(actual.span_tags, expected.span_tags) << style_text;
      EXPECT_EQ(actual.tracestate_others, expected.tracestate_others) << style_text;
      EXPECT_EQ(actual.baggage, expected.baggage) << style_text;
      EXPECT_EQ(actual.baggage_error, expected.baggage_error) << style_text;
      EXPECT_EQ(actual.style, expected.style) << style_text;
      EXPECT_EQ(actual.diagnostics, expected.diagnostics) << style_text;
    }
  }
}
