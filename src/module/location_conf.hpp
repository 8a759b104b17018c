// Per-location configuration: what http, server and location blocks set,
// merged downwards by nginx.
#pragma once

#include "module/nginx.hpp"

namespace datadog::module {

struct LocationConf {
  ngx_flag_t tracing = NGX_CONF_UNSET;
};

void* create_location_conf(ngx_conf_t* cf) noexcept;
char* merge_location_conf(ngx_conf_t* cf, void* parent, void* child) noexcept;

}  // namespace datadog::module
