// Style lists as datadog_propagation_styles and DD_TRACE_PROPAGATION_STYLE
// spell them, and the headers each style owns.
#include "trace/propagation_style.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using namespace datadog::trace;

namespace {

std::vector<PropagationStyle> parsed(std::string_view text) {
  const auto result = parse_propagation_styles(text);
  EXPECT_TRUE(result.ok()) << text << ": " << result.error;
  return {result.styles.begin(), result.styles.end()};
}

bool owns(PropagationStyle style, std::string_view header) {
  const auto names = propagation_header_names(style);
  return std::find(names.begin(), names.end(), header) != names.end();
}

}  // namespace

TEST(PropagationStyles, CommaSeparatedNamesKeepTheirOrder) {
  EXPECT_EQ(parsed("datadog,tracecontext"),
            (std::vector{PropagationStyle::datadog, PropagationStyle::tracecontext}));
  EXPECT_EQ(parsed("tracecontext,datadog"),
            (std::vector{PropagationStyle::tracecontext, PropagationStyle::datadog}));
}

TEST(PropagationStyles, BlanksAndCommasMixAndCaseDoesNotMatter) {
  EXPECT_EQ(parsed(" Datadog  TRACECONTEXT,\tb3 , baggage "),
            (std::vector{PropagationStyle::datadog, PropagationStyle::tracecontext, PropagationStyle::b3,
                         PropagationStyle::baggage}));
}

TEST(PropagationStyles, B3SingleHeaderIsOneStyleOfThreeWords) {
  EXPECT_EQ(parsed("B3 single header"), (std::vector{PropagationStyle::b3single}));
  EXPECT_EQ(
      parsed("datadog, b3 single header,tracecontext"),
      (std::vector{PropagationStyle::datadog, PropagationStyle::b3single, PropagationStyle::tracecontext}));
  EXPECT_EQ(parsed("b3single b3multi b3"),
            (std::vector{PropagationStyle::b3single, PropagationStyle::b3multi, PropagationStyle::b3}));
}

TEST(PropagationStyles, B3FollowedByOtherWordsIsPlainB3) {
  EXPECT_EQ(parsed("b3 datadog"), (std::vector{PropagationStyle::b3, PropagationStyle::datadog}));
  const auto broken = parse_propagation_styles("b3,single,header");
  EXPECT_EQ(broken.error,
            "unknown propagation style \"single\" (expected datadog, tracecontext, b3, b3multi, \"b3 single "
            "header\", baggage or none)");
}

TEST(PropagationStyles, RepeatedNamesCountOnce) {
  EXPECT_EQ(parsed("datadog,datadog tracecontext DATADOG"),
            (std::vector{PropagationStyle::datadog, PropagationStyle::tracecontext}));
}

TEST(PropagationStyles, NoneAloneMeansNoStyleAndIsIgnoredBesideOthers) {
  EXPECT_TRUE(parsed("none").empty());
  EXPECT_EQ(parsed("none,datadog"), (std::vector{PropagationStyle::datadog}));
}

TEST(PropagationStyles, UnknownNameIsNamedInTheError) {
  const auto result = parse_propagation_styles("datadog,foo");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(
      result.error,
      "unknown propagation style \"foo\" (expected datadog, tracecontext, b3, b3multi, \"b3 single header\", "
      "baggage or none)");
  EXPECT_TRUE(result.styles.empty());
}

TEST(PropagationStyles, EmptyListIsAnError) {
  EXPECT_FALSE(parse_propagation_styles("").ok());
  EXPECT_FALSE(parse_propagation_styles(" , ").ok());
}

TEST(PropagationStyles, DefaultIsDatadogTracecontextBaggage) {
  const auto defaults = default_propagation_styles();
  EXPECT_EQ(
      (std::vector<PropagationStyle>(defaults.begin(), defaults.end())),
      (std::vector{PropagationStyle::datadog, PropagationStyle::tracecontext, PropagationStyle::baggage}));
}

TEST(PropagationStyles, NamesRoundTrip) {
  for (auto style : {PropagationStyle::datadog, PropagationStyle::tracecontext, PropagationStyle::b3,
                     PropagationStyle::b3multi, PropagationStyle::b3single, PropagationStyle::baggage}) {
    EXPECT_EQ(parsed(to_string(style)), (std::vector{style})) << to_string(style);
  }
}

TEST(PropagationStyles, EachStyleOwnsTheHeadersItReadsOrWrites) {
  for (auto name : {"x-datadog-trace-id", "x-datadog-parent-id", "x-datadog-sampling-priority",
                    "x-datadog-origin", "x-datadog-tags"}) {
    EXPECT_TRUE(owns(PropagationStyle::datadog, name)) << name;
  }
  EXPECT_TRUE(owns(PropagationStyle::tracecontext, "traceparent"));
  EXPECT_TRUE(owns(PropagationStyle::tracecontext, "tracestate"));
  for (auto name : {"b3", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "x-b3-flags", "x-b3-parentspanid"}) {
    EXPECT_TRUE(owns(PropagationStyle::b3, name)) << name;
  }
  EXPECT_FALSE(owns(PropagationStyle::b3multi, "b3"));
  EXPECT_TRUE(owns(PropagationStyle::b3multi, "x-b3-traceid"));
  EXPECT_TRUE(owns(PropagationStyle::b3single, "b3"));
  EXPECT_FALSE(owns(PropagationStyle::b3single, "x-b3-traceid"));
  EXPECT_TRUE(owns(PropagationStyle::baggage, "baggage"));
  EXPECT_TRUE(propagation_header_names(PropagationStyle::none).empty());
}
