// Token bucket with whole-token refills (as dd-trace-cpp's Limiter: at 5/s a
// token appears every 200 ms, not a fifth of one every 40 ms) and a ten-second
// sliding mean of the allowed/asked ratio.
#include "trace/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace datadog::trace {
namespace {

constexpr double min_per_second = 1e-9;
constexpr double max_per_second = 1e9;

}  // namespace

RateLimiter::RateLimiter(double per_second) {
  if (!(per_second >= min_per_second)) per_second = min_per_second;  // also NaN
  per_second_ = std::min(per_second, max_per_second);
  capacity_ = static_cast<std::int64_t>(std::ceil(per_second_));
  refill_interval_ = std::chrono::nanoseconds(std::max<std::int64_t>(1, std::llround(1e9 / per_second_)));
  tokens_ = capacity_;
  history_.fill(1.0);
}

void RateLimiter::refill(Clock::time_point now) {
  if (!next_refill_) {
    next_refill_ = now + refill_interval_;
    return;
  }
  if (now < *next_refill_) return;
  const std::int64_t intervals = (now - *next_refill_) / refill_interval_ + 1;
  *next_refill_ += refill_interval_ * intervals;
  // After a long idle time intervals can be huge; add at most a bucketful.
  tokens_ = std::min(capacity_, tokens_ + std::min(intervals, capacity_));
}

void RateLimiter::roll_window(Clock::time_point now) {
  const std::int64_t second = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  if (!window_second_) {
    window_second_ = second;
    return;
  }
  const std::int64_t elapsed = second - *window_second_;
  if (elapsed <= 0) return;
  const double finished = window_asked_ == 0 ? 1.0 : static_cast<double>(window_allowed_) / window_asked_;
  if (elapsed > static_cast<std::int64_t>(history_.size())) {
    history_.fill(1.0);
  } else {
    const auto shift = static_cast<std::size_t>(elapsed);
    std::move_backward(history_.begin(), history_.end() - shift, history_.end());
    history_[shift - 1] = finished;
    std::fill(history_.begin(), history_.begin() + (shift - 1), 1.0);  // seconds nobody asked in
  }
  window_second_ = second;
  window_asked_ = 0;
  window_allowed_ = 0;
}

RateLimiter::Result RateLimiter::allow(Clock::time_point now) {
  roll_window(now);
  refill(now);

  bool allowed = false;
  if (tokens_ > 0) {
    --tokens_;
    allowed = true;
  }
  ++window_asked_;
  if (allowed) ++window_allowed_;

  const double current = static_cast<double>(window_allowed_) / window_asked_;
  const double sum = std::accumulate(history_.begin(), history_.end(), current);
  return Result{allowed, sum / (history_.size() + 1)};
}

}  // namespace datadog::trace
