// Turns a finished request into its span: fields and tags from the request,
// its configuration and its context, then hands the span to the worker.
#pragma once

#include "module/nginx.hpp"
#include "module/request_context.hpp"

namespace datadog::module {

void finish_request_span(ngx_http_request_t* r, RequestContext& ctx) noexcept;

}  // namespace datadog::module
