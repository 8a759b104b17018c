// The per-request sampling decision; see trace_sampler.hpp for the order.
#include "trace/trace_sampler.hpp"

#include <utility>

#include "trace/knuth_sampling.hpp"

namespace datadog::trace {

TraceSampler::TraceSampler(SamplerConfig config)
    : rules_(std::move(config.rules)), catch_all_rate_(config.sample_rate), limiter_(config.rate_limit) {}

void TraceSampler::add_rule(SamplingRule rule) { rules_.push_back(std::move(rule)); }

SamplingDecision TraceSampler::decide_by_rule(double rate, TraceId trace_id, Clock::time_point now) {
  SamplingDecision decision;
  decision.mechanism = mechanism::rule;
  decision.rule_rate = rate;
  decision.priority = priority::user_drop;
  if (knuth_keep(trace_id.low, rate)) {
    const RateLimiter::Result limit = limiter_.allow(now);
    decision.limiter_rate = limit.effective_rate;
    if (limit.allowed) decision.priority = priority::user_keep;
  }
  if (decision.keep()) decision.decision_maker = decision.mechanism;
  return decision;
}

SamplingDecision TraceSampler::decide(const SampledSpan& span, TraceId trace_id, Clock::time_point now) {
  for (const SamplingRule& rule : rules_) {
    if (rule.matches(span)) return decide_by_rule(rule.sample_rate, trace_id, now);
  }
  if (catch_all_rate_) return decide_by_rule(*catch_all_rate_, trace_id, now);

  SamplingDecision decision;
  if (const auto rate = agent_rates_.find(span.service, span.env)) {
    decision.mechanism = mechanism::agent_rate;
    decision.agent_rate = *rate;
  } else {
    decision.mechanism = mechanism::default_rate;
    decision.agent_rate = 1.0;
  }
  decision.priority =
      knuth_keep(trace_id.low, *decision.agent_rate) ? priority::auto_keep : priority::auto_drop;
  if (decision.keep()) decision.decision_maker = decision.mechanism;
  return decision;
}

}  // namespace datadog::trace
