// The glue of single-span sampling (trace/span_sampler.hpp): nginx's clock and
// the request pool.
#include "module/span_sampling.hpp"

#include <chrono>

namespace datadog::module {

void sample_single_spans(ngx_http_request_t* r, std::span<trace::SpanRecord> spans, int priority,
                         std::string_view env, trace::SpanSampler& sampler) noexcept {
  if (priority > 0 || sampler.empty()) return;
  const auto now = trace::RateLimiter::Clock::time_point(std::chrono::milliseconds(ngx_current_msec));
  for (trace::SpanRecord& span : spans) {
    const trace::SampledSpan sampled{span.service, span.name, span.resource, env, span.meta};
    const auto keep = sampler.keep(sampled, span.span_id, now);
    if (!keep) continue;
    const std::size_t count = span.metrics.size() + (keep->max_per_second ? 3 : 2);
    auto* metrics = static_cast<trace::Metric*>(ngx_palloc(r->pool, count * sizeof(trace::Metric)));
    if (metrics == nullptr) continue;
    std::size_t m = 0;
    for (const auto& metric : span.metrics) metrics[m++] = metric;
    metrics[m++] = {"_dd.span_sampling.mechanism", trace::span_sampling_mechanism};
    metrics[m++] = {"_dd.span_sampling.rule_rate", keep->rule_rate};
    if (keep->max_per_second) metrics[m++] = {"_dd.span_sampling.max_per_second", *keep->max_per_second};
    span.metrics = std::span<const trace::Metric>(metrics, m);
    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "datadog: span %uL of a dropped trace kept by a span sampling rule at rate %.6f",
                   static_cast<std::uint64_t>(span.span_id), keep->rule_rate);
  }
}

}  // namespace datadog::module
