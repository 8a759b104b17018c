// Creation and merging of the per-location configuration.
#include "module/location_conf.hpp"

#include <new>

namespace datadog::module {

void* create_location_conf(ngx_conf_t* cf) noexcept {
  void* memory = ngx_pcalloc(cf->pool, sizeof(LocationConf));
  if (memory == nullptr) {
    return nullptr;
  }
  // LocationConf is trivially destructible, so the pool needs no cleanup for it.
  return new (memory) LocationConf{};
}

char* merge_location_conf(ngx_conf_t*, void* parent_ptr, void* child_ptr) noexcept {
  const auto* parent = static_cast<LocationConf*>(parent_ptr);
  auto* child = static_cast<LocationConf*>(child_ptr);
  // On by default, as in DataDog's nginx-datadog: loading the module traces
  // every request unless told otherwise.
  ngx_conf_merge_value(child->tracing, parent->tracing, 1);
  ngx_conf_merge_str_value(child->service_name, parent->service_name, "nginx");
  ngx_conf_merge_str_value(child->environment, parent->environment, "");
  ngx_conf_merge_str_value(child->version, parent->version, "");
  if (child->operation_name == nullptr) {
    child->operation_name = parent->operation_name;
  }
  if (child->resource_name == nullptr) {
    child->resource_name = parent->resource_name;
  }
  return NGX_CONF_OK;
}

}  // namespace datadog::module
