// The token bucket that caps how many traces per second sampling rules may
// keep (DD_TRACE_RATE_LIMIT), and the "effective rate" it reports as
// `_dd.limit_psr`, computed as dd-trace-cpp's Limiter does: the mean of the
// allowed/asked ratios of the current second and the nine before it, a second
// with no asks counting as 1.0. Time comes in as an argument; one limiter per
// worker, no locking.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

namespace datadog::trace {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Result {
    bool allowed;
    double effective_rate;  // in [0, 1]
  };

  // Room for ceil(per_second) traces at once (the bucket starts full), one
  // more every 1/per_second seconds. per_second must be > 0; it is clamped to
  // [1e-9, 1e9] so the arithmetic stays in 64 bits.
  explicit RateLimiter(double per_second);

  Result allow(Clock::time_point now);

  double per_second() const { return per_second_; }

 private:
  static constexpr std::size_t history_seconds = 9;

  void refill(Clock::time_point now);
  void roll_window(Clock::time_point now);

  double per_second_;
  std::int64_t capacity_;
  std::chrono::nanoseconds refill_interval_;
  std::int64_t tokens_;
  std::optional<Clock::time_point> next_refill_;  // set by the first call

  std::optional<std::int64_t> window_second_;  // the whole second of the current window
  std::uint64_t window_asked_ = 0;
  std::uint64_t window_allowed_ = 0;
  std::array<double, history_seconds> history_;  // newest first
};

}  // namespace datadog::trace
