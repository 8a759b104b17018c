// W3C baggage: percent-decoding and encoding, malformed headers, and the
// 64-item / 8192-byte limits at the boundary and one past it.
#include <gtest/gtest.h>

#include "propagation_test_headers.hpp"
#include "trace/baggage.hpp"

using namespace propagation_test;

namespace {

ExtractedContext extract_baggage(std::vector<std::string> values) {
  TestHeaders headers;
  for (auto& value : values) headers.add("baggage", std::move(value));
  return extract_with(headers, "baggage");
}

std::vector<std::pair<std::string, std::string>> items(const ExtractedContext& context) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& item : context.baggage) out.emplace_back(item.key, item.value);
  return out;
}

using Items = std::vector<std::pair<std::string, std::string>>;

std::string numbered_items(std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (!out.empty()) out += ',';
    out += "key" + std::to_string(i) + "=value" + std::to_string(i);
  }
  return out;
}

std::string injected_baggage(std::span<const Tag> baggage) {
  Injected out;
  inject_into(out, {.baggage = baggage}, "baggage");
  return out.headers.value("baggage").value_or("<none>");
}

}  // namespace

TEST(PropagationBaggage, KeyValuePairsInHeaderOrder) {
  const auto context = extract_baggage({"user.id=doggo,session.id=mysession,foo=bar"});
  EXPECT_EQ(items(context), (Items{{"user.id", "doggo"}, {"session.id", "mysession"}, {"foo", "bar"}}));
  EXPECT_TRUE(context.baggage_error.empty());
  EXPECT_TRUE(context.trace_id.is_zero());  // baggage never supplies a trace
}

TEST(PropagationBaggage, KeysAndValuesArePercentDecoded) {
  const auto context =
      extract_baggage({"foo=bar,userId=Am%C3%A9lie,serverNode=DF%2028,"
                       "%22%2C%3B%5C%28%29%2F%3A%3C%3D%3E%3F%40%5B%5D%7B%7D=%22%2C%3B%5C"});
  EXPECT_EQ(items(context), (Items{{"foo", "bar"},
                                   {"userId", "Am\xc3\xa9lie"},
                                   {"serverNode", "DF 28"},
                                   {"\",;\\()/:<=>?@[]{}", "\",;\\"}}));
}

TEST(PropagationBaggage, BlanksAroundMembersKeysAndValuesAreTrimmedAndInnerSpacesKept) {
  EXPECT_EQ(items(extract_baggage({" a = 1 ,\tb=DF 28\t"})), (Items{{"a", "1"}, {"b", "DF 28"}}));
}

TEST(PropagationBaggage, PropertiesAreDropped) {
  EXPECT_EQ(items(extract_baggage({"key1=value1;property1;property2, key2 = value2 ;p=q"})),
            (Items{{"key1", "value1"}, {"key2", "value2"}}));
}

TEST(PropagationBaggage, ALiteralPercentSignIsKept) {
  EXPECT_EQ(items(extract_baggage({"a=100%,b=%zz,c=%4"})), (Items{{"a", "100%"}, {"b", "%zz"}, {"c", "%4"}}));
}

TEST(PropagationBaggage, SeveralHeadersReadAsOneList) {
  EXPECT_EQ(items(extract_baggage({"a=1", "b=2,c=3"})), (Items{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  EXPECT_EQ(items(extract_baggage({"", "a=1"})), (Items{{"a", "1"}}));
}

TEST(PropagationBaggage, ARepeatedKeyKeepsItsPlaceAndTakesTheLastValue) {
  EXPECT_EQ(items(extract_baggage({"a=1,b=2,a=3"})), (Items{{"a", "3"}, {"b", "2"}}));
}

TEST(PropagationBaggage, MalformedHeaderIsIgnoredWhole) {
  for (const auto* bad : {"no-equal-sign,foo=gets-dropped-because-previous-pair-is-malformed", "=no-key",
                          "no-value=", "foo=gets-dropped-because-subsequent-pair-is-malformed,=", "a=1,,b=2",
                          "a=1,", ",a=1", "a=1\x01", "a=;p"}) {
    const auto context = extract_baggage({bad});
    EXPECT_TRUE(context.baggage.empty()) << bad;
    EXPECT_EQ(context.baggage_error, "malformed") << bad;
    EXPECT_NE(context.diagnostics.find("baggage"), std::string::npos) << bad;
  }
}

TEST(PropagationBaggage, EmptyHeaderIsNoBaggageAndNoError) {
  const auto context = extract_baggage({""});
  EXPECT_TRUE(context.baggage.empty());
  EXPECT_TRUE(context.baggage_error.empty());
}

TEST(PropagationBaggage, SixtyFourItemsAreKept) {
  EXPECT_EQ(extract_baggage({numbered_items(64)}).baggage.size(), 64u);
}

TEST(PropagationBaggage, SixtyFiveItemsIgnoreTheHeader) {
  const auto context = extract_baggage({numbered_items(65)});
  EXPECT_TRUE(context.baggage.empty());
  EXPECT_EQ(context.baggage_error, "item_count_exceeded");
}

TEST(PropagationBaggage, HeaderOfExactly8192BytesIsKept) {
  const std::string header = "k=" + std::string(8190, 'v');
  EXPECT_EQ(extract_baggage({header}).baggage.size(), 1u);
}

TEST(PropagationBaggage, HeaderOf8193BytesIsIgnored) {
  const auto context = extract_baggage({"k=" + std::string(8191, 'v')});
  EXPECT_TRUE(context.baggage.empty());
  EXPECT_EQ(context.baggage_error, "byte_count_exceeded");
  // Several headers count together, with the ',' that joins them.
  EXPECT_EQ(extract_baggage({"a=" + std::string(4094, 'v'), "b=" + std::string(4093, 'v')}).baggage.size(),
            2u);
  EXPECT_EQ(extract_baggage({"a=" + std::string(4094, 'v'), "b=" + std::string(4094, 'v')}).baggage_error,
            "byte_count_exceeded");
}

TEST(PropagationBaggage, OnlyReadWhenTheBaggageStyleIsConfigured) {
  const auto context = extract_with({{"baggage", "a=1"}}, "datadog,tracecontext");
  EXPECT_TRUE(context.baggage.empty());
}

TEST(PropagationBaggage, ReadAlongsideATraceWhicheverStyleWins) {
  const auto context = extract_with(
      {{"x-datadog-trace-id", "123456789"}, {"x-datadog-parent-id", "987654321"}, {"baggage", "foo=bar"}},
      "datadog,tracecontext,baggage");
  EXPECT_EQ(context.trace_id.low, 123456789u);
  EXPECT_EQ(items(context), (Items{{"foo", "bar"}}));
}

TEST(PropagationBaggage, InjectPercentEncodesKeysAndValues) {
  const std::pmr::vector<Tag> baggage{{"foo", "bar"},
                                      {"baz", "qux"},
                                      {"userId", "Am\xc3\xa9lie"},
                                      {"serverNode", "DF 28"},
                                      {"\",;\\()/:<=>?@[]{}", "\",;\\"},
                                      {"pct%", "100%"}};
  EXPECT_EQ(injected_baggage(baggage),
            "foo=bar,baz=qux,userId=Am%C3%A9lie,serverNode=DF%2028,"
            "%22%2C%3B%5C%28%29%2F%3A%3C%3D%3E%3F%40%5B%5D%7B%7D=%22%2C%3B%5C,pct%25=100%25");
}

TEST(PropagationBaggage, InjectWritesAtMost64Items) {
  std::pmr::vector<Tag> baggage;
  for (int i = 0; i < 66; ++i) baggage.emplace_back("key" + std::to_string(i), "value" + std::to_string(i));
  EXPECT_EQ(injected_baggage(std::span(baggage).first(64)), numbered_items(64));
  EXPECT_EQ(injected_baggage(baggage), numbered_items(64));
  std::pmr::monotonic_buffer_resource memory;
  EXPECT_TRUE(encode_baggage(baggage, &memory).truncated);
  EXPECT_FALSE(encode_baggage(std::span(baggage).first(64), &memory).truncated);
}

TEST(PropagationBaggage, InjectStopsBeforeTheItemThatPasses8192Bytes) {
  const std::pmr::vector<Tag> baggage{{"key1", std::string(8192 / 3, 'a')},
                                      {"key2", std::string(8192 / 3, 'b')},
                                      {"key3", std::string(8192 / 3, 'c')},
                                      {"key4", "d"}};
  const auto header = injected_baggage(baggage);
  EXPECT_EQ(std::count(header.begin(), header.end(), ','), 1);
  EXPECT_LE(header.size(), 8192u);
}

TEST(PropagationBaggage, InjectedHeaderOfExactly8192BytesIsWhole) {
  const std::pmr::vector<Tag> exact{{"k", std::string(8190, 'v')}};
  EXPECT_EQ(injected_baggage(exact).size(), 8192u);
  const std::pmr::vector<Tag> one_past{{"k", std::string(8191, 'v')}};
  EXPECT_EQ(injected_baggage(one_past), "<none>");
  // Encoding counts: a space is three bytes on the wire.
  const std::pmr::vector<Tag> spaces{{"k", std::string(2730, ' ')}};
  EXPECT_EQ(injected_baggage(spaces).size(), 8192u);
}

TEST(PropagationBaggage, InjectWithoutBaggageWritesNothing) { EXPECT_EQ(injected_baggage({}), "<none>"); }

TEST(PropagationBaggage, RoundTripExtractThenInject) {
  const auto extracted = extract_baggage({"foo=bar, userId=Am%C3%A9lie ,serverNode=DF%2028;prop"});
  EXPECT_EQ(injected_baggage(extracted.baggage), "foo=bar,userId=Am%C3%A9lie,serverNode=DF%2028");
}

namespace {

Items span_tags(const std::string& header, std::vector<std::string_view> keys, bool all) {
  const auto context = extract_baggage({header});
  std::pmr::vector<Tag> tags{{"earlier", "tag"}};
  add_baggage_span_tags(context.baggage, keys, all, tags);
  Items out;
  for (const auto& tag : tags) out.emplace_back(tag.key, tag.value);
  return out;
}

}  // namespace

TEST(PropagationBaggage, SpanTagsAreTheWantedItemsPrefixed) {
  EXPECT_EQ(span_tags("user.id=amy,plan=gold,x=y", {"plan", "user.id"}, false),
            (Items{{"earlier", "tag"}, {"baggage.user.id", "amy"}, {"baggage.plan", "gold"}}));
  EXPECT_EQ(span_tags("user.id=amy,plan=gold", {}, true),
            (Items{{"earlier", "tag"}, {"baggage.user.id", "amy"}, {"baggage.plan", "gold"}}));
}

TEST(PropagationBaggage, SpanTagKeysAreValidUtf8AndUniqueOnceRepaired) {
  // %FF, %FE and a literal U+FFFD are one key once repaired: the last value wins.
  EXPECT_EQ(span_tags("%FF=a,plan=gold,%FE=b,%EF%BF%BD=c,x%FFy=d", {}, true),
            (Items{{"earlier", "tag"},
                   {"baggage.\xEF\xBF\xBD", "c"},
                   {"baggage.plan", "gold"},
                   {"baggage.x\xEF\xBF\xBDy", "d"}}));
  // A valid key after a repaired one that it equals is found too.
  EXPECT_EQ(span_tags("%C3=a,%EF%BF%BD=b", {}, true),
            (Items{{"earlier", "tag"}, {"baggage.\xEF\xBF\xBD", "b"}}));
}

// DD_TRACE_BAGGAGE_MAX_ITEMS / _BYTES move both limits, read and written.
TEST(PropagationBaggage, ConfiguredLimitsApplyToExtraction) {
  TestHeaders headers;
  headers.add("baggage", numbered_items(3));
  EXPECT_EQ(extract_with(headers, "baggage", {.baggage_items = 3}).baggage.size(), 3u);
  const auto too_many = extract_with(headers, "baggage", {.baggage_items = 2});
  EXPECT_TRUE(too_many.baggage.empty());
  EXPECT_EQ(too_many.baggage_error, "item_count_exceeded");
  const auto size = numbered_items(3).size();
  EXPECT_EQ(extract_with(headers, "baggage", {.baggage_bytes = size}).baggage.size(), 3u);
  const auto too_long = extract_with(headers, "baggage", {.baggage_bytes = size - 1});
  EXPECT_TRUE(too_long.baggage.empty());
  EXPECT_EQ(too_long.baggage_error, "byte_count_exceeded");
}

TEST(PropagationBaggage, ConfiguredLimitsApplyToInjection) {
  std::pmr::vector<Tag> baggage;
  for (int i = 0; i < 3; ++i) baggage.emplace_back("key" + std::to_string(i), "value" + std::to_string(i));
  std::pmr::monotonic_buffer_resource memory;
  const auto two = encode_baggage(baggage, &memory, {.baggage_items = 2});
  EXPECT_EQ(two.header, numbered_items(2));
  EXPECT_TRUE(two.truncated);
  // "key0=value0,key1=value1" is 23 bytes: the third item would pass 30.
  const auto short_one = encode_baggage(baggage, &memory, {.baggage_bytes = 30});
  EXPECT_EQ(short_one.header, numbered_items(2));
  EXPECT_TRUE(short_one.truncated);
  EXPECT_EQ(encode_baggage(baggage, &memory, {.baggage_bytes = 5}).header, "");
}
