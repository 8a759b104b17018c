// Trace and span identifiers: 128-bit trace ids (the agent's `trace_id` is the
// low half; the high half travels as the `_dd.p.tid` tag) and 64-bit span ids.
#pragma once

#include <array>
#include <cstdint>
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

// Lowercase hex, zero-padded: 16 digits for one 64-bit half, 32 for a trace id.
std::array<char, 16> hex16(std::uint64_t value);
std::array<char, 32> hex32(TraceId id);

// Strict lowercase-or-uppercase hex of exactly 1..16 digits (callers check the
// length their format demands); nullopt on any other character.
std::optional<std::uint64_t> parse_hex64(std::string_view text);
// 32 or fewer hex digits into a 128-bit id (e.g. B3's 16- or 32-digit ids).
std::optional<TraceId> parse_hex128(std::string_view text);
// Decimal 64-bit unsigned, digits only, no sign, no overflow.
std::optional<std::uint64_t> parse_decimal64(std::string_view text);

}  // namespace datadog::trace
