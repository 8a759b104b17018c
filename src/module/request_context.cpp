// Lookup of the request context, including after an internal redirect.
#include "module/request_context.hpp"

#include <time.h>

#include <new>

extern ngx_module_t ngx_http_datadog_module;

namespace datadog::module {
namespace {

// Marks our entry in the pool's cleanup list; the context itself needs no
// cleanup (it is trivially destructible pool memory).
void context_cleanup(void*) noexcept {}

std::int64_t read_clock(clockid_t clock) noexcept {
  timespec now{};
  clock_gettime(clock, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

}  // namespace

std::int64_t wall_clock_ns() noexcept { return read_clock(CLOCK_REALTIME); }
std::int64_t monotonic_ns() noexcept { return read_clock(CLOCK_MONOTONIC); }

RequestContext* find_request_context(ngx_http_request_t* r) noexcept {
  if (auto* ctx = static_cast<RequestContext*>(ngx_http_get_module_ctx(r, ngx_http_datadog_module))) {
    return ctx;
  }
  // After an internal redirect r->ctx is zeroed; the cleanup entry remains.
  for (ngx_pool_cleanup_t* c = r->pool->cleanup; c != nullptr; c = c->next) {
    if (c->handler == context_cleanup) {
      auto* ctx = static_cast<RequestContext*>(c->data);
      ngx_http_set_ctx(r, ctx, ngx_http_datadog_module);
      return ctx;
    }
  }
  return nullptr;
}

RequestContext* create_request_context(ngx_http_request_t* r) noexcept {
  ngx_pool_cleanup_t* cleanup = ngx_pool_cleanup_add(r->pool, sizeof(RequestContext));
  if (cleanup == nullptr) {
    return nullptr;
  }
  auto* ctx = new (cleanup->data) RequestContext{};
  cleanup->handler = context_cleanup;
  ctx->start_wall_ns = wall_clock_ns();
  ctx->start_monotonic_ns = monotonic_ns();
  ngx_http_set_ctx(r, ctx, ngx_http_datadog_module);
  return ctx;
}

}  // namespace datadog::module
