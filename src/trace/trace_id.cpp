// Hex and decimal forms of ids, as the propagation formats write them.
#include "trace/trace_id.hpp"

#include <charconv>

namespace datadog::trace {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// Two digits per byte from a table: ids are formatted several times per
// request (traceparent, tracestate, _dd.p.tid).
constexpr auto byte_hex = [] {
  std::array<char, 512> table{};
  for (int i = 0; i < 256; ++i) {
    table[static_cast<std::size_t>(2 * i)] = hex_digits[i >> 4];
    table[static_cast<std::size_t>(2 * i + 1)] = hex_digits[i & 0xf];
  }
  return table;
}();

std::array<char, 16> hex16(std::uint64_t value) {
  std::array<char, 16> out{};
  for (int i = 7; i >= 0; --i) {
    const std::size_t b = static_cast<std::size_t>(value & 0xff) * 2;
    out[static_cast<std::size_t>(2 * i)] = byte_hex[b];
    out[static_cast<std::size_t>(2 * i + 1)] = byte_hex[b + 1];
    value >>= 8;
  }
  return out;
}

std::array<char, 32> hex32(TraceId id) {
  std::array<char, 32> out{};
  const auto high = hex16(id.high);
  const auto low = hex16(id.low);
  for (std::size_t i = 0; i < 16; ++i) {
    out[i] = high[i];
    out[16 + i] = low[i];
  }
  return out;
}

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
