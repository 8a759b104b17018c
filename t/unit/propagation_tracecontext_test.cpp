// W3C trace context: traceparent validity rules, tracestate grammar and
// limits, our dd= member both ways, with the W3C specification's examples.
#include <gtest/gtest.h>

#include "propagation_test_headers.hpp"
#include "trace/tracestate.hpp"

using namespace propagation_test;

namespace {

constexpr const char* spec_traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
constexpr TraceId spec_trace_id{0x0af7651916cd43ddull, 0x8448eb211c80319cull};

ExtractedContext extract_w3c(const TestHeaders& headers) { return extract_with(headers, "tracecontext"); }

ExtractedContext extract_traceparent(std::string value) {
  return extract_w3c({{"traceparent", std::move(value)}});
}

bool is_valid(std::string traceparent) {
  return !extract_traceparent(std::move(traceparent)).trace_id.is_zero();
}

std::optional<std::string> extraction_error(std::string traceparent) {
  return tag(extract_traceparent(std::move(traceparent)).span_tags, "_dd.w3c_extraction_error");
}

ExtractedContext with_tracestate(std::vector<std::string> tracestates) {
  TestHeaders headers{{"traceparent", spec_traceparent}};
  for (auto& value : tracestates) headers.add("tracestate", std::move(value));
  return extract_w3c(headers);
}

std::string members(std::size_t count, std::size_t first = 1) {
  std::string out;
  for (std::size_t i = first; i < first + count; ++i) {
    if (!out.empty()) out += ',';
    out += "key" + std::to_string(i) + "=value" + std::to_string(i);
  }
  return out;
}

std::string tracestate_of(const OutgoingContext& context) {
  Injected out;
  inject_into(out, context, "tracecontext");
  return out.headers.value("tracestate").value_or("<none>");
}

OutgoingContext outgoing() {
  return OutgoingContext{.trace_id = spec_trace_id, .span_id = 0x00f067aa0ba902b7ull, .sampling_priority = 1};
}

}  // namespace

TEST(PropagationTracecontext, SpecExampleTraceparent) {
  const auto context = extract_traceparent(spec_traceparent);
  EXPECT_EQ(context.trace_id, spec_trace_id);
  EXPECT_EQ(context.parent_id, 0xb7ad6b7169203331ull);
  EXPECT_EQ(context.sampling_priority, 1);
  EXPECT_EQ(context.style, PropagationStyle::tracecontext);
  EXPECT_EQ(tag(context.trace_tags, "_dd.p.tid"), "0af7651916cd43dd");
  EXPECT_TRUE(context.span_tags.empty());
}

TEST(PropagationTracecontext, SampledFlagIsBitZeroOfTheFlags) {
  EXPECT_EQ(extract_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00").sampling_priority,
            0);
  EXPECT_EQ(extract_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03").sampling_priority,
            1);
  EXPECT_EQ(extract_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-fe").sampling_priority,
            0);
}

TEST(PropagationTracecontext, SixtyFourBitTraceIdHasNoTid) {
  const auto context = extract_traceparent("00-00000000000000008448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(context.trace_id, (TraceId{0, 0x8448eb211c80319cull}));
  EXPECT_TRUE(context.trace_tags.empty());
}

TEST(PropagationTracecontext, TraceparentWithUppercaseHexIsInvalid) {
  EXPECT_FALSE(is_valid("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01"));
  EXPECT_FALSE(is_valid("00-0af7651916cd43dd8448eb211c80319c-B7AD6B7169203331-01"));
  EXPECT_FALSE(is_valid("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0A"));
  EXPECT_FALSE(is_valid("0A-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
}

TEST(PropagationTracecontext, AllZeroIdsAreInvalid) {
  EXPECT_EQ(extraction_error("00-00000000000000000000000000000000-b7ad6b7169203331-01"), "trace_id_zero");
  EXPECT_EQ(extraction_error("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"), "parent_id_zero");
}

TEST(PropagationTracecontext, VersionFfIsInvalid) {
  EXPECT_EQ(extraction_error("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), "invalid_version");
}

TEST(PropagationTracecontext, Version00IsExactly55Characters) {
  EXPECT_TRUE(is_valid(spec_traceparent));
  EXPECT_FALSE(is_valid("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0"));
  EXPECT_FALSE(is_valid("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-"));
  EXPECT_FALSE(is_valid("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01."));
  EXPECT_FALSE(
      is_valid("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-will-be-like"));
  EXPECT_EQ(extraction_error("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-"),
            "malformed_traceparent");
}

TEST(PropagationTracecontext, HigherVersionsParseTheKnownPrefixThenEndOrDash) {
  EXPECT_TRUE(is_valid("cc-12345678901234567890123456789012-1234567890123456-01"));
  EXPECT_TRUE(
      is_valid("cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like"));
  EXPECT_FALSE(
      is_valid("cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like"));
  EXPECT_EQ(extract_traceparent("01-12345678901234567890123456789012-1234567890123456-01-x").trace_id,
            (TraceId{0x1234567890123456ull, 0x7890123456789012ull}));
}

TEST(PropagationTracecontext, FieldsOfTheWrongLengthOrAlphabetAreInvalid) {
  for (const auto* bad : {
           ".0-12345678901234567890123456789012-1234567890123456-01",
           "0.-12345678901234567890123456789012-1234567890123456-01",
           "000-12345678901234567890123456789012-1234567890123456-01",
           "0-12345678901234567890123456789012-1234567890123456-01",
           "00-.2345678901234567890123456789012-1234567890123456-01",
           "00-123456789012345678901234567890123-1234567890123456-01",
           "00-1234567890123456789012345678901-1234567890123456-01",
           "00-12345678901234567890123456789012-.234567890123456-01",
           "00-12345678901234567890123456789012-12345678901234567-01",
           "00-12345678901234567890123456789012-123456789012345-01",
           "00-12345678901234567890123456789012-1234567890123456-.0",
           "00-12345678901234567890123456789012-1234567890123456-001",
           "00-12345678901234567890123456789012-1234567890123456-1",
           "00_12345678901234567890123456789012_1234567890123456_01",
           "",
       }) {
    EXPECT_FALSE(is_valid(bad)) << bad;
  }
}

TEST(PropagationTracecontext, SurroundingSpacesAndTabsAreTrimmed) {
  for (const auto* padded : {" 00-12345678901234567890123456789012-1234567890123456-01",
                             "\t00-12345678901234567890123456789012-1234567890123456-01",
                             "00-12345678901234567890123456789012-1234567890123456-01 ",
                             "00-12345678901234567890123456789012-1234567890123456-01\t",
                             "\t 00-12345678901234567890123456789012-1234567890123456-01 \t"}) {
    EXPECT_TRUE(is_valid(padded)) << padded;
  }
}

TEST(PropagationTracecontext, TwoTraceparentHeadersAreInvalid) {
  const auto context =
      extract_w3c({{"traceparent", "00-12345678901234567890123456789011-1234567890123456-01"},
                   {"traceparent", "00-12345678901234567890123456789012-1234567890123456-01"}});
  EXPECT_TRUE(context.trace_id.is_zero());
  EXPECT_EQ(tag(context.span_tags, "_dd.w3c_extraction_error"), "malformed_traceparent");
}

TEST(PropagationTracecontext, InvalidTraceparentMeansTracestateIsIgnored) {
  const auto context =
      extract_w3c({{"traceparent", "00-12345678901234567890123456789012-0000000000000000-01"},
                   {"tracestate", "foo=1,dd=s:2;o:rum;t.dm:-4"}});
  EXPECT_TRUE(context.trace_id.is_zero());
  EXPECT_TRUE(context.tracestate_others.empty());
  EXPECT_TRUE(context.origin.empty());
  EXPECT_TRUE(context.trace_tags.empty());
  EXPECT_FALSE(context.sampling_priority.has_value());
}

TEST(PropagationTracecontext, TracestateWithoutTraceparentIsIgnored) {
  const auto context = extract_w3c({{"tracestate", "foo=1,dd=s:2"}});
  EXPECT_TRUE(context.trace_id.is_zero());
  EXPECT_TRUE(context.tracestate_others.empty());
}

TEST(PropagationTracecontext, SpecExampleTracestateIsKeptInOrder) {
  EXPECT_EQ(with_tracestate({"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}).tracestate_others,
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
}

TEST(PropagationTracecontext, SeveralTracestateHeadersJoinInOrder) {
  EXPECT_EQ(with_tracestate({"foo=1,bar=2", "rojo=1,congo=2", "baz=3"}).tracestate_others,
            "foo=1,bar=2,rojo=1,congo=2,baz=3");
  EXPECT_EQ(with_tracestate({"", "foo=1"}).tracestate_others, "foo=1");
  EXPECT_EQ(with_tracestate({"foo=1", ""}).tracestate_others, "foo=1");
}

TEST(PropagationTracecontext, EmptyMembersAndBlanksAroundMembersAreAllowed) {
  EXPECT_EQ(with_tracestate({" foo=1 ,\t,, bar=a b\t"}).tracestate_others, "foo=1,bar=a b");
}

TEST(PropagationTracecontext, ThirtyTwoMembersAreKept) {
  EXPECT_EQ(std::string_view(with_tracestate({members(32)}).tracestate_others), members(32));
  EXPECT_EQ(std::string_view(with_tracestate({members(16), members(16, 17)}).tracestate_others), members(32));
}

TEST(PropagationTracecontext, ThirtyThreeMembersDiscardTheWholeHeader) {
  const auto context = with_tracestate({members(31) + ",dd=s:2;o:rum,key33=value33"});
  EXPECT_TRUE(context.tracestate_others.empty());
  EXPECT_TRUE(context.origin.empty());
  EXPECT_EQ(context.sampling_priority, 1);  // traceparent still counts
  EXPECT_EQ(with_tracestate({members(16), members(17, 17)}).tracestate_others, "");
}

TEST(PropagationTracecontext, KeyGrammar) {
  EXPECT_TRUE(is_tracestate_key("foo"));
  EXPECT_TRUE(is_tracestate_key("1foo"));  // trace-context level 2
  EXPECT_TRUE(is_tracestate_key("foo_-*/bar"));
  EXPECT_TRUE(is_tracestate_key("fw529a3039@dt"));  // tenant@vendor
  EXPECT_TRUE(is_tracestate_key(std::string(256, 'a')));
  EXPECT_FALSE(is_tracestate_key(std::string(257, 'a')));
  EXPECT_FALSE(is_tracestate_key(""));
  EXPECT_FALSE(is_tracestate_key("Foo"));
  EXPECT_FALSE(is_tracestate_key("_foo"));
  EXPECT_FALSE(is_tracestate_key("foo.bar"));
  EXPECT_FALSE(is_tracestate_key("foo bar"));
}

TEST(PropagationTracecontext, ValueGrammar) {
  EXPECT_TRUE(is_tracestate_value("t61rcWkgMzE"));
  EXPECT_TRUE(is_tracestate_value("a b!~"));
  EXPECT_TRUE(is_tracestate_value(std::string(256, 'v')));
  EXPECT_FALSE(is_tracestate_value(std::string(257, 'v')));
  EXPECT_FALSE(is_tracestate_value(""));
  EXPECT_FALSE(is_tracestate_value("a="));
  EXPECT_FALSE(is_tracestate_value("a,b"));
  EXPECT_FALSE(is_tracestate_value("trailing "));
  EXPECT_FALSE(is_tracestate_value("caf\xc3\xa9"));
  EXPECT_FALSE(is_tracestate_value("tab\there"));
}

TEST(PropagationTracecontext, AnyInvalidMemberDiscardsTheWholeHeader) {
  for (const auto* bad : {"foo=1,Bar=2,dd=s:2", "foo=1,bar,dd=s:2", "foo=1,bar=,dd=s:2", "foo=1,=2,dd=s:2",
                          "foo=1,bar=a=b,dd=s:2", "foo =1,dd=s:2", "foo=1,dd=s:2,x=caf\xc3\xa9"}) {
    const auto context = with_tracestate({bad});
    EXPECT_EQ(context.trace_id, spec_trace_id) << bad;
    EXPECT_TRUE(context.tracestate_others.empty()) << bad;
    EXPECT_EQ(context.sampling_priority, 1) << bad;  // s:2 not read
    EXPECT_FALSE(context.diagnostics.empty()) << bad;
  }
  EXPECT_TRUE(with_tracestate({"foo=1", "Bad=2"}).tracestate_others.empty());
}

TEST(PropagationTracecontext, KeyOfExactly256CharactersIsKeptAnd257DiscardsTheHeader) {
  const std::string key256(256, 'k');
  EXPECT_EQ(std::string_view(with_tracestate({key256 + "=1"}).tracestate_others), key256 + "=1");
  EXPECT_TRUE(with_tracestate({std::string(257, 'k') + "=1,foo=2"}).tracestate_others.empty());
}

TEST(PropagationTracecontext, ValueOfExactly256CharactersIsKeptAnd257DiscardsTheHeader) {
  const std::string value256(256, 'v');
  EXPECT_EQ(std::string_view(with_tracestate({"foo=" + value256}).tracestate_others), "foo=" + value256);
  EXPECT_TRUE(with_tracestate({"foo=" + std::string(257, 'v') + ",bar=2"}).tracestate_others.empty());
}

TEST(PropagationTracecontext, DuplicateKeysDiscardTheWholeHeader) {
  EXPECT_TRUE(with_tracestate({"foo=1,foo=1"}).tracestate_others.empty());
  EXPECT_TRUE(with_tracestate({"foo=1", "foo=2"}).tracestate_others.empty());
  EXPECT_EQ(with_tracestate({"dd=s:2,dd=s:-1"}).sampling_priority, 1);
}

TEST(PropagationTracecontext, DatadogMemberSuppliesOriginTagsAndIsNotAnOtherVendor) {
  const auto context = with_tracestate(
      {"key1=value1,dd=s:2;o:rum;p:0123456789abcdef;t.dm:-4;t.usr.id:baz64~~,congo=t61rcWkgMzE"});
  EXPECT_EQ(context.sampling_priority, 2);
  EXPECT_EQ(context.origin, "rum");
  EXPECT_EQ(tag(context.trace_tags, "_dd.p.dm"), "-4");
  EXPECT_EQ(tag(context.trace_tags, "_dd.p.usr.id"), "baz64==");
  EXPECT_EQ(context.tracestate_others, "key1=value1,congo=t61rcWkgMzE");
  EXPECT_EQ(tag(context.span_tags, "_dd.parent_id"), "0123456789abcdef");
}

TEST(PropagationTracecontext, OriginTildesAreEqualSigns) {
  EXPECT_EQ(with_tracestate({"dd=o:synthetics~web"}).origin, "synthetics=web");
}

// Found by the propagation fuzzer: "dd=s:2;o: 00-0af7...:rumc-b7ad...;p:..."
// made nginx forward "x-datadog-origin:  00-0af7..." (a header value cannot
// start or end with a blank; the upstream would read another origin).
TEST(PropagationTracecontext, OriginAndTagValuesAreTrimmedOfBlanks) {
  const auto context = with_tracestate({"dd=s:2;o: rum ;t.usr.id: baz64~~ ;t.a:  ;p:0123456789abcdef"});
  EXPECT_EQ(context.origin, "rum");
  EXPECT_EQ(tag(context.trace_tags, "_dd.p.usr.id"), "baz64==");
  EXPECT_FALSE(tag(context.trace_tags, "_dd.p.a").has_value());
  EXPECT_TRUE(with_tracestate({"dd=s:2;o:   ;p:0123456789abcdef"}).origin.empty());

  OutgoingContext outgoing{.trace_id = spec_trace_id,
                           .span_id = 0x1234,
                           .sampling_priority = 2,
                           .origin = context.origin,
                           .trace_tags = context.trace_tags};
  Injected out;
  inject_into(out, outgoing, "datadog");
  EXPECT_EQ(out.headers.value("x-datadog-origin"), "rum");
  EXPECT_EQ(out.headers.value("x-datadog-tags"), "_dd.p.tid=0af7651916cd43dd,_dd.p.usr.id=baz64==");
}

TEST(PropagationTracecontext, TidInTracestateIsIgnoredForTheTraceparentHighBits) {
  const auto context = with_tracestate({"dd=t.tid:ffffffffffffffff;t.dm:-1"});
  EXPECT_EQ(tag(context.trace_tags, "_dd.p.tid"), "0af7651916cd43dd");
  EXPECT_EQ(tag(context.trace_tags, "_dd.p.dm"), "-1");
}

TEST(PropagationTracecontext, UnknownOrEmptyDatadogFieldsAreSkipped) {
  const auto context = with_tracestate({"dd=x:1;s;s:;o:;t.:1;s:abc;zz;s:2"});
  EXPECT_EQ(context.sampling_priority, 2);
  EXPECT_TRUE(context.origin.empty());
  EXPECT_EQ(context.trace_tags.size(), 1u);  // only _dd.p.tid
}

TEST(PropagationTracecontext, LastDatadogParentIsRecordedAsGiven) {
  EXPECT_EQ(tag(with_tracestate({"key1=value1,dd=s:2;t.dm:-4;p:XX!X"}).span_tags, "_dd.parent_id"), "XX!X");
  EXPECT_EQ(tag(with_tracestate({"dd=s:2"}).span_tags, "_dd.parent_id"), "0000000000000000");
  EXPECT_FALSE(tag(with_tracestate({"foo=1"}).span_tags, "_dd.parent_id").has_value());
  EXPECT_FALSE(tag(extract_traceparent(spec_traceparent).span_tags, "_dd.parent_id").has_value());
}

// s: refines the sampled flag only when both agree on keep versus drop.
TEST(PropagationTracecontext, SamplingPriorityFromSampledFlagAndDatadogMember) {
  const auto priority = [](const char* flags, const char* tracestate) {
    TestHeaders headers{
        {"traceparent", std::string("00-12345678901234567890123456789012-1234567890123456-") + flags}};
    if (*tracestate) headers.add("tracestate", tracestate);
    return extract_w3c(headers).sampling_priority;
  };
  EXPECT_EQ(priority("01", ""), 1);
  EXPECT_EQ(priority("01", "foo=1,dd=s:-1"), 1);
  EXPECT_EQ(priority("01", "foo=1,dd=s:2"), 2);
  EXPECT_EQ(priority("00", ""), 0);
  EXPECT_EQ(priority("00", "foo=1,dd=s:-1"), -1);
  EXPECT_EQ(priority("00", "foo=1,dd=s:1"), 0);
}

TEST(PropagationTracecontext, OverruledDecisionMakerIsResetOnKeepAndDroppedOnDrop) {
  const auto kept = extract_w3c({{"traceparent", "00-12345678901234567890123456789012-1234567890123456-01"},
                                 {"tracestate", "foo=1,dd=s:-1;t.dm:-4;t.usr.id:baz64~~"}});
  EXPECT_EQ(tag(kept.trace_tags, "_dd.p.dm"), "-0");
  EXPECT_EQ(tag(kept.trace_tags, "_dd.p.usr.id"), "baz64==");
  const auto dropped =
      extract_w3c({{"traceparent", "00-12345678901234567890123456789012-1234567890123456-00"},
                   {"tracestate", "foo=1,dd=s:2;t.dm:-4;t.usr.id:baz64~~"}});
  EXPECT_FALSE(tag(dropped.trace_tags, "_dd.p.dm").has_value());
  EXPECT_EQ(tag(dropped.trace_tags, "_dd.p.usr.id"), "baz64==");
  const auto agreed = extract_w3c({{"traceparent", "00-12345678901234567890123456789012-1234567890123456-01"},
                                   {"tracestate", "dd=s:2;t.dm:-4"}});
  EXPECT_EQ(tag(agreed.trace_tags, "_dd.p.dm"), "-4");
}

TEST(PropagationTracecontext, InjectTraceparentIsVersion00WithTheNginxSpanAsParent) {
  Injected out;
  auto context = outgoing();
  context.sampling_priority = 2;
  inject_into(out, context, "tracecontext");
  EXPECT_EQ(out.headers.value("traceparent"), "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01");
  context.sampling_priority = 0;
  Injected dropped;
  inject_into(dropped, context, "tracecontext");
  EXPECT_EQ(dropped.headers.value("traceparent"), "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-00");
  context.sampling_priority = -1;
  Injected rejected;
  inject_into(rejected, context, "tracecontext");
  EXPECT_EQ(rejected.headers.value("traceparent"), "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-00");
}

TEST(PropagationTracecontext, InjectTraceparentPadsA64BitTraceId) {
  Injected out;
  inject_into(out, {.trace_id = {0, 1}, .span_id = 2, .sampling_priority = 1}, "tracecontext");
  EXPECT_EQ(out.headers.value("traceparent"), "00-00000000000000000000000000000001-0000000000000002-01");
}

TEST(PropagationTracecontext, InjectTracestateStartsWithOurMember) {
  const std::pmr::vector<Tag> tags{
      {"_dd.p.tid", "0af7651916cd43dd"}, {"_dd.p.dm", "-4"}, {"_dd.p.usr.id", "baz64=="}, {"other", "x"}};
  auto context = outgoing();
  context.sampling_priority = 2;
  context.origin = "rum";
  context.trace_tags = tags;
  context.tracestate_others = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
  EXPECT_EQ(
      tracestate_of(context),
      "dd=s:2;p:00f067aa0ba902b7;o:rum;t.dm:-4;t.usr.id:baz64~~,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
}

TEST(PropagationTracecontext, InjectTracestateReplacesCharactersItCannotCarry) {
  const std::pmr::vector<Tag> tags{{"_dd.p.a b:c", "x,y;z~w=v\x01"}};
  auto context = outgoing();
  context.origin = "synthetics~;=web,z";
  context.trace_tags = tags;
  EXPECT_EQ(tracestate_of(context), "dd=s:1;p:00f067aa0ba902b7;o:synthetics__~web_z;t.a_b_c:x_y_z_w~v_");
}

TEST(PropagationTracecontext, InjectTracestateNeverEndsInABlank) {
  auto context = outgoing();
  context.origin = "trailing ";
  EXPECT_EQ(tracestate_of(context), "dd=s:1;p:00f067aa0ba902b7;o:trailing_");
}

TEST(PropagationTracecontext, InjectDatadogValueOfExactly256CharactersIsWhole) {
  // "s:1;p:<16 hex>" is 22 characters; ";t.a:" adds 5, so a 229-character value makes 256.
  const std::pmr::vector<Tag> tags{{"_dd.p.a", std::string(229, 'x')}, {"_dd.p.b", "1"}};
  auto context = outgoing();
  context.trace_tags = std::span(tags).first(1);
  const auto exact = tracestate_of(context);
  EXPECT_EQ(exact.size(), 3 + 256u);
  EXPECT_EQ(exact.substr(exact.size() - 5), "xxxxx");
  context.trace_tags = tags;  // one more segment no longer fits: dropped whole
  EXPECT_EQ(tracestate_of(context), exact);
}

TEST(PropagationTracecontext, InjectDatadogValueOver256CharactersDropsTrailingSegments) {
  const std::pmr::vector<Tag> tags{{"_dd.p.dm", "-4"}, {"_dd.p.a", std::string(226, 'x')}, {"_dd.p.b", "1"}};
  auto context = outgoing();
  context.trace_tags = tags;
  // t.a would make the value 30 + 5 + 226 = 261 characters: it and everything after it go.
  EXPECT_EQ(tracestate_of(context), "dd=s:1;p:00f067aa0ba902b7;t.dm:-4");
  std::array<char, max_tracestate_value_size> value;
  const std::pmr::vector<Tag> exact{{"_dd.p.a", std::string(229, 'x')}};
  context.trace_tags = exact;
  EXPECT_EQ(encode_datadog_tracestate_value(context, value), 256u);
  const std::pmr::vector<Tag> one_past{{"_dd.p.a", std::string(230, 'x')}};
  context.trace_tags = one_past;
  EXPECT_EQ(encode_datadog_tracestate_value(context, value), 22u);
}

TEST(PropagationTracecontext, InjectKeepsAtMost32MembersDroppingTheRightmost) {
  auto context = outgoing();
  const auto thirty_one = members(31);
  context.tracestate_others = thirty_one;
  EXPECT_EQ(tracestate_of(context), "dd=s:1;p:00f067aa0ba902b7," + thirty_one);
  const auto thirty_two = members(32);
  context.tracestate_others = thirty_two;
  EXPECT_EQ(tracestate_of(context), "dd=s:1;p:00f067aa0ba902b7," + thirty_one);
}

TEST(PropagationTracecontext, InjectNeverReEmitsInvalidOrDatadogOtherMembers) {
  auto context = outgoing();
  context.tracestate_others = "foo=1,Bad=2,dd=s:-1,bar=x=y,foo=3, baz=4 ,,";
  EXPECT_EQ(tracestate_of(context), "dd=s:1;p:00f067aa0ba902b7,foo=1,baz=4");
}

TEST(PropagationTracecontext, RoundTripExtractThenInject) {
  const auto extracted =
      extract_w3c({{"traceparent", spec_traceparent},
                   {"tracestate", "rojo=00f067aa0ba902b7,dd=s:2;o:rum;t.dm:-4,congo=t61rcWkgMzE"}});
  const OutgoingContext context{.trace_id = extracted.trace_id,
                                .span_id = 0x1111111111111111ull,
                                .sampling_priority = *extracted.sampling_priority,
                                .origin = extracted.origin,
                                .trace_tags = extracted.trace_tags,
                                .tracestate_others = extracted.tracestate_others};
  Injected out;
  inject_into(out, context, "tracecontext");
  EXPECT_EQ(out.headers.value("traceparent"), "00-0af7651916cd43dd8448eb211c80319c-1111111111111111-01");
  EXPECT_EQ(out.headers.value("tracestate"),
            "dd=s:2;p:1111111111111111;o:rum;t.dm:-4,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  const auto again = extract_w3c(out.headers);
  EXPECT_EQ(again.trace_id, extracted.trace_id);
  EXPECT_EQ(again.parent_id, 0x1111111111111111ull);
  EXPECT_EQ(again.sampling_priority, 2);
  EXPECT_EQ(again.origin, "rum");
  EXPECT_EQ(again.tracestate_others, extracted.tracestate_others);
  EXPECT_EQ(tag(again.span_tags, "_dd.parent_id"), "1111111111111111");
}
