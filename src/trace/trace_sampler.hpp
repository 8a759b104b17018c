// The trace sampler: decides, for a trace that starts here, whether to keep
// it and why (PROTOCOLS.md section 4, dd-trace-cpp's TraceSampler):
//
//   1. the first rule that matches the local root span, in the order added;
//   2. else DD_TRACE_SAMPLE_RATE, a catch-all rule;
//      a rule keeps iff the Knuth hash check passes at its rate AND the rate
//      limiter allows (priority 2, else -1; mechanism 3; `_dd.rule_psr`, and
//      `_dd.limit_psr` when the limiter was asked, i.e. the hash passed);
//   3. else the agent's rate for "service:<svc>,env:<env>", then the agent's
//      default ("service:,env:") — mechanism 1 — or, before any agent reply,
//      1.0 with mechanism 0; keep iff the hash check passes (priority 1, else
//      0); `_dd.agent_psr` is the rate used, 1.0 included.
//   `_dd.p.dm` is "-<mechanism>" when kept, absent when dropped.
//
// One instance per nginx worker (the limiter is per worker, so the effective
// cap is DD_TRACE_RATE_LIMIT × worker_processes, as with nginx-datadog). No
// locking, no clock reads: time is passed in. decide() does not allocate.
//
// How the nginx glue uses it:
//   configuration time —
//     SamplerConfig config;
//     for each `datadog_sample_rate <rate> [condition]` directive, in the order
//       location, server, http (deepest first, as nginx-datadog sorts them):
//       config.rules.push_back(SamplingRule::for_tag(
//           "nginx.sample_rate_source", "<conf file>:<line>#<n-th on that line>", rate));
//     then the rules of parse_sampling_rules(DD_TRACE_SAMPLING_RULES), appended
//       (directives first: they only match requests they were meant for, and
//       directives win over DD_* variables; nginx-datadog instead ignores
//       the directives altogether when DD_TRACE_SAMPLING_RULES is set);
//     sampler.add_rule(rule) appends the same way after construction;
//     config.sample_rate = parse_sample_rate(DD_TRACE_SAMPLE_RATE) if set;
//     config.rate_limit = parse_rate_limit(DD_TRACE_RATE_LIMIT) if set;
//     (errors go to ngx_conf_log_error as they are.)
//   worker start — TraceSampler sampler(std::move(config));
//   per request, after extraction —
//     a) an extracted sampling priority is used as it is: do not call decide();
//        `_dd.p.dm` stays as it came in `x-datadog-tags`/tracestate;
//     b) otherwise evaluate the `datadog_sample_rate` conditions of the
//        location, then server, then http level; the first that yields "on"
//        sets the span tag nginx.sample_rate_source to that directive's id
//        (and it stays on the span: users see which directive applied);
//        build SampledSpan{service, name, resource, env, tags} with that tag,
//        call decide(span, trace_id, now) with `now` from nginx's monotonic
//        clock (ngx_current_msec as a steady_clock time point), then set
//        `_sampling_priority_v1`, the three rate metrics that are present, and
//        `_dd.p.dm` from decision_maker_text() (remove it when empty); inject
//        the priority into the outgoing headers.
//   agent reply (the exporter, in the worker) — update_agent_rates(body), or
//     replace_agent_rates(parse.rates) with agent/rate_by_service.hpp's parse
//     when parse.ok() && parse.has_rates.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trace/agent_rates.hpp"
#include "trace/rate_limiter.hpp"
#include "trace/sampled_span.hpp"
#include "trace/sampler_config.hpp"
#include "trace/sampling_decision.hpp"
#include "trace/sampling_rule.hpp"
#include "trace/trace_id.hpp"

namespace datadog::trace {

class TraceSampler {
 public:
  using Clock = std::chrono::steady_clock;

  explicit TraceSampler(SamplerConfig config);

  // Appended after the rules already present; always before the catch-all.
  void add_rule(SamplingRule rule);

  SamplingDecision decide(const SampledSpan& span, TraceId trace_id, Clock::time_point now);

  // The body of the agent's reply to a trace payload; see AgentRates::update.
  // On error the previous rates stay and the sentence is for the log.
  std::optional<std::string> update_agent_rates(std::string_view json_body) {
    return agent_rates_.update(json_body);
  }
  // The same from a reply parsed elsewhere (agent::parse_rate_by_service).
  template <typename KeyRatePairs>
  void replace_agent_rates(const KeyRatePairs& rates_by_key) {
    agent_rates_.replace(rates_by_key);
  }

  const std::vector<SamplingRule>& rules() const { return rules_; }
  const std::optional<double>& catch_all_rate() const { return catch_all_rate_; }
  double rate_limit() const { return limiter_.per_second(); }
  const AgentRates& agent_rates() const { return agent_rates_; }

 private:
  SamplingDecision decide_by_rule(double rate, TraceId trace_id, Clock::time_point now);

  std::vector<SamplingRule> rules_;
  std::optional<double> catch_all_rate_;
  RateLimiter limiter_;
  AgentRates agent_rates_;
};

}  // namespace datadog::trace
