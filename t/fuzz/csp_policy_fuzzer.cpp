// The CSP amendment may only add our source expressions: every policy and
// directive of the input is still there, in order; a directive it rewrites
// keeps its sources and gains only ours (a lone 'none' may give way to them);
// a directive it creates copies the fallback it replaces for its kind of
// request. Nothing it writes holds CR, LF or NUL, and amending the result
// again changes nothing.
//
// Input: lines. 1: the header value; 2: the nonce our script carries ("*" or
// absent: the one find_script_nonce picks); 3: our script's hash; 4: the SDK
// origin; 5: the intake origin; 6: "1" when session replay needs workers.
// Absent lines 3-6 take the values of a default RUM configuration.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "rum/csp_policy.hpp"

using datadog::rum::amend_csp;
using datadog::rum::CspAmendment;
using datadog::rum::CspNeeds;
using datadog::rum::find_script_nonce;

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

char fold(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return fold(x) == fold(y); });
}

std::vector<std::string_view> tokens(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (true) {
    while (i < text.size() && is_space(text[i])) ++i;
    if (i == text.size()) return out;
    const std::size_t begin = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    out.push_back(text.substr(begin, i - begin));
  }
}

struct Directive {
  std::string_view text;
  std::string_view name;
  std::vector<std::string_view> sources;
};

// A policy's non-empty directives, in order, as CSP3 splits them.
std::vector<Directive> directives(std::string_view policy) {
  std::vector<Directive> out;
  for (const std::string_view piece : split(policy, ';')) {
    std::vector<std::string_view> words = tokens(piece);
    if (words.empty()) continue;
    const auto text_begin = words.front().data();
    const auto text_end = words.back().data() + words.back().size();
    Directive directive{{text_begin, static_cast<std::size_t>(text_end - text_begin)}, words.front(), {}};
    directive.sources.assign(words.begin() + 1, words.end());
    out.push_back(std::move(directive));
  }
  return out;
}

bool is_lone_none(const std::vector<std::string_view>& sources) {
  bool none = false;
  for (const auto source : sources) {
    if (iequals(source, "'none'")) {
      none = true;
    } else if (!iequals(source, "'report-sample'")) {
      return false;
    }
  }
  return none;
}

// Whether `after` is `kept` followed by sources of ours: at least
// `min_added`, at most two (a directive gains the hash and the SDK origin at
// most; the same text twice only when a fuzzed configuration gives two needs
// the same text).
bool grown_by_ours(const std::vector<std::string_view>& kept, const std::vector<std::string_view>& after,
                   const std::vector<std::string_view>& ours, std::size_t min_added) {
  if (after.size() < kept.size() + min_added || after.size() > kept.size() + 2 ||
      !std::equal(kept.begin(), kept.end(), after.begin())) {
    return false;
  }
  return std::all_of(after.begin() + static_cast<std::ptrdiff_t>(kept.size()), after.end(),
                     [&](auto added) { return std::find(ours.begin(), ours.end(), added) != ours.end(); });
}

// `after` is `before` followed by sources of ours; a lone 'none' may give way
// to at least one of them.
void check_grown(const std::vector<std::string_view>& before, const std::vector<std::string_view>& after,
                 const std::vector<std::string_view>& ours, bool must_grow) {
  if (grown_by_ours(before, after, ours, must_grow ? 1 : 0)) return;
  FUZZ_CHECK(is_lone_none(before));
  std::vector<std::string_view> kept;
  for (const auto source : before) {
    if (!iequals(source, "'none'")) kept.push_back(source);
  }
  FUZZ_CHECK(grown_by_ours(kept, after, ours, 1));
}

const Directive* first_named(const std::vector<Directive>& policy, std::string_view name) {
  for (const auto& directive : policy) {
    if (iequals(directive.name, name)) return &directive;
  }
  return nullptr;
}

// The fallbacks a new directive may copy: the one a browser reads for that
// kind of request while the new directive is absent.
std::vector<std::string_view> fallbacks_of(std::string_view name) {
  if (name == "script-src") return {"default-src"};
  if (name == "connect-src") return {"default-src"};
  if (name == "worker-src") return {"child-src", "script-src", "default-src"};
  return {};
}

void check_policy(std::string_view before_text, std::string_view after_text,
                  const std::vector<std::string_view>& ours) {
  if (before_text == after_text) return;
  const std::vector<Directive> before = directives(before_text);
  const std::vector<Directive> after = directives(after_text);
  FUZZ_CHECK(after.size() >= before.size() && after.size() <= before.size() + 3);
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (after[i].text == before[i].text) continue;
    FUZZ_CHECK(after[i].name == before[i].name);
    check_grown(before[i].sources, after[i].sources, ours, /*must_grow=*/true);
  }
  for (std::size_t i = before.size(); i < after.size(); ++i) {
    const Directive& added = after[i];
    FUZZ_CHECK(first_named(before, added.name) == nullptr);  // never a duplicate, which browsers ignore
    FUZZ_CHECK(std::count_if(after.begin(), after.end(),
                             [&](const Directive& d) { return iequals(d.name, added.name); }) == 1);
    const Directive* fallback = nullptr;
    for (const std::string_view name : fallbacks_of(added.name)) {
      if ((fallback = first_named(before, name))) break;
    }
    FUZZ_CHECK(fallback != nullptr);
    check_grown(fallback->sources, added.sources, ours, /*must_grow=*/added.name != "worker-src");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string_view> lines = split({reinterpret_cast<const char*>(data), size}, '\n');
  const auto line = [&](std::size_t i, std::string_view otherwise) {
    return i < lines.size() ? lines[i] : otherwise;
  };
  const std::string_view header = lines[0];
  const std::string_view found_nonce = find_script_nonce(header);
  if (!found_nonce.empty()) {
    // A view into the header, of base64 characters only.
    FUZZ_CHECK(found_nonce.data() >= header.data() &&
               found_nonce.data() + found_nonce.size() <= header.data() + header.size());
    for (const char c : found_nonce) {
      FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
                 c == '/' || c == '-' || c == '_' || c == '=');
    }
  }
  const std::string_view nonce_line = line(1, "*");
  const std::string_view our_nonce = nonce_line == "*" ? found_nonce : nonce_line;
  const CspNeeds needs{line(2, "'sha256-dGhlIGhhc2ggb2Ygb3VyIGlubGluZSBsb2FkZXIgc2NyaXB0IQ=='"),
                       line(3, "https://www.datadoghq-browser-agent.com"),
                       line(4, "https://browser-intake-datadoghq.com"), line(5, "1") == "1"};
  const std::vector<std::string_view> ours = {needs.script_hash, needs.sdk_origin, needs.intake_origin,
                                              "blob:"};

  const CspAmendment amendment = amend_csp(header, our_nonce, needs);
  if (!amendment.changed) {
    FUZZ_CHECK(amendment.value.empty());
    return 0;
  }
  const std::string& value = amendment.value;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    FUZZ_CHECK((byte >= 0x20 && byte < 0x7f) || c == '\t');
  }
  const std::vector<std::string_view> policies_before = split(header, ',');
  const std::vector<std::string_view> policies_after = split(value, ',');
  FUZZ_CHECK(policies_before.size() == policies_after.size());
  for (std::size_t i = 0; i < policies_before.size(); ++i) {
    check_policy(policies_before[i], policies_after[i], ours);
  }

  // What was added is what the script needs: nothing more to add.
  const std::string_view nonce_after = nonce_line == "*" ? find_script_nonce(value) : our_nonce;
  FUZZ_CHECK(nonce_after == our_nonce);
  FUZZ_CHECK(!amend_csp(value, nonce_after, needs).changed);
  return 0;
}
