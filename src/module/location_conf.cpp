// Creation and merging of the per-location configuration.
#include "module/location_conf.hpp"

#include <cstdlib>
#include <initializer_list>
#include <new>
#include <string_view>

#include "module/main_conf.hpp"
#include "module/rum_directives.hpp"
#include "module/sample_rate_directive.hpp"
#include "module/server_conf.hpp"
#include "module/span_tags.hpp"
#include "module/str_view.hpp"

namespace datadog::module {

void* create_location_conf(ngx_conf_t* cf) noexcept {
  void* memory = ngx_pcalloc(cf->pool, sizeof(LocationConf));
  if (memory == nullptr) {
    return nullptr;
  }
  // LocationConf is trivially destructible, so the pool needs no cleanup for it.
  return new (memory) LocationConf{};
}

char* set_tracing_by_old_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept {
  auto* lc = static_cast<LocationConf*>(conf);
  if (lc->tracing != NGX_CONF_UNSET) {
    return const_cast<char*>("is duplicate");
  }
  const bool on = to_string_view(cmd->name) == "datadog_enable";
  lc->tracing = on ? 1 : 0;
  ngx_conf_log_error(NGX_LOG_WARN, cf, 0, "\"%V\" is deprecated, use \"datadog_tracing %s;\" instead",
                     &cmd->name, on ? "on" : "off");
  return NGX_CONF_OK;
}

char* merge_location_conf(ngx_conf_t* cf, void* parent_ptr, void* child_ptr) noexcept {
  const auto* parent = static_cast<LocationConf*>(parent_ptr);
  auto* child = static_cast<LocationConf*>(child_ptr);
  note_content_handler(cf);
  // On by default, as in DataDog's nginx-datadog: loading the module traces
  // every request unless told otherwise.
  // DD_SERVICE / DD_ENV / DD_VERSION / DD_TRACE_ENABLED give the defaults that
  // the directives override (read once, in init_main_conf).
  const auto* main =
      static_cast<const MainConf*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_datadog_module));
  ngx_conf_merge_value(child->tracing, parent->tracing, main->tracing_by_default ? 1 : 0);
  ngx_conf_merge_value(child->trust_incoming_span, parent->trust_incoming_span, 1);
  ngx_conf_merge_value(child->baggage_tags_enabled, parent->baggage_tags_enabled, 1);
  ngx_conf_merge_ptr_value(child->baggage_tag_keys, parent->baggage_tag_keys, nullptr);
  if (child->service_name.data == nullptr) {
    child->service_name = parent->service_name.data != nullptr ? parent->service_name : main->default_service;
  }
  if (child->environment.data == nullptr) {
    child->environment =
        parent->environment.data != nullptr ? parent->environment : main->default_environment;
  }
  if (child->version.data == nullptr) {
    child->version = parent->version.data != nullptr ? parent->version : main->default_version;
  }
  // Chain this level's sample-rate directives before the enclosing ones.
  if (child->sample_rates == nullptr) {
    child->sample_rates = parent->sample_rates;
  } else if (parent->sample_rates != nullptr && !child->merged) {
    const ngx_uint_t total = child->sample_rates->nelts + parent->sample_rates->nelts;
    ngx_array_t* chain = ngx_array_create(cf->pool, total, sizeof(SampleRateDirective));
    if (chain == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
    for (const ngx_array_t* level : {child->sample_rates, parent->sample_rates}) {
      void* slot = ngx_array_push_n(chain, level->nelts);
      if (slot == nullptr) return static_cast<char*>(NGX_CONF_ERROR);
      ngx_memcpy(slot, level->elts, level->nelts * sizeof(SampleRateDirective));
    }
    child->sample_rates = chain;
  }
  if (!child->merged) {
    child->tags = merge_tags(cf, child->tags, parent->tags);
    if (child->tags == nullptr && parent->tags != nullptr) return static_cast<char*>(NGX_CONF_ERROR);
  }
  child->merged = true;
  if (child->operation_name == nullptr) {
    child->operation_name = parent->operation_name;
  }
  if (child->resource_name == nullptr) {
    child->resource_name = parent->resource_name;
  }
  ngx_conf_merge_value(child->trace_locations, parent->trace_locations, 0);
  if (child->location_operation_name == nullptr)
    child->location_operation_name = parent->location_operation_name;
  if (child->location_resource_name == nullptr)
    child->location_resource_name = parent->location_resource_name;
  return merge_rum_conf(cf, *parent, *child);
}

}  // namespace datadog::module
