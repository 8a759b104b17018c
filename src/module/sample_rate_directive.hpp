// `datadog_sample_rate <rate> [condition]`, with nginx-datadog's semantics:
// each directive is a sampling rule matching the span tag
// nginx.sample_rate_source="<file>:<line>#<n>"; per request, the first
// directive (deepest level first) whose condition evaluates to "on" sets it.
#pragma once

#include "module/nginx.hpp"

namespace datadog::module {

struct SampleRateDirective {
  ngx_http_complex_value_t* condition;  // null: always on
  ngx_str_t source;                     // the tag value, e.g. /etc/nginx/nginx.conf:23#1
  // Set by a worker the first time the condition gives something else than
  // on, off or "": the warning is logged once per directive and worker, not
  // once per request. Each worker writes its own copy of the configuration;
  // the copies of this directive in the locations' merged lists share it.
  bool* warned_invalid_condition;
};

char* set_sample_rate(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

// The source of the first directive that applies to the request, or an empty
// string when none does.
ngx_str_t applicable_sample_rate_source(ngx_http_request_t* r, const ngx_array_t* directives) noexcept;

}  // namespace datadog::module
