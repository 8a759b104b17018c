// Single-span sampling: when a trace is dropped, the spans that a
// DD_SPAN_SAMPLING_RULES rule covers may still be kept one by one, each
// marked so the agent keeps it (dd-trace-cpp's span_sampler.cpp). One sampler
// per worker: its limiters are not shared or locked.
#pragma once

#include <optional>
#include <vector>

#include "trace/rate_limiter.hpp"
#include "trace/sampled_span.hpp"
#include "trace/sampler_config.hpp"

namespace datadog::trace {

// `_dd.span_sampling.mechanism`: Datadog's sampling mechanism "span rule".
inline constexpr double span_sampling_mechanism = 8;

class SpanSampler {
 public:
  explicit SpanSampler(const std::vector<SpanSamplingRule>& rules);

  // What a kept span carries as metrics.
  struct Keep {
    double rule_rate;                      // `_dd.span_sampling.rule_rate`
    std::optional<double> max_per_second;  // `_dd.span_sampling.max_per_second`, when the rule caps
  };

  // For a span of a dropped trace: the first rule that matches decides,
  // by the span id's hash at its sample_rate, then by its limiter. nullopt:
  // no rule matches, or the matching one drops the span.
  std::optional<Keep> keep(const SampledSpan& span, SpanId span_id, RateLimiter::Clock::time_point now);

  bool empty() const { return rules_.empty(); }
  // Whether some rule matches on tags (the glue must then show every tag).
  bool reads_tags() const { return reads_tags_; }

 private:
  struct Rule {
    SpanSamplingRule config;
    std::optional<RateLimiter> limiter;
  };
  std::vector<Rule> rules_;
  bool reads_tags_ = false;
};

}  // namespace datadog::trace
