// Datadog headers (x-datadog-*): extraction rules of PROTOCOLS.md section 3,
// x-datadog-tags limits at and past 512 bytes, and injection.
#include <gtest/gtest.h>

#include "propagation_test_headers.hpp"

using namespace propagation_test;

namespace {

ExtractedContext extract_datadog(const TestHeaders& headers) { return extract_with(headers, "datadog"); }

TestHeaders datadog_headers(std::string tags) {
  TestHeaders headers{{"x-datadog-trace-id", "123456789"}, {"x-datadog-parent-id", "987654321"}};
  headers.add("x-datadog-tags", std::move(tags));
  return headers;
}

// `_dd.p.a=<padding>` of exactly `size` bytes.
std::string tags_of_size(std::size_t size) {
  std::string tags = "_dd.p.a=";
  tags.append(size - tags.size(), 'x');
  return tags;
}

}  // namespace

TEST(PropagationDatadog, DecimalIdsPriorityAndOrigin) {
  const auto context = extract_datadog({{"x-datadog-trace-id", "123456789"},
                                        {"x-datadog-parent-id", "987654321"},
                                        {"x-datadog-sampling-priority", "2"},
                                        {"x-datadog-origin", "synthetics"}});
  EXPECT_EQ(context.trace_id, (TraceId{0, 123456789}));
  EXPECT_EQ(context.parent_id, 987654321u);
  EXPECT_EQ(context.sampling_priority, 2);
  EXPECT_EQ(context.origin, "synthetics");
  EXPECT_EQ(context.style, PropagationStyle::datadog);
  EXPECT_TRUE(context.span_tags.empty());
}

TEST(PropagationDatadog, NegativePriorityIsKept) {
  const auto context = extract_datadog(
      {{"x-datadog-trace-id", "1"}, {"x-datadog-parent-id", "2"}, {"x-datadog-sampling-priority", "-1"}});
  EXPECT_EQ(context.sampling_priority, -1);
}

TEST(PropagationDatadog, MissingPriorityLeavesTheDecisionToUs) {
  const auto context = extract_datadog({{"x-datadog-trace-id", "1"}, {"x-datadog-parent-id", "2"}});
  EXPECT_FALSE(context.sampling_priority.has_value());
}

TEST(PropagationDatadog, LargestDecimalIdIsAccepted) {
  const auto context = extract_datadog(
      {{"x-datadog-trace-id", "18446744073709551615"}, {"x-datadog-parent-id", "18446744073709551615"}});
  EXPECT_EQ(context.trace_id.low, 18446744073709551615ull);
}

TEST(PropagationDatadog, MalformedIdsStartANewTrace) {
  for (const auto* bad : {"abc", "12a", "-5", "0x10", "18446744073709551616", "0", ""}) {
    const auto context = extract_datadog({{"x-datadog-trace-id", bad}, {"x-datadog-parent-id", "2"}});
    EXPECT_TRUE(context.trace_id.is_zero()) << bad;
    EXPECT_FALSE(context.diagnostics.empty()) << bad;
  }
  const auto bad_parent = extract_datadog({{"x-datadog-trace-id", "1"}, {"x-datadog-parent-id", "two"}});
  EXPECT_TRUE(bad_parent.trace_id.is_zero());
  const auto bad_priority = extract_datadog(
      {{"x-datadog-trace-id", "1"}, {"x-datadog-parent-id", "2"}, {"x-datadog-sampling-priority", "keep"}});
  EXPECT_TRUE(bad_priority.trace_id.is_zero());
  EXPECT_NE(bad_priority.diagnostics.find("x-datadog-sampling-priority"), std::string::npos);
}

TEST(PropagationDatadog, TraceIdWithoutParentNeedsAnOrigin) {
  EXPECT_TRUE(extract_datadog({{"x-datadog-trace-id", "1"}}).trace_id.is_zero());
  const auto synthetics = extract_datadog({{"x-datadog-trace-id", "1"}, {"x-datadog-origin", "synthetics"}});
  EXPECT_EQ(synthetics.trace_id.low, 1u);
  EXPECT_EQ(synthetics.parent_id, 0u);
}

TEST(PropagationDatadog, NoHeadersExtractNothing) {
  const auto context = extract_datadog({});
  EXPECT_TRUE(context.trace_id.is_zero());
  EXPECT_TRUE(context.diagnostics.empty());
}

TEST(PropagationDatadog, OnlyPropagatedTagsAreKept) {
  const auto context = extract_datadog(datadog_headers("_dd.p.dm=-4,other=1,_dd.p.usr.id=baz64==,_dd.x=y"));
  ASSERT_EQ(context.trace_tags.size(), 2u);
  EXPECT_EQ(tag(context.trace_tags, "_dd.p.dm"), "-4");
  EXPECT_EQ(tag(context.trace_tags, "_dd.p.usr.id"), "baz64==");
  EXPECT_TRUE(context.span_tags.empty());
}

TEST(PropagationDatadog, TagValuesMayHoldSpacesWhichAreTrimmedAtTheEnds) {
  const auto context = extract_datadog(datadog_headers("_dd.p.a= spaced value ,_dd.p.b=1,"));
  EXPECT_EQ(tag(context.trace_tags, "_dd.p.a"), "spaced value");
  EXPECT_EQ(tag(context.trace_tags, "_dd.p.b"), "1");
}

TEST(PropagationDatadog, MalformedTagsAreAllDroppedAsADecodingError) {
  for (const auto* bad : {"_dd.p.a", "_dd.p.a=", "=1", ",", ",_dd.p.a=1", "_dd.p.a=1,,_dd.p.b=2",
                          "_dd.p.a b=1", "_dd.p.a=1\r\n", "_dd.p.a\t=1", "_dd.p.a=caf\xc3\xa9"}) {
    const auto context = extract_datadog(datadog_headers(bad));
    EXPECT_EQ(context.trace_id.low, 123456789u) << bad;  // the ids still count
    EXPECT_TRUE(context.trace_tags.empty()) << bad;
    EXPECT_EQ(tag(context.span_tags, "_dd.propagation_error"), "decoding_error") << bad;
  }
}

TEST(PropagationDatadog, TagsOfExactly512BytesAreKept) {
  const auto context = extract_datadog(datadog_headers(tags_of_size(512)));
  EXPECT_EQ(context.trace_tags.size(), 1u);
  EXPECT_TRUE(context.span_tags.empty());
}

TEST(PropagationDatadog, TagsOf513BytesAreDroppedAsExtractMaxSize) {
  const auto context = extract_datadog(datadog_headers(tags_of_size(513)));
  EXPECT_TRUE(context.trace_tags.empty());
  EXPECT_EQ(tag(context.span_tags, "_dd.propagation_error"), "extract_max_size");
}

TEST(PropagationDatadog, TidSuppliesTheHighHalfOfTheTraceId) {
  const auto context = extract_datadog(datadog_headers("_dd.p.tid=640CFD8D00000000,_dd.p.dm=-0"));
  EXPECT_EQ(context.trace_id, (TraceId{0x640cfd8d00000000ull, 123456789}));
  EXPECT_EQ(tag(context.trace_tags, "_dd.p.tid"), "640cfd8d00000000");  // lowercase, as the agent wants
}

TEST(PropagationDatadog, MalformedTidIsDroppedAndNamedInTheError) {
  for (const auto* bad : {"640cfd8d", "640cfd8d0000000000", "XXXXXXXXXXXXXXXX", "640cfd8d0000000g"}) {
    const auto context = extract_datadog(datadog_headers(std::string("_dd.p.dm=-4,_dd.p.tid=") + bad));
    EXPECT_EQ(context.trace_id, (TraceId{0, 123456789})) << bad;
    EXPECT_FALSE(tag(context.trace_tags, "_dd.p.tid").has_value()) << bad;
    EXPECT_EQ(tag(context.trace_tags, "_dd.p.dm"), "-4") << bad;
    EXPECT_EQ(tag(context.span_tags, "_dd.propagation_error"), std::string("malformed_tid ") + bad);
  }
}

TEST(PropagationDatadog, ZeroTidMeansA64BitTrace) {
  const auto context = extract_datadog(datadog_headers("_dd.p.tid=0000000000000000"));
  EXPECT_EQ(context.trace_id.high, 0u);
  EXPECT_TRUE(context.trace_tags.empty());
}

TEST(PropagationDatadog, InjectWritesDecimalIdsPriorityOriginAndTags) {
  const std::pmr::vector<Tag> tags{{"_dd.p.dm", "-4"}, {"_dd.p.usr.id", "baz64=="}, {"not.propagated", "x"}};
  OutgoingContext context;
  context.trace_id = {0x640cfd8d00000000ull, 123456789};
  context.span_id = 42;
  context.sampling_priority = 2;
  context.origin = "rum";
  context.trace_tags = tags;
  Injected out;
  inject_into(out, context, "datadog");
  EXPECT_EQ(out.headers.value("x-datadog-trace-id"), "123456789");
  EXPECT_EQ(out.headers.value("x-datadog-parent-id"), "42");
  EXPECT_EQ(out.headers.value("x-datadog-sampling-priority"), "2");
  EXPECT_EQ(out.headers.value("x-datadog-origin"), "rum");
  EXPECT_EQ(out.headers.value("x-datadog-tags"),
            "_dd.p.tid=640cfd8d00000000,_dd.p.dm=-4,_dd.p.usr.id=baz64==");
  EXPECT_TRUE(out.span_tags.empty());
}

TEST(PropagationDatadog, InjectDerivesTidFromTheTraceIdNotFromStaleTags) {
  const std::pmr::vector<Tag> tags{{"_dd.p.tid", "ffffffffffffffff"}};
  OutgoingContext context{.trace_id = {0, 7}, .span_id = 8, .sampling_priority = 1, .trace_tags = tags};
  Injected out;
  inject_into(out, context, "datadog");
  EXPECT_FALSE(out.headers.has("x-datadog-tags"));
  EXPECT_FALSE(out.headers.has("x-datadog-origin"));
}

TEST(PropagationDatadog, InjectSkipsTagsThatCouldNotBeDecoded) {
  const std::pmr::vector<Tag> tags{
      {"_dd.p.a", "1,2"}, {"_dd.p.b c", "1"}, {"_dd.p.d", ""}, {"_dd.p.ok", "1"}};
  OutgoingContext context{.trace_id = {0, 7}, .span_id = 8, .sampling_priority = 1, .trace_tags = tags};
  Injected out;
  inject_into(out, context, "datadog");
  EXPECT_EQ(out.headers.value("x-datadog-tags"), "_dd.p.ok=1");
}

TEST(PropagationDatadog, InjectedTagsOfExactly512BytesAreSent) {
  const std::string padding = tags_of_size(512).substr(8);
  const std::pmr::vector<Tag> tags{{"_dd.p.a", padding}};
  OutgoingContext context{.trace_id = {0, 7}, .span_id = 8, .sampling_priority = 1, .trace_tags = tags};
  Injected out;
  inject_into(out, context, "datadog");
  EXPECT_EQ(out.headers.value("x-datadog-tags")->size(), 512u);
  EXPECT_TRUE(out.span_tags.empty());
}

TEST(PropagationDatadog, InjectedTagsOver512BytesAreOmittedAndTagged) {
  const std::string padding = tags_of_size(513).substr(8);
  const std::pmr::vector<Tag> tags{{"_dd.p.a", padding}};
  OutgoingContext context{.trace_id = {0, 7}, .span_id = 8, .sampling_priority = 1, .trace_tags = tags};
  Injected out;
  inject_into(out, context, "datadog");
  EXPECT_FALSE(out.headers.has("x-datadog-tags"));
  EXPECT_TRUE(out.headers.has("x-datadog-trace-id"));
  EXPECT_EQ(tag(out.span_tags, "_dd.propagation_error"), "inject_max_size");
}

TEST(PropagationDatadog, InjectNeverForwardsAnOriginThatIsNotPrintable) {
  OutgoingContext context{.trace_id = {0, 7}, .span_id = 8, .sampling_priority = 1, .origin = "a\r\nb"};
  Injected out;
  inject_into(out, context, "datadog");
  EXPECT_FALSE(out.headers.has("x-datadog-origin"));
}

TEST(PropagationDatadog, RoundTripExtractThenInject) {
  auto incoming = datadog_headers("_dd.p.tid=640cfd8d00000000,_dd.p.dm=-4");
  incoming.add("x-datadog-sampling-priority", "2");
  incoming.add("x-datadog-origin", "synthetics");
  const auto extracted = extract_datadog(incoming);
  const OutgoingContext context{.trace_id = extracted.trace_id,
                                .span_id = 555,
                                .sampling_priority = *extracted.sampling_priority,
                                .origin = extracted.origin,
                                .trace_tags = extracted.trace_tags};
  Injected out;
  inject_into(out, context, "datadog");
  EXPECT_EQ(out.headers.value("x-datadog-trace-id"), "123456789");
  EXPECT_EQ(out.headers.value("x-datadog-parent-id"), "555");
  EXPECT_EQ(out.headers.value("x-datadog-sampling-priority"), "2");
  EXPECT_EQ(out.headers.value("x-datadog-origin"), "synthetics");
  EXPECT_EQ(out.headers.value("x-datadog-tags"), "_dd.p.tid=640cfd8d00000000,_dd.p.dm=-4");
  const auto again = extract_datadog(out.headers);
  EXPECT_EQ(again.trace_id, extracted.trace_id);
  EXPECT_EQ(again.parent_id, 555u);
}

// DD_TRACE_TAGS_PROPAGATION_MAX_LENGTH moves the limit both ways.
TEST(PropagationDatadog, ConfiguredTagsLimitAppliesToExtraction) {
  const auto headers = datadog_headers(tags_of_size(100));
  const auto within = extract_with(headers, "datadog", {.datadog_tags_bytes = 100});
  EXPECT_EQ(within.trace_tags.size(), 1u);
  const auto over = extract_with(headers, "datadog", {.datadog_tags_bytes = 99});
  EXPECT_TRUE(over.trace_tags.empty());
  EXPECT_EQ(tag(over.span_tags, "_dd.propagation_error"), "extract_max_size");
  EXPECT_FALSE(over.trace_id.is_zero());  // the trace itself is still continued
}

TEST(PropagationDatadog, ConfiguredTagsLimitAboveDefaultLetsLargerHeadersThrough) {
  const auto extracted =
      extract_with(datadog_headers(tags_of_size(1000)), "datadog", {.datadog_tags_bytes = 1000});
  EXPECT_EQ(extracted.trace_tags.size(), 1u);
  const std::string padding = tags_of_size(1000).substr(8);
  const std::pmr::vector<Tag> tags{{"_dd.p.a", padding}};
  OutgoingContext context{.trace_id = {0, 7}, .span_id = 8, .sampling_priority = 1, .trace_tags = tags};
  Injected out;
  inject_into(out, context, "datadog", {.datadog_tags_bytes = 1000});
  EXPECT_EQ(out.headers.value("x-datadog-tags")->size(), 1000u);
  EXPECT_TRUE(out.span_tags.empty());
}

TEST(PropagationDatadog, TagsLimitZeroSendsNoTagsAndTagsTheSpan) {
  const std::pmr::vector<Tag> tags{{"_dd.p.dm", "-0"}};
  OutgoingContext context{
      .trace_id = {0x640cfd8d00000000, 7}, .span_id = 8, .sampling_priority = 1, .trace_tags = tags};
  Injected out;
  inject_into(out, context, "datadog", {.datadog_tags_bytes = 0});
  EXPECT_FALSE(out.headers.has("x-datadog-tags"));
  EXPECT_TRUE(out.headers.has("x-datadog-trace-id"));
  EXPECT_EQ(tag(out.span_tags, "_dd.propagation_error"), "inject_max_size");

  const auto extracted = extract_with(datadog_headers("_dd.p.dm=-4"), "datadog", {.datadog_tags_bytes = 0});
  EXPECT_TRUE(extracted.trace_tags.empty());
  EXPECT_EQ(tag(extracted.span_tags, "_dd.propagation_error"), "extract_max_size");
}

TEST(PropagationDatadog, TagsLimitZeroWithNothingToSendTagsNothing) {
  OutgoingContext context{.trace_id = {0, 7}, .span_id = 8, .sampling_priority = 0};
  Injected out;
  inject_into(out, context, "datadog", {.datadog_tags_bytes = 0});
  EXPECT_FALSE(out.headers.has("x-datadog-tags"));
  EXPECT_TRUE(out.span_tags.empty());
}
