// Escaping of client bytes for log lines.
#include "trace/log_escape.hpp"

namespace datadog::trace {

std::string_view escape_for_log(std::string_view text, std::size_t max_bytes, std::span<char> out) noexcept {
  constexpr char hex[] = "0123456789abcdef";
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(0, max_bytes);
  if (out.size() < escaped_log_size(text.size())) return {};
  std::size_t n = 0;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '\\') {
      out[n++] = c;
    } else {
      out[n++] = '\\';
      out[n++] = 'x';
      out[n++] = hex[byte >> 4];
      out[n++] = hex[byte & 0xf];
    }
  }
  if (cut) {
    for (const char c : std::string_view("...")) out[n++] = c;
  }
  return {out.data(), n};
}

}  // namespace datadog::trace
