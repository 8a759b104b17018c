// Starting a request's span, in the rewrite phase (the location is known and
// nothing has been proxied yet): extract the client's trace context, choose
// the ids, make the sampling decision, and write the outgoing propagation
// headers into the request so every upstream module forwards them.
#pragma once

#include "module/nginx.hpp"
#include "module/request_context.hpp"

namespace datadog::module {

enum class Propagation {
  inject,  // the request may still be proxied
  // Starting in the log phase (the request never reached a location): nothing
  // can be forwarded any more, and a request rejected while its request line
  // was read has no header list to write to.
  skip,
};

void start_request_span(ngx_http_request_t* r, RequestContext& ctx, Propagation propagation) noexcept;

// datadog_trace_locations: ends the active location span (if any) and starts
// one for the location now chosen, which becomes the upstream's parent.
void start_location_span(ngx_http_request_t* r, RequestContext& ctx) noexcept;

}  // namespace datadog::module
