// Header names an application behind nginx receives as the same variable.
#include "trace/header_name.hpp"

#include <gtest/gtest.h>

using datadog::trace::same_cgi_variable;

TEST(SameCgiVariable, UnderscoreAndDashAreTheSameCharacter) {
  EXPECT_TRUE(same_cgi_variable("x_datadog_trace_id", "x-datadog-trace-id"));
  EXPECT_TRUE(same_cgi_variable("x-datadog_trace-id", "x-datadog-trace-id"));
  EXPECT_TRUE(same_cgi_variable("x-datadog-trace-id", "x_datadog_trace_id"));
  EXPECT_TRUE(same_cgi_variable("traceparent", "traceparent"));
  EXPECT_TRUE(same_cgi_variable("", ""));
}

TEST(SameCgiVariable, AnyOtherDifferenceSeparatesThem) {
  EXPECT_FALSE(same_cgi_variable("x_datadog_trace_idx", "x-datadog-trace-id"));
  EXPECT_FALSE(same_cgi_variable("x_datadog_trace_i", "x-datadog-trace-id"));
  EXPECT_FALSE(same_cgi_variable("x.datadog.trace.id", "x-datadog-trace-id"));
  EXPECT_FALSE(same_cgi_variable("xdatadogtraceid", "x-datadog-trace-id"));
  EXPECT_FALSE(same_cgi_variable("trace_parent", "traceparent"));
  // Names nginx hands over are lowercase: letter case is not folded here.
  EXPECT_FALSE(same_cgi_variable("X_datadog_trace_id", "x-datadog-trace-id"));
}
