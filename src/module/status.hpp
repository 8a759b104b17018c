// `datadog_status`: the exporter's counters, summed over all workers (and the
// workers that exited since nginx started), as JSON from a location.
#pragma once

#include "agent/status_board.hpp"
#include "module/nginx.hpp"

namespace datadog::module {

// Adds the shared zone holding the board (postconfiguration).
ngx_int_t add_status_zone(ngx_conf_t* cf) noexcept;
// The board in shared memory; null before the zone exists (e.g. `nginx -t`).
agent::StatusBoard* status_board(ngx_cycle_t* cycle) noexcept;

char* set_status_handler(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
// True for the content handler that datadog_status installs.
bool is_status_handler(ngx_http_handler_pt handler) noexcept;

}  // namespace datadog::module
