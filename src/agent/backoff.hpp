// How long a worker waits before retrying the agent after consecutive
// failures: exponential, capped, with jitter so that the workers of one nginx
// (which all started together) do not retry in lockstep.
#pragma once

#include <chrono>
#include <cstdint>

namespace datadog::agent {

struct BackoffPolicy {
  // The first wait equals the default flush interval: retrying sooner buys
  // nothing, since new traces only become due at that pace anyway.
  std::chrono::milliseconds base{1000};
  // A failed attempt against a local agent costs microseconds, so a long cap
  // saves nothing; it only delays recovery while the bounded buffer fills and
  // starts dropping. 10 s keeps the catch-up after an agent restart short.
  std::chrono::milliseconds cap{10000};
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy = {}) noexcept;

  // Records one more consecutive failure and returns the wait before the next
  // attempt: with d = min(cap, base * 2^(failures-1)), a value in [d/2, d]
  // ("equal jitter": never less than half the exponential step, so jitter
  // cannot turn backoff into hammering). `random` is any uniformly distributed
  // 64-bit value supplied by the caller.
  std::chrono::milliseconds next_delay(std::uint64_t random) noexcept;

  // A success: the next failure starts again from `base`.
  void reset() noexcept { failures_ = 0; }

  unsigned failures() const noexcept { return failures_; }

 private:
  BackoffPolicy policy_;
  unsigned failures_ = 0;
};

// A small deterministic generator (splitmix64) for jitter: seeded once per
// worker by the caller, so tests can replay it and no clock or global state is
// read here.
class JitterSource {
 public:
  explicit JitterSource(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept;

 private:
  std::uint64_t state_;
};

}  // namespace datadog::agent
