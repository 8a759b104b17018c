// Expected bytes are written out by hand from the msgpack spec, not produced
// by the encoder under test.
#include "trace/span_encoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "trace/msgpack_writer.hpp"

using namespace datadog::trace;

namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

std::string key(std::string_view name) {
  return bytes({0xa0 | static_cast<int>(name.size())}) + std::string(name);
}

}  // namespace

TEST(SpanEncoder, MinimalSpanIsTheTwelveFieldMapWithAgentTypes) {
  const Meta meta[] = {{"component", "nginx"}};
  const Metric metrics[] = {{"_sampling_priority_v1", 1.0}};
  SpanRecord span;
  span.service = "svc";
  span.name = "nginx.request";
  span.resource = "GET /";
  span.type = "web";
  span.trace_id = TraceId{0xaaaa, 0x0102030405060708ULL};
  span.span_id = 0x1112131415161718ULL;
  span.parent_id = 0;
  span.start_ns = 1'700'000'000'000'000'000;
  span.duration_ns = 1500;
  span.error = true;
  span.meta = meta;
  span.metrics = metrics;

  std::string out;
  encode_span(out, span);

  std::string expected = bytes({0x8c});
  expected += key("service") + key("svc");
  expected += key("name") + key("nginx.request");
  expected += key("resource") + key("GET /");
  expected += key("type") + key("web");
  expected += key("trace_id") + bytes({0xcf, 1, 2, 3, 4, 5, 6, 7, 8});  // low 64 bits only
  expected += key("span_id") + bytes({0xcf, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18});
  expected += key("parent_id") + bytes({0xcf, 0, 0, 0, 0, 0, 0, 0, 0});
  // 1.7e18 = 0x17979CFE362A0000
  expected += key("start") + bytes({0xd3, 0x17, 0x97, 0x9c, 0xfe, 0x36, 0x2a, 0x00, 0x00});
  expected += key("duration") + bytes({0xd3, 0, 0, 0, 0, 0, 0, 0x05, 0xdc});
  expected += key("error") + bytes({0x01});
  expected += key("meta") + bytes({0x81}) + key("component") + key("nginx");
  // 1.0 as IEEE 754 double: 0x3FF0000000000000
  expected += key("metrics") + bytes({0x81}) + bytes({0xb5}) + "_sampling_priority_v1" +
              bytes({0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(out, expected);
}

TEST(SpanEncoder, EmptyResourceBecomesTheName) {
  SpanRecord span;
  span.name = "nginx.request";
  std::string out;
  encode_span(out, span);
  EXPECT_NE(out.find(key("resource") + key("nginx.request")), std::string::npos);
}

TEST(SpanEncoder, TraceIsAnArrayOfItsSpans) {
  SpanRecord spans[2];
  std::string out;
  encode_trace(out, spans);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0x92);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 0x8c);
}

TEST(SpanEncoder, StringHeadersAtEachBoundary) {
  const struct {
    std::size_t size;
    std::string header;
  } cases[] = {
      {31, bytes({0xbf})},
      {32, bytes({0xd9, 32})},
      {255, bytes({0xd9, 0xff})},
      {256, bytes({0xda, 0x01, 0x00})},
      {65535, bytes({0xda, 0xff, 0xff})},
      {65536, bytes({0xdb, 0x00, 0x01, 0x00, 0x00})},
  };
  for (const auto& c : cases) {
    const std::string service(c.size, 'x');
    SpanRecord span;
    span.service = service;
    std::string out;
    encode_span(out, span);
    // The map header, then "service" and its value.
    const std::string expected = bytes({0x8c}) + key("service") + c.header + service + key("name");
    EXPECT_EQ(out.substr(0, expected.size()), expected) << c.size;
  }
}

TEST(SpanEncoder, MetaMapHeaderPastFifteenEntries) {
  std::vector<Meta> meta(16, Meta{"k", "v"});
  SpanRecord span;
  span.meta = meta;
  std::string out;
  encode_span(out, span);
  EXPECT_NE(out.find(key("meta") + bytes({0xde, 0x00, 0x10})), std::string::npos);
}

TEST(MsgpackWriter, ArrayHeadersAtEachBoundary) {
  std::string out;
  msgpack::write_array_header(out, 15);
  msgpack::write_array_header(out, 16);
  msgpack::write_array_header(out, 65535);
  msgpack::write_array_header(out, 65536);
  EXPECT_EQ(out, bytes({0x9f, 0xdc, 0x00, 0x10, 0xdc, 0xff, 0xff, 0xdd, 0x00, 0x01, 0x00, 0x00}));
}

TEST(SpanEncoder, InvalidUtf8BecomesReplacementCharactersAndValidTextStays) {
  // A client's bytes: a lone lead byte, a stray continuation, a valid "é".
  const Meta meta[] = {{"http.useragent",
                        "a\xc3"
                        "b\x80\xc3\xa9"}};
  SpanRecord span;
  span.service = "caf\xc3\xa9";
  span.meta = meta;
  std::string out;
  encode_span(out, span);
  const std::string service = bytes({0xa5}) + "caf\xc3\xa9";
  EXPECT_EQ(out.substr(1 + 8, service.size()), service);
  const std::string repaired = bytes({0xaa}) +
                               "a\xef\xbf\xbd"
                               "b\xef\xbf\xbd\xc3\xa9";
  EXPECT_NE(out.find(key("http.useragent") + repaired), std::string::npos);
}

TEST(SpanEncoder, EveryStringLengthWithAnInvalidByteAnywhereIsRepairedInPlace) {
  // The encoder reserves room for the bytes as they are and starts again with
  // room for repairs when a string needs them: the result must not depend on
  // the string's length or where the bad byte is, and the span must stay whole.
  for (std::size_t n = 1; n <= 70; ++n) {
    for (std::size_t at = 0; at < n; ++at) {
      std::string value(n, 'v');
      value[at] = '\xff';
      const Meta meta[] = {{"before", "ok"}, {"http.url", value}, {"after", "ok"}};
      SpanRecord span;
      span.meta = meta;
      std::string out = "prefix";
      encode_span(out, span);
      std::string repaired = value;
      repaired.replace(at, 1, "\xef\xbf\xbd");
      const std::size_t m = repaired.size();
      const std::string header =
          m < 32 ? bytes({0xa0 | static_cast<int>(m)}) : bytes({0xd9, static_cast<int>(m)});
      const std::string expected = key("meta") + bytes({0x83}) + key("before") + key("ok") + key("http.url") +
                                   header + repaired + key("after") + key("ok") + key("metrics") +
                                   bytes({0x80});
      ASSERT_EQ(out.substr(0, 6), "prefix");
      ASSERT_TRUE(out.ends_with(expected)) << n << " at " << at;
    }
  }
}

TEST(SpanEncoder, FixedMetaComesFirstAndCountsInTheMapHeader) {
  const std::string fixed = key("component") + key("nginx") + key("span.kind") + key("server");
  const Meta meta[] = {{"http.method", "GET"}};
  SpanRecord span;
  span.fixed_meta = fixed;
  span.fixed_meta_count = 2;
  span.meta = meta;
  std::string out;
  encode_span(out, span);
  const std::string expected =
      key("meta") + bytes({0x83}) + fixed + key("http.method") + key("GET") + key("metrics") + bytes({0x80});
  EXPECT_TRUE(out.ends_with(expected));
}
