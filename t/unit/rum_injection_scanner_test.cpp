// The RUM injection point scanner: where the snippet goes in hand-written pages,
// and that any way of cutting a body into chunks gives the same bytes out.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rum/injection_scanner.hpp"

using namespace datadog::rum;
using namespace std::literals;

namespace {

constexpr std::string_view kSnippet = "<script>/*rum*/</script>";
// Where a case expects the snippet; a case without it expects none.
constexpr std::string_view kMarker = "{here}";

struct Case {
  const char* name;
  std::string_view page;  // with kMarker at the expected point, if any
};

void PrintTo(const Case& page, std::ostream* out) { *out << page.name; }

struct Expected {
  std::string body;
  std::optional<std::size_t> point;
};

Expected expected_of(std::string_view page) {
  Expected expected{std::string(page), std::nullopt};
  if (const std::size_t at = page.find(kMarker); at != std::string_view::npos) {
    expected.body.erase(at, kMarker.size());
    expected.point = at;
  }
  return expected;
}

bool is_prefix_of_injection_tag(std::string_view held) {
  std::string lower(held);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return "</head"sv.substr(0, lower.size()) == lower || "<body"sv.substr(0, lower.size()) == lower;
}

std::string describe(const std::vector<std::size_t>& cuts) {
  std::string text = "cut at";
  for (std::size_t cut : cuts) text += " " + std::to_string(cut);
  return text;
}

// Plays the body filter: feeds the chunks between `cuts` (sorted offsets, equal
// ones giving empty chunks), emits what the scanner calls final, holds the rest
// back, inserts the snippet at the point and passes the remainder through.
testing::AssertionResult feeds_correctly(const Expected& expected, const std::vector<std::size_t>& cuts) {
  const std::string_view body = expected.body;
  InjectionScanner scanner;
  std::string out;
  std::string held;
  std::uint64_t emitted = 0;  // absolute offset up to which bytes went out
  std::size_t from = 0;
  bool found = false;
  for (std::size_t i = 0; i <= cuts.size() && !found; ++i) {
    const std::size_t to = i < cuts.size() ? cuts[i] : body.size();
    const std::string_view chunk = body.substr(from, to - from);
    from = to;
    const ScanResult result = scanner.feed(chunk);
    held += chunk;
    if (scanner.fed() != to)
      return testing::AssertionFailure() << "fed() " << scanner.fed() << " after " << to;
    if (result.found) {
      if (result.point < emitted || result.point > to) {
        return testing::AssertionFailure() << "point " << result.point << " outside held bytes [" << emitted
                                           << ", " << to << "), " << describe(cuts);
      }
      const std::size_t split = static_cast<std::size_t>(result.point - emitted);
      out += held.substr(0, split);
      out += kSnippet;
      out += held.substr(split);
      out += body.substr(to);
      held.clear();
      found = true;
      const bool head_end = body.substr(static_cast<std::size_t>(result.point), 2) == "</";
      if (result.kind != (head_end ? InjectionPointKind::head_end : InjectionPointKind::body_start)) {
        return testing::AssertionFailure() << "wrong kind at " << result.point << ", " << describe(cuts);
      }
      break;
    }
    if (result.safe_end < emitted || result.safe_end > to) {
      return testing::AssertionFailure() << "safe_end " << result.safe_end << " outside [" << emitted << ", "
                                         << to << "], " << describe(cuts);
    }
    const std::size_t ready = static_cast<std::size_t>(result.safe_end - emitted);
    out += held.substr(0, ready);
    held.erase(0, ready);
    emitted = result.safe_end;
    if (held.size() > kMaxHoldBack) {
      return testing::AssertionFailure() << "holds back " << held.size() << " bytes, " << describe(cuts);
    }
    if (!is_prefix_of_injection_tag(held)) {
      return testing::AssertionFailure()
             << "holds back \"" << held << "\", not a tag prefix, " << describe(cuts);
    }
  }
  out += held;  // end of stream: the held bytes go out as they are

  std::string want = expected.body;
  if (expected.point) want.insert(*expected.point, kSnippet);
  if (found != expected.point.has_value()) {
    return testing::AssertionFailure()
           << (found ? "found a point where none is" : "found no point") << ", " << describe(cuts);
  }
  if (out != want) {
    return testing::AssertionFailure()
           << "output differs, " << describe(cuts) << "\n  got:  " << out.substr(0, 300)
           << "\n  want: " << want.substr(0, 300);
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult feeds_correctly_byte_by_byte(const Expected& expected) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < expected.body.size(); ++i) cuts.push_back(i);
  return feeds_correctly(expected, cuts);
}

const Case kCases[] = {
    // The end of the head.
    {"simple_head", "<html><head><title>x</title>{here}</head><body>hi</body></html>"},
    {"upper_case_head", "<HTML><HEAD><TITLE>x</TITLE>{here}</HEAD><BODY>hi</BODY></HTML>"},
    {"mixed_case_head", "<head>{here}</HeAd>"},
    {"head_end_with_space", "<head><meta charset=utf-8>{here}</head >"},
    {"head_end_with_newline", "<head>{here}</head\n>"},
    {"head_end_with_tab", "<head>{here}</head\t>"},
    {"head_end_with_form_feed", "<head>{here}</head\f>"},
    {"head_end_with_carriage_return", "<head>{here}</head\r\n>"},
    {"head_end_self_closing", "<head>{here}</head/>"},
    {"head_end_with_attribute", "<head>{here}</head class=\"x\">"},
    {"head_end_at_start", "{here}</head>"},
    {"first_of_two_head_ends", "<head>{here}</head></head>"},
    {"header_before_real_head_end", "<head></header><header>x</header>{here}</head>"},
    {"head_end_with_letter_or_digit_is_another_tag", "</heads></head1></head-x></headé>{here}</head>"},
    {"head_end_in_next_line", "<head>\n<meta name=a>\n{here}</head>\n<body>\n"},
    {"head_end_running_into_a_tag_is_one_tag", "<head></head</head>"},  // one end tag named "head</head"
    // Comments.
    {"comment_hides_head_end", "<head><!-- </head> -->{here}</head>"},
    {"comment_hides_body", "<!-- <body> -->{here}<body>"},
    {"empty_comment", "<!-->{here}</head>"},
    {"empty_comment_with_dash", "<!--->{here}</head>"},
    {"comment_closed_with_bang", "<!-- a </head> --!>{here}</head>"},
    {"comment_with_bang_not_closing", "<!-- --!x </head> -->{here}</head>"},
    {"comment_with_lone_dashes", "<!-- - -> -- > </head> --->{here}</head>"},
    {"comment_starting_with_dashes", "<!---- </head> -->{here}</head>"},
    {"comment_with_three_dashes_inside", "<!--x---</head>--->{here}</head>"},
    {"nested_comment_open", "<!--<!-- </head> -->{here}</head>"},
    {"comment_closed_after_bang_dash", "<!-- --!-->{here}</head></head>"},
    {"comment_never_closed", "<!-- </head> <body>"},
    // Other markup declarations and bogus comments.
    {"doctype", "<!DOCTYPE html><html><head>{here}</head>"},
    {"doctype_quoted_greater_than_ends_it", "<!DOCTYPE html SYSTEM \"a>b\">{here}</head>"},
    {"cdata_is_bogus_comment_to_first_greater_than", "<![CDATA[</head>]]>{here}</head>"},
    {"cdata_hides_body", "<![CDATA[ <body ]]>{here}<body>"},
    {"processing_instruction", "<?xml version=\"1.0\"?>{here}</head>"},
    {"processing_instruction_to_first_greater_than", "<?x </head>{here}</head>"},
    {"bang_bogus_comment", "<!x>{here}</head>"},
    {"single_dash_bogus_comment", "<!-x </head>{here}</head>"},
    {"empty_bogus_comment", "<!>{here}</head>"},
    {"end_tag_with_space_is_bogus_comment", "</ head>{here}</head>"},
    {"end_tag_with_digit_is_bogus_comment", "</3 </head>{here}</head>"},
    {"empty_end_tag_is_dropped", "</>{here}</head>"},
    // Raw text and RCDATA elements.
    {"script_hides_head_end", "<script>var s = \"</head>\";</script>{here}</head>"},
    {"script_ends_only_at_its_end_tag", "<script>if (a</scripty>) \"</head>\"</script >{here}</head>"},
    {"upper_case_script",
     "<SCRIPT type=\"text/javascript\">document.write(\"</head>\")</SCRIPT>{here}</head>"},
    {"script_with_src", "<head><script src=\"a.js\"></script>{here}</head>"},
    {"script_self_closing_still_opens_text", "<script/></head><body></script>{here}</head>"},
    {"script_end_tag_with_tab", "<script></head></script\t>{here}</head>"},
    {"script_end_tag_self_closing", "<script>x</script/>{here}</head>"},
    {"script_end_tag_with_quoted_attribute", "<script></script a=\"></head>\">{here}</head>"},
    {"script_containing_comment", "<script><!-- </head> --></script>{here}</head>"},
    {"script_with_less_thans", "<script>a<b<<</</s</sc</script</head>x</script>{here}</head>"},
    {"less_than_before_script_end_tag", "<script><</script>{here}</head>"},
    {"script_end_tag_prefix_before_end_tag", "<script></scrip</script>{here}</head>"},
    {"script_never_closed", "<script></head><body>"},
    {"scripts_is_not_script", "<scripts>{here}</head>"},
    {"style_hides_head_end", "<style>a::after{content:\"</head>\"}</stylex></head></style>{here}</head>"},
    {"textarea_hides_head_end", "<textarea></head><body></textarea>{here}</head>"},
    {"textarea_end_tag_with_attribute", "<textarea></textarea foo=\"></head>\">{here}</head>"},
    {"title_hides_head_end", "<title></head></title>{here}</head>"},
    {"title_hides_script", "<title><script></title>{here}</head>"},
    {"xmp_hides_head_end", "<xmp></head></xmp>{here}</head>"},
    {"iframe_hides_head_end", "<iframe></head></iframe>{here}</head>"},
    {"noembed_hides_head_end", "<noembed></head></noembed>{here}</head>"},
    {"noframes_hides_head_end", "<noframes></head></noframes>{here}</head>"},
    {"noscript_hides_head_end", "<noscript><img src=x></head></noscript>{here}</head>"},
    {"noscript_upper_case", "<NoScript></HEAD></NOSCRIPT>{here}</HEAD>"},
    {"plaintext_hides_everything", "<plaintext></head><body></plaintext>"},
    {"plaintext_upper_case", "<PLAINTEXT class=x></head>"},
    {"plaintextx_is_not_plaintext", "<plaintextx>{here}</head>"},
    // Attributes.
    {"double_quoted_head_end", "<div title=\"</head>\">{here}</head>"},
    {"single_quoted_greater_than", "<a b='>'>{here}</head>"},
    {"unquoted_value_ends_at_greater_than", "<a title=x</head>{here}</head>"},
    {"quote_inside_unquoted_value", "<a b=c\"d>{here}</head>"},
    {"spaces_around_equals", "<a b =  \"x>y\" c='</head>'>{here}</head>"},
    {"equals_starting_a_name_is_no_value", "<a =\">{here}</head>"},
    {"quote_in_attribute_name", "<a \"b>{here}</head>"},
    {"equals_after_quoted_value_is_a_name", "<a b=\"x\"=\">{here}</head>"},
    {"slash_before_attribute", "<a/b=\">\">{here}</head>"},
    {"slash_after_name_then_equals_is_a_name", "<a b/=\">{here}</head>"},
    {"slash_then_equals_is_a_name", "<a/=\">{here}</head>"},
    {"attribute_without_value", "<input disabled>{here}</head>"},
    {"value_after_valueless_attribute", "<a b c=\"</head>\">{here}</head>"},
    {"end_tag_with_quoted_attribute", "</div class=\">\">{here}</head>"},
    {"body_in_attribute", "<div data-x=\"<body>\">{here}<body>"},
    {"body_in_unquoted_attribute", "<div data-x=<body>{here}<body>"},
    {"head_end_in_script_attribute", "<script data-x=\"</head>\"></script>{here}</head>"},
    {"quoted_value_across_lines", "<a title=\"\n</head>\n\">{here}</head>"},
    // The start of the body.
    {"body_without_head_end", "<html><head><title>x</title>{here}<body class=x>hi</body>"},
    {"bare_body", "{here}<body>"},
    {"upper_case_body", "{here}<BODY\n>"},
    {"body_self_closing", "{here}<body/>"},
    {"bodyx_is_not_body", "<bodyx><body-x><bod>{here}<body>"},
    {"body_before_head_end", "<html>{here}<body></head>"},
    {"head_end_before_body", "<html>{here}</head><body>"},
    {"body_end_tag_is_not_a_point", "</body></html>{here}<body>"},
    // Neither.
    {"neither", "<html><p>hello</p></html>"},
    {"empty", ""},
    {"lone_less_than", "<"},
    {"unfinished_head_end", "</head"},
    {"unfinished_body", "<body"},
    {"unfinished_head_end_prefix", "x</hea"},
    {"head_start_only", "<html><head><title>t</title>"},
    // Text.
    {"byte_order_mark", "\xEF\xBB\xBF<!DOCTYPE html><html><head>{here}</head>"},
    {"less_than_before_non_letter", "1 < 2 <3 <= <>{here}</head>"},
    {"double_less_than", "<<{here}</head>"},
    {"less_than_before_head_end", "a<{here}</head>"},
    {"less_than_before_body", "a<<{here}<body>"},
    {"nul_bytes", "a\0b<\0>\0{here}</head>"sv},
    {"non_ascii_names", "<bódy></heád>{here}</head>"},
    {"realistic_page",
     "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n"
     "  <!-- analytics: inject before </head> -->\n"
     "  <title>Shop &amp; </head> more</title>\n"
     "  <script>window.x = '</head><body>'; if (a < b && c > d) {}</script>\n"
     "  <style>body > p { color: red }</style>\n"
     "  <link rel=stylesheet href=/a.css>\n"
     "{here}</head>\n<body class=\"home\">\n<p>Hello</p>\n</body>\n</html>\n"},
};

class InjectionScannerCase : public testing::TestWithParam<Case> {};

TEST_P(InjectionScannerCase, FindsThePointWhenFedWhole) {
  const Expected expected = expected_of(GetParam().page);
  InjectionScanner scanner;
  const ScanResult result = scanner.feed(expected.body);
  ASSERT_EQ(result.found, expected.point.has_value());
  if (expected.point) {
    EXPECT_EQ(result.point, *expected.point);
  } else {
    EXPECT_LE(scanner.fed() - result.safe_end, kMaxHoldBack);
  }
  EXPECT_TRUE(feeds_correctly(expected, {}));
}

TEST_P(InjectionScannerCase, GivesTheSameBytesWhenSplitAtEveryPoint) {
  const Expected expected = expected_of(GetParam().page);
  for (std::size_t cut = 0; cut <= expected.body.size(); ++cut) {
    ASSERT_TRUE(feeds_correctly(expected, {cut}));
  }
}

TEST_P(InjectionScannerCase, GivesTheSameBytesWhenSplitAtEveryPairOfPoints) {
  const Expected expected = expected_of(GetParam().page);
  for (std::size_t first = 0; first <= expected.body.size(); ++first) {
    for (std::size_t second = first; second <= expected.body.size(); ++second) {
      ASSERT_TRUE(feeds_correctly(expected, {first, second}));
    }
  }
}

TEST_P(InjectionScannerCase, GivesTheSameBytesWhenFedByteByByte) {
  EXPECT_TRUE(feeds_correctly_byte_by_byte(expected_of(GetParam().page)));
}

TEST_P(InjectionScannerCase, GivesTheSameBytesWhenFedInRandomChunksWithEmptyOnes) {
  const Expected expected = expected_of(GetParam().page);
  std::mt19937_64 random(0x5eed);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::size_t> cuts;
    const std::size_t count = std::uniform_int_distribution<std::size_t>(0, 12)(random);
    for (std::size_t i = 0; i < count; ++i) {
      cuts.push_back(std::uniform_int_distribution<std::size_t>(0, expected.body.size())(random));
    }
    std::sort(cuts.begin(), cuts.end());
    ASSERT_TRUE(feeds_correctly(expected, cuts));
  }
}

INSTANTIATE_TEST_SUITE_P(Pages, InjectionScannerCase, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

// Pages of a megabyte: whole, byte by byte, at every cut near where something
// happens (start, the injection point, the end) and at a stride in between.
// Every single cut of a megabyte would be a million full scans.
void check_large_page(const std::string& page) {
  const Expected expected = expected_of(page);
  const std::size_t size = expected.body.size();
  ASSERT_TRUE(feeds_correctly(expected, {}));
  ASSERT_TRUE(feeds_correctly_byte_by_byte(expected));
  std::vector<std::size_t> cuts;
  const std::size_t near = expected.point.value_or(size / 2);
  for (std::size_t cut = 0; cut <= size; ++cut) {
    const bool close = cut < 64 || size - cut < 64 || (cut + 64 > near && cut < near + 64);
    if (close || cut % 4099 == 0) {
      ASSERT_TRUE(feeds_correctly(expected, {cut}));
    }
  }
}

constexpr std::size_t kMegabyte = 1 << 20;

std::string repeated(std::string_view piece, std::size_t size) {
  std::string text;
  while (text.size() < size) text += piece;
  return text;
}

TEST(InjectionScannerLargePage, FindsHeadEndAfterAMegabyteOfText) {
  check_large_page(repeated("lorem ipsum dolor sit amet ", kMegabyte) + "{here}</head><body>");
}

TEST(InjectionScannerLargePage, FindsHeadEndAfterAMegabyteOfLessThans) {
  check_large_page(std::string(kMegabyte, '<') + "{here}</head>");
}

TEST(InjectionScannerLargePage, FindsBodyAfterAMegabyteOfTagPrefixes) {
  check_large_page(repeated("<b>x</h>x<bo>x</he>x<bod>x</hea>x<bodyx>x</headx>x< <<", kMegabyte) +
                   "{here}<body>");
}

TEST(InjectionScannerLargePage, FindsHeadEndAfterAMegabyteComment) {
  check_large_page("<!--" + repeated("- </head> -- <body> --!", kMegabyte) + "-->{here}</head>");
}

TEST(InjectionScannerLargePage, FindsHeadEndAfterAMegabyteOfTags) {
  check_large_page(repeated("<div class=\"a\" data-x='</head>'><a href=/x>y</a></div>\n", kMegabyte) +
                   "{here}</head>");
}

TEST(InjectionScannerLargePage, FindsNothingInAMegabyteWithoutHeadOrBody) {
  check_large_page(repeated("<p>text &amp; more text</p>\n", kMegabyte));
}

// Documents glued from pieces of markup at random: whatever the result of the
// whole feed, every way of cutting must give the same bytes.
TEST(InjectionScannerRandomMarkup, AgreesWithTheWholeFeedAtEveryCut) {
  const std::string_view pieces[] = {
      "<",         "</",         "</head",   "</head>",  "</HEAD ", "<body",    "<body>",      "<BODY/",
      "<b",        "<!--",       "-->",      "--!>",     "-",       "!",        ">",           "\"",
      "'",         "=",          " ",        "\n",       "x",       "<!",       "<?",          "/",
      "<a ",       "<a b=",      "<script>", "</script", "<title>", "</title>", "<plaintext>", "<style x='",
      "<![CDATA[", "<!DOCTYPE ", "h",        "ead",      "ody"};
  std::mt19937_64 random(42);
  for (int round = 0; round < 20000; ++round) {
    std::string body;
    const std::size_t count = std::uniform_int_distribution<std::size_t>(0, 24)(random);
    for (std::size_t i = 0; i < count; ++i) {
      body += pieces[std::uniform_int_distribution<std::size_t>(0, std::size(pieces) - 1)(random)];
    }
    InjectionScanner whole;
    const ScanResult result = whole.feed(body);
    Expected expected{body, std::nullopt};
    if (result.found) expected.point = static_cast<std::size_t>(result.point);
    for (std::size_t cut = 0; cut <= body.size(); ++cut) {
      ASSERT_TRUE(feeds_correctly(expected, {cut})) << body;
    }
    ASSERT_TRUE(feeds_correctly_byte_by_byte(expected)) << body;
  }
}

// What is held back, chunk by chunk.
std::uint64_t held_after(std::string_view body) {
  InjectionScanner scanner;
  const ScanResult result = scanner.feed(body);
  EXPECT_FALSE(result.found) << body;
  return scanner.fed() - result.safe_end;
}

TEST(InjectionScannerHoldBack, HoldsBackOnlyWhatMayStartHeadEndOrBody) {
  EXPECT_EQ(held_after("hello"), 0u);
  EXPECT_EQ(held_after("hello<"), 1u);
  EXPECT_EQ(held_after("hello</"), 2u);
  EXPECT_EQ(held_after("hello</H"), 3u);
  EXPECT_EQ(held_after("hello</hea"), 5u);
  EXPECT_EQ(held_after("hello</head"), 6u);
  EXPECT_EQ(held_after("hello<b"), 2u);
  EXPECT_EQ(held_after("hello<body"), 5u);
  EXPECT_EQ(held_after("<<<"), 1u);
  EXPECT_EQ(held_after("hello<br"), 0u);
  EXPECT_EQ(held_after("hello<h"), 0u);
  EXPECT_EQ(held_after("hello</p"), 0u);
  EXPECT_EQ(held_after("hello</header"), 0u);
  EXPECT_EQ(held_after("hello<bodyx"), 0u);
  EXPECT_EQ(held_after("hello<!"), 0u);
  EXPECT_EQ(held_after("hello<?"), 0u);
  EXPECT_EQ(held_after("hello< "), 0u);
  EXPECT_EQ(held_after("<!-- <b"), 0u);
  EXPECT_EQ(held_after("<!-- </head"), 0u);
  EXPECT_EQ(held_after("<script></h"), 0u);
  EXPECT_EQ(held_after("<script></script"), 0u);
  EXPECT_EQ(held_after("<a href=\"</h"), 0u);
  EXPECT_EQ(held_after("<a href=x<b"), 0u);
  EXPECT_EQ(held_after("<plaintext><b"), 0u);
  EXPECT_EQ(held_after("<a <b"), 0u);
}

TEST(InjectionScannerHoldBack, ReleasesTheHeldBytesOnceTheyCannotBeATag) {
  InjectionScanner scanner;
  EXPECT_EQ(scanner.feed("ab</hea").safe_end, 2u);
  EXPECT_EQ(scanner.feed("").safe_end, 2u);
  EXPECT_EQ(scanner.feed("der>").safe_end, 11u);
}

TEST(InjectionScanner, ReportsThePointOnceFoundAndCountsWhatWasFed) {
  InjectionScanner scanner;
  EXPECT_FALSE(scanner.feed("<head></he").found);
  const ScanResult result = scanner.feed("ad><body>");
  EXPECT_TRUE(result.found);
  EXPECT_EQ(result.kind, InjectionPointKind::head_end);
  EXPECT_EQ(result.point, 6u);
  EXPECT_EQ(scanner.fed(), 19u);
  const ScanResult again = scanner.feed("</head>");
  EXPECT_TRUE(again.found);
  EXPECT_EQ(again.point, 6u);
}

TEST(InjectionScanner, IsSmallAndTriviallyCopyable) {
  static_assert(std::is_trivially_copyable_v<InjectionScanner>);
  EXPECT_LE(sizeof(InjectionScanner), 24u);
  InjectionScanner first;
  first.feed("<html></he");
  InjectionScanner copy = first;
  EXPECT_TRUE(copy.feed("ad>").found);
  EXPECT_TRUE(first.feed("ad>").found);
}

}  // namespace
