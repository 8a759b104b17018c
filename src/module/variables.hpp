// The $datadog_* variables: the active trace's ids and propagation headers,
// for access logs (log/trace correlation) and for headers of one's own.
#pragma once

#include "module/nginx.hpp"

namespace datadog::module {

// Registers the variables (preconfiguration).
ngx_int_t add_variables(ngx_conf_t* cf) noexcept;

}  // namespace datadog::module
