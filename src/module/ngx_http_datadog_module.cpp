// The module table: directives, configuration hooks and the module object that
// nginx finds by name when it loads the shared object.
#include "module/location_conf.hpp"
#include "module/main_conf.hpp"
#include "module/nginx.hpp"
#include "module/rum_directives.hpp"
#include "module/sample_rate_directive.hpp"
#include "module/server_conf.hpp"
#include "module/span_tags.hpp"
#include "module/status.hpp"
#include "module/subrequest_spans.hpp"
#include "module/tracing_handlers.hpp"
#include "module/variables.hpp"
#include "module/worker.hpp"

extern "C" ngx_module_t ngx_http_datadog_module;

namespace {

using datadog::module::LocationConf;
using datadog::module::MainConf;

constexpr ngx_uint_t any_level = NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF;

// clang-format off
ngx_command_t datadog_commands[] = {
    {ngx_string("datadog_tracing"), any_level | NGX_CONF_FLAG,
     ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, tracing), nullptr},
    {ngx_string("datadog_enable"), any_level | NGX_CONF_NOARGS,
     datadog::module::set_tracing_by_old_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("datadog_disable"), any_level | NGX_CONF_NOARGS,
     datadog::module::set_tracing_by_old_directive, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("datadog_service_name"), any_level | NGX_CONF_TAKE1,
     ngx_conf_set_str_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, service_name), nullptr},
    {ngx_string("datadog_environment"), any_level | NGX_CONF_TAKE1,
     ngx_conf_set_str_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, environment), nullptr},
    {ngx_string("datadog_version"), any_level | NGX_CONF_TAKE1,
     ngx_conf_set_str_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, version), nullptr},
    {ngx_string("datadog_operation_name"), any_level | NGX_CONF_TAKE1,
     ngx_http_set_complex_value_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, operation_name), nullptr},
    {ngx_string("datadog_resource_name"), any_level | NGX_CONF_TAKE1,
     ngx_http_set_complex_value_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, resource_name), nullptr},
    {ngx_string("datadog_trace_locations"), any_level | NGX_CONF_FLAG,
     ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, trace_locations), nullptr},
    {ngx_string("datadog_location_operation_name"), any_level | NGX_CONF_TAKE1,
     ngx_http_set_complex_value_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, location_operation_name), nullptr},
    {ngx_string("datadog_location_resource_name"), any_level | NGX_CONF_TAKE1,
     ngx_http_set_complex_value_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, location_resource_name), nullptr},
    {ngx_string("datadog_sample_rate"), any_level | NGX_CONF_TAKE12,
     datadog::module::set_sample_rate, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("datadog_tag"), any_level | NGX_CONF_TAKE2,
     datadog::module::set_tag, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("datadog_trust_incoming_span"), any_level | NGX_CONF_FLAG,
     ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, trust_incoming_span), nullptr},
    {ngx_string("datadog_baggage_tags_enabled"), any_level | NGX_CONF_FLAG,
     ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, baggage_tags_enabled), nullptr},
    {ngx_string("datadog_baggage_tags_keys"), any_level | NGX_CONF_1MORE,
     ngx_conf_set_str_array_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, baggage_tag_keys), nullptr},
    {ngx_string("datadog_propagation_styles"), NGX_HTTP_MAIN_CONF | NGX_CONF_1MORE,
     datadog::module::set_propagation_styles, NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("datadog_status"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
     datadog::module::set_status_handler, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("datadog_agent_url"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     datadog::module::set_agent_url, NGX_HTTP_MAIN_CONF_OFFSET, 0, nullptr},
    {ngx_string("datadog_flush_interval"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_msec_slot, NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, flush_interval), nullptr},
    {ngx_string("datadog_buffer_size"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_size_slot, NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, buffer_size), nullptr},
    {ngx_string("datadog_agent_timeout"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_msec_slot, NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, agent_timeout), nullptr},
    {ngx_string("datadog_obfuscation_query_string_regex"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     datadog::module::set_url_obfuscation, NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, url_obfuscation), nullptr},
    {ngx_string("datadog_exit_flush_timeout"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_msec_slot, NGX_HTTP_MAIN_CONF_OFFSET, offsetof(MainConf, exit_flush_timeout), nullptr},
    {ngx_string("datadog_rum"), any_level | NGX_CONF_FLAG,
     ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, rum), nullptr},
    {ngx_string("datadog_rum_config"), any_level | NGX_CONF_BLOCK | NGX_CONF_TAKE1,
     datadog::module::set_rum_config, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    {ngx_string("datadog_rum_csp"), any_level | NGX_CONF_TAKE1,
     ngx_conf_set_enum_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, rum_csp),
     datadog::module::rum_csp_values},
    {ngx_string("datadog_rum_sdk_url"), any_level | NGX_CONF_TAKE1,
     datadog::module::set_rum_sdk_url, NGX_HTTP_LOC_CONF_OFFSET, 0, nullptr},
    ngx_null_command,
};
// clang-format on

ngx_int_t preconfiguration(ngx_conf_t* cf) noexcept { return datadog::module::add_variables(cf); }
ngx_int_t postconfiguration(ngx_conf_t* cf) noexcept {
  auto* main = static_cast<MainConf*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_datadog_module));
  main->underscore_header_names = datadog::module::any_server_keeps_underscore_names(cf);
  if (datadog::module::add_status_zone(cf) != NGX_OK) return NGX_ERROR;
  if (datadog::module::register_subrequest_filters(cf) != NGX_OK) return NGX_ERROR;
  if (datadog::module::take_agent_resolver(cf) != NGX_OK) return NGX_ERROR;
  return datadog::module::register_tracing_handlers(cf);
}

ngx_http_module_t datadog_module_ctx = {
    preconfiguration,                       // preconfiguration
    postconfiguration,                      // postconfiguration
    datadog::module::create_main_conf,      // create main configuration
    datadog::module::init_main_conf,        // init main configuration
    datadog::module::create_server_conf,    // create server configuration
    nullptr,                                // merge server configuration
    datadog::module::create_location_conf,  // create location configuration
    datadog::module::merge_location_conf,   // merge location configuration
};

ngx_int_t init_process(ngx_cycle_t* cycle) noexcept { return datadog::module::Worker::start(cycle); }
void exit_process(ngx_cycle_t* cycle) noexcept { datadog::module::Worker::stop(cycle); }

}  // namespace

// nginx's generated module list (objs/ngx_http_datadog_module_modules.c, plain
// C) refers to this object by its unmangled name.
extern "C" {
ngx_module_t ngx_http_datadog_module = {
    NGX_MODULE_V1,
    &datadog_module_ctx,  // module context
    datadog_commands,     // module directives
    NGX_HTTP_MODULE,      // module type
    nullptr,              // init master
    nullptr,              // init module
    init_process,         // init process
    nullptr,              // init thread
    nullptr,              // exit thread
    exit_process,         // exit process
    nullptr,              // exit master
    NGX_MODULE_V1_PADDING,
};
}
