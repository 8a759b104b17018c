// Rule matching and the keep decision of single-span sampling; see span_sampler.hpp.
#include "trace/span_sampler.hpp"

#include "trace/knuth_sampling.hpp"

namespace datadog::trace {

SpanSampler::SpanSampler(const std::vector<SpanSamplingRule>& rules) {
  rules_.reserve(rules.size());
  for (const auto& rule : rules) {
    Rule entry{rule, std::nullopt};
    if (rule.max_per_second) entry.limiter.emplace(*rule.max_per_second);
    if (!rule.match.tags.empty()) reads_tags_ = true;
    rules_.push_back(std::move(entry));
  }
}

std::optional<SpanSampler::Keep> SpanSampler::keep(const SampledSpan& span, SpanId span_id,
                                                   RateLimiter::Clock::time_point now) {
  for (auto& rule : rules_) {
    if (!rule.config.match.matches(span)) continue;
    // The span id, not the trace id: spans of one trace are decided apart.
    if (!knuth_keep(span_id, rule.config.match.sample_rate)) return std::nullopt;
    if (rule.limiter && !rule.limiter->allow(now).allowed) return std::nullopt;
    return Keep{rule.config.match.sample_rate, rule.config.max_per_second};
  }
  return std::nullopt;
}

}  // namespace datadog::trace
