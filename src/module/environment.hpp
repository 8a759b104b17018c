// The environment the module's settings read: nginx.conf's own `env NAME=value;`
// first (what the workers will have), then the master's process environment.
#pragma once

#include <optional>
#include <string_view>

#include "module/nginx.hpp"

namespace datadog::module {

// The value of `name` for the configuration being read. An `env NAME=value;`
// of the main context wins, as it is what nginx gives the workers (it must
// come before the http block, where the module reads it); a bare `env NAME;`
// passes the master's value through, like an absent one. std::nullopt when
// the variable is unset; an empty value is returned as it is (some settings
// give "set but empty" a meaning of its own).
std::optional<std::string_view> environment_variable(const ngx_conf_t* cf, std::string_view name) noexcept;

// The same, with "unset" and "empty" both std::nullopt.
std::optional<std::string_view> nonempty_environment_variable(const ngx_conf_t* cf,
                                                              std::string_view name) noexcept;

// A boolean variable read as Datadog's tracers read it (text::parse_boolean).
// unset/empty: `fallback`; a value that is no boolean: an error sentence
// naming the variable is logged at emerg for nginx -t and std::nullopt returned.
std::optional<bool> environment_flag(const ngx_conf_t* cf, std::string_view name, bool fallback) noexcept;

}  // namespace datadog::module
