// Injection across styles: every configured style writes its headers, values
// outlive the writer call, and only the owned header names are written.
#include <gtest/gtest.h>

#include <algorithm>

#include "propagation_test_headers.hpp"

using namespace propagation_test;

namespace {

// Remembers the views it was given, to check they stay valid.
class ViewRecorder : public HeaderWriter {
 public:
  void set(std::string_view name, std::string_view value) override { entries.emplace_back(name, value); }
  std::vector<std::pair<std::string_view, std::string_view>> entries;
};

bool owned_by_any(const PropagationStyles& configured, std::string_view header) {
  return std::any_of(configured.begin(), configured.end(), [header](PropagationStyle style) {
    const auto names = propagation_header_names(style);
    return std::find(names.begin(), names.end(), header) != names.end();
  });
}

}  // namespace

TEST(PropagationInject, EveryConfiguredStyleWritesItsHeaders) {
  const std::pmr::vector<Tag> tags{{"_dd.p.dm", "-0"}};
  const std::pmr::vector<Tag> baggage{{"foo", "bar"}};
  Injected out;
  inject_into(out,
              {.trace_id = {0x1111111111111111ull, 0x2222222222222222ull},
               .span_id = 0x3333333333333333ull,
               .sampling_priority = 1,
               .trace_tags = tags,
               .tracestate_others = "foo=1",
               .baggage = baggage},
              "datadog tracecontext b3 b3single baggage");
  EXPECT_EQ(out.headers.value("x-datadog-trace-id"), "2459565876494606882");
  EXPECT_EQ(out.headers.value("x-datadog-parent-id"), "3689348814741910323");
  EXPECT_EQ(out.headers.value("x-datadog-sampling-priority"), "1");
  EXPECT_EQ(out.headers.value("x-datadog-tags"), "_dd.p.tid=1111111111111111,_dd.p.dm=-0");
  EXPECT_EQ(out.headers.value("traceparent"), "00-11111111111111112222222222222222-3333333333333333-01");
  EXPECT_EQ(out.headers.value("tracestate"), "dd=s:1;p:3333333333333333;t.dm:-0,foo=1");
  EXPECT_EQ(out.headers.value("x-b3-traceid"), "11111111111111112222222222222222");
  EXPECT_EQ(out.headers.value("b3"), "11111111111111112222222222222222-3333333333333333-1");
  EXPECT_EQ(out.headers.value("baggage"), "foo=bar");
  EXPECT_EQ(out.headers.size(), 11u);
}

TEST(PropagationInject, OnlyHeadersTheStylesOwnAreWritten) {
  for (const auto* style_text :
       {"datadog", "tracecontext", "b3", "b3multi", "b3single", "baggage", "datadog,tracecontext,baggage"}) {
    const std::pmr::vector<Tag> baggage{{"k", "v"}};
    Injected out;
    const auto configured = styles(style_text);
    NoDefaultResource guard;
    ViewRecorder recorder;
    inject({.trace_id = {1, 2}, .span_id = 3, .sampling_priority = 1, .origin = "rum", .baggage = baggage},
           configured, recorder, &out.memory, &out.span_tags);
    EXPECT_FALSE(recorder.entries.empty()) << style_text;
    for (const auto& [name, value] : recorder.entries) {
      EXPECT_TRUE(owned_by_any(configured, name)) << style_text << " wrote " << name;
    }
  }
}

TEST(PropagationInject, ValuesLiveInTheMemoryResourceNotInTemporaries) {
  Injected out;
  ViewRecorder recorder;
  const std::pmr::vector<Tag> baggage{{"k", "v"}};
  {
    std::string origin = "synthetics";
    const auto configured = styles("datadog,tracecontext,b3,b3single,baggage");
    inject({.trace_id = {1, 2}, .span_id = 3, .sampling_priority = 1, .origin = origin, .baggage = baggage},
           configured, recorder, &out.memory, &out.span_tags);
    origin.assign(origin.size(), '#');  // the caller's buffer changes after the call
  }
  for (const auto& [name, value] : recorder.entries) {
    EXPECT_EQ(value.find('#'), std::string_view::npos) << name;
    if (name == "x-datadog-origin") {
      EXPECT_EQ(value, "synthetics");
    }
  }
}

TEST(PropagationInject, NoTraceMeansNoTraceHeadersButBaggageStillGoes) {
  const std::pmr::vector<Tag> baggage{{"k", "v"}};
  Injected out;
  inject_into(out, {.trace_id = {}, .span_id = 3, .sampling_priority = 1, .baggage = baggage},
              "datadog,tracecontext,b3,baggage");
  EXPECT_EQ(out.headers.size(), 1u);
  EXPECT_EQ(out.headers.value("baggage"), "k=v");
  Injected no_span;
  inject_into(no_span, {.trace_id = {0, 1}, .span_id = 0, .sampling_priority = 1}, "datadog,tracecontext");
  EXPECT_EQ(no_span.headers.size(), 0u);
}

TEST(PropagationInject, InjectedHeadersReplaceClientSentOnes) {
  Injected out;
  out.headers.add("traceparent", "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-01");
  out.headers.add("tracestate", "evil=1");
  inject_into(out, {.trace_id = {0, 1}, .span_id = 2, .sampling_priority = 0}, "tracecontext");
  EXPECT_EQ(out.headers.size(), 2u);
  EXPECT_EQ(out.headers.value("traceparent"), "00-00000000000000000000000000000001-0000000000000002-00");
  EXPECT_EQ(out.headers.value("tracestate"), "dd=s:0;p:0000000000000002");
}

TEST(PropagationInject, NullSpanTagsIsAllowed) {
  std::pmr::monotonic_buffer_resource memory;
  TestHeaders headers;
  const std::pmr::vector<Tag> tags{{"_dd.p.a", std::string(600, 'x')}};
  inject({.trace_id = {0, 1}, .span_id = 2, .sampling_priority = 1, .trace_tags = tags}, styles("datadog"),
         headers, &memory, nullptr);
  EXPECT_FALSE(headers.has("x-datadog-tags"));
}
