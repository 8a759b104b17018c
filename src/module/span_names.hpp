// The span's operation and resource names: a configured complex value, or the
// defaults ("nginx.request", "$request_method $uri") built without one.
#pragma once

#include <string_view>

#include "module/location_conf.hpp"
#include "module/nginx.hpp"

namespace datadog::module {

std::string_view operation_name(ngx_http_request_t* r, const LocationConf& conf) noexcept;
std::string_view resource_name(ngx_http_request_t* r, const LocationConf& conf) noexcept;
// The same for location spans ("nginx.location", "$request_method $uri").
std::string_view location_operation_name(ngx_http_request_t* r, const LocationConf& conf) noexcept;
std::string_view location_resource_name(ngx_http_request_t* r, const LocationConf& conf) noexcept;

}  // namespace datadog::module
