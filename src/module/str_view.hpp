// Bridge between nginx's ngx_str_t and std::string_view, so no code converts by hand.
#pragma once

#include <string_view>

#include "module/nginx.hpp"

namespace datadog::module {

inline std::string_view to_string_view(const ngx_str_t& s) noexcept {
  return {reinterpret_cast<const char*>(s.data), s.len};
}

// The result aliases `s`: it must not outlive the viewed characters.
inline ngx_str_t to_ngx_str(std::string_view s) noexcept {
  return {s.size(), reinterpret_cast<u_char*>(const_cast<char*>(s.data()))};
}

}  // namespace datadog::module
