// Child spans for subrequests (auth_request, mirror, SSI includes): started
// when the subrequest chooses its location, ended when its response is done,
// sent with the main request's trace. Subrequests share their parent's header
// list, so they forward the main request's trace context unchanged.
#pragma once

#include <cstdint>
#include <string_view>

#include "module/nginx.hpp"
#include "module/request_context.hpp"
#include "trace/trace_id.hpp"

namespace datadog::module {

void start_subrequest_span(ngx_http_request_t* sr) noexcept;

// Filters that note when a subrequest's response is done; they pass the main
// request's output on untouched.
ngx_int_t register_subrequest_filters(ngx_conf_t* cf) noexcept;

}  // namespace datadog::module
