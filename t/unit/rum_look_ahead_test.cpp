// The look-ahead's verdict from the first bytes of a body.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "rum/look_ahead.hpp"

using namespace datadog::rum;
using Verdict = LookAhead::Verdict;

namespace {
// Feeds `body` in pieces of `piece` bytes; ends it when `complete`.
LookAhead run(const std::string& body, std::size_t piece, bool complete,
              std::size_t limit = kLookAheadLimit) {
  LookAhead look_ahead(limit);
  for (std::size_t at = 0; at < body.size() && look_ahead.verdict() == Verdict::undecided; at += piece) {
    look_ahead.feed(std::string_view(body).substr(at, piece));
  }
  if (complete) look_ahead.end();
  return look_ahead;
}
}  // namespace

TEST(RumLookAhead, InjectionPointInAnyPiecesMeansInject) {
  const std::string page = "<!doctype html><html><head><title>t</title></head><body></body></html>";
  for (std::size_t piece : {1u, 2u, 3u, 7u, 64u}) {
    EXPECT_EQ(run(page, piece, false).verdict(), Verdict::inject) << piece;
  }
}

TEST(RumLookAhead, WholeBodyWithoutPointMeansNoInjectionPoint) {
  const std::string fragment = "<div id=\"x\"><p>fragment</p></div>";
  EXPECT_EQ(run(fragment, 5, false).verdict(), Verdict::undecided);
  EXPECT_EQ(run(fragment, 5, true).verdict(), Verdict::no_injection_point);
  EXPECT_EQ(run("", 1, true).verdict(), Verdict::no_injection_point);
  EXPECT_EQ(run("<", 1, true).verdict(), Verdict::no_injection_point);
}

TEST(RumLookAhead, NoPointWithinTheLimitMeansSkip) {
  const std::string page = "<html><head><style>" + std::string(200, 'x') + "</style></head>";
  const LookAhead short_limit = run(page, 16, false, 100);
  EXPECT_EQ(short_limit.verdict(), Verdict::skip);
  EXPECT_EQ(short_limit.skip_reason(), SkipReason::look_ahead_exceeded);
  EXPECT_LT(short_limit.seen(), 100u + 16u);
  EXPECT_EQ(run(page, 16, false, 1000).verdict(), Verdict::inject);
}

TEST(RumLookAhead, Utf16And32BodiesAreSkipped) {
  const std::string page = "<html><head></head><body></body></html>";
  std::string le, be;
  for (char c : page) {
    le += c, le += '\0';
    be += '\0', be += c;
  }
  for (const std::string& body :
       {"\xFF\xFE" + le, "\xFE\xFF" + be, le, be, std::string("\0\0\xFE\xFF", 4) + be, "\xFF\xFE\0\0" + le}) {
    for (std::size_t piece : {1u, 3u, 100u}) {
      const LookAhead look_ahead = run(body, piece, true);
      EXPECT_EQ(look_ahead.verdict(), Verdict::skip) << piece;
      EXPECT_EQ(look_ahead.skip_reason(), SkipReason::not_ascii) << piece;
    }
  }
  // A UTF-8 byte order mark is ASCII-compatible.
  EXPECT_EQ(run("\xEF\xBB\xBF" + page, 2, false).verdict(), Verdict::inject);
  // A short body: judged on what there is.
  EXPECT_EQ(run("\xFF\xFE", 1, true).skip_reason(), SkipReason::not_ascii);
  EXPECT_EQ(run("ab", 1, true).verdict(), Verdict::no_injection_point);
}

TEST(RumLookAhead, RejectOverridesAnyVerdict) {
  LookAhead look_ahead = run("<html><head></head>", 4, false);
  ASSERT_EQ(look_ahead.verdict(), Verdict::inject);
  look_ahead.reject(SkipReason::not_compressed);
  EXPECT_EQ(look_ahead.verdict(), Verdict::skip);
  EXPECT_EQ(look_ahead.skip_reason(), SkipReason::not_compressed);
  EXPECT_EQ(look_ahead.feed("<body>"), Verdict::skip);
}

TEST(RumLookAhead, KnownPointReplaysWhereTheScannerFoundIt) {
  const std::string page = "<!doctype html><html><head><title>t</title></head><body></body></html>";
  const LookAhead look_ahead = run(page, 3, false);
  ASSERT_EQ(look_ahead.verdict(), Verdict::inject);
  EXPECT_EQ(look_ahead.point(), page.find("</head>"));
  for (std::size_t piece : {1u, 5u, 64u}) {
    KnownInjectionPoint known(look_ahead.point());
    std::size_t at = 0;
    ScanResult result;
    while (!result.found && at < page.size()) {
      result = known.feed(std::string_view(page).substr(at, piece));
      at += std::min(piece, page.size() - at);
      EXPECT_EQ(known.fed(), at);
      if (!result.found) {
        EXPECT_EQ(result.safe_end, at) << "nothing is held back";
      }
    }
    ASSERT_TRUE(result.found) << piece;
    EXPECT_EQ(result.point, page.find("</head>")) << piece;
    EXPECT_GT(known.fed(), result.point);
    EXPECT_LE(known.fed() - piece, result.point) << "found in the piece that holds it";
  }
}
