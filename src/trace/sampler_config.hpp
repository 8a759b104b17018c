// Trace sampler configuration and its parsers: DD_TRACE_SAMPLING_RULES (JSON),
// DD_TRACE_SAMPLE_RATE and DD_TRACE_RATE_LIMIT (numbers), each returning the
// value or a sentence for `nginx -t`. Configuration time only: these allocate.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trace/sampling_rule.hpp"

namespace datadog::trace {

inline constexpr double default_rate_limit = 100.0;  // traces per second (dd-trace-cpp since 2024)

// A single-span sampling rule (DD_SPAN_SAMPLING_RULES): which spans of a
// dropped trace it keeps anyway (`match`, whose sample_rate applies to the
// span id), and at most how many per second and worker (none: no cap).
struct SpanSamplingRule {
  SamplingRule match;
  std::optional<double> max_per_second;
};

struct SamplerConfig {
  std::vector<SamplingRule> rules;         // tried in order, first match wins
  std::optional<double> sample_rate;       // DD_TRACE_SAMPLE_RATE: a catch-all after every rule
  double rate_limit = default_rate_limit;  // DD_TRACE_RATE_LIMIT: keeps by rules per second, per worker
  // DD_SPAN_SAMPLING_RULES (or the _FILE's contents): tried in order for each
  // span of a dropped trace, first match wins.
  std::vector<SpanSamplingRule> span_rules;
};

struct SamplingRulesParse {
  std::vector<SamplingRule> rules;
  std::string error;  // empty when the text is valid
  bool ok() const { return error.empty(); }
};

// `[{"service": "web", "name": "nginx.*", "resource": "GET /health*",
//    "tags": {"http.method": "G?T"}, "sample_rate": 0.1}, ...]`. Every field
// is optional: a missing pattern matches anything, a missing sample_rate is
// 1.0. Unknown properties are errors (as in dd-trace-cpp). Empty text (or only
// whitespace) means no rules. `source` names the setting in error sentences:
//   DD_TRACE_SAMPLING_RULES: rule 2: "sample_rate" must be a number from 0 to 1, found "abc"
SamplingRulesParse parse_sampling_rules(std::string_view json,
                                        std::string_view source = "DD_TRACE_SAMPLING_RULES");

struct SpanSamplingRulesParse {
  std::vector<SpanSamplingRule> rules;
  std::string error;  // empty when the text is valid
  bool ok() const { return error.empty(); }
};

// The same format with one more optional property, "max_per_second" (a
// number > 0), as dd-trace-cpp and Datadog's documentation have it:
//   [{"service": "nginx", "name": "nginx.location", "sample_rate": 1.0, "max_per_second": 50}]
SpanSamplingRulesParse parse_span_sampling_rules(std::string_view json,
                                                 std::string_view source = "DD_SPAN_SAMPLING_RULES");

struct NumberParse {
  double value = 0;
  std::string error;  // empty when the text is valid
  bool ok() const { return error.empty(); }
};

// A decimal number from 0 to 1 ("0.25", "1", "1e-3"); spaces around it are
// ignored. For DD_TRACE_SAMPLE_RATE and the rate of `datadog_sample_rate`.
NumberParse parse_sample_rate(std::string_view text, std::string_view source = "DD_TRACE_SAMPLE_RATE");

// The value of a `datadog_sample_rate` condition, evaluated per request: "on"
// applies the rate; "off" and "" do not ("" is what a variable that is not
// set gives, such as the header of a request without it, or a `map` without
// a default); anything else does not either, but is a mistake to report.
enum class SampleRateCondition { on, off, invalid };
SampleRateCondition parse_sample_rate_condition(std::string_view value) noexcept;

// A finite decimal number greater than 0 (dd-trace-cpp rejects 0 too).
NumberParse parse_rate_limit(std::string_view text, std::string_view source = "DD_TRACE_RATE_LIMIT");

}  // namespace datadog::trace
