// Segment classification as in dd-trace-cpp's endpoint_inferral.cpp: each
// character rules some patterns out; the first pattern left wins.
#include "trace/endpoint_simplifier.hpp"

#include <cstring>

namespace datadog::trace {
namespace {

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_hex_letter(char c) { return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
constexpr bool is_delimiter(char c) { return c == '.' || c == '_' || c == '-'; }
constexpr bool is_special(char c) {
  return c == '%' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' || c == ',' ||
         c == ':' || c == '=' || c == '@';
}

}  // namespace

std::string_view endpoint_placeholder(std::string_view segment) noexcept {
  const std::size_t size = segment.size();
  bool can_int = size >= 2 && segment[0] != '0';
  bool can_int_id = size >= 3;
  bool can_hex = size >= 6;
  bool can_hex_id = size >= 6;
  bool special = false;
  bool digit = false;
  for (const char c : segment) {
    if (is_digit(c)) {
      digit = true;
    } else if (is_hex_letter(c)) {
      can_int = can_int_id = false;
    } else if (is_delimiter(c)) {
      can_int = can_hex = false;
    } else {
      if (is_special(c)) special = true;
      can_int = can_int_id = can_hex = can_hex_id = false;
    }
  }
  if (!digit) can_int_id = can_hex = can_hex_id = false;  // (int needs digits only anyway)
  if (can_int) return "{param:int}";
  if (can_int_id) return "{param:int_id}";
  if (can_hex) return "{param:hex}";
  if (can_hex_id) return "{param:hex_id}";
  if (special || size >= 20) return "{param:str}";
  return {};
}

std::optional<std::string_view> endpoint_url_path(std::string_view url) noexcept {
  const auto separator = url.find("://");
  if (separator == std::string_view::npos) return std::nullopt;
  const std::string_view scheme = url.substr(0, separator);
  if (scheme == "unix" || scheme == "http+unix" || scheme == "https+unix") return std::string_view{};
  if (scheme != "http" && scheme != "https") return std::nullopt;
  const std::string_view rest = url.substr(separator + 3);
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return std::string_view{};
  const std::string_view path = rest.substr(slash);
  return path.substr(0, path.find('?'));
}

SimplifiedEndpoint simplify_endpoint(std::string_view path) noexcept {
  SimplifiedEndpoint out;
  auto append = [&out](std::string_view piece) {
    std::memcpy(out.text.data() + out.size, piece.data(), piece.size());
    out.size += piece.size();
  };
  if (path.empty() || path.front() != '/') {
    append("/");
    return out;
  }
  path.remove_prefix(1);
  std::size_t segments = 0;
  bool final_slash = true;
  while (!path.empty()) {
    const auto slash = path.find('/');
    const std::string_view segment = path.substr(0, slash);
    if (slash == std::string_view::npos) {
      path = {};
      final_slash = false;
    } else {
      path.remove_prefix(slash + 1);
    }
    if (segment.empty()) continue;
    append("/");
    const std::string_view placeholder = endpoint_placeholder(segment);
    append(placeholder.empty() ? segment : placeholder);  // a literal is under 20 characters
    if (++segments == max_endpoint_segments) break;
  }
  if (out.size == 0 || final_slash) append("/");
  return out;
}

}  // namespace datadog::trace
