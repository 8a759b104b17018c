// Per-location configuration: what http, server and location blocks set,
// merged downwards by nginx.
#pragma once

#include "module/nginx.hpp"

namespace datadog::rum {
struct RumSnippet;
}

namespace datadog::module {

struct RumBlock;  // rum_directives.hpp

struct LocationConf {
  ngx_flag_t tracing = NGX_CONF_UNSET;
  ngx_flag_t trust_incoming_span = NGX_CONF_UNSET;   // extract the client's trace context
  ngx_flag_t baggage_tags_enabled = NGX_CONF_UNSET;  // baggage items as baggage.<key> span tags
  ngx_array_t* baggage_tag_keys =
      static_cast<ngx_array_t*>(NGX_CONF_UNSET_PTR);  // (nginx's slot needs UNSET)           // of ngx_str_t;
                                                      // the nearest level's list; "*": all
  ngx_str_t service_name{};                           // default "nginx"
  ngx_str_t environment{};                            // empty: no `env` tag
  ngx_str_t version{};                                // empty: no `version` tag
  // Evaluated per request; null means the built-in default, which is cheaper
  // than evaluating a complex value ("nginx.request", "$request_method $uri").
  ngx_http_complex_value_t* operation_name = nullptr;
  ngx_http_complex_value_t* resource_name = nullptr;
  ngx_flag_t trace_locations = NGX_CONF_UNSET;  // a span per location, besides the request's
  ngx_http_complex_value_t* location_operation_name = nullptr;
  ngx_http_complex_value_t* location_resource_name = nullptr;
  // datadog_sample_rate directives that apply here: this level's own, then
  // the enclosing levels' (deepest first, as nginx-datadog tries them).
  ngx_array_t* sample_rates = nullptr;
  ngx_array_t* tags = nullptr;  // datadog_tag: this level's, then inherited keys it does not set
  bool merged = false;          // this level's own lists have been joined with the inherited ones

  // RUM injection (rum_directives.hpp).
  ngx_flag_t rum = NGX_CONF_UNSET;               // datadog_rum; default DD_RUM_ENABLED, else off
  ngx_uint_t rum_csp = NGX_CONF_UNSET_UINT;      // datadog_rum_csp: RumCsp
  ngx_str_t rum_sdk_url{};                       // datadog_rum_sdk_url; unset: the CDN
  RumBlock* rum_block = nullptr;                 // datadog_rum_config, this level's or inherited
  const rum::RumSnippet* rum_snippet = nullptr;  // built from rum_block and rum_sdk_url at merge
};

void* create_location_conf(ngx_conf_t* cf) noexcept;
char* merge_location_conf(ngx_conf_t* cf, void* parent, void* child) noexcept;

// datadog_enable / datadog_disable: nginx-datadog's older spelling of
// `datadog_tracing on|off`, still in Datadog's RUM setup guide; accepted with
// a warning that names the current directive.
char* set_tracing_by_old_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

}  // namespace datadog::module
