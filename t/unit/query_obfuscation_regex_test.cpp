// The default query-string obfuscation regex against the tracers' own
// (dd-trace-php, dd-trace-go, the Datadog documentation): the same matches on
// queries built from the pieces either regex looks for, and a search whose
// cost does not grow with the square of the query on a run of "eyJ".
#define PCRE2_CODE_UNIT_WIDTH 8
#include "trace/query_obfuscation_regex.hpp"

#include <gtest/gtest.h>
#include <pcre2.h>

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

// As the tracers give it, with nothing changed.
constexpr std::string_view tracers_regex =
    R"re((?i)(?:(?:"|%22)?)(?:(?:old[-_]?|new[-_]?)?p(?:ass)?w(?:or)?d(?:1|2)?|pass(?:[-_]?phrase)?|secret|)re"
    R"re((?:api[-_]?|private[-_]?|public[-_]?|access[-_]?|secret[-_]?|app(?:lication)?[-_]?)key(?:[-_]?id)?|)re"
    R"re(token|consumer[-_]?(?:id|key|secret)|sign(?:ed|ature)?|auth(?:entication|orization)?))re"
    R"re((?:(?:\s|%20)*(?:=|%3D)[^&]+|(?:"|%22)(?:\s|%20)*(?::|%3A)(?:\s|%20)*(?:"|%22)(?:%2[^2]|%[^2]|[^"%])+(?:"|%22))|)re"
    R"re((?:bearer(?:\s|%20)+[a-z0-9._\-]+|token(?::|%3A)[a-z0-9]{13}|gh[opsu]_[0-9a-zA-Z]{36}|)re"
    R"re(ey[I-L](?:[\w=-]|%3D)+\.ey[I-L](?:[\w=-]|%3D)+(?:\.(?:[\w.+/=-]|%3D|%2F|%2B)+)?|)re"
    R"re(-{5}BEGIN(?:[a-z\s]|%20)+PRIVATE(?:\s|%20)KEY-{5}[^\-]+-{5}END(?:[a-z\s]|%20)+PRIVATE(?:\s|%20)KEY(?:-{5})?(?:\n|%0A)?|)re"
    R"re((?:ssh-(?:rsa|dss)|ecdsa-[a-z0-9]+-[a-z0-9]+)(?:\s|%20|%09)+(?:[a-z0-9/.+]|%2F|%5C|%2B){100,}(?:=|%3D)*)re"
    R"re((?:(?:\s|%20|%09)+[a-z0-9._-]+)?))re";

struct Regex {
  explicit Regex(std::string_view pattern) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    code.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_CASELESS,
                             &error, &offset, nullptr));
    data.reset(pcre2_match_data_create(1, nullptr));
    context.reset(pcre2_match_context_create(nullptr));
  }

  // The [start, end) of every match, searching on after each as the module
  // does; {-1, error} last if a search failed.
  std::vector<std::pair<long, long>> matches(std::string_view text) const {
    std::vector<std::pair<long, long>> out;
    std::size_t from = 0;
    while (from <= text.size()) {
      const int rc = pcre2_match(code.get(), reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), from, 0,
                                 data.get(), context.get());
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) {
        out.emplace_back(-1, rc);
        break;
      }
      const PCRE2_SIZE* o = pcre2_get_ovector_pointer(data.get());
      out.emplace_back(static_cast<long>(o[0]), static_cast<long>(o[1]));
      from = o[1] > o[0] ? o[1] : o[1] + 1;
    }
    return out;
  }

  struct CodeFree {
    void operator()(pcre2_code* p) const { pcre2_code_free(p); }
  };
  struct DataFree {
    void operator()(pcre2_match_data* p) const { pcre2_match_data_free(p); }
  };
  struct ContextFree {
    void operator()(pcre2_match_context* p) const { pcre2_match_context_free(p); }
  };
  std::unique_ptr<pcre2_code, CodeFree> code;
  std::unique_ptr<pcre2_match_data, DataFree> data;
  std::unique_ptr<pcre2_match_context, ContextFree> context;
};

// Pieces of what either regex looks for, and of what separates them.
constexpr std::array<std::string_view, 44> pieces = {"eyJ",
                                                     "eyK",
                                                     "eyL",
                                                     ".",
                                                     "a",
                                                     "Z",
                                                     "9",
                                                     "=",
                                                     "-",
                                                     "_",
                                                     "%3D",
                                                     "%2F",
                                                     "%2B",
                                                     "+",
                                                     "/",
                                                     "&",
                                                     "token",
                                                     "password",
                                                     "pass",
                                                     "api_key",
                                                     "secret",
                                                     "sign",
                                                     "auth",
                                                     "%20",
                                                     " ",
                                                     "ghp_",
                                                     "gho_",
                                                     "abcdefghij",
                                                     "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZab",
                                                     "bearer",
                                                     ":",
                                                     "%3A",
                                                     "\"",
                                                     "%22",
                                                     "-----BEGIN",
                                                     "PRIVATE",
                                                     "KEY",
                                                     "-----",
                                                     "END",
                                                     "ssh-rsa",
                                                     "ecdsa-a-b",
                                                     "%09",
                                                     "%0A",
                                                     "\n"};

}  // namespace

TEST(QueryObfuscationRegex, CompilesAndJitCompiles) {
  const Regex ours(datadog::trace::default_query_string_regex);
  ASSERT_NE(ours.code, nullptr);
  EXPECT_EQ(pcre2_jit_compile(ours.code.get(), PCRE2_JIT_COMPLETE), 0);
}

TEST(QueryObfuscationRegex, SameMatchesAsTheTracersRegex) {
  const Regex tracers(tracers_regex);
  const Regex ours(datadog::trace::default_query_string_regex);
  ASSERT_NE(tracers.code, nullptr);
  ASSERT_NE(ours.code, nullptr);
  for (const Regex* regex : {&tracers, &ours}) pcre2_jit_compile(regex->code.get(), PCRE2_JIT_COMPLETE);
  std::mt19937 random(20261202);
  std::size_t with_matches = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string query;
    const std::size_t count = random() % 60;
    for (std::size_t k = 0; k < count; ++k) {
      // "eyJ", "." and letters more often: runs that look like JWTs.
      const std::size_t pick = random() % (pieces.size() + 8);
      query += pick < pieces.size()       ? pieces[pick]
               : pick < pieces.size() + 4 ? "eyJ"
               : pick < pieces.size() + 6 ? "."
                                          : "x";
    }
    const auto expected = tracers.matches(query);
    ASSERT_EQ(ours.matches(query), expected) << query;
    with_matches += expected.empty() ? 0 : 1;
  }
  EXPECT_GT(with_matches, 3000u);  // the inputs exercise the regex
}

TEST(QueryObfuscationRegex, CasesOfEveryAlternative) {
  const Regex ours(datadog::trace::default_query_string_regex);
  using Matches = std::vector<std::pair<long, long>>;
  EXPECT_EQ(ours.matches("q=1&password=x&r=2"), (Matches{{4, 14}}));
  EXPECT_EQ(ours.matches("a=eyJhbGc.eyJzdWI.sig&b=1"), (Matches{{2, 21}}));
  // A key inside a run that starts with "eyJ" is still found.
  EXPECT_EQ(ours.matches("eyJxtoken=abc&b=1"), (Matches{{4, 13}}));
  EXPECT_EQ(ours.matches("x=ghp_0123456789abcdefghij0123456789abcdef"), (Matches{{2, 42}}));
  EXPECT_EQ(ours.matches("eyJnotajwt&q=1"), (Matches{}));
}

// The work of a whole search, counted deterministically: PCRE2's
// interpreter calls an automatic callout at every item of the pattern it
// tries, from every start position. Four times the run, four times the work
// for ours; the tracers' regex does about sixteen times the work.
std::uint64_t steps_to_search(std::string_view pattern, std::string_view text) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_CASELESS | PCRE2_AUTO_CALLOUT, &error, &offset, nullptr);
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  std::uint64_t steps = 0;
  pcre2_set_callout(
      context,
      [](pcre2_callout_block*, void* counter) {
        ++*static_cast<std::uint64_t*>(counter);
        return 0;
      },
      &steps);
  pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0, data, context);
  pcre2_match_context_free(context);
  pcre2_match_data_free(data);
  pcre2_code_free(code);
  return steps;
}

TEST(QueryObfuscationRegex, RunOfEyjIsSearchedInLinearSteps) {
  std::string run;
  while (run.size() < 1024) run += "eyJ";
  const std::string four_times = run + run + run + run;
  const auto ours_ratio =
      static_cast<double>(steps_to_search(datadog::trace::default_query_string_regex, four_times)) /
      static_cast<double>(steps_to_search(datadog::trace::default_query_string_regex, run));
  const auto tracers_ratio = static_cast<double>(steps_to_search(tracers_regex, four_times)) /
                             static_cast<double>(steps_to_search(tracers_regex, run));
  EXPECT_LT(ours_ratio, 5.0) << tracers_ratio;
  EXPECT_GT(tracers_ratio, 12.0);  // the count does show the square
}
