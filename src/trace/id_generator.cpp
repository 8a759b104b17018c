// xoshiro256** (Blackman & Vigna): statistically strong, tiny state, no
// locking needed because each worker owns its generator.
#include "trace/id_generator.hpp"

#include <bit>

namespace datadog::trace {
namespace {

// splitmix64 spreads any seed (even an all-zero one) over the whole state,
// which xoshiro needs to be non-zero.
std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

IdGenerator::IdGenerator(const std::array<std::uint64_t, 4>& seed) {
  std::uint64_t mix = seed[0] ^ std::rotl(seed[1], 16) ^ std::rotl(seed[2], 32) ^ std::rotl(seed[3], 48);
  for (std::size_t i = 0; i < state_.size(); ++i) {
    state_[i] = splitmix64(mix) ^ seed[i];
  }
  if (state_[0] == 0 && state_[1] == 0 && state_[2] == 0 && state_[3] == 0) {
    state_[0] = 1;
  }
}

std::uint64_t IdGenerator::next() {
  const std::uint64_t result = std::rotl(state_[1] * 5, 7) * 9;
  const std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = std::rotl(state_[3], 45);
  return result;
}

SpanId IdGenerator::new_span_id() {
  SpanId id;
  do {
    id = next() >> 1;
  } while (id == 0);
  return id;
}

TraceId IdGenerator::new_trace_id(std::uint32_t unix_seconds) {
  TraceId id;
  id.high = static_cast<std::uint64_t>(unix_seconds) << 32;
  do {
    id.low = next();
  } while (id.low == 0);
  return id;
}

}  // namespace datadog::trace
