// Post-read: note the start time. Rewrite (location known): start the span,
// so the decision and the ids exist before anything is proxied. Log: finish.
#include "module/tracing_handlers.hpp"

#include "module/location_conf.hpp"
#include "module/request_context.hpp"
#include "module/span_finisher.hpp"
#include "module/span_starter.hpp"
#include "module/subrequest_spans.hpp"
#include "module/worker.hpp"

extern ngx_module_t ngx_http_datadog_module;

namespace datadog::module {
namespace {

const LocationConf& location_conf(ngx_http_request_t* r) noexcept {
  return *static_cast<LocationConf*>(ngx_http_get_module_loc_conf(r, ngx_http_datadog_module));
}

ngx_int_t on_post_read(ngx_http_request_t* r) noexcept {
  if (r == r->main && location_conf(r).tracing && find_request_context(r) == nullptr) {
    create_request_context(r);
  }
  return NGX_DECLINED;
}

ngx_int_t on_rewrite(ngx_http_request_t* r) noexcept {
  if (!location_conf(r).tracing) return NGX_DECLINED;
  if (r != r->main) {
    start_subrequest_span(r);
    return NGX_DECLINED;
  }
  RequestContext* ctx = find_request_context(r);
  if (ctx == nullptr) ctx = create_request_context(r);
  if (ctx != nullptr && !ctx->span_started) start_request_span(r, *ctx, Propagation::inject);
  if (ctx != nullptr && location_conf(r).trace_locations) start_location_span(r, *ctx);
  return NGX_DECLINED;
}

ngx_int_t on_log(ngx_http_request_t* r) noexcept {
  if (r != r->main) return NGX_OK;
  RequestContext* ctx = find_request_context(r);
  if (ctx == nullptr || !ctx->span_started) {
    // A request that never reached a location (a bad request, a server-level
    // return) still gets its span when its final configuration traces it.
    if (!location_conf(r).tracing) return NGX_OK;
    if (ctx == nullptr) {
      if ((ctx = create_request_context(r)) == nullptr) return NGX_OK;
      // Created only now: move the start back to when nginx read the request.
      const std::int64_t started_ns =
          (static_cast<std::int64_t>(r->start_sec) * 1000 + static_cast<std::int64_t>(r->start_msec)) *
          1'000'000;
      const std::int64_t elapsed_ns = ctx->start_wall_ns - started_ns;
      ctx->start_wall_ns = started_ns;
      ctx->start_monotonic_ns -= elapsed_ns;
    }
    start_request_span(r, *ctx, Propagation::skip);
  }
  if (ctx->span_started) finish_request_span(r, *ctx);
  return NGX_OK;
}

ngx_int_t add_handler(ngx_http_core_main_conf_t* core, ngx_http_phases phase, ngx_http_handler_pt handler) {
  auto* slot = static_cast<ngx_http_handler_pt*>(ngx_array_push(&core->phases[phase].handlers));
  if (slot == nullptr) return NGX_ERROR;
  *slot = handler;
  return NGX_OK;
}

}  // namespace

ngx_int_t register_tracing_handlers(ngx_conf_t* cf) noexcept {
  auto* core =
      static_cast<ngx_http_core_main_conf_t*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));
  if (add_handler(core, NGX_HTTP_POST_READ_PHASE, on_post_read) != NGX_OK ||
      add_handler(core, NGX_HTTP_REWRITE_PHASE, on_rewrite) != NGX_OK ||
      add_handler(core, NGX_HTTP_LOG_PHASE, on_log) != NGX_OK) {
    return NGX_ERROR;
  }
  return NGX_OK;
}

}  // namespace datadog::module
