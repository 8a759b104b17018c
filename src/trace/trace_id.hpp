// Trace and span identifiers: 128-bit trace ids (the agent's `trace_id` is the
// low half; the high half travels as the `_dd.p.tid` tag) and 64-bit span ids.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace datadog::trace {

using SpanId = std::uint64_t;

struct TraceId {
  std::uint64_t high = 0;
  std::uint64_t low = 0;

  bool is_zero() const { return high == 0 && low == 0; }
  bool operator==(const TraceId&) const = default;
};

// Lowercase hex, zero-padded: 8 digits of `value` at `out`. Ids are formatted
// several times per request (traceparent, tracestate, _dd.p.tid), so this
// works on all eight digits at once instead of looking each up: every nibble
// is spread into a byte of its own, then the bytes become ASCII together.
inline void write_hex8(std::uint32_t value, char* out) {
  std::uint64_t x = value;
  x = ((x & 0x00000000ffff0000ull) << 16) | (x & 0x000000000000ffffull);
  x = ((x & 0x0000ff000000ff00ull) << 8) | (x & 0x000000ff000000ffull);
  x = ((x & 0x00f000f000f000f0ull) << 4) | (x & 0x000f000f000f000full);
  // Each byte now holds one digit (0..15), the first digit in the top byte.
  // Adding 6 carries into bit 4 exactly for 10..15, which need 'a' - '0' - 10
  // more than '0' + digit.
  const std::uint64_t letters = ((x + 0x0606060606060606ull) >> 4) & 0x0101010101010101ull;
  x += 0x3030303030303030ull + letters * ('a' - '0' - 10);
  if constexpr (std::endian::native == std::endian::little) x = __builtin_bswap64(x);
  std::memcpy(out, &x, 8);
}

// 16 digits for one 64-bit half, 32 for a trace id.
inline void write_hex16(std::uint64_t value, char* out) {
  write_hex8(static_cast<std::uint32_t>(value >> 32), out);
  write_hex8(static_cast<std::uint32_t>(value), out + 8);
}

inline std::array<char, 16> hex16(std::uint64_t value) {
  std::array<char, 16> out;
  write_hex16(value, out.data());
  return out;
}

inline std::array<char, 32> hex32(TraceId id) {
  std::array<char, 32> out;
  write_hex16(id.high, out.data());
  write_hex16(id.low, out.data() + 16);
  return out;
}

// Strict lowercase-or-uppercase hex of exactly 1..16 digits (callers check the
// length their format demands); nullopt on any other character.
std::optional<std::uint64_t> parse_hex64(std::string_view text);
// 32 or fewer hex digits into a 128-bit id (e.g. B3's 16- or 32-digit ids).
std::optional<TraceId> parse_hex128(std::string_view text);
// Decimal 64-bit unsigned, digits only, no sign, no overflow.
std::optional<std::uint64_t> parse_decimal64(std::string_view text);

}  // namespace datadog::trace
