// Exponential backoff with equal jitter; see backoff.hpp for the choice of
// base and cap.
#include "agent/backoff.hpp"

#include <algorithm>

namespace datadog::agent {

Backoff::Backoff(BackoffPolicy policy) noexcept : policy_(policy) {
  if (policy_.base.count() < 1) {
    policy_.base = std::chrono::milliseconds(1);
  }
  policy_.cap = std::max(policy_.cap, policy_.base);
}

std::chrono::milliseconds Backoff::next_delay(std::uint64_t random) noexcept {
  if (failures_ < 64) {
    ++failures_;
  }
  // Doubling stops as soon as the cap is reached, so nothing overflows however
  // long the outage lasts.
  std::uint64_t step = static_cast<std::uint64_t>(policy_.base.count());
  const auto cap = static_cast<std::uint64_t>(policy_.cap.count());
  for (unsigned i = 1; i < failures_ && step < cap; ++i) {
    step *= 2;
  }
  step = std::min(step, cap);
  const std::uint64_t floor = step / 2;
  const std::uint64_t spread = step - floor;
  return std::chrono::milliseconds(
      static_cast<std::chrono::milliseconds::rep>(floor + random % (spread + 1)));
}

std::uint64_t JitterSource::next() noexcept {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace datadog::agent
