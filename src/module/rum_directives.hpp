// The RUM directives: datadog_rum_config "vN" { "key" "value" ...; } parsed into
// a RumBlock, validated at once (so nginx -t names the file and line), and
// turned into the snippet each location injects when the configuration merges.
#pragma once

#include <string>
#include <vector>

#include "module/location_conf.hpp"
#include "module/nginx.hpp"
#include "rum/rum_snippet.hpp"

namespace datadog::module {

// datadog_rum_csp: how a page's Content-Security-Policy is treated.
enum RumCsp : ngx_uint_t { rum_csp_off = 0, rum_csp_auto = 1 };
extern ngx_conf_enum_t rum_csp_values[];

struct RumBlock {
  std::string version;
  std::vector<rum::RumOption> options;
  std::vector<ngx_uint_t> lines;  // of each option, for error messages
};

char* set_rum_config(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* set_rum_sdk_url(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
// Inherits the RUM settings and builds the snippet where this level changed them.
char* merge_rum_conf(ngx_conf_t* cf, const LocationConf& parent, LocationConf& child) noexcept;

}  // namespace datadog::module
