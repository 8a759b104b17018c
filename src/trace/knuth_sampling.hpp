// The deterministic "keep this trace at rate r?" check every Datadog tracer
// shares, so that services sampling the same trace id at the same rate agree.
#pragma once

#include <cstdint>
#include <limits>

namespace datadog::trace {

inline constexpr std::uint64_t knuth_factor = 1111111111111111111ULL;

// (id × 1111111111111111111) mod 2^64: unsigned overflow is the modulo.
constexpr std::uint64_t knuth_hash(std::uint64_t id) { return id * knuth_factor; }

// Keep ⇔ knuth_hash(id) ≤ rate × (2^64 − 1). Rate 1.0 keeps every id (the
// product rounds to 2^64, which no uint64 can hold, hence the special case);
// rate 0 (and anything not a number in (0, 1]) keeps none. Below 1.0 the
// product is below 2^64, so the conversion is exact truncation.
constexpr bool knuth_keep(std::uint64_t id, double rate) {
  if (!(rate > 0.0)) return false;
  if (rate >= 1.0) return true;
  const auto threshold =
      static_cast<std::uint64_t>(rate * static_cast<double>(std::numeric_limits<std::uint64_t>::max()));
  return knuth_hash(id) <= threshold;
}

}  // namespace datadog::trace
