// Pattern classification and rule matching; see sampling_rule.hpp.
#include "trace/sampling_rule.hpp"

#include <algorithm>
#include <utility>

#include "trace/glob.hpp"

namespace datadog::trace {
namespace {

constexpr char fold_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_ignoring_ascii_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return fold_ascii(x) == fold_ascii(y); });
}

}  // namespace

Pattern Pattern::glob(std::string text) {
  Kind kind = Kind::caseless_equal;
  if (!text.empty() && text.find_first_not_of('*') == std::string::npos) {
    kind = Kind::any;
  } else if (text.find_first_of("*?") != std::string::npos) {
    kind = Kind::wildcard;
  }
  return Pattern(std::move(text), kind);
}

Pattern Pattern::exact(std::string text) { return Pattern(std::move(text), Kind::exact); }

bool Pattern::matches(std::string_view subject) const {
  switch (kind_) {
    case Kind::any:
      return true;
    case Kind::caseless_equal:
      return equal_ignoring_ascii_case(text_, subject);
    case Kind::wildcard:
      return glob_match(text_, subject);
    case Kind::exact:
      return text_ == subject;
  }
  return false;
}

bool SamplingRule::matches(const SampledSpan& span) const {
  if (!service.matches(span.service) || !name.matches(span.name) || !resource.matches(span.resource)) {
    return false;
  }
  for (const TagPattern& tag : tags) {
    const auto value = span.tag(tag.key);
    if (!value || !tag.value.matches(*value)) return false;
  }
  return true;
}

SamplingRule SamplingRule::for_tag(std::string key, std::string value, double sample_rate) {
  SamplingRule rule;
  rule.tags.push_back(TagPattern{std::move(key), Pattern::exact(std::move(value))});
  rule.sample_rate = sample_rate;
  return rule;
}

SamplingRule SamplingRule::catch_all(double sample_rate) {
  SamplingRule rule;
  rule.sample_rate = sample_rate;
  return rule;
}

}  // namespace datadog::trace
