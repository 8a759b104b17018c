// The order matters: extraction decides the trace id, the trace id feeds the
// sampling hash, and injection carries the decision upstream.
#include "module/span_starter.hpp"

#include <algorithm>
#include <chrono>
#include <new>

#include "module/location_conf.hpp"
#include "module/main_conf.hpp"
#include "module/pool_resource.hpp"
#include "module/request_headers.hpp"
#include "module/sample_rate_directive.hpp"
#include "module/server_conf.hpp"
#include "module/span_names.hpp"
#include "module/str_view.hpp"
#include "module/worker.hpp"
#include "trace/baggage.hpp"

extern ngx_module_t ngx_http_datadog_module;

namespace datadog::module {
namespace {

using trace::Tag;
using TagList = std::pmr::vector<Tag>;

template <typename T, typename... Args>
T* pool_new(ngx_pool_t* pool, Args&&... args) {
  void* memory = ngx_palloc(pool, sizeof(T));
  if (memory == nullptr) throw std::bad_alloc();
  return new (memory) T(std::forward<Args>(args)...);
}

// Baggage items as `baggage.<key>` span tags: the keys of the nearest
// datadog_baggage_tags_keys ("*" alone: every item), else Datadog's defaults.
void add_baggage_tags(const LocationConf& conf, const trace::ExtractedContext& extracted, TagList& tags) {
  static constexpr std::string_view default_keys[] = {"user.id", "session.id", "account.id"};
  std::string_view keys_buffer[16];
  std::span<const std::string_view> keys = default_keys;
  bool all = false;
  if (conf.baggage_tag_keys != nullptr) {
    const auto* configured = static_cast<const ngx_str_t*>(conf.baggage_tag_keys->elts);
    const std::size_t n = std::min<std::size_t>(conf.baggage_tag_keys->nelts, std::size(keys_buffer));
    for (std::size_t i = 0; i < n; ++i) keys_buffer[i] = to_string_view(configured[i]);
    keys = std::span<const std::string_view>(keys_buffer, n);
    all = n == 1 && keys[0] == "*";
  }
  trace::add_baggage_span_tags(extracted.baggage, keys, all, tags);
}

void set_decision_maker(TagList& tags, std::string_view value) {
  std::erase_if(tags, [](const Tag& tag) { return tag.key == "_dd.p.dm"; });
  if (!value.empty()) tags.emplace_back("_dd.p.dm", value);
}

trace::SamplingDecision sample(ngx_http_request_t* r, RequestContext& ctx, const LocationConf& conf,
                               Worker& worker) {
  ctx.sample_rate_source = applicable_sample_rate_source(r, conf.sample_rates);
  const trace::Meta tag{"nginx.sample_rate_source", to_string_view(ctx.sample_rate_source)};
  trace::SampledSpan sampled;
  sampled.service = to_string_view(conf.service_name);
  sampled.env = to_string_view(conf.environment);
  sampled.name = operation_name(r, conf);
  // Only rules look at the resource: skip building it when there are none.
  if (!worker.sampler().rules().empty()) sampled.resource = resource_name(r, conf);
  if (ctx.sample_rate_source.len != 0) sampled.tags = std::span<const trace::Meta>(&tag, 1);
  const auto now = trace::TraceSampler::Clock::time_point(std::chrono::milliseconds(ngx_current_msec));
  return worker.sampler().decide(sampled, ctx.trace_id, now);
}

// Replaces whatever propagation headers the request has with ours, naming the
// active span as the upstream's parent.
void inject_headers(ngx_http_request_t* r, RequestContext& ctx, const MainConf& main) {
  if (remove_request_headers(r, main.propagation_header_names, main.underscore_header_names) != NGX_OK)
    throw std::bad_alloc();
  if (main.inject_styles.empty()) return;
  trace::OutgoingContext outgoing;
  outgoing.trace_id = ctx.trace_id;
  outgoing.span_id = ctx.active_span_id();
  outgoing.sampling_priority = ctx.sampling.priority;
  outgoing.origin = ctx.origin;
  outgoing.trace_tags = *ctx.trace_tags;
  if (ctx.extracted != nullptr) {
    outgoing.tracestate_others = ctx.extracted->tracestate_others;
    outgoing.baggage = ctx.extracted->baggage;
  }
  RequestHeaderWriter writer(r);
  trace::inject(outgoing, main.inject_styles, writer, ctx.memory, ctx.span_tags, main.propagation_limits);
  if (writer.failed()) throw std::bad_alloc();
}

void start(ngx_http_request_t* r, RequestContext& ctx, Worker& worker, Propagation propagation) {
  const LocationConf& conf =
      *static_cast<LocationConf*>(ngx_http_get_module_loc_conf(r, ngx_http_datadog_module));
  const MainConf& main = *static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_datadog_module));
  auto* memory = pool_new<PoolResource>(r->pool, r->pool);
  ctx.memory = memory;
  ctx.trace_tags = pool_new<TagList>(r->pool, memory);
  // A trace nginx samples gets _dd.p.dm, and most carry nothing else: room
  // for it and a few propagated tags in one step.
  ctx.trace_tags->reserve(4);
  ctx.span_tags = pool_new<TagList>(r->pool, memory);

  trace::ExtractedContext* extracted = nullptr;
  if (conf.trust_incoming_span && !main.extract_styles.empty()) {
    const RequestHeaderReader reader(r);
    extracted = pool_new<trace::ExtractedContext>(
        r->pool, trace::extract(reader, main.extract_styles, memory, main.propagation_limits));
    if (!extracted->diagnostics.empty()) {
      ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0, "datadog: ignored trace context: %*s",
                     extracted->diagnostics.size(), extracted->diagnostics.data());
    }
  }

  const bool continues = extracted != nullptr && !extracted->trace_id.is_zero();
  if (continues) {
    ctx.trace_id = extracted->trace_id;
    ctx.parent_id = extracted->parent_id;
    ctx.origin = extracted->origin;
    for (const Tag& tag : extracted->trace_tags) ctx.trace_tags->push_back(tag);
  } else {
    ctx.trace_id = worker.ids().new_trace_id(static_cast<std::uint32_t>(ctx.start_wall_ns / 1'000'000'000));
    if (!main.trace_id_128bit) ctx.trace_id.high = 0;  // DD_TRACE_128_BIT_TRACEID_GENERATION_ENABLED=false
    ctx.parent_id = 0;
  }
  if (extracted != nullptr) {
    for (const Tag& tag : extracted->span_tags) ctx.span_tags->push_back(tag);
    if (conf.baggage_tags_enabled && !extracted->baggage.empty())
      add_baggage_tags(conf, *extracted, *ctx.span_tags);
  }
  ctx.span_id = worker.ids().new_span_id();

  if (extracted != nullptr && extracted->sampling_priority) {
    // The caller already decided: keep its priority and its _dd.p.dm.
    ctx.sampling = trace::SamplingDecision{};
    ctx.sampling.priority = *extracted->sampling_priority;
    ctx.sampling.agent_rate.reset();
  } else {
    ctx.sampling = sample(r, ctx, conf, worker);
    set_decision_maker(*ctx.trace_tags, ctx.sampling.decision_maker_text());
  }

  ctx.extracted = extracted;
  // Nothing to forward to in this server: the headers would never be read.
  if (propagation == Propagation::skip || !server_may_forward(r)) return;
  inject_headers(r, ctx, main);
}

}  // namespace

void start_request_span(ngx_http_request_t* r, RequestContext& ctx, Propagation propagation) noexcept {
  Worker* worker = Worker::get();
  if (worker == nullptr) return;
  try {
    start(r, ctx, *worker, propagation);
    ctx.span_started = true;
  } catch (...) {
    // Only an exhausted pool gets here: the request goes on untraced.
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "datadog: out of memory starting the request's span");
  }
}

void start_location_span(ngx_http_request_t* r, RequestContext& ctx) noexcept {
  Worker* worker = Worker::get();
  if (worker == nullptr || !ctx.span_started || ctx.location_span_count == RequestContext::max_location_spans)
    return;
  const LocationConf& conf =
      *static_cast<LocationConf*>(ngx_http_get_module_loc_conf(r, ngx_http_datadog_module));
  const MainConf& main = *static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_datadog_module));
  auto* core = static_cast<ngx_http_core_loc_conf_t*>(ngx_http_get_module_loc_conf(r, ngx_http_core_module));
  try {
    if (ctx.location_spans == nullptr) {
      void* memory = ngx_pcalloc(r->pool, sizeof(LocationSpan) * RequestContext::max_location_spans);
      if (memory == nullptr) throw std::bad_alloc();
      ctx.location_spans = static_cast<LocationSpan*>(memory);
    }
    const std::int64_t now = monotonic_ns();
    if (ctx.location_span_count != 0) ctx.location_spans[ctx.location_span_count - 1].end_monotonic_ns = now;
    LocationSpan& span = ctx.location_spans[ctx.location_span_count++];
    span.span_id = worker->ids().new_span_id();
    span.parent_id = ctx.span_id;
    span.start_monotonic_ns = now;
    span.start_wall_ns = wall_clock_ns();
    span.name = location_operation_name(r, conf);
    span.resource = location_resource_name(r, conf);
    span.location = to_string_view(core->name);
    inject_headers(r, ctx, main);
  } catch (...) {
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "datadog: out of memory starting a location span");
  }
}

}  // namespace datadog::module
