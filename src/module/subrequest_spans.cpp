// A subrequest's own module context points at its SubrequestSpan; the list of
// them hangs off the main request's context.
#include "module/subrequest_spans.hpp"

#include "module/request_context.hpp"
#include "module/span_finisher.hpp"
#include "module/str_view.hpp"
#include "module/worker.hpp"

extern ngx_module_t ngx_http_datadog_module;

namespace datadog::module {
namespace {

ngx_http_output_header_filter_pt next_header_filter;
ngx_http_output_body_filter_pt next_body_filter;

SubrequestSpan* subrequest_span(ngx_http_request_t* r) {
  if (r == r->main) return nullptr;
  return static_cast<SubrequestSpan*>(ngx_http_get_module_ctx(r, ngx_http_datadog_module));
}

ngx_int_t on_header(ngx_http_request_t* r) noexcept {
  if (SubrequestSpan* span = subrequest_span(r)) {
    span->status = r->headers_out.status;
    // A header-only subrequest (auth_request) may send no body at all.
    span->end_monotonic_ns = monotonic_ns();
  }
  return next_header_filter(r);
}

ngx_int_t on_body(ngx_http_request_t* r, ngx_chain_t* in) noexcept {
  if (SubrequestSpan* span = subrequest_span(r)) {
    for (ngx_chain_t* link = in; link != nullptr; link = link->next) {
      if (link->buf->last_in_chain || link->buf->last_buf) span->end_monotonic_ns = monotonic_ns();
    }
  }
  return next_body_filter(r, in);
}

}  // namespace

void start_subrequest_span(ngx_http_request_t* sr) noexcept {
  Worker* worker = Worker::get();
  RequestContext* main = find_request_context(sr->main);
  if (worker == nullptr || main == nullptr || !main->span_started) return;
  if (ngx_http_get_module_ctx(sr, ngx_http_datadog_module) != nullptr) return;  // already started
  auto* span = static_cast<SubrequestSpan*>(ngx_pcalloc(sr->pool, sizeof(SubrequestSpan)));
  const std::size_t resource_size = sr->method_name.len + 1 + sr->uri.len;
  auto* resource = static_cast<u_char*>(ngx_pnalloc(sr->pool, resource_size));
  if (span == nullptr || resource == nullptr) return;
  u_char* end = ngx_cpymem(resource, sr->method_name.data, sr->method_name.len);
  *end++ = ' ';
  ngx_memcpy(end, sr->uri.data, sr->uri.len);
  auto* core = static_cast<ngx_http_core_loc_conf_t*>(ngx_http_get_module_loc_conf(sr, ngx_http_core_module));
  span->span_id = worker->ids().new_span_id();
  // The parent is the span of the request that issued it: a subrequest's
  // span when nested, else the main request's active span.
  SubrequestSpan* parent = sr->parent != nullptr ? subrequest_span(sr->parent) : nullptr;
  span->parent_id = parent != nullptr ? parent->span_id : main->active_span_id();
  span->start_wall_ns = wall_clock_ns();
  span->start_monotonic_ns = monotonic_ns();
  span->name = "nginx.subrequest";
  span->resource = {reinterpret_cast<const char*>(resource), resource_size};
  span->location = to_string_view(core->name);
  // The subrequest's own URI and arguments ($request_uri would be the main
  // request's).
  span->url = span_url(sr, to_string_view(sr->uri), to_string_view(sr->args));
  SubrequestSpan** tail = &main->subrequest_spans;
  while (*tail != nullptr) tail = &(*tail)->next;
  *tail = span;
  ++main->subrequest_span_count;
  ngx_http_set_ctx(sr, span, ngx_http_datadog_module);
}

ngx_int_t register_subrequest_filters(ngx_conf_t*) noexcept {
  next_header_filter = ngx_http_top_header_filter;
  ngx_http_top_header_filter = on_header;
  next_body_filter = ngx_http_top_body_filter;
  ngx_http_top_body_filter = on_body;
  return NGX_OK;
}

}  // namespace datadog::module
