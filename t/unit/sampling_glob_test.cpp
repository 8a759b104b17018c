// Glob patterns of sampling rules: `*`, `?`, ASCII case ignored, and the
// pattern kinds a rule precomputes.
#include <gtest/gtest.h>

#include "trace/glob.hpp"
#include "trace/sampling_rule.hpp"

using datadog::trace::glob_match;
using datadog::trace::Pattern;

namespace {

struct GlobCase {
  const char* pattern;
  const char* subject;
  bool matches;
};

}  // namespace

TEST(SamplingGlob, ReferenceCasesFromDdTraceCpp) {
  // dd-trace-cpp test/test_glob.cpp, itself taken from
  // DataDog/tag-matching-sampling-rules glob.mjs.
  const GlobCase cases[] = {
      {"foo", "foo", true},
      {"foo.*", "foo.you", true},
      {"foo.*", "snafoo.", false},
      {"hi*there", "hithere", true},
      {"*stuff", "lots of stuff", true},
      {"*stuff", "stuff to think about", false},
      {"*a*a*a*a*a*a", "aaaaaaaaaaaaaaaaaaaaaaaaaax", false},
      {"*a*a*a*a*a*a", "aaaaaaaarrrrrrraaaraaarararaarararaarararaaa", true},
      {"aok*", "aok**", true},
      {"mysql??", "mysql01", true},
      {"mysql??", "mysql1x", true},
      {"n?-ingress-*", "ny-ingress-backup", true},
      {"n?-ingress-*", "nj-ingress-leader", true},
      {"n?-ingress-*", "nj-ingress", false},
      {"", "", true},
      {"", "a", false},
      {"*", "", true},
      {"?", "", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(glob_match(c.pattern, c.subject), c.matches) << c.pattern << " vs " << c.subject;
  }
}

TEST(SamplingGlob, StarMatchesAnyRunIncludingNone) {
  EXPECT_TRUE(glob_match("GET /api/*", "GET /api/"));
  EXPECT_TRUE(glob_match("GET /api/*", "GET /api/v1/users"));
  EXPECT_TRUE(glob_match("*/health", "GET /health"));
  EXPECT_TRUE(glob_match("**", "anything"));
  EXPECT_FALSE(glob_match("GET /api/*", "POST /api/x"));
}

TEST(SamplingGlob, QuestionMarkMatchesExactlyOneByte) {
  EXPECT_TRUE(glob_match("G?T", "GET"));
  EXPECT_FALSE(glob_match("G?T", "GT"));
  EXPECT_FALSE(glob_match("G?T", "GEET"));
  EXPECT_TRUE(glob_match("?*", "x"));
  EXPECT_FALSE(glob_match("?*", ""));
}

TEST(SamplingGlob, AsciiCaseIsIgnoredLikeDdTraceCpp) {
  EXPECT_TRUE(glob_match("NGINX.*", "nginx.request"));
  EXPECT_TRUE(glob_match("get /Health", "GET /health"));
  EXPECT_TRUE(glob_match("W?B", "web"));
  // Only ASCII folds: bytes of other encodings compare as they are.
  EXPECT_FALSE(glob_match("\xc3\x89t\xc3\xa9", "\xc3\xa9t\xc3\xa9"));
}

TEST(SamplingGlob, BacktrackingStaysCheapOnHostileInput) {
  const std::string subject(10000, 'a');
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*b", subject));
}

TEST(SamplingPattern, PlainTextComparesWithoutCase) {
  EXPECT_TRUE(Pattern::glob("Web").matches("web"));
  EXPECT_FALSE(Pattern::glob("web").matches("webs"));
}

TEST(SamplingPattern, StarsAloneMatchEverythingEvenEmpty) {
  EXPECT_TRUE(Pattern::glob("*").matches(""));
  EXPECT_TRUE(Pattern::glob("***").matches("x"));
  EXPECT_TRUE(Pattern::any().matches("whatever"));
}

TEST(SamplingPattern, EmptyPatternMatchesOnlyEmpty) {
  EXPECT_TRUE(Pattern::glob("").matches(""));
  EXPECT_FALSE(Pattern::glob("").matches("x"));
}

TEST(SamplingPattern, ExactTreatsWildcardsAndCaseLiterally) {
  const auto pattern = Pattern::exact("/etc/nginx/sites-*/a?.conf:3#1");
  EXPECT_TRUE(pattern.matches("/etc/nginx/sites-*/a?.conf:3#1"));
  EXPECT_FALSE(pattern.matches("/etc/nginx/sites-on/ab.conf:3#1"));
  EXPECT_FALSE(Pattern::exact("Web").matches("web"));
}
