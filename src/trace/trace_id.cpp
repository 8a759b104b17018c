// Parsing of the hex and decimal forms of ids the propagation formats carry.
#include "trace/trace_id.hpp"

#include <charconv>

namespace datadog::trace {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::uint64_t> parse_hex64(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    const int digit = hex_value(c);
    if (digit < 0) return std::nullopt;
    value = (value << 4) | static_cast<std::uint64_t>(digit);
  }
  return value;
}

std::optional<TraceId> parse_hex128(std::string_view text) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  TraceId id;
  if (text.size() > 16) {
    const auto high = parse_hex64(text.substr(0, text.size() - 16));
    if (!high) return std::nullopt;
    id.high = *high;
    text.remove_prefix(text.size() - 16);
  }
  const auto low = parse_hex64(text);
  if (!low) return std::nullopt;
  id.low = *low;
  return id;
}

std::optional<std::uint64_t> parse_decimal64(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace datadog::trace
