// Evaluated in the request pool; an evaluation failure yields an empty name,
// which the encoder replaces (resource) or which the span still carries.
#include "module/span_names.hpp"

#include "module/str_view.hpp"

namespace datadog::module {
namespace {

std::string_view evaluate(ngx_http_request_t* r, ngx_http_complex_value_t* value) noexcept {
  ngx_str_t result;
  if (ngx_http_complex_value(r, value, &result) != NGX_OK) return {};
  return to_string_view(result);
}

}  // namespace

std::string_view operation_name(ngx_http_request_t* r, const LocationConf& conf) noexcept {
  return conf.operation_name != nullptr ? evaluate(r, conf.operation_name) : "nginx.request";
}

std::string_view method_and_uri(ngx_http_request_t* r) noexcept;

std::string_view location_operation_name(ngx_http_request_t* r, const LocationConf& conf) noexcept {
  return conf.location_operation_name != nullptr ? evaluate(r, conf.location_operation_name)
                                                 : "nginx.location";
}

std::string_view location_resource_name(ngx_http_request_t* r, const LocationConf& conf) noexcept {
  return conf.location_resource_name != nullptr ? evaluate(r, conf.location_resource_name)
                                                : method_and_uri(r);
}

std::string_view resource_name(ngx_http_request_t* r, const LocationConf& conf) noexcept {
  return conf.resource_name != nullptr ? evaluate(r, conf.resource_name) : method_and_uri(r);
}

std::string_view method_and_uri(ngx_http_request_t* r) noexcept {
  const std::size_t size = r->method_name.len + 1 + r->uri.len;
  auto* data = static_cast<u_char*>(ngx_pnalloc(r->pool, size));
  if (data == nullptr) return {};
  // A request nginx rejected while parsing may have no method or URI yet
  // (null data): memcpy from null is undefined even for 0 bytes.
  u_char* end = r->method_name.len != 0 ? ngx_cpymem(data, r->method_name.data, r->method_name.len) : data;
  *end++ = ' ';
  if (r->uri.len != 0) ngx_memcpy(end, r->uri.data, r->uri.len);
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace datadog::module
