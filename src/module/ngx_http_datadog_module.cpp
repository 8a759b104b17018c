// The module table: directives, configuration hooks and the module object that
// nginx finds by name when it loads the shared object.
#include "module/location_conf.hpp"
#include "module/nginx.hpp"

namespace {

using datadog::module::LocationConf;

ngx_command_t datadog_commands[] = {
    {ngx_string("datadog_tracing"),
     NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_FLAG, ngx_conf_set_flag_slot,
     NGX_HTTP_LOC_CONF_OFFSET, offsetof(LocationConf, tracing), nullptr},

    ngx_null_command,
};

ngx_http_module_t datadog_module_ctx = {
    nullptr,                                // preconfiguration
    nullptr,                                // postconfiguration
    nullptr,                                // create main configuration
    nullptr,                                // init main configuration
    nullptr,                                // create server configuration
    nullptr,                                // merge server configuration
    datadog::module::create_location_conf,  // create location configuration
    datadog::module::merge_location_conf,   // merge location configuration
};

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
    nullptr,              // init process
    nullptr,              // init thread
    nullptr,              // exit thread
    nullptr,              // exit process
    nullptr,              // exit master
    NGX_MODULE_V1_PADDING,
};
}
