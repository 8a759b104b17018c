// Turns a finished request into its span: fields and tags from the request,
// its configuration and its context, then hands the span to the worker.
#pragma once

#include <string_view>

#include "module/nginx.hpp"
#include "module/request_context.hpp"

namespace datadog::module {

// The http.url of a span: $scheme://$http_host (or what stands for it, see
// span_finisher.cpp) + path + "?query" when there is one, with the query
// obfuscated (url_obfuscation.hpp). In r->pool.
std::string_view span_url(ngx_http_request_t* r, std::string_view path, std::string_view query) noexcept;

void finish_request_span(ngx_http_request_t* r, RequestContext& ctx) noexcept;

}  // namespace datadog::module
