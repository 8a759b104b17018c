// A trace sampling rule: which local root spans it covers (glob patterns on
// service, name, resource and tags) and the rate it samples them at. Rules
// come from DD_TRACE_SAMPLING_RULES (sampler_config.hpp), DD_TRACE_SAMPLE_RATE
// (a catch-all) and each `datadog_sample_rate` directive (for_tag below).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "trace/sampled_span.hpp"

namespace datadog::trace {

// One field's pattern, classified once at configuration time so that the
// common cases ("*", a plain name) cost no glob walk per request.
class Pattern {
 public:
  // `*` and `?` wildcards, ASCII case ignored (dd-trace-cpp's glob).
  static Pattern glob(std::string text);
  // Byte-for-byte equality: for values the module generates itself, where a
  // `*` or `?` (say, in a file path) must not act as a wildcard.
  static Pattern exact(std::string text);
  static Pattern any() { return glob("*"); }

  bool matches(std::string_view subject) const;
  const std::string& text() const { return text_; }
  bool is_exact() const { return kind_ == Kind::exact; }

 private:
  enum class Kind { any, caseless_equal, wildcard, exact };
  Pattern(std::string text, Kind kind) : text_(std::move(text)), kind_(kind) {}

  std::string text_;
  Kind kind_;
};

struct TagPattern {
  std::string key;  // compared exactly
  Pattern value;
};

struct SamplingRule {
  Pattern service = Pattern::any();
  Pattern name = Pattern::any();
  Pattern resource = Pattern::any();
  std::vector<TagPattern> tags;  // every one must be present on the span and match
  double sample_rate = 1.0;      // in [0, 1]

  bool matches(const SampledSpan& span) const;

  // A rule that matches exactly the spans whose tag `key` equals `value`:
  // the shape of a `datadog_sample_rate` directive (see trace_sampler.hpp).
  static SamplingRule for_tag(std::string key, std::string value, double sample_rate);
  // A rule that matches every span: DD_TRACE_SAMPLE_RATE.
  static SamplingRule catch_all(double sample_rate);
};

}  // namespace datadog::trace
