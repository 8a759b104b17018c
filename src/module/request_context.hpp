// What the module remembers about one request, in the request's pool. It must
// survive internal redirects, which wipe nginx's per-module contexts, so it
// is also reachable through a pool cleanup entry.
#pragma once

#include <cstdint>

#include "module/nginx.hpp"
#include "trace/propagation.hpp"
#include "trace/sampling_decision.hpp"
#include "trace/trace_id.hpp"

namespace datadog::module {

// A child of the request span: a location the request went through
// (datadog_trace_locations) or a subrequest it made (subrequest_spans.hpp).
struct ChildSpan {
  trace::SpanId span_id = 0;
  trace::SpanId parent_id = 0;
  std::int64_t start_wall_ns = 0;
  std::int64_t start_monotonic_ns = 0;
  std::int64_t end_monotonic_ns = 0;  // 0 while it runs; then the request's end is used
  ngx_uint_t status = 0;              // subrequests: their response status
  std::string_view name;
  std::string_view resource;
  std::string_view location;
  std::string_view url;       // subrequests: http.url
  ChildSpan* next = nullptr;  // subrequests, in the order started
};
using LocationSpan = ChildSpan;
using SubrequestSpan = ChildSpan;

struct RequestContext {
  bool span_started = false;
  trace::TraceId trace_id;
  trace::SpanId span_id = 0;
  trace::SpanId parent_id = 0;
  trace::SamplingDecision sampling;  // made when the span starts, before proxying
  ngx_str_t sample_rate_source{};    // the datadog_sample_rate that applied, if any
  // In the request pool (null until the span starts): the `_dd.p.*` tags the
  // trace carries (propagated upstream and written on the span), and tags for
  // this span only (`_dd.parent_id`, `_dd.propagation_error`, ...).
  std::pmr::vector<trace::Tag>* trace_tags = nullptr;
  std::pmr::vector<trace::Tag>* span_tags = nullptr;
  std::string_view origin;                             // `_dd.origin`, when the client sent one
  std::pmr::memory_resource* memory = nullptr;         // the request pool, for the cores
  const trace::ExtractedContext* extracted = nullptr;  // what the client sent, if trusted
  // Location spans in the request pool, in the order entered; the last one is
  // the active span (the upstream's parent) while it is open.
  static constexpr std::size_t max_location_spans = 16;
  LocationSpan* location_spans = nullptr;
  std::size_t location_span_count = 0;
  SubrequestSpan* subrequest_spans = nullptr;  // subrequest_spans.hpp, in the order started
  std::size_t subrequest_span_count = 0;

  // The span the upstream's spans are children of.
  trace::SpanId active_span_id() const {
    return location_span_count != 0 ? location_spans[location_span_count - 1].span_id : span_id;
  }
  std::int64_t start_wall_ns = 0;       // since the Unix epoch
  std::int64_t start_monotonic_ns = 0;  // for the duration
};

// The request's context, or null if none was created.
RequestContext* find_request_context(ngx_http_request_t* r) noexcept;
// Creates the context (start times taken now). Null on allocation failure.
RequestContext* create_request_context(ngx_http_request_t* r) noexcept;

std::int64_t wall_clock_ns() noexcept;
std::int64_t monotonic_ns() noexcept;

}  // namespace datadog::module
