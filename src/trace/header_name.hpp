// Which request header names an application behind nginx cannot tell apart.
// CGI, FastCGI, uwsgi and WSGI servers (Gunicorn) pass a header as an
// HTTP_<NAME> variable with `-` turned into `_`: `x_datadog_trace_id` and
// `x-datadog-trace-id` reach the application as one header, their values
// joined ("42,<ours>").
#pragma once

#include <string_view>

namespace datadog::trace {

// True when the two lowercase names differ at most by `_` for `-`.
constexpr bool same_cgi_variable(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] == '_' ? '-' : a[i];
    const char y = b[i] == '_' ? '-' : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace datadog::trace
