// The zone survives reloads (same name, size and tag), so totals do too.
#include "module/status.hpp"

#include <new>
#include <string>

#include "module/main_conf.hpp"

extern ngx_module_t ngx_http_datadog_module;

namespace datadog::module {
namespace {

ngx_int_t init_zone(ngx_shm_zone_t* zone, void* previous) noexcept {
  if (previous != nullptr) {  // reload: keep the board and its totals
    zone->data = previous;
    return NGX_OK;
  }
  auto* pool = reinterpret_cast<ngx_slab_pool_t*>(zone->shm.addr);
  if (zone->shm.exists) {
    zone->data = pool->data;
    return NGX_OK;
  }
  void* memory = ngx_slab_alloc(pool, sizeof(agent::StatusBoard));
  if (memory == nullptr) return NGX_ERROR;
  auto* board = new (memory) agent::StatusBoard{};
  pool->data = board;
  zone->data = board;
  return NGX_OK;
}

ngx_int_t serve_status(ngx_http_request_t* r) noexcept {
  if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) return NGX_HTTP_NOT_ALLOWED;
  if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
  const auto* main = static_cast<MainConf*>(ngx_http_get_module_main_conf(r, ngx_http_datadog_module));
  auto* board = static_cast<agent::StatusBoard*>(main->status_zone->data);
  if (board == nullptr) return NGX_HTTP_SERVICE_UNAVAILABLE;
  std::string json;
  try {
    json = board->to_json();
    json += '\n';
  } catch (...) {
    return NGX_HTTP_INTERNAL_SERVER_ERROR;
  }
  auto* b = ngx_create_temp_buf(r->pool, json.size());
  if (b == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
  b->last = ngx_cpymem(b->last, json.data(), json.size());
  b->last_buf = (r == r->main) ? 1 : 0;
  b->last_in_chain = 1;
  r->headers_out.status = NGX_HTTP_OK;
  r->headers_out.content_length_n = static_cast<off_t>(json.size());
  ngx_str_set(&r->headers_out.content_type, "application/json");
  r->headers_out.content_type_len = r->headers_out.content_type.len;
  const ngx_int_t rc = ngx_http_send_header(r);
  if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) return rc;
  ngx_chain_t out{b, nullptr};
  return ngx_http_output_filter(r, &out);
}

}  // namespace

ngx_int_t add_status_zone(ngx_conf_t* cf) noexcept {
  auto* main = static_cast<MainConf*>(ngx_http_conf_get_module_main_conf(cf, ngx_http_datadog_module));
  static ngx_str_t name = ngx_string("datadog_status");
  // nginx puts a slab allocator in every zone: at least 8 pages.
  const size_t size = ngx_align(sizeof(agent::StatusBoard) + 16 * ngx_pagesize, ngx_pagesize);
  main->status_zone = ngx_shared_memory_add(cf, &name, size, &ngx_http_datadog_module);
  if (main->status_zone == nullptr) return NGX_ERROR;
  main->status_zone->init = init_zone;
  return NGX_OK;
}

agent::StatusBoard* status_board(ngx_cycle_t* cycle) noexcept {
  auto* main = static_cast<MainConf*>(ngx_http_cycle_get_module_main_conf(cycle, ngx_http_datadog_module));
  if (main == nullptr || main->status_zone == nullptr) return nullptr;
  return static_cast<agent::StatusBoard*>(main->status_zone->data);
}

char* set_status_handler(ngx_conf_t* cf, ngx_command_t*, void*) noexcept {
  auto* core =
      static_cast<ngx_http_core_loc_conf_t*>(ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
  core->handler = serve_status;
  return NGX_CONF_OK;
}

bool is_status_handler(ngx_http_handler_pt handler) noexcept { return handler == serve_status; }

}  // namespace datadog::module
