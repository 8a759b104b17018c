// Fast per-worker generator of span and trace ids: xoshiro256** seeded once
// (the glue seeds it from OpenSSL's RAND_bytes at worker start), so making an
// id costs a few instructions and no system call.
#pragma once

#include <array>
#include <cstdint>

#include "trace/trace_id.hpp"

namespace datadog::trace {

class IdGenerator {
 public:
  explicit IdGenerator(const std::array<std::uint64_t, 4>& seed);

  // Non-zero, 63 bits: some tracers still store span ids as signed 64-bit.
  SpanId new_span_id();

  // Datadog's 128-bit form: the high half is <32-bit Unix seconds><32 zero
  // bits>, the low half random and non-zero.
  TraceId new_trace_id(std::uint32_t unix_seconds);

  std::uint64_t next();

 private:
  std::array<std::uint64_t, 4> state_;
};

}  // namespace datadog::trace
