// Single-span sampling at the end of a request: the spans of a dropped trace
// that a DD_SPAN_SAMPLING_RULES rule keeps are marked for the agent.
#pragma once

#include <span>

#include "module/nginx.hpp"
#include "trace/span_record.hpp"
#include "trace/span_sampler.hpp"

namespace datadog::module {

// For a trace whose sampling priority is `priority`: nothing when it is kept
// (> 0) or no rule is configured; else each span a rule keeps gets
// `_dd.span_sampling.mechanism` (8), `_dd.span_sampling.rule_rate` and, for a
// capped rule, `_dd.span_sampling.max_per_second` added to its metrics (a
// copy in the request pool; a span whose copy fails is left as it was).
void sample_single_spans(ngx_http_request_t* r, std::span<trace::SpanRecord> spans, int priority,
                         std::string_view env, trace::SpanSampler& sampler) noexcept;

}  // namespace datadog::module
