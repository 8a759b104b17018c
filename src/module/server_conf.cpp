#include "module/server_conf.hpp"

#include <new>

#include "module/status.hpp"

extern ngx_module_t ngx_http_datadog_module;

namespace datadog::module {

void* create_server_conf(ngx_conf_t* cf) noexcept {
  void* memory = ngx_pcalloc(cf->pool, sizeof(ServerConf));
  return memory != nullptr ? new (memory) ServerConf{} : nullptr;
}

void note_content_handler(ngx_conf_t* cf) noexcept {
  // While locations merge, the context holds the location's own core
  // configuration and its server's configurations (ngx_http_merge_locations).
  auto* core =
      static_cast<ngx_http_core_loc_conf_t*>(ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
  auto* server = static_cast<ServerConf*>(ngx_http_conf_get_module_srv_conf(cf, ngx_http_datadog_module));
  if (core == nullptr || server == nullptr || core->handler == nullptr) return;
  if (is_status_handler(core->handler)) return;  // answers by itself
  server->may_forward = true;
}

bool server_may_forward(ngx_http_request_t* r) noexcept {
  const auto* server =
      static_cast<const ServerConf*>(ngx_http_get_module_srv_conf(r, ngx_http_datadog_module));
  return server == nullptr || server->may_forward;
}

bool any_server_keeps_underscore_names(ngx_conf_t* cf) noexcept {
  auto* core =
      static_cast<ngx_http_core_main_conf_t*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));
  auto** servers = static_cast<ngx_http_core_srv_conf_t**>(core->servers.elts);
  for (ngx_uint_t i = 0; i < core->servers.nelts; ++i) {
    if (servers[i]->underscores_in_headers || !servers[i]->ignore_invalid_headers) return true;
  }
  return false;
}

}  // namespace datadog::module
