// The request-path hooks of tracing: where a span starts and where it ends.
#pragma once

#include "module/nginx.hpp"

namespace datadog::module {

// Registers the phase handlers (postconfiguration).
ngx_int_t register_tracing_handlers(ngx_conf_t* cf) noexcept;

}  // namespace datadog::module
