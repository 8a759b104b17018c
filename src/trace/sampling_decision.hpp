// What the trace sampler decided for a local root span, and the numbers the
// span must carry to say why (PROTOCOLS.md section 4).
#pragma once

#include <optional>
#include <string_view>

namespace datadog::trace {

// `_sampling_priority_v1`; > 0 means keep.
namespace priority {
inline constexpr int user_drop = -1;
inline constexpr int auto_drop = 0;
inline constexpr int auto_keep = 1;
inline constexpr int user_keep = 2;
}  // namespace priority

// The `_dd.p.dm` numbers.
namespace mechanism {
inline constexpr int default_rate = 0;  // no agent rate received yet: rate 1.0
inline constexpr int agent_rate = 1;
inline constexpr int rule = 3;  // a sampling rule, DD_TRACE_SAMPLE_RATE or datadog_sample_rate
inline constexpr int manual = 4;
}  // namespace mechanism

struct SamplingDecision {
  int priority = priority::auto_keep;
  int mechanism = mechanism::default_rate;
  std::optional<double> agent_rate;    // metric `_dd.agent_psr` (agent or default mechanism)
  std::optional<double> rule_rate;     // metric `_dd.rule_psr` (rule mechanism)
  std::optional<double> limiter_rate;  // metric `_dd.limit_psr` (only when the limiter was asked)
  // `_dd.p.dm` is "-<decision_maker>" when the trace is kept; when dropped the
  // tag is absent (and removed if it came in with the request).
  std::optional<int> decision_maker;

  bool keep() const { return priority > 0; }

  // The `_dd.p.dm` value ("-3"), or empty when the tag must be absent.
  std::string_view decision_maker_text() const {
    if (!decision_maker) return {};
    switch (*decision_maker) {
      case mechanism::default_rate:
        return "-0";
      case mechanism::agent_rate:
        return "-1";
      case mechanism::rule:
        return "-3";
      case mechanism::manual:
        return "-4";
    }
    return {};
  }
};

// A decision forced by configuration or by the user rather than sampled.
inline SamplingDecision manual_decision(bool keep) {
  SamplingDecision decision;
  decision.priority = keep ? priority::user_keep : priority::user_drop;
  decision.mechanism = mechanism::manual;
  if (keep) decision.decision_maker = mechanism::manual;
  return decision;
}

}  // namespace datadog::trace
