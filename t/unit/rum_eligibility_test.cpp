// Which responses may carry the RUM snippet.
#include <gtest/gtest.h>

#include "rum/eligibility.hpp"

using namespace datadog::rum;

namespace {
ResponseFacts html() {
  ResponseFacts facts;
  facts.content_type = "text/html";
  return facts;
}
}  // namespace

TEST(RumEligibility, MediaTypeIsComparedWithoutCaseAndParameters) {
  EXPECT_TRUE(is_html_media_type("text/html"));
  EXPECT_TRUE(is_html_media_type("Text/HTML; charset=utf-8"));
  EXPECT_TRUE(is_html_media_type(" text/html ;charset=utf-8"));
  EXPECT_FALSE(is_html_media_type("text/htmlx"));
  EXPECT_FALSE(is_html_media_type("application/xhtml+xml"));
  EXPECT_FALSE(is_html_media_type("text/plain; x=text/html"));
  EXPECT_FALSE(is_html_media_type(""));
}

TEST(RumEligibility, StatusesWithAPageAreEligible) {
  for (unsigned status : {200u, 201u, 203u, 299u, 400u, 404u, 500u, 503u, 599u}) {
    ResponseFacts facts = html();
    facts.status = status;
    EXPECT_EQ(decide_eligibility(facts), SkipReason::eligible) << status;
  }
  for (unsigned status : {100u, 101u, 204u, 206u, 301u, 302u, 304u, 399u, 600u}) {
    ResponseFacts facts = html();
    facts.status = status;
    EXPECT_EQ(decide_eligibility(facts), SkipReason::status) << status;
  }
}

TEST(RumEligibility, EachSkipReason) {
  ResponseFacts facts = html();
  facts.head_request = true;
  EXPECT_EQ(decide_eligibility(facts), SkipReason::head_request);
  facts = html();
  facts.content_type = "application/json";
  EXPECT_EQ(decide_eligibility(facts), SkipReason::not_html);
  facts = html();
  facts.content_length = 0;
  EXPECT_EQ(decide_eligibility(facts), SkipReason::empty);
  facts = html();
  facts.no_transform = true;
  EXPECT_EQ(decide_eligibility(facts), SkipReason::no_transform);
  facts = html();
  facts.already_injected = true;
  EXPECT_EQ(decide_eligibility(facts), SkipReason::already_done);
  facts = html();
  facts.content_encoding = "br";
  EXPECT_EQ(decide_eligibility(facts), SkipReason::encoding);
  facts.content_encoding = "gzip, br";
  EXPECT_EQ(decide_eligibility(facts), SkipReason::encoding);
  facts.content_encoding = "GZIP";
  EXPECT_EQ(decide_eligibility(facts), SkipReason::eligible);
  EXPECT_EQ(skip_reason_name(SkipReason::no_transform), "no_transform");
}

TEST(RumEligibility, EncodingsTheFilterDecodes) {
  EXPECT_EQ(classify_encoding(""), BodyEncoding::identity);
  EXPECT_EQ(classify_encoding("identity"), BodyEncoding::identity);
  EXPECT_EQ(classify_encoding("gzip"), BodyEncoding::gzip);
  EXPECT_EQ(classify_encoding("x-gzip"), BodyEncoding::gzip);
  EXPECT_EQ(classify_encoding(" Deflate "), BodyEncoding::deflate);
  EXPECT_EQ(classify_encoding("br"), BodyEncoding::unsupported);
  EXPECT_EQ(classify_encoding("zstd"), BodyEncoding::unsupported);
}

TEST(RumEligibility, NoTransformAmongOtherDirectives) {
  EXPECT_TRUE(has_no_transform("no-transform"));
  EXPECT_TRUE(has_no_transform("public, max-age=60, No-Transform"));
  EXPECT_TRUE(has_no_transform("max-age=0,no-transform"));
  EXPECT_FALSE(has_no_transform("no-cache, no-store"));
  EXPECT_FALSE(has_no_transform("x-no-transform"));
  EXPECT_FALSE(has_no_transform(""));
}

TEST(RumEligibility, WideCharsetsAreNotAsciiCompatible) {
  for (const char* type :
       {"text/html; charset=utf-16", "text/html;charset=UTF-16LE", "text/html; charset=\"utf-32be\"",
        "text/html; q=1; charset=UCS-2", "text/html; charset=utf16"}) {
    EXPECT_FALSE(has_ascii_compatible_charset(type)) << type;
    ResponseFacts facts = html();
    facts.content_type = type;
    EXPECT_EQ(decide_eligibility(facts), SkipReason::not_ascii) << type;
  }
  for (const char* type : {"text/html", "text/html; charset=utf-8", "text/html; charset=ISO-8859-1",
                           "text/html; x=utf-16", "text/html; charset=", "text/html;;"}) {
    EXPECT_TRUE(has_ascii_compatible_charset(type)) << type;
  }
}

TEST(RumEligibility, RangeRequestsNginxAnswersAreSkipped) {
  ResponseFacts facts = html();
  facts.range_request = true;
  EXPECT_EQ(decide_eligibility(facts), SkipReason::range);
  EXPECT_EQ(skip_reason_name(SkipReason::range), "range");
  EXPECT_EQ(skip_reason_name(SkipReason::look_ahead_exceeded), "look_ahead_exceeded");
  EXPECT_EQ(skip_reason_name(SkipReason::not_compressed), "not_compressed");
  EXPECT_EQ(skip_reason_name(SkipReason::not_ascii), "not_ascii");
}
